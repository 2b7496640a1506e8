"""The application layer: the one door of every front end (the CLI, the review app next).

A front end parses what the user said, makes one call here and renders what comes
back. This layer owns the lifetimes: `open_library` is a context manager that closes
the catalogue and any engine it made, and the long jobs (import, reindex, repair) open
their own. Callbacks (notices, progress, per-file errors, consent) are given per call,
never set on a module, so two front ends in one process never share one.

Front ends import this module, `records`, `errors` and their own helpers, and nothing
else of photosense: the catalogue and the engines stay behind this door.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from photosense_cli.correcting import Correcting
from photosense_cli.csvcell import safe as csv_safe  # noqa: F401  (for front ends' CSV)
from photosense_cli.errors import PhotosenseError
from photosense_cli.forgetting import Forgetting
from photosense_cli.records import (
    Change,
    Person,
    PersonDetails,
    PhotoDetails,
    RunSummary,
    SavedSearch,
    SearchHit,
    Suggestion,
)
from photosense_cli.requests import ImportRequest, ReindexRequest

if TYPE_CHECKING:  # types only: every command imports this module, few need an engine
    from photosense_cli.catalogue import SearchFilter
    from photosense_cli.desk import ReviewDesk
    from photosense_cli.engines.base import Engine, EngineOptions
    from photosense_cli.interop import SidecarReport
    from photosense_cli.places import Gazetteer, Named
    from photosense_cli.policy import FolderRules
    from photosense_cli.search import PeopleQuery

Notice = Callable[[str], None]
FileError = Callable[[str, str], None]  # (path, reason): one line, and the run goes on


def _quiet(message: str) -> None:
    pass


@dataclass
class SearchRequest:
    text: str | None = None
    people: Sequence[str] = ()  # ids or names, as the user typed them
    date_from: str | None = None
    date_to: str | None = None
    path: str | None = None
    limit: int | None = 50
    include_missing: bool = False
    any_people: Sequence[str] = ()  # at least one of them
    not_people: Sequence[str] = ()  # none of them
    only: bool = False  # nobody but the people asked for
    alone: bool = False  # exactly one face
    unnamed: bool = False  # someone unnamed in the photo
    has_text: bool | None = None
    on_day: str | None = None  # MM-DD or today: that day of any year
    near: str | None = None  # LAT,LON, a city or a country
    within: float | None = None  # km around near
    place: str | None = None  # a city, region or country photos were placed in
    not_text: Sequence[str] = ()  # words or phrases the text must not hold (--not-text)


@dataclass
class SearchResult:
    hits: list[SearchHit]
    total: int  # photos matching, counted only when the listing was cut at the limit
    exact: bool  # False: at least `total` (the count stops early on a huge match)

    @property
    def cut(self) -> bool:
        return self.total > len(self.hits)


class Library(Forgetting, Correcting):
    """An open library and the engine made for it (only when a command needs one)."""

    def __init__(self, path: Path, *, options: EngineOptions | None = None,
                 on_notice: Notice = _quiet):
        from photosense_cli.catalogue import open_existing

        self.path = Path(path)
        self.options = options  # made into the engine's only when a command needs one
        self.cat = open_existing(self.path, on_notice=on_notice)
        self.on_notice = on_notice
        self._gazetteer: Gazetteer | None = None
        self._engine: Engine | None = None
        self._desk: ReviewDesk | None = None

    def close(self) -> None:
        if self._gazetteer is not None:
            self._gazetteer.close()
        if self._desk is not None:
            self._desk.close()
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.cat.close()

    def engine(self) -> Engine:
        """The library's engine on its existing collection (forget, suggestions)."""
        if self._engine is None:
            from photosense_cli.library import engine_for

            self._engine = engine_for(self.cat, self.options or engine_options())
        return self._engine

    # -- reading ----------------------------------------------------------------

    def status(self, folders: FolderRules | None = None, *,
               count_engine: bool = True) -> dict[str, Any]:
        """The library's state, with its biometric inventory (privacy.inventory): the
        faces held here and in the engine (counted there), the files, the folder rules."""
        from photosense_cli import privacy
        from photosense_cli.library import status

        return {**status(self.cat),
                "biometric": privacy.inventory(self.cat, self._cloud_engine(), folders,
                                               count_engine=count_engine)}

    def photo(self, ref: str) -> PhotoDetails:
        """A photo by path or catalogue id, its text in reading order."""
        from photosense_cli import search
        from photosense_cli.geometry import reading_order

        details = search.photo_details(self.cat, search.resolve_photo(self.cat, ref))
        details.text = reading_order(details.text)
        return details

    def search(self, req: SearchRequest) -> SearchResult:
        """Photos matching every criterion, best first; counted when the listing is cut."""
        return self._run_search(self._search_filter(req), req.text)

    def _run_search(self, query: SearchFilter, text: str | None) -> SearchResult:
        from photosense_cli import search

        found, total, exact = self.cat.search_counted(query)
        hits = search.mark(found, text)
        return SearchResult(hits, max(total, len(hits)), exact)

    def _search_filter(self, req: SearchRequest,
                       people: PeopleQuery | None = None) -> SearchFilter:
        """The catalogue's filter; people resolved from what the user typed unless given."""
        from photosense_cli import search

        def ids(refs: Sequence[str]) -> list[int]:
            return [self.person(p).id for p in refs]

        if people is None:
            people = search.PeopleQuery(ids(req.people), ids(req.any_people),
                                        ids(req.not_people), req.only, req.alone, req.unnamed)
        return search.search_filter(req.text, (), req.date_from, req.date_to, req.path,
                                    req.limit, req.include_missing, people=people,
                                    has_text=req.has_text, on_day=req.on_day,
                                    near=req.near, within=req.within,
                                    resolve_place=self.place_named,
                                    in_places=None if req.place is None else search.place_ids(
                                        self.cat.library_places(), req.place),
                                    not_text=req.not_text)

    def place_named(self, name: str) -> Named:
        """A city or country by name (offline GeoNames), said when others share it."""
        from photosense_cli import places

        if self._gazetteer is None:
            self._gazetteer = places.Gazetteer()
        found, others = self._gazetteer.resolve(name)
        if others:
            self.on_notice(f"--near {name}: {found.label()} ({found.population:,} people); "
                           f"{len(others)} smaller place{'s' * (len(others) != 1)} of that "
                           "name: add the region or country to choose another")
        return found

    def search_count(self, req: SearchRequest) -> int:
        """How many photos match, exactly (`search --count`): no hits made."""
        return self.cat.search_count(self._search_filter(req), lines=None)[0]

    # -- saved searches ------------------------------------------------------------

    def save_search(self, name: str, req: SearchRequest, *,
                    replace: bool = False) -> tuple[SavedSearch, bool]:
        """Keep a search under a name; (it, whether it replaced one). The query is checked
        now, with the people named exactly: a near miss must not be found at 3 a.m."""
        from photosense_cli import saved, search, textquery

        people = [(role, self.person(ref, exact=True)) for role, refs in
                  (("all", req.people), ("any", req.any_people), ("not", req.not_people))
                  for ref in refs]

        def ids(role: str) -> list[int]:
            return [p.id for r, p in people if r == role]

        near = req.near
        if near is not None and not search.is_position(near):
            # the place chosen now, written out in full: a cron run is neither ambiguous
            # nor told on stderr, at every run, which of the places of that name it took;
            # the query is checked with it, so the choice is looked up and said once
            near = self.place_named(near).label()
        self._search_filter(dataclasses.replace(req, near=near), search.PeopleQuery(
            ids("all"), ids("any"), ids("not"), req.only, req.alone, req.unnamed))
        query = saved.query_of({
            "text": textquery.with_negatives(req.text, req.not_text),
            "from": req.date_from, "to": req.date_to, "on": req.on_day,
            "path": req.path, "only": req.only, "alone": req.alone, "unnamed": req.unnamed,
            "has_text": req.has_text, "missing": req.include_missing, "near": near,
            "within": req.within, "place": req.place})
        return saved.save(self.cat, name, query, people, replace)

    def saved_searches(self) -> list[SavedSearch]:
        from photosense_cli import saved

        return saved.listing(self.cat)

    def saved_search(self, name: str) -> SavedSearch:
        from photosense_cli import saved

        return saved.get(self.cat, name)

    def delete_search(self, name: str) -> str:
        from photosense_cli import saved

        return saved.delete(self.cat, name)

    def run_saved(self, name: str, deliver: Callable[[SearchResult], None], *,
                  new: bool = False, limit: int | None = 50) -> SearchResult:
        """Run a saved search and hand the result to `deliver`, which writes it.

        new: only photos that no earlier --new run delivered; those delivered now are
        recorded once `deliver` has returned, so a run killed or failing halfway delivers
        them again next time. The write lock is held from the query to the record, so
        two --new runs at once deliver each photo once (the other waits: writing 50
        results takes milliseconds).
        """
        query, text, sid = self._saved_filter(name, limit, new)
        if not new:
            found = self._run_search(query, text)
            deliver(found)
            return found
        with self.cat.transaction():
            found = self._run_search(query, text)
            deliver(found)
            if found.hits:
                self.cat.mark_seen(sid, [h.id for h in found.hits])
        return found

    def count_saved(self, name: str, *, new: bool = False) -> int:
        """How many photos a saved search matches (new: that --new would deliver)."""
        query, _, _ = self._saved_filter(name, None, new)
        return self.cat.search_count(query, lines=None)[0]

    def _saved_filter(self, name: str, limit: int | None,
                      new: bool) -> tuple[SearchFilter, str | None, int]:
        from photosense_cli import saved, search

        s = saved.get(self.cat, name)
        saved.check_runnable(s)
        q = s.query

        def ids(role: str) -> list[int]:
            return [p.id for p in s.of_role(role) if p.id is not None]

        req = SearchRequest(q.get("text"), (), q.get("from"), q.get("to"), q.get("path"),
                            limit, bool(q.get("missing")), has_text=q.get("has_text"),
                            on_day=q.get("on"), near=q.get("near"), within=q.get("within"),
                            place=q.get("place"))
        people = search.PeopleQuery(ids("all"), ids("any"), ids("not"), bool(q.get("only")),
                                    bool(q.get("alone")), bool(q.get("unnamed")))
        try:
            query = self._search_filter(req, people)
        except PhotosenseError as e:  # a merge can make a search contradict itself
            raise PhotosenseError(f"saved search {name!r}: {e}") from None
        if new:
            query.unseen_by = s.id
        return query, req.text, s.id

    def people(self, *, named: bool | None = None, hidden: bool = False,
               everyone: bool = False, limit: int = 0) -> tuple[list[Person], int]:
        """The people listing (the first `limit`, 0: all), and how many one-face unnamed
        people it left out."""
        from photosense_cli import people

        return people.list_people(self.cat, named=named, hidden=hidden, everyone=everyone,
                                  limit=limit)

    def people_count(self) -> int:
        return self.cat.counts()["people"]

    def person(self, ref: str, *, exact: bool = False) -> Person:
        from photosense_cli import people

        return people.resolve(self.cat, ref, exact=exact)

    def person_details(self, person: Person, *, include_missing: bool = False) -> PersonDetails:
        from photosense_cli import people

        return people.person_details(self.cat, person, include_missing)

    def history(self, limit: int = 50) -> list[Change]:
        from photosense_cli import people

        return people.history(self.cat, limit)

    def suggestions(self, limit: int = 50) -> list[Suggestion]:
        from photosense_cli import people

        return people.suggestions(self.cat, limit)

    # -- corrections (each one a change in history, undone by undo) --------------

    def rename(self, ref: str, name: str, *, allow_duplicate: bool = False) -> str:
        from photosense_cli import people

        return people.rename(self.cat, self.person(ref, exact=True), name, allow_duplicate)

    def set_hidden(self, ref: str, hidden: bool) -> str:
        from photosense_cli import people

        return people.set_hidden(self.cat, self.person(ref, exact=True), hidden)

    def merge_plan(self, target: str, sources: Sequence[str]) -> tuple[Person, list[Person],
                                                                         list[Person]]:
        """(target, sources, the sources whose names the merge would drop): a front end
        asks about those before calling merge."""
        from photosense_cli import people

        t = self.person(target, exact=True)
        srcs = [self.person(s, exact=True) for s in sources]
        return t, srcs, people.named_sources(t, srcs)

    def merge(self, target: Person, sources: list[Person]) -> str:
        from photosense_cli import people

        return people.merge(self.cat, target, sources)

    def move_face(self, face_id: int, to: str | None) -> str:
        """Move a face to a person, or (to=None) out of its person into a new one."""
        from photosense_cli import people

        return people.move_face(self.cat, face_id,
                                self.person(to, exact=True) if to is not None else None)

    def reject(self, a: str, b: str) -> str:
        from photosense_cli import people

        return people.reject(self.cat, self.person(a, exact=True), self.person(b, exact=True))

    def find_suggestions(self) -> int:
        """Ask the engine for pairs that are probably one person; returns the calls made."""
        from photosense_cli import people

        return people.find_suggestions(self.cat, self.engine())

    def undo(self, *, only: int | None = None) -> str:
        """Undo the latest change; with `only`, only if it is still that change (a review
        session undoes its own actions, never one another command made since)."""
        from photosense_cli import people

        return people.undo(self.cat, only=only)

    def last_change_id(self) -> int | None:
        """The change `undo` would take back now (None: nothing to undo)."""
        last = self.cat.last_change()
        return last[0].id if last is not None else None

    @property
    def review(self) -> ReviewDesk:
        """Naming people at speed: the review app's and the review file's calls."""
        from photosense_cli.desk import ReviewDesk

        if self._desk is None:
            self._desk = ReviewDesk(self.cat, self.path)
        return self._desk

    # -- files photosense writes for the user -------------------------------------

    def write_sheet(self, person: Person, path: Path, on_error: FileError) -> int:
        """A contact sheet of a person's faces (0600); returns the faces on it."""
        from photosense_cli import images, people
        from photosense_cli.interop import record_written

        crops = people.face_crops(self.cat, person, on_error=on_error)
        if not crops:
            raise PhotosenseError(f"no face of {person.name!r} could be cropped: "
                                  "the photos are not readable")
        images.save_private(people.contact_sheet(self.cat, person, crops), path,
                            self.cat.protected())
        record_written(self.cat, path, "sheet", [person.id], [f.id for f, _ in crops])
        return len(crops)

    def write_crops(self, person: Person, folder: Path, on_error: FileError) -> int:
        """Each face of a person as face-ID.jpg (0600) in a folder made 0700."""
        from photosense_cli import images, people
        from photosense_cli.files import make_folder
        from photosense_cli.interop import record_written

        crops = people.face_crops(self.cat, person, on_error=on_error)
        if folder.exists() and not folder.is_dir():
            raise PhotosenseError(f"{folder}: not a folder; --out names the folder for the crops")
        try:
            make_folder(folder)
        except OSError as e:
            raise PhotosenseError(f"{folder}: cannot make the folder: {e.strerror or e}") from None
        protected = self.cat.protected()
        for face, crop in crops:
            images.save_private(crop, folder / f"face-{face.id}.jpg", protected)
            record_written(self.cat, folder / f"face-{face.id}.jpg", "crop", [person.id],
                           [face.id])
        return len(crops)

    def write_sidecars(self, *, under: Sequence[str] = (), people: Sequence[str] = (),
                       style: str = "dotted", include_unnamed: bool = False,
                       keywords: bool = False, on_error: FileError = lambda p, r: None,
                       on_skip: FileError = lambda p, r: None) -> SidecarReport:
        from photosense_cli.interop import write_sidecars

        ids = [self.person(p).id for p in people]
        return write_sidecars(self.cat, under=[os.path.abspath(p) for p in under],
                              person_ids=ids, style=style, include_unnamed=include_unnamed,
                              keywords=keywords, on_error=on_error, on_skip=on_skip)

    def export(self, fmt: str, under: Sequence[str] = (), *, out: Path | None = None,
               stream: IO[str] | None = None) -> int:
        """One record per photo to `stream`, or to the file `out` (guarded, 0600, whole)."""
        import io

        from photosense_cli import interop
        from photosense_cli.files import write_file

        folders = [os.path.abspath(p) for p in under]
        if out is None:
            assert stream is not None
            return interop.export(self.cat, stream, fmt, folders)
        counted: list[int] = []

        def write(f: IO[bytes]) -> None:
            text = io.TextIOWrapper(f, encoding="utf-8", newline="")
            counted.append(interop.export(self.cat, text, fmt, folders))
            text.flush()
            text.detach()  # write_file closes the file itself

        # refused before a byte is read if `out` is the library (it was truncated to 0 once)
        write_file(out, write, protected=self.cat.protected())
        return counted[0]

    def backup(self, dest: Path) -> Path:
        return self.cat.backup(dest)


@contextlib.contextmanager
def open_library(path: Path, *, options: EngineOptions | None = None,
                 on_notice: Notice = _quiet) -> Iterator[Library]:
    """An existing library, closed (with any engine made for it) when the block ends."""
    lib = Library(path, options=options, on_notice=on_notice)
    try:
        yield lib
    finally:
        lib.close()


# -- the jobs: each opens the library it works on, and closes it ------------------------


def import_photos(path: Path, req: ImportRequest, *, on_notice: Notice = _quiet,
                  on_error: Callable[[dict[str, str]], None] = lambda e: None,
                  on_progress: Callable[[int | None, str], None] = lambda total, path: None,
                  ) -> RunSummary:
    """Find new photos under req.paths, analyse them, store what was found."""
    from photosense_cli import library

    return library.import_photos(path, req, on_notice=on_notice, on_error=on_error,
                                 on_progress=on_progress)


def reindex(path: Path, req: ReindexRequest, *,
            on_error: Callable[[dict[str, str]], None] = lambda e: None,
            on_progress: Callable[[int | None, str], None] = lambda total, path: None,
            ) -> RunSummary:
    """Re-analyse the library with another engine (reindex_request)."""
    from photosense_cli.pipeline import reindexjob as job

    return job.reindex(path, req, on_error=on_error, on_progress=on_progress)


def repair(path: Path, *, on_notice: Notice = _quiet) -> dict[str, Any]:
    """Rebuild the text index, recount people, read the positions of photos imported
    before positions were kept and name them, check the file: the damage that remains.

    LibraryDamaged when the file cannot even be opened for repair."""
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.library import fill_places, read_positions

    cat = Catalogue(path, create=False, repairing=True, on_notice=on_notice)
    try:
        report = cat.repair()
        report["positions"] = read_positions(cat, on_notice)
        report["places"] = fill_places(cat, on_notice)
        return report
    finally:
        cat.close()


def folder_rules(raw: object, where: str) -> FolderRules:
    """The [[folders]] rules of a config file, checked (policy.py)."""
    from photosense_cli import policy

    return policy.parse(raw, where)


def reindex_request(target: str, *, profile: str | None = None, region: str | None = None,
                    cluster: str | None = None, **kw: Any) -> ReindexRequest:
    return ReindexRequest(target, engine_options(profile, region, cluster), **kw)


def engine_options(profile: str | None = None, region: str | None = None,
                   cluster: str | None = None) -> EngineOptions:
    from photosense_cli.engines.base import EngineOptions

    return EngineOptions(1, profile, region, cluster=cluster)


def explain_database_error(e: Exception, *, repairing: bool = False) -> Exception:
    """What a SQLite failure met anywhere means for the user's library (the boundary)."""
    from photosense_cli.catalogue import explain

    assert isinstance(e, sqlite3.Error)
    return explain(e, repairing=repairing)

