"""The import job: new and changed files found, analysed, clustered and stored."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import assert_never

from photosense_cli import uservectors
from photosense_cli.catalogue import Catalogue
from photosense_cli.clustering import Clusterer
from photosense_cli.engines.base import (
    Engine,
    FaceProbe,
    cost_usd,
)
from photosense_cli.errors import ItemFailed
from photosense_cli.geometry import overlap, pair_faces
from photosense_cli.pipeline.analyse import FACE_PROBE, OFFLINE_TEXT, Analyser, text_operation
from photosense_cli.pipeline.budget import ASSUMED_FACES, Budget, photo_cost
from photosense_cli.pipeline.content import ContentIndex
from photosense_cli.pipeline.runner import Pipeline, protect
from photosense_cli.pipeline.scan import Scanner, developed_sibling, is_image_file, mtime_iso
from photosense_cli.pipeline.state import Candidate, Outcome, OutcomeKind, text_path
from photosense_cli.policy import FolderRules, stored
from photosense_cli.privacy import Screen, keep_for_templates
from photosense_cli.records import Box, ChangeKind, Face, RunSummary
from photosense_cli.requests import ImportRequest


class Importer:
    def __init__(self, cat: Catalogue, engine: Engine, req: ImportRequest | None = None, *,
                 threads: int | None = None, uploader=None, text_engine: Engine | None = None,
                 prefilter: FaceProbe | None = None, local_text: Engine | None = None,
                 before_calls: Callable[[Callable[[], tuple[int, Counter]]], None]
                 = lambda photos: None,
                 on_error: Callable[[dict], None] = lambda e: None,
                 on_progress: Callable[[int | None, str], None] = lambda total, path: None):
        """req: what the user asked (dry run, exclusions, --max-cost, callbacks), whole;
        the rest is what the set-up made of it (threads, the engines, the S3 copy)."""
        req = req or ImportRequest(paths=[])
        retry_failed = req.retry_failed
        self.cat = cat
        self.engine = engine
        self.dry_run = req.dry_run
        self.on_file = req.on_file or (lambda path, what: None)  # each file's fate (-v)
        self.on_photo = req.on_photo or (lambda faces: None)  # a new photo's faces (progress)
        self.uploader = uploader
        self.exclude = list(req.exclude)
        self.read_xmp = req.read_xmp
        self.max_cost = req.max_cost
        self.text_engine = text_engine
        self.prefilter = prefilter
        self.local_text = local_text
        self.rules = req.folders or FolderRules()
        self.screen = Screen.of(cat, engine.name)  # forgotten faces, suppression templates
        self.text_operation = text_operation(text_engine)
        self.budget = Budget(None, 0.0)  # made with the run's own estimate in run()
        self.named_from_xmp: list[dict] = []  # one undoable change for the whole import
        self.before_calls = before_calls  # after the scan, before any engine call
        self.summary = RunSummary("import", engine.name, str(cat.path), dry_run=req.dry_run)
        self.pipeline: Pipeline[Candidate] = Pipeline(
            cat, engine, self.summary, threads=threads or engine.default_workers or 1,
            on_error=on_error, on_progress=on_progress)
        self.clusterer = Clusterer(cat)
        self.index = ContentIndex(cat.photo_ids_by_hash(), cat.forgotten_hashes())
        self.locations: dict[str, tuple[int, int, int]] = {}
        self.faces_per_photo = (ASSUMED_FACES, False)  # what a dry run's estimate used
        self.failures: dict[str, tuple[int, int, bool]] = {} if retry_failed else cat.failures()
        self.remembered = set(cat.failures()) if retry_failed else set(self.failures)

    def run(self, paths: Iterable[str]) -> RunSummary:
        started = time.perf_counter()
        self.locations = self.cat.locations_by_path()
        forgotten_paths = self.cat.forgotten_paths()
        scanner = Scanner(self._scan_error, self.exclude,
                          on_excluded=lambda path: self.on_file(path, "excluded"))
        todo, seen, companions = [], set(), []
        for c in scanner.scan(paths):
            seen.add(c.path)
            known = self.locations.get(c.path)
            if known and known[0] == c.size and known[1] == c.mtime_ns:
                self.summary.skipped += 1
                self.on_file(c.path, "unchanged")
            elif forgotten_paths.get(c.path) == (c.size, c.mtime_ns):
                self.summary.forgotten += 1  # forgotten by path: its photo lives elsewhere
                self.on_file(c.path, "forgotten")
            elif (failed := self.failures.get(c.path)) and failed[:2] == (c.size, c.mtime_ns):
                # failed (or was too small) before and unchanged: not read again
                if failed[2]:
                    self.summary.too_small += 1
                    self.on_file(c.path, "too small (unchanged)")
                else:
                    self.summary.known_failures += 1
                    self.on_file(c.path, "failed before (unchanged)")
            elif developed_sibling(c.path):
                companions.append(c)
            else:
                todo.append(c)
        self.summary.excluded = scanner.excluded
        # counted only when asked for: 32 bytes a new file, for a cloud import's question
        self.before_calls(lambda: self._count_new(todo))
        if self.max_cost is not None:  # reruns without a cap pay no query for it
            faces_each = max(ASSUMED_FACES, self.cat.faces_per_photo() or ASSUMED_FACES)
            self.budget = Budget(self.max_cost, photo_cost(
                self.engine, faces_each=faces_each, text_operation=self.text_operation,
                users=uservectors.in_use(self.cat, self.engine)))
        analyser = Analyser(self.engine, self.index, dry_run=self.dry_run, uploader=self.uploader,
                            stop=self.pipeline.stop, read_xmp=self.read_xmp, budget=self.budget,
                            text_engine=self.text_engine, prefilter=self.prefilter,
                            screen=self.screen, rules=self.rules,
                            local_text=self.local_text,
                            call_threads=2 * self.pipeline.threads
                            if self.engine.parallel_calls else 0)
        # the user vectors are brought in step before the first face is searched, by the
        # writer (sync_users): a run that searches no face makes no call for them
        analyser.before_search = self.pipeline.need_first
        try:
            self.pipeline.run(todo, analyser, self._write,
                              then=lambda: self._pair_with_siblings(companions), started=started,
                              first=lambda: sync_users(self.cat, self.pipeline, analyser))
        finally:
            analyser.close()
            if self.named_from_xmp:
                with self.cat.transaction():
                    n = len(self.named_from_xmp)
                    self.cat.log_change(ChangeKind.XMP_NAMES, f"named {n} {'person' if n == 1 else 'people'}"
                                        " from names in the photos' metadata",
                                        {"names": self.named_from_xmp})
        self.summary.people_hidden = self.clusterer.hidden_background
        self.summary.faces_suggested = self.clusterer.suggested
        self.summary.faces_by_user = self.clusterer.by_user
        self._mark_gone(scanner.folders, seen)
        self.summary.faces_removed_by_rule = protect(self.cat, self.rules, self.engine,
                                                     self.pipeline, dry_run=self.dry_run)
        if self.dry_run:
            self._estimate_searches()
        return self.summary

    def _count_new(self, todo: list[Candidate]) -> tuple[int, Counter]:
        """New image files, and how many of them each kind of folder rule keeps back."""
        images = [c.path for c in todo if is_image_file(c.path)]
        kept: Counter = Counter()
        if self.rules:
            for path in images:
                if (why := self.rules.verdict([path], self.engine.remote_faces).kept_back):
                    kept[why] += 1
        return len(images), kept

    def _pair_with_siblings(self, companions: list[Candidate]) -> list[Candidate]:
        """A RAW and the JPEG (or HEIC) the camera wrote beside it are one photo: the RAW
        becomes another path of the JPEG's photo, whose faces were sent once. A RAW whose
        sibling is not in the library (excluded, failed) is analysed on its own."""
        alone: list[Candidate] = []
        if self.dry_run:  # nothing is stored: each RAW would be a path of its sibling's photo
            self.summary.known += len(companions)
            return alone
        for c in companions:
            sibling = developed_sibling(c.path)
            photo_id = self.cat.photo_id_at(sibling) if sibling else None
            if photo_id is None:
                alone.append(c)
            else:
                self._add_path(photo_id, c)
        return alone

    def _scan_error(self, path: str, reason: str) -> None:
        """A file or folder the scan could not use: reported once, remembered like a failure."""
        path = text_path(path)
        try:
            st = os.lstat(path)
            ident = (st.st_size, st.st_mtime_ns)
        except OSError:
            ident = (0, 0)
        failed = self.failures.get(path)
        if failed is not None and failed[:2] == ident:
            self.summary.known_failures += 1
            return
        self.pipeline.on_error(self.summary.fail(path, reason))
        self._remember_failure(path, *ident, reason)

    def _mark_gone(self, folders: list[str], seen: set[str]) -> None:
        """Catalogued paths under the scanned folders that are no longer on disk."""
        gone = [p for folder in folders for p in self.cat.live_paths_under(folder)
                if p not in seen and not os.path.lexists(p)]
        self.summary.gone = len(gone)
        if gone and not self.dry_run:
            with self.cat.transaction():
                self.cat.mark_gone(gone)
                self.summary.moved = self.cat.count_paths_still_elsewhere(gone)
        for path in gone:
            self.on_file(path, "gone")

    def _remember_failure(self, path: str, size: int, mtime_ns: int, reason: str,
                          too_small: bool = False) -> None:
        if not self.dry_run:
            with self.cat.transaction():
                self.cat.record_failure(path, size, mtime_ns, reason, too_small)

    def _fail(self, o: Outcome, c: Candidate, reason: str | None = None) -> None:
        if o.too_small:
            self.summary.too_small += 1
            self.on_file(c.path, f"skipped: {reason or o.reason}")
            self._remember_failure(text_path(c.path), c.size, c.mtime_ns, reason or o.reason,
                                   too_small=True)
            return
        self.pipeline.fail(o, c.path, reason)
        if o.permanent:
            self._remember_failure(text_path(c.path), c.size, c.mtime_ns, reason or o.reason)

    def _write(self, o: Outcome) -> None:
        s, c = self.summary, o.candidate
        match o.kind:
            case OutcomeKind.IGNORED:
                s.ignored += 1
                self.on_file(c.path, "not a photo")
            case OutcomeKind.FORGOTTEN:
                s.forgotten += 1
                self.on_file(c.path, "forgotten")
            case OutcomeKind.FAILED:
                self._fail(o, c)
                self.pipeline.log_failed_calls(o)
                self.budget.settle(cost_usd(self.engine, Counter(o.usage.operations())))
                if o.sha256:
                    for copy in self.index.failed(o.sha256, o.reason):
                        self._fail(o, copy)
            case OutcomeKind.KNOWN:
                self._add_path(o.photo_id, c)
            case OutcomeKind.COPY:
                state, photo_id, reason = self.index.place_copy(o.sha256, c)
                if state == "known":
                    self._add_path(photo_id, c)
                elif state == "failed":
                    self._fail(o, c, reason)
            case OutcomeKind.OVER_BUDGET:
                s.over_budget += 1 + len(self.index.release(o.sha256))
                s.max_cost_reached = True
            case OutcomeKind.WOULD_ANALYSE:
                s.new += 1
                s.note_added(c.path)
                self.on_file(c.path, "would be analysed")
                verdict = o.verdict
                s.count_privacy(verdict, 0, 0, False)
                faces = verdict is None or verdict.faces
                text = (OFFLINE_TEXT if verdict is not None and verdict.text_here
                        else self.text_operation)
                s.calls.update({"IndexFaces": int(faces), text: 1})
                if self.prefilter is not None and faces:  # IndexFaces: one a photo at most
                    s.calls.update({FACE_PROBE: 1})
                s.known += len(self.index.written(o.sha256, None))
            case OutcomeKind.ANALYSED:
                self._store(o)
            case _:
                assert_never(o.kind)

    def _add_path(self, photo_id: int | None, c: Candidate) -> None:
        self.summary.known += 1
        self.on_file(c.path, "copy of a catalogued photo")
        if photo_id is None or self.dry_run:
            return
        before = self.locations.get(c.path)
        dropped: list[str] = []
        with self.cat.transaction():
            self.cat.record_location(photo_id, c.path, c.size, c.mtime_ns)
            if c.path in self.remembered:
                self.cat.clear_failure(c.path)
            if before is not None and before[2] != photo_id:
                # The file now holds content the library knows from elsewhere: what it held
                # before is gone from here, and from everywhere if it had no other path.
                self._drop_if_pathless(before[2], dropped)
                self.cat.delete_faceless_people()
        self.pipeline.delete_after_commit(dropped)

    def _store(self, o: Outcome) -> None:
        s, c, p = self.summary, o.candidate, o.prepared
        assert p is not None
        taken, source = (p.taken_at, "exif") if p.taken_at else (mtime_iso(c.mtime_ns), "file")
        where = p.gps or o.xmp_position  # the camera's EXIF first, then XMP's
        before = self.locations.get(c.path)  # this path held other content before: an edit
        dropped: list[str] = []
        with self.cat.transaction():
            photo_id = self.cat.insert_photo({
                "sha256": o.sha256, "size": c.size, "width": p.width, "height": p.height,
                "format": p.format, "taken_at": taken, "taken_at_source": source,
                "engine": self.engine.name, "latitude": where[0] if where else None,
                "longitude": where[1] if where else None, "gps_read": 1,
                "protection": stored(o.verdict.protection) if o.verdict else None,
            })
            self.cat.record_location(photo_id, c.path, c.size, c.mtime_ns)
            persons = self._persons_from_before(o, before, dropped)
            owners: list[int] = [0] * len(o.faces)
            in_photo: set[int] = set()
            # the surest faces choose first: of two faces that match one person, the weaker
            # goes to its next-best person (two faces of a photo are two people)
            order = sorted(range(len(o.faces)), key=lambda i: -max(
                [m.similarity for m in o.faces[i][1]]
                + [u.similarity for u in o.users.get(o.faces[i][0].face_id, [])], default=0.0))
            for i in order:
                face, matches = o.faces[i]
                s.people_created += self.clusterer.assign(photo_id, face, matches,
                                                          person=persons.get(i), taken=in_photo,
                                                          users=o.users.get(face.face_id, ()))
                assert self.clusterer.last_person is not None
                owners[i] = self.clusterer.last_person
                in_photo.add(owners[i])
            if o.regions:
                self._names_from_metadata(photo_id, o, owners)
            if dropped:
                self.cat.delete_faceless_people()
            self.cat.insert_text_lines(photo_id, o.lines)
            dropped += keep_for_templates(self.cat, self.engine, self.screen, o.template_faces)
            self.cat.log_calls(self.pipeline.run_id, self.engine.name, o.usage, o.sha256)
            if c.path in self.remembered:
                self.cat.clear_failure(c.path)
            # Copies that waited for this photo become its paths, in the same transaction.
            copies = self.index.written(o.sha256, photo_id)
            for copy in copies:
                self.cat.record_location(photo_id, copy.path, copy.size, copy.mtime_ns)
        self.pipeline.delete_after_commit(dropped)
        self.budget.settle(cost_usd(self.engine, Counter(o.usage.operations())))
        s.new += 1
        s.count_privacy(o.verdict, o.forgotten_faces, o.suppressed_faces, o.text_skipped)
        s.note_added(c.path)
        self.on_photo(len(o.faces))
        self.on_file(c.path, f"new: {len(o.faces)} face{'s' * (len(o.faces) != 1)}, "
                     f"{len(o.lines)} line{'s' * (len(o.lines) != 1)} of text")
        for copy in copies:
            self.on_file(copy.path, "copy of a catalogued photo")
        s.known += len(copies)
        s.faces += len(o.faces)
        s.text_lines += len(o.lines)
        self.pipeline.count_calls(o)
        for source, reason in o.metadata_problems:
            self.pipeline.fail(o, source, reason)

    def _persons_from_before(self, o: Outcome, before: tuple[int, int, int] | None,
                             dropped: list[str]) -> dict[int, int]:
        """Face index -> person, for faces that were in this photo before.

        Two cases keep what the user taught: a file edited in place (its old photo,
        left with no other path, is replaced; its faces' people carry over by box
        overlap) and a photo whose 'forget' was undone (its old people come back).
        The caller holds the transaction.
        """
        new_boxes = [f.box for f, _ in o.faces]
        persons: dict[int, int] = {}
        restore = self.cat.take_restorable(o.sha256)
        if restore:
            pairs = pair_faces(new_boxes, [Box(**r["box"]) for r in restore])
            for i, j in pairs.items():
                persons[i] = self.cat.revive_person(restore[j]["person"])
        if before is not None:
            old_faces = self._drop_if_pathless(before[2], dropped)
            pairs = pair_faces(new_boxes, [f.box for f in old_faces])
            for i, j in pairs.items():
                person = old_faces[j].person_id
                if person is not None:
                    persons.setdefault(i, person)
        return persons

    def _names_from_metadata(self, photo_id: int, o: Outcome, owners: list[int]) -> None:
        """Names other tools wrote into the photo count (the caller holds the transaction).

        A named region lies over a detected face when their boxes overlap by IoU >= 0.3 or
        the face's centre is inside the region (hand-drawn regions are often looser or
        tighter than a detector's box); the best overlap wins. Its person, if unnamed, takes
        the name; a person named otherwise gets a hint; a name another person already has
        becomes a merge suggestion instead, since only the engine can say they are one.
        A region over no face is kept for a later engine or reindex.
        """
        boxes = [f.box for f, _ in o.faces]
        given: set[str] = set()
        forgotten = self.screen.forgotten.get(o.sha256, [])
        for region in o.regions:
            if region.box is None:
                continue
            if any(overlap(f, region.box) for f, _ in forgotten):
                continue  # another tool's name for a face the user forgot: not kept here
            scores = [(overlap(b, region.box), i) for i, b in enumerate(boxes)]
            best = max(scores, default=(0.0, -1))
            if best[0] <= 0:
                self.cat.add_xmp_region(photo_id, region.name, region.box, region.source)
                continue
            given.add(region.name)
            self._name_person(owners[best[1]], region.name, region.source)
        for region in o.regions:  # PersonInImage alone: no box to match, kept for the user
            if region.box is None and region.name not in given:
                self.cat.add_xmp_region(photo_id, region.name, None, region.source)

    def _name_person(self, person_id: int, name: str, source: str) -> None:
        person = self.cat.person(person_id)
        if person is None:
            return
        if person.named:
            if person.name.casefold() != name.casefold():
                self.cat.add_name_hint(person_id, name, source)
            return
        others = [p for p in self.cat.people_named(name) if p.id != person_id]
        if others:
            self.cat.add_suggestion(person_id, others[0].id, 0.0, "xmp")
            return
        self.named_from_xmp.append({"person": person_id, "name": person.name, "named": False,
                                    "source": person.name_source})
        self.cat.set_name(person_id, name, True, source)

    def _drop_if_pathless(self, photo_id: int, dropped: list[str]) -> list[Face]:
        """Delete a photo whose last path now holds other content; returns its faces."""
        if self.cat.paths_of([photo_id]):
            return []
        old_faces = self.cat.faces_of_photo(photo_id)
        dropped += [f.engine_face_id for f in old_faces]
        self.cat.delete_photos([photo_id])  # the caller then deletes people left faceless
        self.summary.replaced += 1
        return old_faces

    def _estimate_searches(self) -> None:
        """SearchFaces is one call per face: estimate faces from this library's average so far,
        one face a photo for a library with no photo yet."""
        measured = self.cat.faces_per_photo()
        per_photo = ASSUMED_FACES if measured is None else measured
        self.faces_per_photo = (per_photo, measured is not None)
        self.summary.calls["SearchFaces"] = round(self.summary.calls["IndexFaces"] * per_photo)
        if uservectors.in_use(self.cat, self.engine):  # each face asks the users first
            self.summary.calls["SearchUsers"] = self.summary.calls["SearchFaces"]
        self.summary.cost_usd = cost_usd(self.engine, self.summary.calls)


def sync_users(cat: Catalogue, pipeline: Pipeline, analyser: Analyser) -> None:
    """Bring the collection's user vectors in step with the people (corrections made since
    the last import), before any new face is searched against them. A service fault here
    fails no photo: the faces are searched against single faces only, and the run says
    so in its errors and its exit code."""
    engine, summary = pipeline.engine, pipeline.summary
    users = uservectors.of(engine)
    if users is None:
        return
    try:
        done = uservectors.sync(cat, engine, pipeline.run_id)
    except ItemFailed as e:
        pipeline.on_error(summary.fail("(user vectors)", f"not brought in step: {e.reason}"))
        return
    summary.user_vectors = done.to_json()
    summary.calls.update(done.calls)
    analyser.users = users if cat.count_user_rows() else None
