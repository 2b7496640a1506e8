"""People: clustering faces at import, and every correction a user makes afterwards.

Clustering follows the original design: a face joins the person who owns the
faces it matches at 90 % similarity, or starts a new unnamed person. It makes
mistakes, so each correction here is logged with what it takes to undo it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Callable, assert_never

from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import DetectedFace, Engine, Match, Usage
from photosense_cli.errors import Ambiguous, NotFound, NothingToUndo, PhotosenseError
from photosense_cli.records import (
    Change,
    ChangeKind,
    Face,
    Hidden,
    Person,
    PersonDetails,
    Suggestion,
    name_problem,
)

# A new person whose face is smaller than this share of its photo's width and height
# starts hidden (shown again once a second face joins them): a face in the crowd behind
# the subject. The shared test photos' smallest face is 0.106 of its photo's height (a
# group photo); a class photo of 30 puts faces at 0.05-0.07; faces in a crowd behind
# someone measure 0.02-0.04. Both sides must be small, so a tall portrait photo's
# narrow face is not taken for a distant one.
BACKGROUND_FACE = 0.04


class Clusterer:
    """Assigns each new face to a person; lives for one import run.

    A face searched while another photo of the same run was still in flight may
    match a face the catalogue does not have yet. Such matches are kept as
    claims, so when that face is written it joins the person that matched it.
    """

    def __init__(self, cat: Catalogue):
        self.cat = cat
        self.claims: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.last_person: int | None = None  # the person the last assigned face went to
        self.hidden_background = 0  # new people started hidden: a tiny face, far behind

    def assign(self, photo_id: int, face: DetectedFace, matches: list[Match],
               person: int | None = None, taken: Collection[int] = ()) -> int:
        """Store the face under its person (chosen from matches unless given); 1 if one was
        created. `taken`: people another face of this photo went to, whom this face cannot
        join (one person is not twice in a photo; mirrors and photos of photos aside, which
        the user merges); it goes to its next-best person or a new one, and a suggestion
        records the likeness."""
        matches = [m for m in matches if m.face_id != face.face_id]
        owners = self.cat.people_of_engine_faces([m.face_id for m in matches])
        created = 0
        passed_over: dict[int, float] = {}
        if person is None:
            person = self._choose(face, matches, owners, taken, passed_over)
            if person is None:
                person = self.cat.create_person()
                created = 1
                if face.box.width < BACKGROUND_FACE and face.box.height < BACKGROUND_FACE:
                    self.cat.hide_as_background(person)
                    self.hidden_background += 1
            for other, similarity in passed_over.items():
                self.cat.add_suggestion(person, other, similarity, "same-photo")
        self.cat.insert_face(photo_id, person, face)
        self.last_person = person
        for m in matches:
            if m.face_id not in owners:
                self.claims[m.face_id].append((person, m.similarity))
        return created

    def _choose(self, face: DetectedFace, matches: list[Match], owners: dict[str, int],
                taken: Collection[int] = (),
                passed_over: dict[int, float] | None = None) -> int | None:
        votes: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])  # person -> [count, best]
        for m in matches:
            if m.face_id in owners:
                _vote(votes, owners[m.face_id], m.similarity)
        for person, similarity in self.claims.pop(face.face_id, []):
            # the claiming person may have been merged away or removed since (a correction
            # made while this import runs): a claim on someone gone is no vote
            if self.cat.person_exists(person):
                _vote(votes, person, similarity)
        for other in set(taken) & votes.keys():
            if passed_over is not None:
                passed_over[other] = votes[other][1]
            del votes[other]
        if not votes:
            return None
        person = max(votes, key=lambda p: (votes[p][0], votes[p][1]))
        for other, (_, best) in votes.items():
            if other != person:  # the face looks like two people: let the user decide
                self.cat.add_suggestion(person, other, best, "import-conflict")
        return person


def _vote(votes, person: int, similarity: float) -> None:
    votes[person][0] += 1
    votes[person][1] = max(votes[person][1], similarity)


# -- finding people -----------------------------------------------------------


def resolve(cat: Catalogue, ref: str, *, exact: bool = False) -> Person:
    """A person by id or by name (case-insensitive); errors list the candidates.

    Read-only commands also accept a unique part of a name. Commands that change
    people pass exact=True: a near miss there must not pick someone else.
    """
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        found = cat.person(int(ref))
        if found is None:
            raise NotFound(f"no person with id {ref}")
        return found
    named = cat.people_named(ref)
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise Ambiguous(f"{len(named)} people are called {ref!r}: {_candidates(named)}; use the id")
    like = cat.people_name_contains(ref)
    if len(like) == 1 and not exact:
        return like[0]
    if like:
        what = "is not a name; did you mean" if exact else "matches several people:"
        raise Ambiguous(f"{ref!r} {what} {_candidates(like)}? Use the id or the exact name")
    raise NotFound(f"no person called {ref!r} (see 'photosense people')")


def _candidates(people: list[Person]) -> str:
    return ", ".join(f"{p.id} ({p.name})" for p in people)


# Unnamed people with fewer faces than this are left out of `people` unless --all: a
# crowd behind the subject makes dozens of one-face people nobody will name.
LISTED_FACES = 2


def list_people(cat: Catalogue, *, named: bool | None = None, hidden: bool = False,
                everyone: bool = False) -> tuple[list[Person], int]:
    """The people to list, and how many unnamed one-face people were left out."""
    shown = cat.list_people(named=named, hidden=hidden,
                            min_faces=0 if everyone or hidden else LISTED_FACES)
    left_out = 0 if everyone or hidden or named else cat.count_unnamed_with_fewer_faces(
        LISTED_FACES)
    return shown, left_out


def person_details(cat: Catalogue, person: Person, include_missing: bool = False) -> PersonDetails:
    return cat.person_details(person, include_missing)


def get_face(cat: Catalogue, face_id: int) -> Face:
    face = cat.face(face_id)
    if face is None:
        raise NotFound(f"no face with id {face_id} (see 'photosense people show PERSON')")
    return face


# -- corrections, each with its undo ---------------------------------------------


# A correction made but not yet logged: (kind, summary, what undo needs). The CLI logs
# each as one change; a review file logs all of its steps as one (ChangeKind.REVIEW).
Step = tuple[ChangeKind, str, dict]


def clean_name(name: str) -> str:
    """A typed name with its spaces tidied, or PhotosenseError saying what is wrong."""
    name = " ".join(name.split())
    if (problem := name_problem(name)) is not None:
        raise PhotosenseError(problem)
    if name.isdigit():
        raise PhotosenseError("a name cannot be only digits: it would read as an id")
    return name


def rename(cat: Catalogue, person: Person, name: str, allow_duplicate: bool = False) -> str:
    name = clean_name(name)
    if person.named and person.name == name:
        # not a change: recorded, it was what the next undo undid, and nothing visible
        return f"person {person.id} is already {name!r}"
    others = [p for p in cat.people_named(name) if p.id != person.id]
    if others and not allow_duplicate:
        raise PhotosenseError(
            f"{others[0].name!r} is already person {others[0].id}: if they are one person, "
            f"merge them (photosense people merge {others[0].id} {person.id}); to have two "
            "people of that name, pass --allow-duplicate")
    with cat.transaction():
        cat.log_change(*rename_step(cat, person, name))
    return f"person {person.id} is now {name!r}"


def rename_step(cat: Catalogue, person: Person, name: str) -> Step:
    cat.set_name(person.id, name, True)
    return (ChangeKind.RENAME, f"renamed {person.name!r} to {name!r}",
            {"person": person.id, "name": person.name, "named": person.named,
             "source": person.name_source})


def set_hidden(cat: Catalogue, person: Person, hidden: bool) -> str:
    with cat.transaction():
        step = hide_step(cat, person, hidden)
        cat.log_change(*step)
    return step[1]


def hide_step(cat: Catalogue, person: Person, hidden: bool) -> Step:
    verb = "hid" if hidden else "unhid"
    cat.set_hidden(person.id, Hidden.BY_USER if hidden else Hidden.NO)
    return (ChangeKind.HIDE if hidden else ChangeKind.UNHIDE, f"{verb} {person.name!r}",
            {"person": person.id, "hidden": int(person.hidden)})


def merge(cat: Catalogue, target: Person, sources: list[Person]) -> str:
    """Move every face of the sources to the target; the sources disappear.

    Future faces matching the sources' old faces join the target, because
    clustering follows the faces, and the faces now belong to the target.
    """
    ids = [s.id for s in sources]
    if target.id in ids:
        raise PhotosenseError("cannot merge a person into itself")
    if len(set(ids)) != len(ids):
        raise PhotosenseError("a person is named twice")
    with cat.transaction():
        cat.log_change(*merge_step(cat, target, sources))
    names = ", ".join(repr(s.name) for s in sources)
    return f"merged {names} into {target.name!r} (id {target.id})"


def merge_step(cat: Catalogue, target: Person, sources: list[Person]) -> Step:
    undo: dict = {"target": target.id, "target_cover": (cat.person_row(target.id) or {}).get("cover_face_id"),
                  "sources": [], "suggestions": []}
    for s in sources:
        undo["sources"].append({"person": cat.person_row(s.id),
                                "faces": cat.face_ids_of_person(s.id)})
        undo["suggestions"] += cat.suggestion_rows_of(s.id)
        # saved searches that named a source name the target (before the row goes)
        undo["saved"] = undo.get("saved", []) + cat.repoint_saved_people([s.id], target.id)
        cat.move_all_faces(s.id, target.id)
        cat.delete_person(s.id)
    cat.set_cover_if_none(target.id)
    names = ", ".join(repr(s.name) for s in sources)
    return ChangeKind.MERGE, f"merged {names} into {target.name!r}", undo


def named_sources(target: Person, sources: list[Person]) -> list[Person]:
    """Sources whose names a merge into a named target would drop: worth a question."""
    return [s for s in sources if s.named and target.named and s.name != target.name]


def reject(cat: Catalogue, a: Person, b: Person) -> str:
    """The user says a and b are two people: never suggest them again (undo takes it back)."""
    if a.id == b.id:
        raise PhotosenseError("a person cannot be rejected as a match of itself")
    with cat.transaction():
        removed = cat.reject_pair(a.id, b.id)
        cat.log_change(ChangeKind.REJECT, f"{a.name!r} and {b.name!r} are two people",
                       {"a": a.id, "b": b.id, "suggestions": removed})
    return f"{a.name!r} and {b.name!r} will not be suggested as one person again"


def move_face(cat: Catalogue, face_id: int, person: Person | None) -> str:
    """Move one face to another person, or to a new unnamed person when person is None."""
    face = get_face(cat, face_id)
    if person is not None and person.id == face.person_id:
        raise PhotosenseError(f"face {face_id} already belongs to {person.name!r}")
    with cat.transaction():
        step = move_step(cat, face, person)
        cat.log_change(*step)
        target = cat.person(step[2]["to"])
        assert target is not None
    return f"face {face_id} now belongs to {target.name!r} (id {target.id})"


def move_step(cat: Catalogue, face: Face, person: Person | None) -> Step:
    old = face.person_id
    created = None
    if person is None:
        created = target_id = cat.create_person()
    else:
        target_id = person.id
    old_row = cat.person_row(old) if old is not None else None
    cat.assign_faces([face.id], target_id)
    cat.set_cover_if_none(target_id, face.id)
    # "Not this person": neither an import's conflict nor `people suggest` may offer
    # the face's new person back to the old one (a move to someone existing says
    # nothing of the two people, who may well be one person split in two).
    rejected = (cat.reject_pair(old, target_id)
                if person is None and old is not None else None)
    removed = cat.tidy_after_face_left(old, face.id)
    target = cat.person(target_id)
    assert target is not None
    return (ChangeKind.UNASSIGN if person is None else ChangeKind.MOVE,
            f"moved face {face.id} to {target.name!r}", {
                "face": face.id, "from": old, "to": target_id, "created": created,
                "from_row": old_row, "removed": removed, "rejected": rejected})


def history(cat: Catalogue, limit: int = 50) -> list[Change]:
    return cat.history(limit)


def undo(cat: Catalogue, only: int | None = None) -> str:
    """Revert the latest change not yet undone, as far as what it touched still exists.

    Photos forgotten or people merged since may have taken some of it away: undo
    restores the rest and says in one line what it could not. It never gets stuck.
    """
    lost: list[str] = []
    with cat.transaction():  # read under the write lock: two undos never take one change
        change, kind, u = _undoable(cat, only)
        _undo(cat, kind, u, lost)
        cat.mark_undone(change.id)
    message = f"undid: {change.summary}"
    if change.kind == "forget":
        message += ("; import those files again to analyse them: their people come back "
                    "where the faces match")
    if lost:
        message += f" (could not restore: {'; '.join(lost)})"
    return message


def _undoable(cat: Catalogue, only: int | None) -> tuple[Change, ChangeKind, dict]:
    last = cat.last_change()
    if last is None:
        raise NothingToUndo("nothing to undo")
    change, u = last
    if only is not None and change.id != only:
        raise NothingToUndo(f"the last change is no longer this one: {change.summary!r} came "
                            "after it ('photosense history' lists them)")
    try:
        kind = ChangeKind(change.kind)
    except ValueError:
        raise PhotosenseError(f"cannot undo a change of kind {change.kind!r}: a newer "
                              "photosense wrote it") from None
    if kind is ChangeKind.REINDEX:
        raise NothingToUndo("the last change is a reindex: the corrections before it "
                            "were carried into the new faces and cannot be undone")
    if kind is ChangeKind.FORGET_PERSON or u.get("sealed"):
        raise NothingToUndo("the last change forgot a person, or corrected one forgotten "
                            "since: forgetting cannot be undone, and the corrections "
                            "before it stay as they are")
    return change, kind, u


def _undo(cat: Catalogue, kind: ChangeKind, u: dict, lost: list[str]) -> None:
    """Put back what one change took, as far as it still exists; `lost` says the rest."""
    match kind:
        case ChangeKind.RENAME | ChangeKind.HIDE | ChangeKind.UNHIDE:
            if not cat.person_exists(u["person"]):
                lost.append(f"person {u['person']} is gone")
            elif kind is ChangeKind.RENAME:
                cat.set_name(u["person"], u["name"], u["named"], u.get("source"))
            else:
                # an int since this version (who hid them); a bool before, the user's then
                cat.set_hidden(u["person"], Hidden(int(u["hidden"])))
        case ChangeKind.MERGE:
            _undo_merge(cat, u, lost)
        case ChangeKind.MOVE | ChangeKind.UNASSIGN:
            _undo_move(cat, u, lost)
        case ChangeKind.XMP_NAMES:
            for n in u["names"]:
                if cat.person_exists(n["person"]):
                    cat.set_name(n["person"], n["name"], n["named"], n["source"])
                else:
                    lost.append(f"person {n['person']} is gone")
        case ChangeKind.REJECT:
            cat.unreject_pair(u["a"], u["b"])
            cat.restore_suggestions(u["suggestions"])
        case ChangeKind.FORGET:
            cat.unforget([p["sha256"] for p in u["photos"]])
            for p in u["photos"]:
                cat.add_restorable(p["sha256"], p["faces"])
            lost += [f"{path} (its photo is gone)"
                     for path in cat.unforget_paths(u.get("paths", []))]
        case ChangeKind.REVIEW:
            for step in reversed(u["steps"]):  # the last step saw the state the others made
                _undo(cat, ChangeKind(step["kind"]), step["undo"], lost)
        case ChangeKind.REINDEX | ChangeKind.FORGET_PERSON:
            raise NothingToUndo(f"a {kind.value} cannot be undone")
        case _:
            assert_never(kind)


def _undo_merge(cat: Catalogue, u: dict, lost: list[str]) -> None:
    for s in u["sources"]:
        row, faces = s["person"], cat.existing_faces(s["faces"])
        if not faces:
            lost.append(f"{row['name']!r} has no face left")
        elif not cat.restore_person(row):
            lost.append(f"{row['name']!r}: id {row['id']} is taken")
        else:
            cat.assign_faces(faces, row["id"])
            cat.set_cover(row["id"], row["cover_face_id"])
    if cat.person_exists(u["target"]):
        cat.set_cover(u["target"], u["target_cover"])
        cat.delete_faceless_people()
    cat.restore_saved_people(u.get("saved", []))  # merges from before saved searches: none
    cat.restore_suggestions(u["suggestions"])


def _undo_move(cat: Catalogue, u: dict, lost: list[str]) -> None:
    if u.get("rejected") is not None and u["from"] is not None:
        cat.unreject_pair(u["from"], u["created"])
        cat.restore_suggestions(u["rejected"])
    if not cat.existing_faces([u["face"]]):
        lost.append(f"face {u['face']} is gone")
        return
    if u["removed"]:
        cat.restore_person(u["from_row"])
    if u["from"] is not None and not cat.person_exists(u["from"]):
        lost.append(f"person {u['from']} is gone")
        return
    current = cat.person_of_face(u["face"])
    cat.assign_faces([u["face"]], u["from"])
    if u["from_row"]:
        cat.set_cover(u["from"], u["from_row"]["cover_face_id"])
    if current is not None:
        cat.tidy_after_face_left(current, u["face"])


# -- suggestions ---------------------------------------------------------------------


def find_suggestions(cat: Catalogue, engine: Engine, faces_per_person: int = 3) -> int:
    """Search the engine with a few faces of each person at its suggestion threshold (below
    the 90 that clusters); record the matches that cross people.

    Costs one SearchFaces per face searched; returns the number of calls made.
    """
    usage = Usage()
    for person in cat.all_person_ids():
        for face_id in cat.best_engine_faces(person, faces_per_person):
            matches = engine.search_faces(face_id, engine.suggest_threshold, usage)
            owners = cat.people_of_engine_faces([m.face_id for m in matches])
            with cat.transaction():
                for m in matches:
                    other = owners.get(m.face_id)
                    if other is not None and other != person:
                        cat.add_suggestion(person, other, m.similarity, "search")
    with cat.transaction():
        cat.log_calls(None, engine.name, usage)
    return len(usage.calls)


def suggestions(cat: Catalogue, limit: int = 50) -> list[Suggestion]:
    return cat.suggestions(limit)


def contact_sheet(cat: Catalogue, person: Person, crops: list):
    """One picture of a person's faces: titled with who they are, each face labelled with
    its id and the file it is from, so a wrong one can be told apart and unassigned."""
    import os

    from photosense_cli import images

    paths = cat.paths_of(sorted({f.photo_id for f, _ in crops}))
    labels = [[f"face {f.id}", os.path.basename((paths.get(f.photo_id) or ["?"])[0])]
              for f, _ in crops]
    title = f"person {person.id}: {person.name}" + ("" if person.named else " (unnamed)")
    return images.contact_sheet([c for _, c in crops], labels, title=title)


def face_crops(cat: Catalogue, person: Person,
               on_error: Callable[[str, str], None] = lambda path, reason: None):
    """(face, crop) for each face of a person, cropped from the photo as displayed."""
    from photosense_cli import images
    from photosense_cli.errors import ItemFailed, os_reason

    out = []
    for path, faces in cat.face_crops_plan(person.id).items():
        try:
            img, _, _ = images.decode_upright(images.read_photo(path))
        except OSError as e:
            on_error(path, os_reason(e))
            continue
        except ItemFailed as e:
            on_error(path, e.reason)
            continue
        for f in faces:
            out.append((f, images.face_crop(img, f.box)))
    return out
