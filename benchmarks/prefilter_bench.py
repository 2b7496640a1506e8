"""What import --prefilter local saves, and what it would lose.

Scores every photo of ../shared/data/faces (all of them hold faces, see its
labels.csv) and a folder of photos without faces (the shared text photos and
generated landscapes, documents, shapes and noise textures) with the offline
detector's face_score, then prints, at the threshold the importer uses and
around it: face photos still sent to IndexFaces (a face photo not sent would
lose its faces), photos without faces skipped (IndexFaces and SearchFaces
calls saved), and the faintest real face's score.

    python benchmarks/prefilter_bench.py [--generated 40]
"""

import argparse
import io
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from photosense_cli import images
from photosense_cli.engines import local

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PHOTOS = (".jpg", ".jpeg", ".png")


def generated(n: int) -> list[tuple[str, bytes]]:
    """Photos without faces: landscapes, documents, shapes, noise textures (a quarter each)."""
    rng = random.Random(5)
    out = []
    for i in range(n):
        w, h = rng.choice([(1600, 1200), (1200, 1600), (1920, 1080)])
        kind = ["landscape", "document", "shapes", "noise"][i % 4]
        if kind == "landscape":
            a = np.zeros((h, w, 3), np.float32)
            a[: h // 2] = np.linspace([90, 140, 220], [200, 220, 250], h // 2)[:, None, :]
            a[h // 2:] = np.array([60 + rng.random() * 60, 110 + rng.random() * 40, 40])
            a += np.random.default_rng(i).normal(0, 18, a.shape)
            img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(
                ImageFilter.GaussianBlur(1.5))
        elif kind == "document":
            img = Image.new("RGB", (w, h), (250, 250, 250))
            d = ImageDraw.Draw(img)
            for y in range(40, h - 40, 28):
                d.text((40, y), "lorem ipsum dolor sit amet consectetur " * 3, fill=(20, 20, 20))
        elif kind == "shapes":
            img = Image.new("RGB", (w, h), tuple(rng.randint(0, 255) for _ in range(3)))
            d = ImageDraw.Draw(img)
            for _ in range(30):
                x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(10, 200)
                d.ellipse((x, y, x + r, y + r * rng.random() + 5),
                          fill=tuple(rng.randint(0, 255) for _ in range(3)))
        else:
            a = np.random.default_rng(i).integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
            img = Image.fromarray(a).resize((w, h), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=88)
        out.append((f"{kind}-{i}", buf.getvalue()))
    return out


def score(name: str, data: bytes) -> float:
    return local.face_score(images.prepare(data, min_side=80, name=name).data)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generated", type=int, default=40)
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"no test photos at {SHARED}")
    faces = [(p.name, score(p.name, p.read_bytes()))
             for p in sorted((SHARED / "faces").iterdir()) if p.suffix.lower() in PHOTOS]
    without = [(p.name, p.read_bytes()) for p in sorted((SHARED / "text").iterdir())
               if p.suffix.lower() in PHOTOS] + generated(args.generated)
    none = [(name, score(name, data)) for name, data in without]
    faintest = min(faces, key=lambda f: f[1])
    print(f"{len(faces)} face photos, {len(none)} photos without faces; faintest real face "
          f"{faintest[1]:.2f} ({faintest[0]}); detector's own bar 0")
    for threshold in sorted({-1.0, -0.75, local.PREFILTER_THRESHOLD, -0.25, 0.0}):
        kept = sum(s >= threshold for _, s in faces)
        skipped = sum(s < threshold for _, s in none)
        mark = "  <- import --prefilter local" if threshold == local.PREFILTER_THRESHOLD else ""
        lost = "none" if kept == len(faces) else f"those of {len(faces) - kept} photos"
        print(f"threshold {threshold:+.2f}: face photos sent {kept}/{len(faces)} (faces lost: "
              f"{lost}), photos without "
              f"faces skipped {skipped}/{len(none)} (IndexFaces calls saved){mark}")


if __name__ == "__main__":
    main()
