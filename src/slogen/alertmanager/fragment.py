"""The Alertmanager configuration fragment as data (see the package docstring for the design).

Syntax of Alertmanager 0.22 and later, accepted by 0.25's ``amtool check-config`` (the tests run
it): routes select with ``matchers`` (``match``/``match_re`` are deprecated), inhibition rules
with ``source_matchers``/``target_matchers`` and ``equal``; the root route "must match all alerts
(i.e. not have any configured matchers)"; "a missing label and a label with an empty value are
the same thing", so labels in ``equal`` missing on both alerts count as equal. Source:
prometheus/alertmanager, docs/configuration.md (sections ``<route>``, ``<inhibit_rule>``,
``<matcher>``).
"""

from __future__ import annotations

from typing import Any

from slogen.alertmanager.settings import (
    INHIBIT_SOURCE,
    INHIBIT_TARGET,
    AlertmanagerSettings,
    policy_severities,
)
from slogen.durations import format_duration
from slogen.spec.model import Project

# Every alert slogen generates carries both labels (and no single label has one constant value
# on all of them); see the package docstring.
SLOGEN_MATCHERS = ('slo=~".+"', 'tier=~".+"')


def matcher(label: str, value: str) -> str:
    """``label="value"``, the value quoted with the escapes Alertmanager's matchers take."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{label}="{escaped}"'


def severities(project: Project) -> tuple[str, ...]:
    """Every severity the project's policies use: the default policy's first, then the others'
    by policy name."""
    ordered = sorted(project.policies, key=lambda p: (p.name != project.default_policy, p.name))
    return policy_severities(ordered)


def settings_of(project: Project) -> AlertmanagerSettings:
    return project.alertmanager or AlertmanagerSettings()


def receiver_names(project: Project) -> list[str]:
    """Every receiver the fragment routes to, each once: the severities', then the routes'."""
    am = settings_of(project)
    names: list[str] = []
    for name in [am.receiver(s) for s in severities(project)] + [r.receiver for r in am.routes]:
        if name not in names:
            names.append(name)
    return names


def slogen_route(project: Project) -> dict[str, Any]:
    """The subtree that takes slogen's alerts: configured routes, then one per severity."""
    am = settings_of(project)
    levels = severities(project)
    children = [
        {"receiver": r.receiver, "matchers": [matcher(k, v) for k, v in r.match]} for r in am.routes
    ]
    children += [{"receiver": am.receiver(s), "matchers": [matcher("severity", s)]} for s in levels]
    route: dict[str, Any] = {
        "receiver": am.receiver(levels[0]),
        "matchers": list(SLOGEN_MATCHERS),
        "group_by": list(am.group_by),
    }
    route.update({key: format_duration(seconds) for key, seconds in am.timings})
    route["routes"] = children
    return route


def inhibit_rules(project: Project) -> list[dict[str, Any]]:
    """Hold a ticket back while a page of the same service and SLO fires (when enabled and the
    policies use both severities)."""
    am = settings_of(project)
    levels = severities(project)
    if not am.inhibit_tickets or INHIBIT_SOURCE not in levels or INHIBIT_TARGET not in levels:
        return []
    return [
        {
            "source_matchers": [matcher("severity", INHIBIT_SOURCE), *SLOGEN_MATCHERS],
            "target_matchers": [matcher("severity", INHIBIT_TARGET), *SLOGEN_MATCHERS],
            "equal": ["service", "slo"],
        }
    ]


def fragment(project: Project) -> dict[str, Any]:
    """The whole configuration: a root route around slogen's subtree (the root may have no
    matchers), the inhibition rule, and the receivers as names only (placeholders)."""
    subtree = slogen_route(project)
    config: dict[str, Any] = {
        "route": {"receiver": subtree["receiver"], "routes": [subtree]},
    }
    rules = inhibit_rules(project)
    if rules:
        config["inhibit_rules"] = rules
    config["receivers"] = [{"name": name} for name in receiver_names(project)]
    return config
