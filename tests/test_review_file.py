"""people review --export / --apply (the file round trip) and people sheet."""

import json
import os
import stat

import pytest
from PIL import Image

from tests.conftest import BOX, BOX2, photo


@pytest.fixture
def crowd(cli, fake, tmp_path):
    """Unnamed: identity 0 in 3 photos, 1 in 2, 2 in 2 (probably 0, at 85 %); named Ada."""
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    photo(pics / "b.jpg", faces=[(0, BOX)], size=(700, 500))
    photo(pics / "c.jpg", faces=[(0, BOX), (1, BOX2)])
    photo(pics / "d.jpg", faces=[(1, BOX)], size=(600, 400))
    photo(pics / "e.jpg", faces=[(2, BOX)])
    photo(pics / "f.jpg", faces=[(2, BOX), (3, BOX2)])
    photo(pics / "g.jpg", faces=[(3, BOX)])
    cli.import_(pics)
    fake.similar[(0, 2)] = 85.0
    cli("people", "suggest", "--search")
    zero, one, two, three = (who(cli, name) for name in ("a.jpg", "d.jpg", "e.jpg", "g.jpg"))
    cli("people", "rename", three, "Ada")
    return {"zero": zero, "one": one, "two": two, "ada": three, "pics": pics}


def who(cli, basename):
    """The person whose photos include `basename` (each identity has one photo alone)."""
    for p in cli.json("people", "--all"):
        photos = cli.json("people", "show", p["id"])["photos"]
        if basename in [ph["path"].rsplit("/", 1)[1] for ph in photos]:
            return p["id"]
    raise AssertionError(basename)


def export(cli, tmp_path, *extra):
    out = tmp_path / "review.jsonl"
    r = cli("people", "review", "--export", out, *extra)
    return out, [json.loads(line) for line in out.read_text().splitlines()], r


def apply(cli, tmp_path, lines, code=0, raw=None):
    f = tmp_path / "filled.jsonl"
    f.write_text(raw if raw is not None else "".join(json.dumps(x) + "\n" for x in lines))
    return cli("people", "review", "--apply", f, code=code)


def test_export_writes_one_private_line_per_queued_person(cli, crowd, tmp_path):
    out, lines, r = export(cli, tmp_path)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600  # it ties names to faces
    # the order of `people --unnamed`: most photos first, then by id
    assert [x["id"] for x in lines] == [crowd["zero"]] + sorted([crowd["one"], crowd["two"]])
    assert [x["id"] for x in lines] == [p["id"] for p in cli.json("people", "--unnamed")]
    first = lines[0]
    assert first["name"] is None and first["faces"] == 3 and first["photos"] == 3
    assert len(first["face_ids"]) == 3 and first["sample"][0].startswith(str(crowd["pics"]))
    label = first["candidates"][0]["label"]
    assert first["candidates"] == [{"id": crowd["two"], "name": None, "label": label,
                                    "faces": 2, "similarity": 85.0, "source": "search"}]
    assert (first["hide"], first["merge_into"], first["not"]) == (False, None, [])
    assert "exported 3 people" in r.stderr


def test_export_to_stdout_and_with_a_sheet_per_person(cli, crowd, tmp_path):
    r = cli("people", "review", "--export", "-", "--person", crowd["one"])
    assert [json.loads(x)["id"] for x in r.stdout.splitlines()] == [crowd["one"]]
    _, lines, _ = export(cli, tmp_path, "--sheets", tmp_path / "sheets")
    for x in lines:
        assert x["sheet"] == str(tmp_path / "sheets" / f"person-{x['id']}.png")
        assert stat.S_IMODE(os.stat(x["sheet"]).st_mode) == 0o600
        assert Image.open(x["sheet"]).width > 100


def test_applying_names_merges_hides_and_nots_is_one_change(cli, crowd, tmp_path):
    _, lines, _ = export(cli, tmp_path)
    by_id = {x["id"]: x for x in lines}
    not_face = by_id[crowd["zero"]]["face_ids"][-1]
    by_id[crowd["zero"]].update(name="Grace", **{"not": [not_face]})
    by_id[crowd["two"]]["name"] = "Grace"  # two lines, one name: one person
    by_id[crowd["one"]]["name"] = "ada"  # an existing name: merged into Ada
    before = cli.json("history")

    r = apply(cli, tmp_path, lines)

    assert "applied" in r.stderr and "'photosense undo' takes it all back" in r.stderr
    grace = cli.json("people", "show", "Grace")
    assert len(grace["faces"]) == 3 + 2 - 1 and not_face not in [f["id"] for f in grace["faces"]]
    assert len(cli.json("people", "show", "Ada")["faces"]) == 2 + 2
    history = cli.json("history")
    assert len(history) == len(before) + 1 and history[0]["kind"] == "review"

    cli("undo")
    assert "Grace" not in [p["name"] for p in cli.json("people", "--all")]
    assert len(cli.json("people", "show", "Ada")["faces"]) == 2
    people = {p["id"]: p for p in cli.json("people", "--all")}
    assert {crowd["zero"], crowd["one"], crowd["two"]} <= set(people)
    assert people[crowd["zero"]]["faces"] == 3


def test_apply_json_reports_what_was_done(cli, crowd, tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps({"id": crowd["one"], "hide": True}) + "\n")
    out = json.loads(cli("people", "review", "--apply", f, "--json").stdout)
    assert out["applied"] is True and out["hidden"] == 1 and out["lines"] == 1
    assert out["problems"] == [] and out["problem_count"] == 0
    assert cli.json("people", "--hidden")[0]["id"] == crowd["one"]


@pytest.mark.parametrize("bad, says", [
    ('{"id": TWO, "name": "X"}\nnot json\n', "line 3: not JSON"),
    ('[1, 2]\n', "line 1: not a JSON object"),
    ('{"id": 9999, "name": "X"}\n', "line 1: no person with id 9999"),
    ('{"id": "1"}\n', "line 1: 'id' must be a person's id"),
    ('{"id": true}\n', "line 1: 'id' must be a person's id"),
    ('{"id": ZERO, "nmae": "X"}\n', "line 1: unknown key 'nmae'"),
    ('{"id": ZERO, "merge_into": 9999}\n', "line 1: no person with id 9999 to merge into"),
    ('{"id": ZERO, "merge_into": ZERO}\n', "merged into itself"),
    ('{"id": ZERO, "merge_into": TWO}\n{"id": TWO, "merge_into": ZERO}\n', "merged into itself"),
    ('{"id": ZERO, "not": [999999]}\n', "face 999999 is not person"),
    ('{"id": ZERO, "not": [ONEFACE]}\n', "(it is person"),
    ('{"id": ZERO, "hide": "yes"}\n', "'hide' must be true or false"),
    ('{"id": ZERO, "name": 7}\n', "'name' must be a string or null"),
    ('{"id": ZERO, "name": "  "}\n', "line 1"),
    ('{"id": ZERO, "name": "A"}\n{"id": ZERO, "name": "B"}\n', "line 2: person ZERO is on line 1"),
    ('{"id": ZERO, "merge_into": TWO, "hide": true}\n', "'merge_into' goes alone"),
    (b'\xff\xfe{"id": 1}\n', "not UTF-8"),
])
def test_a_bad_review_file_changes_nothing_and_says_each_problem(cli, crowd, tmp_path, bad, says):
    one_face = cli.json("people", "show", crowd["one"])["faces"][0]["id"]
    subs = {"ZERO": crowd["zero"], "TWO": crowd["two"], "ONEFACE": one_face}
    if isinstance(bad, str):
        for k, v in subs.items():
            bad, says = bad.replace(k, str(v)), says.replace(k, str(v))
        # a good line first: even it is not applied when another line is bad
        bad = json.dumps({"id": crowd["one"], "name": "Zed"}) + "\n" + bad
        if "line 3" not in says:
            says = says.replace("line 1", "line 2").replace("line 2: person", "line 3: person")
    before = (cli.json("people", "--all", "--hidden"), cli.json("people", "--all"),
              cli.json("history"))
    f = tmp_path / "bad.jsonl"
    f.write_bytes(bad if isinstance(bad, bytes) else bad.encode())

    r = cli("people", "review", "--apply", f, code=2)

    assert says in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith("nothing was applied")
    assert (cli.json("people", "--all", "--hidden"), cli.json("people", "--all"),
            cli.json("history")) == before


def test_problems_are_listed_up_to_ten_then_counted(cli, crowd, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text("".join(json.dumps({"id": 5000 + i, "name": "X"}) + "\n" for i in range(25)))
    r = cli("people", "review", "--apply", f, code=2)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 11 and "25 problems (15 more not shown)" in lines[-1]


def test_apply_reads_stdin_and_refuses_what_is_not_a_file(cli, crowd, tmp_path):
    line = json.dumps({"id": crowd["one"], "name": "Bea"}) + "\n"
    from typer.testing import CliRunner

    from photosense_cli.cli import app
    r = CliRunner().invoke(app, ["people", "review", "--apply", "-", "--library",
                                 str(cli.library)], input=line)
    assert r.exit_code == 0, r.output
    assert cli.json("people", "show", crowd["one"])["name"] == "Bea"
    assert "not a regular file" in cli("people", "review", "--apply", tmp_path, code=2).stderr
    assert "no such file" in cli("people", "review", "--apply", tmp_path / "nope", code=2).stderr


def test_export_never_replaces_the_library(cli, crowd, tmp_path):
    size = cli.library.stat().st_size
    r = cli("people", "review", "--export", cli.library, code=2)
    assert "library" in r.stderr and cli.library.stat().st_size == size


def test_the_sheet_of_everyone_unnamed_is_one_private_picture(cli, crowd, tmp_path):
    out = tmp_path / "unnamed.png"
    r = cli("people", "sheet", "--out", out)
    assert "wrote 3 people" in r.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    img = Image.open(out)
    assert img.width == 3 * 124 + 4  # one 120 px face per person, 4 px apart
    r = cli("people", "sheet", "--all", "--out", out, "--limit", "2")
    assert "wrote 2 people" in r.stderr and "2 more left out by --limit 2" in r.stderr
    assert "wrote 1 person" in cli("people", "sheet", "Ada", "--out", out).stderr
    assert "one of them" in cli("people", "sheet", "Ada", "--all", "--out", out, code=2).stderr
    assert "name the file .png" in cli("people", "sheet", "--out", tmp_path / "x.txt", code=2).stderr
