"""``alerting.no_traffic``: the opt-in alert on an SLI whose total has stopped counting events.

Two spellings, because most specs only want the duration::

    no_traffic: 15m                          # severity: the policy's first (most urgent) one
    no_traffic: {for: 15m, severity: ticket}

The duration is a whole number of minutes: every backend evaluates once a minute at best
(Prometheus rule groups, CloudWatch periods of a minute or more, Datadog windows in minutes), so
a shorter or fractional one could not mean what it says. The severity must be one the SLO's
policy uses: only those have notification blocks in ``alerting`` (and routing labels), so any
other severity would alert nobody. Each backend's ``validate`` checks its own limits on top.
"""

from __future__ import annotations

from slogen.spec.checks import Checker, Field
from slogen.spec.model import NoTraffic, Policy

EXAMPLE = "15m, or a mapping such as {for: 15m, severity: page}"
KEYS = ("for", "severity")  # of the mapping form
REQUIRED = ("for",)


def read_no_traffic(check: Checker, f: Field, policy: Policy | None) -> NoTraffic | None:
    """The no-traffic alert at ``f`` (``policy``: the SLO's, None when it failed to resolve and
    the severity cannot be checked); None after reporting problems."""
    severity_field: Field | None = None
    if isinstance(f.value, dict):
        fields = check.mapping(f, KEYS, REQUIRED)
        if fields is None or "for" not in fields:
            return None
        duration_field = fields["for"]
        severity_field = fields.get("severity")
    elif isinstance(f.value, str):
        duration_field = f
    else:
        check.fail(f, "a duration or a mapping", f"write e.g. {EXAMPLE}")
        return None
    duration = check.duration(duration_field, "wdhms", EXAMPLE)
    if duration is not None and duration % 60:
        check.problems.error(
            duration_field.loc,
            duration_field.path,
            f"expected a whole number of minutes, found {duration_field.value!r}",
            "alerts are evaluated once a minute; write e.g. 15m or 1h",
        )
        duration = None
    severity = _severity(check, severity_field, policy)
    if duration is None or severity is None:
        return None
    return NoTraffic(duration, severity, f.loc)


def _severity(check: Checker, f: Field | None, policy: Policy | None) -> str | None:
    if policy is None:
        return None
    if f is None:
        return policy.severities[0]
    name = check.name(f, "a severity")
    if name is None:
        return None
    if name not in policy.severities:
        check.problems.error(
            f.loc,
            f.path,
            f"policy '{policy.name}' has no '{name}' severity, so no notification block "
            "would route this alert",
            f"use one of the policy's severities: {', '.join(policy.severities)}",
        )
        return None
    return name
