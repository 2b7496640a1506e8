"""The offline OCR's noise rule and its second pass for turned text (figures from
benchmarks/ocr_bench.py; the rule's cases are the shared photos' own)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from photosense_cli import engines
from photosense_cli.engines import local


def line(text, confidence, box):
    return (text, confidence, box)


def test_lone_characters_are_noise_unless_a_sign_or_part_of_a_row():
    suit = line("V", 91.0, (0.485, 0.953, 0.043, 0.022))  # obama_1.jpg: texture on a suit
    crowd = line("M", 87.0, (0.518, 0.592, 0.02, 0.025))  # group_obama_biden.jpg
    parking = line("P", 99.0, (0.308, 0.3, 0.327, 0.42))  # a sign: big and sure
    fragment = line("H", 100.0, (0.0, 0.871, 0.123, 0.105))  # a backdrop's letter, 10 %
    word = line("PLATFORM", 99.0, (0.1, 0.5, 0.3, 0.04))
    split = line("9", 88.0, (0.42, 0.505, 0.02, 0.035))  # "PLATFORM 9": the same row
    far = line("9", 88.0, (0.9, 0.505, 0.02, 0.035))  # the same height, far across
    below = line("9", 88.0, (0.42, 0.7, 0.02, 0.035))
    kept = local.keep_real_lines([suit, crowd, parking, fragment, word, split, far, below])
    assert kept == [parking, fragment, word, split]
    assert local.keep_real_lines([line("日", 95.0, (0.1, 0.1, 0.01, 0.01))]) == []
    assert local.keep_real_lines([line("12", 90.0, (0.1, 0.1, 0.01, 0.01))]) != []  # two


needs_local = pytest.mark.skipif(not engines.local_available(),
                                 reason="the offline engine (the local extra) is not installed")


@needs_local
@pytest.mark.parametrize("angle", [90, 180])
def test_text_turned_is_read_on_the_second_pass(angle):
    img = Image.new("RGB", (900, 500), (245, 245, 240))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=34)
    for i, words in enumerate(["museum entrance garden", "platform bakery river",
                               "invoice payment total"]):
        draw.text((30, 40 + i * 80), words, fill=(20, 20, 20), font=font)
    pixels = np.asarray(img.rotate(angle, expand=True))
    once = " ".join(t for t, c, _ in local._read_once(pixels) if c > 80).casefold()
    twice = " ".join(t for t, c, _ in local._lines_in(pixels) if c > 80).casefold()
    assert "museum" not in once  # what one read gave before
    assert all(w in twice for w in ("museum", "platform", "invoice"))
    upright = local._lines_in(np.asarray(img))
    assert any(t.casefold() == "museum entrance garden" for t, _, _ in upright)
    turned = [b for t, _, b in local._lines_in(pixels) if "museum" in t.casefold()][0]
    # the box is in the photo as it is: the first line's place after the turn
    if angle == 180:
        assert turned[1] > 0.6  # the top line of the page is at the bottom of the photo
