"""Boxes against boxes: which detected face is which, across engines and metadata."""

from __future__ import annotations

from photosense_cli.records import Box, TextLine

# Boxes of one face from two engines overlap far more than this; two different faces of
# one photo rarely do (the shared group photos: at most 0.05 between neighbours).
SAME_FACE_IOU = 0.3


def same_face(a: Box, b: Box) -> bool:
    """Whether two boxes of one photo are one face (another engine's box, a rejection's)."""
    return a.iou(b) >= SAME_FACE_IOU


def pair_faces(new: list[Box], old: list[Box]) -> dict[int, int]:
    """Greedy best-overlap pairing: index of a new face -> index of the old face it is."""
    pairs = sorted(((n.iou(o), i, j) for i, n in enumerate(new) for j, o in enumerate(old)),
                   reverse=True)
    taken_new, taken_old, out = set(), set(), {}
    for score, i, j in pairs:
        if score < SAME_FACE_IOU:
            break
        if i not in taken_new and j not in taken_old:
            out[i] = j
            taken_new.add(i)
            taken_old.add(j)
    return out


def overlap(face: Box, region: Box) -> float:
    """How well a region names a face: IoU, or a token 0.3 when only the face's centre is
    inside the region; 0 for no overlap that counts."""
    iou = face.iou(region)
    if iou >= 0.3:
        return iou
    cx, cy = face.left + face.width / 2, face.top + face.height / 2
    inside = (region.left <= cx <= region.left + region.width
              and region.top <= cy <= region.top + region.height)
    return 0.3 if inside else 0.0


def reading_order(lines: list[TextLine]) -> list[TextLine]:
    """Lines as a sign, a form or a whiteboard is read: rows top to bottom, each left to
    right. A line joins the row above when its middle lies within the height of that
    row's first line (OCR boxes of one row differ in top by a few pixels)."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda t: (t.box.top, t.box.left)):
        middle = line.box.top + line.box.height / 2
        first = rows[-1][0].box if rows else None
        if first is not None and first.top <= middle <= first.top + first.height:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda t: t.box.left)]
