"""The backtest as a whole: read each backend's history once, replay every policy over it, judge.

History is read from ``start − L`` (``L`` the longest long window of every policy replayed) so
every window is full at the first evaluation; the span itself is ``(start, end]`` on whole
minutes. One read serves every policy: ``--policy`` only changes the tiers replayed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from slogen.backends.contract import HistoryReader
from slogen.backtest import analysis
from slogen.backtest.history import STEP, History
from slogen.backtest.replay import Span, Windows, replay, threshold_number, windows_of
from slogen.backtest.report import Curve, Firing, Miss, Outcome, Report, TierOutcome
from slogen.engine import analyse_slo
from slogen.errors import SlogenError, did_you_mean
from slogen.spec.model import SLO, Policy, Project, Service
from slogen.spec.settings import BUILTIN_POLICIES, CLASS_POLICIES

Progress = Callable[[str, int, int], None]  # (backend, requests done, requests planned)


def resolve_policies(project: Project, names: Sequence[str]) -> list[Policy]:
    """The policies ``--policy`` names, from slogen.yaml or built in (unknown: an error)."""
    known = {**BUILTIN_POLICIES, **CLASS_POLICIES, **{p.name: p for p in project.policies}}
    out: list[Policy] = []
    for name in names:
        if name not in known:
            raise SlogenError(
                f"no policy named '{name}'",
                hint=did_you_mean(name, known, "policies (slogen.yaml's and built-in)"),
            )
        if known[name] not in out:
            out.append(known[name])
    return out


def lookback(project: Project, policies: Sequence[Policy]) -> int:
    """The longest window any replayed tier reads."""
    windows = [t.long for _, slo in project.slos() for t in slo.policy.tiers]
    windows += [t.long for p in policies for t in p.tiers]
    return max(windows, default=0)


def align(when: int, step: int = STEP) -> int:
    return when // step * step


def read_all(
    project: Project,
    readers: Mapping[str, HistoryReader],
    start: int,
    end: int,
    policies: Sequence[Policy],
    progress: Progress | None = None,
) -> tuple[dict[tuple[str, str, str], History], list[tuple[str, str, str, str]]]:
    """Every SLO's history from every reader: ``{(service, slo, backend): History}`` and what
    could not be read, with why."""
    since = align(start) - lookback(project, policies)
    until = align(end)
    histories: dict[tuple[str, str, str], History] = {}
    unread: list[tuple[str, str, str, str]] = []
    for backend, reader in readers.items():
        wanted = [(s, o) for s, o in project.slos() if o.indicator.source(backend) is not None]
        if not wanted:
            continue
        report = None if progress is None else _bound(progress, backend)
        found = reader.read(wanted, since, until, report)
        for service, slo in wanted:
            got = found.get((service.name, slo.name))
            if isinstance(got, History) and got.series:
                histories[(service.name, slo.name, backend)] = got
            else:
                why = got if isinstance(got, str) else "the queries returned no series"
                unread.append((service.name, slo.name, backend, why))
    return histories, unread


def _bound(progress: Progress, backend: str) -> Callable[[int, int], None]:
    return lambda done, planned: progress(backend, done, planned)


@dataclass(frozen=True)
class Prepared:
    """What replaying a history under any policy starts from, computed once per history."""

    events: analysis.Events
    windows: list[Windows]

    @classmethod
    def of(cls, history: History) -> Prepared:
        return cls(analysis.Events.of(history), windows_of(history))


def outcome(
    service: Service,
    slo: SLO,
    history: History,
    start: int,
    end: int,
    policy: Policy | None,
    prepared: Prepared | None = None,
) -> Outcome:
    """Replay and judge one SLO's history under ``policy`` (None: the SLO's own);
    ``prepared``: the history's :class:`Prepared`, when several policies replay it."""
    prepared = prepared or Prepared.of(history)
    if policy is not None and policy != slo.policy:
        slo = dataclasses.replace(slo, policy=policy)
    maths = analyse_slo(slo)
    step = history.semantics.step
    first = max(0, -(-(align(start, step) - history.start) // step))
    last = min(history.length - 1, (align(end, step) - history.start) // step)
    fired = replay(history, maths, slo.alerting.min_events, first, last, prepared.windows)
    events = prepared.events
    error_budget = float(1 - slo.target)
    figures = analysis.budget(events, first, last, error_budget, slo.window)
    tiers = []
    for math_ in maths:
        firings = []
        for labels, span in fired[math_.id]:
            facts = analysis.judge_firing(events, math_, span, last, figures.period_budget)
            firings.append(
                Firing(
                    span.start,
                    span.end,
                    labels,
                    facts.budget_spent,
                    facts.peak_share,
                    facts.detection,
                    facts.noise,
                )
            )
        tiers.append(TierOutcome(math_, threshold_number(math_), tuple(firings)))
    misses = _misses(events, maths, tiers, first, last, figures.period_budget)
    errors, totals = events.errors[first : last + 1], events.total[first : last + 1]
    curve = Curve(
        tuple(range(history.time(first), history.time(last) + 1, step)),
        tuple([e / t if t > 0 else None for e, t in zip(errors, totals, strict=True)]),
        tuple(errors),
        tuple(totals),
    )
    return Outcome(
        service=service.name,
        slo=slo.name,
        backend=history.backend,
        policy=slo.policy.name,
        source=history.semantics.name,
        objective=slo.objective,
        period=slo.window,
        start=history.time(first),
        end=history.time(last),
        total_events=figures.total,
        error_events=figures.errors,
        attainment=figures.attainment,
        budget_spent=figures.spent,
        period_budget=figures.period_budget,
        min_events=slo.alerting.min_events,
        tiers=tuple(tiers),
        misses=tuple(misses),
        notes=history.notes,
        requests=history.requests,
        curve=curve,
    )


def _misses(
    events: analysis.Events,
    maths: Sequence,
    tiers: Sequence[TierOutcome],
    first: int,
    last: int,
    period_budget: float | None,
) -> list[Miss]:
    if not period_budget:
        return []
    misses: list[Miss] = []
    for severity in dict.fromkeys(m.severity for m in maths):
        own = [m for m in maths if m.severity == severity]
        fired = [f for t in tiers if t.math.severity == severity for f in t.firings]
        grace = max(m.short for m in own)
        for lo, hi, math_, peak in analysis.shares_met(events, own, first, last, period_budget):
            lo_t = events.start + lo * events.step
            hi_t = None if hi is None else events.start + hi * events.step
            span_fired = any(
                analysis.overlaps(Span(f.start, f.end), lo_t, hi_t, grace) for f in fired
            )
            if not span_fired:
                misses.append(Miss(severity, math_.id, lo_t, hi_t, peak, math_.budget))
    misses.sort(key=lambda m: m.start)
    return misses


def backtest(
    project: Project,
    readers: Mapping[str, HistoryReader],
    start: int,
    end: int,
    policy_names: Sequence[str] = (),
    progress: Progress | None = None,
) -> Report:
    """Replay every SLO the readers can serve over ``(start, end]``, once per policy named (or
    under each SLO's own policy when none is)."""
    if end <= start:
        raise SlogenError("the backtest span is empty: --to must be after --from")
    policies = resolve_policies(project, policy_names)
    histories, unread = read_all(project, readers, start, end, policies, progress)
    outcomes: list[Outcome] = []
    for service, slo in project.slos():
        for backend in readers:
            history = histories.get((service.name, slo.name, backend))
            if history is None:
                continue
            prepared = Prepared.of(history)
            for policy in policies or [None]:
                outcomes.append(outcome(service, slo, history, start, end, policy, prepared))
    return Report(
        align(start),
        align(end),
        tuple(p.name for p in policies),
        tuple(outcomes),
        tuple(unread),
        sum(h.requests for h in histories.values()),
    )
