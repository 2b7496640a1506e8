"""Every --json and --format jsonl output validates against its schema in docs/json/.

The library covers the edge cases scripts meet: unnamed and named people, a hidden
one, photos with and without an EXIF date, a missing photo, a known failure, an
undone change, a suggestion, and an empty library.
"""

import json
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from tests.conftest import BOX, BOX2, TEXT_BOX, Cli, photo

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "json"


def valid(name: str, data) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator,
                        format_checker=jsonschema.FormatChecker())


@pytest.fixture
def lived_in(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    dated = photo(pics / "dated.png", faces=[(0, BOX), (1, BOX2)], texts=[(0, TEXT_BOX)])
    exif = Image.Exif()
    exif[0x0132] = "2019:07:14 10:30:00"
    Image.open(dated).save(pics / "dated.jpg", exif=exif)
    dated.unlink()
    photo(pics / "undated.jpg", faces=[(0, BOX)], size=(600, 400))
    gone = photo(pics / "gone.jpg", faces=[(2, BOX)], size=(700, 500))
    (pics / "bad.jpg").write_text("not an image")
    first = cli.import_(pics, code=1)
    gone.unlink()
    again = cli.import_(pics)
    people = cli.json("people", "--all")
    ann = next(p["id"] for p in people if p["faces"] == 2)
    cli("people", "rename", ann, "Ann")
    cli("people", "hide", next(p["id"] for p in people if p["id"] != ann))
    cli("undo")
    fake.similar[(0, 1)] = 85.0
    cli("people", "suggest", "--search")
    return {"pics": pics, "ann": ann, "imports": [first, again]}


def test_every_json_output_matches_its_schema(cli, lived_in):
    for summary in lived_in["imports"]:
        valid("import", summary)
    valid("status", cli.json("status"))
    valid("people", cli.json("people", "--all"))
    valid("people", cli.json("people", "list", "--hidden"))
    valid("people-show", cli.json("people", "show", "Ann"))
    valid("people-show", cli.json("people", "show", "Ann", "--missing"))
    valid("search", cli.json("search"))
    valid("search", cli.json("search", "--missing"))
    valid("search", cli.json("search", "whiteboard"))
    valid("search-count", cli.json("search", "whiteboard", "--count"))
    valid("search-saved", cli.json("search", "save", "ann", "-p", "Ann", "--from", "2019",
                                   "--no-text"))
    valid("search-saved", cli.json("search", "save", "boards", "whiteboard", "--only",
                                   "--any-person", "Ann", "--path", lived_in["pics"]))
    valid("search-saved", cli.json("search", "show", "ann"))
    valid("search-list", cli.json("search", "list"))
    valid("search", cli.json("search", "run", "ann", "--new"))
    valid("search", cli.json("search", "run", "ann", "--new", code=1))
    valid("search-count", cli.json("search", "run", "boards", "--count", code=None))
    valid("show", cli.json("show", lived_in["pics"] / "dated.jpg"))
    valid("show", cli.json("show", lived_in["pics"] / "undated.jpg"))
    valid("history", cli.json("history"))
    valid("suggest", cli.json("people", "suggest"))
    valid("suggest-faces", cli.json("people", "suggest", "--faces"))
    valid("people-split", cli.json("people", "split", "Ann", "--json"))
    valid("repair", cli.json("repair"))
    valid("xmp-write", cli.json("xmp", "write", "--include-unnamed"))
    valid("forget", cli.json("forget", "--missing", "--yes"))
    valid("people-forget", cli.json("people", "forget", "Ann", "--yes", "--never-again"))
    valid("people-suppressed", cli.json("people", "suppressed"))
    valid("status", cli.json("status"))


def test_jsonl_is_one_valid_record_a_line(cli, lived_in):
    for args, name in [(("people",), "people"), (("search", "--missing"), "search"),
                       (("history",), "history")]:
        lines = cli(*args, "--format", "jsonl").stdout.splitlines()
        assert lines
        valid(name, [json.loads(line) for line in lines])


def test_dates_say_where_they_came_from(cli, lived_in):
    hits = {Path(h["path"]).name: h for h in cli.json("search")}
    assert hits["dated.jpg"]["taken_at"] == "2019-07-14T10:30:00"
    assert hits["dated.jpg"]["taken_at_source"] == "exif"
    assert hits["undated.jpg"]["taken_at_source"] == "file"
    assert hits["undated.jpg"]["taken_at"][19:] != ""  # the file's time carries its offset


def test_an_empty_library_answers_in_the_same_shapes(fake, tmp_path):
    cli = Cli(tmp_path / "empty.db")
    (tmp_path / "nothing").mkdir()
    valid("import", cli.import_(tmp_path / "nothing"))
    valid("status", cli.json("status"))
    valid("people", cli.json("people", "--all"))
    valid("search", cli.json("search", code=1))
    valid("search-list", cli.json("search", "list", code=1))
    valid("history", cli.json("history"))
    valid("suggest", cli.json("people", "suggest"))


def test_review_files_match_their_schemas(cli, lived_in, tmp_path):
    out = tmp_path / "review.jsonl"
    cli("people", "review", "--export", out, "--all", "--sheets", tmp_path / "sheets")
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines
    for line in lines:
        valid("review-export", line)
        valid("review-apply", line)  # an exported line reads back as it is
    lines[0]["name"] = "Zoe"
    valid("review-apply", lines[0])
    out.write_text("".join(json.dumps(x) + "\n" for x in lines))
    valid("review-applied", cli.json("people", "review", "--apply", out))
    out.write_text('{"id": 99999}\n')
    bad = cli.json("people", "review", "--apply", out, code=2)
    valid("review-applied", bad)
    assert bad["applied"] is False and bad["problem_count"] == 1
