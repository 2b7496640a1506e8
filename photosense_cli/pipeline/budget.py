"""--max-cost: the per-photo cost of a run, and the cap on what it spends."""

from __future__ import annotations

import threading

from photosense_cli.engines.base import Engine, cost_usd

# Faces a photo, for estimates before a library has measured its own: family photo
# libraries run 0.8-1.5 (the shared test photos: 25 faces in 23 photos, 1.09).
ASSUMED_FACES = 1.0


def photo_cost(engine: type[Engine] | Engine, *, faces_each: float = ASSUMED_FACES,
               text_operation: str = "DetectText", faces: bool = True,
               users: bool = False) -> float:
    """The one formula of what a photo is likely to cost, for the consent question, the
    --max-cost budget and the estimates alike: IndexFaces, the text call, and SearchFaces
    for each face the library has a photo on average (ASSUMED_FACES before it has any).
    faces=False: only the text is sent (an offline face engine, or no face analysis).
    users=True (the library has user vectors): a SearchUsers for each face as well; a face
    a user claims skips its SearchFaces, so this errs high by what the users claim."""
    calls: dict[str, float] = {text_operation: 1}
    if faces:
        calls.update({"IndexFaces": 1, "SearchFaces": faces_each})
        if users:
            calls["SearchUsers"] = faces_each
    return cost_usd(engine, calls)


class Budget:
    """--max-cost: no photo starts whose likely cost would take the run past the cap.

    Each photo reserves its likely cost (IndexFaces, DetectText and the SearchFaces of
    the library's average faces a photo) before its first call; the writer settles the
    reservation with what the calls cost. A photo with more faces than the average can
    take the run past the cap by its extra SearchFaces ($0.001 each on Rekognition).
    """

    def __init__(self, limit: float | None, per_photo: float):
        self.limit = limit
        self.per_photo = per_photo
        self.spent = 0.0
        self.reserved = 0.0
        self.reached = False
        self._lock = threading.Lock()

    def reserve(self) -> bool:
        with self._lock:
            if self.limit is None or not self.per_photo:
                return True
            if self.spent + self.reserved + self.per_photo > self.limit + 1e-9:
                self.reached = True
                return False
            self.reserved += self.per_photo
            return True

    def settle(self, cost: float) -> None:
        with self._lock:
            if self.limit is not None and self.per_photo:
                self.reserved = max(0.0, self.reserved - self.per_photo)
            self.spent += cost
