"""The review app's main screen as SVG snapshots (pytest-textual-snapshot), at 80x24 and
120x40 with images off, so a change of layout is seen in review like a change of code.
Update them on purpose with `pytest tests/test_review_snapshots.py --snapshot-update`."""

import os

import pytest

from photosense_cli.app import open_library
from tests.conftest import BOX, BOX2, photo

pytest.importorskip("pytest_textual_snapshot")

DAY = 86_400
T0 = 1_500_000_000  # 2017-07-14: file dates stand in for EXIF dates, fixed here


@pytest.fixture
def steady(cli, fake, tmp_path):
    """A library whose ids, names and dates are the same on every run: photos imported
    one by one, fixed file times, basenames only on screen."""
    pics = tmp_path / "pics"
    for i in range(9):  # identity 0 in 9 photos: more faces than fit at 80x24
        photo(pics / f"party_{i:02d}.jpg", faces=[(0, BOX)] + ([(1, BOX2)] if i < 2 else []),
              size=(640 + 8 * i, 480))  # sizes differ: nine photos, not one photo nine times
    photo(pics / "beach.jpg", faces=[(2, BOX)])
    photo(pics / "hike.jpg", faces=[(2, BOX), (3, BOX2)])
    photo(pics / "lake.jpg", faces=[(3, BOX)])
    for n, p in enumerate(sorted(pics.iterdir())):
        os.utime(p, (T0 + n * 40 * DAY, T0 + n * 40 * DAY))
    for p in sorted(pics.iterdir()):  # one at a time: ids in this order on every run
        cli.json("import", p, "--engine", "fake", "--workers", "1")
    fake.similar[(0, 2)] = 87.0
    cli("people", "suggest", "--search")
    lake = cli.json("show", pics / "lake.jpg")["faces"][0]["person_id"]
    cli("people", "rename", lake, "Ada Lovelace")
    return cli.library


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_main_screen(steady, snap_compare, size):
    from photosense_cli.tui.review_app import ReviewApp

    with open_library(steady) as lib:
        app = ReviewApp(lib, lib.review.queue(), images="none")
        assert snap_compare(app, terminal_size=size)


def test_the_faces_mode_with_a_merge_to_confirm(steady, snap_compare):
    from photosense_cli.tui.review_app import ReviewApp

    with open_library(steady) as lib:
        app = ReviewApp(lib, lib.review.queue(), images="none")
        assert snap_compare(app, terminal_size=(80, 24),
                            press=["a", "d", "a", "enter", "escape", "escape", "right"])
