"""Reviewing people: the queue to name, one card per person, what a typed name does, and
the review file (`people review --export/--apply`) checked whole before one change.

Every correction here is made with the same steps as the CLI's commands (people.py), so
history, undo and the rules (a rejection is remembered, a merge keeps ids) are one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from photosense_cli.catalogue import Catalogue
from photosense_cli.errors import Ambiguous, PhotosenseError
from photosense_cli.people import (
    LISTED_FACES,
    Step,
    clean_name,
    hide_step,
    merge_step,
    move_step,
    rename_step,
)
from photosense_cli.records import (
    Candidate,
    ChangeKind,
    Face,
    NamePlan,
    Person,
    ReviewCard,
)

# Faces on one card: the grid shows 8 at 80x24 and 24 at 120x40 (tiles of 12x7 cells);
# the rest of a big person scrolls. 24 crops cost one decode each of up to 24 photos.
CARD_FACES = 24
EXPORT_FACES = 60  # face ids in an exported line: enough to pick out the wrong ones
CANDIDATES = 3  # merge candidates on a card: the fourth best is rarely the one
# Suggestion pairs queued after the unnamed people: beyond a few hundred, a user runs
# `people suggest --search` again on a corrected library rather than work down a list.
QUEUED_SUGGESTIONS = 500

MAX_FILE_BYTES = 64 << 20  # a review file of 100,000 people is ~40 MB
MAX_PROBLEMS = 10  # lines reported of a bad file; the count says the rest
# What an exported line carries besides the actions: read back, ignored.
EXPORTED_KEYS = {"id", "name", "label", "faces", "photos", "first", "last", "face_ids",
                 "sample", "candidates", "sheet", "hide", "merge_into", "not"}


def queue(cat: Catalogue, *, person_ids: list[int] | None = None, limit: int | None = None,
          everyone: bool = False) -> list[tuple[int, int | None]]:
    """(person, person to ask about) in review order: the unnamed people as
    `people --unnamed` lists them, biggest first, then faces suggested to someone and
    suggested pairs ("is this X?")."""
    if person_ids:
        items: list[tuple[int, int | None]] = [(p, None) for p in dict.fromkeys(person_ids)]
    else:
        ids = cat.unnamed_ids(0 if everyone else LISTED_FACES)
        items = [(p, None) for p in ids]
        queued = set(ids)  # an unnamed person's card shows their candidates already
        # faces that asked "is this X?" (their match fell in the band): their own person's
        # card, asking about X; merging answers yes, "not this person" declines the face
        for f in cat.face_suggestions(QUEUED_SUGGESTIONS):
            if f.now[0] is not None and f.now[0] not in queued:
                items.append((f.now[0], f.person[0]))
                queued.add(f.now[0])
        for s in cat.suggestions(QUEUED_SUGGESTIONS):
            a, b = s.a[0], s.b[0]
            if a not in queued and b not in queued:
                items.append((b, a))
    return items[:limit] if limit else items


def card(cat: Catalogue, person_id: int, *, ask: int | None = None,
         faces: int = CARD_FACES) -> ReviewCard | None:
    """What the review shows of a person; None when they are gone (merged, forgotten)."""
    person = cat.person(person_id)
    if person is None:
        return None
    shown = cat.clearest_faces(person_id, faces)
    candidates = [Candidate(p, score, source)
                  for p, score, source in cat.candidates_of(person_id, CANDIDATES)]
    if ask is not None and (asked := cat.person(ask)) is not None:
        candidates = [Candidate(asked, next((c.score for c in candidates
                                             if c.person.id == ask), 0.0), "suggestion")] + [
            c for c in candidates if c.person.id != ask][:CANDIDATES - 1]
    covers = [cat.face(c.person.cover_face_id) for c in candidates
              if c.person.cover_face_id is not None]
    cover_faces = {f.person_id: f for f in covers if f is not None}
    photo_ids = sorted({f.photo_id for f in shown} | {f.photo_id for f in cover_faces.values()})
    paths = {pid: found[0] for pid, found in cat.paths_of(photo_ids).items() if found}
    on_photos = cat.faces_on([p for p in photo_ids if p in paths])
    first, last = cat.dates_of_person(person_id)
    return ReviewCard(person, shown, paths, first, last, candidates, ask,
                      covers={c.person.id: cover_faces[c.person.id] for c in candidates
                              if c.person.id in cover_faces},
                      crop_plan={paths[pid]: fs for pid, fs in on_photos.items()})


def name_plan(cat: Catalogue, person: Person, typed: str) -> NamePlan:
    """What giving `person` the name `typed` does: rename them, or (the name is someone
    else's already) merge them into that person. Nothing changes here."""
    name = clean_name(typed)
    if person.named and person.name == name:
        return NamePlan("same", name, person)
    others = [p for p in cat.people_named(name) if p.id != person.id]
    if len(others) > 1:
        raise Ambiguous(f"{len(others)} people are called {name!r} "
                        f"({', '.join(str(p.id) for p in others)}): merge with the right one "
                        f"by id (photosense people merge ID {person.id})")
    if others:
        return NamePlan("merge", name, others[0])
    return NamePlan("rename", name, None)


# -- the review file ------------------------------------------------------------------


@dataclass
class ReviewOp:
    """One step of an applied review file, in the order they run."""

    kind: str  # "not", "rename", "merge", "hide"
    person: int
    face: int | None = None
    name: str | None = None
    into: int | None = None


@dataclass
class ReviewPlan:
    ops: list[ReviewOp] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    lines: int = 0

    def problem(self, where: str, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{where}: {text}")


def parse_lines(data: bytes, plan: ReviewPlan, source: str) -> list[tuple[int, dict]]:
    """The JSON objects of a review file, each with its line number; problems otherwise."""
    if len(data) > MAX_FILE_BYTES:
        plan.problem(source, f"over {MAX_FILE_BYTES >> 20} MB: not a review file")
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        plan.problem(source, f"not UTF-8 text (byte {e.start})")
        return []
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            plan.problem(f"line {n}", f"not JSON: {e.msg} at column {e.colno}")
            continue
        if not isinstance(obj, dict):
            plan.problem(f"line {n}", "not a JSON object")
            continue
        out.append((n, obj))
    plan.lines = len(out)
    return out


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Planner:
    """Checks each line against the library and what earlier lines did, in order."""

    def __init__(self, cat: Catalogue, plan: ReviewPlan):
        self.cat, self.plan = cat, plan
        self.seen: dict[int, int] = {}  # person id -> the line that named it
        self.merged_into: dict[int, int] = {}  # a person merged away -> who has them now
        self.renamed: set[int] = set()
        self.names: dict[str, int] = {}  # a name given in the file -> the person who has it

    def final(self, person_id: int) -> int:
        while person_id in self.merged_into:
            person_id = self.merged_into[person_id]
        return person_id

    def line(self, n: int, obj: dict) -> None:
        where = f"line {n}"
        problem = self.plan.problem
        unknown = sorted(set(obj) - EXPORTED_KEYS)
        if unknown:
            return problem(where, f"unknown key {unknown[0]!r} (a review line takes name, "
                           "hide, merge_into and not)")
        pid = obj.get("id")
        if not isinstance(pid, int) or isinstance(pid, bool):
            return problem(where, "'id' must be a person's id")
        if pid in self.seen:
            return problem(where, f"person {pid} is on line {self.seen[pid]} already")
        self.seen[pid] = n
        person = self.cat.person(pid)
        if person is None:
            return problem(where, f"no person with id {pid}")
        name, hide, into, nots = (obj.get("name"), obj.get("hide", False),
                                  obj.get("merge_into"), obj.get("not") or [])
        if name is not None and not isinstance(name, str):
            return problem(where, "'name' must be a string or null")
        if not isinstance(hide, bool):
            return problem(where, "'hide' must be true or false")
        if into is not None and (not isinstance(into, int) or isinstance(into, bool)):
            return problem(where, "'merge_into' must be a person's id or null")
        if not isinstance(nots, list) or not all(_int(f) for f in nots):
            return problem(where, "'not' must be a list of face ids")
        if into is not None and (hide or (name is not None and name != person.given_name)):
            return problem(where, "'merge_into' goes alone: the person merged into keeps "
                           "their own name and stays shown")
        if not self._faces_out(where, person, nots, bool(name or hide or into is not None)):
            return
        if into is not None:
            self._merge(where, pid, into)
        elif name is not None:
            self._name(where, person, name)
        if hide and not person.hidden:
            self.plan.ops.append(ReviewOp("hide", pid))

    def _faces_out(self, where: str, person: Person, nots: list[int], more: bool) -> bool:
        faces = set(self.cat.face_ids_of_person(person.id))
        for face_id in dict.fromkeys(nots):
            if face_id not in faces:
                owner = self.cat.person_of_face(face_id)
                self.plan.problem(where, f"face {face_id} is not person {person.id}'s" + (
                    f" (it is person {owner}'s)" if owner is not None else
                    " (no face has that id)" if self.cat.face(face_id) is None else ""))
                return False
        if more and nots and faces <= set(nots):
            self.plan.problem(where, f"'not' takes every face of person {person.id}: "
                              "nothing is left to name, hide or merge")
            return False
        self.plan.ops += [ReviewOp("not", person.id, face=f) for f in dict.fromkeys(nots)]
        return True

    def _merge(self, where: str, pid: int, into: int) -> None:
        if self.cat.person(into) is None:
            return self.plan.problem(where, f"no person with id {into} to merge into")
        target = self.final(into)
        if target == pid:
            return self.plan.problem(where, f"person {pid} would be merged into itself "
                                     f"(through {into})")
        self.merged_into[pid] = target
        self.plan.ops.append(ReviewOp("merge", pid, into=target))

    def _name(self, where: str, person: Person, typed: str) -> None:
        try:
            name = clean_name(typed)
        except PhotosenseError as e:
            return self.plan.problem(where, str(e))
        key = name.casefold()
        if key in self.names and self.final(self.names[key]) != person.id:
            target = self.final(self.names[key])  # two lines, one name: one person
            self.merged_into[person.id] = target
            self.plan.ops.append(ReviewOp("merge", person.id, into=target))
            return
        if person.named and person.name == name:
            self.names[key] = person.id
            return
        others = [p.id for p in self.cat.people_named(name)
                  if p.id != person.id and p.id not in self.renamed
                  and p.id not in self.merged_into]
        if len(others) > 1:
            return self.plan.problem(where, f"{len(others)} people are called {name!r} "
                                     f"({', '.join(map(str, others))}): use merge_into")
        if others:
            self.merged_into[person.id] = self.final(others[0])
            self.plan.ops.append(ReviewOp("merge", person.id, into=self.final(others[0])))
            return
        self.names[key] = person.id
        self.renamed.add(person.id)
        self.plan.ops.append(ReviewOp("rename", person.id, name=name))


def plan_file(cat: Catalogue, data: bytes, source: str) -> ReviewPlan:
    """Every line checked before anything is written: the plan, or its problems."""
    plan = ReviewPlan()
    planner = _Planner(cat, plan)
    for n, obj in parse_lines(data, plan, source):
        planner.line(n, obj)
    return plan


def apply_file(cat: Catalogue, data: bytes, source: str) -> tuple[ReviewPlan, dict[str, int]]:
    """Check a review file and, when it has no problem, apply it whole: one transaction and
    one history entry (one undo takes it back). Checked under the write lock, so another
    command cannot change a person between the check and the change."""
    done = {"renamed": 0, "merged": 0, "hidden": 0, "unassigned": 0}
    steps: list[Step] = []
    with cat.transaction():
        plan = plan_file(cat, data, source)
        if plan.problem_count or not plan.ops:
            return plan, done
        for op in plan.ops:
            steps.append(_run(cat, op))
            done[{"not": "unassigned", "rename": "renamed", "merge": "merged",
                  "hide": "hidden"}[op.kind]] += 1
        summary = "reviewed: " + ", ".join(f"{v} {k}" for k, v in done.items() if v)
        cat.log_change(ChangeKind.REVIEW, summary,
                       {"steps": [{"kind": k, "summary": s, "undo": u} for k, s, u in steps]})
    return plan, done


def _run(cat: Catalogue, op: ReviewOp) -> Step:
    person = cat.person(op.person)
    assert person is not None  # checked by the plan, under the same write lock
    if op.kind == "not":
        face = cat.face(op.face or 0)
        assert face is not None
        return move_step(cat, face, None)
    if op.kind == "rename":
        return rename_step(cat, person, op.name or "")
    if op.kind == "merge":
        target = cat.person(op.into or 0)
        assert target is not None
        return merge_step(cat, target, [person])
    return hide_step(cat, person, True)


def file_line(c: ReviewCard, sheet: str | None) -> dict[str, Any]:
    """One exported line: the card, the sheet if made, and the actions left to fill in."""
    line = c.to_json()
    if sheet is not None:
        line["sheet"] = sheet
    line.update({"hide": False, "merge_into": None, "not": []})
    return line


def faces_to_crop(cards: list[ReviewCard]) -> dict[str, list[Face]]:
    """The photos several cards need, each with every face on it: one decode for all."""
    out: dict[str, dict[int, Face]] = {}
    for c in cards:
        for path, faces in c.crop_plan.items():
            out.setdefault(path, {}).update({f.id: f for f in faces})
    return {p: list(fs.values()) for p, fs in out.items()}
