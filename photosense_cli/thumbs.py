"""Face crops for one session of looking at people (the review app, sheets).

Each photo is decoded at most once per session: when it is, every face on it is cropped
(the next person is often on the same group photo), and the crops are kept as small
JPEGs in memory. Nothing is written to disk, so there is no cache for `forget` to miss.
No catalogue access here: a front end may run `crops` on a worker thread.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable

from PIL import Image

from photosense_cli.records import Face

SIZE = 160  # the crop's side in pixels: a 12-cell tile shows 12x14 half-blocks, kitty ~100 px
# A session that looks at 1,000 people x 24 faces keeps ~24,000 crops: ~6 KB each as
# JPEG (q85, 160 px), 150 MB; decoded RGB they would be 77 KB each, 1.8 GB.
QUALITY = 85
MIN_DECODE, MAX_DECODE = 320, 8192


def decode_side(faces: Iterable[Face]) -> int:
    """The long side to decode a photo at so its smallest face still fills a crop: JPEG's
    DCT scaling then decodes a 24-megapixel portrait at 1/8 (about 8x faster)."""
    smallest = min((min(f.box.width, f.box.height) for f in faces), default=1.0)
    need = SIZE / (max(smallest, 1e-3) * 1.5)  # the crop's margin widens the box by 1.5
    return int(min(max(need, MIN_DECODE), MAX_DECODE))


class FaceCrops:
    """Crops by face id; thread-safe, so a front end can crop the next person ahead."""

    def __init__(self) -> None:
        self._jpeg: dict[int, bytes] = {}
        self._failed: dict[str, str] = {}  # path -> why it could not be read
        self._done: set[str] = set()
        self._lock = threading.Lock()
        self.decodes = 0  # photos decoded in this session (the benchmark checks it)

    def failed(self, path: str) -> str | None:
        return self._failed.get(path)

    def crops(self, plan: dict[str, list[Face]], wanted: Iterable[int]) -> dict[int, Image.Image]:
        """The crops of `wanted` faces, decoding each photo of `plan` (path -> every face
        on it) not decoded yet. A photo that cannot be read is remembered, not retried."""
        wanted = list(wanted)
        for path, faces in plan.items():
            with self._lock:
                if path in self._done or not any(f.id in wanted for f in faces):
                    continue
                self._done.add(path)
            self._decode(path, faces)
        with self._lock:
            found = {i: self._jpeg[i] for i in wanted if i in self._jpeg}
        return {i: Image.open(io.BytesIO(data)) for i, data in found.items()}

    def _decode(self, path: str, faces: list[Face]) -> None:
        from photosense_cli import images
        from photosense_cli.errors import ItemFailed, os_reason

        try:
            with open(path, "rb") as fh:
                img, _, _ = images.decode_upright(fh.read(), decode_side(faces))
        except OSError as e:
            self._failed[path] = os_reason(e)
            return
        except ItemFailed as e:
            self._failed[path] = e.reason
            return
        out = {}
        for f in faces:
            buf = io.BytesIO()
            images.face_crop(img, f.box, size=SIZE).save(buf, "JPEG", quality=QUALITY)
            out[f.id] = buf.getvalue()
        with self._lock:
            self.decodes += 1
            self._jpeg.update(out)
