"""``slogen status``: where each SLO stands now, from the same history the backtest reads.

A status is a backtest collapsed onto its last evaluation: the SLO's attainment and error
budget over its compliance window ``P`` ending now, and for every tier of its policy the burn
rates over the tier's two windows and whether the alert fires. The burn rates and the firing
condition come from :mod:`.replay` (the samples the backend's ranges hold, the threshold as the
alert writes it, ``min_events``), so the status shows what the alert sees rather than a second
opinion of it; attainment and budget come from :mod:`.analysis`, as in the backtest.

History is read from ``now − P − L`` (``L``: the longest long window of the SLO's tiers) so that
every window is full at the last evaluation. SLOs are read in groups of one compliance window,
each group once per backend, so a 7-day SLO does not pay for a 90-day neighbour's range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from slogen.backends.contract import HistoryReader
from slogen.backtest import analysis
from slogen.backtest.history import History
from slogen.backtest.replay import Windows, firing_spans, threshold_number
from slogen.backtest.run import Progress, align, read_all
from slogen.backtest.timespec import rfc3339
from slogen.engine import TierMath, analyse_slo
from slogen.spec.model import SLO, Project, Service

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SeriesBurn:
    """One label set's view of one tier at the last evaluation (the alert is per label set).

    Ratios are error ratios as the backend divides them (None: the window has no value, so the
    alert cannot fire; ±Inf and NaN as PromQL gives them); burn rates are ``ratio / (1 − o)``.
    ``since``: when the current firing began (the first evaluation of the unbroken run that
    reaches now, at most ``P`` back); None when not firing.
    """

    labels: Labels
    long_ratio: float | None
    short_ratio: float | None
    long_burn: float | None
    short_burn: float | None
    long_events: float | None
    firing: bool
    since: int | None


@dataclass(frozen=True)
class TierStatus:
    math: TierMath
    threshold: float  # the error ratio the alert compares with, as it writes it
    series: tuple[SeriesBurn, ...]

    @property
    def burn_threshold(self) -> float:
        """The tier's burn rate: the multiple of the sustainable error ratio that fires it."""
        return float(self.math.burn_rate)

    @property
    def firing(self) -> bool:
        return any(s.firing for s in self.series)

    @property
    def firing_series(self) -> tuple[SeriesBurn, ...]:
        return tuple(s for s in self.series if s.firing)

    @property
    def worst(self) -> SeriesBurn | None:
        """The label set nearest to (or furthest into) firing: firing first, then by the
        smaller of its two burn rates, since the alert needs both above the threshold."""
        if not self.series:
            return None

        def key(s: SeriesBurn) -> tuple[bool, float]:
            burns = [b for b in (s.long_burn, s.short_burn) if b is not None and b == b]
            return (s.firing, min(burns) if len(burns) == 2 else float("-inf"))

        return max(self.series, key=key)


@dataclass(frozen=True)
class SLOStatus:
    """One SLO from one backend's history, at ``at`` (the last evaluation)."""

    service: str
    slo: str
    backend: str
    source: str  # how the backend's samples were read (Semantics.name)
    policy: str
    objective: Fraction  # percent, 99.9
    window: int  # the compliance window P, seconds
    min_events: int | None
    at: int
    since: int  # start of the window: the events counted are those of (since, at]
    total_events: float
    error_events: float
    attainment: float | None  # None: no events in the window
    budget_left: float | None  # 1 − spent; negative when overspent
    tiers: tuple[TierStatus, ...]
    notes: tuple[str, ...] = ()

    @property
    def allowed_errors(self) -> float:
        return float(1 - self.objective / 100) * self.total_events

    @property
    def firing(self) -> tuple[str, ...]:
        """The ids of the tiers firing now."""
        return tuple(t.math.id for t in self.tiers if t.firing)

    @property
    def series_count(self) -> int:
        return max((len(t.series) for t in self.tiers), default=0)


@dataclass(frozen=True)
class Status:
    at: int
    slos: tuple[SLOStatus, ...]
    unread: tuple[tuple[str, str, str, str], ...] = ()  # (service, slo, backend, why)
    notes: tuple[str, ...] = ()  # backends left out, and why
    requests: int = 0


def index_of(history: History, when: int) -> int:
    return (when - history.start) // history.semantics.step


def series_burn(
    windows: Windows,
    math_: TierMath,
    min_events: int | None,
    history: History,
    first: int,
    last: int,
    labels: Labels,
) -> SeriesBurn:
    """The tier's numbers for one label set at index ``last``; ``first`` bounds how far back
    the start of a firing is looked for."""
    budget = float(1 - math_.target)
    long_ratio = windows.ratio(last, math_.long)
    short_ratio = windows.ratio(last, math_.short)
    step = history.semantics.step

    def fires(index: int) -> bool:
        spans = firing_spans(windows, math_, min_events, index, index, history.start, step)
        return bool(spans)

    firing = last >= 0 and fires(last)
    since = None
    if firing:
        began = last
        while began > first and fires(began - 1):
            began -= 1
        since = history.time(began)
    return SeriesBurn(
        labels,
        long_ratio,
        short_ratio,
        None if long_ratio is None else long_ratio / budget,
        None if short_ratio is None else short_ratio / budget,
        windows.events(last, math_.long),
        firing,
        since,
    )


def slo_status(service: Service, slo: SLO, history: History, at: int) -> SLOStatus:
    """The status of one SLO at ``at`` (a multiple of the history's step) from its history."""
    step = history.semantics.step
    at = align(at, step)
    since = at - slo.window
    last = min(history.length - 1, index_of(history, at))
    first = max(0, -(-(since - history.start) // step))
    events = analysis.Events.of(history)
    # budget() counts the events of (t_first, t_last]: the window P ending now, exactly.
    figures = analysis.budget(events, first, last, float(1 - slo.target), slo.window)
    maths = analyse_slo(slo)
    windows = [(s.labels, Windows(s, history.semantics)) for s in history.series]
    tiers = tuple(
        TierStatus(
            math_,
            threshold_number(math_),
            tuple(
                series_burn(w, math_, slo.alerting.min_events, history, first, last, labels)
                for labels, w in windows
            ),
        )
        for math_ in maths
    )
    notes = list(history.notes)
    if last < index_of(history, at):
        notes.append(f"the history read ends at {rfc3339(history.time(last))}, before now")
    return SLOStatus(
        service=service.name,
        slo=slo.name,
        backend=history.backend,
        source=history.semantics.name,
        policy=slo.policy.name,
        objective=slo.objective,
        window=slo.window,
        min_events=slo.alerting.min_events,
        at=at,
        since=since,
        total_events=figures.total,
        error_events=figures.errors,
        attainment=figures.attainment,
        budget_left=None if figures.spent is None else 1 - figures.spent,
        tiers=tiers,
        notes=tuple(notes),
    )


def by_window(project: Project) -> list[tuple[int, Project]]:
    """The project split into one sub-project per compliance window (in first-seen order)."""
    windows = list(dict.fromkeys(slo.window for _, slo in project.slos()))
    out = []
    for window in windows:
        services = []
        for service in project.services:
            slos = tuple(o for o in service.slos if o.window == window)
            if slos:
                services.append(dataclasses.replace(service, slos=slos))
        out.append((window, dataclasses.replace(project, services=tuple(services))))
    return out


def status(
    project: Project,
    readers: Mapping[str, HistoryReader],
    now: float,
    notes: Sequence[str] = (),
    progress: Progress | None = None,
) -> Status:
    """Every SLO the readers can serve, at the last whole minute before ``now``."""
    at = align(int(now))
    histories: dict[tuple[str, str, str], History] = {}
    unread: list[tuple[str, str, str, str]] = []
    for window, part in by_window(project):
        found, missing = read_all(part, readers, at - window, at, (), progress)
        histories.update(found)
        unread += missing
    out = []
    for service, slo in project.slos():
        for backend in readers:
            history = histories.get((service.name, slo.name, backend))
            if history is not None:
                out.append(slo_status(service, slo, history, at))
    return Status(
        at,
        tuple(out),
        tuple(unread),
        tuple(notes),
        sum(h.requests for h in histories.values()),
    )
