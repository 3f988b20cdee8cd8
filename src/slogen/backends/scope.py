"""Project scope: which of the objects carrying slogen's marker belong to this project.

Every backend writes its project's name next to ``managed-by: slogen`` (a Datadog tag
``slogen-project:<name>``, a CloudWatch or AMP tag ``slogen-project``, the annotation
``slogen_project`` on every Prometheus alert and a ``# slogen-project:`` header line, a
``"slogen-project"`` field in JSON files). Reading a target sorts what carries slogen's marker
into three:

* **own**: marked with this project: planned as usual;
* **unscoped**: marked before projects existed: adopted by the first project whose specs
  want it (same key, same file or group), read as this project's, so the plan shows the
  project marker being added (an update, never a delete and create). One no project wants is
  left alone with a warning: an upgraded project may share an account with others, and
  deleting what it does not want could destroy another project's work;
* **foreign**: marked with another project: never read into the plan, so never updated or
  deleted; the plan warns how many there are, and a desired object that only a foreign one
  could be (same key, same name) is a conflict, not an overwrite.

A target without a project (settings made by hand, not by the loader) keeps the behaviour of
before projects: everything marked is its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from slogen.resources import LiveState, Resource
from slogen.spec.model import Target
from slogen.spec.project import PROJECT_OPTION

PROJECT_TAG = "slogen-project"  # tag key (Datadog: the tag prefix) and JSON file field
PROJECT_ANNOTATION = "slogen_project"  # on every Prometheus alert (annotation names are labels)
FOREIGN = "foreign"  # LiveState.extra: key (or file, group...) -> the other project holding it


def project_of(settings: Target) -> str | None:
    """The project a target manages objects for (None: no scope, see the module docstring)."""
    value = settings.option(PROJECT_OPTION)
    return str(value) if value else None


def belongs(mine: str | None, marked: str | None) -> bool:
    """Whether an object marked with project ``marked`` (None: unscoped) may be this project's."""
    return mine is None or marked is None or marked == mine


def claims(mine: str | None, marked: str | None, unit: str, wanted: Collection[str] | None) -> bool:
    """Whether this project reads an object as its own: marked with it, or unscoped and
    ``unit`` (its key, file or group) among what the project wants (``wanted`` None: any)."""
    if mine is None or marked == mine:
        return True
    return marked is None and (wanted is None or unit in wanted)


def warnings(foreign: Mapping[str, str | None], what: str = "object") -> list[str]:
    """One plan warning per other project (how many of its objects were left alone), and one
    for the objects written before projects that this project does not want."""

    def many(n: int) -> str:
        return f"{n} {what}{'' if n == 1 else 's'}"

    counts: dict[str | None, int] = {}
    for project in foreign.values():
        counts[project] = counts.get(project, 0) + 1
    out = [
        f"{many(n)} owned by slogen project '{p}' left alone"
        for p, n in sorted((p, n) for p, n in counts.items() if p is not None)
    ]
    if None in counts:
        out.append(
            f"{many(counts[None])} written by slogen before projects, not in this project's "
            "specs, left alone (the project that has them adopts them on its next apply; "
            "delete them by hand if no project has them)"
        )
    return out


def note(state: LiveState, foreign: Mapping[str, str | None], what: str = "object") -> LiveState:
    """``state`` with the objects it left alone recorded (for :func:`conflicts`; None: written
    before projects) and warned about."""
    state.extra[FOREIGN] = {k: v for k, v in foreign.items() if v is not None}
    state.warnings.extend(warnings(foreign, what))
    return state


def conflicts(desired: Iterable[Resource], live: LiveState) -> list[str]:
    """Desired resources whose key another project's object holds (one reason per key)."""
    foreign: Mapping[str, str] = live.extra.get(FOREIGN, {})
    out = []
    seen: set[str] = set()
    for res in desired:
        holder = foreign.get(res.key)
        if holder is None or res.key in seen:
            continue
        seen.add(res.key)
        out.append(
            f"{res.key} is held by slogen project '{holder}'; two projects cannot manage the "
            "same object: rename the service or SLO in one of them, or remove it there"
        )
    return out


def unit_conflicts(units: Sequence[str], live: LiveState, what: str) -> list[str]:
    """Desired units (files, rule groups, namespaces) another project's marker holds."""
    foreign: Mapping[str, str] = live.extra.get(FOREIGN, {})
    return [
        f"{what} {unit} is held by slogen project '{foreign[unit]}'; two projects cannot "
        "manage the same object: rename the service or SLO in one of them, or remove it there"
        for unit in sorted(set(units))
        if unit in foreign
    ]


def project_in_tags(tags: object) -> str | None:
    """The project an object's tags name, in any form slogen writes: a list of
    ``slogen-project:<name>`` strings (Datadog), a mapping with the key (CloudWatch, AMP) or
    AWS's list of ``{"Key": ..., "Value": ...}`` (CloudWatch requests)."""
    if isinstance(tags, Mapping):
        value = tags.get(PROJECT_TAG)
        return str(value) if value else None
    if isinstance(tags, list):
        prefix = f"{PROJECT_TAG}:"
        for item in tags:
            if isinstance(item, str) and item.startswith(prefix) and len(item) > len(prefix):
                return item[len(prefix) :]
            if isinstance(item, Mapping) and item.get("Key") == PROJECT_TAG and item.get("Value"):
                return str(item["Value"])
    return None


def project_in_bodies(bodies: Iterable[Mapping[str, object]]) -> str | None:
    """The project the tags of ``bodies`` name (the first that names one)."""
    for body in bodies:
        found = project_in_tags(body.get("tags", body.get("Tags")))
        if found:
            return found
    return None
