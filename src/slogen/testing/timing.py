"""When ``slogen test`` expects a tier to fire or clear: the engine's times on the rules as
Prometheus evaluates them, and the evaluations that bracket them.

Every expected time comes from the engine (:class:`~slogen.engine.TierMath` with the rules'
``resolution``), never from a table; what this module adds is how Prometheus's ranges and the
evaluation grid move them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from slogen.backends.prometheus.render import GROUP_INTERVAL
from slogen.durations import humanize_duration
from slogen.engine import TierMath

INTERVAL = GROUP_INTERVAL  # scrape and evaluation interval of every scenario
EPSILON = 1e-6  # seconds; guards float comparisons of predicted instants against the grid


def on_grid(t: float) -> int:
    """The last evaluation at or before ``t``."""
    return math.floor(t / INTERVAL + EPSILON / INTERVAL) * INTERVAL


def last_before(t: float) -> int:
    """The last evaluation strictly before ``t``."""
    return (math.ceil(t / INTERVAL - EPSILON / INTERVAL) - 1) * INTERVAL


def seconds_text(value: float | None) -> str:
    """A time for people (``2m 56s``); ``-`` for none."""
    if value is None:
        return "-"
    return humanize_duration(value)


@dataclass(frozen=True)
class EvaluatedTier(TierMath):
    """A tier with the window lengths its rules really evaluate (threshold unchanged).

    The engine's functions read ``long`` and ``short``; the burn rate and threshold come from
    the tier itself, so only the timing changes.
    """

    windows: tuple[int, int] = (0, 0)  # (long, short) in seconds, as evaluated

    @property
    def long(self) -> int:
        return self.windows[0]

    @property
    def short(self) -> int:
        return self.windows[1]


@dataclass(frozen=True)
class Timing:
    """How the engine predicts a tier's timing on these rules, as a band.

    ``resolution``: the range of the recorded rates (the base range; with only ``irate``, the
    scrape interval, and a window equal to the base range, read directly, is one interval long).
    Prometheus 2 ranges are closed (``[t−W, t]`` holds W/interval + 1 samples), Prometheus 3
    ranges are left-open (W/interval samples): a window summed from recorded rates weighs one
    interval more on Prometheus 2. ``low`` and ``high`` are the engine's model with each; the
    checks accept the band, widened by one evaluation interval either way.
    """

    low: TierMath
    high: TierMath
    resolution: int

    def detection(self, error_ratio: float) -> tuple[float, float]:
        a = self.low.detection_time(error_ratio, self.resolution)
        b = self.high.detection_time(error_ratio, self.resolution)
        return min(a, b), max(a, b)

    def reset(self, error_ratio: float) -> tuple[float, float]:
        a = self.low.reset_time(error_ratio, self.resolution)
        b = self.high.reset_time(error_ratio, self.resolution)
        return min(a, b), max(a, b)


def timing(math_: TierMath, base: int, irate: bool) -> Timing:
    """The band of ``math_``'s times on rules built from ``base``-second rates (``irate``: from
    instant rates, whose resolution is the scrape interval)."""
    resolution = INTERVAL if irate else base

    def evaluated(window: int, extra: int) -> int:
        if window <= base:  # the base window is read directly: the recorded rate's own range
            return INTERVAL if irate else window
        return window + extra

    low = EvaluatedTier(
        math_.tier,
        math_.target,
        math_.period,
        (evaluated(math_.long, 0), evaluated(math_.short, 0)),
    )
    high = EvaluatedTier(
        math_.tier,
        math_.target,
        math_.period,
        (evaluated(math_.long, INTERVAL), evaluated(math_.short, INTERVAL)),
    )
    return Timing(low, high, resolution)


def band_text(low: float, high: float) -> str:
    if abs(high - low) < 1:
        return seconds_text(low)
    text_low, text_high = seconds_text(low), seconds_text(high)
    return text_low if text_low == text_high else f"{text_low} to {text_high}"


@dataclass(frozen=True)
class Bracket:
    """Evaluations that pin a change of state to within one interval of a predicted band:
    ``before`` (the old state still holds; None if not after the reference) and ``after``
    (the new state holds). The state changes once (monotonic), so both together are exactly
    "it changed between low − interval and high + interval"."""

    before: int | None
    after: int


def bracket(
    reference: float, low: float, high: float, *, floor_before: int | None = None
) -> Bracket:
    """The evaluations around a change expected ``low`` to ``high`` seconds after
    ``reference``; ``floor_before`` is the earliest ``before`` allowed (else None when the
    last evaluation before the band is not after ``reference``)."""
    before = last_before(reference + low - INTERVAL)
    if floor_before is not None:
        before = max(before, floor_before)
    elif before <= reference:
        before = None
    return Bracket(before, on_grid(reference + high + INTERVAL))
