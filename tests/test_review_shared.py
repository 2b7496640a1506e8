"""Naming the shared photos' people with one action per identity: through the review file
(the CLI) and in the review app, on the offline engine's clustering of real faces."""

import asyncio
import csv
import json
import sqlite3

import pytest

from photosense_cli import engines
from photosense_cli.app import open_library
from tests.conftest import SHARED, Cli, needs_shared

pytestmark = [needs_shared, pytest.mark.skipif(
    not engines.local_available(), reason="the offline engine is not installed (pip install '.[local]')")]

FACES = SHARED / "faces"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    lib = tmp_path_factory.mktemp("review") / "library.db"
    Cli(lib).json("import", FACES, "--engine", "local", "--workers", "2")
    return lib


@pytest.fixture
def library(imported, tmp_path):
    """A copy of the imported library for one test to change."""
    copy = tmp_path / "lib" / "library.db"
    copy.parent.mkdir()
    with sqlite3.connect(imported) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    return copy


def labels():
    return {r["file"]: r["people"].split(";") for r in csv.DictReader(open(FACES / "labels.csv"))}


def identity(cli, person_id, files):
    """The one label every photo of a person carries, or None (a face nobody labelled,
    like the third face in the group photo)."""
    photos = [p["path"].rsplit("/", 1)[1] for p in cli.json("people", "show", person_id)["photos"]]
    common = set.intersection(*(set(files.get(p, [])) for p in photos))
    return common.pop() if len(common) == 1 else None


def assert_everyone_named(cli, files):
    for name, people in files.items():
        on_photo = {f["person"] for f in cli.json("show", FACES / name)["faces"]}
        assert set(people) <= on_photo, (name, people, on_photo)


def test_the_file_round_trip_names_every_identity_and_one_undo_reverts_it(library, tmp_path):
    cli, files = Cli(library), labels()
    out = tmp_path / "review.jsonl"
    cli("people", "review", "--export", out, "--all")
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    filled, actions = [], 0
    for line in lines:
        who = identity(cli, line["id"], files)
        if who is not None:  # one action per cluster: its name (or, a stranger: hide)
            line["name"] = who
        else:
            line["hide"] = True
        actions += 1
        filled.append(line)
    out.write_text("".join(json.dumps(x) + "\n" for x in filled))
    identities = {p for people in files.values() for p in people}
    assert actions <= len(identities) + 1  # + the group photo's unlabelled face

    r = cli("people", "review", "--apply", out)

    assert "applied" in r.stderr
    assert_everyone_named(cli, files)
    assert {p["name"] for p in cli.json("people")} == identities
    cli("undo")
    assert cli.json("people", "--named") == []
    assert len(cli.json("people", "--unnamed", "--all")) == len(lines)


def test_the_app_names_every_identity_with_one_name_each(library):
    from photosense_cli.tui.review_app import ReviewApp

    cli, files = Cli(library), labels()
    with open_library(library) as lib:
        queue = lib.review.queue(everyone=True)
    answers = [identity(cli, pid, files) for pid, _ in queue]

    async def run():
        with open_library(library) as lib:
            app = ReviewApp(lib, queue, images="none")
            async with app.run_test(size=(80, 24)) as pilot:
                for name in answers:
                    if name is None:
                        await pilot.press("ctrl+x")  # the unlabelled face: hide it
                    else:
                        await pilot.press(*name)
                        await pilot.press("enter")
                    await pilot.pause()
                return app.card

    assert asyncio.run(run()) is None  # the queue is done
    assert_everyone_named(cli, files)
    assert len(cli.json("history")) == len(queue)  # one action each
