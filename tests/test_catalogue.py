"""The catalogue's own methods, without the CLI (datasette's test_internals pattern): the
split of the catalogue into row families is held to these."""

import sqlite3

import pytest

from photosense_cli.catalogue import Catalogue, chunks, import_lock, open_existing
from photosense_cli.engines.base import DetectedFace, TextLine
from photosense_cli.errors import LibraryBusy, PhotosenseError
from photosense_cli.records import Box, Hidden


@pytest.fixture
def cat(tmp_path):
    c = Catalogue(tmp_path / "lib.db")
    yield c
    c.close()


def add_photo(cat, sha="a" * 64, path="/p/a.jpg", faces=1) -> tuple[int, list[int], int]:
    with cat.transaction():
        pid = cat.insert_photo({"sha256": sha, "size": 10, "width": 640, "height": 480,
                                "format": "JPEG", "taken_at": "2020-01-02T03:04:05",
                                "taken_at_source": "exif", "engine": "fake"})
        cat.record_location(pid, path, 10, 1)
        person = cat.create_person()
        face_ids = [cat.insert_face(pid, person, DetectedFace(f"f{sha[:4]}{i}",
                                                              Box(0.1 * i, 0.1, 0.1, 0.1), 99.0))
                    for i in range(faces)]
        cat.insert_text_lines(pid, [TextLine("Palais du Louvre", 95.0, Box(0, 0, 1, 0.1))])
    return pid, face_ids, person


def test_a_new_file_is_a_library_with_meta_and_0600(cat):
    assert cat.library_id and cat.get_meta("created_at")
    assert (cat.path.stat().st_mode & 0o777) == 0o600
    assert cat.counts()["photos"] == 0


def test_photos_paths_faces_people_and_text_round_trip(cat):
    pid, faces, person = add_photo(cat, faces=2)
    [photo] = cat.photos([pid])
    assert photo.paths == ["/p/a.jpg"] and photo.taken_at == "2020-01-02T03:04:05"
    assert cat.photo_id_at("/p/a.jpg") == pid and cat.photo_ids_under("/p") == [pid]
    assert [f.id for f in cat.faces_of_photo(pid)] == faces
    assert cat.person(person).hidden is Hidden.NO
    [listed] = cat.list_people()  # the counts kept by triggers
    assert (listed.id, listed.faces, listed.photos) == (person, 2, 1)
    assert [line.text for line in cat.lines_of([pid])[pid]] == ["Palais du Louvre"]
    details = cat.photo_details(pid)
    assert details.photo.id == pid and len(details.faces) == 2


def test_search_finds_words_and_prefixes(cat):
    from photosense_cli import search

    pid, _, _ = add_photo(cat)
    for text in ("louvre", "LOUV", "palais"):
        hits = cat.search(search.search_filter(text))
        assert [h.id for h in hits] == [pid], text
    assert cat.search(search.search_filter("eiffel")) == []
    assert cat.search_count(search.search_filter("louvre")) == (1, True)


def test_gone_paths_make_a_photo_missing_and_forget_erases_it(cat):
    pid, _, person = add_photo(cat)
    with cat.transaction():
        cat.mark_gone(["/p/a.jpg"])
    assert cat.missing_photo_ids() == [pid]
    with cat.transaction():
        assert cat.forget_photos([pid]) == 1  # the person had no other face
    assert cat.photos([pid]) == [] and not cat.person_exists(person)
    assert "a" * 64 in cat.forgotten_hashes()


def test_people_rows_names_hides_and_history(cat):
    _, _, person = add_photo(cat)
    with cat.transaction():
        cat.set_name(person, "Ann", True)
        cat.set_hidden(person, Hidden.BY_PHOTOSENSE)
        cat.log_change("rename", "renamed", {"person": person})
    p = cat.person(person)
    assert (p.name, p.named, p.hidden) == ("Ann", True, Hidden.BY_PHOTOSENSE)
    assert [q.id for q in cat.people_named("ann")] == [person]
    change, undo = cat.last_change()
    assert change.kind == "rename" and undo == {"person": person}


def test_runs_and_the_call_log(cat):
    from photosense_cli.engines.base import Usage

    run_id, _ = cat.start_run("import")
    usage = Usage()
    usage.calls.append(("IndexFaces", 0.1, None))
    with cat.transaction():
        cat.log_calls(run_id, "fake", usage)
    cat.finish_run(run_id, "done", {"cost_usd": 0.0})
    assert cat.call_counts() == {"IndexFaces": 1}
    assert cat.last_run()["status"] == "done"


def test_repair_rebuilds_and_backup_copies(cat, tmp_path):
    add_photo(cat)
    assert cat.repair()["damage"] == []
    copy = cat.backup(tmp_path / "copy.db")
    other = open_existing(copy)
    assert other.counts()["photos"] == 1
    other.close()


def test_the_import_lock_refuses_a_second_holder(cat):
    with import_lock(cat.path):
        with pytest.raises(LibraryBusy):
            with import_lock(cat.path):
                pass


def test_someone_elses_database_is_refused_and_untouched(tmp_path):
    other = tmp_path / "notes.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (x)").connection.commit()
    before = other.read_bytes()
    with pytest.raises(PhotosenseError, match="not a photosense library"):
        Catalogue(other)
    assert other.read_bytes() == before


def test_chunks_cut_a_list_in_batches():
    assert list(chunks(list(range(5)), 2)) == [[0, 1], [2, 3], [4]]
