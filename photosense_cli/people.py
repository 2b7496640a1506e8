"""People: every correction a user makes to the clustering (clustering.py), each logged
with what it takes to undo it, and the suggestions that ask about it."""

from __future__ import annotations

from typing import Callable, assert_never

from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import Engine, Usage
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
                everyone: bool = False, limit: int = 0) -> tuple[list[Person], int]:
    """The people to list (the first `limit`, 0: all), and how many unnamed one-face people
    were left out."""
    shown = cat.list_people(named=named, hidden=hidden,
                            min_faces=0 if everyone or hidden else LISTED_FACES, limit=limit)
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
        step = merge_step(cat, target, sources)
        cat.log_change(*step)
    names = ", ".join(repr(s.name) for s in sources)
    kept = step[2].get("kept_out")
    return f"merged {names} into {target.name!r} (id {target.id})" + (
        f"; {len(kept['faces'])} face{'s' * (len(kept['faces']) != 1)} a rule keeps from them "
        f"(taken out of them before, or from before their birth date) went to a new person "
        f"{kept['person']}" if kept else "")


def merge_step(cat: Catalogue, target: Person, sources: list[Person]) -> Step:
    undo: dict = {"target": target.id, "target_cover": (cat.person_row(target.id) or {}).get("cover_face_id"),
                  "sources": [], "suggestions": []}
    for s in sources:
        row, faces = cat.person_row(s.id), cat.face_ids_of_person(s.id)
        undo["suggestions"] += cat.suggestion_rows_of(s.id)
        # saved searches that named a source name the target (before the row goes)
        undo["saved"] = undo.get("saved", []) + cat.repoint_saved_people([s.id], target.id)
        cat.move_all_faces(s.id, target.id)
        # what was said of the source is said of the person it became
        undo["sources"].append({"person": row, "faces": faces,
                                "rejections": cat.move_rejections(s.id, target.id),
                                "face_suggestions": cat.repoint_face_suggestions(s.id, target.id)})
        cat.delete_person(s.id)
    names = ", ".join(repr(s.name) for s in sources)
    summary = f"merged {names} into {target.name!r}"
    # The rules hold for a merge too: a face taken out of either, or from before the
    # target's birth date, does not join; together they make one new unnamed person.
    kept_out = cat.ruled_out_faces(target.id)
    if kept_out:
        undo["kept_out"] = {"person": keep_out(cat, kept_out), "faces": kept_out}
        summary += (f"; {len(kept_out)} face{'s' * (len(kept_out) != 1)} a rule keeps from "
                    f"them went to a new person {undo['kept_out']['person']}")
    cat.set_cover_if_none(target.id)
    return ChangeKind.MERGE, summary, undo


def keep_out(cat: Catalogue, face_ids: list[int]) -> int:
    """Faces a rule keeps from their person, together in one new unnamed person: they were
    alike enough to be clustered together, and are likely one other person."""
    person = cat.create_person()
    previous = {cat.person_of_face(f) for f in face_ids}
    cat.assign_faces(face_ids, person)
    cat.set_cover_if_none(person)
    for old in previous:
        if old is not None:
            cat.tidy_after_face_left(old, face_ids[0])
    return person


def named_sources(target: Person, sources: list[Person]) -> list[Person]:
    """Sources whose names a merge into a named target would drop: worth a question."""
    return [s for s in sources if s.named and target.named and s.name != target.name]


def reject(cat: Catalogue, a: Person, b: Person) -> str:
    """The user says a and b are two people: never suggest them again (undo takes it back).
    A face of one that was suggested to the other ("is this X?") is declined with it."""
    if a.id == b.id:
        raise PhotosenseError("a person cannot be rejected as a match of itself")
    with cat.transaction():
        removed = cat.reject_pair(a.id, b.id)
        declined = [decline_rows(cat, f.face_id, f.person[0])
                    for f in cat.face_suggestions_between(a.id, b.id)]
        cat.log_change(ChangeKind.REJECT, f"{a.name!r} and {b.name!r} are two people",
                       {"a": a.id, "b": b.id, "suggestions": removed, "declined": declined})
    return f"{a.name!r} and {b.name!r} will not be suggested as one person again"


def decline_rows(cat: Catalogue, face_id: int, person_id: int) -> dict:
    """A face is not this person: remembered (by photo and box), its suggestion dropped."""
    dropped = cat.drop_face_suggestion(face_id)
    return {"face": face_id, "person": person_id, "suggestion": dropped,
            "rejection": cat.reject_face(face_id, person_id)}


def decline(cat: Catalogue, face_id: int) -> str:
    """`people suggest --decline FACE`: the face is not the person it was suggested to."""
    suggestion = cat.face_suggestion(face_id)
    if suggestion is None:
        raise NotFound(f"face {face_id} has no suggestion (see 'photosense people suggest "
                       "--faces')")
    label = suggestion.person[1]
    with cat.transaction():
        cat.log_change(*decline_step(cat, face_id, suggestion.person[0], label))
    return f"face {face_id} will not be suggested for {label!r} again"


def decline_step(cat: Catalogue, face_id: int, person_id: int, label: str) -> Step:
    return (ChangeKind.DECLINE, f"face {face_id} is not {label!r}",
            decline_rows(cat, face_id, person_id))


def accept(cat: Catalogue, face_id: int) -> str:
    """`people suggest --accept FACE`: the face joins the person it was suggested to."""
    suggestion = cat.face_suggestion(face_id)
    if suggestion is None:
        raise NotFound(f"face {face_id} has no suggestion (see 'photosense people suggest "
                       "--faces')")
    person = cat.person(suggestion.person[0])
    assert person is not None  # the suggestion's row goes with its person
    own = cat.person(suggestion.now[0]) if suggestion.now[0] is not None else None
    started = own is not None and min(cat.face_ids_of_person(own.id)) == face_id
    if own is not None and started and own.faces > 1 and not own.named:
        # The faces that joined the person this face started matched it at 90 or more:
        # the answer is theirs too (a child's later photos joined the first one).
        return merge(cat, person, [own])
    return move_face(cat, face_id, person)


def _undo_declined(cat: Catalogue, declined: list[dict]) -> None:
    for d in declined:
        if d.get("rejection") is not None:
            cat.unreject_faces([d["rejection"]])
        cat.restore_face_suggestions(d.get("suggestion", []))


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
    lifted: list[dict] = []
    if person is None:
        created = target_id = cat.create_person()
    else:
        target_id = person.id
        check_born(cat, face, person)
        # the user puts the face back where they once took it out: they say so now
        lifted = cat.rejections_of(face.id, person.id)
        cat.unreject_faces([r["id"] for r in lifted])
    old_row = cat.person_row(old) if old is not None else None
    suggestion = cat.drop_face_suggestion(face.id)
    # the face is not the person it left: no import, reindex or suggestion puts it back
    not_old = cat.reject_face(face.id, old) if old is not None else None
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
                "from_row": old_row, "removed": removed, "rejected": rejected,
                "declined": [{"rejection": not_old, "suggestion": suggestion}],
                "lifted": lifted})


def check_born(cat: Catalogue, face: Face, person: Person) -> None:
    """A face from a photo the camera dated before the person's birth date is not theirs."""
    born = cat.born(person.id)
    day = cat.photo_rule_facts(face.photo_id)[1]
    if born is not None and day is not None and day < born:
        raise PhotosenseError(
            f"face {face.id} is from a photo taken on {day}, before {person.name!r} was born "
            f"({born}); if that date is wrong, change it: photosense people born "
            f"{person.id} DATE")


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
            _undo_declined(cat, u.get("declined", []))
        case ChangeKind.DECLINE:
            _undo_declined(cat, [u])
        case ChangeKind.BORN:
            _undo_born(cat, u, lost)
        case ChangeKind.SPLIT:
            _undo_split(cat, u, lost)
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
    if "kept_out" in u and cat.person_exists(u["target"]):  # target's own faces come back
        kept = set(cat.existing_faces(u["kept_out"]["faces"]))
        from_sources = {f for s in u["sources"] for f in s["faces"]}
        cat.assign_faces(sorted(kept - from_sources), u["target"])
    for s in u["sources"]:
        row, faces = s["person"], cat.existing_faces(s["faces"])
        if not faces:
            lost.append(f"{row['name']!r} has no face left")
        elif not cat.restore_person(row):
            lost.append(f"{row['name']!r}: id {row['id']} is taken")
        else:
            cat.assign_faces(faces, row["id"])
            cat.set_cover(row["id"], row["cover_face_id"])
            cat.move_rejections_back(s.get("rejections", []), row["id"])
            cat.restore_face_suggestions(s.get("face_suggestions", []))
    if cat.person_exists(u["target"]):
        cat.set_cover(u["target"], u["target_cover"])
        cat.delete_faceless_people()
    cat.restore_saved_people(u.get("saved", []))  # merges from before saved searches: none
    cat.restore_suggestions(u["suggestions"])


def _undo_move(cat: Catalogue, u: dict, lost: list[str]) -> None:
    _undo_declined(cat, u.get("declined", []))  # moves from before version 20: none
    cat.restore_rejections(u.get("lifted", []))
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


def _undo_born(cat: Catalogue, u: dict, lost: list[str]) -> None:
    if not cat.person_exists(u["person"]):
        lost.append(f"person {u['person']} is gone")
        return
    cat.set_born(u["person"], u["born"])
    _faces_back(cat, u["faces"], u["person"], lost)


def _undo_split(cat: Catalogue, u: dict, lost: list[str]) -> None:
    for a, b, removed in u["rejected"]:
        cat.unreject_pair(a, b)
        cat.restore_suggestions(removed)
    if not cat.person_exists(u["person"]):
        lost.append(f"person {u['person']} is gone")
        return
    _faces_back(cat, [f for group in u["groups"] for f in group], u["person"], lost)


def _faces_back(cat: Catalogue, faces: list[int], person: int, lost: list[str]) -> None:
    """Faces a change took out go back to their person, from wherever they are now; the
    people left with no face go."""
    there = cat.existing_faces(faces)
    if len(there) < len(faces):
        lost.append(f"{len(faces) - len(there)} of its faces are gone")
    cat.assign_faces(there, person)
    cat.delete_faceless_people()
