"""Re-analyse a library with another engine, keeping names and merges where faces match.

Each photo is analysed again from one of its files, through the same pipeline
as an import; a new face that overlaps an old face of the same photo (by box)
inherits the old face's person, so names, merges and moves carry over. Other
new faces are clustered as at import. Photos are switched one transaction at a
time, and the run is recorded like an import's: an interrupted reindex resumes
where it stopped, and the faces it left in the engine are recovered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from photosense_cli import engines
from photosense_cli.catalogue import Catalogue, import_lock
from photosense_cli.engines.base import EngineOptions, importer_threads, resolve_workers
from photosense_cli.errors import BadImage, EngineError, PhotosenseError
from photosense_cli.importer import Analyser, Outcome, Pipeline, open_engine
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


def reindex(library: Path, target: str, options: EngineOptions, *, workers: int | None = None,
            on_error: Callable[[dict], None] = lambda e: None,
            on_progress: Callable[[int | None, str], None] = lambda total, path: None,
            ) -> RunSummary:
    cat = Catalogue(library, create=False)
    try:
        with import_lock(cat.path):
            return _reindex(cat, target, options, workers, on_error, on_progress)
    finally:
        cat.close()


def _reindex(cat: Catalogue, target: str, options: EngineOptions, workers: int | None,
             on_error, on_progress) -> RunSummary:
    current = cat.get_meta("engine")
    previous = cat.get_meta("reindex_from") or current
    if current is None:
        raise PhotosenseError("this library is empty: import photos with --engine instead")
    cls = engines.engine_class(target)
    n = resolve_workers(cls, workers)
    engine = open_engine(cat, target, EngineOptions(n, options.profile, options.region),
                         create=True)
    with cat.transaction():
        if target == current and not cat.get_meta("reindex_from"):
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
            except (BadImage, EngineError):
                pipeline.orphans_left = True  # the next run's recovery deletes them
            stale.clear()
        summary.reanalysed += 1
        summary.faces += len(o.faces)
        summary.text_lines += len(o.lines)
        pipeline.count_calls(o)

    analyser = Analyser(engine, stop=pipeline.stop,
                        call_threads=2 * pipeline.threads if engine.parallel_calls else 0)
    try:
        pipeline.run(cat.photos_not_on(target), analyser.reanalyse, store)
    finally:
        analyser.close()
        engine.close()
    summary.people_hidden = clusterer.hidden_background
    with cat.transaction():
        summary.people_removed = cat.delete_faceless_people()
        if not summary.failed:
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
    except (EngineError, BadImage):
        return False
