"""What the offline OCR reads, and what the noise rule and the rotation pass change.

Runs the local engine's OCR (PP-OCR through rapidocr) on: the shared text photos
(../shared/data/text, skipped when absent), generated noise and textures (no text at
all), generated text at many sizes (with real one-character signs: "P", "7", "A"),
and the same text turned 90, 180 and 270 degrees. Prints, side by side:

- noise: the lines read (all of them are false) before and after the noise rule;
- text: the words found of those drawn, and the real one-character lines, before and
  after the rule (the rule must lose none);
- rotation: the words found at each angle without and with the second pass, and the
  photos/s of a plain read against a read with the pass where it runs.

    python benchmarks/ocr_bench.py
"""

import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from photosense_cli.engines import local
from photosense_cli.engines.base import TEXT_MIN_CONFIDENCE

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = ("invoice total payment station platform museum exit entrance library garden "
         "river bridge market street avenue coffee bakery pharmacy hotel theatre").split()


def font(size):
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default(size=size)


def noise_images(rng):
    """Photos with no text at all: the noise and textures OCR reads letters in."""
    out = []
    for i in range(12):
        w, h = 800, 600
        if i % 4 == 0:
            a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        elif i % 4 == 1:
            a = np.clip(rng.normal(128, 60, (h, w, 3)), 0, 255).astype(np.uint8)
            a = np.asarray(Image.fromarray(a).filter(ImageFilter.GaussianBlur(1.5)))
        elif i % 4 == 2:  # foliage-like: many small blobs
            img = Image.new("RGB", (w, h), (40, 90, 30))
            d = ImageDraw.Draw(img)
            for _ in range(1500):
                x, y, r = rng.integers(0, w), rng.integers(0, h), rng.integers(2, 12)
                d.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in
                                                                    rng.integers(0, 200, 3)))
            a = np.asarray(img)
        else:  # stripes and bricks
            img = Image.new("RGB", (w, h), (180, 90, 60))
            d = ImageDraw.Draw(img)
            for y in range(0, h, 24):
                d.line((0, y, w, y), fill=(220, 220, 210), width=3)
                off = 0 if (y // 24) % 2 else 30
                for x in range(off, w, 60):
                    d.line((x, y, x, y + 24), fill=(220, 220, 210), width=3)
            a = np.asarray(img.filter(ImageFilter.GaussianBlur(0.8)))
        out.append((f"noise-{i}", a))
    return out


def text_images(rng):
    """Lines of real words at many sizes, and big single characters (signs)."""
    out = []
    for size in (12, 16, 20, 28, 40, 56, 80):
        img = Image.new("RGB", (1000, 700), (245, 245, 240))
        d = ImageDraw.Draw(img)
        drawn, y = [], 20
        while y + size * 1.4 < 700:
            line = " ".join(rng.choice(WORDS, size=3))
            d.text((30, y), line, fill=(20, 20, 20), font=font(size))
            drawn += line.split()
            y += int(size * 1.6)
        out.append((f"text-{size}px", np.asarray(img), drawn, []))
    for sign in ("P", "7", "A", "B 12"):
        img = Image.new("RGB", (600, 600), (30, 60, 160))
        ImageDraw.Draw(img).text((200, 150), sign, fill=(255, 255, 255), font=font(260))
        out.append((f"sign-{sign}", np.asarray(img), sign.split(), sign.split()))
    return out


def read(pixels, turn=False):
    """The lines above 80 (the index's bar): one read, or with the second pass."""
    lines = local._lines_in(pixels) if turn else local._read_once(pixels)
    return [(t, c, b) for t, c, b in lines if c > TEXT_MIN_CONFIDENCE]


def found_words(lines, drawn):
    text = " ".join(t for t, _, _ in lines).casefold()
    return sum(w.casefold() in text for w in drawn)


def main() -> int:
    from photosense_cli.engines.local import keep_real_lines

    rng = np.random.default_rng(5)
    random.seed(5)
    local._load_ocr()
    print("noise and textures (every line read is false):")
    before = after = 0
    for name, pixels in noise_images(rng):
        lines = read(pixels)
        kept = keep_real_lines(lines)
        before += len(lines)
        after += len(kept)
        if lines:
            print(f"  {name}: {[t for t, _, _ in lines]} -> {[t for t, _, _ in kept]}")
    print(f"  lines read: {before} before the rule, {after} after")
    print("generated text (words found of those drawn; one-character lines kept):")
    for name, pixels, drawn, _signs in text_images(rng):
        lines = read(pixels)
        kept = keep_real_lines(lines)
        singles = [t for t, _, _ in lines if len(t.strip()) == 1]
        print(f"  {name}: {found_words(lines, drawn)}/{len(drawn)} words before, "
              f"{found_words(kept, drawn)}/{len(drawn)} after; one-character lines "
              f"{singles} -> {[t for t, _, _ in kept if len(t.strip()) == 1]}")
    for folder in (SHARED, SHARED.parent / "faces"):
        if not folder.is_dir():
            print(f"{folder}: absent, skipped")
            continue
        print(f"shared photos, {folder.name}/ (lines dropped by the rule, and the photos "
              "the second pass reads turned):")
        for path in sorted(folder.glob("*.*")):
            if path.suffix.lower() not in (".jpg", ".png"):
                continue
            pixels = np.asarray(Image.open(path).convert("RGB"))
            lines = read(pixels)
            kept = keep_real_lines(lines)
            turned = read(pixels, turn=True) != lines
            if len(kept) < len(lines) or turned or folder == SHARED:
                print(f"  {path.name}: {len(lines)} lines, {len(kept)} kept; dropped "
                      f"{[ln[0] for ln in lines if ln not in kept]}"
                      + ("; read turned" if turned else ""))
    print("rotated text (words found: a plain read, then with the second pass):")
    page = text_images(rng)[3]  # 28 px lines
    plain_s = turned_s = 0.0
    for angle in (0, 90, 180, 270):
        pixels = np.asarray(Image.fromarray(page[1]).rotate(angle, expand=True))
        start = time.perf_counter()
        lines = read(pixels)
        plain_s += time.perf_counter() - start
        start = time.perf_counter()
        turned = keep_real_lines(read(pixels, turn=True))
        turned_s += time.perf_counter() - start
        print(f"  {angle:3} degrees: {found_words(lines, page[2])}/{len(page[2])} words, "
              f"with the pass {found_words(turned, page[2])}/{len(page[2])}")
    print(f"  these 4 photos: one read {4 / plain_s:.2f} photos/s, with the pass "
          f"{4 / turned_s:.2f} photos/s (it runs on the two read as unsure lines only)")
    photos = [p for _, p in noise_images(rng)[:4]] + [t[1] for t in text_images(rng)[:4]]
    for label, turn in (("one read", False), ("with the pass", True)):
        start = time.perf_counter()
        for pixels in photos:
            read(pixels, turn=turn)
        print(f"  noise and upright text, 8 photos, {label}: "
              f"{len(photos) / (time.perf_counter() - start):.2f} photos/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
