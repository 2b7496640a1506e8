"""Re-analyse a library with another engine, keeping names and merges where faces match.

Each photo is analysed again from one of its files, through the same pipeline
as an import; a new face that overlaps an old face of the same photo (by box)
inherits the old face's person, so names, merges and moves carry over. Other
new faces are clustered as at import. Photos are switched one transaction at a
time, and the run is recorded like an import's: an interrupted reindex resumes
where it stopped, and the faces it left in the engine are recovered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from photosense_cli import engines, uservectors
from photosense_cli.catalogue import Catalogue, import_lock
from photosense_cli.clustering import Clusterer
from photosense_cli.engines.base import (
    Engine,
    EngineOptions,
    cost_usd,
    engine_workers,
    importer_threads,
    resolve_workers,
)
from photosense_cli.errors import Cancelled, EngineError, ItemFailed, PhotosenseError
from photosense_cli.geometry import pair_faces
from photosense_cli.pipeline.analyse import Analyser
from photosense_cli.pipeline.budget import Budget, photo_cost
from photosense_cli.pipeline.runner import (
    Pipeline,
    attach,
    delete_unknown_faces,
    open_engine,
    protect,
)
from photosense_cli.pipeline.state import Outcome, OutcomeKind
from photosense_cli.policy import NO_CLOUD, FolderRules, loaded, stored
from photosense_cli.privacy import Screen, keep_for_templates
from photosense_cli.records import ChangeKind, Photo, RunSummary
from photosense_cli.requests import ReindexRequest

ENDS_UNDO = ("reindex replaces every face, so corrections made before it can no longer be "
             "undone (names, merges and moves are kept)")


def reindex(library: Path, req: ReindexRequest, *,
            on_error: Callable[[dict], None] = lambda e: None,
            on_progress: Callable[[int | None, str], None] = lambda total, path: None,
            ) -> RunSummary:
    cat = Catalogue(library, create=False)
    try:
        with import_lock(cat.path):
            return _reindex(cat, req, on_error, on_progress)
    finally:
        cat.close()


def _reindex(cat: Catalogue, req: ReindexRequest, on_error, on_progress) -> RunSummary:
    target = req.target
    current = cat.get_meta("engine")
    previous = cat.get_meta("reindex_from") or current
    if current is None:
        raise PhotosenseError("this library is empty: import photos with --engine instead")
    cls = engines.engine_class(target)
    cluster = req.options.cluster
    engines.check_cluster(cls, cluster)
    n = resolve_workers(cls, req.workers, cluster)
    rebuild = target == current and not cat.get_meta("reindex_from")
    photos = cat.counts()["photos"] if rebuild else len(cat.photos_not_on(target))
    faces_each = max(1.0, cat.faces_per_photo() or 1.0)
    per_photo = photo_cost(cls, faces_each=faces_each)
    if req.dry_run:
        return _estimate(cat, req, previous, photos, faces_each, per_photo)
    engine = engines.make_engine(target, EngineOptions(n, req.options.profile,
                                                       req.options.region, cluster=cluster))
    n = engine_workers(engine, n)
    try:
        _ask(req, engine, photos, per_photo, faces_each)
    except Cancelled:
        engine.close()
        raise
    attach(cat, engine, create=True)
    # The users were made of the faces this run replaces: deleted now, made again of the
    # new faces once every photo has them (below), at the first import otherwise.
    uservectors.drop_all(cat, engine)
    with cat.transaction():
        if rebuild:
            # A rebuild with the same engine (its collection was deleted outside photosense,
            # or the user wants fresh faces): every photo is analysed again.
            cat.forget_photo_engines()
        cat.set_meta("engine", target)
        cat.set_meta("reindex_from", previous)
    summary = RunSummary("reindex", target, str(cat.path), previous_engine=previous)
    pipeline: Pipeline[Photo] = Pipeline(cat, engine, summary, threads=importer_threads(cls, n),
                                         on_error=on_error, on_progress=on_progress)
    budget = Budget(req.max_cost, per_photo)
    rewrite = _Rewrite(cat, engine, pipeline, budget, same_engine=previous == target)
    rewrite.screen = screen = Screen.of(cat, target)
    rules = req.folders or FolderRules()
    marks = cat.protection_marks()
    local_text = (engines.offline_reader() if engine.remote_faces
                  and (any(NO_CLOUD in loaded(m) for m in marks.values())
                       or any(not r.cloud for r in rules.rules)) else None)
    analyser = Analyser(engine, stop=pipeline.stop, budget=budget if req.max_cost else None,
                        call_threads=2 * pipeline.threads if engine.parallel_calls else 0,
                        screen=screen, rules=rules, marks=marks,
                        local_text=local_text)
    try:
        pipeline.run(cat.photos_not_on(target), analyser.reanalyse, rewrite.store)
        summary.faces_removed_by_rule = protect(cat, rules, engine, pipeline)
        if not summary.failed and not summary.over_budget and engine.user_vectors:
            users = uservectors.sync(cat, engine, pipeline.run_id)
            summary.user_vectors = users.to_json()
            summary.calls.update(users.calls)
            summary.cost_usd = cost_usd(engine, summary.calls)
    finally:
        analyser.close()
        engine.close()
        if local_text is not None:
            local_text.close()
    summary.people_hidden = rewrite.clusterer.hidden_background
    summary.faces_suggested = rewrite.clusterer.suggested
    with cat.transaction():
        summary.people_removed = cat.delete_faceless_people()
        if not summary.failed and not summary.over_budget:
            cat.set_meta("reindex_from", None)
            cat.log_change(ChangeKind.REINDEX, f"re-analysed the library with the {target} engine "
                           f"(was {previous})", {})
    done = not summary.failed and not summary.over_budget
    summary.old_engine_cleaned = _delete_old_faces(cat, previous, target, req.options,
                                                   templates_too=done)
    return summary


def _estimate(cat: Catalogue, req: ReindexRequest, previous: str | None, photos: int,
              faces_each: float, per_photo: float) -> RunSummary:
    """--dry-run: what the reindex would send and cost; nothing is called or changed."""
    summary = RunSummary("reindex", req.target, str(cat.path), dry_run=True,
                         previous_engine=previous)
    summary.reanalysed = photos
    summary.cost_usd = round(photos * per_photo, 6)
    if photos and per_photo:
        summary.calls.update({"IndexFaces": photos, "DetectText": photos,
                              "SearchFaces": round(photos * faces_each)})
    return summary


def _ask(req: ReindexRequest, engine: Engine, photos: int, per_photo: float,
         faces_each: float) -> None:
    """Nothing leaves the machine unasked, and the end of the undo history is said first.
    Cancelled when the user says no."""
    ends_undo = f"{ENDS_UNDO[0].upper()}{ENDS_UNDO[1:]}"
    if photos and engine.prices_usd:
        question = (f"{photos} photo{'s' * (photos != 1)} will be sent to {engine.where()} "
                    f"for faces and text, for about ${photos * per_photo:.2f} "
                    f"({faces_each:.1f} faces a photo, this library's average). {ends_undo}")
        if req.consent is None:
            req.told(question)
        elif not req.consent(question + ".\nGo on?"):
            raise Cancelled("nothing was sent; the library is as it was")
    elif req.consent is not None:
        if not req.consent(f"{ends_undo}.\nGo on?"):
            raise Cancelled("nothing was changed")
    else:
        req.told(ends_undo)


class _Rewrite:
    """The reindex's writer: each photo's faces replaced by the new engine's, the old
    faces' people kept where the boxes overlap."""

    def __init__(self, cat: Catalogue, engine: Engine, pipeline: Pipeline, budget: Budget,
                 same_engine: bool):
        self.cat, self.engine, self.pipeline, self.budget = cat, engine, pipeline, budget
        self.summary = pipeline.summary
        self.clusterer = Clusterer(cat)
        # a rebuild on the same engine: the collection still holds each photo's old faces
        self.stale_in_engine = same_engine and engine.remote_faces
        self.screen = Screen({}, set())  # the run's, set by _reindex

    def store(self, o: Outcome) -> None:
        summary, cat = self.summary, self.cat
        if o.kind is OutcomeKind.OVER_BUDGET:
            summary.over_budget += 1
            summary.max_cost_reached = True
            return
        if o.kind is not OutcomeKind.ANALYSED:
            self.pipeline.fail(o)
            self.pipeline.log_failed_calls(o)
            return
        assert o.photo_id is not None
        with cat.transaction():
            asked = cat.face_suggestion_rows_of_photo(o.photo_id)
            old = cat.replace_analysis(o.photo_id, self.engine.name)
            pairs = pair_faces([f.box for f, _ in o.faces], [f.box for f in old])
            for i, (face, matches) in enumerate(o.faces):
                person = old[pairs[i]].person_id if i in pairs else None
                summary.people_created += self.clusterer.assign(o.photo_id, face, matches,
                                                                person=person)
                summary.faces_kept_person += person is not None
                # a question the old face was waiting on carries over with its person
                question = asked.get(old[pairs[i]].id) if i in pairs else None
                if question is not None and self.clusterer.last_face is not None:
                    cat.suggest_face(self.clusterer.last_face, question["person_id"],
                                     question["score"])
            cat.insert_text_lines(o.photo_id, o.lines)
            extra = keep_for_templates(cat, self.engine, self.screen, o.template_faces)
            if o.verdict is not None:
                cat.protect(o.photo_id, stored(o.verdict.protection))
            cat.log_calls(self.pipeline.run_id, self.engine.name, o.usage, o.sha256)
        if self.stale_in_engine:
            self.pipeline.delete_after_commit([f.engine_face_id for f in old])
        self.pipeline.delete_after_commit(extra)
        self.budget.settle(cost_usd(self.engine, Counter(o.usage.operations())))
        summary.reanalysed += 1
        summary.count_privacy(o.verdict, o.forgotten_faces, o.suppressed_faces, o.text_skipped)
        summary.faces += len(o.faces)
        summary.text_lines += len(o.lines)
        self.pipeline.count_calls(o)


def _delete_old_faces(cat: Catalogue, previous: str | None, target: str,
                      options: EngineOptions, templates_too: bool = True) -> bool:
    """Biometric data must not outlive the switch: delete what the old engine still holds.
    templates_too=False (a reindex that has photos left): the faces of suppression
    templates not moved yet stay, for the run that finishes the switch to move.

    False when the old engine could not be reached to do so.
    """
    if previous is None or previous == target or not engines.engine_class(previous).remote_faces:
        return True  # its faces lived only in the catalogue's rows, replaced by now
    try:
        old = open_engine(cat, previous, EngineOptions(1, options.profile, options.region),
                          create=False)
        uservectors.drop_all(cat, old)  # first: the service keeps a face a user holds
        delete_unknown_faces(cat, old, templates=not templates_too)
        if templates_too:
            cat.drop_templates_of(previous)
        return True
    except (EngineError, ItemFailed):
        return False
