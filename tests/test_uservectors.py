"""User vectors (uservectors.py) through the CLI on the fake engine, whose users behave as
Rekognition's do in aggregate: a user's vector is the mean of its faces'."""

import pytest

from photosense_cli.catalogue import Catalogue
from photosense_cli.errors import ItemFailed
from tests.conftest import BOX, photo


def users(fake) -> dict[str, set[str]]:
    return {u: set(faces) for u, faces in fake.users.items()}


def engine_ids(cli, person: int) -> set[str]:
    cat = Catalogue(cli.library)
    try:
        return {r[0] for r in cat.conn.execute(
            "SELECT engine_face_id FROM faces WHERE person_id = ?", (person,))}
    finally:
        cat.close()


def person_named(cli, name: str) -> int:
    return next(p["id"] for p in cli.json("people", "--all") if p["name"] == name)


@pytest.fixture
def ann(cli, fake, tmp_path):
    """Ann in three photos, each under another light: identities 0, 1, 2, which the fake
    scores 88 % alike, below the 90 that clusters. The user says they are one person."""
    for i, j in ((0, 1), (0, 2), (1, 2)):
        fake.similar[(i, j)] = 88.0
    for i in range(3):
        photo(tmp_path / "one" / f"{i}.jpg", faces=[(i, BOX)], size=(640 + 10 * i, 480))
    cli.import_(tmp_path / "one")
    people = cli.json("people", "--all")
    assert len(people) == 3  # single faces at 88: three people
    cli("people", "merge", *[p["id"] for p in people])
    ann = cli.json("people", "--all")[0]["id"]
    cli("people", "rename", ann, "Ann")
    assert fake.users == {}  # made at the next import, not at each correction
    return ann


def test_a_person_gets_a_user_and_a_new_look_joins_them_through_it(cli, fake, ann, tmp_path):
    """A fourth light, 88 % like each photo of Ann: no single face reaches 90, the mean of
    her faces does (91.8), so the face joins her instead of asking."""
    for i in range(3):
        fake.similar[(i, 3)] = 88.0
    before = engine_ids(cli, ann)
    s = cli.import_(photo(tmp_path / "two" / "new.jpg", faces=[(3, BOX)]))
    assert s["user_vectors"] == {"created": 1, "faces_associated": 3,
                                 "faces_disassociated": 0, "deleted": 0, "faces_refused": 0,
                                 "deferred": 0}
    [(user, held)] = users(fake).items()
    assert held == before  # made before the new face was searched
    assert s["faces_by_user"] == 1 and s["people_created"] == 0
    again = photo(tmp_path / "two" / "new2.jpg", faces=[(3, BOX)], size=(650, 490))
    said = cli("import", again, "--engine", "fake").stderr
    assert "1 face placed by its person's user vector" in said
    assert s["calls"].get("SearchUsers") == 1 and "SearchFaces" not in s["calls"]
    assert person_named(cli, "Ann") == ann
    assert len(engine_ids(cli, ann)) == 5
    # a look-alike 85 % like one of her photos stays apart: far from her mean
    fake.similar[(0, 4)] = 85.0
    s = cli.import_(photo(tmp_path / "three" / "sister.jpg", faces=[(4, BOX)]))
    assert s["faces_by_user"] == 0 and s["people_created"] == 1
    assert s["calls"]["SearchUsers"] == 1 and s["calls"]["SearchFaces"] == 1


def test_without_the_user_the_new_look_would_ask_instead(cli, fake, ann, tmp_path, monkeypatch):
    """The same photo with user vectors switched off: it starts its own person."""
    monkeypatch.setattr(type(fake), "user_vectors", False)
    for i in range(3):
        fake.similar[(i, 3)] = 88.0
    s = cli.import_(photo(tmp_path / "two" / "new.jpg", faces=[(3, BOX)]))
    assert s["people_created"] == 1 and s["faces_suggested"] == 1 and fake.users == {}


def test_corrections_reach_the_users_at_the_next_import(cli, fake, ann, tmp_path):
    """Merge, move and undo change rows here; the next import's sync makes the collection
    match, faces leaving their old user before joining another."""
    fake.associate_threshold = 0.0  # the merge is the user's word: the user takes Bo's faces
    for i in range(3):
        photo(tmp_path / "bo" / f"{i}.jpg", faces=[(5, BOX)], size=(700 + 10 * i, 500))
    cli.import_(tmp_path / "bo")
    bo = next(p["id"] for p in cli.json("people", "--all") if p["id"] != ann)
    cli.import_(photo(tmp_path / "x" / "1.jpg", faces=[(6, BOX)]))  # the sync makes two users
    assert sorted(map(len, users(fake).values())) == [3, 3]
    cli("people", "merge", ann, bo)
    cli.import_(photo(tmp_path / "x" / "2.jpg", faces=[(7, BOX)]))
    [(user, held)] = users(fake).items()
    assert held == engine_ids(cli, ann) and len(held) == 6
    cli("undo")  # the merge: two people again, and two users at the next import
    s = cli.import_(photo(tmp_path / "x" / "3.jpg", faces=[(8, BOX)]))
    assert s["user_vectors"]["created"] == 1 and s["user_vectors"]["faces_disassociated"] == 3
    assert sorted(users(fake).values(), key=len) == sorted(
        [engine_ids(cli, ann), engine_ids(cli, bo)], key=len)
    # a face moved to Bo leaves Ann's user. Bo's user refuses a face so unlike him (as
    # AssociateFaces does below its threshold), and the refusal is kept: not sent again
    bo_before = engine_ids(cli, bo)
    fake.associate_threshold = 75.0  # the service's default again
    faces = [f["id"] for f in cli.json("people", "show", ann)["faces"]]
    cli("people", "move", faces[0], bo)
    s = cli.import_(photo(tmp_path / "x" / "4.jpg", faces=[(9, BOX)]))
    assert s["user_vectors"]["faces_disassociated"] == 1
    assert s["user_vectors"]["faces_refused"] == 1
    assert sorted(users(fake).values(), key=len) == [engine_ids(cli, ann), bo_before]
    s = cli.import_(photo(tmp_path / "x" / "5.jpg", faces=[(10, BOX)]))
    assert s["user_vectors"] == {"created": 0, "faces_associated": 0, "faces_disassociated": 0,
                                 "deleted": 0, "faces_refused": 0, "deferred": 0}
    assert "AssociateFaces" not in s["calls"]
    # down to one face, Ann has no user any more
    cli("people", "unassign", faces[1])
    s = cli.import_(photo(tmp_path / "x" / "6.jpg", faces=[(11, BOX)]))
    assert s["user_vectors"]["deleted"] == 1
    assert list(users(fake).values()) == [bo_before]


def test_forgetting_a_person_deletes_their_user_at_once(cli, fake, ann, tmp_path):
    cli.import_(photo(tmp_path / "x" / "1.jpg", faces=[(6, BOX)]))
    assert len(fake.users) == 1
    hers = engine_ids(cli, ann)
    report = cli.json("people", "forget", "Ann", "--yes")
    assert report["engine"]["users_deleted"] == 1 and report["complete"]
    assert fake.users == {}
    assert not hers & set(fake.faces) and len(fake.faces) == 1  # the other photo's face


def test_a_face_a_user_holds_is_taken_out_of_it_when_the_collection_deletes_it(
        cli, fake, ann, tmp_path):
    """Forgetting a photo deletes its face; the fake, as the Rekognition engine does,
    takes it out of Ann's user first (the service refuses to delete a face a user holds)."""
    cli.import_(photo(tmp_path / "x" / "1.jpg", faces=[(6, BOX)]))
    [(user, held)] = users(fake).items()
    cli("forget", tmp_path / "one" / "0.jpg", "--yes")
    assert len(fake.users[user]) == 2 and fake.users[user] < held
    assert not held - fake.users[user] & set(fake.faces)


def test_a_failure_between_associate_calls_is_finished_by_the_next_import(
        cli, fake, tmp_path):
    """Two people to make users for; the second AssociateFaces fails. The photos are still
    imported, the run says what failed, and the next import finishes the users."""
    for i in range(3):
        photo(tmp_path / "two" / f"bo{i}.jpg", faces=[(5, BOX)], size=(700 + 10 * i, 500))
        photo(tmp_path / "two" / f"cy{i}.jpg", faces=[(6, BOX)], size=(700 + 10 * i, 520))
    cli.import_(tmp_path / "two")
    assert fake.users == {}
    fake.users["stranger-left-by-someone"] = set()  # a user no row knows: deleted
    seen = {"AssociateFaces": 0}

    def fail_second(op):
        if op == "AssociateFaces":
            seen[op] += 1
            if seen[op] == 2:
                raise ItemFailed("fake InternalServerError")

    fake.before_call = fail_second
    s = cli.import_(photo(tmp_path / "x" / "1.jpg", faces=[(7, BOX)]), code=1)
    assert s["files"]["new"] == 1 and s["files"]["failed"] == 1
    assert s["errors"][0]["path"] == "(user vectors)"
    assert "stranger-left-by-someone" not in fake.users
    assert sorted(map(len, users(fake).values())) == [0, 3]  # the second user is empty
    cat = Catalogue(cli.library)
    rows = cat.user_rows()
    cat.close()
    for user_id, held in users(fake).items():  # never less than the collection holds
        assert held <= rows[user_id].faces
    fake.before_call = None
    s = cli.import_(photo(tmp_path / "x" / "2.jpg", faces=[(8, BOX)]))
    assert s["user_vectors"]["faces_associated"] == 3 and s["files"]["failed"] == 0
    assert sorted(map(len, users(fake).values())) == [3, 3]


def test_a_reindex_makes_the_users_again_of_the_new_faces(cli, fake, ann, tmp_path):
    cli.import_(photo(tmp_path / "x" / "1.jpg", faces=[(6, BOX)]))
    [old] = fake.users
    s = cli.json("reindex", "--engine", "fake", "--yes")
    assert s["user_vectors"]["created"] == 1
    [(user, held)] = users(fake).items()
    assert user != old and held == engine_ids(cli, ann) and len(held) == 3


def test_an_existing_library_gets_its_users_a_few_at_a_time_most_faces_first(
        cli, fake, tmp_path, monkeypatch):
    """A library that had people before user vectors came: one sync makes at most
    MAX_NEW_USERS, the people with most faces first, and the next imports the others."""
    from photosense_cli import uservectors

    for ident, n in ((0, 2), (1, 4), (2, 3)):
        for k in range(n):
            photo(tmp_path / "old" / f"{ident}-{k}.jpg", faces=[(ident, BOX)],
                  size=(600 + 10 * k + 100 * ident, 480))
    monkeypatch.setattr(fake, "user_vectors", False)  # the release before user vectors
    cli.import_(tmp_path / "old")
    monkeypatch.setattr(fake, "user_vectors", True)
    monkeypatch.setattr(uservectors, "MAX_NEW_USERS", 2)
    by_faces = {p["faces"]: p["id"] for p in cli.json("people", "--all")}
    s = cli.import_(photo(tmp_path / "new" / "a.jpg", faces=[(5, BOX)]))
    assert s["user_vectors"]["created"] == 2 and s["user_vectors"]["deferred"] == 1
    assert sorted(map(len, users(fake).values())) == [3, 4]  # the two with most faces
    assert set().union(*users(fake).values()) == engine_ids(cli, by_faces[4]) | engine_ids(
        cli, by_faces[3])
    s = cli.import_(photo(tmp_path / "new" / "b.jpg", faces=[(6, BOX)], size=(700, 500)))
    assert s["user_vectors"]["created"] == 1 and s["user_vectors"]["deferred"] == 0
    assert sorted(map(len, users(fake).values())) == [2, 3, 4]


def test_a_sync_reads_only_the_people_whose_faces_changed(cli, fake, ann, tmp_path):
    """At 100,000 users, reading every user's faces at each import took 29.5 s: a user
    whose person did not change since the last sync is neither read nor written."""
    import sqlite3
    import time

    cli.import_(photo(tmp_path / "a" / "first.jpg", faces=[(6, BOX)]))  # makes Ann's user

    def state():
        conn = sqlite3.connect(cli.library)
        try:
            return (conn.execute("SELECT at FROM user_vectors").fetchall(),
                    dict(conn.execute("SELECT person_id, n FROM users_to_sync")))
        finally:
            conn.close()

    made, marks = state()
    assert len(made) == 1 and ann not in marks
    time.sleep(1.1)  # `at` is written to the second
    s = cli.import_(photo(tmp_path / "a" / "stranger.jpg", faces=[(7, BOX)], size=(700, 500)))
    assert s["user_vectors"]["faces_associated"] == 0
    assert state()[0] == made  # Ann's row was not rewritten: she was not read
    face = cli.json("people", "show", ann)["faces"][0]["id"]
    cli("people", "unassign", face)
    assert ann in state()[1]  # the correction marked her
    s = cli.import_(photo(tmp_path / "a" / "third.jpg", faces=[(8, BOX)], size=(720, 500)))
    assert s["user_vectors"]["faces_disassociated"] == 1
    at, marks = state()
    assert at != made and ann not in marks
    assert users(fake) == {next(iter(fake.users)): engine_ids(cli, ann)}
