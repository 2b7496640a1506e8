"""Library-wide operations the CLI calls: import, status, forget, reindex.

Each opens what it needs (catalogue, lock, engine) and returns plain data.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from photosense_cli import engines
from photosense_cli.catalogue import Catalogue, chunks, import_lock, now
from photosense_cli.engines.base import KnownFace, estimate_cost
from photosense_cli.errors import NotFound, PhotosenseError
from photosense_cli.importer import DEFAULT_WORKERS, Importer, Summary, estimate_dry_run


@dataclass
class ImportRequest:
    paths: list[str]
    engine: str | None = None
    workers: int | None = None
    dry_run: bool = False
    profile: str | None = None
    region: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = ""
    wait: float = 0.0


def import_photos(library: Path, req: ImportRequest, *,
                  on_notice: Callable[[str], None] = lambda m: None,
                  on_error: Callable[[dict], None] = lambda e: None,
                  on_progress=lambda total, path: None) -> Summary:
    if req.dry_run and not Path(library).exists():
        # a dry run changes nothing: not even an empty library file is left behind
        with tempfile.TemporaryDirectory() as tmp:
            return _import(Catalogue(Path(tmp) / "dry-run.db"), req, on_notice, on_error,
                           on_progress)
    return _import(Catalogue(library), req, on_notice, on_error, on_progress)


def _import(cat: Catalogue, req: ImportRequest, on_notice, on_error, on_progress) -> Summary:
    try:
        recorded = cat.get_meta("engine")
        name = engines.choose_engine_name(recorded, req.engine, req.profile)
        if name == "local":
            # one model process per core; two threads each keep them fed while photos are prepared
            processes = req.workers or os.cpu_count() or 1
            workers = 2 * processes
        else:
            processes = workers = req.workers or DEFAULT_WORKERS
        engine = engines.make_engine(name, profile=req.profile, region=req.region, workers=processes)
        uploader = None
        if req.s3_bucket:
            from photosense_cli.storage import S3Copy

            uploader = S3Copy.from_config(req.s3_bucket, req.s3_prefix, cat.get_meta("library_id"),
                                          profile=req.profile, region=req.region)
        importer = Importer(cat, engine, workers=workers, dry_run=req.dry_run, uploader=uploader,
                            on_error=on_error, on_progress=on_progress)
        if req.dry_run:
            summary = importer.run(req.paths)
            estimate_dry_run(cat, summary)
            return summary
        with import_lock(cat.path, req.wait):
            if recorded is None:
                with cat.transaction():
                    cat.set_meta("engine", name)
                on_notice(f"new library {cat.path} uses the {name} engine")
            try:
                return importer.run(req.paths)
            finally:
                engine.close()
    finally:
        cat.close()


def open_existing(library: Path) -> Catalogue:
    return Catalogue(library, create=False)


def engine_for(cat: Catalogue, profile=None, region=None):
    name = cat.get_meta("engine")
    if name is None:
        raise PhotosenseError("this library has no engine yet: import some photos first")
    engine = engines.make_engine(name, profile=profile, region=region, workers=1)
    collection = cat.get_meta("collection_id")
    if collection:
        engine.open_collection(collection, (KnownFace(f, d) for f, d in cat.face_descriptors()))
    return engine


def status(cat: Catalogue) -> dict:
    calls = cat.call_counts()
    engine = cat.get_meta("engine")
    count = lambda sql: cat.scalar(sql) or 0  # noqa: E731
    last = cat.query("SELECT started_at, finished_at, status FROM runs ORDER BY id DESC LIMIT 1")
    return {
        "library": str(cat.path),
        "library_id": cat.get_meta("library_id"),
        "engine": engine,
        "collection": cat.get_meta("collection_id"),
        "photos": count("SELECT count(*) FROM photos"),
        "locations": count("SELECT count(*) FROM locations"),
        "faces": count("SELECT count(*) FROM faces"),
        "people": count("SELECT count(*) FROM people"),
        "named_people": count("SELECT count(*) FROM people WHERE named = 1"),
        "text_lines": count("SELECT count(*) FROM text_lines"),
        "calls": calls,
        "estimated_cost_usd": estimate_cost(engine or "", calls),
        "last_import": last[0] if last else None,
    }


def forget(cat: Catalogue, paths: list[str], engine=None) -> dict:
    """Erase photos (found under the given files or folders) with their faces, here and in the engine.

    Their content is remembered by hash only, so a later import does not bring them back.
    """
    photo_ids: set[int] = set()
    for raw in paths:
        path = os.path.abspath(raw)
        rows = cat.conn.execute(
            "SELECT DISTINCT photo_id FROM locations WHERE path = ? OR substr(path, 1, ?) = ?",
            (path, len(path) + 1, path.rstrip("/") + "/")).fetchall()
        if not rows:
            raise NotFound(f"{raw}: no photo of the library is there")
        photo_ids.update(r[0] for r in rows)
    ids = sorted(photo_ids)
    face_ids: list[str] = []
    for chunk in chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        face_ids += [r[0] for r in cat.conn.execute(
            f"SELECT engine_face_id FROM faces WHERE photo_id IN ({marks})", chunk)]
    if face_ids:
        if engine is None:
            engine = engine_for(cat)
        engine.delete_faces(face_ids)  # the engine first: a failure leaves the catalogue whole
    with cat.transaction():
        people_before = cat.scalar("SELECT count(*) FROM people")
        for chunk in chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            cat.conn.execute(
                f"INSERT OR IGNORE INTO forgotten(sha256, at) "
                f"SELECT sha256, ? FROM photos WHERE id IN ({marks})", (now(), *chunk))
            cat.conn.execute(f"DELETE FROM photos WHERE id IN ({marks})", chunk)
        cat.conn.execute("DELETE FROM people WHERE id NOT IN "
                         "(SELECT person_id FROM faces WHERE person_id IS NOT NULL)")
        people_removed = people_before - cat.scalar("SELECT count(*) FROM people")
    return {"photos": len(ids), "faces": len(face_ids), "people_removed": people_removed}
