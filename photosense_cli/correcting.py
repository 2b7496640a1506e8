"""The application layer's door to the clustering's rules: faces suggested to people,
birth dates, splits (clustering.py, split.py).

A part of app.Library (a mixin, like forgetting.py): front ends call these on the
Library they opened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from photosense_cli.records import FaceSuggestion, SplitProposal

if TYPE_CHECKING:
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.engines.base import Engine
    from photosense_cli.records import Person


class Correcting:
    """What app.Library gives it: its catalogue, its engine and its people."""

    cat: Catalogue
    engine: Callable[[], Engine]
    person: Callable[..., Person]

    def face_suggestions(self, limit: int = 50) -> list[FaceSuggestion]:
        """Faces that asked "is this X?" (their best match was in the suggestion band)."""
        return self.cat.face_suggestions(limit)

    def face_suggestion_count(self) -> int:
        return self.cat.count_face_suggestions()

    def accept_face(self, face_id: int) -> str:
        from photosense_cli import people

        return people.accept(self.cat, face_id)

    def decline_face(self, face_id: int) -> str:
        from photosense_cli import people

        return people.decline(self.cat, face_id)

    def born(self, ref: str, day: str | None) -> str:
        """Set a person's birth date (YYYY-MM-DD, YYYY-MM, YYYY) or clear it (None)."""
        from photosense_cli import split

        person = self.person(ref, exact=True)
        return split.born(self.cat, person, split.parse_day(day) if day else None)

    def split_plan(self, ref: str, threshold: float | None = None) -> SplitProposal:
        """How a person's faces fall into groups; nothing changes (a cloud library's
        engine compares the faces: one SearchFaces each)."""
        from photosense_cli import split

        person = self.person(ref, exact=True)
        return split.propose(self.cat, person, self.engine,
                             threshold if threshold is not None else self.split_threshold())

    def split_threshold(self) -> float:
        """The library engine's suggestion floor: a group holds faces mostly alike."""
        from photosense_cli import engines

        name = self.cat.get_meta("engine")
        if name in engines.REGISTRY:
            return engines.engine_class(name).suggest_threshold
        return 80.0

    def split(self, proposal: SplitProposal) -> SplitProposal:
        from photosense_cli import split

        return split.apply(self.cat, proposal)
