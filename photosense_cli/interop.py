"""What photosense shares with other photo tools: XMP sidecars, and exports.

Sidecars follow xmp.py's rules (MWG and Microsoft regions, PersonInImage,
keywords; everything else kept). Exports stream one record per photo, so a
100,000-photo library is never held in memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from photosense_cli import xmp
from photosense_cli.catalogue import Catalogue, chunks
from photosense_cli.errors import PhotosenseError, os_reason


@dataclass
class SidecarReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"written": self.written, "unchanged": self.unchanged, "failed": self.failed}


def sidecar_for(path: Path, style: str) -> Path:
    """The sidecar to write: one that exists already, in either naming style, else `style`
    (dotted: IMG_1.jpg.xmp for digiKam and darktable; stem: IMG_1.xmp for Lightroom)."""
    dotted, stem = xmp.sidecars(path)
    for existing in (dotted, stem):
        if existing.exists():
            return existing
    return stem if style == "stem" else dotted


def orientation_of(path: str) -> int:
    """The EXIF orientation of a file, read from its header only."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return int(img.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


def write_sidecars(cat: Catalogue, *, under: Sequence[str] = (), person_ids: Sequence[int] = (),
                   style: str = "dotted", include_unnamed: bool = False, keywords: bool = False,
                   on_error: Callable[[str, str], None] = lambda path, reason: None,
                   ) -> SidecarReport:
    """Write or update the sidecar of every file of the chosen photos."""
    report = SidecarReport()
    for ids in chunks(cat.photo_ids(under, person_ids), 500):
        people = cat.people_on(ids)
        for photo in cat.photos(ids):
            entries = [xmp.FaceEntry(face.id, person.name, face.box)
                       for face, person in people.get(photo.id, [])
                       if not person.hidden and (person.named or include_unnamed)]
            for path in photo.paths:
                sidecar = sidecar_for(Path(path), style)
                if not entries and not sidecar.exists():
                    continue  # nothing to say, and nothing said before to take back
                try:
                    existing = sidecar.read_bytes() if sidecar.exists() else None
                    data = xmp.render(existing, entries, width=photo.width or 0,
                                      height=photo.height or 0,
                                      orientation=orientation_of(path), keywords=keywords)
                    changed = xmp.write_atomically(sidecar, data)
                except OSError as e:
                    report.failed.append({"path": str(sidecar), "reason": os_reason(e)})
                    on_error(str(sidecar), os_reason(e))
                    continue
                except Exception as e:  # a sidecar another tool broke: that file only
                    reason = f"cannot update: {type(e).__name__}: {e}"
                    report.failed.append({"path": str(sidecar), "reason": reason})
                    on_error(str(sidecar), reason)
                    continue
                (report.written if changed else report.unchanged).append(str(sidecar))
    return report


EXPORT_FIELDS = ["id", "path", "paths", "taken_at", "taken_at_source", "size", "width", "height",
                 "people", "text"]


def export_records(cat: Catalogue, under: Sequence[str] = ()) -> Iterator[dict]:
    """One record per photo, 500 photos a batch: path, taken_at, size, people (id, name,
    box), text lines. Field names are documented in docs/json/export.schema.json."""
    for ids in chunks(cat.photo_ids(under), 500):
        people = cat.people_on(ids)
        lines = cat.lines_of(ids)
        for p in cat.photos(ids):
            if p.missing:
                continue
            yield {"id": p.id, "path": p.path, "paths": p.paths, "taken_at": p.taken_at,
                   "taken_at_source": p.taken_at_source, "size": p.size, "width": p.width,
                   "height": p.height,
                   "people": [{"id": person.id, "name": person.name, "box": face.box.to_json()}
                              for face, person in people.get(p.id, []) if not person.hidden],
                   "text": [line.text for line in lines.get(p.id, [])]}


def export(cat: Catalogue, out: IO[str], fmt: str = "jsonl", under: Sequence[str] = ()) -> int:
    """Write the export; returns the number of photos."""
    n = 0
    if fmt == "jsonl":
        for record in export_records(cat, under):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    elif fmt == "csv":
        w = csv.writer(out)
        w.writerow(EXPORT_FIELDS)
        for r in export_records(cat, under):
            w.writerow([r["id"], r["path"], "; ".join(r["paths"]), r["taken_at"] or "",
                        r["taken_at_source"] or "", r["size"], r["width"], r["height"],
                        json.dumps(r["people"], ensure_ascii=False), " | ".join(r["text"])])
            n += 1
    else:
        raise PhotosenseError(f"unknown export format {fmt!r}: csv or jsonl")
    return n
