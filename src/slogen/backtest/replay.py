"""Replay: when would each tier have fired, evaluated exactly as the backend evaluates it.

A tier fires at an evaluation time ``t`` when the error ratio over its long window and over its
short window are both above its threshold (and, with ``min_events``, the long window saw that
many events). Each window's ratio is ``Σ errors / Σ total`` over the samples the backend's range
holds (:meth:`~.history.Semantics.samples_in`), read from prefix sums so a 3-day window costs
the same as a 5-minute one. Missing samples add nothing, and a window with no sample of either
side has no value, so it cannot fire: exactly how a PromQL ``sum_over_time`` over a gap, or a
Datadog/CloudWatch window without datapoints, behaves. NaN and ±Inf samples are carried as
PromQL carries them (a NaN in a window makes its sum NaN, which compares false).

The threshold is the number the alert carries (``fmt(threshold)``, as written into the rule or
monitor), not the exact fraction: the replay must compare what the backend compares.

The alert has no ``for:`` duration: it fires at the first evaluation where the condition holds
and resolves at the first where it does not. A firing is ``[start, end)`` in epoch seconds;
``end`` is None while it still fires at the last evaluation.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from slogen.backtest.history import History, Semantics, Series
from slogen.engine import TierMath
from slogen.numbers import fmt


@dataclass(frozen=True)
class Span:
    """An interval of evaluation times ``[start, end)``; ``end`` None: still true at the last."""

    start: int
    end: int | None


def all_finite(values: Sequence[float | None]) -> bool:
    """Whether every value is a finite number: one pass in C (``fsum`` refuses None and turns
    any NaN or infinity into a non-finite sum)."""
    try:
        return math.isfinite(math.fsum(values))  # type: ignore[arg-type]
    except (TypeError, OverflowError):
        return False


class Prefix:
    """Window sums of one side's samples in O(1): finite values through prefix sums, and the
    missing, NaN, +Inf and -Inf samples counted apart so one of them never spoils the rest."""

    missing: list[int] | None
    nan: list[int] | None
    pinf: list[int] | None
    ninf: list[int] | None

    def __init__(self, values: Sequence[float | None]):
        self.size = len(values)
        self.missing = self.nan = self.pinf = self.ninf = None
        if all_finite(values):
            self.sums = [0.0, *accumulate(values)]  # type: ignore[list-item]
            return
        finite = [0.0 if v is None or not math.isfinite(v) else v for v in values]
        self.sums = [0.0, *accumulate(finite)]
        # Counts of the unusual samples, kept only when there are any (the common case has
        # none, and then a window's sum is just a difference of two prefix sums).
        self.missing = self._count([v is None for v in values])
        self.nan = self._count([v is not None and v != v for v in values])
        self.pinf = self._count([v == math.inf for v in values])
        self.ninf = self._count([v == -math.inf for v in values])

    @staticmethod
    def _count(flags: list[bool]) -> list[int] | None:
        return [0, *accumulate(flags)] if any(flags) else None

    def window(self, end: int, count: int) -> float | None:
        """Sum of the ``count`` samples ending at index ``end`` (inclusive); None if none is
        present."""
        return self.windows(count, end, end)[0]

    def windows(self, count: int, first: int, last: int) -> list[float | None]:
        """:meth:`window` for every end index from ``first`` to ``last``."""
        out: list[float | None] = sliding(self.sums, count, first, last)  # type: ignore[assignment]
        if self.nan is None and self.pinf is None and self.ninf is None and self.missing is None:
            return out
        # Each kind of unusual sample counted per window the same way (in C), then applied
        # where a window holds any; most windows hold none, so this stays linear and cheap.
        if self.missing is not None:
            size = [0.0, *accumulate([1.0] * self.size)]
            missing = sliding(self.missing, count, first, last)  # type: ignore[arg-type]
            length = sliding(size, count, first, last)
            out = [None if m == n else v for v, m, n in zip(out, missing, length, strict=True)]
        marks = [
            (sliding(flags, count, first, last), value)  # type: ignore[arg-type]
            for flags, value in (
                (self.ninf, -math.inf),
                (self.pinf, math.inf),
                (self.nan, math.nan),
            )
            if flags is not None
        ]
        if marks:
            plus = sliding(self.pinf, count, first, last) if self.pinf is not None else None  # type: ignore[arg-type]
            minus = sliding(self.ninf, count, first, last) if self.ninf is not None else None  # type: ignore[arg-type]
            for found, value in marks:
                out = [v if v is None or not f else value for v, f in zip(out, found, strict=True)]
            if plus is not None and minus is not None:  # +Inf and -Inf in one window: NaN
                out = [
                    math.nan if v is not None and p and m else v
                    for v, p, m in zip(out, plus, minus, strict=True)
                ]
        return out


def sliding(prefix: list[float], count: int, first: int, last: int) -> list[float]:
    """``prefix[k+1] − prefix[max(0, k+1−count)]`` for ``k`` from ``first`` to ``last``: the sums
    of the ``count`` values ending at each ``k``, computed in C (``map``), not per element."""
    highs = prefix[first + 1 : last + 2]
    lo = first + 1 - count
    if lo >= 0:
        lows = prefix[lo : last + 2 - count]
    else:
        lows = prefix[:1] * min(-lo, len(highs)) + prefix[: max(0, last + 2 - count)]
    return list(map(operator.sub, highs, lows))


def divide(errors: float | None, total: float | None, ieee: bool) -> float | None:
    """``errors / total`` as the backend divides (see :class:`~.history.Semantics`)."""
    if errors is None or total is None:
        return None
    if total == 0:
        if not ieee:
            return None
        if errors == 0 or errors != errors:
            return math.nan
        return math.copysign(math.inf, errors)
    return errors / total


NO_VALUE = math.nan  # in the arrays below: compares false with every threshold, as no value does


def _zero(errors: float, ieee: bool) -> float:
    got = divide(errors, 0.0, ieee)
    return NO_VALUE if got is None else got


class Windows:
    """Ratios and event counts over any window of one series, per grid index."""

    def __init__(self, series: Series, semantics: Semantics):
        self.semantics = semantics
        self.errors = Prefix(series.errors)
        self.total = Prefix(series.total)

    def ratio(self, index: int, window: int) -> float | None:
        count = self.semantics.samples_in(window)
        return divide(
            self.errors.window(index, count), self.total.window(index, count), self.semantics.ieee
        )

    def ratios(self, window: int, first: int, last: int) -> list[float]:
        """The ratio over ``window`` at every index from ``first`` to ``last``; NaN where there
        is no value."""
        count = self.semantics.samples_in(window)
        errors = self.errors.windows(count, first, last)
        totals = self.total.windows(count, first, last)
        ieee = self.semantics.ieee
        if self.errors.missing is None and self.total.missing is None:
            return [e / t if t else _zero(e, ieee) for e, t in zip(errors, totals, strict=True)]  # type: ignore[operator]
        out = []
        for e, t in zip(errors, totals, strict=True):
            if e is None or t is None:
                out.append(NO_VALUE)
            elif t:
                out.append(e / t)
            else:
                got = divide(e, t, ieee)
                out.append(NO_VALUE if got is None else got)
        return out

    def events(self, index: int, window: int) -> float | None:
        """Events the backend counts over ``window`` (what ``min_events`` is compared with)."""
        got = self.event_counts(window, index, index)[0]
        return None if got != got else got

    def event_counts(self, window: int, first: int, last: int) -> list[float]:
        s = self.semantics
        single = s.single is not None and window == s.single
        factor = s.single_events if single else s.per_sample
        totals = self.total.windows(s.samples_in(window), first, last)
        return [NO_VALUE if t is None else t * factor for t in totals]


def threshold_number(math_: TierMath) -> float:
    """The threshold as the generated alert writes it."""
    return float(fmt(math_.threshold))


def firing_spans(
    windows: Windows,
    math_: TierMath,
    min_events: int | None,
    first: int,
    last: int,
    start: int,
    step: int,
) -> list[Span]:
    """The tier's firings between grid indexes ``first`` and ``last`` (inclusive); index ``k``
    is the evaluation at ``start + k·step``."""
    threshold = threshold_number(math_)
    long_ = windows.ratios(math_.long, first, last)
    short = windows.ratios(math_.short, first, last)
    fires = [a > threshold and b > threshold for a, b in zip(long_, short, strict=True)]
    if min_events:
        events = windows.event_counts(math_.long, first, last)
        fires = [f and e >= min_events for f, e in zip(fires, events, strict=True)]
    spans: list[Span] = []
    began: int | None = None
    for offset, now in enumerate(fires):
        if now and began is None:
            began = first + offset
        elif not now and began is not None:
            spans.append(Span(start + began * step, start + (first + offset) * step))
            began = None
    if began is not None:
        spans.append(Span(start + began * step, None))
    return spans


def windows_of(history: History) -> list[Windows]:
    """One :class:`Windows` per label set: the prefix sums every tier and policy reads."""
    return [Windows(series, history.semantics) for series in history.series]


def replay(
    history: History,
    maths: Sequence[TierMath],
    min_events: int | None,
    first: int,
    last: int,
    windows: Sequence[Windows] | None = None,
) -> dict[str, list[tuple[tuple[tuple[str, str], ...], Span]]]:
    """Per tier id: every firing of every label set, in time order (``windows``: the history's
    :func:`windows_of`, when the caller replays it more than once)."""
    out: dict[str, list[tuple[tuple[tuple[str, str], ...], Span]]] = {m.id: [] for m in maths}
    for series, prefixes in zip(history.series, windows or windows_of(history), strict=True):
        for math_ in maths:
            for span in firing_spans(
                prefixes,
                math_,
                min_events,
                first,
                last,
                history.start,
                history.semantics.step,
            ):
                out[math_.id].append((series.labels, span))
    for found in out.values():
        found.sort(key=lambda item: (item[1].start, item[0]))
    return out
