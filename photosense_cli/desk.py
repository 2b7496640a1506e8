"""The review desk: the application layer's calls for naming people at speed.

Reached as `Library.review` (the one door stays the Library): the review app and the
review file (`people review --export/--apply`) and the one sheet of everyone go through
here, and every change they make is a change in history like the CLI's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from photosense_cli.records import Face, NamePlan, ReviewApplied, ReviewCard

if TYPE_CHECKING:
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.records import Person
    from photosense_cli.thumbs import FaceCrops

FileError = Callable[[str, str], None]  # (path, reason), as the Library's calls take it

# The one-picture sheet of everyone: 1,000 people at 120 px in 20 columns is a
# 2,500 x 7,600 image (57 MB while drawn), which image viewers still open.
SHEET_FACE, SHEET_COLUMNS, SHEET_PEOPLE = 120, 20, 1000


def _no_error(path: str, reason: str) -> None:
    pass


class ReviewDesk:
    def __init__(self, cat: Catalogue, path: Path) -> None:
        self.cat, self.path = cat, path  # the Library's open catalogue and its file
        self._crops: FaceCrops | None = None

    def _person(self, ref: str) -> Person:
        from photosense_cli import people

        return people.resolve(self.cat, ref, exact=True)

    def queue(self, people: Sequence[str] = (), *, limit: int | None = None,
              everyone: bool = False) -> list[tuple[int, int | None]]:
        """(person id, person to ask about or None) in review order: the unnamed people
        biggest first, then suggested pairs; `people` (ids or names) narrows it to them."""
        from photosense_cli import review

        ids = [self._person(p).id for p in people]
        return review.queue(self.cat, person_ids=ids or None, limit=limit, everyone=everyone)

    def card(self, person_id: int, *, ask: int | None = None) -> ReviewCard | None:
        """A person as the review shows them; None once they are gone (merged away)."""
        from photosense_cli import review

        return review.card(self.cat, person_id, ask=ask)

    def crops(self, card: ReviewCard, face_ids: Sequence[int],
              on_ready: Callable[[dict[int, Any]], None] | None = None) -> dict[int, Any]:
        """PIL crops of a card's faces, each photo decoded once per open library, the
        photos of the first faces first; `on_ready` gets them as each photo is done.
        Reads no catalogue: a front end may call it on a worker thread to crop ahead."""
        from photosense_cli.thumbs import FaceCrops

        if self._crops is None:
            self._crops = FaceCrops()
        return self._crops.crops(card.crop_plan, face_ids, on_ready)

    def cached_crops(self, face_ids: Sequence[int]) -> dict[int, Any]:
        """The crops of these faces made already: no decoding, a few ms for a screen."""
        return self._crops.cached(face_ids) if self._crops is not None else {}

    def close(self) -> None:
        if self._crops is not None:
            self._crops.close()

    @property
    def decodes(self) -> int:
        """Photos decoded for crops so far (each at most once)."""
        return self._crops.decodes if self._crops is not None else 0

    def crop_problem(self, path: str) -> str | None:
        """Why a photo's faces could not be cropped, once tried."""
        return self._crops.failed(path) if self._crops is not None else None

    def given_names(self) -> list[str]:
        """Every name given, the people seen most first (for completing a name)."""
        return self.cat.given_names()

    def name_plan(self, person_id: int, typed: str) -> NamePlan:
        """What naming this person `typed` would do, before doing it (a front end shows
        who a merge goes into first)."""
        from photosense_cli import review

        return review.name_plan(self.cat, self._person(str(person_id)), typed)

    def give_name(self, person_id: int, typed: str) -> str:
        """Name a person; a name someone has already merges this person into them."""
        from photosense_cli import people

        plan = self.name_plan(person_id, typed)
        if plan.kind == "merge":
            assert plan.target is not None
            return people.merge(self.cat, plan.target, [self._person(str(person_id))])
        if plan.kind == "same":
            return f"person {person_id} is already {plan.name!r}"
        return people.rename(self.cat, self._person(str(person_id)), plan.name, False)

    def export(self, queue: Sequence[tuple[int, int | None]], *, out: Path | None = None,
               stream: IO[str] | None = None, sheets: Path | None = None,
               on_error: FileError = _no_error) -> int:
        """One JSON line per queued person to `stream`, or to the file `out` (guarded,
        0600, whole: it ties names to faces), and a sheet each into `sheets`."""
        import io

        from photosense_cli.files import make_folder, write_file

        if sheets is not None:
            make_folder(sheets)
        if out is None:
            assert stream is not None
            return self._export(queue, stream.write, sheets, on_error)
        counted: list[int] = []

        def write(f: IO[bytes]) -> None:
            text = io.TextIOWrapper(f, encoding="utf-8", newline="")
            counted.append(self._export(queue, text.write, sheets, on_error))
            text.flush()
            text.detach()  # write_file closes the file itself

        write_file(out, write, protected=self.cat.protected())
        return counted[0]

    def _export(self, queue: Sequence[tuple[int, int | None]], write: Callable[[str], Any],
                sheets: Path | None, on_error: FileError) -> int:
        import json

        from photosense_cli import review

        n = 0
        for person_id, ask in queue:
            found = review.card(self.cat, person_id, ask=ask, faces=review.EXPORT_FACES)
            if found is None:
                continue
            sheet = None
            if sheets is not None:
                target = sheets / f"person-{person_id}.png"
                if self._sheet_of(found, target, on_error):
                    sheet = str(target.absolute())
            write(json.dumps(review.file_line(found, sheet), ensure_ascii=False) + "\n")
            n += 1
        return n

    @property
    def max_file_bytes(self) -> int:
        from photosense_cli.review import MAX_FILE_BYTES

        return MAX_FILE_BYTES

    def read_file(self, path: str) -> bytes:
        """A review file's bytes: a regular file, at most `max_file_bytes`."""
        from photosense_cli.errors import PhotosenseError, os_reason
        from photosense_cli.files import ReadRefused, read_limited

        try:
            return read_limited(path, self.max_file_bytes, "a review file")
        except FileNotFoundError:
            raise PhotosenseError(f"{path}: no such file") from None
        except ReadRefused as e:
            raise PhotosenseError(f"{path}: {e.reason}") from None
        except OSError as e:
            raise PhotosenseError(f"{path}: {os_reason(e)}") from None

    def apply(self, data: bytes, source: str) -> ReviewApplied:
        """A review file checked whole and, with no problem, applied as one change in
        history (one undo takes it back); with a problem, nothing is applied."""
        from photosense_cli import review

        plan, done = review.apply_file(self.cat, data, source)
        return ReviewApplied(source, plan.lines, bool(plan.ops) and not plan.problem_count,
                             done, plan.problems, plan.problem_count)

    def _crops_of(self, card: ReviewCard, faces: Sequence[Face], on_error: FileError
                  ) -> list[tuple[Face, Any]]:
        crops = self.crops(card, [f.id for f in faces])
        for path in dict.fromkeys(card.paths.get(f.photo_id, "") for f in faces):
            if path and (why := self.crop_problem(path)):
                on_error(path, why)
        return [(f, crops[f.id]) for f in faces if f.id in crops]

    def _sheet_of(self, card: ReviewCard, path: Path, on_error: FileError) -> bool:
        from photosense_cli import images
        from photosense_cli.interop import record_written

        crops = self._crops_of(card, card.faces, on_error)
        if not crops:
            return False
        p = card.person
        labels = [[f"face {f.id}", os.path.basename(card.paths.get(f.photo_id, "?"))]
                  for f, _ in crops]
        title = f"person {p.id}: {p.name}" + ("" if p.named else " (unnamed)")
        images.save_private(images.contact_sheet([c for _, c in crops], labels, title=title),
                            path, self.cat.protected())
        record_written(self.cat, path, "sheet", [p.id], [f.id for f, _ in crops])
        return True

    def sheet(self, people: Sequence[str], path: Path, *, unnamed: bool = True,
              limit: int = SHEET_PEOPLE, on_error: FileError = _no_error) -> tuple[int, int]:
        """One picture of many people: each one's clearest face, labelled with the id, the
        name (or ?) and the number of faces, titled with the library (0600). Returns
        (people on it, people left out by the limit)."""
        from photosense_cli import images, review
        from photosense_cli import people as people_
        from photosense_cli.errors import PhotosenseError

        if people:
            ids = [self._person(p).id for p in people]
        else:
            listed, _ = people_.list_people(self.cat, named=False if unnamed else None,
                                            hidden=False, everyone=not unnamed)
            ids = [p.id for p in listed]
        chosen = ids[:limit]
        crops: list[Any] = []
        labels = []
        shown: list[tuple[int, int]] = []  # (person, face) on the sheet
        for i in chosen:
            c = review.card(self.cat, i, faces=1)
            got = self._crops_of(c, c.faces, on_error) if c is not None else []
            if c is not None and got:
                shown.append((c.person.id, got[0][0].id))
                crops.append(got[0][1].resize((SHEET_FACE, SHEET_FACE)))
                n = c.person.faces
                labels.append([f"{c.person.id} {c.person.given_name or '?'}",
                               f"{n} face{'s' if n != 1 else ''}"])
        if not crops:
            raise PhotosenseError("no face could be cropped: no such people, or their "
                                  "photos are not readable")
        title = (f"photosense library {self.path}: {len(crops)} "
                 f"{'unnamed ' if unnamed and not people else ''}people")
        images.save_private(images.contact_sheet(crops, labels, columns=SHEET_COLUMNS,
                                                 title=title), path, self.cat.protected())
        from photosense_cli.interop import record_written

        record_written(self.cat, path, "sheet", [p for p, _ in shown], [f for _, f in shown])
        return len(crops), len(ids) - len(chosen)
