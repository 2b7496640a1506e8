"""The offline engine: faces and text on this machine, with models that ship in PyPI wheels.

Faces: dlib's HOG detector, its 5-point aligner and its 128-d ResNet descriptor
(face-recognition-models). Text: PP-OCR through rapidocr on onnxruntime. Both
hold the GIL for long stretches, so the models run in worker processes, loaded
once per process. The "collection" is an in-memory matrix of descriptors, primed
from the catalogue, searched with one vectorised distance computation.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import os
import statistics
import threading
import uuid
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Iterable, Iterator, Sized

import numpy as np

from photosense_cli.engines.base import (
    TEXT_MIN_CONFIDENCE,
    Box,
    DetectedFace,
    EngineOptions,
    KnownFace,
    Match,
    TextLine,
    Usage,
)
from photosense_cli.engines.timing import timed
from photosense_cli.errors import EngineError, ItemFailed, describe

if TYPE_CHECKING:
    from photosense_cli.engines.cluster import DaskCluster

# Calibrated on ../shared/data/faces (benchmarks/calibrate_local.py): same-person
# pairs lie at 0.06-0.52, different people at 0.64 and beyond; 0.58 sits between.
MATCH_DISTANCE = 0.58
DETECT_LONG_SIDE = 1600  # HOG upsampled once finds faces down to ~40 px at this size
DESCRIPTOR_DIM = 128
PROBE_FLOOR = -1.0  # face_score looks this far below the detector's own bar
# import --prefilter local sends a photo to IndexFaces when its best HOG score reaches
# this: below the detector's own bar (0), so unsure photos go too. On the shared photos
# the faintest real face scores 0.68 (all 23 face photos kept), while 32 of 42 photos
# without faces (the text photos, generated landscapes, documents, shapes) score below
# it; noise textures are the unsure ones (benchmarks/prefilter_bench.py). At 0, the
# detector's own bar, 41 of 42 would be skipped, but a face HOG finds faintly (a profile,
# a dark one) that Rekognition would index would be lost.
PREFILTER_THRESHOLD = -0.5


def similarity(distance: np.ndarray | float) -> np.ndarray | float:
    """Euclidean descriptor distance to Rekognition's 0-100 scale: MATCH_DISTANCE maps to 90."""
    return np.clip(100.0 - 10.0 * np.asarray(distance) / MATCH_DISTANCE, 0.0, 100.0)


def distance_within(threshold: float) -> float:
    """The distance beyond which similarity() is below threshold: its inverse."""
    return math.inf if threshold <= 0.0 else max(0.0, (100.0 - threshold) * MATCH_DISTANCE / 10.0)


# -- the models, one set per process -----------------------------------------------

_models: dict = {}

# dlib's HOG face detector, as dlib itself saves it (get_frontal_face_detector().save(path),
# dlib 20.0; Boost Software License, beside it). dlib builds the detector from a text copy
# compiled into the library, which took 0.25-0.33 s of each worker's start; the saved
# copy loads in 1 ms and finds the same boxes with the same scores (tests/test_local_engine).
DETECTOR_FILE = os.path.join(os.path.dirname(__file__), "frontal_face_detector.svm")


def _load_models() -> dict:
    if "detector" not in _models:  # the OCR may be loaded already (a cluster worker)
        import dlib

        try:
            _models["detector"] = dlib.fhog_object_detector(DETECTOR_FILE)
        except RuntimeError:  # missing, or a dlib that reads it no more: build dlib's own
            _models["detector"] = dlib.get_frontal_face_detector()
        _models["aligner"] = dlib.shape_predictor(_model_file("shape_predictor_5_face_landmarks.dat"))
        _models["describer"] = dlib.face_recognition_model_v1(
            _model_file("dlib_face_recognition_resnet_model_v1.dat"))
    return _models


def _model_file(name: str) -> str:
    """A model of the face-recognition-models wheel, found without importing the package:
    its __init__ imports setuptools' pkg_resources (0.09-0.13 s of each worker's start),
    which setuptools deprecates."""
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError("the offline engine's face models are not installed: "
                          "pip install 'photosense-cli[local]'")
    return os.path.join(spec.submodule_search_locations[0], "models", name)


def _load_ocr(threads: int | None = None):
    if "ocr" not in _models:
        import logging

        from rapidocr import RapidOCR

        logging.getLogger("RapidOCR").setLevel(logging.ERROR)  # quiet from the import on
        # Text detection on the long side bounded to 736 px (rapidocr's own default bounds
        # the *short* side to at least 736, three times the time). On the shared photos
        # 960 took 8.4 s, 800 6.7 s, 736 6.0 s; all three find every labelled word of the
        # text photos and differ only by stray letters (a 'M', a '国') read into the
        # faces' photos; 640 (4.7 s) still finds them, but lines start to change.
        # No angle classifier: photos are made upright from EXIF before they get here, and
        # on the shared photos it changed no line while taking 4 % of the time.
        # Lines recognised one at a time (rapidocr's default is 6 to a batch): a batch is
        # padded to its widest line, and a worker kept the largest padded batch. On the shared
        # photos the largest worker fell from 509-565 MB to 417-464, the same lines and boxes
        # were read, and each line's confidence no longer depends on the lines it shared a
        # batch with (up to 1.3 points: 98.2 alone, 99.5 in a batch).
        params = {"Det.limit_type": "max", "Det.limit_side_len": 736, "Global.use_cls": False,
                  "Rec.rec_batch_num": 1,
                  "Global.log_level": "error"}  # "no text found" is not news to the user
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        ocr = RapidOCR(params=params)
        # onnxruntime's memory arena (rapidocr turns it off) for recognition only: its
        # buffers are then reused from one line to the next (measured with batches of 6:
        # 6.7 -> 6.4 s of OCR on the shared photos for +17 MB). For detection it saved 0.6 s more but kept
        # +130 MB, one set of buffers per photo size, so detection allocates per photo.
        # rapidocr reads the engine settings when it first loads each model.
        load_rec = getattr(ocr, "_load_rec_model", None)
        if load_rec is not None:
            ocr.cfg.EngineConfig.onnxruntime.enable_cpu_mem_arena = True
            load_rec()
            ocr.cfg.EngineConfig.onnxruntime.enable_cpu_mem_arena = False
        _models["ocr"] = ocr
    return _models["ocr"]


def _init_worker(parent: int | None = None, faces: bool = True, text: bool = True) -> None:
    # One core per worker process: the processes give the parallelism.
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    # A helper of a cloud engine (--text local, --prefilter local) loads what it uses only.
    if faces:
        _load_models()
    if text:
        _load_ocr(threads=1)


def _exit_with(parent: int) -> None:
    """A model worker holds ~450 MB: it must not outlive its import, however that died.

    ProcessPoolExecutor only stops workers its parent shuts down; after kill -9 or an
    unhandled SIGTERM they would be re-parented and live on. Checking once a second
    costs nothing and ends them within about a second of the parent.
    """
    import time

    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _rgb(image: bytes) -> np.ndarray:
    """The photo upright, scaled to images.LONG_SIDE at most: what a cloud engine is sent."""
    from photosense_cli import images

    return np.asarray(images.decode_upright(image, images.LONG_SIDE)[0])


FoundFace = tuple[tuple[float, float, float, float], float, bytes]
FoundLine = tuple[str, float, tuple[float, float, float, float]]


def _decoded(func, image: bytes):
    """func on the photo's pixels: how a worker process runs a task, decoding it there."""
    return func(_rgb(image))


def analyse_photo(pixels: np.ndarray) -> tuple[list[FoundFace], list[FoundLine]]:
    """A photo's faces and its lines: one task, the image decoded once.

    Before, the faces and the text were two tasks, each sending the bytes to a worker
    and decoding them there.
    """
    return _faces_in(pixels), _lines_in(pixels)


# HOG's window is 80 px: faces from 80 px (at the detection scale) are found without
# upsampling, at a quarter of the cost (0.08 s against 0.33 s a photo on the shared
# photos). The upsampled pass, which finds faces down to 40 px, is skipped when the
# plain pass found a face of at least SUBJECT_PX: the smaller faces it would add are
# under half the size of the photo's subject and under 80 px, faces in the background
# (which photosense hides anyway when they stay alone). Photos with no face found, or
# only small ones (a group, a crowd), get the upsampled pass as before.
SUBJECT_PX = 160


def _faces_in(pixels: np.ndarray) -> list[FoundFace]:
    """(box, confidence, descriptor) for each face of an upright image."""
    import dlib

    m = _load_models()
    h, w = pixels.shape[:2]
    small, scale = _for_detection(pixels)
    rects, scores, _ = m["detector"].run(small, 0, 0.0)
    if max((r.height() for r in rects), default=0) < SUBJECT_PX:
        rects, scores, _ = m["detector"].run(small, 1, 0.0)
    out = []
    for rect, score in zip(rects, scores, strict=True):
        x0, y0 = max(0, rect.left() / scale), max(0, rect.top() / scale)
        x1, y1 = min(w, rect.right() / scale), min(h, rect.bottom() / scale)
        if x1 <= x0 or y1 <= y0:
            continue
        full = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
        shape = m["aligner"](pixels, full)
        descriptor = np.asarray(m["describer"].compute_face_descriptor(pixels, shape), np.float32)
        confidence = 100.0 / (1.0 + math.exp(-2.0 * score))  # HOG margin to 0-100
        out.append(((x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h), confidence, descriptor.tobytes()))
    return out


def face_score(image: bytes) -> float:
    """The HOG detector's best score for any face in the image (its margin: 0 is its own
    bar for a face), or PROBE_FLOOR when nothing comes near; for import --prefilter."""
    return _face_score(_rgb(image))


def _face_score(pixels: np.ndarray) -> float:
    small, _ = _for_detection(pixels)
    _, scores, _ = _load_models()["detector"].run(small, 1, PROBE_FLOOR)
    return max(scores, default=PROBE_FLOOR)


def _for_detection(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """The image HOG runs on (long side at most DETECT_LONG_SIDE), and its scale."""
    h, w = pixels.shape[:2]
    scale = min(1.0, DETECT_LONG_SIDE / max(h, w))
    if scale == 1.0:
        return pixels, scale
    from PIL import Image

    return np.asarray(Image.fromarray(pixels).resize((round(w * scale), round(h * scale)))), scale


# A photo read as only unsure lines is read again turned half a turn: PP-OCR turns a
# vertical line a quarter turn one way only, so text turned 90 or 180 degrees read as
# garbage at 60-84 (benchmarks/ocr_bench.py: 0 of 45 words), and 45 of 45 turned back.
# Upright text reads at 95-100; a read whose median confidence is below UNSURE takes
# the second pass. A photo with no text region at all takes none.
UNSURE = 90.0


def _lines_in(pixels: np.ndarray) -> list[FoundLine]:
    """Lines with confidence on 0-100, boxes normalised to the image; a photo read as
    unsure lines only is read again turned 180 degrees, and the surer reading kept."""
    lines = _read_once(pixels)
    if not lines or statistics.median(c for _, c, _ in lines) >= UNSURE:
        return lines
    turned = [(t, c, (1 - x - w, 1 - y - h, w, h))  # boxes back in the photo as it is
              for t, c, (x, y, w, h) in _read_once(np.ascontiguousarray(pixels[::-1, ::-1]))]
    # the turned reading only when it is sure itself and holds more sure text
    sure = turned and statistics.median(c for _, c, _ in turned) >= UNSURE
    return turned if sure and _sureness(turned) > _sureness(lines) else lines


def _sureness(lines: list[FoundLine]) -> float:
    """How much confident text a reading holds: its word characters by confidence."""
    return sum(c * sum(ch.isalnum() for ch in t) for t, c, _ in lines if c > TEXT_MIN_CONFIDENCE)


# A line of one character is noise the OCR reads in textures (the shared portraits: "V"
# at 91 on a suit, "M" at 87 in a crowd, both under 3 % of the photo's height) unless it
# shares a row with a real line (a word the OCR cut) or is a sign: at least LONE_HEIGHT
# of the photo's height and LONE_CONFIDENCE sure (the shared photos' real fragments "T",
# "H" are 8-11 % high at 97-100; a generated "P" sign 42 % at 99).
LONE_HEIGHT = 0.05
LONE_CONFIDENCE = 95.0


def keep_real_lines(lines: list[FoundLine]) -> list[FoundLine]:
    """The lines without the one-character noise (see LONE_HEIGHT)."""
    real = [ln for ln in lines if not _lone(ln[0])]
    return [ln for ln in lines if not _lone(ln[0])
            or (ln[2][3] >= LONE_HEIGHT and ln[1] >= LONE_CONFIDENCE)
            or any(_same_row(ln[2], r[2]) for r in real)]


def _lone(text: str) -> bool:
    return sum(ch.isalnum() for ch in text) <= 1


def _same_row(a: tuple, b: tuple) -> bool:
    """Boxes on one line of text: half the smaller height shared, at most two heights
    apart across."""
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    shared = min(ay + ah, by + bh) - max(ay, by)
    gap = max(bx - (ax + aw), ax - (bx + bw), 0.0)
    return shared >= 0.5 * min(ah, bh) and gap <= 2 * max(ah, bh)


def _read_once(pixels: np.ndarray) -> list[FoundLine]:
    """One PP-OCR read: lines with confidence on 0-100, boxes normalised."""
    h, w = pixels.shape[:2]
    result = _load_ocr()(pixels[:, :, ::-1])  # rapidocr takes OpenCV's BGR order
    if result.txts is None:
        return []
    out = []
    for polygon, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        x0, y0 = max(0.0, min(xs)), max(0.0, min(ys))
        x1, y1 = min(float(w), max(xs)), min(float(h), max(ys))
        out.append((text, float(score) * 100, (x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h)))
    return out


# -- the engine ------------------------------------------------------------------


class LocalEngine:
    name = "local"
    min_side = 80
    default_workers = None  # one model process per core: the models are CPU-bound
    models_in_processes = True
    parallel_calls = False  # CPU-bound: overlapping a photo's calls measured 738 -> 1,093 MB
    # Decoding in the worker spares the importer's process a decode, a resize and a JPEG
    # encode for every photo that is turned, larger than LONG_SIDE or not a JPEG (9 of the
    # 25 shared photos, 0.78 s of CPU) on the cores the models need.
    decodes_images = True
    remote_faces = False  # descriptors live in the catalogue's rows, nowhere else
    prices_usd: dict[str, float] = {}  # runs on the user's machine
    # Calibrated on ../shared/data/faces: different people lie at distance >= 0.641
    # (similarity <= 88.9), one person at <= 0.523 (>= 91.0). 'suggest --search' on the 11
    # correctly separated people there gave 55 suggestions at 80 and 30 at 85, all wrong,
    # and none at 89: from 89 on, only pairs closer than any two different people seen.
    suggest_threshold = 89.0
    # No user vectors: each person's prototype would be their analogue here, and the
    # shared and changed sets leave nothing for one to win (design.md, Clustering).
    user_vectors = False
    runs_on_cluster = True  # engines/cluster.py: import --cluster

    @classmethod
    def create(cls, options: EngineOptions) -> LocalEngine:
        from photosense_cli.engines import local_available

        if not local_available():
            raise EngineError("the offline engine is not installed: pip install "
                              "'photosense-cli[local]', or use --engine rekognition with an "
                              "AWS account")
        engine = cls(processes=options.workers, faces=not options.text_only,
                     text=not options.faces_only)
        if options.cluster:
            from photosense_cli.engines.cluster import MAX_IN_FLIGHT, DaskCluster

            engine._cluster = DaskCluster(options.cluster, faces=engine.faces, text=engine.text)
            # --workers bounds the photos in flight; by default two a cluster thread
            engine.processes = options.workers or min(MAX_IN_FLIGHT // 2,
                                                      engine._cluster.threads())
        return engine

    def __init__(self, processes: int | None = None, faces: bool = True, text: bool = True):
        self.processes = max(1, processes or os.cpu_count() or 1)
        self.faces, self.text = faces, text
        self._cluster: DaskCluster | None = None  # import --cluster: the models run there
        self._pool: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._matrix = np.empty((0, DESCRIPTOR_DIM), np.float32)
        self._norms = np.empty(0, np.float32)  # squared length of each row
        self._used = 0
        # Text read along with the faces, until detect_text asks for it: id -> (the bytes,
        # their lines). The bytes are kept so that a reused id is never taken for them.
        self._lines: dict[int, tuple[bytes, list[FoundLine]]] = {}

    def _run(self, func, image: bytes):
        """func (one of the functions above) on the photo's pixels: in a model process,
        or, with one process, in this one behind the model lock."""
        try:
            if self._cluster is not None:
                return self._cluster.run(func, image)
            if self.processes == 1:
                # Decoded in the importer's thread, outside the lock: with one model process
                # the decode overlaps the models' work on the photo before (on the shared
                # photos, 13.6 s with the decode inside it).
                pixels = _rgb(image)
                with self._model_lock:  # dlib and onnxruntime sessions are not safe across threads
                    return func(pixels)
            with self._lock:
                if self._pool is None:
                    # spawn, not fork: the importer's threads are running by now
                    self._pool = cf.ProcessPoolExecutor(
                        self.processes, mp_context=multiprocessing.get_context("spawn"),
                        initializer=_init_worker,
                        initargs=(os.getpid(), self.faces, self.text))
            return self._pool.submit(_decoded, func, image).result()
        except BrokenProcessPool:
            raise EngineError("a local engine worker died (out of memory?); "
                              "try again with fewer --workers") from None
        except (ItemFailed, EngineError):  # the decode's own words ("cannot decode: image
            raise  # file is truncated"), a cluster gone or a worker without the models
        except Exception as e:  # a model failing on one photo fails that photo only
            raise ItemFailed(f"local engine: {type(e).__name__}: {describe(e)}") from None

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown()
        if self._cluster is not None:
            self._cluster.close()

    def where(self) -> str:
        if self._cluster is not None:
            return f"the offline engine on the Dask cluster at {self._cluster.address}"
        return "the offline engine on this machine"

    def open_collection(self, collection_id: str, known: Iterable[KnownFace], *,
                        create: bool = True) -> None:
        # Read in chunks straight into the matrix, sized once when the caller knows how
        # many faces come (runner.attach does). One face at a time (a lock, a row copy, the
        # doubling) took 28.6 s and peaked at 2.4 GB for 3,000,000 faces, a million-photo
        # library (scale_bench.py --matrix), before each import's first photo.
        hint = len(known) if isinstance(known, Sized) else 0
        with self._lock:
            self._reserve(self._used + hint + 1024)
        chunk: list[tuple[str, bytes]] = []
        for face in known:
            if face.descriptor is not None and len(face.descriptor) == 4 * DESCRIPTOR_DIM:
                chunk.append((face.face_id, face.descriptor))
                if len(chunk) == 65_536:
                    self._add_chunk(chunk)
                    chunk = []
        self._add_chunk(chunk)

    def _add_chunk(self, chunk: list[tuple[str, bytes]]) -> None:
        if not chunk:
            return
        ids = [f for f, _ in chunk]
        rows = np.frombuffer(b"".join(d for _, d in chunk), np.float32).reshape(
            len(chunk), DESCRIPTOR_DIM)
        with self._lock:
            start = self._used
            need = start + len(ids)
            if need > len(self._matrix):  # by half again: appends stay O(1) amortised
                self._reserve(max(1024, need + need // 2))
            self._matrix[start:need] = rows
            self._norms[start:need] = np.einsum("ij,ij->i", rows, rows)
            self._rows.update(zip(ids, range(start, need), strict=True))
            self._ids.extend(ids)
            self._used = need

    def _reserve(self, rows: int) -> None:
        """Room for this many descriptors (under the lock). np.empty touches no page: the
        memory is taken as the rows are written."""
        if rows <= len(self._matrix):
            return
        grown = np.empty((rows, DESCRIPTOR_DIM), np.float32)
        grown[: self._used] = self._matrix[: self._used]
        self._matrix = grown
        norms = np.empty(rows, np.float32)
        norms[: self._used] = self._norms[: self._used]
        self._norms = norms

    def index_faces(self, image: bytes, external_id: str, usage: Usage) -> list[DetectedFace]:
        with timed(usage, "IndexFaces"):
            if self.text:
                # One task reads the text as well; detect_text, called next with the same
                # bytes by the importer, takes it from here instead of sending them again.
                found, lines = self._run(analyse_photo, image)
                with self._lock:
                    self._lines[id(image)] = (image, lines)
                    while len(self._lines) > 64:  # photos that failed before their text
                        self._lines.pop(next(iter(self._lines)))
            else:
                found = self._run(_faces_in, image)
        faces = []
        for box, confidence, descriptor in found:
            face = DetectedFace(uuid.uuid4().hex, Box(*box), confidence, descriptor)
            self._add_chunk([(face.face_id, descriptor)])
            faces.append(face)
        return faces

    def may_hold_faces(self, image: bytes, usage: Usage) -> bool:
        """Whether a cloud engine should look for faces here (import --prefilter local)."""
        with timed(usage, "FaceProbe"):
            return self._run(_face_score, image) >= PREFILTER_THRESHOLD

    def detect_text(self, image: bytes, usage: Usage) -> list[TextLine]:
        with timed(usage, "DetectText"):
            with self._lock:
                ready = self._lines.pop(id(image), None)
            if ready is not None and ready[0] is image:
                lines = ready[1]
            else:  # no IndexFaces before (a text-only helper), or other bytes
                lines = self._run(_lines_in, image)
        return [TextLine(t, c, Box(*b)) for t, c, b in
                keep_real_lines([ln for ln in lines if ln[1] > TEXT_MIN_CONFIDENCE])]

    def search_faces(self, face_id: str, threshold: float, usage: Usage) -> list[Match]:
        with timed(usage, "SearchFaces"), self._lock:
            row = self._rows[face_id]
            matrix = self._matrix[: self._used]
            # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one matrix-vector product over the float32
            # matrix instead of an n x 128 difference array (62 ms -> 7 ms at 300,000, the
            # product itself, bound by reading the 146 MB matrix).
            part = self._norms[: self._used] - 2.0 * (matrix @ matrix[row])  # + |b|^2 = |a - b|^2
            # Only the rows near enough get a distance and a similarity: over every row those
            # took 2.7 ms more at 300,000. The bound is a hair generous (float32 rounding);
            # similarity() itself decides, as it did for every row.
            limit = distance_within(threshold)
            near = (np.arange(self._used) if math.isinf(limit)
                    else np.nonzero(part <= (limit + 1e-4) ** 2 - self._norms[row])[0])
            sims = np.asarray(similarity(np.sqrt(np.maximum(part[near] + self._norms[row], 0.0))))
            keep = sims >= threshold
            near, sims = near[keep], sims[keep]
            order = np.argsort(-sims, kind="stable")
            return [Match(self._ids[near[j]], float(sims[j])) for j in order if near[j] != row][:100]

    def delete_faces(self, face_ids: list[str]) -> None:
        with self._lock:
            doomed = {self._rows[f] for f in face_ids if f in self._rows}
            if not doomed:
                return
            keep = [i for i in range(self._used) if i not in doomed]
            self._matrix = self._matrix[keep]
            self._norms = self._norms[keep]
            self._ids = [self._ids[i] for i in keep]
            self._used = len(keep)
            self._rows = {fid: i for i, fid in enumerate(self._ids)}

    def list_faces(self) -> Iterator[tuple[str, str]]:
        with self._lock:
            return iter([(fid, "") for fid in self._ids])

    def collection_counts(self) -> dict[str, int]:
        """The in-process index, primed from the catalogue: no users here."""
        with self._lock:
            return {"faces": self._used, "users": 0}

    def _add(self, face_id: str, descriptor: np.ndarray) -> None:
        self._add_chunk([(face_id, descriptor.astype(np.float32).tobytes())])

