"""Search photos by the text in them, the people in them, their date and their path.

User text never reaches SQL or the FTS5 parser raw: it is cut into words, each
word quoted as an FTS5 string and given a prefix star, so quotes, AND, *, -,
parentheses and emoji all search for what they say.
"""

from __future__ import annotations

import datetime as dt
import os
import re

from photosense_cli.catalogue import Catalogue
from photosense_cli.errors import NotFound, PhotosenseError

MARK_START, MARK_END = "\x02", "\x03"  # highlight() markers the CLI turns into styles
_WORD = re.compile(r"\w+", re.UNICODE)


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
        sql = f"""
            WITH lines AS MATERIALIZED (  -- bm25() cannot sit inside an aggregate
                SELECT rowid AS id, bm25(text_lines_fts) AS rank
                FROM text_lines_fts WHERE text_lines_fts MATCH ?),
            hits AS (
                SELECT t.photo_id, min(lines.rank) AS rank
                FROM lines JOIN text_lines t ON t.id = lines.id GROUP BY t.photo_id)
            SELECT p.id, p.taken_at FROM hits JOIN photos p ON p.id = hits.photo_id
            WHERE 1 {filters} ORDER BY hits.rank, p.id {limit_sql}"""
        rows = cat.conn.execute(sql, [query, *params, *tail]).fetchall()
    elif text and text.strip():
        # No word at all (emoji, punctuation): a plain case-insensitive substring search.
        sql = f"""
            SELECT p.id, p.taken_at FROM photos p
            WHERE p.id IN (SELECT photo_id FROM text_lines WHERE instr(lower(text), lower(?)) > 0)
            {filters} ORDER BY p.taken_at DESC, p.id {limit_sql}"""
        rows = cat.conn.execute(sql, [text.strip(), *params, *tail]).fetchall()
    else:
        sql = f"""SELECT p.id, p.taken_at FROM photos p WHERE 1 {filters}
                  ORDER BY p.taken_at DESC, p.id {limit_sql}"""
        rows = cat.conn.execute(sql, [*params, *tail]).fetchall()
    return [_result(cat, pid, taken, query, text) for pid, taken in rows]


def _result(cat: Catalogue, photo_id: int, taken_at: str | None, query: str | None,
            text: str | None) -> dict:
    path = cat.scalar("SELECT min(path) FROM locations WHERE photo_id = ?", (photo_id,))
    people = [r[0] for r in cat.conn.execute(
        "SELECT DISTINCT pe.name FROM faces f JOIN people pe ON pe.id = f.person_id "
        "WHERE f.photo_id = ? AND pe.hidden = 0 ORDER BY pe.name", (photo_id,))]
    if query:
        lines = cat.conn.execute(
            "SELECT t.text, highlight(text_lines_fts, 0, ?, ?) FROM text_lines_fts "
            "JOIN text_lines t ON t.id = text_lines_fts.rowid "
            "WHERE text_lines_fts MATCH ? AND t.photo_id = ? ORDER BY bm25(text_lines_fts)",
            (MARK_START, MARK_END, query, photo_id)).fetchall()
    elif text and text.strip():
        lines = [(t, t) for (t,) in cat.conn.execute(
            "SELECT text FROM text_lines WHERE photo_id = ? AND instr(lower(text), lower(?)) > 0",
            (photo_id, text.strip()))]
    else:
        lines = []
    return {"id": photo_id, "path": path, "taken_at": taken_at, "people": people,
            "text": [plain for plain, _ in lines], "marked": [marked for _, marked in lines]}


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
