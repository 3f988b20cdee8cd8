"""Expected traffic: ``3000000/30d`` (events per period), from a spec or ``--traffic``.

Nothing is generated from it; ``slogen explain`` uses it to count the error budget in events
and to warn about tiers that low traffic makes fire on a single failure (Workbook 5.3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from slogen.durations import UNITS, DurationError, format_duration, parse_duration

TRAFFIC_RE = re.compile(r"^\s*(\d[\d_,]*(?:\.\d+)?)\s*([kMG]?)\s*/\s*([0-9a-z]+)\s*$")
_SUFFIX = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3}
EXAMPLE = "3000000/30d (also 3M/30d, 50/1h or 100/s)"


@dataclass(frozen=True)
class ExpectedTraffic:
    events: Fraction  # events per ``per`` seconds
    per: int  # seconds

    @property
    def per_second(self) -> Fraction:
        return self.events / self.per

    def events_in(self, seconds: int | float) -> Fraction:
        return self.per_second * Fraction(seconds)

    def __str__(self) -> str:
        from slogen.numbers import fmt

        return f"{fmt(self.events, 10)}/{format_duration(self.per)}"


def parse_traffic(text: object) -> ExpectedTraffic:
    """``3000000/30d`` → 3,000,000 events per 30 days. Raises ValueError saying what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"expected events per period such as {EXAMPLE}")
    m = TRAFFIC_RE.match(text)
    if not m:
        raise ValueError(f"expected events per period such as {EXAMPLE}")
    number, suffix, period = m.groups()
    events = Fraction(number.replace("_", "").replace(",", "")) * _SUFFIX[suffix]
    try:
        per = UNITS[period] if period in UNITS else parse_duration(period)
    except DurationError as exc:
        raise ValueError(f"the period {period!r}: {exc}") from None
    if events <= 0:
        raise ValueError("expected a number of events greater than zero")
    return ExpectedTraffic(events, per)
