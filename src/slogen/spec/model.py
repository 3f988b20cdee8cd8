"""The one internal model every input format loads into and every backend renders from.

Plain frozen dataclasses: durations are whole seconds, percentages and objectives are exact
fractions, and every object remembers where in which file it came from so later stages can
report problems precisely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING

from slogen.errors import Location
from slogen.spec.traffic import ExpectedTraffic

if TYPE_CHECKING:
    from slogen.alertmanager.settings import AlertmanagerSettings

CATEGORIES = (
    "availability",
    "latency",
    "quality",
    "freshness",
    "correctness",
    "coverage",
    "durability",
)


@dataclass(frozen=True)
class Tier:
    """One alerting tier of a policy: fire at ``severity`` when ``budget`` of the error budget
    would be spent within ``long`` seconds (checked over ``long`` and ``short`` windows)."""

    severity: str
    budget: Fraction  # share of the error budget, 0.02 for "2%"
    long: int  # seconds
    short: int  # seconds
    location: Location = field(default=Location("<built-in>"), compare=False)

    @cached_property
    def id(self) -> str:
        from slogen.durations import format_duration

        return f"{self.severity}-{format_duration(self.long)}"


@dataclass(frozen=True)
class Policy:
    name: str
    tiers: tuple[Tier, ...]
    location: Location = field(default=Location("<built-in>"), compare=False)

    @property
    def severities(self) -> tuple[str, ...]:
        seen: list[str] = []
        for tier in self.tiers:
            if tier.severity not in seen:
                seen.append(tier.severity)
        return tuple(seen)


class _ByBackend:
    """Per-backend entries, read as ``obj.source(name)`` or as an attribute ``obj.<backend>``.

    The model does not know which backends exist (the registry does); an attribute that is a
    registered backend's name reads that backend's entry, or ``self._absent`` when none.
    """

    _absent: object = None
    entries: tuple[tuple[str, object], ...]

    def _entry(self, backend: str) -> object:
        for name, value in self.entries:
            if name == backend:
                return value
        return self._absent

    def __getattr__(self, name: str) -> object:
        from slogen.backends.registry import NAMES

        if name in NAMES:
            return self._entry(name)
        raise AttributeError(name)


@dataclass(frozen=True, init=False)
class Indicator(_ByBackend):
    """The SLI's source per backend, in the order the spec gives them."""

    entries: tuple[tuple[str, object], ...]

    def __init__(self, entries: tuple[tuple[str, object], ...] = (), **sources: object):
        merged = tuple(entries) + tuple((k, v) for k, v in sources.items() if v is not None)
        object.__setattr__(self, "entries", merged)

    def source(self, backend: str) -> object | None:
        return self._entry(backend)

    @property
    def backends(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.entries)


@dataclass(frozen=True, init=False)
class Notify(_ByBackend):
    """Where alerts of one severity go, per backend: recipients (Datadog handles, SNS topic
    ARNs) or routing labels (Prometheus), as the backend's capabilities declare."""

    _absent = ()
    entries: tuple[tuple[str, object], ...]

    def __init__(self, entries: tuple[tuple[str, object], ...] = (), **routes: object):
        merged = tuple(entries) + tuple((k, v) for k, v in routes.items() if v)
        object.__setattr__(self, "entries", merged)

    def route(self, backend: str) -> tuple:
        return self._entry(backend)  # type: ignore[return-value]


NO_TRAFFIC_TIER = "no-traffic"  # never a policy tier's id, which is <severity>-<duration>


@dataclass(frozen=True)
class NoTraffic:
    """``alerting.no_traffic``: alert at ``severity`` when the SLI's total has seen no events
    for ``duration`` seconds. The ratio tiers treat missing data as healthy (no traffic is no
    error), so without this a service that stops receiving requests, or whose metrics vanish,
    alerts nowhere."""

    duration: int  # seconds, a whole number of minutes
    severity: str  # one the SLO's policy uses, so its notification block routes it
    location: Location = field(default=Location("<unknown>"), compare=False)

    id = NO_TRAFFIC_TIER


@dataclass(frozen=True)
class Alerting:
    policy: str | None = None  # None: project default
    min_events: int | None = None
    runbook: str | None = None
    notify: tuple[tuple[str, Notify], ...] = ()  # (severity, Notify)
    no_traffic: NoTraffic | None = None  # opt-in alert on a silent total

    def for_severity(self, severity: str) -> Notify:
        for name, notify in self.notify:
            if name == severity:
                return notify
        return Notify()


# Where a resolved value of an SLO came from (see :class:`Origin`).
FROM_SPEC, FROM_CLASS, FROM_BUILTIN_CLASS, FROM_DEFAULT = (
    "spec",
    "class",
    "built-in class",
    "project default",
)


@dataclass(frozen=True)
class Origin:
    """Where one resolved value of an SLO came from: the spec itself, a request class (one of
    ``slogen.yaml``'s or a built-in one) or the project's defaults. Kept for ``slogen explain``
    only: two SLOs that resolve to the same values build the same alerts, so origins are never
    part of equality."""

    source: str  # FROM_SPEC, FROM_CLASS, FROM_BUILTIN_CLASS or FROM_DEFAULT
    request_class: str | None = None
    location: Location | None = None

    def describe(self) -> str:
        """How ``slogen explain`` names it: "class `LOW` from slogen.yaml"."""
        if self.source == FROM_CLASS:
            return f"class `{self.request_class}` from slogen.yaml"
        if self.source == FROM_BUILTIN_CLASS:
            return f"built-in class `{self.request_class}`"
        return self.source


@dataclass(frozen=True)
class SLO:
    name: str
    objective: Fraction  # percent, e.g. 99.9
    window: int  # seconds
    indicator: Indicator
    policy: Policy
    alerting: Alerting = Alerting()
    description: str = ""
    category: str | None = None
    location: Location = field(default=Location("<unknown>"), compare=False)
    traffic: ExpectedTraffic | None = None  # expected events per period (explain only)
    # The request class (`class:`) the SLO took defaults from, and where each of objective,
    # window, policy and min_events came from (and, under "class", where the class is
    # defined); explain only, like the location.
    request_class: str | None = field(default=None, compare=False)
    origins: tuple[tuple[str, Origin], ...] = field(default=(), compare=False)

    @property
    def target(self) -> Fraction:
        """The objective as a fraction (99.9 → 0.999)."""
        return self.objective / 100


@dataclass(frozen=True)
class ExemptSLO:
    """A spec entry whose request class builds no alerts (the Workbook's ``NO_SLO``).

    It is checked like any SLO, but it is not an :class:`SLO`: with no tiers there is nothing
    for a backend to render, and without an objective no error budget to render it against. So
    it stays out of ``Service.slos``, which every backend reads, and ``validate`` and
    ``explain`` say that nothing is built for it. What the entry gives is kept, so that moving
    it to a class that alerts later changes one line."""

    name: str
    request_class: str
    description: str = ""
    category: str | None = None
    objective: Fraction | None = None  # percent, when the entry gives one
    window: int | None = None  # seconds, when the entry gives one
    indicator: Indicator | None = None
    location: Location = field(default=Location("<unknown>"), compare=False)
    origin: Origin | None = field(default=None, compare=False)  # where the class is defined


@dataclass(frozen=True)
class Document:
    """A service's ``document:`` block: who wrote and approved its SLOs, when they are next
    reviewed, and what happens when the error budget runs out.

    Nothing is generated from it for any backend; ``slogen docs`` writes it into the service's
    SLO document and ``validate`` warns once the review date has passed. It is part of the
    spec's content, so it takes part in equality like the SLOs do.
    """

    authors: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()
    approved: date | None = None
    review: date | None = None  # the next review
    escalation: tuple[str, ...] = ()  # who decides once the budget is spent, in order
    budget_exhausted: tuple[str, ...] = ()  # what the team does then
    satisfaction: tuple[str, ...] = ()  # how user satisfaction is known (text or URLs)
    overview: str | None = None  # None: the service's description
    location: Location = field(default=Location("<unknown>"), compare=False)


@dataclass(frozen=True)
class Service:
    name: str
    slos: tuple[SLO, ...]
    description: str = ""
    owner: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    location: Location = field(default=Location("<unknown>"), compare=False)
    exempt: tuple[ExemptSLO, ...] = ()  # entries of a class without alerts (NO_SLO)
    document: Document | None = None  # the `document:` block, for `slogen docs`


@dataclass(frozen=True)
class Target:
    """Where one backend's output lives (``files`` directory, ``api`` endpoint...)."""

    backend: str
    type: str
    options: tuple[tuple[str, object], ...] = ()
    location: Location = field(default=Location("<default>"), compare=False)

    def option(self, name: str, default: object = None) -> object:
        return dict(self.options).get(name, default)


@dataclass(frozen=True)
class Project:
    services: tuple[Service, ...]
    policies: tuple[Policy, ...]
    default_policy: str
    targets: tuple[Target, ...]
    config_file: str | None = None
    alertmanager: AlertmanagerSettings | None = None  # slogen.yaml's block; None: defaults
    # Whose objects these are (slogen.yaml's `project:`, else from the directory): written into
    # every ownership marker, so that two projects sharing an account never touch each other's.
    project: str | None = None

    def slos(self):
        for service in self.services:
            for slo in service.slos:
                yield service, slo

    def target(self, backend: str) -> Target:
        for target in self.targets:
            if target.backend == backend:
                return target
        raise KeyError(backend)
