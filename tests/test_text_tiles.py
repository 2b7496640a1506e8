"""Text beyond DetectText's 100 words: a photo that reaches the limit is read again in
overlapping bands, with the Stubber (Rekognition's calls and boxes) and with the fake
engine capped at 100 words like the service (through the CLI)."""

import io

import pytest
from botocore.stub import ANY, Stubber
from PIL import Image

from photosense_cli.engines import tiles
from photosense_cli.engines.base import Usage
from photosense_cli.engines.rekognition import RekognitionEngine
from photosense_cli.records import Box, TextLine
from tests.conftest import photo
from tests.test_search import names


def test_bands_cover_the_photo_and_share_an_overlap():
    for n in (2, 3, 4, 7, 16):
        b = tiles.bands(n)
        assert len(b) == n and b[0][0] == 0 and b[-1][1] == pytest.approx(1.0)
        for (_, end), (start, _) in zip(b, b[1:], strict=False):
            assert end - start == pytest.approx(tiles.OVERLAP)
    assert tiles.bands(1) == [(0.0, 1.0)]


def test_lines_read_twice_are_kept_once_the_surer_reading():
    same = [TextLine("INVOICE 42", 90.0, Box(0.1, 0.1, 0.3, 0.05)),
            TextLine("Total due", 95.0, Box(0.1, 0.2, 0.3, 0.05)),
            TextLine("INVOICE 42", 97.0, Box(0.1, 0.101, 0.3, 0.05)),
            TextLine("INVOICE 42", 97.0, Box(0.1, 0.8, 0.3, 0.05))]  # elsewhere: kept
    kept = tiles.merged(same)
    assert [(t.text, t.confidence) for t in kept] == [
        ("Total due", 95.0), ("INVOICE 42", 97.0), ("INVOICE 42", 97.0)]


def jpeg(width=400, height=800):
    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, "JPEG")
    return buf.getvalue()


def detections(lines, words):
    """A DetectText answer: LINEs (text, top, height in the image sent) and WORDs."""
    out = [{"DetectedText": text, "Type": "LINE", "Confidence": 99.0,
            "Geometry": {"BoundingBox": {"Left": 0.1, "Top": top, "Width": 0.5,
                                         "Height": height}, "Polygon": []}}
           for text, top, height in lines]
    return {"TextDetections": out + [
        {"DetectedText": f"w{i}", "Type": "WORD", "Confidence": 99.0,
         "Geometry": {"BoundingBox": {"Left": 0, "Top": 0, "Width": 0.01, "Height": 0.01},
                      "Polygon": []}} for i in range(words)]}


def test_rekognition_reads_a_dense_page_again_in_bands(client):
    image = jpeg()
    with Stubber(client) as stub:
        stub.add_response("detect_text", detections([("FIRST LINE", 0.05, 0.02)], 100),
                          {"Image": {"Bytes": image}})
        # two bands: [0, 0.55] and [0.45, 1] of the photo
        stub.add_response("detect_text", detections(
            [("FIRST LINE", 0.05 / 0.55, 0.02 / 0.55),  # read again: kept once
             ("CUT AT THE EDGE", 0.995, 0.004)], 60), {"Image": {"Bytes": ANY}})
        stub.add_response("detect_text", detections(
            [("BEYOND THE LIMIT", 0.5, 0.04)], 40), {"Image": {"Bytes": ANY}})
        usage = Usage()
        lines = RekognitionEngine(client, "c", text_tiles=2).detect_text(image, usage)
        stub.assert_no_pending_responses()
    assert [t.text for t in lines] == ["FIRST LINE", "BEYOND THE LIMIT"]
    beyond = lines[1].box
    assert beyond.top == pytest.approx(0.45 + 0.5 * 0.55, abs=0.002)  # back in the photo
    assert beyond.height == pytest.approx(0.04 * 0.55, abs=0.001)
    assert usage.operations() == ["DetectText"] * 3  # each band is a call, counted


def test_a_photo_under_the_limit_or_with_tiles_off_is_read_once(client):
    image = jpeg()
    with Stubber(client) as stub:
        stub.add_response("detect_text", detections([("SHORT", 0.1, 0.05)], 99),
                          {"Image": {"Bytes": image}})
        stub.add_response("detect_text", detections([("FULL", 0.1, 0.05)], 100),
                          {"Image": {"Bytes": image}})
        assert [t.text for t in RekognitionEngine(client, "c").detect_text(image, Usage())] == [
            "SHORT"]
        usage = Usage()
        off = RekognitionEngine(client, "c", text_tiles=0).detect_text(image, usage)
        stub.assert_no_pending_responses()
    assert [t.text for t in off] == ["FULL"] and usage.operations() == ["DetectText"]


# Three text blocks, each inside one band of four and cut by none of their edges
# (bands [0, .325], [.225, .55], [.45, .775], [.675, 1]).
BLOCKS = [(0, (0.1, 0.02, 0.6, 0.18)), (1, (0.1, 0.35, 0.6, 0.09)),
          (2, (0.1, 0.57, 0.6, 0.09))]


def page(block, words):
    return [" ".join(f"{block}w{i}x{j}" for j in range(5)) for i in range(words // 5)]


def test_the_fake_engine_at_the_limit_keeps_every_line_through_the_cli(cli, fake, tmp_path):
    for block, _ in BLOCKS:
        fake.texts[block] = page(block, 45)  # 135 words: the first reading stops at 100
    pics = tmp_path / "pics"
    photo(pics / "page.jpg", texts=BLOCKS, size=(600, 900))
    summary = cli.json("import", pics, "--engine", "fake")
    assert summary["calls"]["DetectText"] == 5  # the whole photo, then four bands
    text = cli.json("text", pics / "page.jpg")["text"]
    assert sorted(text) == sorted(line for block, _ in BLOCKS for line in fake.texts[block])
    assert names(cli.json("search", "2w8x4")) == ["page.jpg"]  # the last line, found


def test_max_text_tiles_zero_keeps_the_first_reading(cli, fake, tmp_path):
    for block, _ in BLOCKS:
        fake.texts[block] = page(block, 45)
    pics = tmp_path / "pics"
    photo(pics / "page.jpg", texts=BLOCKS, size=(600, 900))
    summary = cli.json("import", pics, "--engine", "fake", "--max-text-tiles", "0")
    assert summary["calls"]["DetectText"] == 1
    assert len(cli.json("text", pics / "page.jpg")["text"]) == 20  # 100 words, 5 a line
    assert cli("search", "2w8x4", code=1).stdout.strip() in ("", "[]")
