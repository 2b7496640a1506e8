"""Photos and where they live: paths (live and gone), files that failed, photos forgotten
(by content and by path), and what a forget that was undone brings back."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

from photosense_cli.catalogue.connection import Connection, chunks, requires_transaction
from photosense_cli.catalogue.schema import now
from photosense_cli.files import Protected
from photosense_cli.records import Photo, Place


class PhotoRows(Connection):
    """Photos, their paths, failures and what was forgotten."""

    def locations_by_path(self) -> dict[str, tuple[int, int, int]]:
        """path -> (size, mtime_ns, photo_id) of live paths, loaded once: a rerun needs no
        query per file."""
        rows = self.conn.execute("SELECT path, size, mtime_ns, photo_id FROM locations "
                                 "WHERE gone_at IS NULL")
        return {path: (size, mtime, pid) for path, size, mtime, pid in rows}

    def live_paths_under(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        return [r[0] for r in self.conn.execute(
            "SELECT path FROM locations WHERE gone_at IS NULL AND substr(path, 1, ?) = ?",
            (len(prefix), prefix))]

    def mark_gone(self, paths: Sequence[str]) -> None:
        """These paths were not found on disk: keep them as last known places, not live ones."""
        at = now()
        for chunk in chunks(list(paths)):
            self.conn.execute(
                f"UPDATE locations SET gone_at = ? WHERE gone_at IS NULL "
                f"AND path IN ({','.join('?' * len(chunk))})", (at, *chunk))

    def count_paths_still_elsewhere(self, paths: Sequence[str]) -> int:
        """Of these (gone) paths, how many belong to a photo that has a live path: moved or
        renamed, not deleted."""
        n = 0
        for chunk in chunks(list(paths)):
            n += self.scalar(
                f"SELECT count(*) FROM locations l WHERE l.path IN ({','.join('?' * len(chunk))}) "
                "AND EXISTS (SELECT 1 FROM locations o WHERE o.photo_id = l.photo_id "
                "AND o.gone_at IS NULL)", chunk)
        return n

    def missing_photo_ids(self, limit: int = -1) -> list[int]:
        """Photos with no live path left: moved away or deleted since they were imported."""
        return [r[0] for r in self.conn.execute(
            f"SELECT id {self._MISSING} ORDER BY id LIMIT ?", (limit,))]

    def failures(self) -> dict[str, tuple[int, int, bool]]:
        """path -> (size, mtime_ns, too small) of files that failed (or were too small to
        analyse) as they were then on disk."""
        return {p: (s, m, bool(t)) for p, s, m, t in self.conn.execute(
            "SELECT path, size, mtime_ns, too_small FROM failures")}

    def failure_rows(self) -> list[dict]:
        return self.query("SELECT path, reason, at FROM failures WHERE too_small = 0 "
                          "ORDER BY path")

    def record_failure(self, path: str, size: int, mtime_ns: int, reason: str,
                       too_small: bool = False) -> None:
        self.conn.execute(
            "INSERT INTO failures(path, size, mtime_ns, reason, at, too_small) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, reason = excluded.reason, at = excluded.at, "
            "too_small = excluded.too_small", (path, size, mtime_ns, reason, now(), too_small))

    def clear_failure(self, path: str) -> None:
        self.conn.execute("DELETE FROM failures WHERE path = ?", (path,))

    def add_restorable(self, sha256: str, faces: list[dict]) -> None:
        self.conn.execute("INSERT OR REPLACE INTO restorable(sha256, faces, at) VALUES (?, ?, ?)",
                          (sha256, json.dumps(faces), now()))

    @requires_transaction
    def take_restorable(self, sha256: str) -> list[dict] | None:
        """The faces a forgotten photo had (box, person), once; the caller holds a transaction."""
        raw = self.scalar("SELECT faces FROM restorable WHERE sha256 = ?", (sha256,))
        if raw is None:
            return None
        self.conn.execute("DELETE FROM restorable WHERE sha256 = ?", (sha256,))
        return json.loads(raw)

    def unforget(self, hashes: Sequence[str]) -> None:
        for chunk in chunks(list(hashes)):
            self.conn.execute(
                f"DELETE FROM forgotten WHERE sha256 IN ({','.join('?' * len(chunk))})", chunk)

    def photo_ids_by_hash(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT sha256, id FROM photos").fetchall())

    def forgotten_hashes(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT sha256 FROM forgotten")}

    def forgotten_paths(self) -> dict[str, tuple[int, int]]:
        return {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT path, size, mtime_ns FROM forgotten_paths")}

    def location_rows(self, paths: Sequence[str]) -> list[dict]:
        rows = []
        for chunk in chunks(list(paths)):
            rows += self.query(
                "SELECT photo_id, path, size, mtime_ns, seen_at, gone_at FROM locations "
                f"WHERE path IN ({','.join('?' * len(chunk))}) ORDER BY path", chunk)
        return rows

    @requires_transaction
    def forget_paths(self, rows: Sequence[dict]) -> None:
        """Drop these locations of photos that live on elsewhere, and keep the next imports
        from adding them back; the caller holds a transaction."""
        at = now()
        for r in rows:
            self.conn.execute("DELETE FROM locations WHERE path = ?", (r["path"],))
            self.conn.execute(
                "INSERT OR REPLACE INTO forgotten_paths(path, size, mtime_ns, at) "
                "VALUES (?, ?, ?, ?)", (r["path"], r["size"], r["mtime_ns"], at))

    def unforget_paths(self, rows: Sequence[dict]) -> list[str]:
        """Undo forget_paths; returns the paths whose photo is gone since."""
        lost = []
        for r in rows:
            self.conn.execute("DELETE FROM forgotten_paths WHERE path = ?", (r["path"],))
            if not self.photo_exists(r["photo_id"]):
                lost.append(r["path"])
                continue
            self.conn.execute(
                "INSERT OR IGNORE INTO locations(photo_id, path, size, mtime_ns, seen_at, "
                "gone_at) VALUES (?, ?, ?, ?, ?, ?)", (r["photo_id"], r["path"], r["size"],
                                                       r["mtime_ns"], r["seen_at"], r["gone_at"]))
        return lost

    def record_location(self, photo_id: int, path: str, size: int, mtime_ns: int) -> None:
        self.conn.execute(
            "INSERT INTO locations(photo_id, path, size, mtime_ns, seen_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET photo_id = excluded.photo_id, size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, seen_at = excluded.seen_at, gone_at = NULL",
            (photo_id, path, size, mtime_ns, now()),
        )

    def insert_photo(self, row: dict) -> int:
        table = self.db.table("photos")
        table.insert({**row, "analysed_at": now()})
        assert table.last_rowid is not None
        return table.last_rowid

    def paths_of(self, photo_ids: Sequence[int], *, gone_too: bool = False
                 ) -> dict[int, list[str]]:
        """Live paths of each photo, sorted; with gone_too, the gone ones as well."""
        live = "" if gone_too else "AND gone_at IS NULL "
        out: dict[int, list[str]] = defaultdict(list)
        for pid, path in self._in("SELECT photo_id, path FROM locations WHERE photo_id IN ({ids}) "
                                  f"{live}ORDER BY path", photo_ids):
            out[pid].append(path)
        return out

    def last_paths_of(self, photo_ids: Sequence[int]) -> dict[int, str]:
        """Where each photo was last seen, for photos that are missing now."""
        return dict(self._in(
            "SELECT photo_id, path FROM (SELECT photo_id, path, row_number() OVER "
            "(PARTITION BY photo_id ORDER BY gone_at DESC, path) AS n FROM locations "
            "WHERE photo_id IN ({ids})) WHERE n = 1", photo_ids))

    def photos(self, photo_ids: Sequence[int]) -> list[Photo]:
        """Photos by id, in the order given, each with its live paths (or last known one)."""
        rows = {r[0]: r for r in self._in(
            "SELECT id, sha256, size, width, height, format, taken_at, taken_at_source, engine, "
            "latitude, longitude FROM photos WHERE id IN ({ids})", photo_ids)}
        paths = self.paths_of(photo_ids)
        missing = [i for i in photo_ids if i in rows and not paths.get(i)]
        last = self.last_paths_of(missing) if missing else {}
        places = self.places_of(photo_ids)
        return [Photo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                      paths=paths.get(i, []), last_path=last.get(i),
                      gps=(r[9], r[10]) if r[9] is not None and r[10] is not None else None,
                      place=places.get(i))
                for i in photo_ids if (r := rows.get(i))]

    def places_of(self, photo_ids: Sequence[int]) -> dict[int, Place]:
        """Where each photo was taken, for those whose position is named."""
        return {r[0]: Place(r[1] or None, r[2] or None, r[3], r[4]) for r in self._in(
            "SELECT p.id, pl.city, pl.region, pl.country, pl.country_code FROM photos p "
            "JOIN places pl ON pl.id = p.place_id WHERE p.id IN ({ids})", photo_ids)}

    def unread_positions(self, limit: int = 1000) -> list[tuple[int, str]]:
        """Photos imported before positions were read, with one live path each."""
        return self.conn.execute(
            "SELECT p.id, min(l.path) FROM photos p JOIN locations l ON l.photo_id = p.id "
            "AND l.gone_at IS NULL WHERE p.gps_read = 0 GROUP BY p.id ORDER BY p.id LIMIT ?",
            (limit,)).fetchall()

    @requires_transaction
    def set_positions(self, rows: Sequence[tuple[int, tuple[float, float] | None]]) -> None:
        self.conn.executemany(
            "UPDATE photos SET latitude = ?, longitude = ?, gps_read = 1, place_id = NULL, "
            "place_read = 0 WHERE id = ?",
            [(g[0] if g else None, g[1] if g else None, pid) for pid, g in rows])

    def photo_ids_under(self, path: str, *, live: bool = False) -> list[int]:
        """Photos with a path equal to `path` or inside the folder `path` (live=True: a path
        still on disk, not one an import found gone)."""
        prefix = path.rstrip("/") + "/"
        alive = " AND gone_at IS NULL" if live else ""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT photo_id FROM locations WHERE (path = ? OR substr(path, 1, ?) = ?)"
            + alive, (path, len(prefix), prefix))]

    def photo_id_at(self, path: str) -> int | None:
        return self.scalar("SELECT photo_id FROM locations WHERE path = ?", (path,))

    def protected(self) -> Protected:
        """What a file photosense writes must never replace: this library and its photos."""
        return Protected(
            self.path,
            photo_at=lambda path: bool(self.scalar(
                "SELECT 1 FROM locations WHERE path = ? LIMIT 1", (path,))),
            photo_with=lambda sha: bool(self.scalar(
                "SELECT 1 FROM photos WHERE sha256 = ? LIMIT 1", (sha,))))

    def photo_exists(self, photo_id: int) -> bool:
        return bool(self.scalar("SELECT 1 FROM photos WHERE id = ?", (photo_id,)))

    def photos_not_on(self, engine: str) -> list[Photo]:
        """Photos a switch to `engine` has still to re-analyse, with their paths."""
        ids = [r[0] for r in self.conn.execute(
            "SELECT id FROM photos WHERE engine IS NOT ? ORDER BY id", (engine,))]
        return self.photos(ids)

    def has_faces_of(self, engine: str) -> bool:
        return bool(self.scalar("SELECT 1 FROM faces f JOIN photos p ON p.id = f.photo_id "
                                "WHERE p.engine = ? LIMIT 1", (engine,)))

    def forget_photo_engines(self) -> None:
        """Every photo is to be analysed again (a rebuild): no photo counts as done."""
        self.conn.execute("UPDATE photos SET engine = NULL")

    def photo_ids(self, under: Sequence[str] = (), person_ids: Sequence[int] = ()) -> list[int]:
        """Photos under any of these paths (all when none), with any of these people."""
        ids: set[int] | None = None
        if under:
            ids = {i for path in under for i in self.photo_ids_under(path)}
        if person_ids:
            with_people = {r[0] for r in self._in(
                "SELECT DISTINCT photo_id FROM faces WHERE person_id IN ({ids})", person_ids)}
            ids = with_people if ids is None else ids & with_people
        if ids is None:
            ids = {r[0] for r in self.conn.execute("SELECT id FROM photos")}
        return sorted(ids)

    @requires_transaction
    def delete_photos(self, photo_ids: Sequence[int]) -> None:
        """Delete photos with their faces, lines and paths (the caller holds a transaction)."""
        for chunk in chunks(list(photo_ids)):
            self.conn.execute(f"DELETE FROM photos WHERE id IN ({','.join('?' * len(chunk))})",
                              chunk)
