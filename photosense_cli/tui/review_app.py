"""`photosense people review`: one screen per person, type a name, Enter.

Two modes. In the name field (the default, focus on it) typing is the name, so every
other action sits on a key no name begins with: arrows, PgUp/PgDn and Ctrl keys. Esc
leaves the field for the faces, where single letters act on the selected face. Every
action is one application-layer call, the CLI's own, so history and `photosense undo`
see it; the app's undo takes back only what this session did.

The catalogue is read on the main thread only; crops (no catalogue) are made on a worker
thread, the next person's while the user looks at this one.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from photosense_cli.app import Library
from photosense_cli.errors import PhotosenseError
from photosense_cli.records import Face, ReviewCard
from photosense_cli.tui.tiles import TILE_HEIGHT, TILE_WIDTH, Candidates, FaceTile, image_class, short

NAME_HELP = ("Enter name it  Tab complete  ↓/PgDn skip  ↑/PgUp back  Esc pick faces\n"
             "^T merge with 1  ^R not 1  ^X hide  ^Z undo  ^O open photo  ^Q quit")
FACES_HELP = ("←↑↓→ pick a face  n not this person  o open  1-3 merge with  m merge with 1\n"
              "h hide  s skip  b back  u undo  q quit  Esc/Enter/i type a name")

Opener = Callable[[str], "str | None"]
PREFETCH_AFTER = 0.15  # seconds: a person is looked at longer than that before a key


def open_in_viewer(path: str) -> str | None:
    """Open a photo in the system viewer, detached; why not, when it cannot."""
    if sys.platform == "darwin":
        cmd = ["open", path]
    elif sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606 (Windows only)
        return None
    else:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return "no display to open a viewer on (over SSH?)"
        cmd = ["xdg-open", path]
    try:
        subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as e:
        return f"cannot start {cmd[0]}: {e.strerror or e}"
    return None


class ReviewApp(App[str]):
    CSS = """
    #title { height: 1; text-style: bold; padding: 0 1; }
    #main { height: 1fr; }
    #faces-scroll { width: 1fr; }
    #faces { layout: grid; grid-size: 4; grid-columns: 14; grid-rows: 8; height: auto; }
    .tile { width: 14; height: 8; border: blank; }
    .tile.-selected { border: heavy $accent; }
    .tile .pic { width: 12; height: 5; }
    .tile .label { height: 1; }
    #faces.-text { grid-rows: 4; }
    #faces.-text .tile { height: 4; }
    #faces.-text .tile .pic { height: 1; }
    #candidates { width: 24; padding: 0 1; overflow: hidden; }
    #cand-title { height: 2; }
    .cand { height: auto; }
    .cand-pic { width: 8; height: 3; }
    .cand-label { height: 2; }
    #info { height: 1; padding: 0 1; }
    #name-row { height: 1; }
    #name-label { width: 6; padding: 0 0 0 1; }
    #name { border: none; height: 1; padding: 0 1; width: 1fr; }
    #message { height: 1; padding: 0 1; }
    #help { height: 2; padding: 0 1; }
    """
    TITLE = "photosense people review"
    BINDINGS = [
        Binding("tab", "complete", priority=True, show=False),
        Binding("ctrl+t", "merge(1)", priority=True, show=False),
        Binding("ctrl+r", "reject", priority=True, show=False),
        Binding("ctrl+x", "hide", priority=True, show=False),
        Binding("ctrl+z", "undo", priority=True, show=False),
        Binding("ctrl+o", "open", priority=True, show=False),
        Binding("pagedown", "skip", priority=True, show=False),
        Binding("pageup", "previous", priority=True, show=False),
        Binding("down", "skip", show=False),
        Binding("up", "previous", show=False),
        Binding("escape", "faces", show=False),
    ]

    def __init__(self, lib: Library, queue: list[tuple[int, int | None]], *,
                 images: str = "auto", opener: Opener = open_in_viewer) -> None:
        super().__init__()
        self.lib, self.queue, self.opener = lib, queue, opener
        self.image_cls = image_class(images)
        self.pos = -1
        self.card: ReviewCard | None = None
        self.selected = 0
        self.pending: tuple[str, str] | None = None  # (what, the name typed) awaiting Enter
        self.undo_stack: list[tuple[int, int]] = []  # (change id, queue position)
        self.counts = {"named": 0, "merged": 0, "hidden": 0, "faces taken out": 0}
        self.names = lib.review.given_names()
        self.prefetched: set[int] = set()
        self.cached: dict[int, Any] = {}  # the crops of the card on screen made already

    # -- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with Horizontal(id="main"):
            with VerticalScroll(id="faces-scroll"):
                yield FaceGrid(self.image_cls, id="faces")
            yield Candidates(self.image_cls)
        yield Static(id="info")
        with Horizontal(id="name-row"):
            yield Static("Name:", id="name-label")
            yield Input(placeholder="who is this? type a name, Enter", id="name",
                        suggester=self._suggester())
        yield Static(id="message")
        yield Static(NAME_HELP, id="help")

    def _suggester(self) -> SuggestFromList:
        # the name as it would complete, shown greyed after the cursor; Tab takes it
        return SuggestFromList(self.names, case_sensitive=False)

    def on_mount(self) -> None:
        # Textual's many small objects made the garbage collector's full passes the
        # slowest next-person screens: frozen after start-up, p95 fell from 100 to 70 ms
        self.call_after_refresh(gc.freeze)
        # without pictures a tile is its file name and face id: 4 rows, twice the faces
        self.query_one("#faces").set_class(self.image_cls is None, "-text")
        self.show(0)
        self.query_one("#name", Input).focus()

    # -- showing a person -----------------------------------------------------------

    def show(self, pos: int, step: int = 1, message: str = "") -> None:
        """Show the first person still there from `pos` on, in the direction `step`."""
        card = None
        while 0 <= pos < len(self.queue):
            person_id, ask = self.queue[pos]
            card = self.lib.review.card(person_id, ask=ask)
            if card is not None:
                break
            pos += step
        self.pos = max(-1, min(pos, len(self.queue)))
        self.card, self.selected, self.pending = card, 0, None
        self.query_one("#name", Input).value = ""
        self._render_card()
        self.say(message)
        if card is not None and self.image_cls is not None:
            if set(self._wanted(card)) - set(self.cached):
                self._crop(card, first=True)
            # the next person's crops once this screen is drawn: started at once, the
            # decoding threads took the CPU from the drawing (p50 108 ms -> see the bench)
            self.set_timer(PREFETCH_AFTER, self._prefetch)

    def _render_card(self) -> None:
        card = self.card
        title = self.query_one("#title", Static)
        info = self.query_one("#info", Static)
        grid = self.query_one("#faces", FaceGrid)
        self.query_one(Candidates).show(card.candidates if card is not None else [])
        if card is None:
            grid.show_faces([], {}, {})
            title.update(Text(f"Done: everyone in the queue of {len(self.queue)} is reviewed."))
            info.update(Text(self.summary() + ". ↑ goes back, ^Q quits."))
            return
        p = card.person
        who = (f"Is this {short(card.candidates[0].person.name, 40)}?"
               if card.ask is not None and card.candidates else
               "Who's this?" if not p.named else short(p.name, 40))
        title.update(Text(f"{who}   person {p.id} · {self.pos + 1} of {len(self.queue)} "
                          "in the queue"))
        dates = (f", {card.first[:10]} to {card.last[:10]}" if card.first and card.last
                 and card.first[:10] != card.last[:10] else
                 f", {card.first[:10]}" if card.first else "")
        shown = f" ({len(card.faces)} shown)" if len(card.faces) < p.faces else ""
        info.update(Text(f"{p.faces} face{'s' if p.faces != 1 else ''}{shown} on {p.photos} "
                         f"photo{'s' if p.photos != 1 else ''}{dates}"))
        # crops made already (ahead, while the user looked at the last person) are shown
        # at once, here; only the missing ones wait for a worker
        self.cached = cached = (self.lib.review.cached_crops(self._wanted(card))
                                if self.image_cls is not None else {})
        grid.show_faces(card.faces, card.paths, cached)
        self.query_one(Candidates).show_covers(card, cached)
        self.call_after_refresh(self._select, 0)

    @staticmethod
    def _wanted(card: ReviewCard) -> list[int]:
        return [f.id for f in card.faces] + [f.id for f in card.covers.values()]

    def _crop(self, card: ReviewCard, *, first: bool) -> None:
        """Crops on a worker thread, shown photo by photo as they come if the card is
        still on screen; the photos of the first faces (those in view) first."""
        wanted = self._wanted(card)

        def ready(crops: dict[int, Any]) -> None:
            self.call_from_thread(self._show_crops, card, crops)

        def work() -> None:
            self.lib.review.crops(card, wanted, ready if first else None)
            if first:
                self.call_from_thread(self._show_problems, card)

        self.run_worker(work, thread=True, group="crops")

    def _prefetch(self) -> None:
        nxt = self.pos + 1
        if nxt < len(self.queue) and nxt not in self.prefetched:
            self.prefetched.add(nxt)
            person_id, ask = self.queue[nxt]
            card = self.lib.review.card(person_id, ask=ask)
            if card is not None:
                self._crop(card, first=False)

    def _on_screen(self, card: ReviewCard) -> bool:
        return self.card is not None and self.card.person.id == card.person.id

    def _show_crops(self, card: ReviewCard, crops: dict[int, Any]) -> None:
        if self._on_screen(card):
            self.query_one("#faces", FaceGrid).show_crops(crops)
            self.query_one(Candidates).show_covers(card, crops)

    def _show_problems(self, card: ReviewCard) -> None:
        if self._on_screen(card):
            self.query_one("#faces", FaceGrid).show_problems(self.lib.review.crop_problem)

    def _select(self, index: int) -> None:
        self.selected = self.query_one("#faces", FaceGrid).select(
            index, highlight=self.mode == "faces")

    @property
    def mode(self) -> str:
        return "name" if isinstance(self.focused, Input) else "faces"

    def say(self, message: str) -> None:
        self.query_one("#message", Static).update(Text(message))

    def summary(self) -> str:
        done = ", ".join(f"{v} {k}" for k, v in self.counts.items() if v)
        return f"reviewed: {done}" if done else "nothing changed"

    # -- acting -----------------------------------------------------------------------

    def _act(self, what: str | None, call: Callable[[], str], *, advance: bool) -> None:
        """One application-layer call; on success it is this session's to undo, and
        counted in the summary under `what`."""
        pos = self.pos
        try:
            message = call()
        except PhotosenseError as e:
            self.say(str(e))
            return
        change = self.lib.last_change_id()
        if change is not None:
            self.undo_stack.append((change, pos))
        if what is not None:
            self.counts[what] += 1
            self._names_changed()
        self.show(pos + 1 if advance else pos, message=message)

    def _names_changed(self) -> None:
        self.names = self.lib.review.given_names()
        self.query_one("#name", Input).suggester = self._suggester()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        card = self.card
        typed = event.value.strip()
        if card is None or not typed:
            return
        pid = card.person.id
        try:
            plan = self.lib.review.name_plan(pid, typed)
        except PhotosenseError as e:
            self.say(str(e))
            return
        if plan.kind == "same":
            self.show(self.pos + 1, message=f"person {pid} is {plan.name!r} already")
            return
        if plan.kind == "merge" and self.pending != ("name", typed):
            assert plan.target is not None
            t = plan.target
            self.pending = ("name", typed)
            self.say(f"{short(t.name, 40)} is person {t.id} ({t.faces} face{'s' if t.faces != 1 else ''}"
                     "): Enter again merges this person into them, Esc changes the name")
            return
        longer = next((n for n in self.names if n.casefold().startswith(typed.casefold())
                       and n.casefold() != typed.casefold()), None)
        if plan.kind == "rename" and longer is not None and self.pending != ("new", typed):
            # "Ada" while "Ada Lovelace" exists: most often a completion not taken
            self.pending = ("new", typed)
            self.say(f"{short(typed, 20)!r} is a new name; Tab takes {short(longer, 30)!r}, "
                     "Enter again keeps the new one")
            return
        what = "merged" if plan.kind == "merge" else "named"
        self._act(what, lambda: self.lib.review.give_name(pid, typed), advance=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.pending is not None and self.pending[0] in ("name", "new"):
            self.pending = None

    def action_complete(self) -> None:
        field = self.query_one("#name", Input)
        if self.mode != "name" or not field.value:
            return
        typed = field.value.casefold()
        for name in self.names:
            if name.casefold().startswith(typed) and name.casefold() != typed:
                field.value = name
                field.cursor_position = len(name)
                return

    def action_merge(self, n: int) -> None:
        card = self.card
        if card is None or len(card.candidates) < n:
            self.say("no such candidate")
            return
        other = card.candidates[n - 1].person
        me = card.person
        if me.named and other.named and self.pending != ("merge", str(n)):
            self.pending = ("merge", str(n))
            self.say(f"both have names: merging keeps {other.name!r}; press again to merge")
            return
        # a name is never lost to an unnamed candidate: the named one stays
        target, source = (me, other) if me.named and not other.named else (other, me)
        self._act("merged", lambda: self.lib.merge(target, [source]), advance=True)

    def action_reject(self) -> None:
        card = self.card
        if card is None or not card.candidates:
            return
        other = card.candidates[0].person
        self._act(None, lambda: self.lib.reject(str(card.person.id), str(other.id)),
                  advance=False)

    def action_hide(self) -> None:
        if self.card is not None:
            pid = str(self.card.person.id)
            self._act("hidden", lambda: self.lib.set_hidden(pid, True), advance=True)

    def action_not_this(self) -> None:
        card = self.card
        if card is None or not card.faces:
            return
        face = card.faces[self.selected]
        if card.person.faces <= 1:
            self.say("this is their only face: hide them (h) or skip (s) instead")
            return
        self._act("faces taken out", lambda: self.lib.move_face(face.id, None), advance=False)

    def action_skip(self) -> None:
        if self.pos < len(self.queue):
            self.show(self.pos + 1)

    def action_previous(self) -> None:
        if self.pos > 0:
            self.show(self.pos - 1, step=-1)
            if self.card is None:
                self.show(0)

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.say("nothing of this session to undo")
            return
        change, pos = self.undo_stack[-1]
        try:
            message = self.lib.undo(only=change)
        except PhotosenseError as e:
            self.say(str(e))
            return
        self.undo_stack.pop()
        self._names_changed()
        self.show(pos, message=message)

    def action_open(self) -> None:
        card = self.card
        if card is None or not card.faces:
            return
        path = card.paths.get(card.faces[self.selected].photo_id)
        if not path:
            self.say("this photo is not on disk")
            return
        why = self.opener(path)
        self.say(f"{why}: {path}" if why else f"opened {path}")

    def action_faces(self) -> None:
        if self.pending is not None:
            self.pending = None
            self.say("")
            return
        if self.mode == "name" and self.card is not None and self.card.faces:
            self.query_one("#faces", FaceGrid).focus()
            self.query_one("#help", Static).update(FACES_HELP)
            self._select(self.selected)

    def action_name(self) -> None:
        self.query_one("#name", Input).focus()
        self.query_one("#help", Static).update(NAME_HELP)
        self._select(self.selected)

    def action_quit(self) -> None:  # type: ignore[override]
        self.exit(self.summary())


class FaceGrid(Container):
    """The faces, in a grid as wide as the screen allows; single-letter keys when focused."""

    can_focus = True
    columns = 4
    BINDINGS = [
        Binding("left", "move(-1, 0)", show=False),
        Binding("right", "move(1, 0)", show=False),
        Binding("up", "move(0, -1)", show=False),
        Binding("down", "move(0, 1)", show=False),
        Binding("n", "app.not_this", show=False),
        Binding("o", "app.open", show=False),
        Binding("m", "app.merge(1)", show=False),
        Binding("1", "app.merge(1)", show=False),
        Binding("2", "app.merge(2)", show=False),
        Binding("3", "app.merge(3)", show=False),
        Binding("h", "app.hide", show=False),
        Binding("s", "app.skip", show=False),
        Binding("b", "app.previous", show=False),
        Binding("u", "app.undo", show=False),
        Binding("q", "app.quit", show=False),
        Binding("escape,enter,i", "app.name", show=False),
    ]

    def __init__(self, image_cls: Any, id: str) -> None:
        super().__init__(id=id)
        self.image_cls = image_cls
        self.tiles: list[FaceTile] = []  # made as a card needs them, then reused

    def on_resize(self, event: events.Resize) -> None:
        # as many 14-cell tiles a row as the width holds: 3 at 80 columns, 6 at 120
        columns = max(1, event.size.width // TILE_WIDTH)
        if columns != self.columns:
            self.columns = columns
            self.styles.grid_size_columns = columns

    def shown(self) -> list[FaceTile]:
        return [t for t in self.tiles if t.display]

    def show_faces(self, faces: list[Face], paths: dict[int, str],
                   crops: dict[int, Any]) -> None:
        if len(faces) > len(self.tiles):
            more = [FaceTile(self.image_cls) for _ in range(len(faces) - len(self.tiles))]
            self.mount_all(more)
            self.tiles += more
        for i, tile in enumerate(self.tiles):
            tile.display = i < len(faces)
            if i < len(faces):
                f = faces[i]
                tile.set_face(f.id, paths.get(f.photo_id, ""), crops.get(f.id))

    def show_crops(self, crops: dict[int, Any]) -> None:
        for tile in self.shown():
            if tile.face_id in crops:
                tile.pic.show_image(crops[tile.face_id])

    def show_problems(self, problem: Callable[[str], str | None]) -> None:
        for tile in self.shown():
            why = problem(tile.path)
            if why is not None:
                tile.show_problem(why)

    def select(self, index: int, *, highlight: bool) -> int:
        """Select the index-th face shown (clamped) and bring it into view."""
        tiles = self.shown()
        if not tiles:
            return 0
        index = max(0, min(index, len(tiles) - 1))
        for i, tile in enumerate(tiles):
            tile.set_class(i == index and highlight, "-selected")
        tiles[index].scroll_visible(animate=False)
        return index

    def action_move(self, dx: int, dy: int) -> None:
        app = self.app
        assert isinstance(app, ReviewApp)
        app._select(app.selected + dx + dy * self.columns)


__all__ = ["ReviewApp", "TILE_HEIGHT"]
