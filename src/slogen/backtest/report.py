"""What a backtest found, as data: the renderers (text, JSON, plot) only format it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from fractions import Fraction

from slogen.engine import TierMath

WEEK = 7 * 86400

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Firing:
    """One firing of one tier (of one label set), ``[start, end)`` in epoch seconds."""

    start: int
    end: int | None  # None: still firing at the end of the span
    labels: Labels
    budget_spent: float | None  # share of the period's budget failed while it fired
    peak_share: float | None  # largest share spent over the long window until it resolved
    detection: int | None  # seconds from the start of the burn
    noise: bool | None  # None: no traffic to judge by

    def duration(self, until: int) -> int:
        return (until if self.end is None else self.end) - self.start


@dataclass(frozen=True)
class Miss:
    """A span in which ``tier``'s budget share was spent over its long window while no tier of
    its severity fired."""

    severity: str
    tier: str
    start: int
    end: int | None
    peak_share: float  # the largest share of the period's budget spent over the long window
    budget: Fraction  # the tier's share


@dataclass(frozen=True)
class TierOutcome:
    math: TierMath
    threshold: float  # as the alert writes it
    firings: tuple[Firing, ...]

    def seconds_firing(self, until: int) -> int:
        return sum(f.duration(until) for f in self.firings)


@dataclass(frozen=True)
class Curve:
    """Per step over the span (for the plot), all label sets together: the estimated failed
    and total events, and their ratio (None without traffic)."""

    times: tuple[int, ...]
    ratios: tuple[float | None, ...]
    errors: tuple[float, ...] = ()
    totals: tuple[float, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """One SLO replayed from one backend's history under one policy."""

    service: str
    slo: str
    backend: str
    policy: str
    source: str  # how the backend's samples were read (Semantics.name)
    objective: Fraction
    period: int
    start: int
    end: int
    total_events: float
    error_events: float
    attainment: float | None
    budget_spent: float | None
    period_budget: float | None
    min_events: int | None
    tiers: tuple[TierOutcome, ...]
    misses: tuple[Miss, ...]
    notes: tuple[str, ...] = ()
    requests: int = 0
    curve: Curve | None = field(default=None, compare=False)

    @property
    def weeks(self) -> float:
        return (self.end - self.start) / WEEK

    def firings(self, severity: str | None = None) -> list[Firing]:
        return [
            f
            for t in self.tiers
            if severity is None or t.math.severity == severity
            for f in t.firings
        ]

    @property
    def severities(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.math.severity for t in self.tiers))

    @property
    def noise(self) -> int:
        return sum(1 for f in self.firings() if f.noise)

    @property
    def median_detection(self) -> float | None:
        found = [f.detection for f in self.firings() if f.detection is not None]
        return statistics.median(found) if found else None


@dataclass(frozen=True)
class Report:
    start: int
    end: int
    policies: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    unread: tuple[tuple[str, str, str, str], ...] = ()  # (service, slo, backend, why)
    requests: int = 0

    def compared(self) -> bool:
        return len(self.policies) > 1
