"""Calibrate the local engine's match distance on ../shared/data/faces.

Detects and describes every face, assigns each face to a label (single-person
photos give their label; in group photos a face takes the label of its nearest
single-person face), then prints the same-person and different-person distance
ranges and pairwise precision/recall at candidate thresholds.

    python benchmarks/calibrate_local.py [FACES_DIR]
"""

import csv
import itertools
import sys
from pathlib import Path

import numpy as np

from photosense_cli import images
from photosense_cli.engines.local import MATCH_DISTANCE, detect_faces

root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data/faces"
labels = {r["file"]: r["people"].split(";") for r in csv.DictReader(open(root / "labels.csv"))}

faces = []  # (file, labels of the photo, descriptor)
for name, people in sorted(labels.items()):
    prepared = images.prepare((root / name).read_bytes())
    found = detect_faces(prepared.data)
    print(f"{name:34} {len(found)} face(s), labelled {len(people)}")
    for box, conf, desc in found:
        faces.append((name, people, np.frombuffer(desc, np.float32)))

# A face in a group photo takes the label of its nearest portrait among the photo's
# labels; a face far from all of them is someone the labels do not name: left out.
singles = [(labs[0], d) for _, labs, d in faces if len(labs) == 1]
resolved = []
for name, labs, d in faces:
    if len(labs) > 1:
        dist, lab = min((float(np.linalg.norm(s - d)), l) for l, s in singles if l in labs)
        if dist > 0.75:
            print(f"{name}: one face is none of {labs} (nearest {dist:.2f}); left out")
            continue
        labs = [lab]
    resolved.append((name, labs[0], d))

same, diff = [], []
for (n1, l1, d1), (n2, l2, d2) in itertools.combinations(resolved, 2):
    (same if l1 == l2 else diff).append(float(np.linalg.norm(d1 - d2)))
same, diff = np.array(same), np.array(diff)
print(f"\nfaces {len(resolved)}; same-person pairs {len(same)}, different-person pairs {len(diff)}")
print(f"same-person distance:      min {same.min():.3f}  median {np.median(same):.3f}  max {same.max():.3f}")
print(f"different-person distance: min {diff.min():.3f}  median {np.median(diff):.3f}  max {diff.max():.3f}")
for t in (0.50, 0.54, 0.56, MATCH_DISTANCE, 0.60, 0.62, 0.65):
    tp, fp, fn = (same <= t).sum(), (diff <= t).sum(), (same > t).sum()
    print(f"threshold {t:.2f}: pairwise precision {tp / max(1, tp + fp):.3f}  recall {tp / max(1, tp + fn):.3f}"
          + ("   <- MATCH_DISTANCE" if t == MATCH_DISTANCE else ""))
