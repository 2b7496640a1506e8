"""Biometric privacy: forgetting a person everywhere, never recognising them again.

`people forget PERSON` erases, in this order, so that a failure leaves what is left
countable and a rerun finishes the job:

1. the engine: every face of the person in a cloud collection is deleted, then the
   collection is listed again (ListFaces is free) to count what is left. Faces left
   there stop the command before the catalogue changes: the person stays whole here,
   and the same command deletes the rest.
2. the catalogue, in one transaction: faces, descriptors and boxes, the person, their
   suggestions, rejections and name hints, names other tools wrote that were copied
   here, and the history's copies (a correction that touched them is sealed: its
   record is emptied and it cannot be undone). What stays is each face's photo content
   hash and box, with no template, so no import or reindex stores the face again.
   secure_delete zeroes the freed pages and a checkpoint empties the write-ahead log.
3. sidecars: photosense's own regions of those faces, in sidecars it wrote or merged
   into, are taken out at once; other tools' regions are theirs and are only listed.
4. the count again: catalogue rows, engine faces and sidecar regions; anything left is
   in the report and the command exits 1.

`--never-again` keeps one suppression template: the mean of the person's descriptors
(local engine), or up to KEPT_IN_ENGINE of their faces left in the cloud collection
(Rekognition matches a new face against them with the SearchFaces it makes anyway).
A new face that matches a template at the clustering's 90 % is deleted from the
engine at once and never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from photosense_cli import uservectors
from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import DetectedFace, Engine
from photosense_cli.errors import EngineError, ItemFailed, NotFound, PhotosenseError
from photosense_cli.policy import FolderRules
from photosense_cli.records import (
    Box,
    ChangeKind,
    Face,
    Person,
    PersonForgetReport,
    Photo,
    name_problem,
)

# A cloud template: the person's largest faces (the clearest: Rekognition's similarity
# degrades with small faces), five of them so that a new photo at another angle or age
# still meets one at 90 %. Each costs Rekognition's face storage ($0.00001 a month).
KEPT_IN_ENGINE = 5
# A new face lies where a forgotten one was when their boxes overlap this much (IoU): the
# same photo read again by the same or another engine gives boxes within ~0.7 of each
# other (geometry.pair_faces pairs at 0.3; stricter here, as two people's faces in a
# crowd may overlap that much, but a face found again never falls below 0.5).
FORGOTTEN_IOU = 0.5


@dataclass
class PersonForgetPlan:
    person: Person
    faces: list[Face]
    photo_ids: list[int]


def plan(cat: Catalogue, person: Person) -> PersonForgetPlan:
    faces = cat.faces_of_person(person.id)
    return PersonForgetPlan(person, faces, sorted({f.photo_id for f in faces}))


def forget_person(cat: Catalogue, p: PersonForgetPlan, engine: Callable[[], Engine] | None, *,
                  never_again: bool = False, label: str | None = None) -> PersonForgetReport:
    """Erase a person everywhere (see the module's doc); engine: how to attach the
    library's cloud engine, None when its faces live only in the catalogue."""
    person, faces = p.person, p.faces
    if label is not None and (problem := name_problem(label)) is not None:
        raise PhotosenseError(f"--label {label[:40]!r}: {problem}")
    name = cat.get_meta("engine") or ""
    report = PersonForgetReport(person.id, person.name, len(faces), len(p.photo_ids), name)
    engine_ids = [f.engine_face_id for f in faces]
    kept: list[str] = []
    descriptor: bytes | None = None
    if never_again:
        if engine is not None:
            largest = sorted(faces, key=lambda f: -(f.box.width * f.box.height))
            kept = [f.engine_face_id for f in largest[:KEPT_IN_ENGINE]]
        else:
            descriptor = _mean(cat.descriptors_of_person(person.id))
            if descriptor is None:
                raise PhotosenseError(f"{person.name!r} has no face descriptor to make a "
                                      "template from; forget them without --never-again")
    if engine is not None:
        attached = engine()
        try:  # their user vector first: the service keeps a face a user holds
            report.users_deleted = uservectors.forget_people(cat, attached, [person.id])
        except (EngineError, ItemFailed) as e:
            report.left.append(f"{attached.where()}: their user vector could not be deleted "
                               f"({e}); run the same command again to finish (nothing was "
                               "erased here yet)")
            return report
        doomed = [i for i in engine_ids if i not in set(kept)]
        listed = _delete_in_engine(attached, doomed, report, kept)
        if listed is None:
            return report  # the catalogue is whole: the same command finishes the job
        kept = [k for k in kept if k in listed]  # a template of faces the engine still has
        if never_again and not kept:
            report.left.append("no face of theirs is in the collection to keep as the "
                               "template: --never-again could not be done")
    photos = cat.photos(p.photo_ids)  # they stay: read once for the hashes and the recount
    hashes = {ph.id: ph.sha256 for ph in photos}
    gone = {f.id for f in faces}
    cat.secure_delete()
    with cat.transaction():
        # read again under the write lock: a merge or a move since the plan would leave
        # faces here that the engine still holds (the plan's were deleted there)
        if {f.id for f in cat.faces_of_person(person.id)} != gone:
            raise PhotosenseError(f"{person.name!r} changed while being forgotten (a merge or "
                                  "a move); nothing here was erased: run the command again")
        if never_again and (descriptor is not None or kept):
            report.template = cat.add_template(label, name, descriptor, len(faces), kept)
            report.kept_in_engine = len(kept)
        report.catalogue = cat.erase_person(person.id, faces, hashes, report.template)
        report.catalogue["history"] = _scrub_history(cat, person.id, gone)
        n, m = len(faces), len(p.photo_ids)
        cat.log_change(ChangeKind.FORGET_PERSON, f"forgot a person ({n} face{'s' * (n != 1)} "
                       f"in {m} photo{'s' * (m != 1)})", {})
    report.log_emptied = cat.overwrite_freed_pages()
    from photosense_cli.interop import take_out_faces

    _delete_files(cat, person.id, gone, report)
    sidecars = take_out_faces(cat, p.photo_ids, gone)
    report.sidecars_rewritten = sidecars.written
    _count_again(cat, p, photos, gone, engine_ids, sidecars, report)
    if person.named:
        report.named_elsewhere = _named_elsewhere(photos, person.name)
    return report


def _count_again(cat: Catalogue, p: PersonForgetPlan, photos: list[Photo], gone: set[int],
                 engine_ids: list[str], sidecars, report: PersonForgetReport) -> None:
    """What is left, from the rows and the files as they are now: each in report.left."""
    from photosense_cli import xmp
    from photosense_cli.interop import existing_sidecars, our_face_ids

    report.catalogue_left = cat.faces_left(p.person.id, engine_ids)
    if report.catalogue_left:
        report.left.append(f"{report.catalogue_left} rows of the catalogue still hold them")
    troubles = sidecars.skipped + sidecars.failed
    for trouble in troubles:
        report.left.append(f"{trouble['path']}: {trouble['reason']}")
    said = {t["path"] for t in troubles}
    for ph in photos:
        for _, sidecar in existing_sidecars(ph.paths):
            try:
                still = our_face_ids(xmp.read_bounded(sidecar)) & gone
            except Exception:
                continue  # unreadable: already in the report if it needed a change
            if still and str(sidecar) not in said:
                said.add(str(sidecar))
                report.left.append(f"{sidecar}: still holds {len(still)} of their regions")
    for row in cat.face_files():  # sidecars photosense wrote that are beside no photo now
        if row["kind"] == "sidecar" and gone & set(row["faces"]) and row["path"] not in said:
            report.left.append(f"{row['path']}: a sidecar photosense wrote naming them, "
                               "beside none of their photos now; run 'photosense xmp write' "
                               "where the photo is, or delete it")


# The photo's own XMP sits in its first blocks (a JPEG's APP1 is at most 64 KB plus
# extensions): a person in 5,000 photos costs 1.25 GB of reading at this bound, not 20 GB
# at xmp.SCAN_BYTES.
OWN_XMP_BYTES = 256 * 1024


def _named_elsewhere(photos: list[Photo], name: str) -> list[str]:
    """Files photosense does not own that still carry the name on a region: other tools'
    regions in sidecars, and the photos' own XMP (originals are never modified)."""
    from pathlib import Path

    from photosense_cli import xmp

    found: set[str] = set()
    for ph in photos:
        for path in ph.paths:
            try:
                with open(path, "rb") as f:
                    head = f.read(OWN_XMP_BYTES)
            except OSError:
                head = b""  # a photo gone or unreadable: its sidecars are still read
            regions, _, _ = xmp.read_metadata(Path(path), data=head)
            found |= {r.source.removeprefix("xmp:") for r in regions
                      if r.name.casefold() == name.casefold()}
    return sorted(found)


def _mean(descriptors: Sequence[bytes]) -> bytes | None:
    """The person's prototype: the mean of their descriptors, in the engine's space."""
    if not descriptors:
        return None
    import numpy as np

    rows = np.stack([np.frombuffer(d, np.float32) for d in descriptors])
    return rows.mean(axis=0).astype(np.float32).tobytes()


def _delete_in_engine(engine: Engine, doomed: list[str], report: PersonForgetReport,
                      kept: Sequence[str] = ()) -> set[str] | None:
    """Delete the faces from the collection, then count them there again. Returns which
    of `kept` (a template's) the collection holds; None when any doomed face is left
    (said in the report)."""
    wanted = set(doomed)
    try:
        listed = {fid for fid, _ in engine.list_faces() if fid in wanted or fid in kept}
    except (EngineError, ItemFailed) as e:
        report.left.append(f"{engine.where()}: cannot list the collection's faces: {e}")
        report.engine_left = len(doomed)
        return None
    present = [fid for fid in doomed if fid in listed]
    error = None
    try:
        if present:
            engine.delete_faces(present)
    except (EngineError, ItemFailed) as e:
        error = str(e)
    try:
        left = [fid for fid, _ in engine.list_faces() if fid in wanted]
    except (EngineError, ItemFailed) as e:
        left = present
        error = error or f"cannot list the collection's faces: {e}"
    report.engine_deleted = len(present) - len(left)
    report.engine_left = len(left)
    if left:
        report.left.append(f"{engine.where()}: {len(left)} of their faces are still in the "
                           f"collection{f' ({error})' if error else ''}; run the same "
                           "command again to finish (nothing was erased here yet)")
        return None
    return listed & set(kept)


# -- what is held ----------------------------------------------------------------------


def inventory(cat: Catalogue, engine: Callable[[], Engine] | None,
              rules: FolderRules | None, *, count_engine: bool = True) -> dict:
    """Every place photosense holds face data, counted (status's `biometric`).
    count_engine=False (status --offline): a cloud collection is not asked."""
    import os

    from photosense_cli.errors import PhotosenseError

    counts = cat.biometric_counts()
    remote: dict = {"counted_there": False, "faces": None, "users": None, "error": None}
    if engine is not None and count_engine:
        try:
            remote.update(engine().collection_counts(), counted_there=True)
        except (EngineError, ItemFailed, PhotosenseError) as e:
            remote["error"] = str(e)
    elif engine is None:  # the offline engine's faces are the catalogue's rows only
        remote.update(faces=counts["descriptors"], users=0)
    files: dict[str, int] = {"crop": 0, "sheet": 0, "sidecar": 0}
    for row in cat.face_files():
        if os.path.lexists(row["path"]):
            files[row["kind"]] = files.get(row["kind"], 0) + 1
    protected = cat.count_protected()
    return {
        "catalogue": counts,
        "engine": remote,
        "files": {"crops": files["crop"], "sheets": files["sheet"],
                  "sidecars_naming_people": files["sidecar"]},
        "folders": [{**r.to_json(), "photos": len(cat.photo_ids_under(r.path, live=True))}
                    for r in (rules.rules if rules else ())],
        "protected_photos": {k: v for k, v in sorted(protected.items())},
    }


# -- files photosense wrote that show faces --------------------------------------------


def _delete_files(cat: Catalogue, person_id: int, gone: set[int],
                  report: PersonForgetReport) -> None:
    """Crops and sheets that show the person: deleted while they are as photosense wrote
    them (a sheet of several people too: it is made again with 'people sheet'); a file
    changed since is the user's now, and named as left. Sidecars are handled apart."""
    import hashlib
    import os
    import stat

    for row in cat.face_files():
        if row["kind"] == "sidecar" or not (person_id in row["people"] or gone & set(row["faces"])):
            continue
        path = row["path"]
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                raise FileNotFoundError
            with open(path, "rb") as f:
                same = hashlib.file_digest(f, "sha256").hexdigest() == row["sha256"]
        except FileNotFoundError:
            cat.drop_face_file(path)  # deleted or moved by the user: nothing of ours there
            continue
        except OSError as e:
            report.left.append(f"{path}: cannot read it to check it: {e.strerror or e}")
            continue
        if not same:
            report.left.append(f"{path}: a {row['kind']} that shows them, changed since "
                               "photosense wrote it; not deleted")
            continue
        try:
            os.unlink(path)
        except OSError as e:
            report.left.append(f"{path}: cannot delete it: {e.strerror or e}")
            continue
        cat.drop_face_file(path)
        report.files_deleted.append(path)


# -- the history's copies --------------------------------------------------------------

SEALED = "a correction to a person since forgotten"


def _scrub_history(cat: Catalogue, person_id: int, face_ids: set[int]) -> int:
    """Empty every history record that holds the person (their name, faces or id); a
    forget of photos keeps its record without their faces, which become forgotten boxes
    (undoing it brings the photos back without them). Returns the records changed."""
    changed = 0
    for change_id, kind, undo in cat.changes_with_undo():
        if kind == ChangeKind.FORGET:
            photos = [_without(ph, person_id, cat) for ph in undo.get("photos", [])]
            if photos != undo.get("photos", []):
                cat.rewrite_change(change_id, {**undo, "photos": photos})
                changed += 1
        elif _mentions(kind, undo, person_id, face_ids):
            cat.rewrite_change(change_id, {"sealed": True}, SEALED)
            changed += 1
    for sha, faces in cat.restorable_rows():
        kept = _without({"sha256": sha, "faces": faces}, person_id, cat)["faces"]
        if kept != faces:
            cat.set_restorable(sha, kept)
    return changed


def _without(photo: dict, person_id: int, cat: Catalogue) -> dict:
    """A forgotten photo's record without the person's faces, each remembered as a box."""
    keep: list[dict] = []
    drop: list[dict] = []
    for face in photo.get("faces", []):
        (drop if (face.get("person") or {}).get("id") == person_id else keep).append(face)
    if not drop:
        return photo
    cat.remember_forgotten_boxes(photo["sha256"], [Box(**f["box"]) for f in drop])
    return {**photo, "faces": keep}


def _mentions(kind: str, u: dict, person_id: int, face_ids: set[int]) -> bool:
    """Whether a history record holds anything of the person: by each kind's shape."""
    if u.get("sealed"):
        return False
    match kind:
        case ChangeKind.RENAME | ChangeKind.HIDE | ChangeKind.UNHIDE:
            return u.get("person") == person_id
        case ChangeKind.MERGE:
            kept = u.get("kept_out") or {}
            return u.get("target") == person_id or kept.get("person") == person_id or any(
                (s.get("person") or {}).get("id") == person_id
                or face_ids & set(s.get("faces", [])) for s in u.get("sources", []))
        case ChangeKind.MOVE | ChangeKind.UNASSIGN:
            return (person_id in (u.get("from"), u.get("to"), u.get("created"))
                    or u.get("face") in face_ids)
        case ChangeKind.XMP_NAMES:
            return any(n.get("person") == person_id for n in u.get("names", []))
        case ChangeKind.REJECT:
            return person_id in (u.get("a"), u.get("b")) or any(
                d.get("face") in face_ids for d in u.get("declined", []))
        case ChangeKind.DECLINE:
            return u.get("person") == person_id or u.get("face") in face_ids
        case ChangeKind.BORN:
            return (person_id in (u.get("person"), u.get("moved_to"))
                    or bool(face_ids & set(u.get("faces", []))))
        case ChangeKind.SPLIT:
            return (u.get("person") == person_id or person_id in u.get("created", [])
                    or any(face_ids & set(g) for g in u.get("groups", [])))
        case ChangeKind.REVIEW:
            return any(_mentions(s["kind"], s["undo"], person_id, face_ids)
                       for s in u.get("steps", []))
        case ChangeKind.REINDEX | ChangeKind.FORGET_PERSON:
            return False
    return True  # a kind a newer photosense wrote: sealed, as it may hold them


# -- suppression -----------------------------------------------------------------------


def remove_template(cat: Catalogue, template_id: int,
                    engine: Callable[[], Engine] | None) -> str:
    """Drop a template, deleting the faces it kept in a cloud collection first."""
    found = [t for t in cat.templates() if t.id == template_id]
    if not found:
        raise NotFound(f"no suppression template {template_id} ('photosense people "
                       "suppressed' lists them)")
    kept = cat.template_faces(template_id) if found[0].kept_in_engine else []
    if kept:
        if engine is None:
            raise PhotosenseError(f"template {template_id} keeps faces in the "
                                  f"{found[0].engine} engine, which this library no longer uses")
        engine().delete_faces(kept)  # the engine first: a failure keeps the template listed
    with cat.transaction():
        cat.remove_template(template_id)
    where = f"; {len(kept)} faces deleted from the engine" if kept else ""
    return f"removed suppression template {template_id}{where}: their faces are kept again"


@dataclass
class Screen:
    """What an import or reindex drops: forgotten faces (photo hash -> boxes, each with
    its template) and matches of the suppression templates (their ids in the engine).
    `moving`: templates that take the forgotten faces they meet instead of losing them,
    up to KEPT_IN_ENGINE (a reindex to another engine keeps --never-again)."""

    forgotten: dict[str, list[tuple[Box, int | None]]]
    suppress: set[str]
    moving: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, cat: Catalogue, engine: str) -> Screen:
        """moving: templates made on another engine, and those with fewer than
        KEPT_IN_ENGINE faces here (a reindex that failed halfway moved some of them)."""
        sizes = cat.template_sizes()
        return cls(cat.forgotten_boxes(), cat.template_face_ids(engine),
                   {t for t, e in cat.template_engines().items()
                    if e != engine or sizes.get(t, 0) < KEPT_IN_ENGINE})

    def forgotten_in(self, sha: str, box: Box) -> tuple[bool, int | None]:
        """Whether a face lies where one was forgotten, and the template that wants it on
        this engine (None: delete it)."""
        for b, template in self.forgotten.get(sha, []):
            if box.iou(b) >= FORGOTTEN_IOU:
                return True, template if template in self.moving else None
        return False, None


def keep_for_templates(cat: Catalogue, engine: Engine, screen: Screen,
                       faces: Sequence[tuple[int, DetectedFace]]) -> list[str]:
    """Forgotten faces found on a new engine join their template there (up to
    KEPT_IN_ENGINE each; the descriptor with them on the offline engine); returns the
    faces to delete from the engine after the commit. The caller holds a transaction."""
    extra = []
    for template, face in faces:
        descriptor = None if engine.remote_faces else face.descriptor
        if cat.add_template_face(template, engine.name, face.face_id, descriptor,
                                 most=KEPT_IN_ENGINE):
            screen.suppress.add(face.face_id)  # later photos of this run meet it too
        else:
            extra.append(face.face_id)
    return extra
