"""Text beyond a reader's word limit: a photo read in overlapping bands.

Rekognition's DetectText returns at most 100 words a photo, so a whiteboard, a page or
a screenshot lost the rest. When an answer holds WORD_CAP words, the photo is read
again in horizontal bands, each the photo's full width: text lines run across, so a
band's edge never cuts a line in two along its length, and a line a band's top or
bottom edge cuts is whole in the next band (OVERLAP of the photo's height is shared,
more than a line of a dense page is tall). Each band's lines are mapped back to the
whole photo; the first answer's lines and the bands' are merged, and a line seen
twice (the same text over the same place) is kept once, its surest reading.
The number of bands is bounded by --max-text-tiles (each is one more call).
"""

from __future__ import annotations

import io
from collections.abc import Callable

from photosense_cli.records import Box, TextLine

WORD_CAP = 100  # DetectText's limit of words a photo (AWS documents it)
OVERLAP = 0.1  # of the photo's height, shared by neighbouring bands
EDGE = 0.01  # a line within this of a band's inner edge (of the band) was cut by it
DEFAULT_TILES = 4  # --max-text-tiles: a page of ~400 words for 5 calls instead of 1
MAX_TILES = 16


def bands(n: int) -> list[tuple[float, float]]:
    """n bands, top to bottom, covering the photo, neighbours sharing OVERLAP."""
    if n <= 1:
        return [(0.0, 1.0)]
    height = (1 + (n - 1) * OVERLAP) / n
    return [(round(i * (height - OVERLAP), 6), round(min(1.0, i * (height - OVERLAP) + height),
                                                     6)) for i in range(n)]


def read_all(image: bytes, read: Callable[[bytes], tuple[list[TextLine], int]],
             tiles: int) -> list[TextLine]:
    """An engine's text: `read` (one call: its lines, and the words it found) on the
    photo, and, when that reached WORD_CAP, on up to `tiles` bands too."""
    lines, words = read(image)
    if words >= WORD_CAP and tiles > 0:
        lines = read_in_bands(image, lambda band: read(band)[0], lines, tiles)
    return lines


def read_in_bands(image: bytes, read: Callable[[bytes], list[TextLine]],
                  first: list[TextLine], tiles: int) -> list[TextLine]:
    """The first answer's lines and those of `tiles` bands read with `read`, merged."""
    from PIL import Image

    with Image.open(io.BytesIO(image)) as img:
        img.load()
        width, height = img.size
        whole = img.convert("RGB")
    found = list(first)
    for top, bottom in bands(tiles):
        y0, y1 = round(top * height), round(bottom * height)
        if y1 - y0 < 1:
            continue
        buf = io.BytesIO()
        whole.crop((0, y0, width, y1)).save(buf, "JPEG", quality=92)
        share = (y1 - y0) / height
        for line in read(buf.getvalue()):
            b = line.box
            if (y0 > 0 and b.top < EDGE) or (y1 < height and b.top + b.height > 1 - EDGE):
                continue  # cut by this band's edge: the neighbouring band holds it whole
            found.append(TextLine(line.text, line.confidence,
                                  Box(b.left, y0 / height + b.top * share, b.width,
                                      b.height * share)))
    return merged(found)


def merged(lines: list[TextLine]) -> list[TextLine]:
    """Each line once: of two readings of the same text over the same place (more than
    half of the smaller box shared), the surer one, in the order they came."""
    kept: list[TextLine] = []
    for line in sorted(lines, key=lambda t: -t.confidence):
        if not any(_same(line, k) for k in kept):
            kept.append(line)
    order = {id(line): i for i, line in enumerate(lines)}
    return sorted(kept, key=lambda t: order[id(t)])


def _same(a: TextLine, b: TextLine) -> bool:
    x, y = a.text.casefold().strip(), b.text.casefold().strip()
    if not (x == y or x in y or y in x):
        return False
    dx = min(a.box.left + a.box.width, b.box.left + b.box.width) - max(a.box.left, b.box.left)
    dy = min(a.box.top + a.box.height, b.box.top + b.box.height) - max(a.box.top, b.box.top)
    smaller = min(a.box.width * a.box.height, b.box.width * b.box.height)
    return dx > 0 and dy > 0 and dx * dy > 0.5 * smaller
