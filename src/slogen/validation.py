"""The whole of ``slogen validate``: the loader's checks, then every backend's.

``build``, ``plan`` and ``apply`` run exactly this before they render anything, so a project
that validates never reaches a backend call that would reject it, and a project that does not
validate changes nothing anywhere.

Problems come back in one list, errors and warnings together. Warnings describe alerting that
works but probably not as intended (an alert that notifies nobody, a tier that fires while the
SLO is met or on one failed event: :mod:`slogen.spec.advice`); they never stop a command, unless
``--strict`` makes them errors.
"""

from __future__ import annotations

from slogen import templating
from slogen.backends import registry
from slogen.backends.contract import uses
from slogen.errors import Problem, Problems, SlogenError
from slogen.plural import plural
from slogen.spec.advice import alerting_warnings
from slogen.spec.loader import load_project_with_warnings
from slogen.spec.model import Project


def _silent_tiers(project: Project) -> list[Problem]:
    """Warn where a backend that delivers alerts to recipients has none for a severity."""
    problems: list[Problem] = []
    for backend in registry.backends():
        if not backend.capabilities.needs_recipients:
            continue
        for service in project.services:
            for index, slo in enumerate(service.slos):
                if not uses(backend.name, slo):
                    continue
                for severity in slo.policy.severities:
                    if slo.alerting.for_severity(severity).route(backend.name):
                        continue
                    problems.append(
                        Problem(
                            slo.location,
                            f"slos[{index}].alerting.{severity}.{backend.name}",
                            f"the {severity} alerts of this SLO in {backend.name} notify nobody",
                            f"add recipients under alerting.{severity}.{backend.name}",
                            severity="warning",
                        )
                    )
    return problems


def validate_project(project: Project, templates: str | None = None) -> Problems:
    """Every backend's problems with an already loaded project (warnings included)."""
    problems = Problems()
    for backend in registry.backends():
        try:  # a backend that renders to measure (CloudWatch) meets the templates' errors too
            problems.extend(backend.validate(project, templates))
        except SlogenError as exc:
            problems.extend(exc.problems.items)
    problems.extend(_silent_tiers(project))
    problems.extend(alerting_warnings(project))
    if templates is not None and not problems.errors:
        problems.extend(_template_problems(project, templates))
    return problems


def _template_problems(project: Project, templates: str) -> list[Problem]:
    """The user's template overrides, rendered once for every backend some SLO uses: a template
    that does not parse, or names a variable slogen does not provide, fails here, not in build
    or apply."""
    problems: list[Problem] = templating.override_problems(templates)
    for backend in registry.used_by(project):
        try:
            backend.render(project, templates)
        except SlogenError as exc:
            problems.extend(exc.problems.items)
    return problems


def load_valid(
    paths: list[str] | tuple[str, ...],
    config: str | None = None,
    strict: bool = False,
    templates: str | None = None,
) -> tuple[Project, Problems]:
    """Load and validate; raise :class:`SlogenError` with every problem when any is an error
    (with ``strict``, when there is any problem at all). Returns the project and its warnings."""
    project, problems = load_project_with_warnings(paths, config)
    problems.extend(validate_project(project, templates).items)
    # Notes say what slogen did on purpose (e.g. builds no alerts for a NO_SLO entry): even
    # --strict lets them through, as they ask nothing of the author.
    failing = [p for p in problems.items if p.severity != "note"] if strict else problems.errors
    if failing:
        if strict:
            problems = Problems([_as_error(p) for p in problems.items if p.severity != "note"])
        raise SlogenError(f"{plural(len(failing), 'error')} in the specs", problems)
    return project, problems


def _as_error(problem: Problem) -> Problem:
    if problem.severity == "error":
        return problem
    return Problem(problem.location, problem.path, problem.message, problem.hint)
