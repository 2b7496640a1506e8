"""The review app's pictures: a face tile, the grid of a person's faces, the candidates.

A tile is 14x8 cells (a 12x6 picture and its label inside a one-cell frame): 4 across
and 2 down fit beside the candidates at 80x24, 7x3 at 120x40. The selected tile's frame
is heavy, which reads without colour (NO_COLOR) as well as with it.
"""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from photosense_cli.cli.output import display

TILE_WIDTH, TILE_HEIGHT = 14, 8


def image_class(kind: str) -> Any:
    """The textual-image widget for --images (None: no pictures). Imported here, not at
    the top: textual-image asks the terminal what it can draw when it is imported."""
    if kind == "none":
        return None
    from textual_image import widget

    return {"auto": widget.Image, "kitty": widget.TGPImage, "sixel": widget.SixelImage,
            "blocks": widget.HalfcellImage}[kind]


def short(text: str, width: int) -> str:
    """A name or file name cut to `width` cells with an ellipsis, shown literally."""
    text = display(text)
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


class FaceTile(Vertical):
    """One face: its picture (or, with --images none, its file name) over its id."""

    def __init__(self, face_id: int, path: str, *, picture: bool) -> None:
        super().__init__(classes="tile")
        self.face_id, self.path, self.picture = face_id, path, picture

    def compose(self) -> ComposeResult:
        body = "…" if self.picture else short(os.path.basename(self.path) or "?", 12)
        yield Static(Text(body), classes="pic")
        yield Static(Text(f"face {self.face_id}"), classes="label")

    def show_image(self, image_cls: Any, crop: Any) -> None:
        old = self.query_one(".pic")
        self.mount(image_cls(crop, classes="pic"), before=old)
        old.remove()

    def show_missing(self, reason: str) -> None:
        self.query_one(".pic", Static).update(Text(short(reason, 24)))


class Candidates(Widget):
    """The best merge candidates: number key, cover face, name, similarity."""

    def __init__(self) -> None:
        super().__init__(id="candidates")

    def compose(self) -> ComposeResult:
        yield Static(id="cand-title")
        for n in range(1, 4):
            with Vertical(id=f"cand-{n}", classes="cand"):
                yield Static(classes="cand-pic")
                yield Static(classes="cand-label")
