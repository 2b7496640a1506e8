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
from photosense_cli.records import Candidate, ReviewCard

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


class Picture:
    """A face's picture (once its crop is made), or with --images none its file name:
    one widget, made once and given each new crop, so showing the next person mounts
    and styles nothing anew (remounting took 100-200 ms a person)."""

    def __init__(self, image_cls: Any, classes: str) -> None:
        self.image = image_cls(None, classes=classes) if image_cls is not None else None
        self.text = Static(classes=classes)
        self.widget: Widget = self.image if self.image is not None else self.text

    def show_text(self, text: str) -> None:
        if self.image is None:
            self.text.update(Text(text))

    def show_image(self, crop: Any) -> None:
        if self.image is not None and self.image.image is not crop:
            self.image.image = crop

    def clear(self) -> None:
        if self.image is not None and self.image.image is not None:
            self.image.image = None


class FaceTile(Vertical):
    """One face: its picture (or, with --images none, its file name) over its id."""

    def __init__(self, image_cls: Any) -> None:
        super().__init__(classes="tile")
        self.face_id, self.path = 0, ""
        self.pic = Picture(image_cls, classes="pic")
        self.label = Static(classes="label")

    def compose(self) -> ComposeResult:
        yield self.pic.widget
        yield self.label

    def set_face(self, face_id: int, path: str, crop: Any = None) -> None:
        self.face_id, self.path = face_id, path
        if crop is not None:
            self.pic.show_image(crop)
        else:
            self.pic.clear()
        self.pic.show_text(short(os.path.basename(path) or "?", 12))
        self.label.update(Text(f"face {face_id}"))

    def show_problem(self, reason: str) -> None:
        """A photo that could not be read: the reason where the face id was."""
        self.label.update(Text(short(reason, 12)))


class Candidates(Widget):
    """The best merge candidates: number key, cover face, name, similarity."""

    def __init__(self, image_cls: Any) -> None:
        super().__init__(id="candidates")
        self.pics = [Picture(image_cls, classes="cand-pic") for _ in range(3)]
        for p in self.pics:
            p.widget.display = image_cls is not None  # no picture: the label says it all
        self.labels = [Static(classes="cand-label") for _ in range(3)]

    def compose(self) -> ComposeResult:
        yield Static(id="cand-title")
        for n in range(3):
            with Vertical(id=f"cand-{n + 1}", classes="cand"):
                yield self.pics[n].widget
                yield self.labels[n]

    def show(self, cands: list[Candidate]) -> None:
        self.query_one("#cand-title", Static).update(
            Text("Merge with (^T, or 1-3 after Esc):" if cands else "No merge candidates"))
        for n in range(3):
            self.query_one(f"#cand-{n + 1}").display = n < len(cands)
            if n < len(cands):
                c = cands[n]
                self.labels[n].update(Text(
                    f"{n + 1} {short(c.person.name, 18)}\n   {c.score:.0f}% · "
                    f"{c.person.faces} face{'s' if c.person.faces != 1 else ''}"))
                self.pics[n].clear()

    def show_covers(self, card: ReviewCard, crops: dict[int, Any]) -> None:
        """Each candidate's cover face, once its crop is made."""
        for n, c in enumerate(card.candidates[:3]):
            cover = card.covers.get(c.person.id)
            if cover is not None and cover.id in crops:
                self.pics[n].show_image(crops[cover.id])
