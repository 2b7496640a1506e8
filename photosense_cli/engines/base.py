"""What an engine is: the small protocol the importer and people commands rely on.

An engine owns a face collection (Rekognition's, or an in-process index for the
local engine). Similarities are on Rekognition's 0-100 scale for every engine,
so the 90 rule and merge suggestions mean the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Protocol

# Thresholds from the original PhotoSense design.
FACE_MATCH_THRESHOLD = 90.0  # lower merges different people, higher splits one person
TEXT_MIN_CONFIDENCE = 80.0  # LINE detections only; single words gave worse results

Box = tuple[float, float, float, float]  # left, top, width, height, 0-1 of the upright photo


@dataclass
class Face:
    face_id: str  # the engine's id, unique within the collection
    box: Box
    confidence: float
    descriptor: bytes | None = None  # local engine only: kept in the catalogue


@dataclass
class TextLine:
    text: str
    confidence: float
    box: Box


@dataclass
class Match:
    face_id: str
    similarity: float


@dataclass
class KnownFace:
    face_id: str
    descriptor: bytes | None = None


@dataclass
class Usage:
    """Engine calls made for one photo, for the catalogue's call log."""

    calls: list[tuple[str, float, str | None]] = field(default_factory=list)  # op, ms, error


class Engine(Protocol):
    name: str
    min_side: int  # smallest image side the engine accepts, in pixels

    def open_collection(self, collection_id: str, known: Iterable[KnownFace]) -> None:
        """Create the collection if needed; `known` primes engines that index in-process."""

    def index_faces(self, image: bytes, external_id: str, usage: Usage) -> list[Face]:
        """Detect the faces in an upright image and add them to the collection."""

    def detect_text(self, image: bytes, usage: Usage) -> list[TextLine]:
        """Lines of text with confidence above TEXT_MIN_CONFIDENCE."""

    def search_faces(self, face_id: str, threshold: float, usage: Usage) -> list[Match]:
        """Faces of the collection similar to one of its own faces, never the face itself."""

    def delete_faces(self, face_ids: list[str]) -> None:
        """Remove faces from the collection (forget, reindex, crash recovery)."""

    def list_faces(self) -> Iterator[tuple[str, str]]:
        """(face_id, external_id) of every face in the collection, for crash recovery."""

    def close(self) -> None:
        """Release workers and connections."""


# US East price list, first million images per month: IndexFaces, SearchFaces
# and DetectText are each billed per image processed; the rest are free.
PRICE_PER_CALL_USD = {"IndexFaces": 0.001, "SearchFaces": 0.001, "DetectText": 0.001}


def estimate_cost(engine_name: str, calls: dict[str, int]) -> float:
    if engine_name != "rekognition":
        return 0.0
    return round(sum(PRICE_PER_CALL_USD.get(op, 0.0) * n for op, n in calls.items()), 6)
