"""Folder rules: photos that never leave the machine, or are never analysed for faces.

In config.toml:

    [[folders]]
    path = "~/Pictures/kids"
    cloud = false    # nothing from here goes to a cloud engine (or to the S3 copy)
    faces = false    # no face analysis at all: no template is ever made from these photos

The deepest rule above a path applies to it (a sub-folder may relax its parent's rule);
a photo with several paths takes every rule of them, and keeps what it was ever marked
with (photos.protection), so moving it out again sends nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass

from photosense_cli.errors import PhotosenseError

NO_FACES = "no-faces"
NO_CLOUD = "no-cloud"
Protection = frozenset  # of NO_FACES, NO_CLOUD; stored as "no-cloud,no-faces" or NULL


def stored(p: frozenset[str]) -> str | None:
    return ",".join(sorted(p)) or None


def loaded(value: str | None) -> frozenset[str]:
    return frozenset(v for v in (value or "").split(",") if v)


# A rule's folder through its symbolic links, once per run: asked for every photo's path
# otherwise (a few lstat calls each, per rule).
_real = functools.lru_cache(maxsize=256)(os.path.realpath)


@dataclass(frozen=True)
class FolderRule:
    path: str  # absolute, as typed (expanded); its real path matches too
    cloud: bool = True
    faces: bool = True

    @property
    def protection(self) -> frozenset[str]:
        return frozenset({NO_FACES} if not self.faces else ()) | frozenset(
            {NO_CLOUD} if not self.cloud else ())

    def to_json(self) -> dict:
        return {"path": self.path, "cloud": self.cloud, "faces": self.faces}


@dataclass(frozen=True)
class Verdict:
    """What one photo's analysis may do on one engine."""

    protection: frozenset[str]
    faces: bool  # the engine may look for faces
    text_here: bool  # text must be read on this machine: the engine is a cloud one

    @property
    def kept_back(self) -> str | None:
        """The rule that changed this photo's analysis, for the counts: None if none did."""
        if NO_FACES in self.protection:
            return NO_FACES
        return NO_CLOUD if self.text_here else None


@dataclass(frozen=True)
class FolderRules:
    rules: tuple[FolderRule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def rule_for(self, path: str) -> FolderRule | None:
        best: tuple[int, FolderRule] | None = None
        for rule in self.rules:
            for root in {rule.path, _real(rule.path)}:
                if path == root or path.startswith(root.rstrip("/") + "/"):
                    if best is None or len(root) > best[0]:
                        best = (len(root), rule)
        return best[1] if best else None

    def protection(self, paths: Iterable[str], marked: str | None = None) -> frozenset[str]:
        out = loaded(marked)
        for path in paths:
            if (rule := self.rule_for(path)) is not None:
                out |= rule.protection
        return out

    def verdict(self, paths: Iterable[str], cloud_engine: bool,
                marked: str | None = None) -> Verdict:
        p = self.protection(paths, marked)
        here = cloud_engine and NO_CLOUD in p
        return Verdict(p, faces=NO_FACES not in p and not here, text_here=here)


def parse(raw: object, where: str) -> FolderRules:
    """The [[folders]] array of a config file, checked; PhotosenseError names the problem."""
    if not isinstance(raw, list):
        raise PhotosenseError(f"{where}: folders must be an array of tables ([[folders]])")
    rules = []
    for i, entry in enumerate(raw, 1):
        if not isinstance(entry, dict):
            raise PhotosenseError(f"{where}: [[folders]] entry {i} is not a table")
        unknown = set(entry) - {"path", "cloud", "faces"}
        if unknown:
            raise PhotosenseError(f"{where}: [[folders]] entry {i}: unknown key "
                                  f"{sorted(unknown)[0]!r} (known: cloud, faces, path)")
        path = entry.get("path")
        if not isinstance(path, str) or not path.strip():
            raise PhotosenseError(f"{where}: [[folders]] entry {i} needs a path")
        for key in ("cloud", "faces"):
            if key in entry and not isinstance(entry[key], bool):
                raise PhotosenseError(f"{where}: [[folders]] entry {i}: {key} must be "
                                      f"true or false, not {entry[key]!r}")
        expanded = os.path.expanduser(path)
        if not os.path.isabs(expanded):  # relative to what? cron's folder is not the user's
            raise PhotosenseError(f"{where}: [[folders]] entry {i}: path {path!r} must be "
                                  "absolute or start with ~")
        rules.append(FolderRule(os.path.normpath(expanded),
                                entry.get("cloud", True), entry.get("faces", True)))
    return FolderRules(tuple(rules))
