"""Rekognition user vectors, kept in step with the people in the catalogue.

A user vector aggregates up to 100 of a person's faces; Amazon documents that searching
new faces against users is more accurate than against single faces, since a user covers
its faces' light, sharpness, pose and age. Every person with USER_MIN_FACES faces or more
has one user in the library's collection; a new face is searched against the users first
(SearchUsers at USER_MATCH_THRESHOLD), and only a face no user claims is searched against
single faces (SearchFaces at 90, as before).

One sync makes the collection's users what the catalogue says they should be. It runs in
each import just before the first face is searched (a run that searches none makes no
call), and at the end of a reindex; not at each correction: users matter only when new
faces are searched, and a correction made in the review app must not wait for the
network. So renames, merges, moves, unassigns and undos change rows here, and the next
import's sync disassociates and associates what they changed before any new face is
searched. Forgetting a person deletes their user at once (erasing is not deferred), and
a face the collection deletes is taken out of its user first (engines' delete_faces).

Crash safety: a row (migration 21) is written before each call that adds to the
collection (CreateUser, AssociateFaces) and narrowed after each call that takes away
(DisassociateFaces, DeleteUser), so it is never less than what the collection holds. A
run killed between two calls leaves rows that overstate; the next sync lists the users
(ListUsers), deletes those no row knows, starts again the rows whose user is gone, and
sends the pending faces again. What the service answers for a face it cannot take or
give back (FACE_NOT_FOUND, ASSOCIATED_TO_A_DIFFERENT_USER) is no error here: such a face
is not recorded as held, and the next sync tries it again.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import cast

from photosense_cli.catalogue import Catalogue, UserRow
from photosense_cli.engines.base import Engine, Usage, UserVectors

# A person gets a user from their 2nd face. On the staged fake set (accuracy_bench.py: a
# year imported after the last was corrected, with new looks and twins), users from 2
# faces gave P 1.000 R 1.000; from 3 or 5 faces, P 0.927 R 0.988: Bob's twin, with two
# faces and so no user of her own, joined Bob's user (90.7 to the mean of his looks),
# where from 2 her own user (99) outbid his. Single faces alone: P 1.000 R 0.643.
USER_MIN_FACES = 2
USER_FACES = 100  # the service's most faces a user holds, and AssociateFaces' batch
# SearchUsers' bound, the same as single faces': on that set a new look of Ann's, 88 % like
# each of her earlier looks, scored 91.75 against her user, her twin (86 % like each look)
# 89.66, her sibling 83.41. At 93 no new look joined (R 0.643, as single faces). At 85 the
# set came out as at 90 (P 1.000 R 1.000), but only because each twin had a user of her
# own: with users from 3 faces, 85 let them in (P 0.863, against 0.927 at 90). The
# service's own default is 80. Not measured on the real service here (no network).
USER_MATCH_THRESHOLD = 90.0
# New users made by one sync, the people with most faces first; the others wait for the
# next imports. A library that had people before user vectors came would otherwise get a
# user for every person at its first import, before its first face is searched: at a
# million photos (scale_bench.py: 100,000 people with 2 faces or more) that is 100,000
# CreateUser and 100,000 AssociateFaces, $100 unasked, and the sync alone ran for more
# than 10 minutes against the in-process fake. 500 a run is $0.50 at most (priced
# AssociateFaces), and keeps up with any import that makes fewer new people than that.
MAX_NEW_USERS = 500


@dataclass
class UserSync:
    """What one sync changed in the collection."""

    created: int = 0
    associated: int = 0
    disassociated: int = 0
    deleted: int = 0
    refused: int = 0  # faces the service found too unlike their person's user to take
    deferred: int = 0  # people owed a user, left for later imports (MAX_NEW_USERS)
    calls: Counter = field(default_factory=Counter)  # the calls made, for the run's cost

    def to_json(self) -> dict[str, int]:
        return {"created": self.created, "faces_associated": self.associated,
                "faces_disassociated": self.disassociated, "deleted": self.deleted,
                "faces_refused": self.refused, "deferred": self.deferred}


def of(engine: Engine) -> UserVectors | None:
    """The engine's user-vector calls, or None for an engine without user vectors."""
    return cast(UserVectors, engine) if engine.user_vectors else None


def in_use(cat: Catalogue, engine: Engine | type[Engine]) -> bool:
    """Will this library's imports search users (for estimates and --max-cost)?"""
    return engine.user_vectors and bool(cat.count_user_rows()
                                        or cat.people_with_faces(USER_MIN_FACES))


def choose(faces: list[str], row: UserRow) -> set[str]:
    """The faces a person's user should hold: those it holds still (their person's), then,
    up to USER_FACES, others spread evenly over the person's photos by date, so a user
    of a person photographed across decades covers the decades, not the first 100 photos.
    Faces it holds are kept rather than swapped for a better spread: each swap is billed.
    A pending face (sent when a run was killed) is not known to be held: chosen again."""
    mine = set(faces)
    kept = (row.faces & mine) - row.refused
    room = USER_FACES - len(kept)
    rest = [f for f in faces if f not in kept and f not in row.refused]
    if room <= 0 or not rest:
        return set(sorted(kept)[:USER_FACES])
    if len(rest) <= room:
        return kept | set(rest)
    step = (len(rest) - 1) / max(1, room - 1)
    return kept | {rest[round(i * step)] for i in range(room)}


def sync(cat: Catalogue, engine: Engine, run_id: int | None = None) -> UserSync:
    """Make the collection's users what the catalogue wants; calls logged under run_id."""
    users = of(engine)
    out = UserSync()
    if users is None:
        return out
    try:
        _sync(cat, users, out)
    finally:
        out.calls.update(_log(cat, engine, users, run_id).operations())
    return out


def _sync(cat: Catalogue, users: UserVectors, out: UserSync) -> None:
    rows = cat.user_rows()
    eligible = cat.people_with_faces(USER_MIN_FACES)  # most faces first
    if not rows and not eligible:  # nothing made, nothing to make: not even a ListUsers
        return
    marks = cat.people_to_sync()  # people whose faces changed since their user was synced
    remote = set(users.list_users())
    for user_id in sorted(remote - rows.keys()):  # another tool's, or a catalogue restored
        users.delete_user(user_id)
        out.deleted += 1
    kept = set(eligible)
    live: dict[int, UserRow] = {}
    for row in sorted(rows.values(), key=lambda r: r.user_id):
        if row.person_id not in kept or row.person_id in live:
            _delete(cat, users, row)  # merged away, forgotten, too few faces now
            out.deleted += row.user_id in remote
            continue
        if row.user_id not in remote:  # deleted outside, or killed before CreateUser
            row.faces, row.pending, row.refused = set(), set(), set()
        live[row.person_id] = row
    # Only the users whose person changed (or that a crash or a deletion left unfinished)
    # are read and compared; the others are in step already.
    stale = [p for p in eligible if p in live and (p in marks or live[p].pending
                                                   or not live[p].faces)]
    new = [p for p in eligible if p not in live]
    out.deferred = max(0, len(new) - MAX_NEW_USERS)
    want = {p: cat.engine_faces_by_date(p) for p in stale + new[:MAX_NEW_USERS]}
    # Faces leave their old user before any joins a new one: the service refuses a face
    # another user holds (a face moved from Ada to Bo between two imports).
    for person in stale:
        row = live[person]
        gone = row.held() - set(want[person])
        if gone:
            users.disassociate_faces(row.user_id, sorted(gone))
            out.disassociated += len(gone & row.faces)
        row.faces -= gone
        row.pending -= gone
        row.refused &= set(want[person])
        with cat.transaction():
            cat.put_user_row(row)
    for person, faces in want.items():
        known = live.get(person)
        row = known or UserRow(new_user_id(person), person)
        if known is None or row.user_id not in remote:
            with cat.transaction():
                cat.put_user_row(row)  # first: a user made and not recorded is never left
            users.create_user(row.user_id)
            out.created += 1
        _associate(cat, users, row, choose(faces, row) - row.faces, out)
        if person in marks:
            with cat.transaction():
                cat.synced(person, marks[person])
    with cat.transaction():
        cat.forget_unsynced_without_users()


def new_user_id(person: int) -> str:
    """A user id never used before: SQLite may give a forgotten person's id to a new one."""
    return f"photosense-{person}-{uuid.uuid4().hex[:12]}"


def _associate(cat: Catalogue, users: UserVectors, row: UserRow, add: set[str],
               out: UserSync) -> None:
    todo = sorted(add)
    for i in range(0, len(todo), USER_FACES):
        batch = todo[i : i + USER_FACES]
        row.pending |= set(batch)
        with cat.transaction():
            cat.put_user_row(row)  # before the call: the row is never less than the user
        result = users.associate_faces(row.user_id, batch)
        row.pending -= set(batch)
        row.faces |= set(result.done)
        row.refused |= set(result.refused)
        with cat.transaction():
            cat.put_user_row(row)
        out.associated += len(result.done)
        out.refused += len(result.refused)


def _delete(cat: Catalogue, users: UserVectors, row: UserRow) -> None:
    users.delete_user(row.user_id)
    with cat.transaction():
        cat.drop_user_row(row.user_id)  # after the call: a failure keeps the row to retry


def forget_people(cat: Catalogue, engine: Engine, person_ids: list[int]) -> int:
    """Delete the users of people being forgotten, at once; returns how many."""
    users = of(engine)
    if users is None:
        return 0
    ids = cat.users_of_people(person_ids)
    try:
        for user_id in ids:
            users.delete_user(user_id)
            with cat.transaction():
                cat.drop_user_row(user_id)
    finally:
        _log(cat, engine, users, None)
    return len(ids)


def drop_all(cat: Catalogue, engine: Engine, run_id: int | None = None) -> int:
    """Delete every user the collection holds and every row (a reindex starts the users
    again from its new faces; switching engines leaves none behind)."""
    users = of(engine)
    if users is None:
        return 0
    deleted = 0
    try:
        for user_id in sorted(set(users.list_users()) | cat.user_rows().keys()):
            users.delete_user(user_id)
            with cat.transaction():
                cat.drop_user_row(user_id)
            deleted += 1
    finally:
        _log(cat, engine, users, run_id)
    return deleted


def _log(cat: Catalogue, engine: Engine, users: UserVectors, run_id: int | None) -> Usage:
    """Log the user-vector calls made outside any photo, billed ones included."""
    ledger = users.take_ledger()
    if ledger.calls:
        with cat.transaction():
            cat.log_calls(run_id, engine.name, ledger)
    return ledger
