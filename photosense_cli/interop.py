"""What photosense shares with other photo tools: XMP sidecars, and exports.

Sidecars follow xmp.py's rules (MWG and Microsoft regions, PersonInImage,
keywords; everything else kept). Exports stream one record per photo, so a
100,000-photo library is never held in memory.
"""

from __future__ import annotations

import csv
import json
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from photosense_cli import xmltree, xmp
from photosense_cli.catalogue import Catalogue, chunks
from photosense_cli.csvcell import safe
from photosense_cli.errors import PhotosenseError, describe, os_reason
from photosense_cli.files import WriteRefused, write_file


@dataclass
class SidecarReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # left alone by the user's choice (a read-only sidecar): said, but not a failure
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"written": self.written, "unchanged": self.unchanged, "skipped": self.skipped,
                "failed": self.failed}


def sidecar_for(path: Path, style: str) -> Path:
    """The sidecar to write: one that exists already, in either naming style, else `style`
    (dotted: IMG_1.jpg.xmp for digiKam and darktable; stem: IMG_1.xmp for Lightroom)."""
    dotted, stem = xmp.sidecars(path)
    for existing in (dotted, stem):
        if os.path.lexists(existing):
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


def _write_bytes(data: bytes, f: IO[bytes]) -> None:
    f.write(data)


class _Skip(Exception):
    """This sidecar is left as it is, by the user's choice."""


def _sidecar_mode(photo: str, sidecar: Path) -> int:
    """Whoever can read the photo can see the faces in it: the sidecar takes the photo's
    read and write bits (a NAS or Docker photo tool must read it), never looser than the
    sidecar it replaces."""
    mode = os.stat(photo).st_mode & 0o666
    try:
        st = os.lstat(sidecar)
    except FileNotFoundError:
        return mode
    if stat.S_ISLNK(st.st_mode):
        raise xmp.SidecarError("a symbolic link; not followed, not changed")
    if not stat.S_ISREG(st.st_mode):
        raise xmp.SidecarError("not a regular file; not changed")
    if not st.st_mode & stat.S_IWUSR:
        raise _Skip("read-only; left as it is (make it writable to let photosense update it)")
    return mode & st.st_mode


def record_written(cat: Catalogue, path, kind: str, people: Sequence[int],
                   faces: Sequence[int]) -> None:
    """Remember a crop, sheet or sidecar just written, with the hash of its bytes: a forget
    deletes it while it is still as written, and status counts it."""
    import hashlib
    import os

    real = os.path.abspath(path)
    if not faces and not people:
        cat.record_face_file(real, kind, None, (), ())
        return
    with open(real, "rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
    cat.record_face_file(real, kind, sha, people, faces)


def _update(path: str, sidecar: Path, entries: list[xmp.FaceEntry], width: int, height: int,
            keywords: bool, protected, cat: Catalogue | None = None,
            people: Sequence[int] = ()) -> bool:
    """Write photosense's part of one sidecar as `entries`; False when it already says that.
    Raises _Skip (read-only), SidecarError, XmlError, WriteRefused or OSError. Recorded in
    the catalogue's face_files (the faces and people it names) when cat is given."""
    mode = _sidecar_mode(path, sidecar)
    try:
        existing: bytes | None = xmp.read_bounded(sidecar)
    except FileNotFoundError:
        existing = None
    data = xmp.render(existing, entries, width=width, height=height,
                      orientation=orientation_of(path), keywords=keywords)
    if data == existing:
        return False
    write_file(sidecar, partial(_write_bytes, data), mode=mode, protected=protected)
    if cat is not None:
        record_written(cat, sidecar, "sidecar", people, [e.face_id for e in entries])
    return True


def our_face_ids(data: bytes) -> set[int]:
    """The catalogue face ids of the regions photosense wrote into a sidecar."""
    fid = xmp.q("photosense", "FaceId")
    out: set[int] = set()
    for _, attrib, children in xmp.ours(data)[0]:
        values = [v for k, v in attrib if k == fid] + [t for k, _, t in children if k == fid]
        out.update(int(v) for v in values if v.strip().isdigit())
    return out


def _wrote_keywords(data: bytes) -> bool:
    """Whether photosense added names to the keyword lists (xmp write --keywords)."""
    records = dict(xmp.ours(data)[2])
    return bool(records.get(xmp.OWNED_BY[xmp.SUBJECT]) or records.get(xmp.LEGACY_KEYWORDS))


def existing_sidecars(paths: Sequence[str]) -> list[tuple[str, Path]]:
    """(photo path, sidecar) for each sidecar beside these paths, either naming style."""
    return [(path, sidecar) for path in paths for sidecar in xmp.sidecars(Path(path))
            if os.path.lexists(sidecar)]


def take_out_faces(cat: Catalogue, photo_ids: Sequence[int], gone: set[int]) -> SidecarReport:
    """Sidecars beside these photos lose photosense's regions of the faces `gone` (erased
    from the catalogue already); the rest of photosense's part stays as it was written
    (the other faces it named, its keywords or not), and other tools' bytes stay as they
    are. A sidecar with none of those faces is not touched."""
    report = SidecarReport()
    protected = cat.protected()
    people = cat.people_on(list(photo_ids))
    for photo in cat.photos(list(photo_ids)):
        for path, sidecar in existing_sidecars(photo.paths):
            try:
                data = xmp.read_bounded(sidecar)
                written = our_face_ids(data)
                if not written & gone:
                    continue
                kept = [(face, person) for face, person in people.get(photo.id, [])
                        if face.id in written]
                entries = [xmp.FaceEntry(face.id, person.name if person.named else None,
                                         face.box) for face, person in kept]
                _update(path, sidecar, entries, photo.width or 0, photo.height or 0,
                        _wrote_keywords(data), protected, cat, [p.id for _, p in kept])
            except _Skip as e:
                report.skipped.append({"path": str(sidecar), "reason": str(e)})
                continue
            except Exception as e:  # each sidecar on its own: said, and left for the report
                report.failed.append({"path": str(sidecar), "reason": describe(e)})
                continue
            report.written.append(str(sidecar))
    report.written.sort()
    return report


def write_sidecars(cat: Catalogue, *, under: Sequence[str] = (), person_ids: Sequence[int] = (),
                   style: str = "dotted", include_unnamed: bool = False, keywords: bool = False,
                   on_error: Callable[[str, str], None] = lambda path, reason: None,
                   on_skip: Callable[[str, str], None] = lambda path, reason: None,
                   ) -> SidecarReport:
    """Write or update the sidecar of every file of the chosen photos.

    An unnamed person's region carries no name (with include_unnamed): "Unknown person 4"
    is photosense's label, and another tool, or a later import, would take it for a name.
    A stem sidecar (IMG_1.xmp) that another image beside the photo would share
    (IMG_1.png) is not written: its regions would be read as that photo's.
    """
    report = SidecarReport()
    protected = cat.protected()
    done: set[Path] = set()

    def failed(sidecar: Path, reason: str) -> None:
        report.failed.append({"path": str(sidecar), "reason": reason})
        on_error(str(sidecar), reason)

    for ids in chunks(cat.photo_ids(under, person_ids)):
        people = cat.people_on(ids)
        for photo in cat.photos(ids):
            shown = [(face, person) for face, person in people.get(photo.id, [])
                     if not person.hidden and (person.named or include_unnamed)]
            entries = [xmp.FaceEntry(face.id, person.name if person.named else None, face.box)
                       for face, person in shown]
            for path in photo.paths:
                sidecar = sidecar_for(Path(path), style)
                if sidecar in done:
                    continue  # one photo at two names sharing one stem sidecar
                done.add(sidecar)
                if not entries and not os.path.lexists(sidecar):
                    continue  # nothing to say, and nothing said before to take back
                if sidecar == xmp.sidecars(Path(path))[1]:
                    others = [p for p in xmp.stem_partners(Path(path))
                              if str(p) not in photo.paths]
                    if others:
                        # named in sorted order: which photo came first is the import's
                        one, two = sorted([Path(path).name, others[0].name])
                        failed(sidecar, f"would belong to {one} and {two} alike; not "
                               "written (use --sidecar-name dotted, or rename one of them)")
                        continue
                try:
                    if not _update(path, sidecar, entries, photo.width or 0, photo.height or 0,
                                   keywords, protected, cat, [p.id for _, p in shown]):
                        report.unchanged.append(str(sidecar))
                        continue
                except _Skip as e:
                    report.skipped.append({"path": str(sidecar), "reason": str(e)})
                    on_skip(str(sidecar), str(e))
                    continue
                except (xmp.SidecarError, xmltree.XmlError) as e:
                    failed(sidecar, f"cannot update: {getattr(e, 'reason', e)}")
                    continue
                except WriteRefused as e:
                    failed(sidecar, str(e).removeprefix(f"{sidecar}: "))
                    continue
                except OSError as e:
                    failed(sidecar, os_reason(e))
                    continue
                except Exception as e:  # a sidecar nobody foresaw: that file only, one line
                    failed(sidecar, f"cannot update: {type(e).__name__}: {describe(e)}")
                    continue
                report.written.append(str(sidecar))
    return report


EXPORT_FIELDS = ["id", "path", "paths", "taken_at", "taken_at_source", "size", "width", "height",
                 "people", "text"]


def export_records(cat: Catalogue, under: Sequence[str] = ()) -> Iterator[dict]:
    """One record per photo, 500 photos a batch: path, taken_at, size, people (id, name,
    box), text lines. Field names are documented in docs/json/export.schema.json."""
    for ids in chunks(cat.photo_ids(under)):
        people = cat.people_on(ids)
        lines = cat.lines_of(ids)
        for p in cat.photos(ids):
            if p.missing:
                continue
            yield {"id": p.id, "path": p.path, "paths": p.paths, "taken_at": p.taken_at,
                   "taken_at_source": p.taken_at_source, "size": p.size, "width": p.width,
                   "height": p.height,
                   "people": [{"id": person.id, "name": person.given_name,
                               "box": face.box.to_json()}
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
            # text cells never start a formula (csvcell.safe): names and OCR text are untrusted
            w.writerow([r["id"], safe(r["path"]), safe("; ".join(r["paths"])),
                        r["taken_at"] or "", r["taken_at_source"] or "", r["size"], r["width"],
                        r["height"], json.dumps(r["people"], ensure_ascii=False),
                        safe(" | ".join(r["text"]))])
            n += 1
    else:
        raise PhotosenseError(f"unknown export format {fmt!r}: csv or jsonl")
    return n
