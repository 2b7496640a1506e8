"""What travels between the pipeline's stages: a file found (Candidate) and what became
of it (Outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from photosense_cli import images
from photosense_cli.engines.base import (
    DetectedFace,
    Match,
    TextLine,
    Usage,
    UserMatch,
)
from photosense_cli.policy import Verdict


@dataclass
class Candidate:
    path: str
    size: int
    mtime_ns: int


class OutcomeKind(StrEnum):
    """What became of one file; the writer handles each (checked exhaustively by mypy)."""

    ANALYSED = "analysed"  # new content, analysed by the engine: stored
    KNOWN = "known"  # content the library has: a new path of it
    COPY = "copy"  # content another file of this run is analysing: placed once that is done
    FAILED = "failed"
    IGNORED = "ignored"  # no image (a video, a text file): not counted as a failure
    FORGOTTEN = "forgotten"  # content the user forgot: skipped
    WOULD_ANALYSE = "would_analyse"  # a dry run's new photo
    OVER_BUDGET = "over_budget"  # not started: --max-cost


@dataclass
class Outcome:
    kind: OutcomeKind
    candidate: Candidate
    sha256: str = ""
    photo_id: int | None = None
    prepared: images.Prepared | None = None
    faces: list[tuple[DetectedFace, list[Match]]] = field(default_factory=list)
    # engine face id -> the users it matched (SearchUsers, uservectors.py), best first
    users: dict[str, list[UserMatch]] = field(default_factory=dict)
    lines: list[TextLine] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    reason: str = ""
    regions: list = field(default_factory=list)  # xmp.NamedRegion: names other tools wrote
    xmp_position: tuple[float, float] | None = None  # when the photo's EXIF has none
    # (file, reason) for each sidecar or region refused as unreadable or out of bounds: the
    # photo is imported all the same, and each file gets its one line
    metadata_problems: list[tuple[str, str]] = field(default_factory=list)
    permanent: bool = True  # a failure of the file itself: remembered until it changes
    too_small: bool = False  # no failure: an image under the engine's smallest side, skipped
    orphans_left: bool = False
    verdict: Verdict | None = None  # what the folder rules let this photo's analysis do
    text_skipped: bool = False  # a cloud = false photo and no offline OCR to read it
    forgotten_faces: int = 0  # faces found where the user forgot one: deleted, not stored
    suppressed_faces: int = 0  # faces that matched a suppression template: likewise
    # forgotten faces a template made on another engine takes (privacy.keep_for_templates)
    template_faces: list[tuple[int, DetectedFace]] = field(default_factory=list)


def text_path(path: str) -> str:
    """A path that JSON and SQLite can hold: bytes that are not UTF-8 become \\xNN escapes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
