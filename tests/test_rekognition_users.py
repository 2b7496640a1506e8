"""Rekognition's user vectors against botocore's Stubber: every request is checked against
the service model and the exact parameters, in the order the sync sends them."""

import pytest

from photosense_cli import uservectors
from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import Usage
from photosense_cli.engines.rekognition import RekognitionEngine
from photosense_cli.errors import ItemFailed
from tests.conftest import BOX, photo

C = "photosense-lib1"


def uid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-000000000000"


def test_search_users_by_face_id_at_the_threshold(client, stub):
    stub.add_response("search_users", {"UserMatches": [
        {"Similarity": 96.5, "User": {"UserId": "photosense-1-a", "UserStatus": "ACTIVE"}}]},
        {"CollectionId": C, "FaceId": uid(1), "UserMatchThreshold": 90.0, "MaxUsers": 10})
    usage = Usage()
    found = RekognitionEngine(client, C).search_users(uid(1), 90.0, usage)
    assert [(m.user_id, m.similarity) for m in found] == [("photosense-1-a", 96.5)]
    assert usage.operations() == ["SearchUsers"]


def test_associate_sorts_what_the_service_took_refused_and_could_not(client, stub):
    stub.add_response("associate_faces", {
        "AssociatedFaces": [{"FaceId": uid(1)}],
        "UnsuccessfulFaceAssociations": [
            {"FaceId": uid(2), "Reasons": ["LOW_MATCH_CONFIDENCE"], "Confidence": 40.0},
            {"FaceId": uid(3), "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"], "UserId": "x"}],
        "UserStatus": "UPDATING"},
        {"CollectionId": C, "UserId": "u", "FaceIds": [uid(1), uid(2), uid(3)]})
    engine = RekognitionEngine(client, C)
    done = engine.associate_faces("u", [uid(1), uid(2), uid(3)])
    assert (done.done, done.refused, done.failed) == ([uid(1)], [uid(2)], [uid(3)])
    assert engine.take_ledger().operations() == ["AssociateFaces"]  # billed: logged
    assert engine.take_ledger().operations() == []


def test_missing_users_and_existing_ones_are_no_error(client, stub):
    for op, code in (("create_user", "ConflictException"),
                     ("delete_user", "ResourceNotFoundException"),
                     ("disassociate_faces", "ResourceNotFoundException")):
        stub.add_client_error(op, code, "as the service says")
    engine = RekognitionEngine(client, C)
    engine.create_user("u")
    engine.delete_user("u")
    engine.disassociate_faces("u", [uid(1)])
    stub.add_client_error("create_user", "InvalidParameterException", "bad")
    with pytest.raises(ItemFailed):
        engine.create_user("u")


def test_disassociate_in_batches_of_100_and_list_users_pages(client, stub):
    faces = [uid(i) for i in range(150)]
    for batch in (faces[:100], faces[100:]):
        stub.add_response("disassociate_faces", {"DisassociatedFaces": []},
                          {"CollectionId": C, "UserId": "u", "FaceIds": batch})
    stub.add_response("list_users", {"Users": [{"UserId": "a"}], "NextToken": "t"},
                      {"CollectionId": C, "MaxResults": 500})
    stub.add_response("list_users", {"Users": [{"UserId": "b"}]},
                      {"CollectionId": C, "MaxResults": 500, "NextToken": "t"})
    engine = RekognitionEngine(client, C)
    engine.disassociate_faces("u", faces)
    assert list(engine.list_users()) == ["a", "b"]


def test_a_face_a_user_holds_is_taken_out_and_then_deleted(client, stub):
    """The service refuses to delete a face a user holds; left so, a forget would keep it."""
    stub.add_response("delete_faces", {"DeletedFaces": [uid(1)], "UnsuccessfulFaceDeletions": [
        {"FaceId": uid(2), "UserId": "u", "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}]},
        {"CollectionId": C, "FaceIds": [uid(1), uid(2)]})
    stub.add_response("disassociate_faces", {"DisassociatedFaces": [{"FaceId": uid(2)}]},
                      {"CollectionId": C, "UserId": "u", "FaceIds": [uid(2)]})
    stub.add_response("delete_faces", {"DeletedFaces": [uid(2)]},
                      {"CollectionId": C, "FaceIds": [uid(2)]})
    RekognitionEngine(client, C).delete_faces([uid(1), uid(2)])


@pytest.fixture
def two_people(cli, tmp_path):
    """A library the fake built, with Bo (3 faces) and Cy (3 faces), its face ids then
    given Rekognition's form so that the Stubber checks them against the service model."""
    for i in range(3):
        photo(tmp_path / "p" / f"bo{i}.jpg", faces=[(5, BOX)], size=(700 + 10 * i, 500))
        photo(tmp_path / "p" / f"cy{i}.jpg", faces=[(6, BOX)], size=(700 + 10 * i, 520))
    cli.import_(tmp_path / "p")
    cat = Catalogue(cli.library)
    with cat.transaction():
        for n, (face,) in enumerate(cat.conn.execute("SELECT id FROM faces ORDER BY id").fetchall()):
            cat.conn.execute("UPDATE faces SET engine_face_id = ? WHERE id = ?", (uid(n), face))
    by_person = {p: sorted(cat.engine_faces_by_date(p)) for p in cat.people_with_faces(3)}
    yield cat, by_person
    cat.close()


def test_a_sync_fails_between_two_associate_calls_and_the_next_one_finishes(
        client, stub, two_people, monkeypatch):
    """The first sync: ListUsers finds a user no row knows (deleted), each person gets a
    user; the second AssociateFaces fails. The second sync sends those faces again."""
    cat, faces = two_people
    (bo, bo_faces), (cy, cy_faces) = sorted(faces.items())
    monkeypatch.setattr(uservectors, "new_user_id", lambda person: f"user-{person}")
    stub.add_response("list_users", {"Users": [{"UserId": "left-by-a-restore"}]},
                      {"CollectionId": C, "MaxResults": 500})
    stub.add_response("delete_user", {}, {"CollectionId": C, "UserId": "left-by-a-restore"})
    bo_user, cy_user = f"user-{bo}", f"user-{cy}"
    stub.add_response("create_user", {}, {"CollectionId": C, "UserId": bo_user})
    stub.add_response("associate_faces", {"AssociatedFaces": [{"FaceId": f} for f in bo_faces]},
                      {"CollectionId": C, "UserId": bo_user, "FaceIds": bo_faces})
    stub.add_response("create_user", {}, {"CollectionId": C, "UserId": cy_user})
    stub.add_client_error("associate_faces", "InvalidParameterException", "not now",
                          expected_params={"CollectionId": C, "UserId": cy_user,
                                           "FaceIds": cy_faces})
    engine = RekognitionEngine(client, C)
    with pytest.raises(ItemFailed) as failed:
        uservectors.sync(cat, engine)
    rows = cat.user_rows()
    assert "InvalidParameterException" in str(failed.value), failed.value
    assert rows[bo_user].faces == set(bo_faces)
    assert rows[cy_user].faces == set() and rows[cy_user].pending == set(cy_faces)
    logged = cat.call_counts()
    assert logged["AssociateFaces"] == 2 and logged["CreateUser"] == 2  # the failed one too
    # the next sync: both users are there; Cy's faces are sent again, Bo's are not
    stub.add_response("list_users", {"Users": [{"UserId": bo_user}, {"UserId": cy_user}]},
                      {"CollectionId": C, "MaxResults": 500})
    stub.add_response("associate_faces", {"AssociatedFaces": [{"FaceId": f} for f in cy_faces]},
                      {"CollectionId": C, "UserId": cy_user, "FaceIds": cy_faces})
    done = uservectors.sync(cat, engine)
    assert (done.created, done.associated, done.deleted) == (0, 3, 0)
    assert cat.user_rows()[cy_user].faces == set(cy_faces)
    assert done.calls == {"AssociateFaces": 1}


def test_forget_deletes_the_user_then_the_faces(client, stub, two_people):
    """people forget on Rekognition: DeleteUser first (their user vector is biometric
    data too), then the faces are listed, deleted and counted again."""
    from photosense_cli import privacy
    from photosense_cli.records import Person

    cat, faces = two_people
    (bo, bo_faces), _ = sorted(faces.items())
    with cat.transaction():
        cat.put_user_row(uservectors.UserRow("photosense-bo", bo, set(bo_faces)))
    listed = {"Faces": [{"FaceId": f, "ExternalImageId": "x"} for f in bo_faces]}
    stub.add_response("delete_user", {}, {"CollectionId": C, "UserId": "photosense-bo"})
    stub.add_response("list_faces", listed, {"CollectionId": C, "MaxResults": 4096})
    stub.add_response("delete_faces", {"DeletedFaces": bo_faces},
                      {"CollectionId": C, "FaceIds": bo_faces})
    stub.add_response("list_faces", {"Faces": []}, {"CollectionId": C, "MaxResults": 4096})
    person = cat.person(bo)
    assert isinstance(person, Person)
    report = privacy.forget_person(cat, privacy.plan(cat, person),
                                   lambda: RekognitionEngine(client, C))
    assert report.users_deleted == 1 and report.engine_deleted == 3 and not report.left
    assert cat.user_rows() == {}
