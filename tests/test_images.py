"""images: recognising, decoding and preparing photos."""

import io

import pytest
from PIL import Image

from photosense_cli import images
from photosense_cli.errors import BadImage


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
    with pytest.raises(BadImage, match="too large to decode safely"):
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
