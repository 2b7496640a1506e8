"""people commands through the CLI on catalogues built by the fake engine."""


import json

import pytest
from PIL import Image

from tests.conftest import BOX, BOX2, photo


@pytest.fixture
def family(cli, tmp_path):
    """Identity 0 in three photos, 1 in two (one with 0), 2 in one."""
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    photo(pics / "b.jpg", faces=[(0, BOX)], size=(700, 500))
    photo(pics / "c.jpg", faces=[(0, BOX), (1, BOX2)])
    photo(pics / "d.jpg", faces=[(1, BOX)], size=(600, 400))
    photo(pics / "e.jpg", faces=[(2, BOX)])
    cli.import_(pics)
    people = {p["faces"]: p for p in cli.json("people", "--all")}
    return {"zero": people[3]["id"], "one": people[2]["id"], "two": people[1]["id"], "pics": pics}


def test_people_list_unnamed_first_with_counts_and_filters(cli, family):
    cli("people", "rename", family["one"], "Bea")
    rows = cli.json("people", "--all")
    assert [(r["named"], r["faces"]) for r in rows] == [(False, 3), (False, 1), (True, 2)]
    assert set(rows[0]) >= {"id", "name", "named", "hidden", "photos", "faces"}
    assert [r["name"] for r in cli.json("people", "--named")] == ["Bea"]
    assert len(cli.json("people", "list", "--unnamed", "--all")) == 2
    table = cli("people", "--all").stdout
    assert table.index("Unnamed") < table.index("who's this?") < table.index("Named") < table.index("Bea")
    assert all(r["sample"].startswith(str(family["pics"])) for r in rows)
    assert all(r["sample"] in table for r in rows if not r["named"])  # a photo to look at


def test_people_limit_lists_the_first_in_order_and_says_it_cut(cli, family):
    everyone = cli.json("people", "--all")
    assert len(everyone) == 3
    r = cli("people", "--all", "--limit", "2", "--json")
    assert json.loads(r.stdout) == everyone[:2]
    assert r.stderr == "the first 2 people shown; --limit 0 lists them all\n"
    cli("people", "rename", family["two"], "Cy")  # named people come after the unnamed
    r = cli("people", "list", "--all", "--limit", "3", "--format", "jsonl")
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == \
        [p["id"] for p in cli.json("people", "--all")]
    assert r.stderr == ""  # all three fit: nothing was cut
    assert cli.json("people", "--all", "--limit", "0") == cli.json("people", "--all")


def test_show_lists_photos_and_faces_with_boxes(cli, family):
    d = cli.json("people", "show", family["one"])
    assert d["id"] == family["one"] and d["named"] is False
    assert sorted(p["path"].rsplit("/", 1)[1] for p in d["photos"]) == ["c.jpg", "d.jpg"]
    assert len(d["faces"]) == 2
    b = d["faces"][0]["box"]
    assert set(b) == {"left", "top", "width", "height"} and 0 < b["width"] < 1


def test_names_resolve_case_insensitively_and_ambiguity_lists_candidates(cli, family):
    cli("people", "rename", family["zero"], "Ann Smith")
    cli("people", "rename", family["two"], "Ann Jones")
    assert cli.json("people", "show", "ann smith")["id"] == family["zero"]
    r = cli("people", "show", "Ann", code=2)
    assert "matches several people" in r.stderr
    assert f"{family['zero']} (Ann Smith)" in r.stderr and f"{family['two']} (Ann Jones)" in r.stderr
    assert "no person called 'Zed'" in cli("people", "show", "Zed", code=2).stderr
    assert "no person with id 999" in cli("people", "show", "999", code=2).stderr


def test_merge_moves_faces_removes_sources_and_holds_for_future_imports(cli, family, fake, tmp_path):
    cli("people", "rename", family["zero"], "Ann")
    cli("people", "merge", "Ann", family["one"])
    rows = cli.json("people", "--all")
    assert family["one"] not in [r["id"] for r in rows]
    ann = cli.json("people", "show", "Ann")
    assert len(ann["faces"]) == 5 and len(ann["photos"]) == 4

    s = cli.import_(photo(tmp_path / "new" / "bea-again.jpg", faces=[(1, BOX)], size=(500, 500)))

    assert s["people_created"] == 0
    assert len(cli.json("people", "show", "Ann")["faces"]) == 6


def test_merge_refuses_merging_into_itself(cli, family):
    r = cli("people", "merge", family["zero"], family["zero"], code=2)
    assert "into itself" in r.stderr


def test_unassign_and_move_fix_single_faces(cli, family):
    one = cli.json("people", "show", family["one"])
    face = one["faces"][0]["id"]
    cli("people", "unassign", face)
    assert len(cli.json("people", "show", family["one"])["faces"]) == 1
    newest = max(r["id"] for r in cli.json("people", "--all"))
    assert [f["id"] for f in cli.json("people", "show", newest)["faces"]] == [face]

    cli("people", "move", face, family["two"])
    assert newest not in [r["id"] for r in cli.json("people", "--all")]  # left with no face: gone
    assert face in [f["id"] for f in cli.json("people", "show", family["two"])["faces"]]
    assert "no face with id 999" in cli("people", "move", 999, family["two"], code=2).stderr


@pytest.mark.parametrize("change", ["rename", "hide", "unhide", "merge", "unassign", "move"])
def test_undo_reverts_each_kind_of_change(cli, family, change):
    before = cli.json("people", "--all")
    shows = {r["id"]: cli.json("people", "show", r["id"]) for r in before}
    face = shows[family["one"]]["faces"][0]["id"]
    if change == "unhide":
        cli("people", "hide", family["two"])
        before = cli.json("people", "--hidden")
    args = {"rename": ["people", "rename", family["zero"], "Ann"],
            "hide": ["people", "hide", family["zero"]],
            "unhide": ["people", "unhide", family["two"]],
            "merge": ["people", "merge", family["zero"], family["one"], family["two"]],
            "unassign": ["people", "unassign", face],
            "move": ["people", "move", face, family["zero"]]}[change]
    cli(*args)
    after = cli.json("people", "--hidden") if change == "unhide" else cli.json("people", "--all")
    assert after != before

    r = cli("undo")

    assert "undid" in r.stderr
    restored = cli.json("people", "--hidden") if change == "unhide" else cli.json("people", "--all")
    assert restored == before
    if change != "unhide":
        assert {r["id"]: cli.json("people", "show", r["id"]) for r in restored} == shows
    hist = cli.json("history")
    assert hist[0]["kind"] == change and hist[0]["undone_at"]


def test_undo_with_nothing_to_undo_is_an_error(cli, family):
    assert "nothing to undo" in cli("undo", code=2).stderr


def test_hidden_people_leave_lists_and_search_results(cli, family):
    cli("people", "rename", family["two"], "Stranger")
    cli("people", "hide", "Stranger")
    assert "Stranger" not in [r["name"] for r in cli.json("people", "--all")]
    assert [r["name"] for r in cli.json("people", "--hidden")] == ["Stranger"]
    hits = cli.json("search", "--path", "*/e.jpg")
    assert hits[0]["people"] == []


def test_suggest_lists_conflicts_and_searches_across_clusters(cli, family, fake, tmp_path):
    assert cli.json("people", "suggest") == []
    fake.similar[(0, 2)] = 85.0  # below 90: clustering kept them apart, a human should look

    pairs = cli.json("people", "suggest", "--search")

    assert len(pairs) == 1
    assert {pairs[0]["a"]["id"], pairs[0]["b"]["id"]} == {family["zero"], family["two"]}
    assert pairs[0]["score"] == 85.0 and pairs[0]["source"] == "search"
    cli("people", "merge", family["zero"], family["two"])
    assert cli.json("people", "suggest") == []


def test_contact_sheet_and_face_crops_come_from_the_upright_photo(cli, fake, tmp_path):
    img = Image.open(photo(tmp_path / "src.png", faces=[(0, (0.1, 0.1, 0.25, 0.3))]))
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / "pics").mkdir()
    img.save(tmp_path / "pics" / "r.jpg", exif=exif, quality=95)
    cli.import_(tmp_path / "pics")
    person = cli.json("people", "--all")[0]["id"]

    cli("people", "show", person, "--sheet", tmp_path / "sheet.png")
    cli("people", "faces", person, "--out", tmp_path / "crops")

    sheet = Image.open(tmp_path / "sheet.png")
    # a title band (24 px), one face, its id and its file's name under it (2 lines of 14)
    assert sheet.size == (168, 24 + 4 + 160 + 2 * 14 + 2 + 4)
    assert sheet.crop((0, 0, 168, 24)).convert("L").getextrema()[0] < 100  # the title
    assert sheet.crop((4, 190, 164, 204)).convert("L").getextrema()[0] < 100  # the face id
    assert sheet.crop((4, 204, 164, 218)).convert("L").getextrema()[0] < 100  # the file
    crops = list((tmp_path / "crops").glob("face-*.jpg"))
    assert len(crops) == 1
    crop = Image.open(crops[0]).convert("RGB")
    assert crop.getpixel((80, 80))[0] > 200 and crop.getpixel((80, 80))[1] < 60  # red face centred


def test_people_commands_on_a_missing_library_say_so(cli):
    r = cli("people", code=2)
    assert "no library at" in r.stderr and "photosense import" in r.stderr


def test_a_face_matched_before_it_was_written_joins_the_person_that_matched_it(tmp_path):
    """The claims rule, driven directly: face B is matched by face A while B's photo is in flight."""
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.clustering import Clusterer
    from photosense_cli.engines.base import DetectedFace, Match
    from photosense_cli.records import Box

    cat = Catalogue(tmp_path / "lib.db")
    box = Box(0.1, 0.1, 0.2, 0.2)
    with cat.transaction():
        photos = [cat.insert_photo({"sha256": s, "size": 1}) for s in "ab"]
        clusterer = Clusterer(cat)
        # A's search saw B in the collection, but B is not in the catalogue yet
        created_a = clusterer.assign(photos[0], DetectedFace("A", box, 99.0), [Match("B", 97.0)])
        # B's search ran before A was indexed: it matched nothing
        created_b = clusterer.assign(photos[1], DetectedFace("B", box, 99.0), [])
    owners = dict(cat.conn.execute("SELECT engine_face_id, person_id FROM faces").fetchall())
    assert (created_a, created_b) == (1, 0)
    assert owners["A"] == owners["B"]


def test_naming_is_fast_and_safe(cli, family, monkeypatch):
    from photosense_cli.cli import people_cmd

    cli("people", "rename", family["zero"], "Ann")
    r = cli("people", "rename", family["one"], "ann", code=2)
    assert r.stderr == (f"photosense: 'Ann' is already person {family['zero']}: if they are one "
                        f"person, merge them (photosense people merge {family['zero']} "
                        f"{family['one']}); to have two people of that name, pass "
                        "--allow-duplicate\n")
    cli("people", "rename", family["one"], "Bea")
    r = cli("people", "merge", "Ann", "Bea", code=2)  # a script: both named, no --force
    assert r.stderr == ("photosense: 'Bea' and 'Ann' both have names; merging keeps 'Ann'. "
                        "Pass --yes if they are one person\n")
    monkeypatch.setattr(people_cmd, "interactive", lambda: True)
    no = cli.runner.invoke(__import__("photosense_cli.cli", fromlist=["app"]).app,
                           ["people", "merge", "Ann", "Bea", "--library", str(cli.library)],
                           input="n\n", catch_exceptions=False)
    assert no.exit_code == 1 and "Merge 'Bea' into 'Ann'?" in no.stderr
    assert len(cli.json("people", "--all")) == 3
    cli("people", "merge", "Ann", "Bea", "--force")
    assert [p["name"] for p in cli.json("people", "--named")] == ["Ann"]
    cli("people", "rename", family["two"], "Ann", "--allow-duplicate")
    assert len(cli.json("people", "--named")) == 2
    assert cli("people", "--unnamed").stderr == ("Everyone has a name. 'photosense people' "
                                                 "lists them.\n")


def test_a_rejected_suggestion_is_never_made_again_until_undone(cli, family, fake):
    fake.similar[(0, 2)] = 85.0
    assert len(cli.json("people", "suggest", "--search")) == 1

    r = cli("people", "suggest", "--reject", family["zero"], family["two"])

    assert "will not be suggested as one person again" in r.stderr
    assert cli.json("people", "suggest") == []
    assert cli.json("people", "suggest", "--search") == []  # searched again: still not
    assert cli.json("history")[0]["kind"] == "reject"
    cli("undo")
    assert len(cli.json("people", "suggest")) == 1


def test_two_faces_of_one_photo_are_never_one_person(cli, fake, tmp_path):
    photo(tmp_path / "a" / "ann.jpg", faces=[(0, BOX)])
    cli.import_(tmp_path / "a")
    ann = cli.json("people", "--all")[0]["id"]
    fake.similar[(0, 1)] = 95.0  # from now on Bea looks like Ann to the engine

    cli.import_(photo(tmp_path / "b" / "both.jpg", faces=[(0, BOX), (1, BOX2)]))

    faces = cli.json("show", tmp_path / "b" / "both.jpg")["faces"]
    persons = {f["person_id"] for f in faces}
    assert len(persons) == 2 and ann in persons  # the surer face (Ann's own, 99) kept Ann
    pairs = cli.json("people", "suggest")
    assert [(p["source"], p["score"]) for p in pairs] == [("same-photo", 95.0)]
    assert {pairs[0]["a"]["id"], pairs[0]["b"]["id"]} == persons


def test_a_face_the_user_took_out_is_never_offered_back_by_the_machine(cli, family, fake,
                                                                         tmp_path):
    """Unassigned from a person, a face stays out: no later import, search for suggestions
    or rebuild puts it back or proposes its new person as the old one."""
    zero, a = family["zero"], family["pics"] / "a.jpg"
    cli("people", "unassign", cli.json("show", a)["faces"][0]["id"])
    alone = cli.json("show", a)["faces"][0]["person_id"]
    assert alone != zero

    # A new photo of the same identity matches both: it joins the person with more faces,
    # and the conflict it sees (it also looks like the face taken out) is not suggested.
    cli.import_(photo(tmp_path / "new" / "f.jpg", faces=[(0, BOX)], size=(650, 500)))
    assert cli.json("show", tmp_path / "new" / "f.jpg")["faces"][0]["person_id"] == zero
    assert cli.json("people", "suggest") == []
    assert cli.json("people", "suggest", "--search") == []  # the engine says 99: still not

    cli.json("reindex", "--engine", "fake")  # a rebuild pairs faces by box: kept apart too
    assert cli.json("show", a)["faces"][0]["person_id"] == alone
    assert len(cli.json("people", "show", zero)["faces"]) == 3
    assert cli.json("people", "suggest", "--search") == []


def test_undoing_an_unassign_lifts_its_rejection(cli, family):
    face = cli.json("people", "show", family["zero"])["faces"][0]["id"]
    cli("people", "unassign", face)
    cli("undo")
    assert face in [f["id"] for f in cli.json("people", "show", family["zero"])["faces"]]
    cli("people", "unassign", face)
    alone = max(p["id"] for p in cli.json("people", "--all"))
    assert cli.json("people", "suggest", "--search") == []
    cli("undo")  # the face is back, and nothing is left rejected with a person now gone
    assert alone not in [p["id"] for p in cli.json("people", "--all")]


def test_a_moved_face_stays_where_the_user_put_it(cli, family, fake, tmp_path):
    c = family["pics"] / "c.jpg"
    moved = next(f for f in cli.json("show", c)["faces"] if f["person_id"] == family["one"])
    cli("people", "move", moved["id"], family["two"])

    cli.import_(photo(tmp_path / "new" / "g.jpg", faces=[(1, BOX)], size=(660, 500)))
    cli.json("reindex", "--engine", "fake")
    cli.import_(family["pics"])

    assert sorted(f["person_id"] for f in cli.json("show", c)["faces"]) == sorted(
        [family["zero"], family["two"]])  # reanalysed, the face is still where it was put


def test_people_seen_once_wait_behind_all_and_a_line_says_so(cli, family):
    """Unnamed one-face people are left out by default; named ones never are."""
    listed = cli.json("people")
    assert [p["faces"] for p in listed] == [3, 2]  # "two" has a single face
    r = cli("people")
    assert r.stderr == ("1 unnamed person with a single face not shown: "
                        "'photosense people --all' lists them.\n")
    two = next(p for p in cli.json("people", "--all") if p["id"] == family["two"])
    assert two["sample"] not in r.stdout and all(p["sample"] in r.stdout for p in listed)
    assert [p["id"] for p in cli.json("people", "--all")][-1] == family["two"]
    cli("people", "rename", family["two"], "Cy")
    assert "Cy" in [p["name"] for p in cli.json("people")]  # named: always listed
    assert cli("people").stderr == ""


def test_a_tiny_face_in_the_background_starts_hidden_until_seen_again(cli, fake, tmp_path):
    subject, crowd = (0.3, 0.2, 0.3, 0.4), (0.85, 0.1, 0.03, 0.035)
    photo(tmp_path / "a" / "a.jpg", faces=[(0, subject), (5, crowd)], size=(1600, 1200))
    s = cli.import_(tmp_path / "a")
    assert (s["people_created"], s["people_hidden"]) == (2, 1)
    r = cli("import", tmp_path / "a", "--engine", "fake")  # nothing new: nothing said
    assert "background" not in r.stderr

    assert [p["faces"] for p in cli.json("people", "--all")] == [1]  # the subject only
    hidden = cli.json("people", "--hidden")
    assert [(p["faces"], p["hidden"]) for p in hidden] == [(1, True)]
    subject_id = cli.json("people", "--all")[0]["id"]
    hits = cli.json("search", "--person", str(subject_id))
    assert [h["people_ids"] for h in hits] == [[subject_id]]  # not shown in results either

    # Seen again, closer: the face joins them, and they show again by themselves.
    photo(tmp_path / "b" / "b.jpg", faces=[(5, (0.2, 0.2, 0.3, 0.4))], size=(900, 700))
    cli.import_(tmp_path / "b")
    assert cli.json("people", "--hidden") == []
    assert hidden[0]["id"] in [p["id"] for p in cli.json("people")]


def test_the_users_own_hide_is_never_lifted_by_a_new_face(cli, family, tmp_path):
    cli("people", "hide", family["one"])
    cli.import_(photo(tmp_path / "new" / "h.jpg", faces=[(1, BOX)], size=(620, 470)))
    assert [p["id"] for p in cli.json("people", "--hidden")] == [family["one"]]


def test_a_background_face_named_in_its_metadata_or_by_the_user_shows(cli, fake, tmp_path):
    photo(tmp_path / "a" / "a.jpg", faces=[(0, (0.3, 0.2, 0.3, 0.4)), (5, (0.85, 0.1, 0.03,
                                                                          0.035))],
          size=(1600, 1200))
    cli.import_(tmp_path / "a")
    tiny = cli.json("people", "--hidden")[0]["id"]
    cli("people", "rename", tiny, "Dee")
    assert cli.json("people", "--hidden") == []
    assert "Dee" in [p["name"] for p in cli.json("people")]


def test_undoing_an_unhide_of_a_background_face_gives_it_back_to_photosense(cli, fake, tmp_path):
    """Hidden by photosense, unhidden by the user, the unhide undone: it is photosense's
    hide again, which the face's next sighting lifts (it came back as the user's own)."""
    crowd = (0.85, 0.1, 0.03, 0.035)
    photo(tmp_path / "a" / "a.jpg", faces=[(0, (0.3, 0.2, 0.3, 0.4)), (5, crowd)],
          size=(1600, 1200))
    cli.import_(tmp_path / "a")
    tiny = cli.json("people", "--hidden")[0]["id"]
    cli("people", "unhide", tiny)
    cli("undo")
    assert [p["id"] for p in cli.json("people", "--hidden")] == [tiny]

    photo(tmp_path / "b" / "b.jpg", faces=[(5, (0.2, 0.2, 0.3, 0.4))], size=(900, 700))
    cli.import_(tmp_path / "b")
    assert cli.json("people", "--hidden") == []
    assert tiny in [p["id"] for p in cli.json("people")]
