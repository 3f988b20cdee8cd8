"""Multiwindow, multi-burn-rate arithmetic (SRE Workbook, ch. 5).

For an objective ``o`` (a fraction), a compliance period ``P`` and a tier that spends a share
``b`` of the error budget over a long window ``L`` (checked together with a short window ``S``):

* burn rate ``B = b·P/L``; error-ratio threshold ``T = B·(1 − o)``;
* the tier fires when the error ratio over both windows exceeds ``T``;
* at a constant error ratio ``e > T`` starting from zero it fires after ``L·T/e``;
* after a long incident ends it resets after ``S·(1 − T/e)``, when the short window clears;
* the budget spent before it fires is ``e·detection/(P·(1 − o))``, which is exactly ``b``.

Burn rate and threshold are exact fractions. Times are floats in seconds.

Real evaluators do not see the error ratio over a window directly: Prometheus, for example,
averages per-second rates that are themselves taken over a short range ``r``. That smooths the
leading edge of an incident and delays detection by up to about ``r/2``. Every time function
accepts that ``resolution`` so the predictions can describe what a backend actually does;
``resolution=0`` gives the Workbook's idealised figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache

from slogen.memo import ByIdentity
from slogen.spec.model import SLO, Tier

INFINITY = float("inf")


def default_short_window(long_window: int) -> int:
    """The Workbook's short window: one twelfth of the long one, in whole seconds."""
    return max(1, round(long_window / 12))


def _time_to_mass(window: float, resolution: float, mass: float) -> float:
    """Seconds after a step change until a window has accumulated ``mass`` seconds of it.

    A window of length ``W`` built from ``resolution``-range rates weighs events with a
    trapezoid: full weight in its middle, a linear ramp over the newest ``r`` seconds (a rate
    that has only partly seen them) and over the ``r`` seconds just before its start. With
    ``r = 0`` (or a window read directly from the raw range) the weight is a plain box.
    ``mass`` is in seconds of full-weight exposure, between 0 and ``W``.
    """
    if mass <= 0:
        return 0.0
    if mass >= window:
        return INFINITY
    r = resolution
    if r <= 0:
        return mass
    if mass <= r / 2:
        return math.sqrt(2 * r * mass)
    if mass <= window - r / 2:
        return mass + r / 2
    return window + r - math.sqrt(2 * r * (window - mass))


@dataclass(frozen=True)
class TierMath:
    """The numbers of one tier applied to one SLO."""

    tier: Tier
    target: Fraction  # objective as a fraction, 0.999
    period: int  # compliance period in seconds

    @property
    def id(self) -> str:
        return self.tier.id

    @property
    def severity(self) -> str:
        return self.tier.severity

    @property
    def long(self) -> int:
        return self.tier.long

    @property
    def short(self) -> int:
        return self.tier.short

    @property
    def budget(self) -> Fraction:
        return self.tier.budget

    @cached_property
    def error_budget(self) -> Fraction:
        """The allowed error ratio over the period, ``1 − o``."""
        return 1 - self.target

    @cached_property
    def burn_rate(self) -> Fraction:
        return self.tier.budget * self.period / self.tier.long

    @cached_property
    def threshold(self) -> Fraction:
        """Error ratio above which the tier fires."""
        return self.burn_rate * self.error_budget

    @property
    def can_fire(self) -> bool:
        return self.threshold < 1

    @property
    def min_error_ratio(self) -> Fraction:
        """The lowest sustained error ratio the tier catches (it needs strictly more)."""
        return self.threshold

    def _window_time(self, window: int, error_ratio: float, resolution: int, raw: bool) -> float:
        mass = float(self.threshold) * window / error_ratio
        return _time_to_mass(window, 0 if raw else resolution, mass)

    def detection_time(self, error_ratio: float, resolution: int = 0) -> float:
        """Seconds from the start of a constant ``error_ratio`` until the tier fires.

        ``resolution`` is the range of the rates the windows are averaged from (0 for the
        ideal); a window equal to it is read directly. Infinite when the tier cannot see it.
        """
        e = float(error_ratio)
        if e <= float(self.threshold) or e <= 0:
            return INFINITY
        return max(
            self._window_time(w, e, resolution, raw=(w <= resolution))
            for w in (self.long, self.short)
        )

    def reset_time(self, error_ratio: float, resolution: int = 0) -> float:
        """Seconds after a long incident at ``error_ratio`` ends until the alert stops.

        The alert needs both windows, so it stops as soon as either clears; the short window
        clears first. Zero when the tier would not have fired at all.
        """
        e = float(error_ratio)
        if e <= float(self.threshold):
            return 0.0
        times = []
        for w in (self.long, self.short):
            residual = w * (1 - float(self.threshold) / e)
            times.append(_time_to_mass(w, 0 if w <= resolution else resolution, residual))
        return min(times)

    def budget_spent(self, error_ratio: float, resolution: int = 0) -> float:
        """Share of the period's error budget consumed before the tier fires."""
        e = float(error_ratio)
        detection = self.detection_time(e, resolution)
        if detection == INFINITY:
            return INFINITY
        return e * detection / (self.period * float(self.error_budget))


@lru_cache(maxsize=4096)
def analyse_tier(objective_percent: Fraction, period: int, tier: Tier) -> TierMath:
    """Engine entry point for one tier: objective in percent (99.9), period in seconds."""
    return TierMath(tier=tier, target=Fraction(objective_percent) / 100, period=period)


_tiers_of: ByIdentity[list[TierMath]] = ByIdentity()
_tiers_by_policy: ByIdentity[list[TierMath]] = ByIdentity()


def analyse_slo(slo: SLO) -> list[TierMath]:
    """All tiers of the SLO's policy, in policy order.

    Every backend asks this of every SLO several times; the answer is kept per SLO object
    (looking ``analyse_tier`` up hashes Fractions, whose hash is a modular inverse each time,
    and tiers, which hash their budget). SLOs of one policy object with the same objective and
    window, most of a project, share one answer, found by the objective's integers.
    """
    maths = _tiers_of.get((slo,))
    if maths is None:
        objective = slo.objective
        key = (objective.numerator, objective.denominator, slo.window)
        maths = _tiers_by_policy.get((slo.policy,), key)
        if maths is None:
            maths = _tiers_by_policy.put(
                (slo.policy,),
                [analyse_tier(objective, slo.window, tier) for tier in slo.policy.tiers],
                key,
            )
        _tiers_of.put((slo,), maths)
    return list(maths)
