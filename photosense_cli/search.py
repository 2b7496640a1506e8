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
import unicodedata
from collections.abc import Sequence

from photosense_cli.catalogue import Catalogue, SearchFilter
from photosense_cli.errors import NotFound, PhotosenseError
from photosense_cli.records import PhotoDetails, SearchHit

MARK_START, MARK_END = "\x02", "\x03"  # highlight markers the CLI turns into styles
_WORD = re.compile(r"\w+", re.UNICODE)
# bm25 ranks the newest RANKED_LINES matching lines: ranking every line that holds a
# very common word took 2 to 7 s at 1,000,000 lines (design.md, "Figures").
RANKED_LINES = 2000


def fts_query(text: str) -> str | None:
    """A safe FTS5 query: every word must appear, as a word or a word's prefix."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def date_range(value: str, *, end: bool) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD to an ISO bound; --to is inclusive of the whole period."""
    try:
        if re.fullmatch(r"\d{4}", value):
            start = dt.datetime(int(value), 1, 1)
            nxt = dt.datetime(int(value) + 1, 1, 1) if value != "9999" else dt.datetime.max
        elif re.fullmatch(r"\d{4}-\d{2}", value):
            y, m = map(int, value.split("-"))
            start = dt.datetime(y, m, 1)
            nxt = (dt.datetime(y + (m == 12), m % 12 + 1, 1) if (y, m) != (9999, 12)
                   else dt.datetime.max)
        else:
            start = dt.datetime.fromisoformat(value)
            step = dt.timedelta(days=1) if len(value) <= 10 else dt.timedelta(seconds=1)
            nxt = start + step if start < dt.datetime.max - step else dt.datetime.max
    except ValueError:
        raise PhotosenseError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)") from None
    return (nxt if end else start).isoformat()


def search(cat: Catalogue, text: str | None = None, *, person_ids: Sequence[int] = (),
           date_from: str | None = None, date_to: str | None = None,
           path_glob: str | None = None, limit: int | None = 50,
           include_missing: bool = False) -> list[SearchHit]:
    """Photos matching every criterion given: by text rank (bm25), else newest first."""
    query = fts_query(text) if text else None
    f = SearchFilter(
        fts=query,
        substring=text.strip() if text and text.strip() and not query else None,
        person_ids=person_ids,
        taken_from=date_range(date_from, end=False) if date_from else None,
        taken_before=date_range(date_to, end=True) if date_to else None,
        path_glob=(path_glob if path_glob.startswith(("/", "*")) else "*" + path_glob)
        if path_glob else None,
        limit=limit, ranked_lines=RANKED_LINES, include_missing=include_missing)
    hits = cat.search(f)
    words = [fold(w) for w in _WORD.findall(text)] if query and text else []
    for hit in hits:
        hit.marked = [highlight(t, words) for t in hit.text] if words else list(hit.text)
    return hits


def fold(word: str) -> str:
    """Case and accents away, as the FTS5 tokenizer (unicode61, remove_diacritics 2) does."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def highlight(line: str, words: list[str]) -> str:
    """Mark each word of the line that a query word is a prefix of, as the search matched it."""
    return _WORD.sub(
        lambda m: f"{MARK_START}{m.group()}{MARK_END}"
        if any(fold(m.group()).startswith(w) for w in words) else m.group(), line)


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
