"""search, show, status and forget through the CLI."""

import csv
import io
import json
import os

import pytest
from PIL import Image

from photosense_cli.textquery import parse
from tests.conftest import BOX, BOX2, TEXT_BOX, photo


def dated(path, when, **kw):
    p = photo(path.with_suffix(".png"), **kw)
    exif = Image.Exif()
    exif[0x0132] = when
    Image.open(p).save(path, exif=exif, quality=95)
    p.unlink()
    return path


@pytest.fixture
def shelf(cli, fake, tmp_path):
    fake.texts[3] = ["Weekly WHITEBOARD review", "Café de la Gare"]
    pics = tmp_path / "pics"
    dated(pics / "2019" / "board.jpg", "2019:03:01 09:00:00", faces=[(0, BOX)], texts=[(0, TEXT_BOX)])
    dated(pics / "2020" / "team.jpg", "2020:06:15 12:00:00", faces=[(0, BOX), (1, BOX2)],
          texts=[(3, TEXT_BOX)])
    dated(pics / "2021" / "sign.jpg", "2021:01:02 08:00:00", faces=[(1, BOX)], texts=[(1, TEXT_BOX)])
    dated(pics / "2021" / "louvre.jpg", "2021:08:09 17:00:00", texts=[(2, TEXT_BOX)])
    cli.json("import", pics, "--engine", "fake", "--workers", "1")  # one writer order: by path
    ann = cli.json("show", pics / "2019" / "board.jpg")["faces"][0]["person_id"]
    cli("people", "rename", ann, "Ann")
    return pics


def names(results):
    return [os.path.basename(r["path"]) for r in results]


def test_text_search_is_ranked_case_and_accent_insensitive_with_prefixes(cli, shelf):
    # bm25: the shorter line that holds the word ranks first
    assert names(cli.json("search", "whiteboard")) == ["team.jpg", "board.jpg"]
    assert names(cli.json("search", "CAFE")) == ["team.jpg", "board.jpg"]
    assert names(cli.json("search", "louv")) == ["louvre.jpg"]
    assert names(cli.json("search", "palais louvre")) == ["louvre.jpg"]
    hit = cli.json("search", "gare")[0]
    assert hit["text"] == ["Café de la Gare"]
    assert set(hit) >= {"id", "path", "taken_at", "people", "text"}


@pytest.mark.parametrize("query", ['"', 'whiteboard"', "AND", "OR NOT", "*", "-", "a - b",
                                   "(", "white)board", "NEAR(x y)", "col:val", "'", "😀", "^",
                                   "whiteboard -", "(whiteboard*", '"""', "\\", "%", "_"])
def test_hostile_text_searches_for_what_it_says_and_never_raises(cli, shelf, query):
    r = cli("search", query, "--json", code=None)  # an exception would propagate: no catching
    hits = json.loads(r.stdout)
    assert r.stderr == "" and r.exit_code == (0 if hits else 1)
    if "whiteboard" in query:
        assert "board.jpg" in r.stdout


def test_the_text_query_quotes_every_term():
    assert parse('white" OR board*').fts() == '("white"* OR "board"*)'
    assert parse('"grand hotel').fts() == '("grand hotel"*)'  # a quote left open
    assert parse("white OR board* NEAR(x)").fts() == '("white"* OR "board"*) AND ("near x"*)'
    assert parse("😀 !!") is None


def test_emoji_text_is_found_by_substring(cli, fake, tmp_path):
    fake.texts[3] = ["Party 🎉 tonight"]
    photo(tmp_path / "pics" / "p.jpg", texts=[(3, TEXT_BOX)])
    cli.import_(tmp_path / "pics")
    assert names(cli.json("search", "🎉")) == ["p.jpg"]


def test_people_dates_and_paths_combine(cli, shelf):
    assert names(cli.json("search", "--person", "Ann")) == ["team.jpg", "board.jpg"]
    other = [p for p in cli.json("people", "--all") if p["name"] != "Ann"][0]["id"]
    both = cli.json("search", "-p", "Ann", "-p", str(other))
    assert names(both) == ["team.jpg"] and sorted(both[0]["people"])[0] == "Ann"
    assert names(cli.json("search", "--from", "2021")) == ["louvre.jpg", "sign.jpg"]
    assert names(cli.json("search", "--to", "2019-03")) == ["board.jpg"]
    assert names(cli.json("search", "--from", "2020-06-15", "--to", "2020-06-15")) == ["team.jpg"]
    assert names(cli.json("search", "whiteboard", "-p", "Ann", "--from", "2020")) == ["team.jpg"]
    assert names(cli.json("search", "--path", "*/2021/*")) == ["louvre.jpg", "sign.jpg"]
    assert len(cli.json("search", "--limit", "1")) == 1


def test_output_formats_and_exit_codes(cli, shelf, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    paths = cli("search", "whiteboard", "--paths").stdout.splitlines()
    assert [os.path.basename(p) for p in paths] == ["team.jpg", "board.jpg"]
    rows = list(csv.DictReader(io.StringIO(cli("search", "whiteboard", "--csv").stdout)))
    assert rows[1]["text"] == "Quarterly whiteboard: ship the café menu"
    table = cli("search", "whiteboard").stdout
    assert "board.jpg" in table
    assert cli("search", "zebra", "--json", code=1).stdout.strip() == "[]"
    assert cli("search", "zebra", "--paths", code=1).stdout == ""
    assert "not a date" in cli("search", "--from", "last week", code=2).stderr
    assert "no person called" in cli("search", "-p", "Nobody", code=2).stderr


def test_show_a_photo_by_path_or_id(cli, shelf):
    d = cli.json("show", shelf / "2020" / "team.jpg")
    assert len(d["faces"]) == 2 and {f["person"] for f in d["faces"]} >= {"Ann"}
    assert [t["text"] for t in d["text"]] == ["Weekly WHITEBOARD review", "Café de la Gare"]
    assert d["taken_at"] == "2020-06-15T12:00:00" and d["taken_at_source"] == "exif"
    assert cli.json("show", str(d["id"]))["paths"] == d["paths"]
    assert "not in the library" in cli("show", shelf / "nope.jpg", code=2).stderr


def test_status_counts_everything(cli, shelf):
    s = cli.json("status")
    assert (s["photos"], s["faces"], s["people"], s["named_people"]) == (4, 4, 2, 1)
    assert s["text_lines"] == 5 and s["engine"] == "fake"
    assert s["calls"] == {"DetectText": 4, "IndexFaces": 4, "SearchFaces": 4}
    assert s["last_import"]["status"] == "ok" and s["last_import"]["command"] == "import"
    table = cli("status", env={"COLUMNS": "200"}).stdout
    assert f"library         {cli.library}" in table
    assert "people          2 (1 named)" in table


def test_forget_erases_photos_faces_and_lonely_people_here_and_in_the_engine(cli, fake, shelf):
    before = len(fake.faces)
    r = cli.json("forget", shelf / "2021", "--yes")
    assert r == {"photos": 2, "faces": 1, "people_removed": 0, "kept_photos": 0,
                 "paths_forgotten": []}
    assert len(fake.faces) == before - 1
    assert names(cli.json("search", "--path", "*/2021/*", code=1)) == []
    r = cli.json("forget", shelf / "2020" / "team.jpg", "--yes")
    assert r["people_removed"] == 1  # the second person's last face went with it

    s = cli.import_(shelf)  # forgotten photos stay forgotten

    assert s["files"]["forgotten"] == 3 and s["files"]["new"] == 0
    assert "no photo of the library" in cli("forget", shelf / "nowhere", code=2).stderr


def test_ranking_is_bounded_but_filters_still_reach_older_lines(cli, shelf, monkeypatch):
    from photosense_cli import search

    monkeypatch.setattr(search, "RANKED_LINES", 1)  # as if "whiteboard" were on every photo
    # the shelf imports in path order with one writer: 2020/team.jpg holds the newest lines
    assert names(cli.json("search", "whiteboard")) == ["team.jpg"]
    assert names(cli.json("search", "whiteboard", "--to", "2019")) == ["board.jpg"]
    assert names(cli.json("search", "whiteboard", "--from", "2020")) == ["team.jpg"]
    assert len(cli.json("search", "whiteboard", "--limit", "0")) == 2  # all: no bound


def test_highlight_marks_what_the_index_matched():
    from photosense_cli.records import MARK_END, MARK_START
    from photosense_cli.search import fold, highlight

    marked = highlight("Café de la Gare, CAFÉS", [fold("cafe")])
    assert marked == f"{MARK_START}Café{MARK_END} de la Gare, {MARK_START}CAFÉS{MARK_END}"
    assert highlight("Palais du LOUVRE", [fold("louv")]).count(MARK_START) == 1


def test_dates_as_people_write_them():
    import datetime as dt

    from photosense_cli.search import date_range

    now = dt.datetime(2026, 11, 26, 15, 30)
    assert date_range("today", end=False, now=now) == "2026-11-26T00:00:00"
    assert date_range("today", end=True, now=now) == "2026-11-27T00:00:00"
    assert date_range("yesterday", end=False, now=now) == "2026-11-25T00:00:00"
    assert date_range("7d", end=False, now=now) == "2026-11-19T15:30:00"
    assert date_range("2w", end=False, now=now) == "2026-11-12T15:30:00"
    assert date_range("3m", end=False, now=now) == "2026-08-26T15:30:00"
    assert date_range("1y", end=False, now=now) == "2025-11-26T15:30:00"
    assert date_range("2019-02", end=True) == "2019-03-01T00:00:00"
    assert date_range("2020-02-29", end=True) == "2020-03-01T00:00:00"
    assert date_range("2019-07-14T10:30:00", end=False) == "2019-07-14T10:30:00"
    utc = dt.datetime(2019, 7, 14, 8, 30, tzinfo=dt.UTC)
    assert date_range("2019-07-14T08:30:00+00:00", end=False) == (
        utc.astimezone().replace(tzinfo=None).isoformat())


def test_a_cut_listing_says_so_and_paths_can_end_with_nul(cli, shelf):
    r = cli("search", "--limit", "2", "--json")
    assert len(json.loads(r.stdout)) == 2 and r.stderr == "2 of 4 shown; --limit 0 for all\n"
    assert cli("search", "--limit", "0", "--json").stderr == ""
    out = cli("search", "whiteboard", "--paths", "-0").stdout
    assert out.split("\0") == [str(shelf / "2020" / "team.jpg"), str(shelf / "2019" / "board.jpg"), ""]
    ann = cli("people", "show", "Ann", "--paths", "--print0").stdout
    assert sorted(ann.split("\0")[:-1]) == [str(shelf / "2019" / "board.jpg"),
                                            str(shelf / "2020" / "team.jpg")]


def test_piped_tables_never_cut_a_path_and_narrow_ones_keep_ids(cli, shelf, tmp_path,
                                                                monkeypatch):
    from photosense_cli.cli import output

    deep = tmp_path / ("a-very-long-folder-name-" * 4) / "deeper" / "still"
    photo(deep / "far.jpg", faces=[(2, BOX)])
    cli.import_(deep)
    piped = cli("search", "--path", "*far.jpg", env={"COLUMNS": "40"}).stdout
    assert str(deep / "far.jpg") in piped  # not a terminal: the whole path, on one line
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    narrow = cli("people", "show", "Ann", env={"COLUMNS": "20"}).stdout
    ids = [f["id"] for f in cli.json("people", "show", "Ann")["faces"]]
    assert all(f"face: {i}\n" in narrow for i in ids)  # one record a block, ids whole
    assert max(len(line) for line in narrow.splitlines()) <= 20


def _lines_catalogue(path, lines_by_photo):
    """A catalogue holding only text lines (one photo per entry), written as imports do."""
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.records import Box, TextLine

    cat = Catalogue(path)
    with cat.transaction():
        for i, lines in enumerate(lines_by_photo, 1):
            cat.conn.execute(
                "INSERT INTO photos(id, sha256, size, width, height, format, taken_at, "
                "taken_at_source, engine, analysed_at) VALUES (?, ?, 1, 1, 1, 'JPEG', NULL, "
                "NULL, 'fake', '')", (i, f"{i:064x}"))
            cat.conn.execute("INSERT INTO locations(photo_id, path, size, mtime_ns, seen_at) "
                             "VALUES (?, ?, 1, 0, '')", (i, f"/p/{i}.jpg"))
            cat.insert_text_lines(i, [TextLine(t, 99.0, Box(0, 0, 1, 1)) for t in lines])
    return cat


def test_one_word_is_ranked_as_fts5s_bm25_ranks_it(tmp_path):
    """The one-word path scores lines in Python (no doclist scan for the IDF); its order
    is the order of FTS5's bm25() over the same lines, ties by photo id alike."""
    import random

    from photosense_cli import search

    rng = random.Random(3)
    filler = ["alpha", "beta", "delta", "Ünter", "epsilon", "zeta", "eta"]
    photos = []
    for _ in range(60):  # every line holds the word, so both average over the same lines
        lines = []
        for _ in range(rng.randint(1, 2)):
            words = ["Gamma"] * rng.randint(1, 3) + rng.choices(filler, k=rng.randint(0, 9))
            rng.shuffle(words)
            lines.append(" ".join(words))
        photos.append(lines)
    cat = _lines_catalogue(tmp_path / "lib.db", photos)
    one = search.search_filter("gamma", limit=60)
    assert one.word == "gamma"

    fast = cat.search(one)
    reference = [r[0] for r in cat.conn.execute(  # FTS5's own bm25 over the lines
        "WITH lines AS MATERIALIZED (SELECT t.photo_id, bm25(text_lines_fts) AS r FROM "
        "text_lines_fts f JOIN text_lines t ON t.id = f.rowid WHERE text_lines_fts "
        "MATCH '\"gamma\"*') SELECT photo_id FROM lines GROUP BY photo_id "
        "ORDER BY min(r), photo_id")]
    assert [h.id for h in fast] == reference
    assert len(fast) == 60 and len({len(p[0].split()) for p in photos}) > 5


def test_a_word_common_enough_ranks_its_exact_lines_first(tmp_path):
    from photosense_cli import search

    photos = [["sign here"]] * 30 + [["signal lost"]] * 5
    cat = _lines_catalogue(tmp_path / "lib.db", photos)
    query = search.search_filter("sign", limit=50)
    everyone = cat.search(query)  # fewer exact lines than ranked: prefixes count too
    assert len(everyone) == 35

    import dataclasses

    capped = cat.search(dataclasses.replace(query, ranked_lines=20))
    assert len(capped) == 20 and all(h.text == ["sign here"] for h in capped)


def test_a_cut_listing_of_a_very_common_word_says_at_least(cli, shelf, monkeypatch):
    """Counting every photo that holds the commonest word of a big library took seconds:
    the count stops after a few thousand lines and says it is a lower bound."""
    from photosense_cli.catalogue import Catalogue

    real = Catalogue.search_count
    monkeypatch.setattr(Catalogue, "search_count", lambda self, f: real(self, f, lines=2))
    r = cli("search", "whiteboard", "--limit", "1", "--json")
    assert r.stderr == "1 of at least 2 shown; --limit 0 for all\n"


@pytest.fixture
def family(cli, shelf, tmp_path):
    """The shelf and two photos without text: Ann alone, and Ann with a stranger."""
    more = tmp_path / "pics" / "more"
    dated(more / "kid.jpg", "2022:03:01 10:00:00", faces=[(0, BOX)])
    dated(more / "crowd.jpg", "2023:03:01 10:00:00", faces=[(0, BOX), (2, BOX2)])
    cli.json("import", more, "--engine", "fake", "--workers", "1")
    people = {p["name"]: p["id"] for p in cli.json("people", "--all")}
    other = cli.json("show", shelf / "2021" / "sign.jpg")["faces"][0]["person_id"]
    stranger = [f["person_id"] for f in cli.json("show", more / "crowd.jpg")["faces"]
                if f["person_id"] not in (people["Ann"], other)][0]
    return {"other": str(other), "stranger": str(stranger)}


def test_any_not_only_alone_and_unnamed_people(cli, family):
    other, stranger = family["other"], family["stranger"]
    assert names(cli.json("search", "--any-person", "Ann", "--any-person", other)) == [
        "crowd.jpg", "kid.jpg", "sign.jpg", "team.jpg", "board.jpg"]
    assert names(cli.json("search", "-p", "Ann", "--not-person", other)) == [
        "crowd.jpg", "kid.jpg", "board.jpg"]
    assert names(cli.json("search", "--not-person", "Ann", "--not-person", other)) == [
        "louvre.jpg"]
    assert names(cli.json("search", "-p", "Ann", "--only")) == ["kid.jpg", "board.jpg"]
    assert names(cli.json("search", "--any-person", "Ann", "--any-person", other,
                          "--only")) == ["kid.jpg", "sign.jpg", "team.jpg", "board.jpg"]
    assert names(cli.json("search", "--alone")) == ["kid.jpg", "sign.jpg", "board.jpg"]
    assert names(cli.json("search", "--unnamed")) == ["crowd.jpg", "sign.jpg", "team.jpg"]
    # a stranger hidden: no longer someone else, nor someone to name
    cli("people", "hide", stranger)
    assert names(cli.json("search", "-p", "Ann", "--only")) == [
        "crowd.jpg", "kid.jpg", "board.jpg"]
    assert names(cli.json("search", "--unnamed")) == ["sign.jpg", "team.jpg"]
    assert "crowd.jpg" not in names(cli.json("search", "--alone"))  # two faces, hidden or not
    # with text, and the one-word path (ranked in Python) honours every filter
    assert names(cli.json("search", "whiteboard", "-p", "Ann", "--only")) == ["board.jpg"]
    assert names(cli.json("search", "whiteboard", "--not-person", other)) == ["board.jpg"]
    assert names(cli.json("search", "whiteboard", "--unnamed")) == ["team.jpg"]


def test_text_or_no_text_and_a_day_of_any_year(cli, family):
    assert names(cli.json("search", "--no-text")) == ["crowd.jpg", "kid.jpg"]
    assert names(cli.json("search", "--has-text", "-p", "Ann")) == ["team.jpg", "board.jpg"]
    assert names(cli.json("search", "--on", "03-01")) == ["crowd.jpg", "kid.jpg", "board.jpg"]
    assert names(cli.json("search", "--on", "3-1", "--no-text", "--alone")) == ["kid.jpg"]
    assert names(cli.json("search", "whiteboard", "--on", "06-15")) == ["team.jpg"]
    assert cli("search", "--on", "12-25", "--paths", code=1).stdout == ""


def test_on_today_and_leap_days():
    import datetime as dt

    from photosense_cli.search import day_of_year

    assert day_of_year("today", now=dt.date(2024, 2, 29)) == "02-29"
    assert day_of_year("2-29") == "02-29" and day_of_year(" 12-05 ") == "12-05"


@pytest.mark.parametrize("args, says", [
    (["--only"], "--only needs --person or --any-person"),
    (["-p", "Ann", "--not-person", "Ann"], "both asked for and excluded"),
    (["--not-person", "Nobody"], "Nobody"),
    (["--any-person", "Nobody"], "Nobody"),
    (["whiteboard", "--no-text"], "--no-text contradicts"),
    (["--on", "02-30"], "not a day of the year: '02-30'"),
    (["--on", "christmas"], "not a day of the year"),
    (["--on", "13-01"], "not a day of the year"),
])
def test_bad_people_and_day_filters_say_why_in_one_line(cli, family, args, says):
    r = cli("search", *args, "--json", code=2)
    assert r.stdout == ""
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_count_is_every_match_whatever_the_limit(cli, family):
    for args in ([], ["whiteboard"], ["-p", "Ann", "--only"], ["--on", "03-01"], ["--no-text"]):
        listed = cli.json("search", *args, "--limit", "0")
        assert cli("search", *args, "--count", "--limit", "1").stdout.strip() == str(len(listed))
        assert cli.json("search", *args, "--count") == {"count": len(listed)}
    r = cli("search", "zebra", "--count", code=1)
    assert r.stdout.strip() == "0"
    assert "--count prints a number" in cli("search", "--count", "--paths", code=2).stderr


# -- saved searches ------------------------------------------------------------------


def test_a_saved_search_runs_as_the_search_it_was_and_lists_and_shows(cli, family):
    saved = cli.json("search", "save", "ann-only", "-p", "Ann", "--only")
    assert saved["query"]["people"][0]["name"] == "Ann" and saved["query"]["only"] is True
    assert names(cli.json("search", "run", "ann-only")) == names(
        cli.json("search", "-p", "Ann", "--only")) == ["kid.jpg", "board.jpg"]
    cli("search", "save", "boards", "whiteboard", "--on", "06-15")
    assert [s["name"] for s in cli.json("search", "list")] == ["ann-only", "boards"]
    shown = cli("search", "show", "boards").stdout
    assert "photosense search whiteboard --on 06-15" in shown
    assert names(cli.json("search", "run", "boards")) == ["team.jpg"]
    assert cli("search", "run", "boards", "--count").stdout.strip() == "1"
    # every output of search works on a run
    assert [os.path.basename(p) for p in cli("search", "run", "boards", "--paths").stdout
            .splitlines()] == ["team.jpg"]
    cli("search", "delete", "boards")
    r = cli("search", "run", "boards", code=2)
    assert "no saved search called 'boards'" in r.stderr and "search list" in r.stderr


def test_new_prints_each_photo_once_and_the_next_new_photo_alone(cli, family, tmp_path):
    cli("search", "save", "ann", "-p", "Ann")
    first = names(cli.json("search", "run", "ann", "--new"))
    assert sorted(first) == ["board.jpg", "crowd.jpg", "kid.jpg", "team.jpg"]
    r = cli("search", "run", "ann", "--new", "--paths", code=1)  # nothing new: like no match
    assert r.stdout == ""
    assert cli.json("search", "run", "ann", "--new", "--count", code=1) == {"count": 0}
    assert len(cli.json("search", "run", "ann")) == 4  # without --new: everything
    later = tmp_path / "pics" / "later"
    dated(later / "new.jpg", "2024:01:01 10:00:00", faces=[(0, BOX)])
    cli.json("import", later, "--engine", "fake", "--workers", "1")
    assert names(cli.json("search", "run", "ann", "--new")) == ["new.jpg"]
    assert cli.json("search", "show", "ann")["seen"] == 5


def test_new_with_a_limit_prints_the_rest_next_time(cli, family):
    cli("search", "save", "all")
    everything = names(cli.json("search", "--limit", "0"))
    got = []
    for _ in range(3):
        got += names(cli.json("search", "run", "all", "--new", "--limit", "2"))
    assert got == everything  # in order, none twice, none left out
    cli("search", "run", "all", "--new", code=1)


def test_a_new_run_that_fails_while_writing_prints_the_same_photos_next_time(cli, family):
    from photosense_cli.app import open_library

    cli("search", "save", "ann", "-p", "Ann")
    with open_library(cli.library) as lib:
        def broken(found):
            assert found.hits
            raise BrokenPipeError  # the reader went away (or the run was killed) mid-output

        with pytest.raises(BrokenPipeError):
            lib.run_saved("ann", broken, new=True)
        delivered = []
        lib.run_saved("ann", lambda f: delivered.extend(h.id for h in f.hits), new=True)
    assert len(delivered) == 4
    assert cli.json("search", "show", "ann")["seen"] == 4


def test_two_new_runs_at_once_deliver_each_photo_once(cli, family):
    import threading

    from photosense_cli.app import open_library

    cli("search", "save", "ann", "-p", "Ann")
    got: dict[str, list[int]] = {"a": [], "b": []}
    writing, go_on = threading.Event(), threading.Event()

    def slow(found):
        got["a"] += [h.id for h in found.hits]
        writing.set()
        go_on.wait(10)  # a slow reader: the second run starts meanwhile

    def first():
        with open_library(cli.library) as lib:
            lib.run_saved("ann", slow, new=True)

    def second():
        with open_library(cli.library) as lib:
            lib.run_saved("ann", lambda f: got["b"].extend(h.id for h in f.hits), new=True)

    a = threading.Thread(target=first)
    a.start()
    assert writing.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.5)
    assert b.is_alive()  # it waits for the first run's record
    go_on.set()
    a.join(10)
    b.join(10)
    assert len(got["a"]) == 4 and got["b"] == []


def test_saved_searches_follow_renames_merges_and_undo(cli, family):
    other = family["other"]
    cli("search", "save", "not-other", "--not-person", other, "--no-text")
    cli("people", "rename", other, "Carl")
    shown = cli.json("search", "show", "not-other")
    assert shown["query"]["not_people"] == [{"id": int(other), "name": "Carl", "gone": False}]
    stranger = family["stranger"]
    before = names(cli.json("search", "run", "not-other"))
    assert before == ["crowd.jpg", "kid.jpg"]
    cli("people", "merge", stranger, other)  # Carl is the stranger: the search follows
    assert cli.json("search", "show", "not-other")["query"]["not_people"][0]["id"] == int(
        stranger)
    assert names(cli.json("search", "run", "not-other")) == ["kid.jpg"]  # crowd has him
    cli("search", "save", "stranger", "-p", stranger)
    cli("undo")
    assert cli.json("search", "show", "not-other")["query"]["not_people"] == [
        {"id": int(other), "name": "Carl", "gone": False}]
    assert names(cli.json("search", "run", "not-other")) == before
    # a search saved after the merge names its target, which undo leaves in place
    assert cli.json("search", "show", "stranger")["query"]["people"][0]["id"] == int(stranger)


def test_a_search_merged_into_a_contradiction_or_naming_someone_gone_says_so(cli, family):
    other = family["other"]
    cli("search", "save", "ann-not-other", "-p", "Ann", "--not-person", other)
    cli("people", "merge", "Ann", other)
    r = cli("search", "run", "ann-not-other", code=2)
    assert "saved search 'ann-not-other'" in r.stderr and "excluded" in r.stderr
    cli("undo")
    cli("search", "save", "stranger", "-p", family["stranger"])
    faces = cli.json("people", "show", family["stranger"])["faces"]
    for face in faces:
        cli("people", "unassign", face["id"])
    r = cli("search", "run", "stranger", code=2)
    assert "no longer in the library" in r.stderr and "--replace" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_replace_changes_the_query_and_keeps_what_was_printed(cli, family):
    cli("search", "save", "ann", "-p", "Ann")
    cli("search", "run", "ann", "--new")
    r = cli("search", "save", "ann", "-p", "Ann", "--no-text", code=2)
    assert "exists: --replace" in r.stderr
    cli("search", "save", "ann", "-p", "Ann", "--alone", "--replace")
    assert cli.json("search", "show", "ann")["query"]["alone"] is True
    cli("search", "run", "ann", "--new", code=1)  # kid.jpg and board.jpg were printed
    assert names(cli.json("search", "run", "ann")) == ["kid.jpg", "board.jpg"]


def test_a_text_that_names_a_subcommand_is_found_with_find(cli, fake, tmp_path):
    fake.texts[3] = ["shopping list"]
    photo(tmp_path / "pics" / "p.jpg", texts=[(3, TEXT_BOX)])
    cli.import_(tmp_path / "pics")
    assert names(cli.json("search", "find", "list")) == ["p.jpg"]
    assert cli("search", "list", code=1).stdout == ""  # the saved searches: none
    cli("search", "save", "lists", "list")
    assert cli.json("search", "show", "lists")["command"] == "photosense search find list"
    assert names(cli.json("search", "run", "lists")) == ["p.jpg"]


def test_a_relative_path_is_saved_absolute(cli, family, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path / "pics")
    cli("search", "save", "more", "--path", "more")
    monkeypatch.chdir(tmp_path)
    assert cli.json("search", "show", "more")["query"]["path"] == str(tmp_path / "pics" / "more")
    assert names(cli.json("search", "run", "more")) == ["crowd.jpg", "kid.jpg"]


@pytest.mark.parametrize("args, says", [
    (["", "-p", "Ann"], "cannot be empty"),
    (["run"], "is a subcommand of search"),
    (["a\x1b[31mb"], "control or invisible"),
    (["x" * 101], "at most 100 characters"),
    (["ok", "-p", "Nobody"], "Nobody"),
    (["ok", "-p", "An"], "is not a name"),  # exact names only: kept for years
    (["ok", "--on", "02-30"], "not a day of the year"),
    (["ok", "--from", "2020", "--to", "2019"], "later than"),
])
def test_bad_saves_say_why_in_one_line_and_save_nothing(cli, family, args, says):
    r = cli("search", "save", *args, code=2)
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert cli("search", "list", "--json", code=1).stdout.strip() == "[]"


def test_the_words_a_saved_search_line_avoids_are_the_subcommands():
    import typer

    from photosense_cli.cli import app
    from photosense_cli.records import SEARCH_SUBCOMMANDS

    group = typer.main.get_command(app).commands["search"]
    assert set(SEARCH_SUBCOMMANDS) == set(group.commands)


# -- places: positions from EXIF GPS --------------------------------------------------


def placed(path, lat, lon, **kw):
    """A generated photo with EXIF GPS tags (degrees, minutes, seconds and N/S, E/W)."""
    p = photo(path.with_suffix(".png"), **kw)
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)

    def dms(x):
        d, rest = divmod(abs(x) * 3600, 3600)
        return (float(d), float(rest // 60), round(rest % 60, 4))
    gps.update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W",
                4: dms(lon)})
    Image.open(p).convert("RGB").save(path, exif=exif)
    p.unlink()
    return path


@pytest.fixture
def trips(cli, tmp_path):
    pics = tmp_path / "trips"
    placed(pics / "eiffel.jpg", 48.8584, 2.2945, faces=[(0, BOX)])
    placed(pics / "louvre.jpg", 48.8606, 2.3376)  # 3.2 km from the tower
    placed(pics / "sydney.jpg", -33.8568, 151.2153)
    placed(pics / "date-line.jpg", -16.5, 179.9)  # Fiji, beside the antimeridian
    photo(pics / "nowhere.jpg")
    cli.import_(pics)
    return pics


def test_near_a_position_within_a_distance(cli, trips):
    assert sorted(names(cli.json("search", "--near", "48.8584,2.2945", "--within", "1"))) == [
        "eiffel.jpg"]
    assert sorted(names(cli.json("search", "--near", "48.8584,2.2945"))) == [
        "eiffel.jpg", "louvre.jpg"]  # 10 km by default
    assert names(cli.json("search", "--near", "-33.86,151.21")) == ["sydney.jpg"]
    assert names(cli.json("search", "--near=-16.5,-179.95", "--within", "50")) == [
        "date-line.jpg"]  # 16 km across the antimeridian
    assert sorted(names(cli.json("search", "--near", "0,0", "--within", "20038"))) == [
        "date-line.jpg", "eiffel.jpg", "louvre.jpg", "sydney.jpg"]  # never the untagged
    assert names(cli.json("search", "-p", "1", "--near", "48.86,2.29")) == ["eiffel.jpg"]
    assert cli("search", "--near", "48.86,2.29", "--count").stdout.strip() == "2"
    shown = cli.json("show", trips / "sydney.jpg")
    assert (round(shown["latitude"], 4), round(shown["longitude"], 4)) == (-33.8568, 151.2153)
    assert ("in Sydney, New South Wales, Australia, at -33.856800, 151.215300 (GPS)"
            in cli("show", trips / "sydney.jpg").stdout)
    assert cli.json("show", trips / "nowhere.jpg")["latitude"] is None
    cli("search", "save", "paris", "--near", "48.8584,2.2945", "--within", "5")
    assert "--near 48.8584,2.2945 --within 5" in cli.json("search", "show", "paris")["command"]
    assert sorted(names(cli.json("search", "run", "paris"))) == ["eiffel.jpg", "louvre.jpg"]


@pytest.mark.parametrize("args, says", [
    (["--within", "5"], "--within needs --near"),
    (["--near", "91,0"], "a latitude is -90 to 90"),
    (["--near", "1,2,3"], "no place called '1,2,3'"),
    (["--near", "nan,0"], "no place called 'nan,0'"),
    (["--near", "1,2", "--within", "0"], "above 0"),
    (["--near", "1,2", "--within", "-3"], "above 0"),
    (["--near", "1,2", "--within", "30000"], "at most 20,038"),
])
def test_bad_places_say_why_in_one_line(cli, trips, args, says):
    r = cli("search", *args, code=2)
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_repair_reads_the_positions_of_photos_imported_before_they_were_kept(cli, trips):
    import sqlite3

    conn = sqlite3.connect(cli.library)
    with conn:  # as a library of schema 13 left them, after migration 14
        conn.execute("UPDATE photos SET latitude = NULL, longitude = NULL, gps_read = 0")
    conn.close()
    assert cli("search", "--near", "48.86,2.29", "--count", code=1).stdout.strip() == "0"
    (trips / "louvre.jpg").write_bytes(b"not a photo any more")
    r = cli("repair", "--json", code=1)  # one file could not be read: said, and exit 1
    assert json.loads(r.stdout)["positions"] == {"read": 4, "geotagged": 3, "unreadable": 1}
    assert "louvre.jpg: cannot read its position" in r.stderr
    assert names(cli.json("search", "--near", "48.86,2.29")) == ["eiffel.jpg"]
    again = json.loads(cli("repair", "--json", code=1).stdout)  # tried again, each time
    assert again["positions"] == {"read": 0, "geotagged": 0, "unreadable": 1}
    assert "louvre.jpg: cannot read its position: not an image Pillow can read\n" in r.stderr


def test_positions_from_untrusted_tags_are_checked(tmp_path):
    from photosense_cli.gps import gps_of

    def tagged(tags):
        exif = Image.Exif()
        exif.get_ifd(0x8825).update(tags)
        path = tmp_path / "t.jpg"
        Image.new("RGB", (100, 100)).save(path, exif=exif)
        return gps_of(Image.open(path))

    good = {1: "N", 2: (10.0, 30.0, 0.0), 3: "W", 4: (20.0, 15.0, 0.0)}
    assert tagged(good) == (10.5, -20.25)
    assert tagged({**good, 2: (95.0, 0.0, 0.0)}) is None  # no such latitude
    assert tagged({**good, 1: "X"}) is None
    assert tagged({**good, 4: (20.0, 75.0, 0.0)}) is None  # no such minute
    assert tagged({**good, 2: (10.0, 30.0)}) is None
    assert tagged({1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)}) is None  # no fix
    assert tagged({1: "N", 2: (10.0, 30.0, 0.0)}) is None  # no longitude


def test_a_saved_search_shows_hostile_text_literally(cli, family):
    text = "[bold]x[/bold] \x1b[2J\nboard"
    r = cli("search", "save", "odd", text)
    assert "\x1b" not in r.stderr and "\\x1b[2J\\nboard" in r.stderr
    shown = cli("search", "show", "odd").stdout
    assert "\x1b" not in shown and "[bold]x[/bold]" in shown
    assert "\x1b" not in cli("search", "list").stdout
    assert cli.json("search", "show", "odd")["query"]["text"] == text


def test_repair_names_an_unreadable_file_literally(cli, trips):
    import sqlite3

    odd = trips / "odd\x1b[31m\nname.jpg"
    placed(odd, 10.0, 20.0)
    cli.import_(trips)
    conn = sqlite3.connect(cli.library)
    with conn:
        conn.execute("UPDATE photos SET gps_read = 0")
    conn.close()
    odd.write_bytes(b"no longer a photo")
    r = cli("repair", code=1)
    line = [ln for ln in r.stderr.splitlines() if "cannot read its position" in ln]
    assert len(line) == 1 and "odd\\x1b[31m\\nname.jpg" in line[0] and "\x1b" not in r.stderr


def gps_sidecar(path, lat: str, lon: str, element: bool = False):
    """An XMP sidecar with a position, as geotagging tools write one for a RAW file."""
    if element:
        body = (f'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/">'
                f"<exif:GPSLatitude>{lat}</exif:GPSLatitude>"
                f"<exif:GPSLongitude>{lon}</exif:GPSLongitude></rdf:Description>")
    else:
        body = (f'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
                f'exif:GPSLatitude="{lat}" exif:GPSLongitude="{lon}"/>')
    path.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
                    f'"http://www.w3.org/1999/02/22-rdf-syntax-ns#">{body}</rdf:RDF>'
                    "</x:xmpmeta>")


def test_a_position_from_an_xmp_sidecar_when_the_photo_has_none(cli, tmp_path):
    pics = tmp_path / "geo"
    photo(pics / "raw-like.jpg")
    gps_sidecar(pics / "raw-like.xmp", "48,51.504N", "2,17.67E")
    placed(pics / "camera.jpg", -33.8568, 151.2153)
    gps_sidecar(pics / "camera.jpg.xmp", "10,0,0N", "10,0,0E")  # the camera's EXIF wins
    photo(pics / "element.jpg", size=(640, 420))  # other content: not a copy of raw-like
    gps_sidecar(pics / "element.jpg.xmp", "40.5S", "70.25W", element=True)
    cli.import_(pics)
    shown = cli.json("show", pics / "raw-like.jpg")
    assert (round(shown["latitude"], 4), round(shown["longitude"], 4)) == (48.8584, 2.2945)
    assert round(cli.json("show", pics / "camera.jpg")["latitude"], 4) == -33.8568
    shown = cli.json("show", pics / "element.jpg")
    assert (shown["latitude"], shown["longitude"]) == (-40.5, -70.25)
    assert names(cli.json("search", "--near", "48.86,2.29")) == ["raw-like.jpg"]


def test_no_xmp_reads_no_position_from_sidecars(cli, tmp_path):
    pics = tmp_path / "geo"
    photo(pics / "a.jpg")
    gps_sidecar(pics / "a.xmp", "48,51.504N", "2,17.67E")
    cli.import_(pics, extra=["--no-xmp"])
    assert cli.json("show", pics / "a.jpg")["latitude"] is None


@pytest.mark.parametrize("lat, lon", [
    ("91,0N", "2,0E"), ("48,61N", "2,0E"), ("abcN", "2,0E"), ("48.5X", "2,0E"),
    ("nan,0N", "2,0E"), ("inf,0N", "2,0E"), ("-48,0N", "2,0E"), ("48,0,0,0N", "2,0E"),
    ("1" * 1000 + "N", "2,0E"), ("0,0N", "0,0E"), ("48,0N", ""), ("48,0N", "181,0E"),
])
def test_untrusted_xmp_positions_are_no_position(tmp_path, lat, lon):
    from photosense_cli import gps, xmltree

    side = tmp_path / "p.xmp"
    gps_sidecar(side, lat, lon)
    assert gps.position_in(xmltree.parse(side.read_bytes())) is None


def test_repair_reads_a_sidecar_position_too(cli, tmp_path):
    import sqlite3

    pics = tmp_path / "geo"
    photo(pics / "a.jpg")
    gps_sidecar(pics / "a.xmp", "48,51.504N", "2,17.67E")
    cli.import_(pics)
    conn = sqlite3.connect(cli.library)
    with conn:
        conn.execute("UPDATE photos SET latitude = NULL, longitude = NULL, gps_read = 0")
    conn.close()
    assert cli.json("repair")["positions"] == {"read": 1, "geotagged": 1, "unreadable": 0}
    assert round(cli.json("show", pics / "a.jpg")["longitude"], 4) == 2.2945
