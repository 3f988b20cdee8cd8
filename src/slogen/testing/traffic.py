"""Synthetic input series for ``slogen test``: counters that follow a timeline of error ratios.

:func:`counter_values` writes one counter in promtool's expanding notation, exact to the sample;
:class:`SeriesTraffic` moves the counters a :class:`~slogen.testing.synth.Synthesis` found in the
spec's own queries so that the queries see the wanted error ratio at a constant total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from slogen.numbers import to_fraction
from slogen.testing.synth import Synthesis
from slogen.testing.testfile import InputSeries, number_text
from slogen.testing.timing import INTERVAL

Phases = Sequence[tuple[float, float]]  # (from this instant in seconds, error ratio)


def counter_values(rates: Sequence[tuple[Fraction, Fraction]], end: int, step: int) -> str:
    """promtool's expanding notation for a counter sampled every ``step`` seconds from 0 to
    ``end`` (rounded down to a sample), growing at a piecewise constant rate: ``rates`` is
    ``[(from_second, per_second), ...]`` in time order, the first from 0.

    Each sample holds the exact integral of the rate up to its instant, so a change between two
    samples shows in the next one only for the part of the interval after it.
    """
    last = end // step
    if last <= 0:
        return "0"

    def integral(t: Fraction) -> Fraction:
        total = Fraction(0)
        for index, (since, rate) in enumerate(rates):
            until = rates[index + 1][0] if index + 1 < len(rates) else None
            if t <= since:
                break
            total += rate * ((t if until is None else min(t, until)) - since)
        return total

    def increment(k: int) -> Fraction:  # growth over the interval ending at sample k
        return integral(Fraction(k * step)) - integral(Fraction((k - 1) * step))

    # Increments change only at the interval holding a rate change and the one after it.
    breaks = {1}
    for since, _ in rates:
        k = math.ceil(since / step)
        breaks.update({k, k + 1})
    points = sorted(b for b in breaks if 1 <= b <= last)
    runs: list[list[Any]] = []  # [count, increment]
    for index, first in enumerate(points):
        count = (points[index + 1] if index + 1 < len(points) else last + 1) - first
        inc = increment(first)
        if runs and runs[-1][1] == inc:
            runs[-1][0] += count
        else:
            runs.append([count, inc])
    tokens: list[str] = []
    value = Fraction(0)
    bare = True  # the last token is a lone value that a run of increments may extend
    tokens.append("0")
    for count, inc in runs:
        if not bare:  # a new token starts with an explicit value: one increment goes into it
            value += inc
            count -= 1
            tokens.append(number_text(value))
        if count:
            tokens[-1] += f"+{number_text(inc)}x{count}" if inc else f"x{count}"
        value += inc * count
        bare = count == 0
    return " ".join(tokens)


@dataclass(frozen=True)
class SeriesTraffic:
    """Input series for a timeline of error ratios at a constant total of ``total`` events per
    second, from a :class:`Synthesis` of the SLO's queries.

    Traffic is stated in events, never in the total query's units: for an ``increase()`` SLI
    the query reads ``base`` times the events per second, and a scenario that said "84 events"
    while feeding a query value of 84 would carry 300× fewer events than it claims.
    """

    synthesis: Synthesis
    total: Fraction
    interval: int = INTERVAL

    def rates(self, error_ratio: Fraction) -> list[Fraction]:
        """The counters' per-second growth at ``error_ratio``."""
        return self.synthesis.rates(error_ratio, self.total * self.synthesis.per_event)

    def events_per_second(self, error_ratio: Fraction = Fraction(0)) -> Fraction:
        """The events per second the series really carry: the growth of the counters the total
        query adds (minus those it subtracts), one event per counter increment.

        Read from the counters, not from the query's value, so it checks the unit conversion
        of :meth:`rates` instead of repeating it.
        """
        rates = self.rates(error_ratio)
        return sum(
            (
                rates[i] if coeff > 0 else -rates[i]
                for i, coeff in self.synthesis.total.coeffs.items()
            ),
            Fraction(0),
        )

    def timeline(self, phases: Phases, *, end: int) -> list[InputSeries]:
        ratios = [to_fraction(e) for _, e in phases]
        per_phase = [self.rates(e) for e in ratios]
        out = []
        # Every series, even one held at 0: a query summing series that do not exist has no
        # value at all (and `a + b` with an empty side is empty), which is not what it models.
        for index in range(len(self.synthesis.series)):
            rates = [
                (to_fraction(at), rates_[index])
                for (at, _), rates_ in zip(phases, per_phase, strict=True)
            ]
            out.append(
                InputSeries(
                    str(self.synthesis.series[index]), counter_values(rates, end, self.interval)
                )
            )
        return out
