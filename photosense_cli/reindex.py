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
from dataclasses import dataclass
from pathlib import Path

from photosense_cli import engines
from photosense_cli.catalogue import Catalogue, import_lock
from photosense_cli.engines.base import EngineOptions, cost_usd, importer_threads, resolve_workers
from photosense_cli.errors import Cancelled, EngineError, ItemFailed, PhotosenseError
from photosense_cli.importer import Analyser, Budget, Outcome, Pipeline, open_engine
from photosense_cli.people import Clusterer
from photosense_cli.records import Box, Photo, RunSummary

# Boxes of one face from two engines overlap far more than this; two different faces of
# one photo rarely do (the shared group photos: at most 0.05 between neighbours).
SAME_FACE_IOU = 0.3


def pair_faces(new: list[Box], old: list[Box]) -> dict[int, int]:
    """Greedy best-overlap pairing: index of a new face -> index of the old face it is."""
    pairs = sorted(((n.iou(o), i, j) for i, n in enumerate(new) for j, o in enumerate(old)),
                   reverse=True)
    taken_new, taken_old, out = set(), set(), {}
    for score, i, j in pairs:
        if score < SAME_FACE_IOU:
            break
        if i not in taken_new and j not in taken_old:
            out[i] = j
            taken_new.add(i)
            taken_old.add(j)
    return out


@dataclass
class ReindexRequest:
    """What a reindex is asked to do, and how it asks the user (as ImportRequest does)."""

    target: str
    options: EngineOptions
    workers: int | None = None
    dry_run: bool = False  # say what it would send and cost; change and call nothing
    max_cost: float | None = None  # USD: no photo starts that would take the run past it
    consent: Callable[[str], bool] | None = None  # asked before photos go to a cloud engine
    told: Callable[[str], None] = lambda message: None  # the question, when not asked


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
    target, options = req.target, req.options
    current = cat.get_meta("engine")
    previous = cat.get_meta("reindex_from") or current
    if current is None:
        raise PhotosenseError("this library is empty: import photos with --engine instead")
    cls = engines.engine_class(target)
    n = resolve_workers(cls, req.workers)
    rebuild = target == current and not cat.get_meta("reindex_from")
    photos = cat.counts()["photos"] if rebuild else len(cat.photos_not_on(target))
    faces_each = max(1.0, cat.faces_per_photo() or 1.0)
    per_photo = engines.cost(target, {"IndexFaces": 1, "DetectText": 1,
                                      "SearchFaces": faces_each})  # type: ignore[dict-item]
    if req.dry_run:
        summary = RunSummary("reindex", target, str(cat.path), dry_run=True,
                             previous_engine=previous)
        summary.reanalysed = photos
        summary.cost_usd = round(photos * per_photo, 6)
        if photos and cls.prices_usd:
            summary.calls.update({"IndexFaces": photos, "DetectText": photos,
                                  "SearchFaces": round(photos * faces_each)})
        return summary
    made = engines.make_engine(target, EngineOptions(n, options.profile, options.region))
    if photos and cls.prices_usd:  # nothing leaves the machine unasked
        question = (f"{photos} photo{'s' * (photos != 1)} will be sent to {made.where()} for "
                    f"faces and text, for about ${photos * per_photo:.2f} ({faces_each:.1f} "
                    f"faces a photo, this library's average). {ENDS_UNDO[0].upper()}"
                    f"{ENDS_UNDO[1:]}")
        if req.consent is None:
            req.told(question)
        elif not req.consent(question + ".\nGo on?"):
            made.close()
            raise Cancelled("nothing was sent; the library is as it was")
    elif req.consent is not None and not req.consent(f"{ENDS_UNDO[0].upper()}{ENDS_UNDO[1:]}."
                                                     "\nGo on?"):
        made.close()
        raise Cancelled("nothing was changed")
    else:
        req.told(f"{ENDS_UNDO[0].upper()}{ENDS_UNDO[1:]}")
    from photosense_cli.importer import attach

    attach(cat, made, create=True)
    engine = made
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
    clusterer = Clusterer(cat)
    stale: list[str] = []

    def store(o: Outcome) -> None:
        if o.kind == "over_budget":
            summary.over_budget += 1
            summary.max_cost_reached = True
            return
        if o.kind != "analysed":
            pipeline.fail(o)
            pipeline.log_failed_calls(o)
            return
        assert o.photo_id is not None
        with cat.transaction():
            old = cat.replace_analysis(o.photo_id, engine.name)
            if previous == target and engine.remote_faces:
                stale.extend(f.engine_face_id for f in old)
            pairs = pair_faces([f.box for f, _ in o.faces], [f.box for f in old])
            for i, (face, matches) in enumerate(o.faces):
                person = old[pairs[i]].person_id if i in pairs else None
                summary.people_created += clusterer.assign(o.photo_id, face, matches,
                                                           person=person)
                summary.faces_kept_person += person is not None
            cat.insert_text_lines(o.photo_id, o.lines)
            cat.log_calls(pipeline.run_id, engine.name, o.usage, o.sha256)
        if stale:  # a rebuild: the same collection may still hold the photo's old faces
            try:
                engine.delete_faces(stale)
            except (ItemFailed, EngineError):
                pipeline.orphans_left = True  # the next run's recovery deletes them
            stale.clear()
        budget.settle(cost_usd(engine, Counter(o.usage.operations())))
        summary.reanalysed += 1
        summary.faces += len(o.faces)
        summary.text_lines += len(o.lines)
        pipeline.count_calls(o)

    budget = Budget(req.max_cost, per_photo)
    analyser = Analyser(engine, stop=pipeline.stop, budget=budget if req.max_cost else None,
                        call_threads=2 * pipeline.threads if engine.parallel_calls else 0)
    try:
        pipeline.run(cat.photos_not_on(target), analyser.reanalyse, store)
    finally:
        analyser.close()
        engine.close()
    summary.people_hidden = clusterer.hidden_background
    with cat.transaction():
        summary.people_removed = cat.delete_faceless_people()
        if not summary.failed and not summary.over_budget:
            cat.set_meta("reindex_from", None)
            cat.log_change("reindex", f"re-analysed the library with the {target} engine "
                           f"(was {previous})", {})
    summary.old_engine_cleaned = _delete_old_faces(cat, previous, target, options)
    return summary


def _delete_old_faces(cat: Catalogue, previous: str | None, target: str,
                      options: EngineOptions) -> bool:
    """Biometric data must not outlive the switch: delete what the old engine still holds.

    False when the old engine could not be reached to do so.
    """
    if previous is None or previous == target or not engines.engine_class(previous).remote_faces:
        return True  # its faces lived only in the catalogue's rows, replaced by now
    try:
        old = open_engine(cat, previous, EngineOptions(1, options.profile, options.region),
                          create=False)
        catalogued = cat.engine_face_ids()
        left = [fid for fid, _ in old.list_faces() if fid not in catalogued]
        if left:
            old.delete_faces(left)
        return True
    except (EngineError, ItemFailed):
        return False
