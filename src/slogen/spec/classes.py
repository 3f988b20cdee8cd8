"""Request classes: named presets of an SLO's objective, window, alerting policy and paging.

A project with hundreds of request types cannot tune each one's alerting by hand. The SRE
Workbook (ch. 5, "Alerting on SLOs", section "Alerting at Scale") groups request types into a
few classes of similar requirements and gives every class the same targets and alerting, so a
spec says ``class: HIGH_SLOW`` instead of repeating them. What the spec gives itself still wins.

``slogen.yaml`` may define classes under ``classes:`` (a class there replaces the built-in one of
the same name as a whole: keys it leaves out are not taken from the built-in). Problems are
recorded through the :class:`~slogen.spec.checks.Checker`, with their locations.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction

from slogen.errors import Location, did_you_mean
from slogen.spec.checks import (
    MIN_EVENTS_AT_LEAST,
    OBJECTIVE_ABOVE,
    OBJECTIVE_BELOW,
    WINDOW_UNITS,
    Checker,
    Field,
)
from slogen.spec.model import FROM_BUILTIN_CLASS, FROM_CLASS, Origin, Policy

CLASS_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
CLASS_KEYS = ("description", "objective", "window", "policy", "min_events", "pages", "alerts")
# What a class without alerts may still say; everything else would never be used.
SILENT_KEYS = ("description", "alerts")
FLAG_KEYS = ("pages", "alerts")  # true or false
TICKET = "ticket"  # the severity a class that does not page delivers every tier at
DAYS_30 = 30 * 86400
BUILTIN = Location("<built-in>")


@dataclass(frozen=True)
class RequestClass:
    """One class: defaults for the SLOs that name it (None: the class does not set it)."""

    name: str
    description: str = ""
    objective: Fraction | None = None  # percent
    window: int | None = None  # seconds
    policy: str | None = None  # a policy name; None: the project's default policy
    min_events: int | None = None
    pages: bool = True  # False: every tier of the policy is delivered as a ticket
    alerts: bool = True  # False: SLOs of this class build nothing (NO_SLO)
    # (percentile, threshold) from the Workbook's table: guidance shown by explain, never used
    # to build anything, since a threshold cannot change the SLI's query (see BUILTIN_CLASSES).
    latency: tuple[tuple[str, str], ...] = ()
    builtin: bool = False
    location: Location = field(default=BUILTIN, compare=False)
    locations: tuple[tuple[str, Location], ...] = field(default=(), compare=False)  # per key

    def origin(self, key: str | None = None) -> Origin:
        """Where ``key`` of this class is set (the class itself without ``key``)."""
        where = dict(self.locations).get(key, self.location) if key else self.location
        return Origin(FROM_BUILTIN_CLASS if self.builtin else FROM_CLASS, self.name, where)


# The Workbook's request classes ("Alerting at Scale", the table of request classes): per
# class an availability target and latency thresholds for the 90th and 99th percentiles.
#   CRITICAL   99.99%   90% < 100 ms    99% < 200 ms    (e.g. a user logging in)
#   HIGH_FAST  99.9%    90% < 100 ms    99% < 200 ms
#   HIGH_SLOW  99.9%    90% < 1,000 ms  99% < 5,000 ms
#   LOW        99%      none            none            (outages mostly invisible to users)
#   NO_SLO     none     none            none            (invisible to users: probes, canaries)
# The objectives are the table's availability targets over 30 days, the window the workbook
# policy's burn rates are computed for (its 10%-in-3d ticket is burn rate 1 only there). The
# paging classes get that policy; LOW gets tickets only, as nobody needs waking for it. The
# latency thresholds cannot be applied: a latency SLI's threshold is in its query (the histogram
# bucket it counts), so they are shown by `slogen explain` as guidance only.
BUILTIN_CLASSES: dict[str, RequestClass] = {
    c.name: c
    for c in (
        RequestClass(
            "CRITICAL",
            "the most important requests, such as a user logging in",
            Fraction(9999, 100),
            DAYS_30,
            "workbook",
            latency=(("p90", "100ms"), ("p99", "200ms")),
            builtin=True,
        ),
        RequestClass(
            "HIGH_FAST",
            "requests that must be available and fast",
            Fraction(999, 10),
            DAYS_30,
            "workbook",
            latency=(("p90", "100ms"), ("p99", "200ms")),
            builtin=True,
        ),
        RequestClass(
            "HIGH_SLOW",
            "requests that must be available but may be slower",
            Fraction(999, 10),
            DAYS_30,
            "workbook",
            latency=(("p90", "1000ms"), ("p99", "5000ms")),
            builtin=True,
        ),
        RequestClass(
            "LOW",
            "requests whose outages are mostly invisible to users: tickets, never pages",
            Fraction(99),
            DAYS_30,
            "tickets-only",
            pages=False,
            builtin=True,
        ),
        RequestClass(
            "NO_SLO",
            "requests invisible to users (probes, canaries): no SLO, no alerts",
            alerts=False,
            builtin=True,
        ),
    )
}


def ticket_variant(policy: Policy) -> tuple[Policy | None, str]:
    """``policy`` with every tier delivered as a ticket (what ``pages: false`` selects), or
    None and why not. Budgets and windows stay, so each tier catches exactly the burns it
    caught before and fires no sooner: only who is told changes."""
    if all(tier.severity == TICKET for tier in policy.tiers):
        return policy, ""
    tiers = tuple(replace(tier, severity=TICKET) for tier in policy.tiers)
    ids = [tier.id for tier in tiers]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        return None, (
            f"as tickets, policy '{policy.name}' would have tier '{twice[0]}' twice (tiers are "
            "identified by severity and long window)"
        )
    return Policy(f"{policy.name} (tickets only)", tiers, policy.location), ""


def class_hint(name: str, classes: dict[str, RequestClass]) -> str:
    """A did-you-mean for an unknown class name, forgiving case (``high_slow``)."""
    upper = {c.upper(): c for c in classes}
    if name.upper() in upper:
        return f"did you mean '{upper[name.upper()]}'? (class names are upper case)"
    close = difflib.get_close_matches(name.upper(), sorted(upper), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{upper[close[0]]}'?"
    return "known classes: " + ", ".join(sorted(classes))


class ClassReader:
    """Reads ``slogen.yaml``'s ``classes:`` against the project's policies."""

    def __init__(self, check: Checker, policies: dict[str, Policy], broken: frozenset[str]):
        self.check = check
        self.policies = policies
        self.broken_policies = broken
        self.broken: set[str] = set()  # classes defined with errors (already reported)

    def read(self, f: Field) -> dict[str, RequestClass]:
        """The built-in classes, replaced or joined by the block's."""
        classes = dict(BUILTIN_CLASSES)
        if not isinstance(f.value, dict):
            self.check.fail(f, "a mapping of class names to classes, e.g. {LOW: {objective: 99}}")
            return classes
        for name, value in f.value.items():
            key = Field(name, f.value.key_locs[name], f.child_path(name))
            if not isinstance(name, str) or not CLASS_NAME_RE.match(name):
                self.check.fail(
                    key,
                    "a class name of upper-case letters, digits and '_'",
                    "e.g. HIGH_SLOW, as the SRE Workbook names its request classes",
                )
                continue
            read = self.one(name, Field(value, f.value.value_locs[name], key.path), key.loc)
            if read is None:
                self.broken.add(name)
                classes.pop(name, None)
            else:
                classes[name] = read
        return classes

    def one(self, name: str, f: Field, where: Location) -> RequestClass | None:
        """One class (``where``: its name's location); None after any problem, an unknown key
        included, so that its SLOs are not reported again for what the class got wrong."""
        errors_before = len(self.check.problems.errors)
        fields = self.check.mapping(
            f, CLASS_KEYS, what="a mapping (objective, window, policy, min_events, pages, alerts)"
        )
        if fields is None:
            return None
        values: dict[str, object] = {}
        ok = True
        for key, field_ in fields.items():
            value = self.value(key, field_)
            ok &= value is not None
            values[key] = value
        if not ok:
            return None
        if values.get("alerts") is False:
            for key in fields:
                if key not in SILENT_KEYS:
                    self.check.problems.error(
                        fields[key].loc,
                        fields[key].path,
                        f"class '{name}' has 'alerts: false', so its '{key}' would never be used",
                        f"remove '{key}', or remove 'alerts: false'",
                    )
                    ok = False
        policy = values.get("policy")
        if ok and values.get("pages") is False and isinstance(policy, str):
            _variant, why = ticket_variant(self.policies[policy])
            if why:
                pf = fields["pages"]
                self.check.problems.error(
                    pf.loc, pf.path, why, "give the class a policy without that clash"
                )
                ok = False
        if not ok or len(self.check.problems.errors) > errors_before:
            return None
        return RequestClass(
            name,
            str(values.get("description", "")),
            values.get("objective"),  # type: ignore[arg-type]
            values.get("window"),  # type: ignore[arg-type]
            policy if isinstance(policy, str) else None,
            values.get("min_events"),  # type: ignore[arg-type]
            values.get("pages", True) is not False,
            values.get("alerts", True) is not False,
            location=where,
            locations=tuple((key, fld.loc) for key, fld in fields.items()),
        )

    def value(self, key: str, f: Field) -> object | None:
        """One key of a class, checked as the same key of an SLO is; None after a problem."""
        check = self.check
        if key == "description":
            return check.string(f)
        if key == "objective":
            objective = check.number(f, "a percentage between 0 and 100, such as 99.9")
            if objective is not None and not OBJECTIVE_ABOVE < objective < OBJECTIVE_BELOW:
                check.fail(f, "a percentage between 0 and 100 (exclusive), such as 99.9")
                return None
            return objective
        if key == "window":
            return check.duration(f, WINDOW_UNITS, "30d, 4w or 720h")
        if key == "min_events":
            return check.integer(f, MIN_EVENTS_AT_LEAST)
        if key in FLAG_KEYS:
            if isinstance(f.value, bool):
                return f.value
            check.fail(f, "true or false")
            return None
        name = check.name(f, "a policy name")
        if name is None or name in self.broken_policies:
            return None
        if name not in self.policies:
            check.problems.error(
                f.loc,
                f.path,
                f"unknown policy '{name}'",
                did_you_mean(name, self.policies, listing="known policies"),
            )
            return None
        return name
