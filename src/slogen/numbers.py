"""Exact numbers, printed without float noise.

Burn rates and thresholds are computed with :class:`fractions.Fraction` from the decimal text
of the spec, so 2 % of 30 days over 1 hour is exactly 14.4, not 14.399999999999999. They are
printed with a bounded number of significant digits: exact when the decimal terminates within
that bound, rounded half-even otherwise.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from functools import lru_cache

CONFIG_DIGITS = 10  # what goes into rules and monitors
HUMAN_DIGITS = 4  # what goes into tables and annotations


def to_fraction(value: int | float | str | Decimal | Fraction) -> Fraction:
    """Exact fraction of a spec value; floats go through their shortest repr (``0.1`` → 1/10)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, Decimal):
        return Fraction(value)
    return Fraction(value)


@lru_cache(maxsize=4096, typed=True)
def fmt(value: Fraction | int | float, digits: int = CONFIG_DIGITS, rounding: str = "") -> str:
    """Print ``value`` with at most ``digits`` significant digits and no trailing zeros."""
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "+Inf" if value > 0 else "-Inf"
        value = Fraction(repr(value))
    frac = Fraction(value)
    if frac == 0:
        return "0"
    ctx = Context(prec=digits, rounding=rounding or ROUND_HALF_EVEN)
    dec = ctx.divide(Decimal(frac.numerator), Decimal(frac.denominator))
    text = format(dec.normalize(ctx), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


@lru_cache(maxsize=4096, typed=True)
def fmt_percent(value: Fraction, digits: int = HUMAN_DIGITS, rounding: str = "") -> str:
    """A ratio as a percentage for people: 0.02 → ``2%``, 0.0009 → ``0.09%``."""
    return f"{fmt(Fraction(value) * 100, digits, rounding)}%"


def fmt_above(value: Fraction, digits: int = HUMAN_DIGITS) -> str:
    """Rounded up: for advice of the form "above X", which must stay true after rounding."""
    return fmt(value, digits, ROUND_CEILING)


def fmt_below(value: Fraction, digits: int = HUMAN_DIGITS) -> str:
    """Rounded down: for advice of the form "below X"."""
    return fmt(value, digits, ROUND_FLOOR)
