"""Images: recognise by content, decode, orient, and prepare bytes for an engine.

Rekognition takes JPEG or PNG bytes of at most 5 MB, at least 80 px a side.
Everything else (HEIC, WebP, TIFF, BMP, GIF, CMYK, 16-bit, alpha) becomes an
RGB JPEG here, upright as the photo is displayed, so that face boxes from any
engine are relative to what the user sees.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from photosense_cli.errors import BadImage, ItemFailed, TooSmall, describe
from photosense_cli.gps import gps_of
from photosense_cli.records import Box

try:  # iPhone photos; a declared dependency, but keep decoding others if it is broken.
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover
    pillow_heif = None  # type: ignore[assignment]

# Rekognition finds faces down to about 40x40 px in a 1920x1080 image; scaling
# the long side to 1920 keeps those faces findable while keeping a typical
# JPEG at 0.3-1.5 MB, far under the 5 MB request limit.
LONG_SIDE = 1920
MAX_BYTES = 5 * 1024 * 1024
MIN_SIDE = 80
MAX_FILE_BYTES = 512 * 1024 * 1024  # larger files are not read into memory at all

# Camera RAW files, decoded with rawpy (LibRaw). Most are TIFF inside, so the name
# tells them from a TIFF; ORF, RW2, RAF and CR3 have signatures of their own.
RAW_SUFFIXES = {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".sr2", ".orf", ".rw2", ".raf",
                ".pef", ".srw"}
IMAGE_SUFFIXES = {
    ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp",
    ".heic", ".heif", ".hif", ".avif", *RAW_SUFFIXES,
}
# A RAW's embedded preview is used when it is at least this long on its long side (the
# engines get 1920 px, and faces of 40 px at that size stay findable); smaller previews
# (a NEF's 160x120 thumbnail) are never the photo: the RAW is demosaiced instead.
RAW_PREVIEW_MIN = 1600

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def sniff(head: bytes, name: str = "") -> str | None:
    """The image format named by a file's first bytes, or None: content decides, and the
    name only tells a TIFF-based RAW (NEF, CR2, DNG...) from a TIFF."""
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00") or head.startswith(b"FUJIFILMCCD-RAW") \
            or (head[4:8] == b"ftyp" and head[8:12] == b"crx "):
        return "RAW"
    if head[:4] in (b"II*\x00", b"MM\x00*") and os.path.splitext(name)[1].lower() in RAW_SUFFIXES:
        return "RAW"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "AVIF" if head[8:12] in (b"avif", b"avis") else "HEIF"
    return None


@dataclass
class Prepared:
    """One photo ready for an engine."""

    data: bytes  # to send: a JPEG, or the file's own bytes (an upright JPEG, or as_is)
    width: int  # of the displayed (upright) photo
    height: int
    format: str
    taken_at: str | None
    orientation: int = 1  # EXIF: how the stored pixels turn upright
    gps: tuple[float, float] | None = None  # (latitude, longitude) from EXIF


# Between 89 and 179 Mpx Pillow only warns: real cameras go there, so decode, and say
# nothing. A process-wide filter: catch_warnings() is not safe across worker threads.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# One decoded 169 Mpx photo takes ~0.5 GB as RGB and about twice that while it is turned
# and scaled; four at once peaked at 3.8 GB. Photos over BIG_PIXELS are decoded one at a
# time, which keeps the peak near 1.2 GB with any number of workers; the usual 12-50 Mpx
# camera photos (draft-decoded JPEGs far smaller still) never wait.
BIG_PIXELS = 60_000_000
_big_decodes = threading.BoundedSemaphore(1)


def open_image(data: bytes) -> Image.Image:
    """Decode with Pillow's decompression-bomb guard on; any failure is a ItemFailed."""
    try:
        return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:
        raise BadImage(f"too large to decode safely ({describe(e)})") from None
    except UnidentifiedImageError:
        raise BadImage("not an image Pillow can read") from None
    except Exception as e:  # Pillow raises many types for corrupt headers
        raise BadImage(f"cannot decode: {describe(e)}") from None


def taken_at(img: Image.Image) -> str | None:
    """DateTimeOriginal, else DateTime, as ISO 8601: the camera's local time, with its UTC
    offset when the photo records one (OffsetTimeOriginal, EXIF 2.31)."""
    try:
        exif = img.getexif()
        sub = exif.get_ifd(0x8769)
        raw = sub.get(0x9003) or exif.get(0x0132)
        offset = str(sub.get(0x9011) or "").strip("\x00 ")
    except Exception:
        return None
    if not raw:
        return None
    try:
        when = dt.datetime.strptime(str(raw).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if len(offset) == 6 and offset[0] in "+-" and offset[3] == ":":
        return when.isoformat() + offset
    return when.isoformat()


def to_rgb(img: Image.Image) -> Image.Image:
    """Any mode to 8-bit RGB; transparency goes onto white, 16-bit is scaled, not clipped."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        top = img.getextrema()[1]
        scale = 1 / 256 if img.mode.startswith("I;16") or float(top) > 255 else 1  # type: ignore[arg-type]
        img = img.convert("I").point(lambda v: v * scale).convert("L")
    elif img.mode == "F":
        img = img.point(lambda v: v * 255).convert("L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa"):
        img = img.convert("RGBA")
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        return background
    return img if img.mode == "RGB" else img.convert("RGB")


def decode_upright(data: bytes, long_side: int | None = None) -> tuple[Image.Image, str, str | None]:
    """Decode, apply EXIF orientation, and downscale so the long side is at most long_side."""
    img = open_image(data)
    fmt = img.format or "?"
    when = taken_at(img)
    try:
        if long_side and fmt == "JPEG":
            img.draft("RGB", (long_side, long_side))  # DCT scaling: decode big JPEGs at a fraction
        img = ImageOps.exif_transpose(img)
        img.load()
        img = to_rgb(img)
    except ItemFailed:
        raise
    except Exception as e:
        raise BadImage(f"cannot decode: {describe(e)}") from None
    if long_side and max(img.size) > long_side:
        img.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return img, fmt, when


def read_photo(path: str) -> bytes:
    """A catalogued photo's bytes for display (crops, sheets). The file may have been
    replaced since import: read no more than import would, ItemFailed when over."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ItemFailed(f"over {MAX_FILE_BYTES >> 20} MB: not read")
    return data


def decode_scaled(data: bytes, scale_for: Callable[[int, int], float]) -> Image.Image:
    """Decode upright in RGB at no less than `scale_for(width, height)` of full size, with
    no resampling after: a JPEG's DCT scaling decodes at 1/2, 1/4 or 1/8 for a fraction
    of the time (a 3000x2000 photo: 55 ms whole, 11 ms at 1/2, on the 2-core development
    machine), where decode_upright's Lanczos thumbnail alone cost 130 ms."""
    import math

    img = open_image(data)
    try:
        scale = scale_for(*img.size)
        if scale < 1 and img.format == "JPEG":
            w, h = img.size
            img.draft("RGB", (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))
        img = ImageOps.exif_transpose(img)
        img.load()
        return to_rgb(img)
    except ItemFailed:
        raise
    except Exception as e:
        raise BadImage(f"cannot decode: {describe(e)}") from None


def prepare(data: bytes, min_side: int = MIN_SIDE, long_side: int = LONG_SIDE,
            name: str = "", as_is: bool = False) -> Prepared:
    """Bytes an engine accepts, for any image we can decode; any failure is a ItemFailed.

    as_is: the engine decodes the bytes itself (Engine.decodes_images); only the header
    is read here, and RAW files and photos over BIG_PIXELS are still decoded here.
    """
    try:
        if sniff(data[:32], name) == "RAW":
            return _prepare_raw(data, min_side, long_side, name)
        return _prepare(data, min_side, long_side, as_is)
    except ItemFailed:
        raise
    except Exception as e:  # a decoder bug on one odd file must fail that file, not the run
        raise BadImage(f"cannot decode: {type(e).__name__}: {describe(e)}") from None


def check_size(width: int, height: int, min_side: int, long_side: int) -> None:
    """Refuse what no engine can use: too small, or too narrow once scaled for the engine."""
    if min(width, height) < min_side:
        raise TooSmall(f"image is {width}x{height} px; faces and text need at least {min_side} px a side")
    scale = min(1.0, long_side / max(width, height))
    if min(width, height) * scale < min_side:
        raise TooSmall(f"image is {width}x{height} px, too narrow for its length: scaled to "
                       f"{long_side} px on its long side for the engine, its short side would "
                       f"be {min(width, height) * scale:.0f} px, and faces and text need "
                       f"{min_side} px")


def _prepare(data: bytes, min_side: int, long_side: int, as_is: bool = False) -> Prepared:
    header = open_image(data)
    fmt = header.format or "?"
    width, height = header.size
    where = gps_of(header)
    orientation = header.getexif().get(0x0112, 1) if fmt in ("JPEG", "TIFF", "WEBP", "PNG") else 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    check_size(width, height, min_side, long_side)
    # The common case: an upright, RGB, small-enough JPEG goes out untouched (read once, sent as
    # is). A JPEG cut short has no end-of-image marker: it is decoded below, which says so,
    # instead of being sent (and billed) to fail at the engine.
    whole = fmt != "JPEG" or data.rstrip(b"\x00")[-2:] == b"\xff\xd9"
    if whole and ((as_is and width * height <= BIG_PIXELS) or (
            fmt == "JPEG" and orientation == 1 and header.mode in ("RGB", "L")
            and max(width, height) <= long_side and len(data) <= MAX_BYTES)):
        return Prepared(data, width, height, fmt, taken_at(header), orientation, where)
    if width * height > BIG_PIXELS:
        with _big_decodes:
            img, fmt, when = decode_upright(data, long_side)
            return Prepared(encode_jpeg(img), width, height, fmt, when, orientation, where)
    img, fmt, when = decode_upright(data, long_side)
    return Prepared(encode_jpeg(img), width, height, fmt, when, orientation, where)


def decode_raw(data: bytes) -> Image.Image:
    """A RAW photo upright: its embedded preview when large enough, else demosaiced."""
    import rawpy

    try:
        raw = rawpy.imread(io.BytesIO(data))
    except (rawpy.LibRawError, ValueError) as e:
        raise BadImage(f"cannot decode this RAW file: {describe(e)}") from None
    with raw:
        try:
            thumb = raw.extract_thumb()
            preview: Image.Image
            if thumb.format == rawpy.ThumbFormat.JPEG:
                preview = Image.open(io.BytesIO(bytes(thumb.data)))
            else:
                import numpy as np

                preview = Image.fromarray(np.asarray(thumb.data))
            if max(preview.size) >= RAW_PREVIEW_MIN:
                # LibRaw does not turn previews: its flip says how (3 = 180, 5 = 90
                # counter-clockwise, 6 = 90 clockwise), as for the demosaiced image.
                turn = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90,
                        6: Image.Transpose.ROTATE_270}.get(raw.sizes.flip)
                return to_rgb(preview.transpose(turn) if turn is not None else preview)
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError, OSError):
            pass
        try:
            # half_size: a 2x2 Bayer cell becomes one pixel, 4x faster, and still more
            # pixels than the engines are sent; the camera's white balance, as shot.
            return Image.fromarray(raw.postprocess(use_camera_wb=True, half_size=max(
                raw.sizes.width, raw.sizes.height) >= 2 * LONG_SIDE, output_bps=8))
        except (rawpy.LibRawError, ValueError) as e:
            raise BadImage(f"cannot decode this RAW file: {describe(e)}") from None


def _prepare_raw(data: bytes, min_side: int, long_side: int, name: str) -> Prepared:
    img = decode_raw(data)
    width, height = img.size
    check_size(width, height, min_side, long_side)
    when, where = None, None
    try:  # TIFF-based RAWs carry EXIF that Pillow reads from their first directory
        header = Image.open(io.BytesIO(data))
        when, where = taken_at(header), gps_of(header)
    except Exception:
        pass
    if max(img.size) > long_side:
        img.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    fmt = os.path.splitext(name)[1].lstrip(".").upper() or "RAW"
    return Prepared(encode_jpeg(img), width, height, fmt, when, 1, where)


def encode_jpeg(img: Image.Image) -> bytes:
    for quality in (90, 80, 70, 60):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        if buf.tell() <= MAX_BYTES:
            return buf.getvalue()
    raise BadImage("cannot encode under the engine's 5 MB limit")


def face_crop(img: Image.Image, box: Box, margin: float = 0.25, size: int = 160) -> Image.Image:
    """A square crop around a face box (normalised to the upright photo), with a margin.

    The command-line form of the original design's avatar: centred on the box,
    zoomed so the larger side of the box fills the crop.
    """
    left, top, width, height = box.as_tuple()
    w, h = img.size
    side = max(width * w, height * h) * (1 + 2 * margin)
    cx, cy = (left + width / 2) * w, (top + height / 2) * h
    x0, y0 = cx - side / 2, cy - side / 2
    crop = img.crop((round(x0), round(y0), round(x0 + side), round(y0 + side)))
    return crop.resize((size, size), Image.Resampling.LANCZOS)


LABEL_LINE = 14  # a line of Pillow's built-in font (10 px) with its spacing
LABEL_HEIGHT = 16  # a line of Pillow's built-in font under each face
TITLE_HEIGHT = 24


def _fit(draw, text: str, width: float) -> str:
    """Text cut with an ellipsis to fit `width` pixels: a long file name stays on its face."""
    if draw.textlength(text) <= width:
        return text
    while text and draw.textlength(text + "...") > width:
        text = text[:-1]
    return text + "..."


def contact_sheet(crops: list[Image.Image], labels: list[str] | list[list[str]] | None = None,
                  columns: int = 6, gap: int = 4, title: str | None = None) -> Image.Image:
    """Crops of one size laid out in a grid on white, each with its label lines under it
    (the face id, so a wrong face can be picked out for 'people unassign' from the
    picture, and the photo's file name), under a title (who this is)."""
    from PIL import ImageDraw

    if not crops:
        raise ValueError("no crops")
    lines = [[x] if isinstance(x, str) else list(x) for x in labels] if labels else []
    size = crops[0].size[0]
    band = (max(len(x) for x in lines) * LABEL_LINE + 2) if lines else 0
    top = TITLE_HEIGHT if title else 0
    rows = (len(crops) + columns - 1) // columns
    cols = min(columns, len(crops))
    sheet = Image.new("RGB", (cols * (size + gap) + gap,
                              top + rows * (size + band + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((gap + 2, 6), _fit(draw, title, sheet.width - 2 * gap - 4), fill="black")
    for i, crop in enumerate(crops):
        r, c = divmod(i, columns)
        x, y = gap + c * (size + gap), top + gap + r * (size + band + gap)
        sheet.paste(crop, (x, y))
        for k, text in enumerate(lines[i] if lines else []):
            draw.text((x + 2, y + size + 2 + k * LABEL_LINE), _fit(draw, text, size - 4),
                      fill="black")
    return sheet


def save_private(img: Image.Image, path, protected) -> None:
    """Write a face crop or contact sheet readable by its owner only: faces are biometric data.

    The format follows the extension (.png, .jpg, .jpeg, .webp); anything else is refused
    before a file is made. Written through files.write_file: never over the library or a
    photo, and whole or not at all.
    """
    from pathlib import Path

    from photosense_cli.errors import PhotosenseError
    from photosense_cli.files import target_of, write_file

    path = Path(path)
    target_of(path, protected)  # a device or the library is refused for what it is
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}.get(
        path.suffix.lower())
    if fmt is None:
        raise PhotosenseError(f"{path}: name the file .png, .jpg or .webp to say its format")
    write_file(path, lambda f: img.save(f, fmt, **({"quality": 90} if fmt == "JPEG" else {})),
               protected=protected)
