"""Saved searches: a query kept under a name, run again by cron (`search run NAME --new`).

A saved search keeps what the user typed, not what it meant at the time: `--from 7d` and
`--on today` are read again at each run, so a nightly job's window moves with it. The
people it names are kept by id (a rename changes nothing, a merge repoints them, undo
puts them back), and paths that exist are made absolute, since cron does not run in
the folder the search was saved from.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from photosense_cli.errors import NotFound, PhotosenseError
from photosense_cli.records import (
    MAX_SAVED_NAME_CHARS,
    SAVED_FIELDS,
    SEARCH_SUBCOMMANDS,
    Person,
    SavedPerson,
    SavedSearch,
)

if TYPE_CHECKING:
    from photosense_cli.catalogue import Catalogue


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a saved search, or None when it can."""
    if not name.strip():
        return "a saved search's name cannot be empty"
    if name != name.strip():
        return "a saved search's name cannot begin or end with spaces"
    if len(name) > MAX_SAVED_NAME_CHARS:
        return (f"a saved search's name is at most {MAX_SAVED_NAME_CHARS} characters "
                f"(this one has {len(name)})")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        return "a saved search's name cannot hold control or invisible characters"
    if name.startswith("-"):
        return "a saved search's name cannot begin with '-' (it would read as an option)"
    return None


def query_of(values: dict[str, Any]) -> dict[str, Any]:
    """The query fields to keep: only those given, a path that exists made absolute."""
    out = {key: values[key] for key, _ in SAVED_FIELDS
           if values.get(key) not in (None, False)}
    if values.get("has_text") is False:
        out["has_text"] = False
    path = out.get("path")
    if path and not any(c in path for c in "*?[") and os.path.exists(os.path.expanduser(path)):
        out["path"] = os.path.abspath(os.path.expanduser(path))
    return out


def save(cat: Catalogue, name: str, query: dict[str, Any],
         people: Sequence[tuple[str, Person]], replace: bool) -> tuple[SavedSearch, bool]:
    """Keep the search under `name`; (it, whether it replaced one of that name)."""
    problem = name_problem(name)
    if problem:
        raise PhotosenseError(f"{problem}: {name!r}")
    if name in SEARCH_SUBCOMMANDS:
        raise PhotosenseError(f"{name!r} is a subcommand of search; choose another name")
    with cat.transaction():
        if cat.saved_search_row(name) is not None and not replace:
            raise PhotosenseError(f"a saved search called {name!r} exists: --replace to "
                                  f"change it, or 'photosense search delete {name}'")
        _, existed = cat.put_saved_search(
            name, json.dumps(query, ensure_ascii=False),
            [(role, p.id, p.name) for role, p in people])
    return get(cat, name), existed


def get(cat: Catalogue, name: str) -> SavedSearch:
    row = cat.saved_search_row(name)
    if row is None:
        known = [r["name"] for r in cat.saved_search_rows()]
        close = [n for n in known if n.casefold() == name.casefold() or
                 name.casefold() in n.casefold()][:5]
        hint = (f"; did you mean {', '.join(map(repr, close))}?" if close else
                "; 'photosense search list' shows them" if known else
                "; there is none yet ('photosense search save NAME ...')")
        raise NotFound(f"no saved search called {name!r}{hint}")
    return _record(row)


def listing(cat: Catalogue) -> list[SavedSearch]:
    return [_record(r) for r in cat.saved_search_rows()]


def delete(cat: Catalogue, name: str) -> str:
    get(cat, name)  # the not-found message, with its hints
    with cat.transaction():
        cat.delete_saved_search(name)
    return f"deleted the saved search {name!r}"


def _record(row: dict) -> SavedSearch:
    people = [SavedPerson(p["role"], p["person_id"],
                          p["name"] if p["person_id"] is not None else p["saved_name"])
              for p in row["people"]]
    return SavedSearch(row["name"], json.loads(row["query"]), people, row["created_at"],
                       row["updated_at"], row["last_new_run_at"], row["seen"], row["id"])


def check_runnable(s: SavedSearch) -> None:
    """A search naming someone no longer in the library would quietly mean something
    else (--not-person dropped: more photos; --person dropped: everyone's)."""
    gone = [p for p in s.people if p.id is None]
    if gone:
        names = ", ".join(repr(p.name) for p in gone)
        raise PhotosenseError(
            f"saved search {s.name!r} names {names}, no longer in the library (forgotten, "
            f"or every face taken out): save it again with --replace")
