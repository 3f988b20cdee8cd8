"""Rule groups as the ruler lists them: the shape check, slogen's marker, the comparison form.

The ruler has no place for an owner tag, so ownership is read from the groups themselves: a
group in the configured namespace is slogen's when its name is ``slogen/<service>/<slo>`` *and*
every rule carries the labels ``service`` and ``slo`` with those values (render puts them on
every rule). A group that only has the name is someone else's; slogen never writes it, and a
desired group of that name is a conflict.

The ruler hands back what it stored in its own form (Prometheus ``rulefmt`` marshalled by
Mimir: durations in ``model.Duration`` form, e.g. ``1w`` for 7d; label maps sorted). Durations
are rewritten in slogen's form and label values as strings, so an unchanged group compares
equal to what render makes and a no-op plan stays a no-op.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from slogen.backends.prometheus.rulefiles import GROUP_PREFIX, project_of_groups
from slogen.durations import format_duration
from slogen.errors import SlogenError

Group = dict[str, Any]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# prometheus/common model.ParseDuration units, largest first, each at most once.
_PROM_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_MS = (365 * 86400_000, 7 * 86400_000, 86400_000, 3600_000, 60_000, 1000, 1)
DURATION_FIELDS = ("for", "keep_firing_for")


def slo_of(name: str) -> tuple[str, str] | None:
    """``(service, slo)`` of a group named ``slogen/<service>/<slo>``, else None."""
    if not name.startswith(GROUP_PREFIX):
        return None
    parts = name[len(GROUP_PREFIX) :].split("/")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def is_marked(group: Group) -> bool:
    """Whether a group carries slogen's marker (see the module docstring)."""
    names = slo_of(str(group.get("name", "")))
    rules = group.get("rules")
    if names is None or not isinstance(rules, list) or not rules:
        return False
    service, slo = names
    for rule in rules:
        labels = rule.get("labels") if isinstance(rule, dict) else None
        if not isinstance(labels, dict):
            return False
        if str(labels.get("service")) != service or str(labels.get("slo")) != slo:
            return False
    return True


def project_of(group: Group) -> str | None:
    """The slogen project a marked group belongs to (None: written before projects).

    The ruler keeps rules as written but has no place for a tag, and a namespace per project
    would orphan the groups in today's namespace; so the project is the ``slogen_project``
    annotation render puts on every alert (:class:`slogen.backends.prometheus.render.
    SloAlerts`): it changes no series and no alert identity, and adopting a group written
    before projects is an ordinary update of its alerts.
    """
    return project_of_groups([group])


def _bad_shape(url: str, problem: str) -> SlogenError:
    return SlogenError(
        f"the ruler at {url} answered something that is not a list of rule groups: {problem}",
        hint="is targets.prometheus.url the base URL of Mimir (without /prometheus)? "
        "nothing was changed",
    )


def parse_listing(text: str, url: str, namespace: str) -> list[Group]:
    """The groups of ``namespace`` in a list answer (YAML: namespace -> list of groups).

    Refuses (SlogenError) an answer that is not YAML of that shape, rather than guess: a
    misread listing would plan to create or delete groups that are fine.
    """
    try:
        data = yaml.load(text, Loader=_Loader) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise _bad_shape(url, f"not valid YAML{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _bad_shape(url, f"expected a mapping of namespaces, found {type(data).__name__}")
    for name, groups in data.items():
        if groups is not None and not isinstance(groups, list):
            raise _bad_shape(url, f"namespace {name!r} holds {type(groups).__name__}, not a list")
    found = data.get(namespace) or []
    for index, group in enumerate(found):
        if not isinstance(group, dict) or not isinstance(group.get("name"), str):
            raise _bad_shape(url, f"group {index} of namespace {namespace!r} has no name")
        rules = group.get("rules")
        if rules is not None and (
            not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules)
        ):
            raise _bad_shape(url, f"the rules of group {group['name']!r} are not a list")
    return found


def _duration(value: Any) -> Any:
    """A Prometheus duration in slogen's form (``1w`` -> ``1w``, ``90m`` -> ``1h30m``)."""
    if not isinstance(value, str):
        return value
    match = _PROM_DURATION.match(value.strip())
    if not match or not value.strip():
        return value
    ms = sum(int(n) * size for n, size in zip(match.groups(), _MS, strict=True) if n)
    if ms % 1000:
        return value
    return format_duration(ms // 1000)


def normalise(group: Group) -> Group:
    """The group with its rules in the form render produces (see the module docstring)."""
    rules = []
    for rule in group.get("rules") or []:
        rule = dict(rule)
        for key in DURATION_FIELDS:
            if key in rule:
                rule[key] = _duration(rule[key])
        for key in ("labels", "annotations"):
            if isinstance(rule.get(key), dict):
                rule[key] = {str(k): _text(v) for k, v in rule[key].items()}
        rules.append(rule)
    return {**group, "rules": rules}


def _text(value: Any) -> Any:
    """Label and annotation values are strings in Prometheus; YAML may have typed them."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
