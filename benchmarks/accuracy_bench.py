"""Pairwise precision and recall of the people an import makes, per engine, before and after
the suggestion band: printed side by side.

Columns:
- "90 alone": a face joins whoever owns the faces it matches at 90 (the rule before the
  band; still the import's automatic rule);
- "band answered": the same import, then every face in `people suggest --faces` answered
  as a user who knows the labels would (accept when the person suggested is mostly the
  face's label, decline otherwise);
- "one bound at the floor": what a user loosening the single bound to the band's floor
  would get instead (FACE_MATCH_THRESHOLD patched down), to show what the band avoids.

Sets:
- fake (the in-process stand-in for Rekognition): generated identities with look-alikes
  and ageing. A child and the adult they became are two "identities" the engine scores
  at 87-88 and one label; siblings at 85 and twins at 89 are two labels.
- local on ../shared/data/faces: the 23 photos as they are, and "changed": each portrait
  again darker, blurred, mirrored and cropped-and-shrunk (light, sharpness, pose and
  size, as a library gathers over years). Faces of group photos are imported, not scored.

    python benchmarks/accuracy_bench.py [--skip-local]
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared/data/faces"
CHANGES = ("dark", "blur", "mirror", "small", "dim", "soft", "grain")


def pairs(scored: list[tuple[str, int]]) -> tuple[float, float, int, int, int]:
    tp = fp = fn = 0
    for (l1, p1), (l2, p2) in itertools.combinations(scored, 2):
        tp += l1 == l2 and p1 == p2
        fp += l1 != l2 and p1 == p2
        fn += l1 == l2 and p1 != p2
    return tp / max(1, tp + fp), tp / max(1, tp + fn), tp, fp, fn


def answer_suggestions(cat, label_of: dict[int, str]) -> tuple[int, int]:
    """Answer the queue as a user who knows who everyone is; (accepted, declined)."""
    from photosense_cli import people

    accepted = declined = 0
    while queue := cat.face_suggestions(10_000):
        for s in queue:
            members = Counter(label_of[f] for f in cat.face_ids_of_person(s.person[0])
                              if f in label_of)
            if s.face_id in label_of and members and members.most_common(1)[0][0] == label_of[s.face_id]:
                people.accept(cat, s.face_id)
                accepted += 1
            else:
                people.decline(cat, s.face_id)
                declined += 1
    return accepted, declined


def scored_faces(cat, label_of: dict[int, str]) -> list[tuple[str, int]]:
    return [(label_of[r["id"]], r["person_id"]) for r in cat.query("SELECT id, person_id FROM faces")
            if r["id"] in label_of]


def run(make_engine, folder: Path, labels_by_file: dict[str, str], *,
        floor: float | None = None) -> dict:
    """Import the folder; returns the metrics before and after the band is answered."""
    from photosense_cli import clustering
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.pipeline.importjob import Importer

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if floor is not None:
            old = clustering.FACE_MATCH_THRESHOLD
            clustering.FACE_MATCH_THRESHOLD = floor
            stack.callback(setattr, clustering, "FACE_MATCH_THRESHOLD", old)
        cat = Catalogue(Path(tmp) / "lib.db")
        engine = make_engine()
        try:
            Importer(cat, engine, threads=2 * (os.cpu_count() or 1)).run([str(folder)])
        finally:
            engine.close()
        label_of = {r["id"]: labels_by_file[os.path.basename(r["path"])] for r in cat.query(
            "SELECT f.id, l.path FROM faces f JOIN locations l ON l.photo_id = f.photo_id")
            if os.path.basename(r["path"]) in labels_by_file}
        before = pairs(scored_faces(cat, label_of))
        spread = distances(cat, label_of)
        file_of = {r["id"]: os.path.basename(r["path"]) for r in cat.query(
            "SELECT f.id, l.path FROM faces f JOIN locations l ON l.photo_id = f.photo_id")}
        prototypes = prototype_check(cat, label_of, file_of)
        split = split_check(cat, label_of) if spread else None
        queued = cat.count_face_suggestions()
        accepted, declined = answer_suggestions(cat, label_of)
        after = pairs(scored_faces(cat, label_of))
        cat.close()
    return {"before": before, "after": after, "queued": queued, "accepted": accepted,
            "declined": declined, "faces": len(label_of), "distances": spread, "split": split,
            "prototypes": prototypes}


def split_check(cat, label_of: dict[int, str]) -> str:
    """Every two labels' people merged by mistake, then `people split` proposed: how often
    the groups are exactly the two (each merge undone after)."""
    from photosense_cli import people, split

    owner: dict[str, Counter] = {}
    for face, label in label_of.items():
        person = cat.person_of_face(face)
        owner.setdefault(label, Counter())[person] += 1
    main = {label: c.most_common(1)[0][0] for label, c in owner.items()}
    exact = tried = 0
    for a, b in itertools.combinations(sorted(main), 2):
        pa, pb = cat.person(main[a]), cat.person(main[b])
        if pa is None or pb is None or pa.id == pb.id:
            continue
        before = {pa.id: set(cat.face_ids_of_person(pa.id)), pb.id: set(cat.face_ids_of_person(pb.id))}
        people.merge(cat, pa, [pb])
        merged = cat.person(pa.id)
        proposal = split.propose(cat, merged, lambda: None, 89.0)
        groups = sorted((set(g.face_ids) for g in proposal.groups), key=len)
        exact += groups == sorted(before.values(), key=len)
        tried += 1
        people.undo(cat)
    return f"split after a wrong merge: {exact} of {tried} label pairs came apart exactly"


def distances(cat, label_of: dict[int, str]) -> str | None:
    """Where the band lies among the descriptor distances (engines that keep descriptors):
    how many same-label and different-label pairs fall at each side of it."""
    import numpy as np

    from photosense_cli.engines.local import distance_within, similarity

    rows = [(label_of[r["id"]], np.frombuffer(r["descriptor"], np.float32)) for r in cat.query(
        "SELECT id, descriptor FROM faces WHERE descriptor IS NOT NULL") if r["id"] in label_of]
    if not rows:
        return None
    same, diff = [], []
    for (l1, d1), (l2, d2) in itertools.combinations(rows, 2):
        (same if l1 == l2 else diff).append(float(similarity(float(np.linalg.norm(d1 - d2)))))
    from photosense_cli.engines.local import LocalEngine

    floor = LocalEngine.suggest_threshold
    same_a, diff_a = np.array(same), np.array(diff)
    return (f"same-label pairs {len(same)}: lowest similarity {same_a.min():.1f}, "
            f"{int((same_a < 90).sum())} below 90, {int(((same_a >= floor) & (same_a < 90)).sum())} "
            f"in the band; different-label pairs {len(diff)}: highest {diff_a.max():.1f}, "
            f"{int((diff_a >= 90).sum())} at 90 or more, "
            f"{int(((diff_a >= floor) & (diff_a < 90)).sum())} in the band "
            f"(band {floor:g}-90 = distance {distance_within(90):.3f}-{distance_within(floor):.3f})")


YEAR_TWO = ("dim", "soft", "grain")  # the harder changes: a later decade's phones and scans


def prototype_check(cat, label_of: dict[int, str], file_of: dict[int, str]) -> str | None:
    """Would person prototypes (the mean of a person's descriptors, the offline analogue of
    user vectors) place year two's faces better than single faces? Year one: the shared
    portraits and their lighter changes, each label one person (as corrected); year two:
    the harder changes. Each year-two face at 90: joined to the right person, the wrong
    one, or to no one, by its best single face and by its best prototype."""
    import numpy as np

    from photosense_cli.engines.local import similarity

    rows = [(r["id"], np.frombuffer(r["descriptor"], np.float32)) for r in cat.query(
        "SELECT id, descriptor FROM faces WHERE descriptor IS NOT NULL") if r["id"] in label_of]
    if not rows:
        return None
    two = [(f, d) for f, d in rows if file_of[f].rsplit("_", 1)[-1].split(".")[0] in YEAR_TWO]
    later = {f for f, _ in two}
    one = [(f, d) for f, d in rows if f not in later]
    labels = sorted({label_of[f] for f, _ in one})
    mine = {lab: np.stack([d for f, d in one if label_of[f] == lab]) for lab in labels}
    protos = np.stack([mine[lab].mean(0) for lab in labels])
    singles = np.stack([d for _, d in one])
    single_labels = [label_of[f] for f, _ in one]
    counts = {"single": Counter(), "prototype": Counter()}
    for f, d in two:
        sims = similarity(np.linalg.norm(singles - d, axis=1))
        best = int(np.argmax(sims))
        counts["single"][_verdict(sims[best], single_labels[best], label_of[f])] += 1
        psims = similarity(np.linalg.norm(protos - d, axis=1))
        pbest = int(np.argmax(psims))
        counts["prototype"][_verdict(psims[pbest], labels[pbest], label_of[f])] += 1
    return "; ".join(f"{kind}: {c['right']} right, {c['wrong']} wrong, {c['none']} to no one"
                     for kind, c in counts.items()) + f" (year two: {len(two)} faces)"


def _verdict(score: float, label: str, truth: str) -> str:
    return "none" if score < 90 else "right" if label == truth else "wrong"


def fake_set(folder: Path) -> tuple[callable, dict[str, str]]:
    from photosense_cli.engines.fake import FakeEngine, draw_photo

    # identity -> label; the engine's similarities between identities
    label = {0: "ann", 1: "ann", 2: "bob", 3: "cal", 4: "dee", 5: "dee", 6: "eve", 7: "fay",
             8: "gus", 9: "gus"}
    similar = {(0, 1): 87.0, (4, 5): 88.0, (8, 9): 86.0,  # ageing: one label
               (2, 3): 85.0, (6, 7): 89.0}  # siblings, twins: two labels
    labels = {}
    for ident, (k) in itertools.product(range(10), range(6)):
        name = f"id{ident}_{k}.png"
        # 640 px and up: smaller, the importer's JPEG fringes read as a second square
        draw_photo(size=(640 + 16 * k, 480 + 8 * ident),
                   faces=[(ident, (0.1 + 0.05 * k, 0.2, 0.3, 0.4))]).save(folder / name)
        labels[name] = label[ident]

    def make():
        engine = FakeEngine()
        engine.similar = dict(similar)
        return engine

    return make, labels


# The staged set for user vectors: two imports a year apart. Ann and Bob each have looks
# (light, pose, age) the fake scores 88 % alike, below the 90 that clusters, and get a new
# look in the second year, as alike to each earlier look as those are to each other. Cal
# is Ann's sibling (80 % like each of her looks); Eve is her twin (86 %); Dee is Bob's
# twin at 87 %, the hard case: as alike to each of his looks as a user's mean can tell
# apart from them no more. Fay is no one's. The similarities are cosines of vectors, so
# that a user's mean means what it would (the fake draws users from them).
STAGED_LABEL = {0: "ann", 1: "ann", 2: "ann", 3: "ann", 4: "bob", 5: "bob", 6: "bob",
                7: "bob", 8: "cal", 9: "dee", 10: "eve", 11: "fay"}
STAGED_FIRST = {0: 3, 1: 3, 2: 3, 4: 3, 5: 3, 6: 3, 8: 2, 9: 2, 10: 2, 11: 2}  # photos each
STAGED_SECOND = {3: 3, 7: 3, 0: 1, 4: 1, 8: 1, 9: 1, 10: 1, 11: 1}
LOOKS = 0.88


def staged_similar() -> dict[tuple[int, int], float]:
    import numpy as np

    basis = np.eye(24)
    ann, bob, cal, dee, eve, fay = basis[0], basis[1], basis[2], basis[3], basis[4], basis[5]
    noise = iter(basis[6:])
    vectors = {}
    for person, looks in ((ann, (0, 1, 2, 3)), (bob, (4, 5, 6, 7))):
        for i in looks:  # each look: the person, and its own share of light, pose and age
            vectors[i] = np.sqrt(LOOKS) * person + np.sqrt(1 - LOOKS) * next(noise)

    def like(person, each: float, own):  # as alike to each of the person's looks as `each`
        share = each / np.sqrt(LOOKS)
        return share * person + np.sqrt(1 - share**2) * own

    vectors[8] = like(ann, 0.80, cal)
    vectors[10] = like(ann, 0.86, eve)
    vectors[9] = like(bob, 0.87, dee)
    vectors[11] = fay
    return {(a, b): round(100 * float(vectors[a] @ vectors[b]), 2)
            for a, b in itertools.combinations(sorted(vectors), 2)
            if vectors[a] @ vectors[b] > 0}


def staged(folder: Path, *, users: bool, threshold: float = 90.0, min_faces: int = 2) -> dict:
    """Import year one, correct it as the user would (each label one person), import year
    two; the pairs after year two, before its questions are answered."""
    from photosense_cli import uservectors
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.engines.fake import FakeEngine, draw_photo
    from photosense_cli.pipeline import analyse
    from photosense_cli.pipeline.importjob import Importer

    labels = {}
    for year, counts in (("one", STAGED_FIRST), ("two", STAGED_SECOND)):
        (folder / year).mkdir(parents=True, exist_ok=True)
        for ident, n in counts.items():
            for k in range(n) if year == "one" else range(5, 5 + n):  # no photo twice
                name = f"{year}_id{ident}_{k}.png"
                draw_photo(size=(640 + 16 * k, 480 + 8 * ident),
                           faces=[(ident, (0.1 + 0.05 * k, 0.2, 0.3, 0.4))]).save(folder / year / name)
                labels[name] = STAGED_LABEL[ident]
    engine = FakeEngine()
    engine.similar = staged_similar()
    engine.user_vectors = users  # type: ignore[misc]
    saved = (analyse.USER_MATCH_THRESHOLD, uservectors.USER_MIN_FACES)
    analyse.USER_MATCH_THRESHOLD, uservectors.USER_MIN_FACES = threshold, min_faces
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cat = Catalogue(Path(tmp) / "lib.db")
            Importer(cat, engine, threads=4).run([str(folder / "one")])
            correct_all(cat, _labels(cat, labels))
            searches = engine.calls["SearchFaces"] + engine.calls["SearchUsers"]
            s = Importer(cat, engine, threads=4).run([str(folder / "two")])
            label_of = _labels(cat, labels)
            out = {"pairs": pairs(scored_faces(cat, label_of)), "by_user": s.faces_by_user,
                   "asked": cat.count_face_suggestions(), "faces": len(label_of),
                   "calls": dict(s.calls), "searches": engine.calls["SearchFaces"]
                   + engine.calls["SearchUsers"] - searches}
            cat.close()
    finally:
        analyse.USER_MATCH_THRESHOLD, uservectors.USER_MIN_FACES = saved
    return out


def correct_all(cat, label_of: dict[int, str]) -> None:
    """What a user's review of year one leaves: each label's people merged into one."""
    from photosense_cli import people

    owners: dict[str, set[int]] = {}
    for face, label in label_of.items():
        owners.setdefault(label, set()).add(cat.person_of_face(face))
    for ids in owners.values():
        first, *rest = sorted(ids)
        if rest:
            people.merge(cat, cat.person(first), [cat.person(p) for p in rest])


def _labels(cat, labels_by_file: dict[str, str]) -> dict[int, str]:
    return {r["id"]: labels_by_file[os.path.basename(r["path"])] for r in cat.query(
        "SELECT f.id, l.path FROM faces f JOIN locations l ON l.photo_id = f.photo_id")
        if os.path.basename(r["path"]) in labels_by_file}


def show_staged() -> None:
    print("\nfake engine, user vectors: year two's import after year one was corrected")
    print(f"{'searched against':<34}{'faces':>6}  {'pairs':>16}  {'by user':>8}  {'asked':>6}"
          f"  {'year-two calls':>14}")
    rows = [("single faces (90)", {"users": False})]
    rows += [(f"users at {t:g} (from {n} faces), then single",
              {"users": True, "threshold": t, "min_faces": n})
             for t, n in ((90.0, 2), (93.0, 2), (85.0, 2), (90.0, 3), (90.0, 5))]
    for title, kw in rows:
        with tempfile.TemporaryDirectory() as tmp:
            r = staged(Path(tmp), **kw)
        p = r["pairs"]
        calls = sum(v for k, v in r["calls"].items() if k.startswith(("Search", "Associate")))
        print(f"{title:<34}{r['faces']:>6}  P {p[0]:.3f} R {p[1]:.3f}  {r['by_user']:>8}  "
              f"{r['asked']:>6}  {calls:>14}")


def changed_set(folder: Path) -> dict[str, str]:
    """The shared portraits, and each again four ways changed."""
    from PIL import Image, ImageEnhance, ImageFilter, ImageOps

    rows = list(csv.DictReader(open(SHARED / "labels.csv")))
    labels = {}
    for r in rows:
        people = r["people"].split(";")
        src = SHARED / r["file"]
        stem = Path(r["file"]).stem
        img = ImageOps.exif_transpose(Image.open(src)).convert("RGB")
        img.save(folder / f"{stem}.png")
        if len(people) != 1:
            continue  # imported, not scored
        labels[f"{stem}.png"] = people[0]
        w, h = img.size
        variants = {
            "dark": ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(0.45)).enhance(0.7),
            "blur": img.filter(ImageFilter.GaussianBlur(max(1.5, w / 500))),
            "mirror": ImageOps.mirror(img),
            "small": img.crop((w // 8, h // 8, w - w // 8, h - h // 8)).resize(
                (max(160, w * 3 // 8), max(120, h * 3 // 8))),
            # harder: what a decade of phones and scans does to one face
            "dim": ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(0.3)).enhance(0.5),
            "soft": img.filter(ImageFilter.GaussianBlur(max(3.0, w / 180))),
            "grain": Image.blend(img, Image.effect_noise(img.size, 60).convert("RGB"), 0.35),
        }
        for kind, v in variants.items():
            v.save(folder / f"{stem}_{kind}.png")
            labels[f"{stem}_{kind}.png"] = people[0]
    return labels


def only(folder: Path, labels: dict[str, str], keep) -> Path:
    out = folder.parent / (folder.name + "-part")
    out.mkdir()
    for name in os.listdir(folder):
        if keep(name):
            os.link(folder / name, out / name)
    return out


def show(title: str, rows: list[tuple[str, dict, dict]]) -> None:
    print(f"\n{title}")
    print(f"{'set':<22}{'faces':>6}  {'90 alone':>16}  {'band answered':>16}  "
          f"{'asked':>11}  {'bound at floor':>16}")
    for name, r, loose in rows:
        b, a, lo = r["before"], r["after"], loose["before"]
        print(f"{name:<22}{r['faces']:>6}  P {b[0]:.3f} R {b[1]:.3f}  P {a[0]:.3f} R {a[1]:.3f}  "
              f"{r['accepted']:>3} yes {r['declined']:>2} no  P {lo[0]:.3f} R {lo[1]:.3f}")
        if r["distances"]:
            print(f"  {r['distances']}")
        if r["split"]:
            print(f"  {r['split']}")
        if r.get("prototypes"):
            print(f"  person prototypes, year two against year one at 90: {r['prototypes']}")


def main() -> None:
    from photosense_cli.engines.fake import FakeEngine

    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "fake"
        folder.mkdir()
        make, labels = fake_set(folder)
        floor = FakeEngine.suggest_threshold
        show(f"fake engine (Rekognition's stand-in), band {floor:g}-90",
             [("ageing + look-alikes", run(make, folder, labels),
               run(make, folder, labels, floor=floor))])
    show_staged()

    if "--skip-local" in sys.argv or not SHARED.is_dir():
        print("\nlocal engine: skipped" + ("" if SHARED.is_dir() else f" ({SHARED} is absent)"))
        return
    from photosense_cli.engines.local import LocalEngine

    floor = LocalEngine.suggest_threshold

    def make_local():
        return LocalEngine(processes=os.cpu_count(), text=False)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "shared"
        folder.mkdir()
        labels = changed_set(folder)
        original = only(folder, labels, lambda n: not any(
            n.endswith(f"_{k}.png") for k in CHANGES))
        rows = []
        for name, where in (("shared photos", original), ("shared + changed", folder)):
            rows.append((name, run(make_local, where, labels),
                         run(make_local, where, labels, floor=floor)))
        show(f"local engine, band {floor:g}-90", rows)


if __name__ == "__main__":
    main()
