"""Library-wide operations the CLI calls: import, status, forget.

Each opens what it needs (catalogue, lock, engine) and returns records or plain data.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from photosense_cli import engines
from photosense_cli.catalogue import Catalogue, import_lock
from photosense_cli.engines.base import (
    Engine,
    EngineOptions,
    engine_workers,
    importer_threads,
    resolve_workers,
)
from photosense_cli.errors import Cancelled, NotFound, PhotosenseError, describe
from photosense_cli.policy import NO_CLOUD, NO_FACES
from photosense_cli.records import ChangeKind, RunSummary
from photosense_cli.requests import ImportRequest

DEFAULT_OPTIONS = EngineOptions()  # frozen: safe as a default


def import_photos(library: Path, req: ImportRequest, *,
                  on_notice: Callable[[str], None] = lambda m: None,
                  on_error: Callable[[dict], None] = lambda e: None,
                  on_progress=lambda total, path: None) -> RunSummary:
    if not any(os.path.lexists(p) for p in req.paths):
        # a typo in the only folder named is a usage error, and makes no library
        raise PhotosenseError(f"nothing to import: {', '.join(req.paths)} "
                              f"{'does' if len(req.paths) == 1 else 'do'} not exist")
    if req.dry_run and not Path(library).exists():
        # a dry run changes nothing: not even an empty library file is left behind
        with tempfile.TemporaryDirectory() as tmp:
            return _import(Catalogue(Path(tmp) / "dry-run.db"), req, on_notice, on_error,
                           on_progress)
    new = not os.path.lexists(library)
    folder = Path(library).parent
    made_folder = not folder.exists()
    try:
        return _import(Catalogue(library, on_notice=on_notice), req, on_notice, on_error,
                       on_progress)
    except Cancelled:
        if new:  # declined: nothing is left of a library the user never had
            for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
                Path(f"{library}{suffix}").unlink(missing_ok=True)
            if made_folder:
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise


def _import(cat: Catalogue, req: ImportRequest, on_notice, on_error, on_progress) -> RunSummary:
    try:
        if req.dry_run:
            return _run_import(cat, req, on_notice, on_error, on_progress)
        # The engine is chosen and recorded under the lock: two first imports of one new
        # library cannot bind it to two engines.
        with import_lock(cat.path, req.wait):
            return _run_import(cat, req, on_notice, on_error, on_progress)
    finally:
        cat.close()


def _run_import(cat: Catalogue, req: ImportRequest, on_notice, on_error,
                on_progress) -> RunSummary:
    damage = cat.quick_check()  # once per import: cheap, and search would crash on it later
    if damage:
        raise PhotosenseError(f"the library file {cat.path} is damaged ({damage[0]}); "
                              "run 'photosense repair'")
    recorded = cat.get_meta("engine")
    name = engines.choose_engine_name(recorded, req.engine)
    cls = engines.engine_class(name)
    workers, options = _options(cls, req)
    uploader = None
    if req.s3_bucket:
        from photosense_cli.storage import S3Copy

        uploader = S3Copy.from_config(req.s3_bucket, req.s3_prefix, cat.library_id,
                                      profile=req.profile, region=req.region)
    from photosense_cli.pipeline.importjob import Importer
    from photosense_cli.pipeline.runner import attach

    if req.text not in ("engine", "local"):
        raise PhotosenseError(f"--text {req.text}: say 'engine' or 'local'")
    if req.prefilter not in ("none", "local"):
        raise PhotosenseError(f"--prefilter {req.prefilter}: say 'none' or 'local'")
    # Helpers of a cloud engine; the local engine does both itself anyway.
    offline_text = req.text == "local" and name != "local"
    prefilter = req.prefilter == "local" and name != "local"
    engine, helper = _engines(req, name, options, offline_text, prefilter)
    text_engine = helper if offline_text else None
    if recorded is None and not req.dry_run:
        with cat.transaction():
            cat.set_meta("engine", name)

    def before_calls(photos: Callable[[], tuple[int, Counter]]) -> None:
        """Nothing leaves the machine unasked: the first cloud import says what it sends."""
        if req.dry_run:
            return
        if recorded is None and engine.prices_usd:
            _consent(*photos())
        if recorded is None:  # said once the user agreed: a declined library is not kept
            on_notice(f"new library {cat.path} uses the {name} engine")
        attach(cat, engine)

    def _consent(new_files: int, kept: Counter) -> None:
        if not new_files:
            return
        question = _question(engine, new_files - kept[NO_CLOUD], offline_text, prefilter)
        if kept[NO_CLOUD] or kept[NO_FACES]:
            question += "; " + _kept_note(kept)
        note = _tiles_note(engine, offline_text, req.max_text_tiles)
        if req.consent is None:
            (req.told or on_notice)(question)
            if note:
                (req.told or on_notice)(note)
        elif not req.consent(question + "." + (f"\n{note}." if note else "") + "\nGo on?"):
            raise Cancelled("nothing was sent, and no library was made")

    local_text = _reader_for_rules(req, engine, text_engine)
    importer = Importer(cat, engine, req,
                        threads=importer_threads(cls, engine_workers(engine, workers)),
                        local_text=local_text,
                        uploader=uploader, text_engine=text_engine,
                        prefilter=helper if prefilter else None,  # type: ignore[arg-type]
                        before_calls=before_calls, on_error=on_error, on_progress=on_progress)
    try:
        summary = importer.run(req.paths)
        if not req.dry_run:
            summary.places = fill_places(cat, on_notice)["named"]
        if req.dry_run:
            _dry_run_notes(importer, engine, offline_text, prefilter, req, on_notice)
        return summary
    finally:
        engine.close()
        for other in (helper, local_text):
            if other is not None:
                other.close()
        if recorded is None and not req.dry_run and not cat.counts()["photos"]:
            # nothing stored: the library is not bound to this engine yet
            with cat.transaction():
                cat.set_meta("engine", None)


def _dry_run_notes(importer, engine: Engine, offline_text: bool, prefilter: bool,
                   req: ImportRequest, on_notice: Callable[[str], None]) -> None:
    """How a dry run's estimate was made, said under it."""
    per_photo, measured = importer.faces_per_photo
    basis = "this library's average" if measured else "assumed: no photo analysed yet"
    on_notice(f"SearchFaces estimated at {per_photo:.2f} faces a photo ({basis})")
    if note := _tiles_note(engine, offline_text, req.max_text_tiles):
        on_notice(note)
    if prefilter:
        on_notice("--prefilter local: IndexFaces and SearchFaces only for the photos "
                  "the offline detector sees a face in (not run in a dry run; the "
                  "estimate counts every photo)")
    kept = importer.summary.kept_back
    if kept[NO_CLOUD] or kept[NO_FACES]:
        on_notice("folder rules: " + _kept_note(kept))


def _kept_note(kept: Counter) -> str:
    """The photos folder rules keep back, for the consent question and the dry run."""
    parts = []
    if kept[NO_CLOUD]:
        parts.append(f"{kept[NO_CLOUD]} photo{'s' * (kept[NO_CLOUD] != 1)} in folders with "
                     "cloud = false stay on this machine (text read offline, no faces)")
    if kept[NO_FACES]:
        parts.append(f"{kept[NO_FACES]} in folders with faces = false get no face analysis")
    return "; ".join(parts)


def _reader_for_rules(req: ImportRequest, engine: Engine,
                      text_engine: Engine | None) -> Engine | None:
    """The offline OCR for the photos a cloud = false rule keeps from a cloud engine: their
    text is still read, here (None: no such rule, or the local extra is missing)."""
    if (req.folders and not req.dry_run and engine.remote_faces and text_engine is None
            and any(not r.cloud for r in req.folders.rules)):
        return engines.offline_reader()
    return None


def _options(cls: type[Engine], req: ImportRequest) -> tuple[int, EngineOptions]:
    """The photos analysed at once (0: as the cluster's threads allow) and the options."""
    engines.check_cluster(cls, req.cluster)
    workers = resolve_workers(cls, req.workers, req.cluster)
    return workers, EngineOptions(workers, req.profile, req.region,
                                  text_tiles=req.max_text_tiles, cluster=req.cluster)


def _engines(req: ImportRequest, name: str, options: EngineOptions, offline_text: bool,
             prefilter: bool) -> tuple[Engine, Engine | None]:
    """The run's engine, and the offline helper that reads text or looks for faces first
    for a cloud engine. A dry run gets stand-ins: estimates need no credentials."""
    cls = engines.engine_class(name)
    helper: Engine | None = None
    if req.dry_run:
        engine: Engine = _Estimator(cls)  # type: ignore[assignment]
        if offline_text or prefilter:
            helper = _Estimator(engines.engine_class("local"))  # type: ignore[assignment]
        return engine, helper
    engine = engines.make_engine(name, options)  # no call yet: the collection comes later
    if offline_text or prefilter:
        local = engines.engine_class("local")
        helper = engines.make_engine("local", EngineOptions(
            resolve_workers(local, None), text_only=not prefilter,
            faces_only=not offline_text))
    return engine, helper


def _question(engine: Engine, photos: int, offline_text: bool, prefilter: bool) -> str:
    """What a first cloud import sends where, and about what it costs."""
    from photosense_cli.pipeline.analyse import OFFLINE_TEXT
    from photosense_cli.pipeline.budget import ASSUMED_FACES, photo_cost

    per_photo = photo_cost(engine, text_operation=OFFLINE_TEXT if offline_text else "DetectText")
    what = "faces (text is read on this machine)" if offline_text else "faces and text"
    if prefilter:
        what += "; faces only where the offline detector sees one"
    return (f"{photos} photo{'s' * (photos != 1)} will be sent to {engine.where()} for {what}, "
            f"for {'at most' if prefilter else 'about'} ${photos * per_photo:.2f} "
            f"({ASSUMED_FACES:.0f} face a photo assumed)")


def _tiles_note(engine: Engine, offline_text: bool, tiles: int) -> str:
    """The extra DetectText calls a dense page may take, said with every estimate."""
    price = getattr(engine, "prices_usd", {}).get("DetectText", 0)
    if offline_text or not tiles or not price:
        return ""
    return (f"A photo holding 100 words or more (a page, a whiteboard) is read again in up "
            f"to {tiles} bands, ${tiles * price:.3f} more each (--max-text-tiles)")


class _Estimator:
    """Stands in for an engine in a dry run: its description, and no call at all."""

    def __init__(self, cls: type[Engine]):
        self._cls = cls

    def __getattr__(self, attribute: str):
        # what the engine says of itself (name, prices, workers...): its class attributes,
        # so a new attribute needs no line here
        return getattr(self._cls, attribute)

    def close(self) -> None:
        pass

    def where(self) -> str:
        return self.name


def engine_for(cat: Catalogue, options: EngineOptions = DEFAULT_OPTIONS) -> Engine:
    """The library's engine attached to its existing collection (forget, suggestions)."""
    from photosense_cli.pipeline.runner import open_engine

    name = cat.get_meta("engine")
    if name is None:
        raise PhotosenseError("this library has no engine yet: import some photos first")
    return open_engine(cat, name, options, create=False)


LISTED = 100  # status lists this many missing photos and failures; the counts say the rest


def status(cat: Catalogue) -> dict:
    calls = cat.call_counts()
    engine = cat.get_meta("engine")
    counts = cat.counts()
    # none missing (the usual case): no scan of every photo for the first LISTED
    missing = cat.photos(cat.missing_photo_ids(LISTED)) if counts["missing"] else []
    cls = engines.engine_class(engine) if engine in engines.REGISTRY else None
    # What fits the engine: an offline library has no collection and no bill.
    remote = cls is not None and cls.remote_faces
    priced = cls is not None and bool(cls.prices_usd)
    return {
        "library": str(cat.path),
        "library_id": cat.library_id,
        "engine": engine,
        "collection": cat.get_meta("collection_id") if remote else None,
        **counts,
        "calls": calls,
        "estimated_cost_usd": engines.cost(engine, calls) if priced else None,
        "last_import": cat.last_run(),
        "missing_photos": [{"id": p.id, "last_path": p.last_path} for p in missing],
        "failures": cat.failure_rows()[:LISTED],
    }


@dataclass
class ForgetPlan:
    """What a forget erases (photos with no path left outside what was named) and what it
    keeps (photos that live elsewhere too: only their paths inside are forgotten)."""

    photo_ids: list[int]
    kept_paths: dict[int, list[str]]  # photo id -> its paths inside what was named

    def __bool__(self) -> bool:
        return bool(self.photo_ids or self.kept_paths)


def _inside(path: str, roots: set[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def forget_plan(cat: Catalogue, paths: list[str], missing: bool = False) -> ForgetPlan:
    """What a forget of these files or folders does (a symlink counts for itself and for its
    target), with every missing photo when missing=True.

    Forgetting paths forgets those paths: a photo with a path outside them (a copy in
    another folder) stays, with its faces and people; only its paths inside go.
    """
    photo_ids: set[int] = set(cat.missing_photo_ids()) if missing else set()
    roots: set[str] = set()
    named: set[int] = set()
    for raw in paths:
        here = {os.path.abspath(raw), os.path.realpath(raw)}
        found = {i for p in here for i in cat.photo_ids_under(p)}
        if not found:
            raise NotFound(f"{raw}: no photo of the library is there")
        roots |= here
        named |= found
    live = cat.paths_of(sorted(named))
    every = cat.paths_of(sorted(named), gone_too=True)
    kept: dict[int, list[str]] = {}
    for pid in sorted(named - photo_ids):
        if any(not _inside(p, roots) for p in live.get(pid, [])):
            kept[pid] = [p for p in every.get(pid, []) if _inside(p, roots)]
        else:
            photo_ids.add(pid)
    return ForgetPlan(sorted(photo_ids), kept)


def forget(cat: Catalogue, plan: ForgetPlan, engine: Engine | None = None,
           options: EngineOptions = DEFAULT_OPTIONS) -> dict:
    """Erase photos with their faces, here and in the engine; later imports skip their content.
    Photos that live elsewhere too lose only the paths named, and later imports skip those.

    It is a change in 'history': undo takes the hashes off the forgotten list and keeps
    each face's box and person, so the next import of those files brings the names back;
    the kept photos get their paths back.
    """
    ids = sorted(plan.photo_ids)
    face_ids = cat.engine_face_ids_of_photos(ids)
    if face_ids:
        if engine is None:
            engine = engine_for(cat, options)
        engine.delete_faces(face_ids)  # the engine first: a failure leaves the catalogue whole
    photos = cat.photos(ids)
    restore = []
    for p in photos:
        restore.append({"sha256": p.sha256, "path": p.path, "faces": [
            {"box": f.box.to_json(), "person": cat.person_row(f.person_id)}
            for f in cat.faces_of_photo(p.id) if f.person_id is not None]})
    dropped = cat.location_rows([p for paths in plan.kept_paths.values() for p in paths])
    n, k = len(ids), len(plan.kept_paths)
    summary = f"forgot {n} photo{'s' * (n != 1)} ({len(face_ids)} faces)"
    if k:
        summary += (f"; kept {k} photo{'s' * (k != 1)} that also live{'s' * (k == 1)} "
                    f"elsewhere, forgetting {len(dropped)} of {'its' if k == 1 else 'their'} "
                    f"path{'s' * (len(dropped) != 1)}")
    with cat.transaction():
        people_removed = cat.forget_photos(ids)
        cat.forget_paths(dropped)
        cat.log_change(ChangeKind.FORGET, summary, {"photos": restore, "paths": dropped})
    return {"photos": n, "faces": len(face_ids), "people_removed": people_removed,
            "kept_photos": k, "paths_forgotten": [r["path"] for r in dropped]}


def read_positions(cat: Catalogue, on_notice: Callable[[str], None]) -> dict[str, int]:
    """GPS positions of photos imported before they were kept: each file's header only
    (Pillow reads the EXIF without decoding pixels), nothing re-analysed. A file that
    cannot be read now is said and tried again next time."""
    from PIL import Image, UnidentifiedImageError

    from photosense_cli.gps import gps_of
    from photosense_cli.xmp import read_metadata

    out = {"read": 0, "geotagged": 0, "unreadable": 0}
    tried: set[int] = set()
    while batch := [(pid, path) for pid, path in cat.unread_positions() if pid not in tried]:
        found: list[tuple[int, tuple[float, float] | None]] = []
        for pid, path in batch:
            tried.add(pid)
            try:
                with Image.open(path) as img:
                    where = gps_of(img)
                if where is None:
                    where = read_metadata(Path(path))[2]
                found.append((pid, where))
            except Exception as e:  # any file: gone since, unreadable, not an image now
                out["unreadable"] += 1
                why = ("not an image Pillow can read" if isinstance(e, UnidentifiedImageError)
                       else e.strerror or describe(e) if isinstance(e, OSError)
                       else describe(e))
                on_notice(f"{path}: cannot read its position: {why}")
        with cat.transaction():
            cat.set_positions(found)
        out["read"] += len(found)
        out["geotagged"] += sum(g is not None for _, g in found)
    return out


def fill_places(cat: Catalogue, on_notice: Callable[[str], None]) -> dict[str, int]:
    """Name the positions not named yet (places.py, offline): what import and repair do
    once photos have positions. Without the places extra nothing is named, and the
    photos wait for a later run; `waiting` counts them."""
    from photosense_cli import places

    out = {"named": 0, "no_place": 0, "waiting": 0}
    batch = cat.unplaced()
    if not batch:  # nothing to name: the gazetteer is not even opened (or built)
        return out
    if not places.available():
        out["waiting"] = cat.count_unplaced()
        return out
    try:
        gazetteer = places.Gazetteer()
    except (OSError, sqlite3.Error, PhotosenseError) as e:
        # the photos and their positions are stored; only their names wait (one line)
        why = e.strerror or describe(e) if isinstance(e, OSError) else str(e)
        on_notice(f"place names not given: the gazetteer could not be opened: {why}")
        out["waiting"] = cat.count_unplaced()
        return out
    try:
        while batch:
            found = gazetteer.name_positions([(lat, lon) for _, lat, lon in batch])
            with cat.transaction():
                cat.set_places([(pid, place) for (pid, _, _), place in zip(batch, found, strict=True)])
            out["named"] += sum(p is not None for p in found)
            out["no_place"] += sum(p is None for p in found)
            batch = cat.unplaced()
    finally:
        gazetteer.close()
    return out
