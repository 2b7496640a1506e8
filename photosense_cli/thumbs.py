"""Face crops for one session of looking at people (the review app, sheets).

Each photo is decoded at most once per session: when it is, every face on it is cropped
(the next person is often on the same group photo), and the crops are kept as small
JPEGs in memory. Nothing is written to disk, so there is no cache for `forget` to miss.
No catalogue access here: a front end may run `crops` on a worker thread.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from photosense_cli.records import Face

SIZE = 160  # the crop's side in pixels: a 12-cell tile shows 12x10 half-blocks, kitty ~120 px
# Decoded no larger than a face's crop region needs this many pixels: 3/4 of SIZE, so
# a JPEG's DCT scaling (1/2, 1/4, 1/8) applies to most photos; the crop's last quarter
# of upscaling is invisible in a 12-cell tile.
NEED = SIZE * 3 // 4
# A session that looks at 1,000 people x 24 faces keeps ~24,000 crops: ~6 KB each as
# JPEG (q85, 160 px), 150 MB; decoded RGB they would be 77 KB each, 1.8 GB.
QUALITY = 85
MARGIN = 0.25  # images.face_crop's margin on each side: the region is 1.5x the box

Ready = Callable[[dict[int, Image.Image]], None]


def scale_for(faces: list[Face]) -> Callable[[int, int], float]:
    """The decode scale at which the smallest face's crop region still has NEED pixels."""
    def scale(width: int, height: int) -> float:
        region = min(max(f.box.width * width, f.box.height * height) for f in faces)
        return min(1.0, NEED / max(region * (1 + 2 * MARGIN), 1.0))
    return scale


class FaceCrops:
    """Crops by face id; thread-safe, so a front end can crop the next person ahead."""

    def __init__(self) -> None:
        self._jpeg: dict[int, bytes] = {}
        self._failed: dict[str, str] = {}  # path -> why it could not be read
        self._done: set[str] = set()
        self._lock = threading.Lock()
        # Pillow decodes without the GIL: one photo per core at once (2 cores: 2x)
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                                        thread_name_prefix="photosense-crops")
        self.decodes = 0  # photos decoded in this session (the benchmark checks it)

    def failed(self, path: str) -> str | None:
        return self._failed.get(path)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def crops(self, plan: dict[str, list[Face]], wanted: Iterable[int],
              on_ready: Ready | None = None) -> dict[int, Image.Image]:
        """The crops of `wanted` faces, decoding each photo of `plan` (path -> every face
        on it) not decoded yet, in the order the faces are wanted; `on_ready` gets each
        photo's wanted crops as soon as they are made. A photo that cannot be read is
        remembered, not retried."""
        wanted = list(dict.fromkeys(wanted))
        order = {f: i for i, f in enumerate(wanted)}
        todo = []
        with self._lock:
            for path, faces in sorted(plan.items(), key=lambda kv: min(
                    (order.get(f.id, len(order)) for f in kv[1]), default=len(order))):
                if path not in self._done and any(f.id in order for f in faces):
                    self._done.add(path)
                    todo.append((path, faces))
        for ids in self._pool.map(lambda job: self._decode(*job), todo):
            if on_ready is not None:
                got = self._get([i for i in ids if i in order])
                if got:
                    on_ready(got)
        return self._get(wanted)

    def cached(self, ids: Iterable[int]) -> dict[int, Image.Image]:
        return self._get(list(ids))

    def _get(self, ids: list[int]) -> dict[int, Image.Image]:
        with self._lock:
            found = {i: self._jpeg[i] for i in ids if i in self._jpeg}
        return {i: Image.open(io.BytesIO(data)) for i, data in found.items()}

    def _decode(self, path: str, faces: list[Face]) -> list[int]:
        from photosense_cli import images
        from photosense_cli.errors import ItemFailed, os_reason

        try:
            img = images.decode_scaled(images.read_photo(path), scale_for(faces))
        except OSError as e:
            self._failed[path] = os_reason(e)
            return []
        except ItemFailed as e:
            self._failed[path] = e.reason
            return []
        out = {}
        for f in faces:
            buf = io.BytesIO()
            images.face_crop(img, f.box, margin=MARGIN, size=SIZE).save(buf, "JPEG",
                                                                        quality=QUALITY)
            out[f.id] = buf.getvalue()
        with self._lock:
            self.decodes += 1
            self._jpeg.update(out)
        return list(out)
