"""An in-memory engine that behaves like a Rekognition collection, for tests and benchmarks.

It "sees" solid squares drawn in the palette colours below: a square of face
colour k is a face of identity k, a square of text colour k is a block whose
lines come from `texts[k]`. Because it decodes the real bytes it is sent, it
catches what the importer got wrong (orientation, format, size).
"""

from __future__ import annotations

import functools
import io
import itertools
import threading
import time
import uuid
from collections import Counter
from typing import Callable, Iterable, Iterator

import numpy as np
from PIL import Image

from photosense_cli.engines.base import (
    TEXT_MIN_CONFIDENCE,
    Associated,
    Box,
    DetectedFace,
    EngineOptions,
    KnownFace,
    Match,
    TextLine,
    Usage,
    UserMatch,
)
from photosense_cli.engines.timing import timed
from photosense_cli.errors import CollectionMissing, ItemFailed, Throttled

FACE_COLOURS = [
    (255, 0, 0), (0, 200, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
    (128, 0, 0), (0, 100, 0), (0, 0, 128), (128, 128, 0), (128, 0, 128), (0, 128, 128),
]
TEXT_COLOURS = [(255, 128, 0), (128, 0, 255), (0, 128, 255), (255, 0, 128)]
_PALETTE = np.array(FACE_COLOURS + TEXT_COLOURS, dtype=np.float32)
_PALETTE_T = _PALETTE.T.copy()
_PALETTE_SQ = (_PALETTE**2).sum(1)


class FakeEngine:
    name = "fake"
    min_side = 80
    default_workers = 32  # behaves like a network engine
    models_in_processes = False
    parallel_calls = True  # it stands in for a network engine
    decodes_images = False
    remote_faces = True  # its "collection" outlives a crashed run, as Rekognition's does
    prices_usd: dict[str, float] = {}
    suggest_threshold = 80.0
    user_vectors = True
    runs_on_cluster = False
    # AssociateFaces' own default UserMatchThreshold: a face less like the user is refused.
    associate_threshold = 75.0

    @classmethod
    def create(cls, options: EngineOptions) -> FakeEngine:
        return cls()

    def __init__(self, texts: dict[int, list[str]] | None = None, latency: float = 0.0,
                 cap: float | None = None, burst: float | None = None):
        self.texts = texts or {}
        self.text_tiles = 4  # EngineOptions.text_tiles: bands for a photo at the word cap
        self.latency = latency
        # A quota like Rekognition's: `cap` calls a second per operation, from a token
        # bucket holding `burst` calls (default a fifth of a second's worth, at least 2);
        # a call beyond it is refused with Throttled after one round trip.
        self.cap = cap
        self.burst = burst if burst is not None else max(2.0, (cap or 0) / 5)
        self._buckets: dict[str, tuple[float, float]] = {}  # op -> (tokens, at)
        self.throttled: Counter = Counter()
        # identity pairs that "look alike": {(a, b): similarity}
        self.similar: dict[tuple[int, int], float] = {}
        self.faces: dict[str, tuple[int, str]] = {}  # face_id -> (identity, external_id)
        self.calls: Counter = Counter()
        self.received: list[tuple[str, tuple[int, int], int]] = []  # (format, size, bytes) sent
        self.before_call: Callable[[str], None] | None = None  # fault injection for tests
        self.collection_id: str | None = None
        self.collection_exists = True  # tests set False: "deleted outside photosense"
        self._ids = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:8]  # ids never collide across engines, like real ones
        self._lock = threading.Lock()
        self.users: dict[str, set[str]] = {}  # user id -> its face ids
        self.ledger = Usage()

    # -- the protocol -----------------------------------------------------

    def open_collection(self, collection_id: str, known: Iterable[KnownFace], *,
                        create: bool = True) -> None:
        if not create and not self.collection_exists:
            raise CollectionMissing(f"fake collection {collection_id}")
        self.collection_exists = True
        self.collection_id = collection_id

    def index_faces(self, image: bytes, external_id: str, usage: Usage) -> list[DetectedFace]:
        with timed(usage, "IndexFaces"):
            self._call("IndexFaces")
            try:
                sent = Image.open(io.BytesIO(image))
                sent.load()
            except OSError as e:  # what Rekognition answers to bytes it cannot decode
                raise ItemFailed(f"Rekognition InvalidImageFormatException: {e}") from None
            with self._lock:
                self.received.append((sent.format or "", sent.size, len(image)))
            out = []
            for colour, box in self._squares(image):
                if colour >= len(FACE_COLOURS):
                    continue
                with self._lock:
                    face_id = f"{self._prefix}-{next(self._ids):06d}"
                    self.faces[face_id] = (colour, external_id)
                out.append(DetectedFace(face_id, Box(*box), 99.9))
            return out

    def may_hold_faces(self, image: bytes, usage: Usage) -> bool:
        """As the local engine's prefilter: a face-coloured square is a face."""
        with timed(usage, "FaceProbe"):
            return any(colour < len(FACE_COLOURS) for colour, _ in self._squares(image))

    def detect_text(self, image: bytes, usage: Usage) -> list[TextLine]:
        """As DetectText answers: a block's lines stacked evenly in its square, at most
        WORD_CAP words a call, and a photo that reaches the cap read again in bands."""
        from photosense_cli.engines import tiles

        return tiles.read_all(image, lambda photo: self._read_text(photo, usage),
                              self.text_tiles)

    def _read_text(self, image: bytes, usage: Usage) -> tuple[list[TextLine], int]:
        from photosense_cli.engines.tiles import WORD_CAP

        with timed(usage, "DetectText"):
            self._call("DetectText")
            lines: list[TextLine] = []
            words = 0
            for colour, (left, top, width, height) in self._squares(image):
                block = colour - len(FACE_COLOURS)
                texts = self.texts.get(block, []) if block >= 0 else []
                for i, text in enumerate(texts):
                    n = len(text.split())
                    if words + n > WORD_CAP:
                        return lines, WORD_CAP  # the service stops at its limit
                    words += n
                    lines.append(TextLine(text, 99.0, Box(left, top + i * height / len(texts),
                                                          width, height / len(texts))))
            return [ln for ln in lines if ln.confidence > TEXT_MIN_CONFIDENCE], words

    def search_faces(self, face_id: str, threshold: float, usage: Usage) -> list[Match]:
        with timed(usage, "SearchFaces"):
            self._call("SearchFaces")
            with self._lock:
                identity = self.faces[face_id][0]
                found = [
                    Match(other, sim)
                    for other, (ident, _) in self.faces.items()
                    if other != face_id and (sim := self.similarity(identity, ident)) >= threshold
                ]
            return sorted(found, key=lambda m: -m.similarity)

    def delete_faces(self, face_ids: list[str]) -> None:
        """As the Rekognition engine does: a face a user holds is taken out of it first."""
        self._call("DeleteFaces")
        with self._lock:
            held = {u: faces & set(face_ids) for u, faces in self.users.items()}
        for user_id, faces in held.items():
            if faces:
                self.disassociate_faces(user_id, sorted(faces))
        with self._lock:
            for face_id in face_ids:
                self.faces.pop(face_id, None)

    def collection_counts(self) -> dict[str, int]:
        self._call("DescribeCollection")
        with self._lock:
            return {"faces": len(self.faces), "users": len(self.users)}

    # -- user vectors: a user's vector is the mean of its faces' ------------------

    def search_users(self, face_id: str, threshold: float, usage: Usage) -> list[UserMatch]:
        with timed(usage, "SearchUsers"):
            self._call("SearchUsers")
            with self._lock:
                identity = self.faces[face_id][0]
                found = [UserMatch(u, sim) for u, faces in self.users.items()
                         if faces and (sim := self.user_similarity(identity, faces)) >= threshold]
            return sorted(found, key=lambda m: -m.similarity)

    def list_users(self) -> Iterator[str]:
        self._call("ListUsers")
        with self._lock:
            return iter(sorted(self.users))

    def create_user(self, user_id: str) -> None:
        with timed(self.ledger, "CreateUser"):
            self._call("CreateUser")
            with self._lock:
                self.users.setdefault(user_id, set())

    def associate_faces(self, user_id: str, face_ids: list[str]) -> Associated:
        assert 0 < len(face_ids) <= 100, "AssociateFaces takes 1 to 100 faces"
        with timed(self.ledger, "AssociateFaces"):
            self._call("AssociateFaces")
            out = Associated()
            with self._lock:
                if user_id not in self.users:
                    raise ItemFailed(f"fake ResourceNotFoundException: user {user_id}")
                held = self.users[user_id]
                for face_id in face_ids:
                    others = [u for u, faces in self.users.items() if face_id in faces]
                    if face_id not in self.faces or (others and others != [user_id]):
                        out.failed.append(face_id)
                    elif held and self.user_similarity(
                            self.faces[face_id][0], held) < self.associate_threshold:
                        out.refused.append(face_id)
                    else:
                        held.add(face_id)
                        out.done.append(face_id)
            return out

    def disassociate_faces(self, user_id: str, face_ids: list[str]) -> None:
        with timed(self.ledger, "DisassociateFaces"):
            self._call("DisassociateFaces")
            with self._lock:
                self.users.get(user_id, set()).difference_update(face_ids)

    def delete_user(self, user_id: str) -> None:
        with timed(self.ledger, "DeleteUser"):
            self._call("DeleteUser")
            with self._lock:
                self.users.pop(user_id, None)

    def take_ledger(self) -> Usage:
        ledger, self.ledger = self.ledger, Usage()
        return ledger

    def user_similarity(self, identity: int, faces: set[str]) -> float:
        """100 x the cosine between the face's vector and the mean of the user's faces'.
        Each identity's vector is drawn from `similar` (a Gram matrix of cosines), so two
        faces compare as search_faces says and a user covers its faces' variety."""
        vectors = _embedding(tuple(sorted(self.similar.items())))
        mean = vectors[[self.faces[f][0] for f in faces if f in self.faces]].mean(0)
        norm = float(np.linalg.norm(mean))
        return 0.0 if norm == 0 else round(100 * float(vectors[identity] @ mean) / norm, 2)

    def close(self) -> None:
        pass

    def where(self) -> str:
        return f"the {self.name} engine"

    def list_faces(self) -> Iterator[tuple[str, str]]:
        self._call("ListFaces")
        with self._lock:
            return iter([(fid, ext) for fid, (_, ext) in self.faces.items()])

    # -- helpers ----------------------------------------------------------

    def similarity(self, a: int, b: int) -> float:
        if a == b:
            return 99.0
        return self.similar.get((min(a, b), max(a, b)), 0.0)

    def _call(self, operation: str) -> None:
        if self.cap is not None and not self._take_token(operation):
            if self.latency:
                time.sleep(self.latency)
            with self._lock:
                self.throttled[operation] += 1
            raise Throttled(f"fake ProvisionedThroughputExceededException ({operation})")
        with self._lock:
            self.calls[operation] += 1
        if self.before_call:
            self.before_call(operation)
        if self.latency:
            time.sleep(self.latency)

    def _take_token(self, operation: str) -> bool:
        assert self.cap is not None
        with self._lock:
            now = time.monotonic()
            tokens, at = self._buckets.get(operation, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.cap)
            taken = tokens >= 1.0
            self._buckets[operation] = (tokens - 1.0 if taken else tokens, now)
            return taken

    @staticmethod
    @functools.lru_cache(maxsize=64)  # IndexFaces and DetectText look at the same bytes
    def _squares(image: bytes) -> list[tuple[int, tuple[float, float, float, float]]]:
        opened = Image.open(io.BytesIO(image))
        opened.draft("RGB", (256, 256))
        img = opened.convert("RGB")
        img.thumbnail((256, 256), Image.Resampling.NEAREST)
        pixels = np.asarray(img, dtype=np.float32)
        h, w, _ = pixels.shape
        # |p - c|^2 = |p|^2 - 2 p.c + |c|^2, as one matrix product: ~15x less CPU than
        # broadcasting the differences, so that the fake is not what limits the import
        # benchmark (23 -> ~2 ms a call at 256 x 192).
        flat = pixels.reshape(-1, 3)
        partial = _PALETTE_SQ[None, :] - 2 * flat @ _PALETTE_T  # |p|^2 added back below
        nearest_flat = partial.argmin(1)
        best = partial[np.arange(len(flat)), nearest_flat] + np.einsum("ij,ij->i", flat, flat)
        nearest = nearest_flat.reshape(h, w)
        close = (best < 45**2).reshape(h, w)
        found = []
        for colour in np.unique(nearest[close]):
            ys, xs = np.nonzero(close & (nearest == colour))
            if len(xs) < 9:  # JPEG fringes, not a square
                continue
            x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
            found.append((int(colour), (x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h)))
        return found


@functools.lru_cache(maxsize=8)
def _embedding(similar: tuple) -> np.ndarray:
    """Unit vectors, one an identity, whose cosines are the look-alike table's similarities
    (0 for identities not listed): the Gram matrix's eigenvectors, negative parts dropped."""
    n = len(FACE_COLOURS)
    gram = np.eye(n)
    for (a, b), sim in similar:
        gram[a, b] = gram[b, a] = sim / 100
    values, vectors = np.linalg.eigh(gram)
    out = vectors * np.sqrt(np.clip(values, 0, None))
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def draw_photo(size=(640, 480), faces=(), texts=(), background=(235, 235, 235)) -> Image.Image:
    """A test photo: faces = [(identity, (left, top, width, height))] in 0-1 units; texts likewise."""
    img = Image.new("RGB", size, background)
    w, h = size
    for palette, items in ((FACE_COLOURS, faces), (TEXT_COLOURS, texts)):
        for k, (left, top, bw, bh) in items:
            block = Image.new("RGB", (max(1, round(bw * w)), max(1, round(bh * h))), palette[k])
            img.paste(block, (round(left * w), round(top * h)))
    return img
