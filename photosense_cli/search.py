"""Search photos by the text in them, the people in them, their date and their path.

User text never reaches SQL or the FTS5 parser raw: it is cut into words, each
word quoted as an FTS5 string and given a prefix star, so quotes, AND, *, -,
parentheses and emoji all search for what they say. The SQL itself is the
Catalogue's (`Catalogue.search`); this module builds what it is given.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from photosense_cli import textquery
from photosense_cli.catalogue import Catalogue, SearchFilter
from photosense_cli.catalogue.text import WORD, fold
from photosense_cli.errors import NotFound, PhotosenseError
from photosense_cli.records import MARK_END, MARK_START, PhotoDetails, Place, SearchHit

if TYPE_CHECKING:
    from photosense_cli.places import Named

# bm25 ranks the newest RANKED_LINES matching lines: ranking every line that holds a
# very common word took 2 to 7 s at 1,000,000 lines (design.md, "Figures").
RANKED_LINES = 2000


DATE_FORMS = ("YYYY, YYYY-MM, YYYY-MM-DD, an ISO timestamp (with an offset if you like), "
              "today, yesterday, or 7d, 2w, 3m, 1y for that long ago")
_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}


def date_range(value: str, *, end: bool, now: dt.datetime | None = None) -> str:
    """A --from (start) or --to (end) bound, as ISO local time.

    A day, month or year given as such covers the whole of it: --to 2019-06 includes
    June. Timestamps are parsed by dateutil (ISO 8601, offsets turned into this
    machine's local time, as EXIF dates are); "7d" means seven days ago.
    """
    from dateutil.parser import isoparse
    from dateutil.relativedelta import relativedelta

    now = now or dt.datetime.now()
    text = value.strip().lower()
    try:
        if text in ("today", "yesterday"):
            start = dt.datetime.combine(now.date(), dt.time()) - dt.timedelta(
                days=text == "yesterday")
            period = relativedelta(days=1)
        elif text[:-1].isdigit() and text[-1:] in _UNITS:
            start = now - relativedelta(**{_UNITS[text[-1]]: int(text[:-1])})  # type: ignore[arg-type]
            period = relativedelta()
        else:
            start = isoparse(value.strip())
            if start.tzinfo is not None:
                start = start.astimezone().replace(tzinfo=None)
            digits = sum(c.isdigit() for c in value)
            period = (relativedelta(years=1) if digits == 4 else relativedelta(months=1)
                      if digits == 6 else relativedelta(days=1) if digits == 8
                      else relativedelta(seconds=1))
        if not end:
            return start.isoformat()
        try:
            return (start + period).isoformat()
        except (OverflowError, ValueError):
            return dt.datetime.max.isoformat()  # --to 9999-12-31: to the end of time
    except (ValueError, OverflowError):
        raise PhotosenseError(f"not a date: {value!r} (use {DATE_FORMS})") from None


def search(cat: Catalogue, text: str | None = None, *, person_ids: Sequence[int] = (),
           date_from: str | None = None, date_to: str | None = None,
           path_glob: str | None = None, limit: int | None = 50,
           include_missing: bool = False, **more: Any) -> list[SearchHit]:
    """Photos matching every criterion given: by text rank (bm25), else newest first.
    `more`: search_filter's people=, has_text=, on_day=."""
    return mark(cat.search(search_filter(text, person_ids, date_from, date_to, path_glob, limit,
                                         include_missing, **more)), text)


def _glob_literal(text: str) -> str:
    """Text that SQLite's GLOB matches as itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def path_pattern(value: str) -> str:
    """--path as the GLOB the catalogue is given: a folder means everything under it, a
    file itself, a bare name (2019) any folder of that name; a value with * ? or [ is a
    glob on the whole path, as before. `--path ~/Pictures/2019` found nothing when it was
    taken for a glob."""
    if any(c in value for c in "*?["):
        return value if value.startswith(("/", "*")) else "*" + value
    path = os.path.expanduser(value)
    if os.path.isdir(path) or (os.path.isabs(path) and not os.path.exists(path)
                               and not os.path.splitext(path)[1]):
        return _glob_literal(os.path.abspath(path).rstrip("/")) + "/*"  # a folder, or was one
    if os.path.exists(path) or os.path.isabs(path):
        return _glob_literal(os.path.abspath(path))
    return "*/" + _glob_literal(path.strip("/")) + "/*"


@dataclass
class PeopleQuery:
    """Who is in the photo, by catalogue id (the application layer resolves names)."""

    every: Sequence[int] = ()  # --person: all of them
    any: Sequence[int] = ()  # --any-person: at least one
    none: Sequence[int] = ()  # --not-person: none of them
    only: bool = False  # --only: nobody else (people hidden as strangers do not count)
    alone: bool = False  # --alone: exactly one face
    unnamed: bool = False  # --unnamed: someone still to be named

    def check(self) -> None:
        if self.only and not (self.every or self.any):
            raise PhotosenseError("--only needs --person or --any-person: only whom?")
        both = set(self.none) & {*self.every, *self.any}
        if both:
            raise PhotosenseError(f"person {min(both)} is both asked for and excluded "
                                  "(--not-person)")


def day_of_year(value: str, now: dt.date | None = None) -> str:
    """--on: MM-DD (or M-D, or today) as the MM-DD the catalogue compares."""
    text = value.strip().lower()
    if text == "today":
        return (now or dt.date.today()).strftime("%m-%d")
    month, _, day = text.partition("-")
    try:
        # 2000 is a leap year: 02-29 is a day some photos were taken on
        return dt.date(2000, int(month), int(day)).strftime("%m-%d")
    except ValueError:
        raise PhotosenseError(f"not a day of the year: {value!r} (use MM-DD, such as 12-25, "
                              "or today)") from None


# --within when not given, for a point: a town and its surroundings.
DEFAULT_WITHIN_KM = 10.0
MAX_WITHIN_KM = 20_038.0  # half the Earth's circumference: everywhere


# Two decimal numbers: a position; anything else given to --near is a place name.
_POSITION = re.compile(r"\s*([-+]?\d+(?:\.\d*)?)\s*,\s*([-+]?\d+(?:\.\d*)?)\s*")


def is_position(near: str) -> bool:
    """Whether --near was given as LAT,LON (anything else is a place name)."""
    return _POSITION.fullmatch(near) is not None


def near_of(near: str | None, within: float | None,
            resolve: Callable[[str], Named] | None = None,
            ) -> tuple[tuple[float, float, float] | None, str | None]:
    """--near and --within as ((latitude, longitude, km), None), or as (None, country
    code) for a country. `resolve` looks a place name up (places.Gazetteer.resolve)."""
    if near is None:
        if within is not None:
            raise PhotosenseError("--within needs --near: within how far of where?")
        return None, None
    position = _POSITION.fullmatch(near)
    if position is None:
        if resolve is None:  # a caller that cannot look names up
            raise PhotosenseError(f"--near takes a position as LAT,LON, not {near!r}")
        named = resolve(near)
        if named.kind == "country":
            if within is not None:
                raise PhotosenseError(f"{named.label()} is a country: --near finds the photos "
                                      "taken in it; --within is for a city or a position")
            return None, named.place.country_code
        assert named.latitude is not None and named.longitude is not None
        lat, lon, km = named.latitude, named.longitude, named.reach
    else:
        lat, lon, km = float(position[1]), float(position[2]), DEFAULT_WITHIN_KM
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise PhotosenseError(
                f"--near {near}: a latitude is -90 to 90 and a longitude -180 to 180 "
                "(decimal degrees, such as 48.8584,2.2945)")
    km = km if within is None else within
    if not 0 < km <= MAX_WITHIN_KM:
        raise PhotosenseError(f"--within is a distance in km, above 0 and at most "
                              f"{MAX_WITHIN_KM:,.0f}: not {km:g}")
    return (lat, lon, km), None


def place_ids(known: Sequence[tuple[int, Place]], name: str) -> list[int]:
    """--place: the library's places called `name` (a city, region or country), each
    further part after a comma naming its region or country ("Springfield, Illinois")."""
    from photosense_cli import places

    if len(name) > places.MAX_NAME_CHARS or not places.key(name):
        raise PhotosenseError(f"--place needs a place name, not {name[:60]!r}")
    head, *qualifiers = name.split(",")
    want = places.key(head)
    code = places.COUNTRY_ALIASES.get(want)
    return [pid for pid, p in known
            if (want in (places.key(p.city or ""), places.key(p.region or ""),
                         places.key(p.country)) or code == p.country_code)
            and all(places.qualifies(p, q) for q in qualifiers if places.key(q))]


def search_filter(text: str | None, person_ids: Sequence[int] = (), date_from: str | None = None,
                  date_to: str | None = None, path_glob: str | None = None,
                  limit: int | None = 50, include_missing: bool = False, *,
                  people: PeopleQuery | None = None, has_text: bool | None = None,
                  on_day: str | None = None, near: str | None = None,
                  within: float | None = None,
                  resolve_place: Callable[[str], Named] | None = None,
                  in_places: Sequence[int] | None = None,
                  not_text: Sequence[str] = ()) -> SearchFilter:
    """What the user asked, checked and turned into what the Catalogue is given."""
    if text is not None and not text.strip():
        raise PhotosenseError("an empty search: give words to find, or --person, --from, "
                              "--to or --path alone")
    people = people or PeopleQuery(every=person_ids)
    people.check()
    q = textquery.parse(text, not_text)
    if has_text is False and ((q is not None and q.groups) or (text and q is None)):
        raise PhotosenseError("--no-text contradicts the words to find")
    if not_text and q is None:
        raise PhotosenseError(f"--not-text {not_text[0]!r}: no word to leave out in it")
    taken_from = date_range(date_from, end=False) if date_from else None
    taken_before = date_range(date_to, end=True) if date_to else None
    if taken_from and taken_before and taken_from >= taken_before:
        raise PhotosenseError(f"--from {date_from} is later than --to {date_to}")
    position, country = near_of(near, within, resolve_place)
    return SearchFilter(
        fts=q.fts() if q else None, text=q, parts=bool(q and q.has_parts()),
        not_fts=q.not_fts() if q else None,
        substring=text.strip() if text and q is None else None,
        person_ids=people.every, any_person_ids=people.any, not_person_ids=people.none,
        only=people.only, alone=people.alone, unnamed=people.unnamed, has_text=has_text,
        on_day=day_of_year(on_day) if on_day else None, near=position, country=country,
        place_ids=in_places,
        taken_from=taken_from,
        taken_before=taken_before,
        path_glob=path_pattern(path_glob) if path_glob else None,
        limit=limit, ranked_lines=RANKED_LINES, include_missing=include_missing,
        word=q.one_word() if q else None)


def mark(hits: list[SearchHit], text: str | None) -> list[SearchHit]:
    """Fill each hit's marked lines: the words the query matched, between markers."""
    q = textquery.parse(text)
    words, parts = (q.words, q.parts) if q else ([], [])
    for hit in hits:
        hit.marked = ([highlight(t, words, parts) for t in hit.text] if words
                      else list(hit.text))
    return hits


def highlight(line: str, words: list[str], parts: Sequence[str] = ()) -> str:
    """Mark each word of the line that a query word is a prefix of, or that holds a part
    of a word asked for (casefolded), as the search matched it."""
    def found(token: str) -> bool:
        folded = fold(token)
        return any(folded.startswith(w) for w in words) or any(p in folded for p in parts)

    return WORD.sub(lambda m: f"{MARK_START}{m.group()}{MARK_END}" if found(m.group())
                    else m.group(), line)


def resolve_photo(cat: Catalogue, ref: str) -> int:
    """A photo by catalogue id or by one of its paths."""
    if ref.isascii() and ref.isdigit() and not os.path.exists(ref):
        if cat.photo_exists(int(ref)):
            return int(ref)
        raise NotFound(f"no photo with id {ref}")
    photo_id = cat.photo_id_at(os.path.abspath(ref))
    if photo_id is None:
        raise NotFound(f"{ref} is not in the library (import it first)")
    return photo_id


def photo_details(cat: Catalogue, photo_id: int) -> PhotoDetails:
    return cat.photo_details(photo_id)
