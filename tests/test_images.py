"""images: recognising, decoding and preparing photos."""

import io
from multiprocessing.pool import ThreadPool

import pytest
from PIL import Image

from photosense_cli import images
from photosense_cli.errors import ItemFailed


def encoded(img, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt,expected", [("JPEG", "JPEG"), ("PNG", "PNG"), ("GIF", "GIF"),
                                          ("BMP", "BMP"), ("TIFF", "TIFF"), ("WEBP", "WEBP")])
def test_sniff_recognises_content_not_names(fmt, expected):
    data = encoded(Image.new("RGB", (100, 100)), fmt)
    assert images.sniff(data[:32]) == expected


def test_sniff_recognises_heic_brands_and_refuses_the_rest():
    assert images.sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") == "HEIF"
    assert images.sniff(b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00") == "AVIF"
    assert images.sniff(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00") is None  # an MP4 video
    assert images.sniff(b"%PDF-1.7") is None and images.sniff(b"") is None


def test_decompression_bombs_are_refused(monkeypatch):
    data = encoded(Image.new("RGB", (400, 300)), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # 2x this is Pillow's hard limit
    with pytest.raises(ItemFailed, match="too large to decode safely"):
        images.prepare(data)


def test_sixteen_bit_is_scaled_not_clipped():
    grey = Image.new("I;16", (100, 100), 32768)  # mid-grey in 16 bits
    rgb = images.to_rgb(grey)
    assert rgb.mode == "RGB" and rgb.getpixel((0, 0)) == (128, 128, 128)


def test_transparency_goes_onto_white():
    clear = Image.new("RGBA", (100, 100), (255, 0, 0, 0))
    assert images.to_rgb(clear).getpixel((5, 5)) == (255, 255, 255)


def test_an_upright_small_jpeg_is_sent_as_it_is():
    data = encoded(Image.new("RGB", (640, 480), (10, 20, 30)), "JPEG")
    assert images.prepare(data).data is data


def test_an_engine_that_decodes_images_gets_the_files_own_bytes():
    """as_is (Engine.decodes_images): turned, large and non-JPEG photos are sent as read,
    with their upright size; what only this process can decode safely still is."""
    turned = Image.new("RGB", (300, 200))
    exif = turned.getexif()
    exif[0x0112] = 6  # stored on its side: turned 90 degrees clockwise to be seen
    sources = {"turned": encoded(turned, "JPEG", exif=exif),
               "large": encoded(Image.new("RGB", (2400, 1600)), "JPEG"),
               "png": encoded(Image.new("RGB", (300, 200)), "PNG")}
    for name, data in sources.items():
        decoded = images.prepare(data)
        sent = images.prepare(data, as_is=True)
        assert decoded.data is not data and sent.data is data, name
        assert (sent.width, sent.height, sent.orientation) == (
            decoded.width, decoded.height, decoded.orientation), name
    assert (images.prepare(sources["turned"], as_is=True).width,
            images.prepare(sources["turned"], as_is=True).height) == (200, 300)
    whole = sources["large"]
    with pytest.raises(ItemFailed, match="truncated"):  # decoded here, so it says so
        images.prepare(whole[: len(whole) // 2], as_is=True)


def test_an_engine_decodes_a_file_sent_as_is_to_what_it_would_have_been_sent():
    """The engine's own decode (images.decode_upright to LONG_SIDE) gives the pixels the
    prepared JPEG held: upright, the same size, the same picture."""
    import numpy as np

    gradient = Image.linear_gradient("L").resize((2400, 1600)).convert("RGB")
    exif = gradient.getexif()
    exif[0x0112] = 8  # turned 90 degrees counter-clockwise to be seen
    data = encoded(gradient, "JPEG", exif=exif, quality=95)
    prepared = Image.open(io.BytesIO(images.prepare(data).data))
    own, _, _ = images.decode_upright(images.prepare(data, as_is=True).data, images.LONG_SIDE)
    assert own.size == prepared.size == (1280, 1920)
    difference = np.abs(np.asarray(own, np.int16) - np.asarray(prepared, np.int16))
    assert difference.mean() < 2  # the prepared JPEG's own loss, nothing more


def test_a_long_panorama_names_its_real_problem():
    data = encoded(Image.new("RGB", (20000, 200)), "PNG")
    with pytest.raises(ItemFailed) as e:
        images.prepare(data)
    assert e.value.reason == ("image is 20000x200 px, too narrow for its length: scaled to "
                              "1920 px on its long side for the engine, its short side would be "
                              "19 px, and faces and text need 80 px")


def test_big_photos_are_decoded_one_at_a_time(monkeypatch):
    import threading
    import time

    monkeypatch.setattr(images, "BIG_PIXELS", 100 * 100)
    real, now, most = images.decode_upright, [0], [0]
    lock = threading.Lock()

    def counting(data, long_side=None):
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.05)
        try:
            return real(data, long_side)
        finally:
            with lock:
                now[0] -= 1

    monkeypatch.setattr(images, "decode_upright", counting)
    big = encoded(Image.new("RGB", (300, 200)), "PNG")
    small = encoded(Image.new("RGB", (90, 90)), "PNG")
    threads = [threading.Thread(target=images.prepare, args=(big,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
    with ThreadPool(4) as pool:  # small ones are not held back
        pool.map(lambda _: images.prepare(small), range(8))
    assert most[0] >= 2


def test_the_decompression_bomb_warning_never_reaches_the_terminal():
    import subprocess
    import sys

    code = ("import io; from PIL import Image; from photosense_cli import images\n"
            "Image.MAX_IMAGE_PIXELS = 100 * 100  # warns above this, refuses above twice it\n"
            "buf = io.BytesIO(); Image.new('RGB', (150, 100)).save(buf, 'PNG')\n"
            "images.prepare(buf.getvalue())\n")
    out = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stderr == ""


def test_boxes_are_numbers_whatever_the_engine_hands_over(tmp_path):
    """Round one stored the offline OCR's numpy float32 boxes as blobs; never again, and
    migration 3 turns the old ones into numbers."""
    import struct

    import numpy as np

    from photosense_cli.catalogue import Catalogue
    from photosense_cli.catalogue.schema import _fix_blob_boxes
    from photosense_cli.records import Box, TextLine

    cat = Catalogue(tmp_path / "lib.db")
    with cat.transaction():
        pid = cat.insert_photo({"sha256": "a" * 64, "size": 1})
        cat.insert_text_lines(pid, [TextLine("EXIT", 99.0, Box(*np.float32([0.1, 0.2, 0.3, 0.4])))])
        cat.conn.execute('UPDATE text_lines SET "left" = ? WHERE photo_id = ?',
                         (struct.pack("<f", 0.25), pid))  # as round one wrote it
    assert cat.scalar('SELECT typeof(top) FROM text_lines') == "real"
    _fix_blob_boxes(cat.conn)
    row = cat.query('SELECT "left", top FROM text_lines')[0]
    assert row == {"left": 0.25, "top": pytest.approx(0.2)}
    assert cat.photo_details(pid).to_json()["text"][0]["box"]["left"] == 0.25
