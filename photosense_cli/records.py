"""Typed records that cross module borders, each with the one JSON shape the CLI prints.

The Catalogue returns these; the CLI renders them; the XMP and export work reads
them. JSON keys that scripts already depend on (people, people show, search)
are kept as they were, with new keys beside them.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

# A person's name, typed or read from another tool's metadata. The longest real names
# run to about 100 characters; 200 leaves room, and a 1 MB "name" in a sidecar is refused.
MAX_NAME_CHARS = 200


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a person's name, or None when it can."""
    if not name.strip():
        return "a name cannot be empty"
    if len(name) > MAX_NAME_CHARS:
        return f"a name is at most {MAX_NAME_CHARS} characters (this one has {len(name)})"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "a name cannot hold control characters (line breaks, tabs, escapes)"
    return None


@dataclass(frozen=True)
class Box:
    """A rectangle in 0-1 units of the upright (displayed) photo, top-left origin."""

    left: float
    top: float
    width: float
    height: float

    def __post_init__(self) -> None:
        # Engines hand over numpy scalars; stored as such, sqlite3 would keep float32 bytes.
        for name in ("left", "top", "width", "height"):
            object.__setattr__(self, name, float(getattr(self, name)))

    def to_json(self) -> dict[str, float]:
        return {"left": self.left, "top": self.top, "width": self.width, "height": self.height}

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.left, self.top, self.width, self.height)

    def valid(self, slack: float = 0.02) -> Box | None:
        """The box clipped to the photo, or None when it is no box at all (not a number, no
        area, or outside the photo by more than `slack`: regions drawn by hand may stick
        out a little at an edge; hostile ones have negative or huge sizes)."""
        x, y, w, h = self.as_tuple()
        if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
            return None
        if x < -slack or y < -slack or x + w > 1 + slack or y + h > 1 + slack:
            return None
        left, top = max(0.0, x), max(0.0, y)
        return Box(left, top, min(1.0, x + w) - left, min(1.0, y + h) - top)

    def iou(self, other: Box) -> float:
        """Intersection over union: 1 for the same box, 0 for boxes that do not touch."""
        w = max(0.0, min(self.left + self.width, other.left + other.width) - max(self.left, other.left))
        h = max(0.0, min(self.top + self.height, other.top + other.height) - max(self.top, other.top))
        inter = w * h
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0


@dataclass
class TextLine:
    text: str
    confidence: float
    box: Box

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "confidence": self.confidence, "box": self.box.to_json()}


def gps_json(gps: tuple[float, float] | None) -> dict[str, float | None]:
    return {"latitude": gps[0] if gps else None, "longitude": gps[1] if gps else None}


@dataclass(frozen=True)
class Place:
    """A place name, from GeoNames: where a photo was taken, or a name the user typed."""

    city: str | None  # None for a country
    region: str | None  # the first-level division: a state, a region, England
    country: str
    country_code: str  # ISO 3166-1 alpha-2

    def label(self) -> str:
        parts = [p for p in (self.city, self.region, self.country) if p]
        return ", ".join(p for i, p in enumerate(parts) if p not in parts[:i])

    def to_json(self) -> dict[str, Any]:
        return {"city": self.city, "region": self.region, "country": self.country,
                "country_code": self.country_code}


@dataclass
class Photo:
    id: int
    sha256: str
    size: int
    width: int | None
    height: int | None
    format: str | None
    taken_at: str | None
    taken_at_source: str | None
    engine: str | None
    paths: list[str] = field(default_factory=list)  # where it is now
    last_path: str | None = None  # where a missing photo was last seen
    gps: tuple[float, float] | None = None  # (latitude, longitude): EXIF, else XMP
    place: Place | None = None  # the place gps is in, once named (places.py)

    @property
    def missing(self) -> bool:
        return not self.paths

    @property
    def path(self) -> str | None:
        """The path shown for the photo: the first of its paths, or where it was last seen."""
        return self.paths[0] if self.paths else self.last_path

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "paths": self.paths, "missing": self.missing,
                "taken_at": self.taken_at, "taken_at_source": self.taken_at_source,
                "sha256": self.sha256, "size": self.size, "width": self.width,
                "height": self.height, "format": self.format, "engine": self.engine,
                **gps_json(self.gps), "place": self.place.to_json() if self.place else None}


@dataclass
class Face:
    id: int
    photo_id: int
    person_id: int | None
    person: str | None  # the person's display label (their name, or "Unknown person N")
    box: Box
    confidence: float | None
    engine_face_id: str = ""
    person_named: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "photo_id": self.photo_id, "person_id": self.person_id,
                "person": self.person if self.person_named else None,
                "person_label": self.person, "box": self.box.to_json(),
                "confidence": self.confidence}


class Hidden(IntEnum):
    """Who hid a person (people.hidden in the catalogue). A bool lost the difference: an
    unhide of photosense's hide, undone, came back as the user's, which no face lifts."""

    NO = 0
    BY_USER = 1  # a stranger the user hid: never lifted by photosense
    BY_PHOTOSENSE = 2  # a tiny face in a crowd: lifted by a second face or a name


# Hidden by the catalogue's int: an index, as Hidden(int) costs ~1 us a call (Enum's
# __call__), 10 ms of the 10,000-person listing (benchmarks/search_bench.py).
HIDDEN = tuple(Hidden)


@dataclass
class Person:
    id: int
    name: str  # the display label: the name, or "Unknown person N" (never in JSON's "name")
    named: bool
    hidden: Hidden
    cover_face_id: int | None = None
    photos: int = 0  # counts; people show lists them in PersonDetails
    faces: int = 0
    sample: str | None = None  # the path of the photo of the person's cover face
    name_source: str | None = None  # typed, or xmp:<file> for a name read from metadata

    @property
    def given_name(self) -> str | None:
        """The name a person was given, None while unnamed: scripts read `name` and must
        never take photosense's label for one (`people --format jsonl | jq -r .name`)."""
        return self.name if self.named else None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.given_name, "label": self.name, "named": self.named,
                "hidden": self.hidden is not Hidden.NO, "photos": self.photos, "faces": self.faces,
                "sample": self.sample}


@dataclass
class PersonDetails:
    person: Person
    photos: list[Photo]
    faces: list[Face]
    name_hints: list[dict] = field(default_factory=list)  # other names metadata gave them
    born: str | None = None  # `people born`: YYYY-MM-DD

    def to_json(self) -> dict[str, Any]:
        p = self.person
        return {"id": p.id, "name": p.given_name, "label": p.name, "named": p.named,
                "hidden": p.hidden is not Hidden.NO, "born": self.born,
                "name_source": p.name_source, "name_hints": self.name_hints,
                "cover_face_id": p.cover_face_id,
                "photos": [ph.to_json() for ph in self.photos],
                "faces": [f.to_json() for f in self.faces]}


@dataclass
class PhotoDetails:
    photo: Photo
    faces: list[Face]
    text: list[TextLine]
    regions: list[dict] = field(default_factory=list)  # named in metadata, no face found there

    def to_json(self) -> dict[str, Any]:
        return {**self.photo.to_json(), "faces": [f.to_json() for f in self.faces],
                "text": [t.to_json() for t in self.text], "regions": self.regions}


@dataclass
class SearchHit:
    id: int
    path: str | None
    taken_at: str | None
    people: list[tuple[int, str]]  # (id, name) of the visible people in the photo
    text: list[str]  # the matching lines
    taken_at_source: str | None = None  # exif, or file (the file's mtime: no date inside)
    missing: bool = False  # only with --missing: path is where it was last seen
    marked: list[str] = field(default_factory=list)  # the same lines with match markers
    gps: tuple[float, float] | None = None  # (latitude, longitude): EXIF, else XMP
    place: Place | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "taken_at": self.taken_at,
                "taken_at_source": self.taken_at_source,
                "people": [name for _, name in self.people],
                "people_ids": [pid for pid, _ in self.people], "text": self.text,
                "missing": self.missing, **gps_json(self.gps),
                "place": self.place.to_json() if self.place else None}


# A saved search's name: a word for the command line and a cron line, not a sentence.
MAX_SAVED_NAME_CHARS = 100

# The query fields of a saved search, in the order a command line gives them: the JSON
# key, and the option that sets it (text is the positional argument).
SAVED_FIELDS = (("text", None), ("from", "--from"), ("to", "--to"), ("on", "--on"),
                ("path", "--path"), ("near", "--near"), ("within", "--within"), ("place", "--place"),
                ("only", "--only"), ("alone", "--alone"),
                ("unnamed", "--unnamed"), ("has_text", "--has-text"),
                ("missing", "--missing"))
# The words after `photosense search` that name a subcommand rather than a text to find.
SEARCH_SUBCOMMANDS = ("find", "save", "list", "show", "delete", "run")
SAVED_ROLES = {"all": "--person", "any": "--any-person", "not": "--not-person"}


@dataclass
class SavedPerson:
    role: str  # all (--person), any (--any-person), not (--not-person)
    id: int | None  # None: the person is gone (emptied or forgotten)
    name: str  # the current label; the name when saved, for one who is gone

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "gone": self.id is None}


@dataclass
class SavedSearch:
    name: str
    query: dict[str, Any]  # SAVED_FIELDS' keys, as typed: dates are read again at each run
    people: list[SavedPerson]
    created_at: str
    updated_at: str
    last_new_run_at: str | None = None
    seen: int = 0  # photos printed by --new runs
    id: int = 0

    def of_role(self, role: str) -> list[SavedPerson]:
        return [p for p in self.people if p.role == role]

    def command(self) -> list[str]:
        """The search as a command line (people by id: names change, ids follow merges)."""
        import shlex

        words = []
        for role, option in SAVED_ROLES.items():
            for p in self.of_role(role):
                words += [option, str(p.id) if p.id is not None else p.name]
        for key, option in SAVED_FIELDS[1:]:
            value = self.query.get(key)
            if key == "has_text" and value is not None:
                words.append("--has-text" if value else "--no-text")
            elif value is True:
                words.append(option)
            elif isinstance(value, (str, float, int)) and not isinstance(value, bool):
                words += [option, f"{value:g}" if isinstance(value, float) else str(value)]
        text = self.query.get("text")
        if text is not None and text.startswith("-"):
            words += ["--", text]  # a text that looks like an option
        elif text is not None:
            # a text that is a subcommand's name is found with `search find`
            words.insert(0, text)
            if text in SEARCH_SUBCOMMANDS:
                words.insert(0, "find")
        return [shlex.quote(w) for w in ["photosense", "search", *words]]

    def to_json(self) -> dict[str, Any]:
        query = {key: self.query.get(key) for key, _ in SAVED_FIELDS}
        for key in ("only", "alone", "unnamed", "missing"):
            query[key] = bool(query[key])
        query.update({f"{'' if role == 'all' else role + '_'}people": [
            p.to_json() for p in self.of_role(role)] for role in SAVED_ROLES})
        return {"name": self.name, "query": query, "command": " ".join(self.command()),
                "created_at": self.created_at, "updated_at": self.updated_at,
                "last_new_run_at": self.last_new_run_at, "seen": self.seen}


@dataclass
class Suggestion:
    a: tuple[int, str]
    b: tuple[int, str]
    score: float
    source: str

    named: tuple[bool, bool] = (True, True)

    def to_json(self) -> dict[str, Any]:
        return {"a": {"id": self.a[0], "name": self.a[1] if self.named[0] else None,
                      "label": self.a[1]},
                "b": {"id": self.b[0], "name": self.b[1] if self.named[1] else None,
                      "label": self.b[1]},
                "score": round(self.score, 2), "source": self.source}


@dataclass
class FaceSuggestion:
    """A face whose best match fell in the engine's suggestion band: "is this Ada?"
    (`people suggest --faces`; accepting moves the face, declining rejects it)."""

    face_id: int
    photo_id: int
    path: str | None  # a live path of its photo, None when every path is gone
    now: tuple[int | None, str | None, bool]  # the face's person: id, label, named
    person: tuple[int, str, bool]  # the person suggested: id, label, named
    score: float  # the band match's similarity, 0-100

    def to_json(self) -> dict[str, Any]:
        return {"face": self.face_id, "photo_id": self.photo_id, "path": self.path,
                "now": {"id": self.now[0], "name": self.now[1] if self.now[2] else None,
                        "label": self.now[1]},
                "person": {"id": self.person[0],
                           "name": self.person[1] if self.person[2] else None,
                           "label": self.person[1]},
                "score": round(self.score, 2)}


@dataclass
class SplitGroup:
    """One group of a proposed split: its faces, and a few photos to look at."""

    face_ids: list[int]
    photos: int
    samples: list[str]
    new: bool  # becomes a new unnamed person (the largest group keeps the person)

    def to_json(self) -> dict[str, Any]:
        return {"faces": len(self.face_ids), "photos": self.photos, "face_ids": self.face_ids,
                "samples": self.samples, "keeps_person": not self.new}


@dataclass
class SplitProposal:
    """`people split PERSON`: the person's faces in groups, the largest first; applied only
    with --yes."""

    person: Person
    groups: list[SplitGroup]
    threshold: float  # the similarity that holds a group together, 0-100
    applied: bool = False
    created: list[int] = field(default_factory=list)  # the new people, once applied
    calls: int = 0  # engine calls made to compare the faces (SearchFaces on a cloud engine)

    def to_json(self) -> dict[str, Any]:
        return {"person": {"id": self.person.id, "name": self.person.given_name,
                           "label": self.person.name},
                "threshold": self.threshold, "groups": [g.to_json() for g in self.groups],
                "applied": self.applied, "created": self.created, "engine_calls": self.calls}


@dataclass
class Candidate:
    """Someone a person is probably one with: a merge the review offers."""

    person: Person
    score: float  # similarity, 0-100, as the engine or the suggestion recorded it
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.person.id, "name": self.person.given_name,
                "label": self.person.name, "faces": self.person.faces,
                "similarity": round(self.score, 1), "source": self.source}


@dataclass
class ReviewCard:
    """One person as the review shows them: the faces to look at, the photos they are in,
    the dates covered and the best merge candidates (`people review`, its export)."""

    person: Person
    faces: list[Face]  # the clearest first, at most what a screen shows
    paths: dict[int, str]  # photo id -> a path to crop from (its first live path)
    first: str | None  # the earliest and latest dates of their photos
    last: str | None
    candidates: list[Candidate]
    ask: int | None = None  # a suggestion's other person: "is this them?"
    covers: dict[int, Face] = field(default_factory=dict)  # candidate id -> their cover face
    # photo path -> every face on that photo: decoded once, all its crops are made
    crop_plan: dict[str, list[Face]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        samples = list(dict.fromkeys(self.paths[f.photo_id] for f in self.faces
                                     if f.photo_id in self.paths))
        return {"id": self.person.id, "name": self.person.given_name,
                "label": self.person.name, "faces": self.person.faces,
                "photos": self.person.photos, "first": self.first, "last": self.last,
                "face_ids": [f.id for f in self.faces], "sample": samples[:3],
                "candidates": [c.to_json() for c in self.candidates]}


@dataclass
class NamePlan:
    """What typing a name for a person does: "rename", "merge" into `target` (the name is
    theirs already), or "same" (it is this person's name)."""

    kind: str
    name: str
    target: Person | None


@dataclass
class ReviewApplied:
    """A review file checked and, when it had no problem, applied as one change."""

    source: str
    lines: int  # JSON objects read
    applied: bool
    done: dict[str, int]  # renamed, merged, hidden, unassigned
    problems: list[str]  # the first few, "line N: why"
    problem_count: int

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "lines": self.lines, "applied": self.applied,
                **self.done, "problems": self.problems, "problem_count": self.problem_count}


class ChangeKind(StrEnum):
    """A correction in history (changes.kind); undo handles each, checked by mypy."""

    RENAME = "rename"
    HIDE = "hide"
    UNHIDE = "unhide"
    MERGE = "merge"
    MOVE = "move"
    UNASSIGN = "unassign"
    XMP_NAMES = "xmp-names"  # names an import read from other tools' metadata
    REJECT = "reject"
    FORGET = "forget"
    REINDEX = "reindex"  # not undoable: the faces before it are gone
    REVIEW = "review"  # a review file applied: its steps, undone together, last first
    FORGET_PERSON = "forget-person"  # not undoable: forgetting means the data is gone
    BORN = "born"  # a birth date set, and the faces from before it taken out
    SPLIT = "split"  # a person's faces in groups: the others became new people
    DECLINE = "decline"  # a face suggestion declined: the face is not that person


@dataclass
class PersonForgetReport:
    """What `people forget` erased, counted again afterwards; `left` says what remains."""

    person: int
    name: str
    faces: int
    photos: int
    engine: str
    engine_deleted: int = 0  # faces deleted from a cloud collection
    engine_left: int = 0  # of the person's faces, still in the collection when counted again
    kept_in_engine: int = 0  # kept as the suppression template (--never-again)
    users_deleted: int = 0  # their user vector in the collection (uservectors.py)
    catalogue: dict[str, int] = field(default_factory=dict)  # rows erased, by kind
    catalogue_left: int = 0
    log_emptied: bool = False  # the write-ahead log was checkpointed and truncated
    sidecars_rewritten: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)  # crops and sheets that showed them
    # files photosense does not own (other tools' sidecar regions, the photos' own XMP) that
    # still name them: said, not touched
    named_elsewhere: list[str] = field(default_factory=list)
    template: int | None = None
    left: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"person": {"id": self.person, "name": self.name}, "faces": self.faces,
                "photos": self.photos,
                "engine": {"name": self.engine, "faces_deleted": self.engine_deleted,
                           "faces_left": self.engine_left, "kept_for_template": self.kept_in_engine,
                           "users_deleted": self.users_deleted},
                "catalogue": {**self.catalogue, "faces_left": self.catalogue_left,
                              "log_emptied": self.log_emptied},
                "sidecars_rewritten": self.sidecars_rewritten,
                "files_deleted": self.files_deleted,
                "named_elsewhere": self.named_elsewhere,
                "suppression_template": self.template, "left": self.left,
                "complete": not self.left}


@dataclass
class SuppressionTemplate:
    """`people forget --never-again`: what a later face is checked against, and dropped
    when it matches. No name unless the user gave one (--label)."""

    id: int
    label: str | None
    engine: str
    faces: int  # the forgotten person's faces it was made from
    kept_in_engine: int  # faces kept in a cloud collection for it (0: a local descriptor)
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "engine": self.engine, "faces": self.faces,
                "kept_in_engine": self.kept_in_engine, "created_at": self.created_at}


@dataclass
class Change:
    id: int
    at: str
    kind: str  # a ChangeKind's value (a newer photosense may have written another)
    summary: str
    undone_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "kind": self.kind, "summary": self.summary,
                "undone_at": self.undone_at}


MARK_START, MARK_END = "\x02", "\x03"  # around a search's words in SearchHit.marked

ADDED_LISTED = 1000  # new paths listed in an import's JSON; the count says the rest


@dataclass
class RunSummary:
    """What one import or reindex did: the same record, counters and JSON for both."""

    command: str  # import | reindex
    engine: str
    library: str
    dry_run: bool = False
    new: int = 0
    reanalysed: int = 0
    known: int = 0
    skipped: int = 0
    failed: int = 0
    ignored: int = 0
    forgotten: int = 0
    excluded: int = 0
    known_failures: int = 0  # failed before, unchanged since: not read, not reported again
    too_small: int = 0  # images under the engine's smallest side: skipped, no failure
    gone: int = 0  # catalogued paths under the scanned folders that are no longer there
    moved: int = 0  # of those, paths whose photo is still at another path (moved, renamed)
    replaced: int = 0  # photos edited in place: the new content took the old one's place
    over_budget: int = 0  # not started: --max-cost would have been passed
    max_cost_reached: bool = False
    faces: int = 0
    people_created: int = 0
    people_hidden: int = 0  # of those, started hidden: a tiny face in the background
    faces_suggested: int = 0  # faces that asked "is this X?": a match in the band below 90
    faces_by_user: int = 0  # faces a person's user vector placed (uservectors.py)
    user_vectors: dict[str, int] | None = None  # what the run's sync changed (UserSync)
    text_lines: int = 0
    places: int = 0  # photos whose position was named this run (a city, region, country)
    calls: Counter = field(default_factory=Counter)
    throttles: Counter = field(default_factory=Counter)  # calls refused for rate, sent again
    cost_usd: float = 0.0
    errors: list[dict] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # new photos' paths, the first ADDED_LISTED
    recovered_faces: int = 0
    seconds: float = 0.0
    # biometric privacy (privacy.py, policy.py)
    faces_forgotten: int = 0  # found where the user forgot a face: deleted, not stored
    faces_suppressed: int = 0  # matched a suppression template: deleted, not stored
    kept_back: Counter = field(default_factory=Counter)  # photos each folder rule changed
    text_not_read: int = 0  # cloud = false photos whose text no offline OCR could read
    faces_removed_by_rule: int = 0  # stored faces of photos now under a folder rule
    # reindex only
    previous_engine: str | None = None
    faces_kept_person: int = 0
    people_removed: int = 0
    old_engine_cleaned: bool = True

    def count_privacy(self, verdict, forgotten: int, suppressed: int,
                      text_skipped: bool) -> None:
        """What the folder rules and the forgotten faces changed in one photo's analysis."""
        if verdict is not None and verdict.kept_back:
            self.kept_back[verdict.kept_back] += 1
        self.faces_forgotten += forgotten
        self.faces_suppressed += suppressed
        self.text_not_read += text_skipped

    def note_added(self, path: str) -> None:
        if len(self.added) < ADDED_LISTED:
            self.added.append(path)

    def fail(self, path: str, reason: str) -> dict:
        self.failed += 1
        error = {"path": path, "reason": reason}
        self.errors.append(error)
        return error

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": self.command,
            "library": self.library,
            "engine": self.engine,
            "dry_run": self.dry_run,
            "files": {"new": self.new, "reanalysed": self.reanalysed, "known": self.known,
                       "skipped": self.skipped, "failed": self.failed, "ignored": self.ignored,
                       "forgotten": self.forgotten, "excluded": self.excluded,
                       "known_failures": self.known_failures, "too_small": self.too_small,
                       "gone": self.gone, "moved": self.moved, "replaced": self.replaced,
                       "over_budget": self.over_budget},
            # a cron job's "what did this run add": bounded, with the count of the rest
            "added": self.added,
            "added_not_listed": max(0, self.new - len(self.added)),
            "faces": self.faces,
            "people_created": self.people_created,
            "people_hidden": self.people_hidden, "faces_suggested": self.faces_suggested,
            "faces_by_user": self.faces_by_user, "user_vectors": self.user_vectors,
            "text_lines": self.text_lines,
            "places_named": self.places,
            "calls": dict(sorted(self.calls.items())),
            "throttled": dict(sorted(self.throttles.items())),
            "estimated_cost_usd": self.cost_usd,
            "max_cost_reached": self.max_cost_reached,
            "recovered_faces": self.recovered_faces,
            "privacy": {"faces_forgotten": self.faces_forgotten,
                        "faces_suppressed": self.faces_suppressed,
                        "no_faces": self.kept_back["no-faces"],
                        "no_cloud": self.kept_back["no-cloud"],
                        "text_not_read": self.text_not_read,
                        "faces_removed_by_rule": self.faces_removed_by_rule},
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
        }
        if self.command == "reindex":
            out["reindex"] = {"from": self.previous_engine,
                              "faces_kept_person": self.faces_kept_person,
                              "people_removed": self.people_removed,
                              "old_engine_cleaned": self.old_engine_cleaned}
        return out
