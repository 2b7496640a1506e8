"""Text lines and search: the FTS5 index, filters by people, date and path, and the one
place the search strategy lives (one word ranked in Python, FTS for the rest)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from photosense_cli.catalogue.photos import PhotoRows
from photosense_cli.gps import KM_PER_DEGREE
from photosense_cli.records import (
    Box,
    SearchHit,
    TextLine,
)
from photosense_cli.textquery import LINE_BREAK, WORD, TextQuery, fold

__all__ = ["WORD", "SearchFilter", "TextRows", "bm25_of", "fold"]


@dataclass
class SearchFilter:
    """What search.py asks of the catalogue; every value is bound, never spliced."""

    fts: str | None = None  # the photo-level FTS5 query (textquery.TextQuery.fts)
    substring: str | None = None  # a query with no word characters
    # The words asked for (textquery.TextQuery): ranks photos whose words share a line,
    # and picks the lines shown.
    text: TextQuery | None = None
    parts: bool = False  # words also found inside longer words, after the word hits
    not_fts: str | None = None  # -word: photos with none of these
    person_ids: Sequence[int] = ()  # all of them in the photo
    any_person_ids: Sequence[int] = ()  # at least one of them
    not_person_ids: Sequence[int] = ()  # none of them
    only: bool = False  # nobody but the people above (hidden people do not count)
    alone: bool = False  # exactly one face in the photo
    unnamed: bool = False  # someone unnamed (and not hidden) in the photo
    has_text: bool | None = None  # True: some text; False: none
    on_day: str | None = None  # MM-DD: taken on that day of any year
    taken_from: str | None = None  # ISO bounds, inclusive / exclusive
    taken_before: str | None = None
    path_glob: str | None = None
    limit: int | None = 50
    ranked_lines: int = 2000
    include_missing: bool = False
    unseen_by: int | None = None  # a saved search's id: photos its --new runs never printed
    near: tuple[float, float, float] | None = None  # (latitude, longitude, km): --near
    country: str | None = None  # --near COUNTRY: taken in it (ISO code)
    place_ids: Sequence[int] | None = None  # --place: taken in one of these places
    # A one-word query, folded: ranked in Python (_search_one_word), not by FTS5's bm25().
    word: str | None = None

    @property
    def narrowed(self) -> bool:
        """Filters that cut photos out beyond the text itself (missing photos aside)."""
        return bool(self.person_ids or self.any_person_ids or self.not_person_ids
                    or self.only or self.alone or self.unnamed or self.has_text is not None
                    or self.on_day or self.taken_from or self.taken_before or self.path_glob
                    or self.unseen_by is not None or self.near is not None
                    or self.country is not None or self.place_ids is not None
                    or self.not_fts is not None)


# FTS5's bm25() defaults.
K1, B = 1.2, 0.75


def bm25_of(word: str):
    """bm25 of lines for a one-word query, as FTS5's bm25() orders them.

    With one word, its IDF multiplies every score alike, so it is left out (FTS5 scans
    the word's whole doclist to get it); what remains is bm25's term-frequency part:
    tf (k1 + 1) / (tf + k1 (1 - b + b len / avglen)), the average length taken over
    the lines being ranked. Tokens as FTS5's unicode61 tokenizer cuts and folds them.
    """
    def score(texts: list[str], prefix: bool) -> list[float]:
        tokens = [WORD.findall(fold(text)) for text in texts]
        average = sum(map(len, tokens)) / max(1, len(tokens)) or 1.0
        out = []
        for line in tokens:
            tf = sum(t.startswith(word) for t in line) if prefix else line.count(word)
            out.append(tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(line) / average)))
        return out
    return score



def _marks(ids: Sequence[int]) -> str:
    return ", ".join("?" * len(ids))


class TextRows(PhotoRows):
    """Text lines and search over them."""

    def insert_text_lines(self, photo_id: int, lines: Iterable[TextLine]) -> None:
        lines = list(lines)
        self.conn.executemany(
            'INSERT INTO text_lines(photo_id, text, confidence, "left", top, width, height) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(photo_id, ln.text, ln.confidence, *ln.box.as_tuple()) for ln in lines],
        )
        # the words, for parts of words: a word no longer in any text stays harmlessly
        # (it finds no photo) until repair rebuilds the list
        self.conn.executemany("INSERT OR IGNORE INTO text_words(term) VALUES (?)",
                              [(w,) for w in {fold(t) for ln in lines
                                              for t in WORD.findall(ln.text)}])

    def lines_of(self, photo_ids: Sequence[int]) -> dict[int, list[TextLine]]:
        out: dict[int, list[TextLine]] = defaultdict(list)
        for pid, text, conf, x, y, w, h in self._in(
                'SELECT photo_id, text, confidence, "left", top, width, height FROM text_lines '
                "WHERE photo_id IN ({ids}) ORDER BY photo_id, top, \"left\"", photo_ids):
            out[pid].append(TextLine(text, conf, Box(x or 0, y or 0, w or 0, h or 0)))
        return out

    def search(self, f: SearchFilter) -> list[SearchHit]:
        """Photos matching every criterion: by text rank (bm25), else newest first."""
        return self.search_counted(f, count=False)[0]

    def search_counted(self, f: SearchFilter,
                       count: bool = True) -> tuple[list[SearchHit], int, bool]:
        """The hits, and how many photos match in all with whether that is exact
        (search_count's answer), counted only when the listing is cut at the limit. Text
        matched in Python within a few photos is counted from that match, not matched
        again."""
        filters, params = self._filters(f)
        matched: int | None = None
        limit_sql, tail = ("LIMIT ?", [f.limit]) if f.limit else ("", [])
        # One word and no filter but missing photos': the ranked path below filters before
        # it ranks, which people, dates and paths make cheap and the one-word path cannot.
        one_word = (self._search_one_word(f, filters, params)
                    if f.word and f.limit and not f.narrowed else None)
        if f.fts and self._few_photos_of_people(f):
            rows, line_ids = self._search_photos_of_people(f, filters, params)
            matched = len(rows)
            rows = rows[: f.limit or None]
        elif one_word is not None:
            rows, line_ids = one_word
            if f.parts and len(rows) < (f.limit or 0):  # and parts of longer words after them
                more, more_lines = self._search_parts(f, filters, params, rows)
                rows, line_ids = rows + more, {**line_ids, **more_lines}
        elif f.fts:
            rows, line_ids = self._search_photo_text(f, filters, params)
        elif f.substring:
            rows = self.conn.execute(f"""
                SELECT p.id, p.taken_at, NULL FROM photos p
                WHERE p.id IN (SELECT photo_id FROM text_lines
                               WHERE instr(lower(text), lower(?)) > 0)
                {filters} ORDER BY p.taken_at DESC, p.id {limit_sql}""",
                [f.substring, *params, *tail]).fetchall()
            line_ids = {pid: [r[0] for r in self.conn.execute(
                "SELECT id FROM text_lines WHERE photo_id = ? AND instr(lower(text), lower(?)) > 0",
                (pid, f.substring))] for pid, _, _ in rows}
        else:
            rows = self.conn.execute(f"""SELECT p.id, p.taken_at, NULL FROM photos p WHERE 1 {filters}
                ORDER BY p.taken_at DESC, p.id {limit_sql}""", [*params, *tail]).fetchall()
            line_ids = {}
        hits = self._hits([(pid, taken) for pid, taken, _ in rows], line_ids)
        if not (count and f.limit and len(hits) == f.limit):
            return hits, len(hits), True
        if matched is not None:
            return hits, matched, True
        return hits, *self.search_count(f)

    def _search_photo_text(self, f: SearchFilter, filters: str, params: list[Any]):
        """Photos holding every word, anywhere in them: whole words and prefixes first
        (bm25 over the photo's text, photos whose words share a line before the rest),
        then photos where a word is part of a longer word.

        bm25 ranks the newest ranked_lines matching photos (as the line path did: ranking
        every photo that holds a very common word costs seconds), 3 times the limit of
        them are read back, and those whose words share a line go first."""
        assert f.fts is not None and f.text is not None
        q = f.text
        cap = f.ranked_lines if f.limit else -1
        ranked = self.conn.execute(f"""
            WITH hits AS MATERIALIZED (
                SELECT f.rowid AS id, bm25(photo_text_fts) AS rank FROM photo_text_fts f
                JOIN photos p ON p.id = f.rowid
                WHERE photo_text_fts MATCH ? {filters} ORDER BY f.rowid DESC LIMIT ?)
            SELECT h.id, p.taken_at FROM hits h JOIN photos p ON p.id = h.id
            ORDER BY h.rank, h.id LIMIT ?""",
            [f.fts, *params, cap, max(3 * f.limit, 150) if f.limit else -1]).fetchall()
        texts = self._line_texts([pid for pid, _ in ranked])
        shared = {pid for pid, _ in ranked if any(q.line_has_all(t) for _, t in texts[pid])}
        rows = [(pid, taken, None) for pid, taken in
                sorted(ranked, key=lambda r: r[0] not in shared)[: f.limit or None]]
        line_ids = {pid: [i for i, t in texts[pid] if q.line_has_any(t)] for pid, *_ in rows}
        if f.parts and (not f.limit or len(rows) < f.limit):
            more, more_lines = self._search_parts(f, filters, params, ranked)
            rows, line_ids = rows + more, {**line_ids, **more_lines}
        return rows, line_ids

    # Text within a person's (--person) or a place's (--place, --near COUNTRY) photos:
    # FTS5 walks every photo that holds the words, newest first, and the filter drops
    # nearly all of them (one of the 200 commonest words with --person P --only: 192 ms
    # at p95 at 1,000,000 photos; with a country of 2,180 photos, 200 ms). Matching the
    # filter's photos in Python (textquery) costs 10-30 us a photo (28-63 ms for those
    # 2,180), so it is chosen for up to FEW_PHOTOS photos always, and up to
    # SOME_PHOTOS when the words are common (COMMON photos or more hold them: the walk
    # is then the slow part; a rare word's walk takes a few ms).
    FEW_PHOTOS = 500
    SOME_PHOTOS = 5000
    COMMON = 20_000

    def _few_photos_of_people(self, f: SearchFilter) -> bool:
        """Whether to match the text in Python within the photos a person or a place
        narrows the search to (see FEW_PHOTOS)."""
        if f.text is None or f.fts is None:
            return False
        n: int | None = None
        if f.person_ids:
            n = min((r[0] for r in self._in(
                "SELECT photo_count FROM people WHERE id IN ({ids})", f.person_ids)),
                default=0)
        places = self._place_filters(f)
        where = [w for w, _ in places]
        values = [v for _, vs in places for v in vs]
        if where:
            in_places = self.scalar(
                f"SELECT count(*) FROM (SELECT 1 FROM photos p WHERE {' AND '.join(where)} "
                "LIMIT ?)", [*values, self.SOME_PHOTOS + 1])
            n = in_places if n is None else min(n, in_places)
        if n is None or n > self.SOME_PHOTOS:
            return False
        return n <= self.FEW_PHOTOS or self.scalar(
            "SELECT count(*) FROM (SELECT rowid FROM photo_text_fts WHERE photo_text_fts "
            "MATCH ? LIMIT ?)", (f.fts, self.COMMON)) >= self.COMMON

    def _search_photos_of_people(self, f: SearchFilter, filters: str, params: list[Any]):
        """Text search within a few people's or places' photos: every photo the filters
        keep, its text (photo_text: one row a photo) matched in Python as the index would
        match it. Photos whose words share a line first, then those holding the words
        elsewhere, then those holding them inside longer words; newest first within each.
        All the photos matched, and the lines to show of the first `limit`."""
        assert f.text is not None
        q = f.text
        ranked: list[tuple[int, int, str | None]] = []
        for pid, taken, text in self.conn.execute(
                f"SELECT p.id, p.taken_at, t.text FROM photos p JOIN photo_text t ON "
                f"t.photo_id = p.id WHERE 1 {filters} ORDER BY p.taken_at DESC, p.id", params):
            how = q.matches(text.split(LINE_BREAK), parts=f.parts)
            if how:
                ranked.append((how, pid, taken))
        ranked.sort(key=lambda r: r[0])  # stable: newest first within each kind
        rows = [(pid, taken, None) for _, pid, taken in ranked]
        shown = rows[: f.limit or None]
        texts = self._line_texts([pid for pid, *_ in shown])
        return rows, {pid: [i for i, t in texts[pid] if q.line_has_any(t)]
                      for pid, *_ in shown}

    def _search_parts(self, f: SearchFilter, filters: str, params: list[Any],
                      seen: Sequence[tuple]) -> tuple[list, dict[int, list[int]]]:
        """Photos where a word is part of a longer word and that the word search did not
        find (`seen`), newest first, up to the room the limit leaves."""
        assert f.text is not None
        query = f.text.parts_fts(self.words_containing)
        if query is None:
            return [], {}
        have = {r[0] for r in seen}
        room = f.limit - min(len(seen), f.limit) if f.limit else -1
        found = self.conn.execute(f"""
            SELECT f.rowid, p.taken_at FROM photo_text_fts f JOIN photos p ON p.id = f.rowid
            WHERE photo_text_fts MATCH ? {filters} ORDER BY f.rowid DESC LIMIT ?""",
            [query, *params, room + len(have) if f.limit else -1]).fetchall()
        more = [(pid, taken, None) for pid, taken in found if pid not in have]
        more = more[:room] if f.limit else more
        texts = self._line_texts([pid for pid, *_ in more])
        return more, {pid: [i for i, t in texts[pid] if f.text.line_has_any(t)]
                      for pid, *_ in more}

    # A part held by more words than this (a common syllable) stands for the first of
    # them: an FTS5 OR of 1,000 words still answers in milliseconds.
    MAX_HOLDERS = 1000

    def words_containing(self, part: str) -> list[str]:
        """Words of the library's text that hold `part` (folded) but do not begin with it
        (those the prefix finds), from the trigram index of the distinct words."""
        return [r[0] for r in self.conn.execute(
            "SELECT term FROM text_words WHERE id IN (SELECT rowid FROM text_words_tri "
            "WHERE text_words_tri MATCH ?) AND instr(term, ?) > 1 LIMIT ?",
            ('"' + part.replace('"', '""') + '"', part, self.MAX_HOLDERS))]

    def _line_texts(self, photo_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
        """Each photo's lines (id, text), top to bottom."""
        out: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for pid, line_id, text in self._in(
                'SELECT photo_id, id, text FROM text_lines WHERE photo_id IN ({ids}) '
                'ORDER BY photo_id, top, "left", id', photo_ids):
            out[pid].append((line_id, text))
        return out

    def _search_one_word(self, f: SearchFilter, filters: str, params: list[Any]):
        """One word, ranked in Python instead of by FTS5's bm25(); None: use the SQL path.

        bm25() scans the word's whole doclist once per query to count the lines that
        hold it; for the commonest word of 1,000,000 lines (416,000 of them) that alone
        took 14 ms, and a prefix query ("word"*) merges every matching term's doclist
        before the first row, 14 ms more. With one word that count is a constant factor
        of every score, so the order is bm25's without it. The exact word is tried first:
        when it alone fills the ranked lines, lines with longer words it begins
        (whiteboard -> whiteboards) are not looked at. Missing photos are left out of the
        ranked photos in rank order, a few at a time; when that leaves fewer than the
        limit out of a full set of lines, older lines may hold more, and the SQL path,
        which filters before it ranks, answers instead (as it does for people, dates
        and paths).
        """
        assert f.word is not None and f.limit
        quoted = '"' + f.word.replace('"', '""') + '"'
        def newest(query: str) -> list[tuple[int, int, str]]:
            return self.conn.execute(
                "SELECT t.id, t.photo_id, t.text FROM text_lines_fts f "
                "JOIN text_lines t ON t.id = f.rowid WHERE text_lines_fts MATCH ? "
                "ORDER BY f.rowid DESC LIMIT ?", (query, f.ranked_lines)).fetchall()

        candidates, prefix = newest(quoted), False
        if len(candidates) < f.ranked_lines:
            candidates, prefix = newest(quoted + "*"), True
        scores = bm25_of(f.word)([text for *_, text in candidates], prefix)
        best: dict[int, float] = {}
        lines: dict[int, list[int]] = defaultdict(list)
        for (line_id, photo_id, _), score in zip(candidates, scores, strict=True):
            best[photo_id] = max(best.get(photo_id, score), score)
            lines[photo_id].append(line_id)
        chosen: list[tuple[int, str | None, None]] = []
        ranked = sorted(best, key=lambda pid: (-best[pid], pid))
        step = 2 * f.limit  # the filters, in rank order, on as few photos as it takes
        for start in range(0, len(ranked), step):
            batch = ranked[start: start + step]
            taken = dict(self._in(f"SELECT p.id, p.taken_at FROM photos p WHERE p.id IN "
                                  f"({{ids}}){filters}", batch, params))
            chosen += [(pid, taken[pid], None) for pid in batch if pid in taken]
            if len(chosen) >= f.limit:
                break
        if len(chosen) < min(f.limit, len(ranked)) and len(candidates) == f.ranked_lines:
            return None  # the filters left out photos, and older lines may hold others
        chosen = chosen[: f.limit]
        return chosen, {pid: lines[pid] for pid, _, _ in chosen}

    def search_count(self, f: SearchFilter, lines: int | None = 5000) -> tuple[int, bool]:
        """How many photos match in all, for saying what a --limit left out; and whether
        that is exact. Text matches are counted over at most `lines` matching lines
        (then: at least that many photos): counting every line of the commonest word of
        1,000,000 took 2.1 s, 5,000 lines take ~20 ms. lines=None: exact (--count)."""
        filters, params = self._filters(f, counting=lines is None)
        if f.fts and self._few_photos_of_people(f):
            return len(self._search_photos_of_people(f, filters, params)[0]), True
        if f.fts:
            # the part query finds all the word query finds, and the words' holders too
            query = (f.text.parts_fts(self.words_containing) if f.parts and f.text else None)
            photos = self.scalar(
                "SELECT count(*) FROM (SELECT f.rowid FROM photo_text_fts f JOIN photos p ON "
                f"p.id = f.rowid WHERE photo_text_fts MATCH ? {filters} LIMIT ?)",
                [query or f.fts, *params, -1 if lines is None else lines])
            return photos, lines is None or photos < lines
        if f.substring:
            return self.scalar(
                "SELECT count(*) FROM photos p WHERE p.id IN (SELECT photo_id FROM text_lines "
                f"WHERE instr(lower(text), lower(?)) > 0) {filters}",
                [f.substring, *params]), True
        photos = self.scalar(f"SELECT count(*) FROM (SELECT 1 FROM photos p WHERE 1 {filters} "
                             "LIMIT ?)", [*params, -1 if lines is None else lines])
        return photos, lines is None or photos < lines

    def _filters(self, f: SearchFilter, counting: bool = False) -> tuple[str, list[Any]]:
        """The WHERE terms over photos p. counting: every match is to be counted (no
        order, no limit), where a person's list beats a check photo by photo."""
        where: list[str] = []
        params: list[Any] = []
        for pid in f.person_ids:
            where.append(self._person_filter(pid, counting))
            params.append(pid)
        people = self._people_filters(f)
        where += [w for w, _ in people]
        params += [v for _, values in people for v in values]
        if f.has_text is not None:
            where.append(("" if f.has_text else "NOT ")
                         + "EXISTS (SELECT 1 FROM text_lines t WHERE t.photo_id = p.id)")
        if f.on_day:
            # taken_at is local ISO time, YYYY-MM-DDTHH:MM:SS: characters 6-10 are MM-DD
            where.append("substr(p.taken_at, 6, 5) = ?")
            params.append(f.on_day)
        if f.taken_from:
            where.append("p.taken_at >= ?")
            params.append(f.taken_from)
        if f.taken_before:
            where.append("p.taken_at < ?")
            params.append(f.taken_before)
        if f.path_glob:
            where.append("EXISTS (SELECT 1 FROM locations l WHERE l.photo_id = p.id "
                         "AND l.path GLOB ?)")
            params.append(f.path_glob)
        if f.near is not None:
            lat, lon, km = f.near
            # a band of latitude first (the partial index of geotagged photos: a degree
            # of latitude is the same distance everywhere), then the exact distance
            band = km / KM_PER_DEGREE
            where.append("p.latitude BETWEEN ? AND ? AND photosense_km(p.latitude, "
                         "p.longitude, ?, ?) <= ?")
            params += [lat - band, lat + band, lat, lon, km]
        if f.not_fts and not f.fts:  # -word alone: photos without it (with text or none)
            where.append("p.id NOT IN (SELECT rowid FROM photo_text_fts WHERE "
                         "photo_text_fts MATCH ?)")
            params.append(f.not_fts)
        for sql, values in self._place_filters(f):
            where.append(sql)
            params += values
        if f.unseen_by is not None:
            where.append("NOT EXISTS (SELECT 1 FROM saved_search_seen s "
                         "WHERE s.search_id = ? AND s.photo_id = p.id)")
            params.append(f.unseen_by)
        if not f.include_missing:
            where.append("EXISTS (SELECT 1 FROM locations l WHERE l.photo_id = p.id "
                         "AND l.gone_at IS NULL)")
        return "".join(" AND " + w for w in where), params

    @staticmethod
    def _place_filters(f: SearchFilter) -> list[tuple[str, list[Any]]]:
        """--near COUNTRY and --place as SQL over photos p (the photos_place index)."""
        out: list[tuple[str, list[Any]]] = []
        if f.country is not None:
            out.append(("p.place_id IN (SELECT id FROM places WHERE country_code = ?)",
                        [f.country]))
        if f.place_ids is not None:
            out.append(("p.place_id IN (SELECT value FROM json_each(?))",
                        [json.dumps(list(f.place_ids))]))
        return out

    def _person_filter(self, person_id: int, counting: bool = False) -> str:
        """A person in the photo, in the form that is fast for their size. A person in
        few photos drives the query from their photos (IN); one in many is checked photo
        by photo (EXISTS, a seek in faces_person) as the photos come newest first or from
        the text index: building and sorting the list of a person in 398,000 of
        1,000,000 photos took 620 ms, finding their newest 50 photos this way takes
        milliseconds. The crossing is where scanning for 50 hits costs as much as the
        list: photos / size * 50 = size, so size = sqrt(50 * photos)."""
        size = self.scalar("SELECT photo_count FROM people WHERE id = ?", (person_id,)) or 0
        photos = self.scalar("SELECT max(id) FROM photos") or 0  # about how many there are
        if size * size > 50 * photos and not counting:
            return "EXISTS (SELECT 1 FROM faces x WHERE x.person_id = ? AND x.photo_id = p.id)"
        return "p.id IN (SELECT photo_id FROM faces WHERE person_id = ?)"

    @staticmethod
    def _people_filters(f: SearchFilter) -> list[tuple[str, list[Any]]]:
        """--any-person, --not-person, --only, --alone and --unnamed as SQL over the photo's
        faces (faces_photo index: a photo's few faces, not the person's many)."""
        out: list[tuple[str, list[Any]]] = []
        if f.any_person_ids:
            out.append((f"EXISTS (SELECT 1 FROM faces x WHERE x.photo_id = p.id AND "
                        f"x.person_id IN ({_marks(f.any_person_ids)}))", list(f.any_person_ids)))
        if f.not_person_ids:
            out.append((f"NOT EXISTS (SELECT 1 FROM faces x WHERE x.photo_id = p.id AND "
                        f"x.person_id IN ({_marks(f.not_person_ids)}))", list(f.not_person_ids)))
        if f.only:
            # someone else: a face of a person not asked for who is not hidden, or a face
            # with no person (taken out of one: someone, not known to be them)
            wanted = [*f.person_ids, *f.any_person_ids]
            out.append((f"NOT EXISTS (SELECT 1 FROM faces x LEFT JOIN people pe ON "
                        f"pe.id = x.person_id WHERE x.photo_id = p.id AND (x.person_id IS NULL "
                        f"OR (pe.hidden = 0 AND x.person_id NOT IN ({_marks(wanted)}))))",
                        wanted))
        if f.alone:
            out.append(("(SELECT count(*) FROM faces x WHERE x.photo_id = p.id) = 1", []))
        if f.unnamed:
            out.append(("EXISTS (SELECT 1 FROM faces x JOIN people pe ON pe.id = x.person_id "
                        "WHERE x.photo_id = p.id AND pe.named = 0 AND pe.hidden = 0)", []))
        return out

    def _hits(self, rows: list[tuple[int, str | None]],
              line_ids: dict[int, list[int]]) -> list[SearchHit]:
        """Hydrate search rows with a few batched queries, not queries per hit."""
        ids = [pid for pid, _ in rows]
        photos = {p.id: p for p in self.photos(ids)}
        people: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for photo_id, pid, name in self._in(
                "SELECT DISTINCT f.photo_id, pe.id, pe.name FROM faces f "
                "JOIN people pe ON pe.id = f.person_id "
                "WHERE f.photo_id IN ({ids}) AND pe.hidden = 0 ORDER BY pe.name, pe.id", ids):
            people[photo_id].append((pid, name))
        wanted = [i for lines in line_ids.values() for i in lines]
        texts = dict(self._in("SELECT id, text FROM text_lines WHERE id IN ({ids})", wanted))
        return [SearchHit(pid, photos[pid].path, taken, people.get(pid, []),
                          [texts[i] for i in line_ids.get(pid, []) if i in texts],
                          taken_at_source=photos[pid].taken_at_source,
                          missing=photos[pid].missing, gps=photos[pid].gps,
                          place=photos[pid].place)
                for pid, taken in rows]
