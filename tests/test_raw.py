"""RAW photos, on small DNGs the tests write (a camera's layout: a small RGB thumbnail
first, the Bayer mosaic in a sub-IFD), decoded by rawpy (LibRaw)."""

import io

import numpy as np
import pytest
import tifffile

from photosense_cli import images
from photosense_cli.errors import ItemFailed
from tests.conftest import BOX, photo

TAGS = [(50706, "B", 4, (1, 4, 0, 0)),  # DNGVersion
        (50708, "s", 0, "photosense test camera"),  # UniqueCameraModel
        (50721, "2i", 9, (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1)),  # ColorMatrix1: identity
        (50728, "2I", 3, (1, 1, 1, 1, 1, 1))]  # AsShotNeutral


def dng(width=384, height=256) -> bytes:
    """A DNG of a grey scene whose first directory is a 160x100 blue thumbnail."""
    cfa = np.full((height, width), 2000, np.uint16)
    thumb = np.zeros((100, 160, 3), np.uint8)
    thumb[:] = (0, 0, 255)
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        tw.write(thumb, photometric="rgb", subifds=1, extratags=[(254, "I", 1, 1), *TAGS])
        tw.write(cfa, photometric=32803, extratags=[
            (254, "I", 1, 0), (33421, "H", 2, (2, 2)), (33422, "B", 4, (0, 1, 1, 2)),
            (50717, "I", 1, 4095)])
    return buf.getvalue()


def test_a_raw_is_the_photo_not_its_thumbnail():
    data = dng()
    assert images.sniff(data[:32], "IMG_1.NEF") == "RAW"
    assert images.sniff(data[:32], "scan.tif") == "TIFF"  # the name tells a TIFF from a RAW
    p = images.prepare(data, name="IMG_1.DNG")
    assert (p.width, p.height, p.format) == (384, 256, "DNG")
    sent = images.Image.open(io.BytesIO(p.data))
    assert sent.format == "JPEG" and sent.size == (384, 256)
    r, g, b = sent.convert("RGB").getpixel((192, 128))
    assert abs(r - g) < 40 and abs(b - g) < 40  # the grey scene, not the blue thumbnail


def test_raw_signatures_without_tiff_headers():
    assert images.sniff(b"IIRO\x08\x00\x00\x00") == "RAW"  # Olympus ORF
    assert images.sniff(b"IIU\x00\x18\x00\x00\x00") == "RAW"  # Panasonic RW2
    assert images.sniff(b"FUJIFILMCCD-RAW 0201") == "RAW"  # Fujifilm RAF
    assert images.sniff(b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01") == "RAW"  # Canon CR3


def test_a_damaged_raw_is_one_reason():
    data = dng()
    with pytest.raises(ItemFailed, match="RAW"):
        images.prepare(data[:2000], name="IMG_2.DNG")


def test_raw_files_import_and_a_damaged_one_is_remembered(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    pics.mkdir()
    (pics / "IMG_1.DNG").write_bytes(dng())
    (pics / "IMG_2.NEF").write_bytes(dng()[:3000])
    photo(pics / "other.jpg", faces=[(0, BOX)])

    s = cli.import_(pics, code=1)

    assert s["files"]["new"] == 2 and s["files"]["failed"] == 1
    assert "IMG_2.NEF" in s["errors"][0]["path"] and "RAW" in s["errors"][0]["reason"]
    shown = cli.json("show", pics / "IMG_1.DNG")
    assert (shown["width"], shown["height"], shown["format"]) == (384, 256, "DNG")
    assert (384, 256) in [size for _, size, _ in fake.received]
    again = cli.import_(pics)
    assert again["files"]["known_failures"] == 1


def test_a_raw_and_its_jpeg_are_one_photo_analysed_once(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    jpg = photo(pics / "IMG_1.JPG", faces=[(0, BOX)])
    raw = pics / "IMG_1.CR2"
    raw.write_bytes(dng())
    alone = pics / "IMG_2.DNG"
    alone.write_bytes(dng(400, 300))

    s = cli.import_(pics)

    assert fake.calls["IndexFaces"] == 2  # IMG_1 once, IMG_2 on its own
    assert s["files"]["new"] == 2 and s["files"]["known"] == 1
    shown = cli.json("show", raw)
    assert shown["id"] == cli.json("show", jpg)["id"]
    assert shown["paths"] == [str(raw), str(jpg)]
    assert len(shown["faces"]) == 1
    assert cli.json("show", alone)["width"] == 400
    assert cli.import_(pics)["files"]["skipped"] == 3


def test_a_dry_run_counts_a_raw_with_its_jpeg_as_one_photo(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    photo(pics / "IMG_1.JPG", faces=[(0, BOX)])
    (pics / "IMG_1.CR2").write_bytes(dng())
    s = cli.import_(pics, extra=["--dry-run"])
    assert s["files"]["new"] == 1 and s["files"]["known"] == 1 and sum(fake.calls.values()) == 0
