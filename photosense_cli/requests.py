"""What a job is asked to do, and how it asks and tells the user: the requests a front end
builds and the application layer hands, whole, to the job (it was unpacked into 14
keyword arguments at two layers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: a request is built by every import, most need no engine yet
    from photosense_cli.engines.base import EngineOptions
    from photosense_cli.policy import FolderRules


@dataclass
class ImportRequest:
    paths: list[str]
    engine: str | None = None
    workers: int | None = None
    dry_run: bool = False
    profile: str | None = None
    region: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = ""
    wait: float = 0.0
    exclude: tuple[str, ...] = ()
    retry_failed: bool = False
    read_xmp: bool = True
    max_cost: float | None = None  # USD: no photo starts that would take the run past it
    # Who reads the text: "engine" (the face engine) or "local" (the offline OCR, for a
    # cloud engine: DetectText is a third of Rekognition's bill, and text stays here).
    text: str = "engine"
    # "local": the offline face detector looks first, and only photos where it sees a
    # face (or is unsure) go to IndexFaces: landscapes and documents cost nothing for faces.
    prefilter: str = "none"
    # Bands a photo is read again in when its text reaches the engine's word limit
    # (engines/tiles.py): each is one more DetectText call on Rekognition.
    max_text_tiles: int = 4
    # A Dask scheduler (tcp://HOST:8786): the offline engine's analysis runs on its workers
    cluster: str | None = None
    # [[folders]] of config.toml: photos kept from the cloud, or from face analysis
    folders: FolderRules | None = None
    # Asked before the first billed call of a new library's first cloud import; False
    # cancels. None: the question is only told (scripts), not asked.
    consent: Callable[[str], bool] | None = None
    # Where the question goes when it is only told: on_notice when None (quiet hides it).
    told: Callable[[str], None] | None = None
    # What happened to each file (path, what): -v
    on_file: Callable[[str, str], None] | None = None
    # Each new photo stored, with its number of faces: the progress display
    on_photo: Callable[[int], None] | None = None


@dataclass
class ReindexRequest:
    """What a reindex is asked to do, and how it asks the user (as ImportRequest does)."""

    target: str
    options: EngineOptions
    workers: int | None = None
    dry_run: bool = False  # say what it would send and cost; change and call nothing
    max_cost: float | None = None  # USD: no photo starts that would take the run past it
    folders: FolderRules | None = None  # as ImportRequest's
    consent: Callable[[str], bool] | None = None  # asked before photos go to a cloud engine
    told: Callable[[str], None] = lambda message: None  # the question, when not asked
