"""Corrections that sort a person's faces: a birth date (`people born`) and a split into
groups (`people split`), each one undoable change like the others in people.py."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import Engine, Usage
from photosense_cli.errors import PhotosenseError
from photosense_cli.people import Step, keep_out
from photosense_cli.records import ChangeKind, Face, Person, SplitGroup, SplitProposal

# Faces a split compares at most. Average linkage costs O(n^2) memory and ~O(n^3) time
# over them: 1,000 descriptors take ~2 s here (2 cores); on a cloud engine each face is
# one SearchFaces (USD 0.001), so its share is CLOUD_SPLIT_FACES. Faces beyond go to the
# group of the sampled face they are most like (descriptors), or stay with the largest
# group (a cloud engine), and the proposal says how many.
SPLIT_FACES = 1000
CLOUD_SPLIT_FACES = 200
SAMPLES = 3  # sample paths shown per group


# -- born ------------------------------------------------------------------------------


def parse_day(text: str, today: dt.date | None = None) -> str:
    """YYYY-MM-DD, YYYY-MM or YYYY as the first day it can mean: a birth date known only
    to the year keeps out no photo of that year."""
    text = text.strip()
    forms = {10: "%Y-%m-%d", 7: "%Y-%m", 4: "%Y"}
    try:
        day = dt.datetime.strptime(text, forms[len(text)]).date()
    except (KeyError, ValueError):
        raise PhotosenseError(f"{text!r} is not a date: use YYYY-MM-DD, YYYY-MM or YYYY") from None
    if day > (today or dt.date.today()):
        raise PhotosenseError(f"{day.isoformat()} is in the future")
    return day.isoformat()


def born_step(cat: Catalogue, person: Person, day: str | None) -> Step:
    """Set (or clear, day=None) a birth date; the person's faces from photos the camera
    dated before it leave together for one new unnamed person (likely a look-alike:
    a parent, an older sibling)."""
    old = cat.born(person.id)
    cat.set_born(person.id, day)
    before = cat.faces_before(person.id, day) if day else []
    moved_to = keep_out(cat, before) if before else None
    summary = (f"{person.name!r} was born on {day}" if day
               else f"{person.name!r} has no birth date")
    if before:
        summary += (f"; {len(before)} face{'s' * (len(before) != 1)} from photos taken "
                    f"before it went to a new person {moved_to}")
    return ChangeKind.BORN, summary, {"person": person.id, "born": old, "faces": before,
                                      "moved_to": moved_to}


def born(cat: Catalogue, person: Person, day: str | None) -> str:
    with cat.transaction():
        step = born_step(cat, person, day)
        cat.log_change(*step)
    return step[1]


# -- split -----------------------------------------------------------------------------


def propose(cat: Catalogue, person: Person, engine: Callable[[], Engine],
            threshold: float) -> SplitProposal:
    """Sub-cluster a person's faces by average linkage, two faces of one photo never in one
    group; the largest group first (it keeps the person)."""
    by_id = {f.id: f for f in cat.faces_of_person(person.id)}
    rows = cat.descriptors_by_date(person.id)
    faces = [by_id[i] for i, _ in rows if i in by_id]
    vectors = {i: d for i, d in rows if d is not None}
    usage = Usage()
    if not faces:
        raise PhotosenseError(f"{person.name!r} has no face to split")
    if len(vectors) == len(faces):
        sample = _spread(faces, SPLIT_FACES)
        sims = _descriptor_similarity([vectors[f.id] for f in sample])
    else:
        sample = _spread(faces, CLOUD_SPLIT_FACES)
        sims = _searched_similarity(sample, engine(), threshold, usage)
        with cat.transaction():
            cat.log_calls(None, engine().name, usage)
    photos = [f.photo_id for f in sample]
    labels = average_linkage(sims, photos, threshold)
    groups: dict[int, list[Face]] = {}
    for face, label in zip(sample, labels, strict=True):
        groups.setdefault(label, []).append(face)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), min(f.id for f in g)))
    _place_the_rest(faces, sample, ordered, vectors)
    paths = cat.paths_of(sorted({f.photo_id for f in faces}))
    out = [SplitGroup(sorted(f.id for f in g), len({f.photo_id for f in g}),
                      _samples(g, paths), new=i > 0) for i, g in enumerate(ordered)]
    return SplitProposal(person, out, threshold, calls=len(usage.calls))


def _spread(faces: list[Face], limit: int) -> list[Face]:
    """Up to `limit` faces spread evenly over the person's faces in photo order (so over
    the years), not the first ones."""
    if len(faces) <= limit:
        return faces
    step = len(faces) / limit
    return [faces[int(i * step)] for i in range(limit)]


def _descriptor_similarity(descriptors: list[bytes]):
    import numpy as np

    from photosense_cli.engines.local import similarity

    vectors = np.stack([np.frombuffer(d, np.float32) for d in descriptors])
    squared = (vectors**2).sum(1)
    distance = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * vectors @ vectors.T,
                                  0.0))
    return np.asarray(similarity(distance), dtype=np.float64)


def _searched_similarity(faces: list[Face], engine: Engine, threshold: float, usage: Usage):
    """Each face searched in the collection once; a pair not found counts as 0. Where two
    searches disagree (MaxFaces cut one), the higher similarity counts."""
    import numpy as np

    index = {f.engine_face_id: i for i, f in enumerate(faces)}
    sims = np.zeros((len(faces), len(faces)))
    for i, face in enumerate(faces):
        for m in engine.search_faces(face.engine_face_id, min(threshold, 50.0), usage):
            j = index.get(m.face_id)
            if j is not None and j != i:
                sims[i, j] = sims[j, i] = max(sims[i, j], m.similarity)
    return sims


def average_linkage(sims, photos: list[int], threshold: float) -> list[int]:
    """Group labels: clusters joined while their mean similarity reaches the threshold,
    the most alike first, never two clusters that share a photo."""
    import numpy as np

    n = len(photos)
    s = np.array(sims, dtype=np.float64, copy=True)
    np.fill_diagonal(s, -np.inf)
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    members: list[set[int]] = [{p} for p in photos]
    label = list(range(n))
    for i in range(n):  # faces of one photo never join
        for j in range(i + 1, n):
            if photos[i] == photos[j]:
                s[i, j] = s[j, i] = -np.inf
    while True:
        flat = int(np.argmax(s))
        a, b = divmod(flat, n)
        if not np.isfinite(s[a, b]) or s[a, b] < threshold:
            break
        # Lance-Williams, average linkage: the merged row is the size-weighted mean
        merged = (sizes[a] * s[a] + sizes[b] * s[b]) / (sizes[a] + sizes[b])
        members[a] |= members[b]
        blocked = np.array([bool(members[a] & members[k]) if alive[k] else True
                            for k in range(n)])
        merged[blocked] = -np.inf  # a pair barred before stays -inf through the mean
        s[a], s[:, a] = merged, merged
        s[b], s[:, b] = -np.inf, -np.inf
        s[a, a] = -np.inf
        sizes[a] += sizes[b]
        alive[b] = False
        label = [a if x == b else x for x in label]
    return label


def _place_the_rest(faces: list[Face], sample: list[Face], groups: list[list[Face]],
                    vectors: dict[int, bytes]) -> None:
    """Faces beyond the sample join the group of the sampled face most like them, or the
    largest group when they carry no descriptor."""
    import numpy as np

    chosen = {f.id for f in sample}
    rest = [f for f in faces if f.id not in chosen]
    if not rest:
        return
    group_of = {f.id: k for k, g in enumerate(groups) for f in g}
    if rest[0].id not in vectors:
        groups[0].extend(rest)
        return
    picked = np.stack([np.frombuffer(vectors[f.id], np.float32) for f in sample])
    for face in rest:
        d = np.linalg.norm(picked - np.frombuffer(vectors[face.id], np.float32), axis=1)
        groups[group_of[sample[int(np.argmin(d))].id]].append(face)


def _samples(group: list[Face], paths: dict[int, list[str]]) -> list[str]:
    seen = Counter(f.photo_id for f in group)
    return [paths[p][0] for p, _ in seen.most_common() if paths.get(p)][:SAMPLES]


def apply(cat: Catalogue, proposal: SplitProposal) -> SplitProposal:
    """The largest group keeps the person; each other becomes a new unnamed person, and
    the groups are remembered as different people (no suggestion puts them back)."""
    person = proposal.person
    with cat.transaction():
        now = set(cat.face_ids_of_person(person.id))
        planned = {f for g in proposal.groups for f in g.face_ids}
        if now != planned:
            raise PhotosenseError(f"{person.name!r} changed since the split was proposed: "
                                  "run it again")
        created = []
        for group in proposal.groups[1:]:
            new = cat.create_person()
            cat.assign_faces(group.face_ids, new)
            cat.set_cover_if_none(new)
            created.append(new)
        cat.set_cover(person.id, None)  # its cover may have left with another group
        everyone = [person.id, *created]
        rejected = [[a, b, cat.reject_pair(a, b)] for i, a in enumerate(everyone)
                    for b in everyone[i + 1:]]
        cat.log_change(ChangeKind.SPLIT, f"split {person.name!r} into {len(everyone)} people",
                       {"person": person.id, "created": created, "rejected": rejected,
                        "groups": [g.face_ids for g in proposal.groups[1:]]})
    proposal.applied, proposal.created = True, created
    return proposal
