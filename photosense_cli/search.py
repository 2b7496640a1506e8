"""Search photos by the text in them, the people in them, their date and their path.

User text never reaches SQL or the FTS5 parser raw: it is cut into words, each
word quoted as an FTS5 string and given a prefix star, so quotes, AND, *, -,
parentheses and emoji all search for what they say.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata

from photosense_cli.catalogue import Catalogue
from photosense_cli.errors import NotFound, PhotosenseError

MARK_START, MARK_END = "\x02", "\x03"  # highlight markers the CLI turns into styles
_WORD = re.compile(r"\w+", re.UNICODE)
RANKED_LINES = 2000  # see search(): bounds the cost of words that are on every other photo


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
            nxt = dt.datetime(int(value) + 1, 1, 1)
        elif re.fullmatch(r"\d{4}-\d{2}", value):
            y, m = map(int, value.split("-"))
            start = dt.datetime(y, m, 1)
            nxt = dt.datetime(y + (m == 12), m % 12 + 1, 1)
        else:
            start = dt.datetime.fromisoformat(value)
            nxt = start + (dt.timedelta(days=1) if len(value) <= 10 else dt.timedelta(seconds=1))
    except ValueError:
        raise PhotosenseError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)") from None
    return (nxt if end else start).isoformat()


def search(cat: Catalogue, text: str | None = None, *, person_ids: list[int] = (),
           date_from: str | None = None, date_to: str | None = None,
           path_glob: str | None = None, limit: int | None = 50) -> list[dict]:
    """Photos matching every criterion given: by text rank (bm25), else newest first."""
    where, params = [], []
    for pid in person_ids:
        where.append("p.id IN (SELECT photo_id FROM faces WHERE person_id = ?)")
        params.append(pid)
    if date_from:
        where.append("p.taken_at >= ?")
        params.append(date_range(date_from, end=False))
    if date_to:
        where.append("p.taken_at < ?")
        params.append(date_range(date_to, end=True))
    if path_glob:
        glob = path_glob if path_glob.startswith(("/", "*")) else "*" + path_glob
        where.append("EXISTS (SELECT 1 FROM locations l WHERE l.photo_id = p.id AND l.path GLOB ?)")
        params.append(glob)
    filters = "".join(" AND " + w for w in where)
    limit_sql = "LIMIT ?" if limit else ""
    tail = [limit] if limit else []

    query = fts_query(text) if text else None
    if query:
        # Rank the newest RANKED_LINES matching lines (all of them when fewer match): bm25 of
        # every line that holds a very common word would cost seconds on a large library.
        cap = RANKED_LINES if limit else -1
        sql = f"""
            WITH lines AS MATERIALIZED (
                SELECT f.rowid AS id, t.photo_id, bm25(text_lines_fts) AS rank
                FROM text_lines_fts f JOIN text_lines t ON t.id = f.rowid
                JOIN photos p ON p.id = t.photo_id
                WHERE text_lines_fts MATCH ? {filters}
                ORDER BY f.rowid DESC LIMIT ?)
            SELECT l.photo_id, p.taken_at, group_concat(l.id) FROM lines l
            JOIN photos p ON p.id = l.photo_id
            GROUP BY l.photo_id ORDER BY min(l.rank), l.photo_id {limit_sql}"""
        rows = cat.conn.execute(sql, [query, *params, cap, *tail]).fetchall()
        words = [fold(w) for w in _WORD.findall(text)]
        return [_result(cat, pid, taken, _ranked_lines(cat, ids, words)) for pid, taken, ids in rows]
    if text and text.strip():
        # No word at all (emoji, punctuation): a plain case-insensitive substring search.
        sql = f"""
            SELECT p.id, p.taken_at FROM photos p
            WHERE p.id IN (SELECT photo_id FROM text_lines WHERE instr(lower(text), lower(?)) > 0)
            {filters} ORDER BY p.taken_at DESC, p.id {limit_sql}"""
        rows = cat.conn.execute(sql, [text.strip(), *params, *tail]).fetchall()
        return [_result(cat, pid, taken, _substring_lines(cat, pid, text.strip()))
                for pid, taken in rows]
    sql = f"""SELECT p.id, p.taken_at FROM photos p WHERE 1 {filters}
              ORDER BY p.taken_at DESC, p.id {limit_sql}"""
    return [_result(cat, pid, taken, []) for pid, taken in
            cat.conn.execute(sql, [*params, *tail]).fetchall()]


def _ranked_lines(cat: Catalogue, ids: str, words: list[str]) -> list[tuple[str, str]]:
    """The lines the FTS query matched (ids from group_concat), highlighted."""
    texts = (cat.conn.execute("SELECT text FROM text_lines WHERE id = ?", (int(i),)).fetchone()[0]
             for i in ids.split(","))
    return [(t, highlight(t, words)) for t in texts]


def _substring_lines(cat: Catalogue, photo_id: int, needle: str) -> list[tuple[str, str]]:
    return [(t, t) for (t,) in cat.conn.execute(
        "SELECT text FROM text_lines WHERE photo_id = ? AND instr(lower(text), lower(?)) > 0",
        (photo_id, needle))]


def _result(cat: Catalogue, photo_id: int, taken_at: str | None,
            lines: list[tuple[str, str]]) -> dict:
    """One search hit; lines are the matching text lines as (plain, highlighted)."""
    path = cat.scalar("SELECT min(path) FROM locations WHERE photo_id = ?", (photo_id,))
    people = [r[0] for r in cat.conn.execute(
        "SELECT DISTINCT pe.name FROM faces f JOIN people pe ON pe.id = f.person_id "
        "WHERE f.photo_id = ? AND pe.hidden = 0 ORDER BY pe.name", (photo_id,))]
    return {"id": photo_id, "path": path, "taken_at": taken_at, "people": people,
            "text": [plain for plain, _ in lines], "marked": [marked for _, marked in lines]}


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
    if ref.isdigit() and not os.path.exists(ref):
        if cat.scalar("SELECT 1 FROM photos WHERE id = ?", (int(ref),)):
            return int(ref)
        raise NotFound(f"no photo with id {ref}")
    photo_id = cat.scalar("SELECT photo_id FROM locations WHERE path = ?", (os.path.abspath(ref),))
    if photo_id is None:
        raise NotFound(f"{ref} is not in the library (import it first)")
    return photo_id


def photo_details(cat: Catalogue, photo_id: int) -> dict:
    photo = cat.query("SELECT * FROM photos WHERE id = ?", (photo_id,))[0]
    return {
        "id": photo_id,
        "paths": [r[0] for r in cat.conn.execute(
            "SELECT path FROM locations WHERE photo_id = ? ORDER BY path", (photo_id,))],
        "sha256": photo["sha256"], "size": photo["size"], "width": photo["width"],
        "height": photo["height"], "format": photo["format"], "taken_at": photo["taken_at"],
        "taken_at_source": photo["taken_at_source"], "engine": photo["engine"],
        "faces": [
            {"id": f["id"], "person_id": f["person_id"], "person": f["name"],
             "box": {"left": f["left"], "top": f["top"], "width": f["width"], "height": f["height"]},
             "confidence": f["confidence"]}
            for f in cat.query(
                "SELECT f.*, pe.name FROM faces f LEFT JOIN people pe ON pe.id = f.person_id "
                "WHERE f.photo_id = ? ORDER BY f.left", (photo_id,))
        ],
        "text": [
            {"text": t["text"], "confidence": t["confidence"],
             "box": {"left": t["left"], "top": t["top"], "width": t["width"], "height": t["height"]}}
            for t in cat.query("SELECT * FROM text_lines WHERE photo_id = ? ORDER BY top, left",
                               (photo_id,))
        ],
    }
