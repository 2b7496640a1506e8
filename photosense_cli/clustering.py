"""Clustering faces as they are stored (import, reindex), and the rules it never breaks.

Clustering follows the original design: a face joins the person who owns the faces it
matches at 90 % similarity (FACE_MATCH_THRESHOLD), or starts a new unnamed person. A
face whose best match lies in the engine's suggestion band (from its suggest_threshold
up to 90) joins no one: it starts its own person and is queued as "is this Ada?"
(`people suggest --faces`, the review), since a looser bound merged look-alikes.

On an engine with user vectors (Rekognition), a face a person's user matches joins that
person first (uservectors.py); single faces vote only for faces no user claimed.

The rules, checked at every assignment and every suggestion:
- two faces of one photo are two people;
- a face the user took out of a person (unassign, move, "not this person", a declined
  suggestion) never goes back to them: kept by photo content and box, it outlives a
  reindex and a forget undone;
- a person with a birth date (`people born`) gets no face from a photo the camera dated
  before it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence

from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import FACE_MATCH_THRESHOLD, DetectedFace, Match, UserMatch
from photosense_cli.geometry import same_face
from photosense_cli.records import Box

# A new person whose face is smaller than this share of its photo's width and height
# starts hidden (shown again once a second face joins them): a face in the crowd behind
# the subject. The shared test photos' smallest face is 0.106 of its photo's height (a
# group photo); a class photo of 30 puts faces at 0.05-0.07; faces in a crowd behind
# someone measure 0.02-0.04. Both sides must be small, so a tall portrait photo's
# narrow face is not taken for a distant one.
BACKGROUND_FACE = 0.04


class PhotoRules:
    """What the rules say of one photo's faces: read once per photo, asked per face."""

    def __init__(self, cat: Catalogue, photo_id: int):
        self.cat = cat
        self.sha256, self.day = cat.photo_rule_facts(photo_id)
        self.rejections = cat.rejections_in(self.sha256)

    def allowed(self, box: Box, people: Iterable[int]) -> set[int]:
        """Of these people, those this face may join."""
        people = set(people)
        if not people:
            return people
        barred = {p for b, p in self.rejections if p in people and same_face(b, box)}
        if self.day is not None:
            barred |= {p for p, born in self.cat.born_of(people - barred).items()
                       if self.day < born}
        return people - barred


class Clusterer:
    """Assigns each new face to a person; lives for one import run.

    A face searched while another photo of the same run was still in flight may
    match a face the catalogue does not have yet. Such matches are kept as
    claims, so when that face is written it joins the person that matched it.
    """

    def __init__(self, cat: Catalogue):
        self.cat = cat
        self.claims: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.last_person: int | None = None  # the person the last assigned face went to
        self.last_face: int | None = None  # and the catalogue row it became
        self.hidden_background = 0  # new people started hidden: a tiny face, far behind
        self.suggested = 0  # faces queued as "is this X?" (their match was in the band)
        self.ruled_out = 0  # matches a rule kept a face from (a rejection, a birth date)
        self.by_user = 0  # faces a user vector placed (uservectors.py)
        self._rules: PhotoRules | None = None
        self._photo: int | None = None

    def rules(self, photo_id: int) -> PhotoRules:
        if self._rules is None or self._photo != photo_id:
            self._rules, self._photo = PhotoRules(self.cat, photo_id), photo_id
        return self._rules

    def assign(self, photo_id: int, face: DetectedFace, matches: list[Match],
               person: int | None = None, taken: Collection[int] = (),
               users: Sequence[UserMatch] = ()) -> int:
        """Store the face under its person (chosen from matches unless given); 1 if one was
        created. `taken`: people another face of this photo went to, whom this face cannot
        join (one person is not twice in a photo; mirrors and photos of photos aside, which
        the user merges); it goes to its next-best person or a new one, and a suggestion
        records the likeness. A given person (what a reindex or an undone forget carries
        over) is checked against the rules like any other. `users`: the user vectors the
        face matched (uservectors.py); the best one a rule allows decides, before any
        single face's vote."""
        rules = self.rules(photo_id)
        matches = [m for m in matches if m.face_id != face.face_id]
        sure = [m for m in matches if m.similarity >= FACE_MATCH_THRESHOLD]
        owners = self.cat.people_of_engine_faces([m.face_id for m in matches])
        created = 0
        passed_over: dict[int, float] = {}
        if person is not None and not rules.allowed(face.box, [person]):
            person = None
            self.ruled_out += 1
        if person is None and users:
            person = self._by_user(face, users, taken, rules)
        if person is None:
            person = self._choose(face, sure, owners, taken, passed_over, rules)
            if person is None:
                person = self.cat.create_person()
                created = 1
                if face.box.width < BACKGROUND_FACE and face.box.height < BACKGROUND_FACE:
                    self.cat.hide_as_background(person)
                    self.hidden_background += 1
            for other, similarity in passed_over.items():
                self.cat.add_suggestion(person, other, similarity, "same-photo")
        face_row = self.last_face = self.cat.insert_face(photo_id, person, face)
        if created:
            self._suggest(face_row, face, matches, owners, set(taken) | {person}, rules)
        self.last_person = person
        for m in sure:
            if m.face_id not in owners:
                self.claims[m.face_id].append((person, m.similarity))
        return created

    def _by_user(self, face: DetectedFace, users: Sequence[UserMatch], taken: Collection[int],
                 rules: PhotoRules) -> int | None:
        """The person of the best user this face may join (None: none may)."""
        people = self.cat.people_of_users([u.user_id for u in users])
        best: dict[int, float] = {}
        for u in users:
            p = people.get(u.user_id)
            if p is not None and p not in taken:
                best[p] = max(best.get(p, 0.0), u.similarity)
        allowed = rules.allowed(face.box, best)
        self.ruled_out += len(best) - len(allowed)
        if not allowed:
            return None
        self.by_user += 1
        person = max(allowed, key=lambda p: best[p])
        for other in allowed - {person}:  # two people's users claim it: the user decides
            self.cat.add_suggestion(person, other, best[other], "import-conflict")
        return person

    def _choose(self, face: DetectedFace, matches: list[Match], owners: dict[str, int],
                taken: Collection[int], passed_over: dict[int, float],
                rules: PhotoRules) -> int | None:
        votes: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])  # person -> [count, best]
        for m in matches:
            if m.face_id in owners:
                _vote(votes, owners[m.face_id], m.similarity)
        for person, similarity in self.claims.pop(face.face_id, []):
            # the claiming person may have been merged away or removed since (a correction
            # made while this import runs): a claim on someone gone is no vote
            if self.cat.person_exists(person):
                _vote(votes, person, similarity)
        for other in set(taken) & votes.keys():
            passed_over[other] = votes[other][1]
            del votes[other]
        allowed = rules.allowed(face.box, votes)
        self.ruled_out += len(votes) - len(allowed)
        votes = {p: v for p, v in votes.items() if p in allowed}
        if not votes:
            return None
        person = max(votes, key=lambda p: (votes[p][0], votes[p][1]))
        for other, (_, best) in votes.items():
            if other != person:  # the face looks like two people: let the user decide
                self.cat.add_suggestion(person, other, best, "import-conflict")
        return person

    def _suggest(self, face_row: int, face: DetectedFace, matches: list[Match],
                 owners: dict[str, int], barred: set[int], rules: PhotoRules) -> None:
        """A face that started its own person asks about the best person its band matches
        belong to, if a rule allows it."""
        best: dict[int, float] = {}
        for m in matches:
            owner = owners.get(m.face_id)
            if owner is not None and owner not in barred and m.similarity < FACE_MATCH_THRESHOLD:
                best[owner] = max(best.get(owner, 0.0), m.similarity)
        allowed = rules.allowed(face.box, best)
        candidates = sorted(((s, p) for p, s in best.items() if p in allowed), reverse=True)
        if candidates:
            score, person = candidates[0]
            self.cat.suggest_face(face_row, person, score)
            self.suggested += 1


def _vote(votes, person: int, similarity: float) -> None:
    votes[person][0] += 1
    votes[person][1] = max(votes[person][1], similarity)
