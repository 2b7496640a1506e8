"""Text found as typed: words anywhere in the photo, OR, -word, phrases within a line,
parts of words after whole words, and FTS syntax taken literally."""

import json
import sqlite3

import pytest

from photosense_cli import search
from photosense_cli.cli import app
from photosense_cli.errors import PhotosenseError
from photosense_cli.records import MARK_END, MARK_START
from tests.conftest import TEXT_BOX, photo
from tests.test_search import _lines_catalogue, names

PHOTOS = {
    1: ["RUE DU LOUVRE", "MAIRIE DU 1ER ARRONDISSEMENT"],  # the street sign: two lines
    2: ["LOUVRE MAIRIE"],  # both words on one line: ranked first
    3: ["Grand", "Hotel de Ville"],  # the phrase split over two lines
    4: ["GRAND HOTEL", "closed on mondays"],
    5: ["Motel Paradise"],
    6: ["INV-0012345", "RE16TGK"],
    7: ["Palais du Louvre, aile Richelieu"],
    8: ['say "hi" AND NEAR(x) col:umn ^start *'],
}


@pytest.fixture
def cat(tmp_path):
    c = _lines_catalogue(tmp_path / "lib.db", [PHOTOS[i] for i in sorted(PHOTOS)])
    yield c
    c.close()


def found(cat, text, **kw):
    return [h.id for h in search.search(cat, text, **kw)]


def test_the_words_of_a_query_may_be_on_different_lines(cat):
    assert found(cat, "louvre mairie") == [2, 1]  # sharing a line ranks first
    assert found(cat, "mairie louvre") == [2, 1]
    assert found(cat, "rue arrondissement") == [1]
    hit = search.search(cat, "louvre mairie")[1]
    assert hit.text == ["RUE DU LOUVRE", "MAIRIE DU 1ER ARRONDISSEMENT"]  # what matched
    assert found(cat, "louvre nothere") == []


def test_words_sharing_a_line_outrank_a_shorter_text(tmp_path):
    c = _lines_catalogue(tmp_path / "lib.db", [
        ["louvre", "mairie"],  # bm25 alone ranks this short text first
        ["la mairie de paris et le musee du louvre sont ouverts tous les jours sauf mardi"],
    ])
    try:
        assert found(c, "louvre mairie") == [2, 1]
        assert found(c, "louvre") == [1, 2]  # one word: bm25, the short line first
    finally:
        c.close()


def test_phrases_keep_their_words_in_order_within_one_line(cat):
    assert found(cat, '"grand hotel"') == [4]  # not 3, whose two words are two lines
    assert sorted(found(cat, "grand hotel")) == [3, 4]  # as words: anywhere
    assert found(cat, '"hotel grand"') == []
    assert found(cat, '"du louvre"') == [7, 1]
    assert found(cat, '"grand hot') == [4]  # an open quote: the phrase to the end


def test_or_and_not(cat):
    assert sorted(found(cat, "motel OR hotel")) == [3, 4, 5]
    assert sorted(found(cat, '"grand hotel" OR motel')) == [4, 5]
    assert sorted(found(cat, "hotel -closed")) == [3]
    assert sorted(found(cat, 'hotel -"closed on"')) == [3]
    assert sorted(found(cat, "hotel", not_text=["mondays"])) == [3]
    assert sorted(found(cat, "louvre -mairie")) == [7]
    assert sorted(found(cat, "-louvre -hotel -motel")) == [6, 8]  # only what to leave out
    assert sorted(found(cat, '"OR" OR paradise')) == [5]  # the word "or" quoted: none has it
    assert found(cat, "OR") == []  # alone, OR is a word to find


def test_parts_of_words_come_after_whole_words_and_prefixes(cat):
    assert found(cat, "ouvr") == [7, 2, 1]  # LOUVRE: inside the token only
    assert found(cat, "louv") == [2, 1, 7]  # a prefix: the word path, bm25 (short lines first)
    assert found(cat, "RE16") == [6]
    assert found(cat, "1234") == [6]  # INV-0012345
    assert found(cat, "inv-0012") == [6]
    assert found(cat, "otel") == [5, 4, 3]  # Motel, Hotel: parts, newest first
    assert sorted(found(cat, "hotel")) == [3, 4]  # Motel does not hold "hotel"
    assert found(cat, "ot") == []  # two letters: a prefix only, no part search
    hit = search.search(cat, "ouvr")[0]  # the token that holds the part is marked
    assert hit.marked == [f"Palais du {MARK_START}Louvre{MARK_END}, aile Richelieu"]


def test_fts_syntax_is_taken_literally(cat):
    for query in ['"hi"', "AND", "NEAR(x)", "col:umn", "^start", "*", '"', "(", ")", "-", "--",
                  '""', "NOT", "umn:", "a\u0000b", "x" * 5000, "OR OR OR", "- - -"]:
        try:
            search.search(cat, query)  # never a SQLite error
        except PhotosenseError:
            pass  # an empty query is a usage error, not a crash
    assert found(cat, "NEAR(x)") == [8]
    assert found(cat, "col:umn") == [8]
    assert found(cat, '"hi" AND') == [8]


def test_counts_match_the_listing(cat):
    for text in ("louvre mairie", "ouvr", "hotel -closed", "motel OR hotel", '"grand hotel"',
                 "-louvre -hotel -motel"):
        query = search.search_filter(text, limit=None)
        assert cat.search_count(query, lines=None)[0] == len(cat.search(query)), text


def test_the_photo_text_follows_lines_deleted_and_photos_forgotten(cat):
    with cat.transaction():
        cat.conn.execute("DELETE FROM text_lines WHERE text = 'LOUVRE MAIRIE'")
        cat.conn.execute("DELETE FROM photos WHERE id = 7")
    assert found(cat, "louvre") == [1]
    assert found(cat, "ouvr") == [1]
    for index in ("photo_text_fts", "text_words_tri"):
        cat.conn.execute(f"INSERT INTO {index}({index}) VALUES ('integrity-check')")
    assert cat.conn.execute("SELECT count(*) FROM photo_text").fetchone()[0] == len(PHOTOS) - 2


def test_an_older_library_gets_the_photo_text_from_its_lines(tmp_path):
    """Migration 16 builds photo_text from the lines a library already holds."""
    from photosense_cli.catalogue import Catalogue

    path = tmp_path / "old.db"
    c = _lines_catalogue(path, [["RUE DU LOUVRE", "MAIRIE"]])
    c.close()
    conn = sqlite3.connect(path)
    with conn:  # as a schema-15 library left it: no photo text yet
        for trigger in ("text_lines_photo_ai", "text_lines_photo_ad", "text_lines_photo_au",
                        "photo_text_ai", "photo_text_ad", "text_words_ai", "text_words_ad"):
            conn.execute(f"DROP TRIGGER {trigger}")
        for table in ("photo_text_vocab", "photo_text_fts", "text_words_tri", "text_words",
                      "photo_text"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP INDEX photos_day")  # migration 17's
        for table in ("face_files", "suppression_faces", "suppression_templates",
                      "forgotten_faces"):  # migration 18's
            conn.execute(f"DROP TABLE {table}")
        conn.execute("ALTER TABLE photos DROP COLUMN protection")
        conn.execute("DROP INDEX faces_with_descriptor")
        conn.execute("DROP INDEX locations_live")  # migration 19's
        for table in ("face_rejections", "face_suggestions"):  # migration 20's
            conn.execute(f"DROP TABLE {table}")
        conn.execute("ALTER TABLE people DROP COLUMN born")
        conn.execute("DROP TABLE user_vectors")  # migration 21's
        conn.execute("DROP TABLE users_to_sync")  # migration 22's, and its triggers
        for trigger in ("ai", "ad", "au_new", "au_old"):
            conn.execute(f"DROP TRIGGER faces_users_{trigger}")
        conn.execute("PRAGMA user_version = 15")
    conn.close()
    reopened = Catalogue(path)
    try:
        assert found(reopened, "louvre mairie") == [1]
    finally:
        reopened.close()


def test_through_the_cli(cli, fake, tmp_path):
    fake.texts[0] = ["RUE DU LOUVRE", "MAIRIE"]
    fake.texts[1] = ["LOUVRE closed"]
    pics = tmp_path / "pics"
    photo(pics / "sign.jpg", texts=[(0, TEXT_BOX)])
    photo(pics / "poster.jpg", texts=[(1, TEXT_BOX)])
    cli.json("import", pics, "--engine", "fake", "--workers", "1")
    assert names(cli.json("search", "louvre mairie")) == ["sign.jpg"]
    assert names(cli.json("search", "louvre", "mairie")) == ["sign.jpg"]  # as typed in a shell
    cli("search", "save", "two", "louvre", "mairie")
    assert cli.json("search", "show", "two")["query"]["text"] == "louvre mairie"
    assert names(cli.json("search", "louvre", "--not-text", "closed")) == ["sign.jpg"]
    def after_dashes(*words):  # -- ends the options: --library goes before it
        r = cli.runner.invoke(app, ["search", "--library", str(cli.library), "--json", "--",
                                    *words], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    assert names(after_dashes("-closed")) == ["sign.jpg"]  # a -word after --
    assert names(after_dashes("louvre -closed")) == ["sign.jpg"]
    assert after_dashes("-closed")[0]["text"] == []
    assert cli("search", "ouvr", "--count").stdout.strip() == "2"
    out = cli("search", "ouvr mairie").stdout
    assert "sign.jpg" in out and "poster.jpg" not in out
    cli("search", "save", "open", "louvre", "--not-text", "closed")
    shown = cli.json("search", "show", "open")
    assert shown["query"]["text"] == 'louvre -"closed"'
    assert names(cli.json("search", "run", "open")) == ["sign.jpg"]
    r = cli("search", "louvre", "--no-text", code=2)
    assert "--no-text contradicts" in r.stderr
    r = cli("search", "--not-text", "!!", code=2)
    assert "no word to leave out" in r.stderr


def test_show_and_text_give_the_lines_in_reading_order(cli, fake, tmp_path):
    from photosense_cli.geometry import reading_order
    from photosense_cli.records import Box, TextLine

    def line(text, left, top):
        return TextLine(text, 99.0, Box(left, top, 0.2, 0.05))

    sign = [line("RIGHT", 0.6, 0.101), line("SECOND ROW", 0.1, 0.3), line("LEFT", 0.1, 0.1)]
    assert [t.text for t in reading_order(sign)] == ["LEFT", "RIGHT", "SECOND ROW"]
    fake.texts[0] = ["first \x1b[31m line", "second line"]
    pics = tmp_path / "pics"
    photo(pics / "board.jpg", texts=[(0, TEXT_BOX)])
    photo(pics / "plain.jpg")
    cli.json("import", pics, "--engine", "fake")
    r = cli("text", pics / "board.jpg")
    assert r.stdout == "first \\x1b[31m line\nsecond line\n"  # escaped, never sent raw
    assert cli.json("text", pics / "board.jpg")["text"] == ["first \x1b[31m line",
                                                            "second line"]
    assert cli("text", pics / "plain.jpg", code=1).stdout == ""
    from tests.test_json import valid

    valid("text", cli.json("text", pics / "board.jpg"))
    assert [t["text"] for t in cli.json("show", pics / "board.jpg")["text"]] == [
        "first \x1b[31m line", "second line"]


@pytest.mark.parametrize("text", [
    "louvre mairie", "louvre", "ouvr", "1234", "RE16", "hotel -closed", "motel OR hotel",
    '"grand hotel"', '"du louvre"', "grand hotel", "otel", "du", "hi AND", "nothing here"])
def test_a_few_peoples_photos_are_matched_in_python_as_the_index_matches(cat, text):
    """With a --person in few photos the text is matched in Python (textquery.matches):
    the photos it keeps are the ones the index finds, in every case of the syntax."""
    f = search.search_filter(text, limit=None)
    by_index = {h.id for h in cat.search(f)}
    filters, params = cat._filters(f)
    in_python = {pid for pid, *_ in cat._search_photos_of_people(f, filters, params)[0]}
    assert in_python == by_index


def test_search_by_person_and_text_through_the_cli(cli, fake, tmp_path, monkeypatch):
    from tests.conftest import BOX

    fake.texts[0] = ["RUE DU LOUVRE", "MAIRIE"]
    fake.texts[1] = ["Palais du Louvre"]
    pics = tmp_path / "pics"
    photo(pics / "sign.jpg", faces=[(0, BOX)], texts=[(0, TEXT_BOX)])
    photo(pics / "palais.jpg", faces=[(0, BOX)], texts=[(1, TEXT_BOX)])
    photo(pics / "nobody.jpg", texts=[(0, TEXT_BOX)])
    cli.json("import", pics, "--engine", "fake", "--workers", "1")
    ann = cli.json("show", pics / "sign.jpg")["faces"][0]["person_id"]
    assert names(cli.json("search", "louvre mairie", "--person", ann)) == ["sign.jpg"]
    assert sorted(names(cli.json("search", "ouvr", "--person", ann))) == ["palais.jpg",
                                                                        "sign.jpg"]
    assert cli("search", "louvre", "--person", ann, "--count").stdout.strip() == "2"
    from photosense_cli.catalogue.text import TextRows

    runs = []
    matching = TextRows._search_photos_of_people

    def counted(self, *args):
        runs.append(1)
        return matching(self, *args)

    monkeypatch.setattr(TextRows, "_search_photos_of_people", counted)
    cut = cli("search", "louvre", "--person", ann, "--limit", "1")
    assert "1 of 2 shown" in cut.stderr and len(runs) == 1  # matched once, counted from it
    assert cli("search", "louvre", "--person", ann, "--not-text", "palais",
               "--count").stdout.strip() == "1"


def test_each_rule_through_the_cli(cli, fake, tmp_path):
    fake.texts[0] = ["GRAND HOTEL", "RE16TGK"]
    fake.texts[1] = ["Grand", "Hotel de Ville"]
    fake.texts[2] = ['say "hi" NEAR(x) col:umn', "Motel Paradise"]
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", texts=[(0, TEXT_BOX)])
    photo(pics / "b.jpg", texts=[(1, TEXT_BOX)])
    photo(pics / "c.jpg", texts=[(2, TEXT_BOX)])
    cli.json("import", pics, "--engine", "fake", "--workers", "1")

    def found(*args, code=0):
        r = cli("search", *args, "--json", code=code)
        return sorted(names(json.loads(r.stdout))) if r.stdout.strip() else []

    assert found('"grand hotel"') == ["a.jpg"]  # a phrase: one line
    assert found("grand hotel") == ["a.jpg", "b.jpg"]  # words: anywhere
    assert found("motel OR ville") == ["b.jpg", "c.jpg"]
    assert found("RE16") == ["a.jpg"]  # inside a longer token
    assert found("16", code=1) == []  # two characters: a prefix only
    assert found("NEAR(x)") == ["c.jpg"] and found("col:umn") == ["c.jpg"]
    assert found('"hi"') == ["c.jpg"]
    assert found("hotel", "--not-text", "ville") == ["a.jpg"]
    assert found("-", code=1) == []  # a lone dash is text to find (no line holds it)
