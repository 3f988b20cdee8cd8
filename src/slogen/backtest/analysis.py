"""Judging the replayed firings against what the budget actually did (SRE Workbook ch. 5 terms).

The *events* behind each sample are estimated the way the backend counts them (a Prometheus
rate sample times the evaluation interval, a Datadog or CloudWatch count as it is), summed over
every label set of the SLO. From them:

* **attainment** over the span: ``1 − errors/total``; **budget spent**: ``errors / ((1 − o) ·
  total)``, the share of the span's own error budget that failed;
* the **period's budget in events**, ``(1 − o) · total · P / span``: what the SLO may fail in a
  compliance period ``P`` at the span's average traffic. A tier's *budget share* ``b`` spent over
  its long window ``L`` at time ``t`` is ``errors(t−L, t] ≥ b ·`` that. At steady traffic this is
  exactly the tier's condition (error ratio over ``L`` above ``T``); at low traffic it is not,
  which is the point: a handful of failures at night is a high ratio but a tiny share.
* **noise** (precision): a firing after which less than its tier's share was spent over the
  long window — the largest share over ``L`` seen from the firing's start until it resolved (at
  most ``L`` later) stays below ``b``;
* **misses** (recall): a span of time in which some tier's share was spent over its long window
  but no tier of that severity fired at any moment of it (or within the tier's short window
  after it: the alert may trail the share by the smoothing of its samples);
* **detection**: how long after the burn began a firing started; the burn began where the
  failures in excess of the tier's threshold last started to pile up (:func:`detection`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from slogen.backtest.history import History
from slogen.backtest.replay import Span, all_finite, sliding, threshold_number
from slogen.engine import TierMath


@dataclass(frozen=True)
class Events:
    """Estimated events per grid step, all label sets together, with prefix sums."""

    errors: list[float]
    total: list[float]
    errors_sum: list[float]
    total_sum: list[float]
    step: int
    start: int

    @classmethod
    def of(cls, history: History) -> Events:
        n = history.length
        per = history.semantics.per_sample
        if len(history.series) == 1 and all_finite(history.series[0].total):
            only = history.series[0]
            total = [t * per for t in only.total]  # type: ignore[operator]
            if all_finite(only.errors):
                errors = [e * per for e in only.errors]  # type: ignore[operator]
            else:
                errors = [
                    e * per if e is not None and math.isfinite(e) else 0.0 for e in only.errors
                ]
        else:
            errors = [0.0] * n
            total = [0.0] * n
            for series in history.series:
                for k, (e, t) in enumerate(zip(series.errors, series.total, strict=True)):
                    if t is not None and math.isfinite(t):
                        total[k] += t * per
                        if e is not None and math.isfinite(e):
                            errors[k] += e * per
        return cls(
            errors,
            total,
            [0.0, *accumulate(errors)],
            [0.0, *accumulate(total)],
            history.semantics.step,
            history.start,
        )

    def index(self, when: int) -> int:
        return (when - self.start) // self.step

    def errors_between(self, lo: int, hi: int) -> float:
        """Errors in the samples ``lo+1 .. hi`` (the events of ``(t_lo, t_hi]``)."""
        lo, hi = max(lo, -1), max(hi, -1)
        return self.errors_sum[hi + 1] - self.errors_sum[lo + 1]

    def total_between(self, lo: int, hi: int) -> float:
        lo, hi = max(lo, -1), max(hi, -1)
        return self.total_sum[hi + 1] - self.total_sum[lo + 1]

    def errors_over(self, index: int, window: int) -> float:
        return self.errors_between(index - window // self.step, index)

    def ratio_over(self, index: int, window: int) -> float | None:
        total = self.total_between(index - window // self.step, index)
        if total <= 0:
            return None
        return self.errors_over(index, window) / total


@dataclass(frozen=True)
class Budget:
    """The span's figures and the period's budget in events."""

    total: float
    errors: float
    attainment: float | None
    spent: float | None  # share of the span's budget
    period_budget: float | None  # events the SLO may fail per period at this traffic


def budget(events: Events, first: int, last: int, error_budget: float, period: int) -> Budget:
    """Figures for the events of ``(t_first, t_last]``."""
    total = events.total_between(first, last)
    errors = events.errors_between(first, last)
    if total <= 0:
        return Budget(total, errors, None, None, None)
    span = (last - first) * events.step
    allowed = error_budget * total
    return Budget(
        total,
        errors,
        1 - errors / total,
        errors / allowed if allowed else None,
        allowed * period / span if span else None,
    )


def share_over(events: Events, index: int, math_: TierMath, period_budget: float) -> float:
    """The period's budget spent over the tier's long window ending at ``index``."""
    return events.errors_over(index, math_.long) / period_budget


def detection(events: Events, math_: TierMath, start_index: int) -> int | None:
    """Seconds from the start of the burn to the firing at ``start_index``.

    The burn began where the failures in excess of the threshold last started to accumulate:
    with ``C(j) = Σ_{i≤j} (errors_i − T·total_i)``, it falls while the error ratio is under the
    threshold ``T`` and climbs while it is above, so its lowest point within the long window
    before the firing marks the start (a change point, as a CUSUM chart finds it). Isolated
    failures before an incident are small bumps on a falling line and do not move it. The
    burn began at the end of sample ``j``, so the answer is exact to one step and never below
    one step. None when there is no sample before the firing.
    """
    threshold = threshold_number(math_)
    lowest = max(start_index - math_.long // events.step, 0)
    if start_index < 1:
        return None
    errors, totals = events.errors_sum, events.total_sum
    # C(j) for j = lowest-1 .. start_index-1, from the prefix sums (index j+1)
    js = range(lowest - 1, start_index)
    cusum = [errors[j + 1] - threshold * totals[j + 1] for j in js]
    low = min(cusum)
    # the latest lowest point: the excess that led to this firing began after it
    offset = len(cusum) - 1 - cusum[::-1].index(low)
    began = js[offset]
    return (start_index - began) * events.step


@dataclass(frozen=True)
class FiringFacts:
    budget_spent: float | None  # period's budget failed while it fired
    peak_share: float | None  # largest share over the long window until it resolved
    detection: int | None
    noise: bool | None


def judge_firing(
    events: Events, math_: TierMath, span: Span, last: int, period_budget: float | None
) -> FiringFacts:
    """The facts of one firing (``last``: the index of the span's last evaluation)."""
    lo = events.index(span.start)
    hi = last if span.end is None else events.index(span.end) - 1
    found = detection(events, math_, lo)
    if not period_budget:
        return FiringFacts(None, None, found, None)
    spent = events.errors_between(lo - 1, hi) / period_budget
    until = min(hi, lo + math_.long // events.step, last)
    peak = max(share_over(events, k, math_, period_budget) for k in range(lo, until + 1))
    return FiringFacts(spent, peak, found, peak < float(math_.budget))


def shares_met(
    events: Events, maths: Sequence[TierMath], first: int, last: int, period_budget: float
) -> list[tuple[int, int | None, TierMath, float]]:
    """Spans of evaluation indexes in which some tier's budget share was spent over its long
    window: ``(first index, end index or None, the tier most over its share, peak share)``.
    """
    # per tier, at every index: the share spent over its long window, as a multiple of the
    # tier's share (≥ 1: met)
    over: list[list[float]] = []
    for math_ in maths:
        scale = 1 / (period_budget * float(math_.budget))
        spent = sliding(events.errors_sum, math_.long // events.step, first, last)
        over.append([value * scale for value in spent])
    best = list(map(max, *over)) if len(over) > 1 else over[0]
    out: list[tuple[int, int | None, TierMath, float]] = []
    began: int | None = None
    worst: tuple[float, int] = (0.0, 0)  # (multiple, tier index)
    for offset, multiple in enumerate(best):
        if multiple >= 1:
            tier = next(n for n, row in enumerate(over) if row[offset] == multiple)
            if began is None:
                began, worst = first + offset, (multiple, tier)
            elif multiple > worst[0]:
                worst = (multiple, tier)
        elif began is not None:
            math_ = maths[worst[1]]
            out.append((began, first + offset, math_, worst[0] * float(math_.budget)))
            began = None
    if began is not None:
        math_ = maths[worst[1]]
        out.append((began, None, math_, worst[0] * float(math_.budget)))
    return out


def overlaps(span: Span, lo: int, hi: int | None, grace: int) -> bool:
    """Whether a firing overlaps ``[lo, hi + grace]`` (times; ``hi`` None: open)."""
    if hi is not None and span.start > hi + grace:
        return False
    return span.end is None or span.end > lo
