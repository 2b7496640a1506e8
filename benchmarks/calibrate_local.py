"""Calibrate the local engine on ../shared/data/faces, and measure the clustering it gives.

Imports the folder with the local engine (the real pipeline), labels each face
(a portrait's face takes the photo's label; a face in a group photo takes the
label of its nearest portrait among the photo's labels, or none when it is far
from all of them: someone the labels do not name), then prints:
- same-person and different-person descriptor distances, and pairwise
  precision/recall at candidate thresholds;
- pairwise precision/recall of the people the import actually made.

    python benchmarks/calibrate_local.py [FACES_DIR]
"""

import csv
import itertools
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.local import MATCH_DISTANCE, LocalEngine
from photosense_cli.pipeline.importjob import Importer


def main() -> None:
    # spawned engine workers import this module again: keep the work out of import time
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data/faces"
    labels = {r["file"]: r["people"].split(";") for r in csv.DictReader(open(root / "labels.csv"))}

    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalogue(Path(tmp) / "lib.db")
        engine = LocalEngine(processes=os.cpu_count())
        summary = Importer(cat, engine, threads=2 * (os.cpu_count() or 1)).run([str(root)])
        engine.close()
        rows = cat.query("SELECT f.person_id, f.descriptor, l.path FROM faces f "
                         "JOIN locations l ON l.photo_id = f.photo_id ORDER BY l.path, f.id")
    print(f"imported {summary.new} photos: {summary.faces} faces, {summary.people_created} people")

    faces = [(os.path.basename(r["path"]), r["person_id"], np.frombuffer(r["descriptor"], np.float32))
             for r in rows]
    for name, people in sorted(labels.items()):
        found = sum(1 for f in faces if f[0] == name)
        if found != len(people):
            print(f"{name}: {found} faces found, {len(people)} labelled")

    portraits = [(labels[n][0], d) for n, _, d in faces if len(labels[n]) == 1]
    resolved = []  # (label, person, descriptor)
    for name, person, d in faces:
        if len(labels[name]) == 1:
            resolved.append((labels[name][0], person, d))
    # A group photo's faces take its labels one each (two faces of a photo are two
    # people), closest pairs first, to the labels' portraits; a face left over is
    # someone unlabelled. Each face choosing its nearest label on its own let a stranger
    # at 0.74 from an Obama portrait count as a second Obama in the Obama-Biden photo.
    for name in sorted({n for n, _, _ in faces if len(labels[n]) > 1}):
        group = [(person, d) for n, person, d in faces if n == name]
        pairs = sorted((min(float(np.linalg.norm(p - d)) for label, p in portraits if label == lab),
                        i, lab) for i, (_, d) in enumerate(group) for lab in labels[name])
        taken_faces, taken_labels = set(), set()
        for _, i, lab in pairs:
            if i in taken_faces or lab in taken_labels:
                continue
            taken_faces.add(i)
            taken_labels.add(lab)
            resolved.append((lab, group[i][0], group[i][1]))
        left = len(group) - len(taken_faces)
        if left:
            print(f"{name}: {left} face(s) left over once each of {labels[name]} has its own; "
                  "left out")

    same, diff = [], []
    tp = fp = fn = 0
    for (l1, p1, d1), (l2, p2, d2) in itertools.combinations(resolved, 2):
        (same if l1 == l2 else diff).append(float(np.linalg.norm(d1 - d2)))
        tp += l1 == l2 and p1 == p2
        fp += l1 != l2 and p1 == p2
        fn += l1 == l2 and p1 != p2
    same, diff = np.array(same), np.array(diff)
    print(f"\nlabelled faces {len(resolved)}; same-person pairs {len(same)}, different-person pairs {len(diff)}")
    print(f"same-person distance:      min {same.min():.3f}  median {np.median(same):.3f}  max {same.max():.3f}")
    print(f"different-person distance: min {diff.min():.3f}  median {np.median(diff):.3f}  max {diff.max():.3f}")
    for t in (0.50, 0.54, 0.56, MATCH_DISTANCE, 0.60, 0.62, 0.65):
        a, b, c = (same <= t).sum(), (diff <= t).sum(), (same > t).sum()
        print(f"threshold {t:.2f}: pairwise precision {a / max(1, a + b):.3f}  recall {a / max(1, a + c):.3f}"
              + ("   <- MATCH_DISTANCE" if t == MATCH_DISTANCE else ""))
    print(f"\nclustering by the import: pairwise precision {tp / max(1, tp + fp):.3f}  "
          f"recall {tp / max(1, tp + fn):.3f}  ({tp} pairs together rightly, {fp} wrongly, {fn} split)")
    people_per_label = {}
    for lab, person, _ in resolved:
        people_per_label.setdefault(lab, set()).add(person)
    print("people per label:", ", ".join(f"{k} {len(v)}" for k, v in sorted(people_per_label.items())))


if __name__ == "__main__":
    main()
