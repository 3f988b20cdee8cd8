"""The ``alertmanager:`` block of ``slogen.yaml``: where slogen's Prometheus alerts are delivered.

```yaml
alertmanager:
  receivers: {page: sre-pager, ticket: sre-tickets}   # severity -> receiver name
  routes:                         # optional, first match wins
    - {match: {team: payments, severity: page}, receiver: payments-pager}
  group_by: [service, slo]        # optional (this is the default)
  inhibit_tickets: true           # optional (default)
  group_wait: 30s                 # optional, also group_interval and repeat_interval
                                  #   (default: Alertmanager's, or the parent route's)
```

Every mistake is a located problem recorded through the :class:`~slogen.spec.checks.Checker`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from slogen.errors import Location, did_you_mean
from slogen.spec.checks import LABEL_NAME_RE, RESERVED_LABEL_PREFIX, Checker, Field
from slogen.spec.model import Policy

# Receiver names end up in the user's Alertmanager configuration and in matchers of nothing:
# any string would do for Alertmanager, but names like these survive every tool and template.
RECEIVER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DEFAULT_GROUP_BY = ("service", "slo")
TIMING_KEYS = ("group_wait", "group_interval", "repeat_interval")
KEYS = ("receivers", "routes", "group_by", "inhibit_tickets", *TIMING_KEYS)
INHIBIT_SOURCE, INHIBIT_TARGET = "page", "ticket"
ROUTE_KEYS = ("match", "receiver")  # both required
GROUP_BY_ALL = "..."  # group_by's "every label", alone


def default_receiver(severity: str) -> str:
    """The placeholder receiver of a severity when ``slogen.yaml`` names none."""
    return f"slogen-{severity}"


@dataclass(frozen=True)
class AlertRoute:
    """One configured route: alerts carrying every label of ``match`` go to ``receiver``."""

    match: tuple[tuple[str, str], ...]
    receiver: str
    location: Location = field(default=Location("<unknown>"), compare=False)


@dataclass(frozen=True)
class AlertmanagerSettings:
    receivers: tuple[tuple[str, str], ...] = ()  # (severity, receiver); empty: the defaults
    routes: tuple[AlertRoute, ...] = ()
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    inhibit_tickets: bool = True
    timings: tuple[tuple[str, int], ...] = ()  # (group_wait|group_interval|repeat_interval, s)
    location: Location = field(default=Location("<default>"), compare=False)

    def receiver(self, severity: str) -> str:
        return dict(self.receivers).get(severity, default_receiver(severity))


def policy_severities(policies: Iterable[Policy]) -> tuple[str, ...]:
    """Every severity the policies use, in order of first appearance."""
    seen: list[str] = []
    for policy in policies:
        seen.extend(s for s in policy.severities if s not in seen)
    return tuple(seen)


def read_alertmanager(
    check: Checker, f: Field, policies: Mapping[str, Policy]
) -> AlertmanagerSettings | None:
    """The block, or None when it has errors (recorded in ``check``)."""
    fields = check.mapping(f, KEYS, what="a mapping (how Alertmanager delivers slogen's alerts)")
    if fields is None:
        return None
    errors_before = len(check.problems.errors)
    severities = tuple(sorted(policy_severities(policies.values())))
    receivers: tuple[tuple[str, str], ...] = ()
    if "receivers" in fields:
        receivers = _receivers(check, fields["receivers"], severities)
    routes: list[AlertRoute] = []
    if "routes" in fields:
        routes = _routes(check, fields["routes"], severities)
    group_by = DEFAULT_GROUP_BY
    if "group_by" in fields:
        group_by = _group_by(check, fields["group_by"]) or DEFAULT_GROUP_BY
    inhibit = True
    if "inhibit_tickets" in fields:
        flag = fields["inhibit_tickets"]
        if isinstance(flag.value, bool):
            inhibit = flag.value
        else:
            check.fail(flag, "true or false", "false sends a ticket even while its SLO pages")
    timings = []
    for key in TIMING_KEYS:
        if key in fields:
            seconds = check.duration(fields[key], example="30s, 5m or 4h")
            if seconds is not None:
                timings.append((key, seconds))
    if len(check.problems.errors) > errors_before:
        return None
    return AlertmanagerSettings(receivers, tuple(routes), group_by, inhibit, tuple(timings), f.loc)


def _unknown_severity(check: Checker, f: Field, severity: object, known: tuple[str, ...]) -> None:
    check.problems.error(
        f.loc,
        f.path,
        f"no policy uses the severity {severity!r}, so no alert carries it",
        did_you_mean(str(severity), known, listing="severities the policies use"),
    )


def _receiver_name(check: Checker, f: Field) -> str | None:
    if isinstance(f.value, str) and RECEIVER_RE.match(f.value):
        return f.value
    check.fail(
        f,
        "a receiver name of letters, digits, '.', '_' and '-' (up to 128 characters)",
        "the name of a receiver in your Alertmanager configuration, e.g. sre-pager",
    )
    return None


def _receivers(
    check: Checker, f: Field, severities: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    if not isinstance(f.value, dict) or not f.value:
        check.fail(f, "a mapping of severities to receiver names, such as {page: sre-pager}")
        return ()
    data = f.value
    key_locs = getattr(data, "key_locs", {})
    value_locs = getattr(data, "value_locs", {})
    result = []
    for severity, value in data.items():
        child = Field(value, value_locs.get(severity, f.loc), f.child_path(str(severity)))
        if severity not in severities:
            _unknown_severity(
                check,
                Field(severity, key_locs.get(severity, f.loc), child.path),
                severity,
                severities,
            )
            continue
        name = _receiver_name(check, child)
        if name is not None:
            result.append((severity, name))
    missing = [s for s in severities if s not in data]
    if missing:
        check.problems.error(
            f.loc,
            f.path,
            "no receiver for severit"
            + ("ies " if len(missing) > 1 else "y ")
            + ", ".join(f"'{s}'" for s in missing),
            "every severity a policy uses needs a receiver once receivers are given ("
            + ", ".join(severities)
            + "); otherwise its alerts would reach a placeholder",
        )
    return tuple(sorted(result))


def _routes(check: Checker, f: Field, severities: tuple[str, ...]) -> list[AlertRoute]:
    routes: list[AlertRoute] = []
    seen: dict[tuple[tuple[str, str], ...], Field] = {}
    for item in check.sequence(f, "a list of routes such as {match: {team: x}, receiver: y}"):
        fields = check.mapping(item, ROUTE_KEYS, ROUTE_KEYS)
        if fields is None or "match" not in fields or "receiver" not in fields:
            continue
        mf = fields["match"]
        errors_before = len(check.problems.errors)
        match = check.label_map(mf)
        if not match and len(check.problems.errors) == errors_before:
            check.fail(
                mf,
                "at least one label to match, such as {team: payments}",
                "a route without labels would take every alert before the severity routes",
            )
        for label, value in match:
            if label == "severity" and value not in severities:
                loc = getattr(mf.value, "value_locs", {}).get(label, mf.loc)
                _unknown_severity(check, Field(value, loc, mf.child_path(label)), value, severities)
        receiver = _receiver_name(check, fields["receiver"])
        if len(check.problems.errors) > errors_before or receiver is None:
            continue
        if match in seen:
            check.problems.error(
                mf.loc,
                mf.path,
                f"the same labels as the route at line {seen[match].loc.line}, which takes "
                "every alert this one would",
                "Alertmanager stops at the first matching route; remove one of them",
            )
            continue
        seen[match] = mf
        routes.append(AlertRoute(match, receiver, item.loc))
    return routes


def _group_by(check: Checker, f: Field) -> tuple[str, ...] | None:
    labels = check.string_list(
        f,
        "a list of label names such as [service, slo]",
        lambda s: (
            s == GROUP_BY_ALL
            or (bool(LABEL_NAME_RE.match(s)) and not s.startswith(RESERVED_LABEL_PREFIX))
        ),
        "a label name matching [a-zA-Z_][a-zA-Z0-9_]*, or '...' alone (group by every label)",
    )
    if labels is None:
        return None
    if not labels:
        check.fail(f, "a list of at least one label name", "omit group_by for [service, slo]")
        return None
    if GROUP_BY_ALL in labels and len(labels) > 1:
        check.fail(f, "'...' alone, or label names without it", "'...' already means every label")
        return None
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        check.fail(f, "each label once", "remove the repeated " + ", ".join(duplicates))
        return None
    return labels
