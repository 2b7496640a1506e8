"""Place names: the places photos were taken in, and which photos wait for a name."""

from __future__ import annotations

from collections.abc import Sequence

from photosense_cli.catalogue.connection import Connection, requires_transaction
from photosense_cli.records import Place


class PlaceRows(Connection):
    """places, and photos' place_id and place_read. An empty region or city is stored as
    '' (NULLs would not be equal in the UNIQUE constraint) and read back as None."""

    def unplaced(self, limit: int = 1000) -> list[tuple[int, float, float]]:
        """Geotagged photos whose position has not been named yet: (id, lat, lon)."""
        return self.conn.execute(
            "SELECT id, latitude, longitude FROM photos WHERE place_read = 0 AND latitude "
            "IS NOT NULL AND longitude IS NOT NULL ORDER BY id LIMIT ?", (limit,)).fetchall()

    def count_unplaced(self) -> int:
        return self.scalar("SELECT count(*) FROM photos WHERE place_read = 0 AND latitude "
                           "IS NOT NULL AND longitude IS NOT NULL") or 0

    @requires_transaction
    def set_places(self, rows: Sequence[tuple[int, Place | None]]) -> None:
        """Name each photo's position (None: no place near it)."""
        ids: dict[Place, int] = {}
        for place in {p for _, p in rows if p is not None}:
            self.conn.execute(
                "INSERT INTO places (city, region, country, country_code) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (place.city or "", place.region or "", place.country, place.country_code))
            ids[place] = self.scalar(
                "SELECT id FROM places WHERE country_code = ? AND region = ? AND city = ?",
                (place.country_code, place.region or "", place.city or ""))
        self.conn.executemany(
            "UPDATE photos SET place_id = ?, place_read = 1 WHERE id = ?",
            [(ids[p] if p is not None else None, pid) for pid, p in rows])

    def library_places(self) -> list[tuple[int, Place]]:
        """Every place a photo of the library was taken in (a few thousand at most)."""
        return [(r[0], Place(r[1] or None, r[2] or None, r[3], r[4])) for r in self.conn.execute(
            "SELECT id, city, region, country, country_code FROM places ORDER BY id")]
