"""The command line's contract: one error boundary, literal user data, options where given.

Every failure here must be one line on stderr with the documented exit code;
the Cli helper runs with catch_exceptions=False, so a traceback fails the test.
"""

import stat

import pytest

from tests.conftest import BOX, BOX2, photo


@pytest.fixture
def two(cli, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX), (1, BOX2)])
    cli.import_(tmp_path / "pics")
    return sorted(p["id"] for p in cli.json("people", "--all"))


def test_bad_output_paths_are_one_line_not_a_traceback(cli, two, tmp_path):
    r = cli("people", "show", two[0], "--sheet", tmp_path / "x.xyz", code=2)
    assert r.stderr == (f"photosense: {tmp_path}/x.xyz: name the file .png, .jpg or .webp "
                        "to say its format\n")
    r = cli("people", "show", two[0], "--sheet", tmp_path / "no" / "such" / "s.png", code=2)
    assert r.stderr == (f"photosense: {tmp_path}/no/such/s.png: cannot write: the folder "
                        f"{tmp_path}/no/such does not exist\n")
    (tmp_path / "a-file").write_text("")
    r = cli("people", "faces", two[0], "--out", tmp_path / "a-file", code=2)
    assert r.stderr == (f"photosense: {tmp_path}/a-file: not a folder; --out names the folder "
                        "for the crops\n")
    assert not list(tmp_path.glob("*.xyz")) and not list(tmp_path.glob(".*.tmp"))


def test_face_crops_and_sheets_are_private_files(cli, two, tmp_path):
    cli("people", "show", two[0], "--sheet", tmp_path / "sheet.png")
    cli("people", "faces", two[0], "--out", tmp_path / "crops")
    for f in [tmp_path / "sheet.png", *(tmp_path / "crops").iterdir()]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


@pytest.mark.parametrize("args,expected", [
    (["people", "show", "²"], "photosense: no person called '²' (see 'photosense people')\n"),
    (["show", "²"], "photosense: ² is not in the library (import it first)\n"),
    (["search", "--from", "tomorrowish"],
     "photosense: not a date: 'tomorrowish' (use YYYY, YYYY-MM, YYYY-MM-DD, an ISO timestamp "
     "(with an offset if you like), today, yesterday, or 7d, 2w, 3m, 1y for that long ago)\n"),
    (["search", "   "], "photosense: an empty search: give words to find, or --person, "
     "--from, --to or --path alone\n"),
    (["search", "--from", "2020", "--to", "2019"],
     "photosense: --from 2020 is later than --to 2019\n"),
    (["search", "--print0"], "photosense: --print0 goes with --paths\n"),
    (["people", "--json", "show", "1"],
     "photosense: put listing options after 'people', not before 'show'\n"),
    (["people", "--format", "csv", "--json"],
     "photosense: --json and --format csv contradict each other\n"),
    (["search", "x", "--json", "--csv"],
     "photosense: --csv contradicts the other output option given\n"),
])
def test_usage_errors_are_one_line_and_exit_2(cli, two, args, expected):
    assert cli(*args, code=2).stderr == expected


def test_far_dates_are_dates(cli, two):
    assert cli.json("search", "--from", "9999-12-31", code=1) == []
    assert len(cli.json("search", "--to", "9999-12-31")) == 1
    assert len(cli.json("search", "--to", "9999")) == 1


def test_names_are_data_never_markup(cli, two, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    cli("people", "rename", two[0], "[/]")
    cli("people", "rename", two[1], "[bold red]Bob[/bold red]")

    listing = cli("people", "--all").stdout
    shown = cli("people", "show", "[/]").stdout
    found = cli("search", "--person", "[/]", "--person", "[bold red]Bob[/bold red]").stdout

    assert "[/]" in listing and "[bold red]Bob[/bold red]" in listing
    assert shown.startswith("[/]  id ")
    assert "[/], [bold red]Bob[/bold red]" in found or "[bold red]Bob[/bold red], [/]" in found


def test_changes_to_people_take_an_id_or_an_exact_name(cli, two):
    cli("people", "rename", two[0], "Unknown person 10")
    r = cli("people", "rename", "Unknown person 1", "Ann", code=2)
    assert r.stderr == ("photosense: 'Unknown person 1' is not a name; did you mean "
                        f"{two[0]} (Unknown person 10)? Use the id or the exact name\n")
    assert cli.json("people", "show", "person 10")["id"] == two[0]  # reading may use a part


def test_rename_and_merge_say_what_they_did(cli, two):
    assert cli("people", "rename", two[0], "  Ann   Lee ").stderr == (
        f"person {two[0]} is now 'Ann Lee'\n")
    assert cli("people", "merge", "ann lee", two[1]).stderr == (
        f"merged 'Unknown person {two[1]}' into 'Ann Lee' (id {two[0]})\n")
    assert cli("undo").stderr == f"undid: merged 'Unknown person {two[1]}' into 'Ann Lee'\n"


def test_the_library_given_before_a_people_subcommand_is_the_one_used(cli, two, tmp_path):
    from typer.testing import CliRunner

    from photosense_cli.cli import app

    r = CliRunner().invoke(app, ["people", "--library", str(cli.library), "show", str(two[0]),
                                 "--json"], catch_exceptions=False)
    assert r.exit_code == 0 and f'"id": {two[0]}' in r.stdout


def test_a_folder_as_library_holds_library_db(fake, tmp_path):
    from typer.testing import CliRunner

    from photosense_cli.cli import app
    from tests.conftest import Cli

    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    folder = tmp_path / "newdir"
    r = CliRunner().invoke(app, ["import", str(tmp_path / "pics"), "--engine", "fake", "-q",
                                 "--library", f"{folder}/"], catch_exceptions=False)
    assert r.exit_code == 0 and (folder / "library.db").is_file()
    assert Cli(folder).json("status")["library"] == str(folder / "library.db")


def test_someone_elses_database_is_refused_and_left_untouched(cli, tmp_path):
    import sqlite3

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE meta (k, v)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    from tests.conftest import Cli

    r = Cli(other)("status", code=2)

    assert r.stderr == (f"photosense: {other} is not a photosense library; it was left "
                        "untouched (pick another --library)\n")
    assert other.read_bytes() == before


def test_a_library_readable_by_others_is_tightened_with_a_notice(cli, two):
    cli.library.chmod(0o644)
    r = cli("status")
    assert stat.S_IMODE(cli.library.stat().st_mode) == 0o600
    assert r.stderr == (f"photosense: {cli.library} was readable by others (mode 644); it holds "
                        "face data, so it is now readable by you only (600)\n")


def test_repair_rebuilds_a_text_index_that_lost_its_lines(cli, fake, tmp_path):
    from photosense_cli.catalogue import Catalogue

    photo(tmp_path / "pics" / "a.jpg", texts=[(0, (0.3, 0.65, 0.4, 0.2))])
    cli.import_(tmp_path / "pics")
    c = Catalogue(cli.library)
    for index in ("text_lines_fts", "photo_text_fts"):
        c.conn.execute(f"INSERT INTO {index}({index}) VALUES ('delete-all')")
    assert cli.json("search", "whiteboard", code=1) == []
    assert cli.json("search", "whiteboard board", code=1) == []

    r = cli("repair")

    assert r.stderr == "rebuilt the text index\nthe library file is sound\n"
    assert len(cli.json("search", "whiteboard")) == 1


def test_a_damaged_library_is_one_line_with_the_remedy(cli, two):
    size = cli.library.stat().st_size
    with open(cli.library, "r+b") as f:  # scribble over every page but the header
        f.seek(4096)
        f.write(b"\xde\xad\xbe\xef" * ((size - 4096) // 4))
    r = cli("search", "x", code=2)
    assert r.stderr.count("\n") == 1 and "damaged" in r.stderr and "photosense repair" in r.stderr


def test_engine_refusals_outside_an_import_are_one_line(cli, fake, two):
    from photosense_cli.errors import ItemFailed

    def refuse(op):
        if op == "DeleteFaces":
            raise ItemFailed("Rekognition InternalServerError: try later", permanent=False)

    fake.before_call = refuse
    r = cli("forget", cli.json("people", "show", two[0])["photos"][0]["path"], "--yes", code=2)
    assert r.stderr == "photosense: Rekognition InternalServerError: try later\n"
    assert len(cli.json("people", "--all")) == 2  # the catalogue is whole: the engine goes first


def test_a_malformed_region_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    r = cli("import", tmp_path / "pics", "--engine", "rekognition", "--region", "not a region!",
            code=2)
    assert r.stderr.startswith("photosense: Rekognition: ") and r.stderr.count("\n") == 1
    assert "not a region!" in r.stderr


def test_a_sheet_onto_a_device_is_refused(cli, two):
    r = cli("people", "show", two[0], "--sheet", "/dev/full", code=2)
    assert r.stderr == "photosense: /dev/full: not a regular file; name a file to write\n"


def test_settings_come_from_flag_then_environment_then_config_then_default(fake, tmp_path,
                                                                          monkeypatch):
    from typer.testing import CliRunner

    from photosense_cli.cli import app
    from tests.conftest import register

    seen: list = []
    register(monkeypatch, "fake", fake, seen)
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    photo(tmp_path / "pics" / "skip.png", faces=[(1, BOX)])
    config = tmp_path / "config.toml"
    config.write_text(f'engine = "fake"\nworkers = 3\nexclude = ["*.png"]\n'
                      f'library = "{tmp_path}/from-config/"\n')
    monkeypatch.setenv("PHOTOSENSE_CONFIG", str(config))
    monkeypatch.delenv("PHOTOSENSE_LIBRARY")
    run = lambda *a, **kw: CliRunner().invoke(app, [*map(str, a)], catch_exceptions=False, **kw)  # noqa: E731

    first = run("import", tmp_path / "pics", "--json")
    assert first.exit_code == 0, first.output
    s = __import__("json").loads(first.stdout)
    assert s["engine"] == "fake" and s["files"]["excluded"] == 1
    assert s["library"] == f"{tmp_path}/from-config/library.db"
    run("import", tmp_path / "pics", "-q", env={"PHOTOSENSE_WORKERS": "5"})
    run("import", tmp_path / "pics", "-q", "--workers", "7", env={"PHOTOSENSE_WORKERS": "5"})
    assert [o.workers for o in seen] == [3, 5, 7]
    assert run("people", "--json").exit_code == 0  # the library from the config, for all

    config.write_text('engin = "local"\n')
    r = run("status")
    assert r.exit_code == 2 and r.stderr == (
        f"photosense: {config}: unknown setting 'engin' (known: cluster, engine, exclude, folders, library, "
        "max_text_tiles, prefilter, profile, region, text, workers)\n")


def test_help_shows_defaults_envvars_and_examples(monkeypatch):
    from typer.testing import CliRunner

    from photosense_cli.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    text = CliRunner().invoke(app, ["import", "-h"]).stdout
    assert "env var: PHOTOSENSE_ENGINE" in text and "env var: PHOTOSENSE_WORKERS" in text
    assert "env var: PHOTOSENSE_LIBRARY" in text
    assert "photosense import ~/Pictures --dry-run --engine rekognition" in text
    assert "default: 0.0" in text  # --wait: defaults are shown, not eaten as markup
    assert "--install-completion" in CliRunner().invoke(app, ["--help"]).stdout
    assert CliRunner().invoke(app, ["--version"]).stdout.startswith("photosense ")


def test_a_round_one_library_is_migrated_and_keeps_its_data(tmp_path):
    """A library as round one wrote it (schema 1, no application id, a float32 text box)."""
    import sqlite3

    from photosense_cli.catalogue import Catalogue
    from photosense_cli.catalogue.schema import MIGRATIONS, SCHEMA_VERSION, split_statements

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in split_statements(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version=1")
    conn.execute("INSERT INTO meta VALUES ('library_id', 'abc'), ('engine', 'local')")
    conn.execute("INSERT INTO photos(id, sha256, size, analysed_at) VALUES (1, ?, 1, '')",
                 ("a" * 64,))
    conn.execute("INSERT INTO locations(photo_id, path, size, mtime_ns, seen_at) "
                 "VALUES (1, '/x/a.jpg', 1, 1, '')")
    conn.execute('INSERT INTO text_lines(photo_id, text, "left", top, width, height) '
                 "VALUES (1, 'Hello WORLD', ?, 0.1, 0.2, 0.1)", (b"\x00\x00\x80\x3e",))
    conn.commit()
    conn.close()

    c = Catalogue(path, create=False)

    assert c.scalar("PRAGMA user_version") == SCHEMA_VERSION
    assert c.library_id == "abc"
    assert c.query('SELECT "left" FROM text_lines') == [{"left": 0.25}]
    from photosense_cli import search

    assert [h.path for h in search.search(c, "world")] == ["/x/a.jpg"]
