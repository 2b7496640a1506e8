"""What an engine is: the protocol the pipeline relies on, and what each engine says of itself.

An engine owns a face collection (Rekognition's, or an in-process index for the
local engine). Similarities are on Rekognition's 0-100 scale for every engine,
so the 90 rule and merge suggestions mean the same thing everywhere.

Everything the rest of the code needs to know about an engine is a class
attribute here (workers, processes, where faces live, prices): no module
compares engine names.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Iterator, Mapping, Protocol

from photosense_cli.records import Box, TextLine

# Thresholds from the original PhotoSense design.
FACE_MATCH_THRESHOLD = 90.0  # lower merges different people, higher splits one person
TEXT_MIN_CONFIDENCE = 80.0  # LINE detections only; single words gave worse results

__all__ = ["Box", "TextLine", "DetectedFace", "Match", "KnownFace", "Usage", "EngineOptions",
           "Engine", "FaceProbe", "UserMatch", "UserVectors", "Associated",
           "FACE_MATCH_THRESHOLD", "TEXT_MIN_CONFIDENCE", "resolve_workers",
           "importer_threads", "cost_usd"]


@dataclass
class DetectedFace:
    """A face as an engine returns it, before the catalogue gives it an id and a person."""

    face_id: str  # the engine's id, unique within the collection
    box: Box
    confidence: float
    descriptor: bytes | None = None  # engines that index in-process: kept in the catalogue


@dataclass
class Match:
    face_id: str
    similarity: float


@dataclass
class UserMatch:
    user_id: str
    similarity: float


@dataclass
class KnownFace:
    face_id: str
    descriptor: bytes | None = None


@dataclass
class Usage:
    """Engine calls made for one photo, for the catalogue's call log."""

    calls: list[tuple[str, float, str | None]] = field(default_factory=list)  # op, ms, error
    throttled: Counter = field(default_factory=Counter)  # refused for rate: op -> times

    def operations(self) -> list[str]:
        return [op for op, _, _ in self.calls]


@dataclass(frozen=True)
class EngineOptions:
    """Everything a factory may need; each engine reads what concerns it."""

    workers: int = 1  # resolved by resolve_workers before the engine is made
    profile: str | None = None  # AWS
    region: str | None = None  # AWS
    text_only: bool = False  # made to read text for another engine (import --text local)
    faces_only: bool = False  # made to look for faces for another (import --prefilter local)
    # A photo whose text answer holds a reader's word limit is read again in up to this
    # many bands (tiles.py; --max-text-tiles; 0: never).
    text_tiles: int = 4
    # A Dask scheduler's address (import --cluster): engines that can (runs_on_cluster)
    # send each photo's analysis to its workers (engines/cluster.py).
    cluster: str | None = None


class Engine(Protocol):
    # -- what the engine says of itself ------------------------------------------
    name: ClassVar[str]
    min_side: ClassVar[int]  # smallest image side the engine accepts, in pixels
    # Photos analysed at once when --workers is not given; None means one per core.
    default_workers: ClassVar[int | None]
    # Models run in worker processes: the importer runs two threads per process so
    # the processes stay busy while the next photos are read and prepared.
    models_in_processes: ClassVar[bool]
    # Faces live outside the catalogue (a cloud collection): crash recovery must list
    # and delete the ones no catalogue row knows, and switching away must delete them.
    remote_faces: ClassVar[bool]
    # A photo's calls may run at once (IndexFaces with DetectText, its SearchFaces together):
    # worth it for a network engine (two round trips instead of 2 + faces), not for models
    # on a few cores, where it only holds more decoded photos in memory at once.
    parallel_calls: ClassVar[bool]
    # The engine decodes the file's own bytes (any format images.decode_upright reads, EXIF
    # orientation applied, scaled to images.LONG_SIDE), so the importer sends them as read
    # instead of decoding, turning and re-encoding them first: each photo is decoded once.
    # A cloud engine takes only upright JPEG and PNG under its size limits: False.
    decodes_images: ClassVar[bool]
    # USD per call, by operation; missing operations are free.
    prices_usd: ClassVar[Mapping[str, float]]
    # The floor of the suggestion band: a new face whose best match lies from here up to the
    # 90 that clusters joins no one and asks "is this X?" (clustering.py), and `people
    # suggest --search` asks for faces this similar. Calibrated per engine so that what it
    # suggests is mostly one person (benchmarks/accuracy_bench.py).
    suggest_threshold: ClassVar[float]
    # The collection keeps user vectors (one per person, from up to 100 of its faces), which
    # a new face is searched against first (uservectors.py); the engine is then UserVectors.
    user_vectors: ClassVar[bool]
    # Its per-photo analysis can run on a Dask cluster's workers (EngineOptions.cluster):
    # the offline engine's models can; a cloud engine's calls have nowhere better to go.
    runs_on_cluster: ClassVar[bool]

    @classmethod
    def create(cls, options: EngineOptions) -> Engine:
        """Build the engine, or raise EngineError with what the user must do."""

    # -- the collection --------------------------------------------------------------
    def open_collection(self, collection_id: str, known: Iterable[KnownFace], *,
                        create: bool = True) -> None:
        """Attach to the collection; `known` primes in-process indexes.

        create=True makes it if it does not exist. create=False means the catalogue
        holds faces in it: a collection that is gone raises CollectionMissing.
        """

    def index_faces(self, image: bytes, external_id: str, usage: Usage) -> list[DetectedFace]:
        """Detect the faces in an upright image and add them to the collection."""

    def detect_text(self, image: bytes, usage: Usage) -> list[TextLine]:
        """Lines of text with confidence above TEXT_MIN_CONFIDENCE."""

    def search_faces(self, face_id: str, threshold: float, usage: Usage) -> list[Match]:
        """Faces of the collection similar to one of its own faces, never the face itself."""

    def delete_faces(self, face_ids: list[str]) -> None:
        """Remove faces from the collection (forget, reindex, crash recovery), taking them
        out of any user vector that holds them first."""

    def list_faces(self) -> Iterator[tuple[str, str]]:
        """(face_id, external_id) of every face in the collection, for crash recovery."""

    def collection_counts(self) -> dict[str, int]:
        """Faces and user vectors the collection holds, counted there (status's biometric
        inventory; free on Rekognition: DescribeCollection)."""

    def close(self) -> None:
        """Release workers and connections."""

    def where(self) -> str:
        """Where photos go for analysis, in words, for the consent question."""


@dataclass
class Associated:
    """What AssociateFaces did: the faces now the user's, and those it would not take
    (LOW_MATCH_CONFIDENCE: too unlike the user) or could not (gone, another user's)."""

    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class UserVectors(Protocol):
    """What an engine with user_vectors does besides Engine (Rekognition's user API)."""

    def search_users(self, face_id: str, threshold: float, usage: Usage) -> list[UserMatch]:
        """Users of the collection similar to one of its faces, best first."""

    def list_users(self) -> Iterator[str]:
        """The user ids the collection holds, for the sync and for crash recovery."""

    def create_user(self, user_id: str) -> None:
        """Make an empty user; making one that exists is no error."""

    def associate_faces(self, user_id: str, face_ids: list[str]) -> Associated:
        """Add up to 100 of the collection's faces to a user."""

    def disassociate_faces(self, user_id: str, face_ids: list[str]) -> None:
        """Take up to 100 faces out of a user; faces not in it are no error."""

    def delete_user(self, user_id: str) -> None:
        """Delete a user (its faces stay in the collection); a missing one is no error."""

    def take_ledger(self) -> Usage:
        """The calls above made since the last take (outside any photo's Usage), to log."""


class FaceProbe(Protocol):
    """What import --prefilter needs of an engine: a cheap local look for faces."""

    def may_hold_faces(self, image: bytes, usage: Usage) -> bool:
        """False only when the photo surely holds no face worth sending."""


def resolve_workers(engine: type[Engine] | Engine, requested: int | None,
                    cluster: str | None = None) -> int:
    """--workers if given, else the engine's default, else one per core. On a cluster,
    --workers bounds the photos in flight, and 0 leaves it to the engine once connected
    (engine_workers)."""
    if cluster:
        return requested or 0
    return max(1, requested or engine.default_workers or os.cpu_count() or 1)


def engine_workers(engine: Engine, workers: int) -> int:
    """The photos analysed at once by the engine as made: what resolve_workers said, or,
    when that left it to a cluster (0), what the engine chose from the cluster's threads."""
    return workers or max(1, getattr(engine, "processes", 1))


def importer_threads(engine: type[Engine] | Engine, workers: int) -> int:
    return 2 * workers if engine.models_in_processes else workers


def cost_usd(engine: type[Engine] | Engine, calls: Mapping[str, float]) -> float:
    return round(sum(engine.prices_usd.get(op, 0.0) * n for op, n in calls.items()), 6)
