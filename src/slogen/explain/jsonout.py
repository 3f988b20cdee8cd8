"""``slogen explain --format json``: the reports with numbers as JSON numbers.

The reports keep their numbers as decimal strings (``"14.4"``): the engine computes exact
fractions and the text renderers read them back exactly. A program reading the JSON wants
numbers it can compare (``jq '.[].tiers[] | select(.burn_rate > 10)'``), so this renderer, and
only it, turns the known numeric fields into JSON numbers.

The convention, documented in the README:

* every numeric field is a JSON number, written with the decimal digits slogen computed (at
  most 10 significant digits, so any double-precision reader gets the same decimal back);
* the numbers that also appear in generated rules and monitors (``objective``,
  ``error_budget``, and each tier's ``budget``, ``burn_rate`` and ``threshold``) are repeated
  as decimal strings in ``<name>_exact``, for tools that must not go through a float;
* a field that cannot be computed stays ``null``; non-numeric strings stay strings.

Fields are picked by name rather than by what their text looks like, so a service, SLO or tier
named ``"2024"`` stays a string.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any

# Decimal-string fields of the reports (compute.py) and of the quality section (quality.py).
NUMERIC = frozenset(
    {
        "objective",
        "error_budget",
        "budget",
        "burn_rate",
        "threshold",
        "budget_spent",
        "budget_spent_before_firing",
        "budget_spent_in_period",
        "budget_spent_unnoticed",
        "lowest_error_ratio_caught",
        "prometheus_budget_spent",
        "error_ratio",
        "burn_rate_above",
        "burn_rate_up_to",
        "error_ratio_above",
        "error_ratio_up_to",
        "one_failure_error_ratio",
        "events_per_second",
        "events_per_period",
        "error_budget_events",
        "long_window_events",
        "short_window_events",
        "budget_events_before_firing",
    }
)
# Fields also kept as exact strings, where they sit: on a report, and on each of its tiers.
EXACT_REPORT = ("objective", "error_budget")
EXACT_TIER = ("budget", "burn_rate", "threshold")
EXACT_SUFFIX = "_exact"


def number(text: str) -> int | float | str | None:
    """A decimal string as a JSON number: an int when whole, else the float nearest to it;
    None for what JSON cannot hold (infinities, NaN). Text that is no number at all is left
    as it is rather than lost (the tests look for such leftovers)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return None
    if value == value.to_integral_value() and "." not in text and "e" not in text.lower():
        return int(value)
    result = float(value)
    return result if math.isfinite(result) else None


def _numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: number(item) if key in NUMERIC and isinstance(item, str) else _numbers(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return value


def _with_exact(
    numeric: dict[str, Any], original: dict[str, Any], keys: tuple[str, ...]
) -> dict[str, Any]:
    """``numeric`` with ``<key>_exact`` (the original string) right after each of ``keys``."""
    out: dict[str, Any] = {}
    for key, value in numeric.items():
        out[key] = value
        if key in keys and isinstance(original.get(key), str):
            out[key + EXACT_SUFFIX] = original[key]
    return out


def report_json(report: dict[str, Any]) -> dict[str, Any]:
    """One SLO's report with JSON numbers and the ``_exact`` strings."""
    converted = _numbers(report)
    if isinstance(report.get("tiers"), list):
        converted["tiers"] = [
            _with_exact(tier, old, EXACT_TIER)
            for tier, old in zip(converted["tiers"], report["tiers"], strict=True)
        ]
    return _with_exact(converted, report, EXACT_REPORT)


def render_json(reports: list[dict[str, Any]]) -> str:
    """What ``slogen explain --format json`` prints."""
    return json.dumps([report_json(r) for r in reports], indent=2, ensure_ascii=False)
