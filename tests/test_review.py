"""people review: the terminal app driven by Textual's pilot (keys -> catalogue state),
its screens as snapshots, and its refusal without a terminal."""

import asyncio

import pytest

from photosense_cli.app import open_library
from tests.conftest import BOX, BOX2, photo

textual = pytest.importorskip("textual")


@pytest.fixture
def crowd(cli, fake, tmp_path):
    """Unnamed: identity 0 in 3 photos, 1 in 2, 2 in 2 (probably 0, at 85 %); named: Ada
    (identity 3, 2 photos). A one-face person (identity 4) waits behind --all."""
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    photo(pics / "b.jpg", faces=[(0, BOX)], size=(700, 500))
    photo(pics / "c.jpg", faces=[(0, BOX), (1, BOX2)])
    photo(pics / "d.jpg", faces=[(1, BOX)], size=(600, 400))
    photo(pics / "e.jpg", faces=[(2, BOX)])
    photo(pics / "f.jpg", faces=[(2, BOX), (3, BOX2)])
    photo(pics / "g.jpg", faces=[(3, BOX)])
    photo(pics / "h.jpg", faces=[(4, BOX)])
    cli.import_(pics)
    fake.similar[(0, 2)] = 85.0
    cli("people", "suggest", "--search")
    by_faces = {}
    for p in cli.json("people", "--all"):
        by_faces.setdefault(p["faces"], []).append(p["id"])
    people = {p["sample"].rsplit("/", 1)[1]: p["id"] for p in cli.json("people", "--all")}
    ada = people["g.jpg"] if "g.jpg" in people else people["f.jpg"]
    cli("people", "rename", ada, "Ada")
    zero = by_faces[3][0]
    return {"zero": zero, "ada": ada, "people": cli.json("people", "--all")}


def person_of(cli, face_photo: str):
    """The person a photo's first face belongs to now (by `show`)."""
    for face in cli.json("show", face_photo)["faces"]:
        return face["person_id"], face["person"]


def drive(library, keys, *, size=(100, 30), images="none", people=(), everyone=False,
          opener=None, check=None):
    """Open the app on the library, press `keys` (a list; a str is typed), return what
    it returned and what `check(app)` said on the last screen."""
    from photosense_cli.tui.review_app import ReviewApp

    async def run():
        with open_library(library) as lib:
            queue = lib.review.queue(people, everyone=everyone)
            kw = {"opener": opener} if opener else {}
            app = ReviewApp(lib, queue, images=images, **kw)
            seen = None
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                for k in keys:
                    if isinstance(k, tuple) and k[0] == "resize":  # ("resize", 80, 24)
                        await pilot.resize_terminal(k[1], k[2])
                    elif isinstance(k, tuple):  # ("type", "Ada")
                        for ch in k[1]:
                            await pilot.press(ch if ch != " " else "space")
                    else:
                        await pilot.press(k)
                    await pilot.pause()
                await app.workers.wait_for_complete()  # the crops, made on a thread
                await pilot.pause()
                if check is not None:
                    seen = check(app)
                if app.is_running:
                    await pilot.press("ctrl+q")
                    await pilot.pause()
            return app.return_value, seen

    return asyncio.run(run())


def names(cli):
    return {p["id"]: (p["name"], p["faces"], p["hidden"]) for p in
            cli.json("people", "--all", "--hidden")} | {
        p["id"]: (p["name"], p["faces"], p["hidden"]) for p in cli.json("people", "--all")}


def test_the_first_screen_is_the_biggest_unnamed_person_with_the_name_field_focused(cli, crowd):
    def check(app):
        from textual.widgets import Input
        return (app.card.person.id, type(app.focused) is Input,
                str(app.query_one("#title").render()), str(app.query_one("#info").render()))

    _, (pid, focused, title, info) = drive(cli.library, [], check=check)
    assert pid == crowd["zero"] and focused
    assert "Who's this?" in title and f"person {pid} · 1 of 3 in the queue" in title
    assert info.startswith("3 faces on 3 photos")


def test_typing_a_new_name_and_enter_renames_and_shows_the_next_person(cli, crowd):
    result, pid = drive(cli.library, [("type", "Grace Hopper"), "enter"],
                        check=lambda app: app.card.person.id)
    assert cli.json("people", "show", crowd["zero"])["name"] == "Grace Hopper"
    assert pid != crowd["zero"]  # the next person is on screen
    assert result == "reviewed: 1 named"
    assert cli.json("history")[0]["kind"] == "rename"


def test_an_existing_name_merges_only_after_saying_who_that_is(cli, crowd):
    ada_faces = cli.json("people", "show", crowd["ada"])["faces"]

    _, said = drive(cli.library, [("type", "ada"), "enter"],
                    check=lambda app: str(app.query_one("#message").render()))
    assert f"Ada is person {crowd['ada']} ({len(ada_faces)} faces): Enter again" in said
    assert cli.json("people", "show", crowd["zero"])["name"] is None  # nothing done yet

    drive(cli.library, [("type", "ada"), "enter", "enter"])
    assert len(cli.json("people", "show", crowd["ada"])["faces"]) == len(ada_faces) + 3
    assert "no person with id" in cli("people", "show", crowd["zero"], code=2).stderr


def test_tab_completes_a_given_name_case_insensitively(cli, crowd):
    _, value = drive(cli.library, [("type", "a"), "tab"],
                     check=lambda app: app.query_one("#name").value)
    assert value == "Ada"


def test_ctrl_t_merges_with_the_top_candidate(cli, crowd):
    def top(app):
        return [(c.person.id, round(c.score)) for c in app.card.candidates]

    _, cands = drive(cli.library, [], check=top)
    other = cands[0][0]
    assert cands == [(other, 85)]
    drive(cli.library, ["ctrl+t"])
    assert cli.json("people", "show", other)["faces"] and len(
        cli.json("people", "show", other)["faces"]) == 5
    assert cli("people", "show", crowd["zero"], code=None).exit_code == 2


def test_not_this_person_takes_the_selected_face_out_and_remembers_it(cli, crowd):
    def state(app):
        return app.card.person.id, [f.id for f in app.card.faces]

    _, (pid, faces) = drive(cli.library, [], check=state)
    _, (pid2, faces2) = drive(cli.library, ["escape", "right", "n"], check=state)
    assert pid2 == pid and faces2 == [f for f in faces if f != faces[1]]
    out = cli.json("history")[0]
    assert out["kind"] == "unassign" and f"face {faces[1]}" in out["summary"]
    shown = [f["id"] for f in cli.json("people", "show", pid)["faces"]]
    assert faces[1] not in shown and len(shown) == 2


def test_hide_skip_and_back(cli, crowd):
    def at(app):
        return app.card.person.id if app.card else None

    _, first = drive(cli.library, [], check=at)
    _, second = drive(cli.library, ["down"], check=at)
    _, again = drive(cli.library, ["down", "up"], check=at)
    _, paged = drive(cli.library, ["pagedown", "pagedown", "pageup"], check=at)
    assert second != first and again == first and paged == second
    _, letters = drive(cli.library, ["escape", "s", "b"], check=at)
    assert letters == first

    drive(cli.library, ["ctrl+x"])
    assert cli.json("people", "--hidden")[0]["id"] == first
    assert cli.json("history")[0]["kind"] == "hide"


def test_undo_takes_back_this_sessions_last_action_and_shows_that_person_again(cli, crowd):
    def at(app):
        return app.card.person.id, str(app.query_one("#message").render())

    _, (pid, message) = drive(cli.library, [("type", "Grace"), "enter", "ctrl+z"], check=at)
    assert pid == crowd["zero"] and message.startswith("undid: ")
    assert cli.json("people", "show", crowd["zero"])["name"] is None
    # letters after Esc: u undoes too; with nothing of this session, nothing is undone
    cli("people", "rename", crowd["zero"], "Grace")
    _, (_, said) = drive(cli.library, ["escape", "u"], check=at)
    assert said == "nothing of this session to undo"
    assert cli.json("people", "show", crowd["zero"])["name"] == "Grace"


def test_undo_never_takes_back_what_another_command_did_since(cli, crowd):
    from photosense_cli.tui.review_app import ReviewApp

    async def run():
        with open_library(cli.library) as lib:
            app = ReviewApp(lib, lib.review.queue(), images="none")
            async with app.run_test(size=(100, 30)) as pilot:
                for ch in "Grace":
                    await pilot.press(ch)
                await pilot.press("enter")
                cli("people", "rename", crowd["ada"], "Ada King")  # another process
                await pilot.press("ctrl+z")
                await pilot.pause()
                return str(app.query_one("#message").render())

    said = asyncio.run(run())
    assert "no longer this one" in said
    assert cli.json("people", "show", crowd["ada"])["name"] == "Ada King"
    assert cli.json("people", "show", crowd["zero"])["name"] == "Grace"


def test_open_hands_the_selected_photo_to_the_viewer(cli, crowd):
    opened = []

    def opener(path):
        opened.append(path)
        return None

    drive(cli.library, ["ctrl+o"], opener=opener)
    drive(cli.library, ["escape", "right", "o"], opener=opener)
    assert len(opened) == 2 and all(p.endswith(".jpg") for p in opened)
    assert opened[0] != opened[1]

    _, said = drive(cli.library, ["ctrl+o"], opener=lambda p: "no display to open a viewer on",
                    check=lambda app: str(app.query_one("#message").render()))
    assert said.startswith("no display to open a viewer on: /")


def test_quit_returns_what_was_done_and_names_are_shown_literally(cli, crowd):
    result, _ = drive(cli.library, [("type", "[bold]x[/bold]"), "enter", "escape", "q"])
    assert result == "reviewed: 1 named"
    assert cli.json("people", "show", crowd["zero"])["name"] == "[bold]x[/bold]"

    _, title = drive(cli.library, [], people=[str(crowd["zero"])],
                     check=lambda app: str(app.query_one("#title").render()))
    assert "[bold]x[/bold]" in title


def test_a_resize_refits_the_grid_and_keeps_every_line_on_screen(cli, crowd):
    from photosense_cli.tui.review_app import FaceGrid

    def layout(app):
        rows = {w: app.query_one(f"#{w}").region for w in ("title", "name", "help")}
        return (app.query_one(FaceGrid).columns, app.size.width,
                {w: (r.y, r.bottom) for w, r in rows.items()}, app.focused.id)

    _, wide = drive(cli.library, [], size=(120, 40), check=layout)
    _, narrow = drive(cli.library, [("resize", 80, 24)], size=(120, 40), check=layout)
    assert wide[1] == 120 and narrow[1] == 80
    assert narrow[0] < wide[0]  # fewer faces a row, not tiles cut off at the edge
    for top, bottom in narrow[2].values():
        assert 0 <= top < bottom <= 24
    assert narrow[2]["help"][1] == 24  # the keys are still shown, at the bottom
    assert narrow[3] == "name"


def test_faces_are_drawn_from_crops_made_once_per_photo(cli, crowd):
    def state(app):
        from photosense_cli.tui.tiles import FaceTile
        tiles = [t for t in app.query(FaceTile) if t.display]
        return ([type(t.pic.image).__name__ for t in tiles if t.pic.image.display],
                app.lib.review.decodes)

    _, (kinds, decodes) = drive(cli.library, [], images="blocks", check=state)
    assert kinds == ["HalfcellImage"] * 3
    # photos a, b and c for the first person, e and f for the next one and the
    # candidate's cover: each decoded once, c's second face cropped from the same decode
    assert decodes <= 6


def test_a_photo_is_decoded_once_for_all_the_faces_on_it(cli, crowd, tmp_path):
    d = cli.json("show", tmp_path / "pics" / "d.jpg")["faces"][0]["person_id"]  # on c and d
    with open_library(cli.library) as lib:
        zero = lib.review.card(crowd["zero"])
        crops = lib.review.crops(zero, [f.id for f in zero.faces])
        assert len(crops) == 3 and lib.review.decodes == 3  # a, b and c.jpg
        assert all(c.size == (160, 160) for c in crops.values())
        lib.review.crops(zero, [f.id for f in zero.faces])
        assert lib.review.decodes == 3
        one = lib.review.card(d)
        got = lib.review.crops(one, [f.id for f in one.faces])
        assert len(got) == 2
        # the other person on c.jpg was cropped when c.jpg was: only their own photo now
        assert lib.review.decodes == 4


def test_a_photo_grown_huge_since_import_is_not_read_into_memory(cli, crowd, tmp_path,
                                                                 monkeypatch):
    from photosense_cli import images

    with open_library(cli.library) as lib:
        zero = lib.review.card(crowd["zero"])
        # the files of this crowd are a few KB: a bound of 100 bytes stands for 512 MB
        monkeypatch.setattr(images, "MAX_FILE_BYTES", 100)
        assert lib.review.crops(zero, [f.id for f in zero.faces]) == {}
        assert lib.review.decodes == 0
        mine = {f.id for f in zero.faces}
        why = {lib.review.crop_problem(p) for p, faces in zero.crop_plan.items()
               if mine & {f.id for f in faces}}
        assert why == {"over 0 MB: not read"}


def test_the_review_refuses_without_a_terminal_and_points_to_the_file(cli, crowd):
    r = cli("people", "review", code=2)
    assert r.stderr.count("\n") == 1
    assert "--export" in r.stderr and "--apply" in r.stderr


def test_the_real_command_under_a_pseudo_terminal_takes_a_typed_name(cli, crowd):
    """The installed entry point on a real (pseudo-)terminal: Textual's driver, the key
    parser and the exit path, none of which the headless pilot runs."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TEXTUAL")}
    env.update(TERM="xterm-256color", NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "photosense_cli", "people", "review",
                             "--images", "none", "--library", str(cli.library)],
                            stdin=child, stdout=child, stderr=child, env=env,
                            start_new_session=True)
    os.close(child)
    seen = b""

    def read_until(needle: bytes, timeout: float = 30) -> bool:
        nonlocal seen
        end = time.monotonic() + timeout
        while needle not in seen and time.monotonic() < end:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    return needle in seen
        return needle in seen

    try:
        assert read_until(b"Name:"), seen[-2000:]
        os.write(main, b"Grace Hopper")
        time.sleep(0.5)
        os.write(main, b"\r")
        assert read_until(b"now 'Grace Hopper'"), seen[-2000:]
        os.write(main, b"\x11")  # ctrl+q
        proc.wait(timeout=30)
        read_until(b"reviewed: 1 named", timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    assert proc.returncode == 0
    assert b"reviewed: 1 named" in seen
    assert cli.json("people", "show", crowd["zero"])["name"] == "Grace Hopper"


def test_a_new_name_that_begins_an_existing_one_asks_before_it_is_given(cli, crowd):
    _, said = drive(cli.library, [("type", "Ad"), "enter"],
                    check=lambda app: str(app.query_one("#message").render()))
    assert said == "'Ad' is a new name; Tab takes 'Ada', Enter again keeps the new one"
    assert cli.json("people", "show", crowd["zero"])["name"] is None
    drive(cli.library, [("type", "Ad"), "enter", "enter"])
    assert cli.json("people", "show", crowd["zero"])["name"] == "Ad"
