"""Re-analyse a library with another engine, keeping names and merges where faces match.

Each photo is analysed again from one of its files; a new face that overlaps an
old face of the same photo (by box) inherits the old face's person, so names,
merges and moves carry over. Other new faces are clustered as at import.
Photos are switched one transaction at a time: an interrupted reindex resumes
where it stopped when run again.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
from collections import Counter
from pathlib import Path
from typing import Callable

from photosense_cli import engines, images
from photosense_cli.catalogue import Catalogue, import_lock, now
from photosense_cli.engines.base import Box, KnownFace
from photosense_cli.errors import BadImage, EngineError, PhotosenseError
from photosense_cli.importer import Analyser, Candidate, Outcome
from photosense_cli.people import Clusterer

SAME_FACE_IOU = 0.3


def iou(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    h = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = w * h
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def pair_faces(new: list[Box], old: list[Box]) -> dict[int, int]:
    """Greedy best-overlap pairing: index of a new face -> index of the old face it is."""
    pairs = sorted(((iou(n, o), i, j) for i, n in enumerate(new) for j, o in enumerate(old)),
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


def reindex(library: Path, target: str, *, profile=None, region=None, workers: int | None = None,
            on_error: Callable[[dict], None] = lambda e: None,
            on_progress=lambda total, path: None) -> dict:
    cat = Catalogue(library, create=False)
    try:
        with import_lock(cat.path):
            return _reindex(cat, target, profile, region, workers, on_error, on_progress)
    finally:
        cat.close()


def _reindex(cat, target, profile, region, workers, on_error, on_progress) -> dict:
    current = cat.get_meta("engine")
    previous = cat.get_meta("reindex_from") or current
    if current is None:
        raise PhotosenseError("this library is empty: import photos with --engine instead")
    if target not in engines.FACTORIES:
        raise PhotosenseError(f"unknown engine {target!r}: choose one of {', '.join(engines.ENGINE_NAMES)}")
    if target == current and not cat.get_meta("reindex_from"):
        raise PhotosenseError(f"this library already uses the {target} engine")
    workers = workers or 4
    engine = engines.make_engine(target, profile=profile, region=region, workers=workers)
    with cat.transaction():
        cat.set_meta("engine", target)
        cat.set_meta("reindex_from", previous)
    known = [KnownFace(f, d) for f, d in cat.conn.execute(
        "SELECT f.engine_face_id, f.descriptor FROM faces f JOIN photos p ON p.id = f.photo_id "
        "WHERE p.engine = ? AND f.descriptor IS NOT NULL", (target,))]
    engine.open_collection(cat.get_meta("collection_id") or f"photosense-{cat.get_meta('library_id')}",
                           known)
    todo = cat.query("SELECT id, sha256 FROM photos WHERE engine != ? ORDER BY id", (target,))
    for photo in todo:  # read here: worker threads do not touch the connection
        photo["paths"] = [r[0] for r in cat.conn.execute(
            "SELECT path FROM locations WHERE photo_id = ? ORDER BY path", (photo["id"],))]
    on_progress(len(todo), "")
    analyser = Analyser(engine, {}, set(), dry_run=False)
    clusterer = Clusterer(cat)
    summary = {"engine": target, "from": previous, "photos": 0, "failed": 0, "faces": 0,
               "faces_kept_person": 0, "people_created": 0, "people_removed": 0,
               "calls": Counter(), "errors": []}

    def work(photo):
        return photo, _analyse_again(analyser, photo)

    with cf.ThreadPoolExecutor(workers) as pool:
        for photo, outcome in pool.map(work, todo):
            on_progress(None, outcome.candidate.path)
            summary["calls"].update(op for op, _, _ in outcome.usage.calls)
            if outcome.kind != "analysed":
                summary["failed"] += 1
                error = {"path": outcome.candidate.path, "reason": outcome.reason}
                summary["errors"].append(error)
                on_error(error)
                if outcome.usage.calls:  # calls made before the failure still cost
                    with cat.transaction():
                        cat.log_calls(None, engine.name, outcome.usage, photo["sha256"])
                continue
            _switch_photo(cat, clusterer, engine.name, photo["id"], outcome, summary)
    with cat.transaction():
        before = cat.scalar("SELECT count(*) FROM people")
        cat.conn.execute("DELETE FROM people WHERE id NOT IN "
                         "(SELECT person_id FROM faces WHERE person_id IS NOT NULL)")
        summary["people_removed"] = before - cat.scalar("SELECT count(*) FROM people")
        if not summary["failed"]:
            cat.set_meta("reindex_from", None)
            cat.conn.execute(
                "INSERT INTO changes(at, kind, summary, undo) VALUES (?, 'reindex', ?, '{}')",
                (now(), f"re-analysed the library with the {target} engine (was {previous})"))
    engine.close()
    summary["old_engine_cleaned"] = _delete_old_faces(cat, previous, target, profile, region)
    summary["calls"] = dict(summary["calls"])
    return summary


def _analyse_again(analyser: Analyser, photo: dict) -> Outcome:
    paths = photo["paths"]
    reason = "no file of this photo is left to read"
    for path in paths:
        candidate = Candidate(path, 0, 0)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            reason = f"cannot read: {e.strerror or e}"
            continue
        if hashlib.sha256(data).hexdigest() != photo["sha256"]:
            reason = "the file has changed since it was imported"
            continue
        try:
            prepared = images.prepare(data, min_side=analyser.engine.min_side)
        except BadImage as e:
            return Outcome("failed", candidate, reason=e.reason)
        return analyser.analyse(candidate, photo["sha256"], prepared)
    return Outcome("failed", Candidate(paths[0] if paths else f"photo {photo['id']}", 0, 0),
                   reason=reason)


def _switch_photo(cat, clusterer, engine_name, photo_id, o: Outcome, summary) -> None:
    with cat.transaction():
        old = cat.query("SELECT * FROM faces WHERE photo_id = ? ORDER BY id", (photo_id,))
        pairs = pair_faces([f.box for f, _ in o.faces],
                           [(r["left"], r["top"], r["width"], r["height"]) for r in old])
        cat.conn.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))
        cat.conn.execute("DELETE FROM text_lines WHERE photo_id = ?", (photo_id,))
        for i, (face, matches) in enumerate(o.faces):
            person = old[pairs[i]]["person_id"] if i in pairs else None
            summary["people_created"] += clusterer.assign(photo_id, face, matches, person=person)
            summary["faces_kept_person"] += person is not None
        cat.insert_text_lines(photo_id, o.lines)
        cat.conn.execute("UPDATE photos SET engine = ?, analysed_at = ? WHERE id = ?",
                         (engine_name, now(), photo_id))
        cat.log_calls(None, engine_name, o.usage, o.sha256)
    summary["photos"] += 1
    summary["faces"] += len(o.faces)


def _delete_old_faces(cat: Catalogue, previous: str, target: str, profile, region) -> bool:
    """Biometric data must not outlive the switch: delete what the old engine still holds.

    False when the old engine could not be reached to do so.
    """
    if previous in ("local", target):  # local faces lived only in the catalogue's rows
        return True
    try:
        old = engines.make_engine(previous, profile=profile, region=region, workers=1)
        old.collection_id = cat.get_meta("collection_id")
        catalogued = cat.engine_face_ids()
        left = [fid for fid, _ in old.list_faces() if fid not in catalogued]
        if left:
            old.delete_faces(left)
        return True
    except (EngineError, BadImage):
        return False
