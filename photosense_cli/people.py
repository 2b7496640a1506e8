"""People: clustering faces at import, and every correction a user makes afterwards.

Clustering follows the original design: a face joins the person who owns the
faces it matches at 90 % similarity, or starts a new unnamed person. It makes
mistakes, so each correction here is logged with what it takes to undo it.
"""

from __future__ import annotations

import json
from collections import defaultdict

from photosense_cli.catalogue import Catalogue, chunks, now
from photosense_cli.engines.base import Engine, Face, Match, Usage
from photosense_cli.errors import Ambiguous, NotFound, NothingToUndo, PhotosenseError

SUGGEST_THRESHOLD = 80.0  # below the 90 rule on purpose: these are for a human to confirm


class Clusterer:
    """Assigns each new face to a person; lives for one import run.

    A face searched while another photo of the same run was still in flight may
    match a face the catalogue does not have yet. Such matches are kept as
    claims, so when that face is written it joins the person that matched it.
    """

    def __init__(self, cat: Catalogue):
        self.cat = cat
        self.claims: dict[str, list[tuple[int, float]]] = defaultdict(list)

    def assign(self, photo_id: int, face: Face, matches: list[Match],
               person: int | None = None) -> int:
        """Store the face under its person (chosen from matches unless given); 1 if one was created."""
        matches = [m for m in matches if m.face_id != face.face_id]
        owners = self.cat.people_of_engine_faces([m.face_id for m in matches])
        created = 0
        if person is None:
            person = self._choose(face, matches, owners)
            if person is None:
                person = self.cat.create_person()
                created = 1
        face_row = self.cat.insert_face({
            "photo_id": photo_id, "person_id": person, "engine_face_id": face.face_id,
            "left": face.box[0], "top": face.box[1], "width": face.box[2], "height": face.box[3],
            "confidence": face.confidence, "descriptor": face.descriptor,
        })
        self.cat.conn.execute(
            "UPDATE people SET cover_face_id = ? WHERE id = ? AND cover_face_id IS NULL",
            (face_row, person),
        )
        for m in matches:
            if m.face_id not in owners:
                self.claims[m.face_id].append((person, m.similarity))
        return created

    def _choose(self, face: Face, matches: list[Match], owners: dict[str, int]) -> int | None:
        votes: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])  # person -> [count, best]
        for m in matches:
            if m.face_id in owners:
                _vote(votes, owners[m.face_id], m.similarity)
        for person, similarity in self.claims.pop(face.face_id, []):
            _vote(votes, person, similarity)
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


def resolve(cat: Catalogue, ref: str) -> dict:
    """A person by id or by unique name (case-insensitive); errors list the candidates."""
    ref = ref.strip()
    if ref.isdigit():
        row = cat.query("SELECT * FROM people WHERE id = ?", (int(ref),))
        if not row:
            raise NotFound(f"no person with id {ref}")
        return row[0]
    rows = cat.query("SELECT * FROM people WHERE name = ? COLLATE NOCASE ORDER BY id", (ref,))
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise Ambiguous(f"{len(rows)} people are called {ref!r}: " + _candidates(rows) +
                        "; use the id")
    like = cat.query(
        "SELECT * FROM people WHERE name LIKE ? ESCAPE '\\' ORDER BY id LIMIT 10",
        ("%" + ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
    )
    if len(like) == 1:
        return like[0]
    if like:
        raise Ambiguous(f"{ref!r} matches several people: " + _candidates(like) + "; use the id")
    raise NotFound(f"no person called {ref!r} (see 'photosense people')")


def _candidates(rows) -> str:
    return ", ".join(f"{r['id']} ({r['name']})" for r in rows)


def list_people(cat: Catalogue, *, named: bool | None = None, hidden: bool = False) -> list[dict]:
    """Unnamed people first ("Who's this?"), most photos first; then named people by name."""
    where = ["p.hidden = ?"]
    params: list = [1 if hidden else 0]
    if named is not None:
        where.append("p.named = ?")
        params.append(1 if named else 0)
    return cat.query(
        f"""
        SELECT p.id, p.name, p.named, p.hidden,
               coalesce(c.photos, 0) AS photos, coalesce(c.faces, 0) AS faces
        FROM people p LEFT JOIN (
            SELECT person_id, count(DISTINCT photo_id) AS photos, count(*) AS faces
            FROM faces WHERE person_id IS NOT NULL GROUP BY person_id
        ) c ON c.person_id = p.id
        WHERE {' AND '.join(where)}
        ORDER BY p.named, CASE WHEN p.named THEN 0 ELSE -photos END, p.name COLLATE NOCASE, p.id
        """,
        params,
    )


def person_details(cat: Catalogue, person: dict) -> dict:
    photos = cat.query(
        """
        SELECT ph.id, (SELECT min(path) FROM locations WHERE photo_id = ph.id) AS path, ph.taken_at
        FROM photos ph WHERE ph.id IN (SELECT photo_id FROM faces WHERE person_id = ?)
        ORDER BY ph.taken_at, ph.id
        """,
        (person["id"],),
    )
    faces = [
        {"id": f["id"], "photo_id": f["photo_id"],
         "box": {"left": f["left"], "top": f["top"], "width": f["width"], "height": f["height"]},
         "confidence": f["confidence"]}
        for f in cat.query("SELECT * FROM faces WHERE person_id = ? ORDER BY photo_id, id",
                           (person["id"],))
    ]
    return {"id": person["id"], "name": person["name"], "named": bool(person["named"]),
            "hidden": bool(person["hidden"]), "cover_face_id": person["cover_face_id"],
            "photos": photos, "faces": faces}


# -- corrections, each with its undo ---------------------------------------------


def _log(cat: Catalogue, kind: str, summary: str, undo: dict) -> None:
    cat.conn.execute(
        "INSERT INTO changes(at, kind, summary, undo) VALUES (?, ?, ?, ?)",
        (now(), kind, summary, json.dumps(undo)),
    )


def rename(cat: Catalogue, person: dict, name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise PhotosenseError("a name cannot be empty")
    if name.isdigit():
        raise PhotosenseError("a name cannot be only digits: it would read as an id")
    with cat.transaction():
        cat.conn.execute("UPDATE people SET name = ?, named = 1 WHERE id = ?", (name, person["id"]))
        _log(cat, "rename", f"renamed {person['name']!r} to {name!r}",
             {"person": person["id"], "name": person["name"], "named": person["named"]})
    return f"person {person['id']} is now {name!r}"


def set_hidden(cat: Catalogue, person: dict, hidden: bool) -> str:
    verb = "hid" if hidden else "unhid"
    with cat.transaction():
        cat.conn.execute("UPDATE people SET hidden = ? WHERE id = ?", (int(hidden), person["id"]))
        _log(cat, "hide" if hidden else "unhide", f"{verb} {person['name']!r}",
             {"person": person["id"], "hidden": person["hidden"]})
    return f"{verb} {person['name']!r}"


def merge(cat: Catalogue, target: dict, sources: list[dict]) -> str:
    """Move every face of the sources to the target; the sources disappear.

    Future faces matching the sources' old faces join the target, because
    clustering follows the faces, and the faces now belong to the target.
    """
    ids = [s["id"] for s in sources]
    if target["id"] in ids:
        raise PhotosenseError("cannot merge a person into itself")
    if len(set(ids)) != len(ids):
        raise PhotosenseError("a person is named twice")
    with cat.transaction():
        undo = {"target": target["id"], "target_cover": target["cover_face_id"],
                "sources": [], "suggestions": []}
        for s in sources:
            face_ids = [r[0] for r in cat.conn.execute(
                "SELECT id FROM faces WHERE person_id = ?", (s["id"],))]
            undo["sources"].append({"person": s, "faces": face_ids})
            undo["suggestions"] += cat.query(
                "SELECT * FROM suggestions WHERE person_a = ? OR person_b = ?", (s["id"], s["id"]))
            cat.conn.execute("UPDATE faces SET person_id = ? WHERE person_id = ?",
                             (target["id"], s["id"]))
            cat.conn.execute("DELETE FROM people WHERE id = ?", (s["id"],))
        cat.conn.execute(
            "UPDATE people SET cover_face_id = coalesce(cover_face_id, "
            "(SELECT id FROM faces WHERE person_id = ? ORDER BY confidence DESC LIMIT 1)) WHERE id = ?",
            (target["id"], target["id"]),
        )
        names = ", ".join(repr(s["name"]) for s in sources)
        _log(cat, "merge", f"merged {names} into {target['name']!r}", undo)
    return f"merged {names} into {target['name']!r} (id {target['id']})"


def move_face(cat: Catalogue, face_id: int, person: dict | None) -> str:
    """Move one face to another person, or to a new unnamed person when person is None."""
    face = get_face(cat, face_id)
    old = face["person_id"]
    if person is not None and person["id"] == old:
        raise PhotosenseError(f"face {face_id} already belongs to {person['name']!r}")
    with cat.transaction():
        created = None
        if person is None:
            created = cat.create_person()
            target_id = created
        else:
            target_id = person["id"]
        old_row = cat.query("SELECT * FROM people WHERE id = ?", (old,))
        cat.conn.execute("UPDATE faces SET person_id = ? WHERE id = ?", (target_id, face_id))
        cat.conn.execute("UPDATE people SET cover_face_id = ? WHERE id = ? AND cover_face_id IS NULL",
                         (face_id, target_id))
        removed = _tidy_after_face_left(cat, old, face_id)
        kind = "unassign" if person is None else "move"
        target_name = cat.scalar("SELECT name FROM people WHERE id = ?", (target_id,))
        _log(cat, kind, f"moved face {face_id} to {target_name!r}", {
            "face": face_id, "from": old, "created": created,
            "from_row": old_row[0] if old_row else None, "removed": removed,
        })
    return f"face {face_id} now belongs to {target_name!r} (id {target_id})"


def _tidy_after_face_left(cat: Catalogue, person_id: int | None, face_id: int) -> bool:
    """Give the old person another cover, or delete them if they have no face left."""
    if person_id is None:
        return False
    if not cat.scalar("SELECT count(*) FROM faces WHERE person_id = ?", (person_id,)):
        cat.conn.execute("DELETE FROM people WHERE id = ?", (person_id,))
        return True
    cat.conn.execute(
        "UPDATE people SET cover_face_id = (SELECT id FROM faces WHERE person_id = ? "
        "ORDER BY confidence DESC LIMIT 1) WHERE id = ? AND (cover_face_id = ? OR cover_face_id IS NULL)",
        (person_id, person_id, face_id),
    )
    return False


def get_face(cat: Catalogue, face_id: int) -> dict:
    rows = cat.query("SELECT * FROM faces WHERE id = ?", (face_id,))
    if not rows:
        raise NotFound(f"no face with id {face_id} (see 'photosense people show PERSON')")
    return rows[0]


def history(cat: Catalogue, limit: int = 50) -> list[dict]:
    return cat.query(
        "SELECT id, at, kind, summary, undone_at FROM changes ORDER BY id DESC LIMIT ?", (limit,)
    )


def undo(cat: Catalogue) -> str:
    """Revert the latest change not yet undone."""
    rows = cat.query("SELECT * FROM changes WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1")
    if not rows:
        raise NothingToUndo("nothing to undo")
    change = rows[0]
    if change["kind"] == "reindex":
        raise NothingToUndo("the last change is a reindex: the corrections before it "
                            "were carried into the new faces and cannot be undone")
    u = json.loads(change["undo"])
    with cat.transaction():
        kind = change["kind"]
        if kind == "rename":
            cat.conn.execute("UPDATE people SET name = ?, named = ? WHERE id = ?",
                             (u["name"], u["named"], u["person"]))
        elif kind in ("hide", "unhide"):
            cat.conn.execute("UPDATE people SET hidden = ? WHERE id = ?", (u["hidden"], u["person"]))
        elif kind == "merge":
            for s in u["sources"]:
                _restore_person(cat, s["person"])
                for chunk in chunks(s["faces"], 500):
                    cat.conn.execute(
                        f"UPDATE faces SET person_id = ? WHERE id IN ({','.join('?' * len(chunk))})",
                        (s["person"]["id"], *chunk))
            cat.conn.execute("UPDATE people SET cover_face_id = ? WHERE id = ?",
                             (u["target_cover"], u["target"]))
            for sg in u["suggestions"]:
                cat.conn.execute(
                    "INSERT OR IGNORE INTO suggestions VALUES (?, ?, ?, ?, ?)",
                    (sg["person_a"], sg["person_b"], sg["score"], sg["source"], sg["created_at"]))
        elif kind in ("move", "unassign"):
            if u["removed"]:
                _restore_person(cat, u["from_row"])
            current = cat.scalar("SELECT person_id FROM faces WHERE id = ?", (u["face"],))
            cat.conn.execute("UPDATE faces SET person_id = ? WHERE id = ?", (u["from"], u["face"]))
            if u["from_row"]:
                cat.conn.execute("UPDATE people SET cover_face_id = ? WHERE id = ?",
                                 (u["from_row"]["cover_face_id"], u["from"]))
            if current is not None:
                _tidy_after_face_left(cat, current, u["face"])
        else:  # pragma: no cover - a newer photosense wrote this change
            raise PhotosenseError(f"cannot undo a change of kind {kind!r}")
        cat.conn.execute("UPDATE changes SET undone_at = ? WHERE id = ?", (now(), change["id"]))
    return f"undid: {change['summary']}"


def _restore_person(cat: Catalogue, row: dict) -> None:
    cols = [c for c in row if c != "cover_face_id"]
    cat.conn.execute(
        f"INSERT INTO people({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [row[c] for c in cols],
    )
    cat.conn.execute("UPDATE people SET cover_face_id = ? WHERE id = ?",
                     (row["cover_face_id"], row["id"]))


# -- suggestions ---------------------------------------------------------------------


def find_suggestions(cat: Catalogue, engine: Engine, faces_per_person: int = 3) -> int:
    """Search the engine with a few faces of each person at 80 %; record cross-person matches.

    Costs one SearchFaces per face searched; returns the number of calls made.
    """
    people = cat.query("SELECT id FROM people")
    usage = Usage()
    for p in people:
        faces = cat.query(
            "SELECT engine_face_id FROM faces WHERE person_id = ? ORDER BY confidence DESC LIMIT ?",
            (p["id"], faces_per_person))
        for f in faces:
            matches = engine.search_faces(f["engine_face_id"], SUGGEST_THRESHOLD, usage)
            owners = cat.people_of_engine_faces([m.face_id for m in matches])
            with cat.transaction():
                for m in matches:
                    other = owners.get(m.face_id)
                    if other is not None and other != p["id"]:
                        cat.add_suggestion(p["id"], other, m.similarity, "search")
    with cat.transaction():
        cat.log_calls(None, engine.name, usage)
    return len(usage.calls)


def suggestions(cat: Catalogue, limit: int = 50) -> list[dict]:
    return cat.query(
        """
        SELECT s.person_a, a.name AS name_a, s.person_b, b.name AS name_b, s.score, s.source
        FROM suggestions s JOIN people a ON a.id = s.person_a JOIN people b ON b.id = s.person_b
        WHERE a.hidden = 0 AND b.hidden = 0
        ORDER BY s.score DESC, s.person_a, s.person_b LIMIT ?
        """,
        (limit,),
    )



def face_crops(cat: Catalogue, person: dict, on_error=lambda path, reason: None):
    """(face, crop) for each face of a person, cropped from the photo as displayed."""
    from photosense_cli import images
    from photosense_cli.errors import BadImage

    faces = cat.query(
        "SELECT f.*, (SELECT min(path) FROM locations WHERE photo_id = f.photo_id) AS path "
        "FROM faces f WHERE f.person_id = ? ORDER BY f.photo_id, f.id", (person["id"],))
    by_photo: dict[str, list[dict]] = defaultdict(list)
    for f in faces:
        by_photo[f["path"]].append(f)
    out = []
    for path, photo_faces in by_photo.items():
        try:
            with open(path, "rb") as fh:
                img, _, _ = images.decode_upright(fh.read())
        except OSError as e:
            on_error(path, f"cannot read: {e.strerror or e}")
            continue
        except BadImage as e:
            on_error(path, e.reason)
            continue
        for f in photo_faces:
            box = (f["left"], f["top"], f["width"], f["height"])
            out.append((f, images.face_crop(img, box)))
    return out
