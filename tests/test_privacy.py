"""Biometric privacy: `people forget`, suppression templates, folder rules, the inventory."""

from __future__ import annotations

import json
import sqlite3

import boto3
import pytest
from botocore.stub import Stubber

from photosense_cli.engines.rekognition import RekognitionEngine
from tests.conftest import BOX, BOX2, photo


def rows(library, sql, params=()):
    conn = sqlite3.connect(library)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def person_of(cli, name):
    return next(p for p in cli.json("people", "--all") if p["name"] == name)


@pytest.fixture
def ada(cli, tmp_path):
    """Ada (identity 0) in three photos, two of them with Bob (identity 1); named, with
    history, suggestions and a sidecar photosense wrote beside one photo."""
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX), (1, BOX2)])
    photo(pics / "b.jpg", faces=[(0, BOX), (1, BOX2)], size=(600, 480))
    photo(pics / "c.jpg", faces=[(0, BOX)], size=(620, 480))
    cli.import_(pics)
    people = cli.json("people", "--all")
    ada_id = next(p["id"] for p in people if p["faces"] == 3)
    bob_id = next(p["id"] for p in people if p["faces"] == 2)
    cli("people", "rename", ada_id, "Ada")
    cli("people", "rename", bob_id, "Bob")
    cli("people", "hide", "Ada")
    cli("people", "unhide", "Ada")
    sidecar = pics / "a.jpg.xmp"
    sidecar.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmp:Rating="4"/></rdf:RDF></x:xmpmeta>')
    cli("xmp", "write", pics, "--keywords")
    assert "Ada" in sidecar.read_text() and "Bob" in sidecar.read_text()
    return pics, ada_id, bob_id


def test_forget_erases_the_person_everywhere_and_counts_again(cli, fake, ada, library):
    pics, ada_id, bob_id = ada
    ada_faces = {r[0] for r in rows(library, "SELECT engine_face_id FROM faces "
                                    "WHERE person_id = ?", (ada_id,))}
    assert len(ada_faces) == 3 and ada_faces <= set(fake.faces)

    r = cli.json("people", "forget", "Ada", "--yes")

    assert r["complete"] and r["left"] == [] and r["faces"] == 3 and r["photos"] == 3
    assert r["engine"] == {"name": "fake", "faces_deleted": 3, "faces_left": 0,
                           "kept_for_template": 0}
    assert r["catalogue"]["faces"] == 3 and r["catalogue"]["faces_left"] == 0
    assert r["catalogue"]["history"] >= 3  # rename, hide, unhide: sealed
    # the engine: none of hers left, Bob's untouched
    assert not ada_faces & set(fake.faces) and len(fake.faces) == 2
    # the catalogue: no face, no person, no name anywhere in it
    assert rows(library, "SELECT count(*) FROM people WHERE id = ?", (ada_id,)) == [(0,)]
    assert rows(library, "SELECT count(*) FROM faces") == [(2,)]
    assert rows(library, "SELECT count(*) FROM changes WHERE summary LIKE '%Ada%' "
                "OR undo LIKE '%Ada%'") == [(0,)]
    assert rows(library, "SELECT count(*) FROM forgotten_faces") == [(3,)]
    # the photos stay, with Bob
    assert len(cli.json("search", "--person", "Bob")) == 2
    assert rows(library, "SELECT count(*) FROM photos") == [(3,)]
    # the sidecar: her region and keywords gone, Bob's and the rating kept
    text = (pics / "a.jpg.xmp").read_text()
    assert "Ada" not in text and "Bob" in text and 'xmp:Rating="4"' in text
    assert r["sidecars_rewritten"] == [str(pics / f"{n}.jpg.xmp") for n in "abc"]
    # forgetting cannot be undone, nor can what came before it be reached
    assert "cannot be undone" in cli("undo", code=2).stderr


def test_forgotten_faces_never_come_back(cli, fake, ada, library, tmp_path):
    pics, ada_id, bob_id = ada
    cli("people", "forget", "Ada", "--yes")
    calls_before = fake.calls["SearchFaces"]
    # the same content at another path, and a rebuild of the whole library on the engine
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "c2.jpg").write_bytes((pics / "c.jpg").read_bytes())
    cli.import_(tmp_path / "copy")
    s = cli.json("reindex", "--engine", "fake", "--yes")
    assert s["privacy"]["faces_forgotten"] == 3
    assert fake.calls["SearchFaces"] - calls_before == 2  # Bob's only: hers never searched
    assert rows(library, "SELECT count(*) FROM faces") == [(2,)]
    assert [p["name"] for p in cli.json("people", "--all")] == ["Bob"]
    assert len(fake.faces) == 2  # the rebuilt faces of hers were deleted at once


def test_a_photo_forget_undone_after_the_person_was_forgotten_keeps_them_out(
        cli, fake, ada, library):
    pics, ada_id, bob_id = ada
    cli("forget", pics / "c.jpg", "--yes")  # its faces' boxes and people go to history
    cli("undo")  # kept, with her, until the next import meets the photo again
    assert "Ada" in json.dumps(rows(library, "SELECT faces FROM restorable"))
    cli("people", "forget", "Ada", "--yes")
    r = cli.import_(pics)
    assert r["files"]["new"] == 1 and r["privacy"]["faces_forgotten"] == 1
    assert "Ada" not in json.dumps(rows(library, "SELECT faces FROM restorable"))
    assert rows(library, "SELECT count(*) FROM faces WHERE photo_id NOT IN "
                "(SELECT photo_id FROM faces WHERE person_id = ?)", (bob_id,)) == [(0,)]


def test_never_again_drops_a_new_matching_face_without_storing_it(cli, fake, ada, library,
                                                                   tmp_path):
    pics, ada_id, bob_id = ada
    r = cli.json("people", "forget", "Ada", "--yes", "--never-again")
    assert r["engine"]["kept_for_template"] == 3 and r["suppression_template"] == 1
    templates = cli.json("people", "suppressed")
    assert templates == [{"id": 1, "label": None, "engine": "fake", "faces": 3,
                          "kept_in_engine": 3, "created_at": templates[0]["created_at"]}]
    in_engine = set(fake.faces)
    photo(tmp_path / "new" / "d.jpg", faces=[(0, BOX), (2, BOX2)])
    s = cli.import_(tmp_path / "new")
    assert s["privacy"]["faces_suppressed"] == 1 and s["faces"] == 1
    assert set(fake.faces) - in_engine == {fid for (fid,) in rows(
        library, "SELECT engine_face_id FROM faces WHERE photo_id = "
        "(SELECT max(id) FROM photos)")}  # only the other face stayed in the engine
    assert rows(library, "SELECT count(*) FROM faces") == [(3,)]
    # dropped, the template's faces leave the engine and her faces are kept again
    kept = {fid for (fid,) in rows(library, "SELECT engine_face_id FROM suppression_faces")}
    assert len(kept) == 3 and kept <= set(fake.faces)
    assert "3 faces deleted" in cli("people", "suppressed", "--remove", "1").stderr
    assert not kept & set(fake.faces) and len(fake.faces) == 3  # Bob's two, the new one
    photo(tmp_path / "new2" / "e.jpg", faces=[(0, BOX)])
    assert cli.import_(tmp_path / "new2")["privacy"]["faces_suppressed"] == 0
    assert cli.json("people", "suppressed") == []


def test_forget_asks_on_a_terminal_and_refuses_in_a_script(cli, ada, monkeypatch):
    r = cli("people", "forget", "Ada", code=2)
    assert "pass --yes" in r.stderr and "3 faces" in r.stderr
    monkeypatch.setattr("photosense_cli.cli.people_cmd.interactive", lambda: True)
    asked = []
    monkeypatch.setattr("photosense_cli.cli.people_cmd.ask",
                        lambda q: asked.append(q) or False)
    cli("people", "forget", "Ada", code=1)
    assert "cannot be undone" in asked[0]
    assert len(cli.json("people", "show", "Ada")["faces"]) == 3


# -- Rekognition, through the Stubber ----------------------------------------------------


@pytest.fixture
def client():
    return boto3.client("rekognition", region_name="eu-west-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def _rekognition_library(tmp_path):
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.engines.base import DetectedFace
    from photosense_cli.records import Box

    cat = Catalogue(tmp_path / "lib.db")
    with cat.transaction():
        cat.set_meta("engine", "rekognition")
        cat.set_meta("collection_id", cat.collection_id())
        person = cat.create_person()
        other = cat.create_person()
        for i, who in enumerate((person, person, other)):
            pid = cat.insert_photo({"sha256": f"{i:064d}", "size": 1, "width": 10,
                                    "height": 10, "format": "JPEG", "taken_at": None,
                                    "taken_at_source": "file", "engine": "rekognition"})
            cat.insert_face(pid, who, DetectedFace(f"face-{i}", Box(0.1, 0.1, 0.2, 0.2), 99))
    return cat, person


def _listed(*ids):
    return {"Faces": [{"FaceId": f, "ExternalImageId": "x"} for f in ids]}


def test_a_delete_that_fails_halfway_is_reported_and_a_rerun_finishes(client, tmp_path):
    from photosense_cli import privacy

    cat, person = _rekognition_library(tmp_path)
    collection = cat.collection_id()
    engine = RekognitionEngine(client, collection)
    listing = {"CollectionId": collection, "MaxResults": 4096}
    with Stubber(client) as stub:
        stub.add_response("list_faces", _listed("face-0", "face-1", "face-2"), listing)
        stub.add_client_error("delete_faces", "InvalidParameterException", "half done",
                              expected_params={"CollectionId": collection,
                                               "FaceIds": ["face-0", "face-1"]})
        stub.add_response("list_faces", _listed("face-1", "face-2"), listing)  # one went
        r = privacy.forget_person(cat, privacy.plan(cat, cat.person(person)), lambda: engine)
        stub.assert_no_pending_responses()
    assert r.engine_deleted == 1 and r.engine_left == 1 and len(r.left) == 1
    assert "1 of their faces are still in the collection" in r.left[0]
    assert "InvalidParameterException" in r.left[0]
    # nothing was erased here: the same command finds the person whole and finishes
    assert cat.person(person) is not None and len(cat.faces_of_person(person)) == 2
    with Stubber(client) as stub:
        stub.add_response("list_faces", _listed("face-1", "face-2"), listing)
        stub.add_response("delete_faces", {"DeletedFaces": ["face-1"]},
                          {"CollectionId": collection, "FaceIds": ["face-1"]})
        stub.add_response("list_faces", _listed("face-2"), listing)
        r = privacy.forget_person(cat, privacy.plan(cat, cat.person(person)), lambda: engine)
        stub.assert_no_pending_responses()
    assert r.left == [] and r.engine_left == 0 and r.catalogue["faces"] == 2
    assert cat.person(person) is None and cat.faces_left(person, ["face-0", "face-1"]) == 0
    assert cat.count_forgotten_faces() == 2
    cat.close()


def test_never_again_on_rekognition_keeps_the_largest_faces_as_the_template(client, tmp_path):
    from photosense_cli import privacy

    cat, person = _rekognition_library(tmp_path)
    collection = cat.collection_id()
    listing = {"CollectionId": collection, "MaxResults": 4096}
    with Stubber(client) as stub:
        # both faces kept for the template: nothing to delete, nothing listed as left
        stub.add_response("list_faces", _listed("face-0", "face-1", "face-2"), listing)
        stub.add_response("list_faces", _listed("face-0", "face-1", "face-2"), listing)
        r = privacy.forget_person(cat, privacy.plan(cat, cat.person(person)),
                                  lambda: RekognitionEngine(client, collection),
                                  never_again=True, label="do not match")
        stub.assert_no_pending_responses()
    assert r.left == [] and r.kept_in_engine == 2
    assert cat.template_face_ids("rekognition") == {"face-0", "face-1"}
    # crash recovery keeps the template's faces: the catalogue knows them
    with Stubber(client) as stub:
        stub.add_response("list_faces", _listed("face-0", "face-1", "face-2", "stray"), listing)
        stub.add_response("delete_faces", {"DeletedFaces": ["stray"]},
                          {"CollectionId": collection, "FaceIds": ["stray"]})
        from photosense_cli.pipeline.runner import delete_unknown_faces

        assert delete_unknown_faces(cat, RekognitionEngine(client, collection)) == 1
    assert [t.label for t in cat.templates()] == ["do not match"]
    cat.close()
