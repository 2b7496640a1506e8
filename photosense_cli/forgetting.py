"""The application layer's door to forgetting: photos, people, suppression templates.

A part of app.Library (a mixin, so that the class stays readable): front ends call
these on the Library they opened, like every other operation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from photosense_cli.records import PersonForgetReport, SuppressionTemplate

if TYPE_CHECKING:
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.engines.base import Engine, EngineOptions
    from photosense_cli.library import ForgetPlan
    from photosense_cli.privacy import PersonForgetPlan
    from photosense_cli.records import Person


class Forgetting:
    """What app.Library gives it: its catalogue and options, its engine and people."""

    cat: Catalogue
    options: EngineOptions | None
    engine: Callable[[], Engine]
    person: Callable[..., Person]

    # -- forgetting --------------------------------------------------------------

    def forget_plan(self, paths: Sequence[str], missing: bool = False) -> ForgetPlan:
        from photosense_cli.library import forget_plan

        return forget_plan(self.cat, list(paths), missing)

    def faces_in(self, photo_ids: Sequence[int]) -> int:
        return len(self.cat.engine_face_ids_of_photos(list(photo_ids)))

    def forget(self, plan: ForgetPlan) -> dict[str, Any]:
        from photosense_cli.library import forget

        engine = self.engine() if self.faces_in(plan.photo_ids) else None
        return forget(self.cat, plan, engine=engine, options=self.options or _options())


    # -- biometric privacy ---------------------------------------------------------

    def forget_person_plan(self, ref: str) -> PersonForgetPlan:
        from photosense_cli import privacy

        return privacy.plan(self.cat, self.person(ref, exact=True))  # a change: exact only

    def forget_person(self, plan: PersonForgetPlan, *, never_again: bool = False,
                      label: str | None = None, wait: float = 0.0) -> PersonForgetReport:
        """Erase a person everywhere (privacy.py). Holds the import lock: an import running
        beside it would store a face of theirs for a person who is gone."""
        from photosense_cli import privacy
        from photosense_cli.catalogue import import_lock

        with import_lock(self.cat.path, wait):
            return privacy.forget_person(self.cat, plan, self._cloud_engine(),
                                         never_again=never_again, label=label)

    def suppression_templates(self) -> list[SuppressionTemplate]:
        return self.cat.templates()

    def remove_template(self, template_id: int) -> str:
        from photosense_cli import privacy

        return privacy.remove_template(self.cat, template_id, self._cloud_engine())

    def _cloud_engine(self) -> Callable[[], Engine] | None:
        """How to reach the library's cloud collection; None when its faces live only in
        the catalogue (the local engine) or it has no engine yet."""
        from photosense_cli import engines

        name = self.cat.get_meta("engine")
        if name is None or name not in engines.REGISTRY:
            return None
        return self.engine if engines.engine_class(name).remote_faces else None




def _options() -> EngineOptions:
    from photosense_cli.library import DEFAULT_OPTIONS

    return DEFAULT_OPTIONS
