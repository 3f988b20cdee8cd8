"""``slogen explain --format json``: numbers as JSON numbers, exact decimals kept alongside.

The text output reads the same reports with their decimal strings, so it must not change;
tests/golden/explain/explain.txt pins that (tests/test_golden_prometheus.py).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from slogen.explain import jsonout
from slogen.explain.jsonout import EXACT_SUFFIX, number, report_json
from tests.cli import run
from tests.conftest import SPECS

NUMERIC_TEXT = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|^[-+]?Inf$|^NaN$")


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, f"{path}[]")]
    return [(path, value)] if isinstance(value, str) else []


def _explain(*args: str) -> list[dict[str, Any]]:
    return json.loads(run("explain", str(SPECS), "--format", "json", *args).stdout)


def test_no_number_is_left_as_a_string() -> None:
    """Every field, including those only shown with expected traffic: a numeric field added
    to the reports later without being listed in jsonout.NUMERIC fails here."""
    reports = _explain("--traffic", "3000000/30d")
    left = [
        (path, text)
        for path, text in _strings(reports)
        if NUMERIC_TEXT.match(text) and not path.endswith(EXACT_SUFFIX)
    ]
    assert left == []


def test_exact_strings_sit_next_to_their_numbers_and_agree() -> None:
    reports = _explain()
    checked = 0
    for report in reports:
        objects = [(report, jsonout.EXACT_REPORT)]
        objects += [(tier, jsonout.EXACT_TIER) for tier in report["tiers"]]
        for obj, keys in objects:
            names = list(obj)
            for key in keys:
                exact = obj[key + EXACT_SUFFIX]
                assert isinstance(exact, str) and isinstance(obj[key], (int, float))
                assert names.index(key + EXACT_SUFFIX) == names.index(key) + 1
                # the number's shortest text is the same decimal: nothing lost on the way
                assert Decimal(repr(obj[key])) == Decimal(exact), (key, obj[key], exact)
                checked += 1
    assert checked == sum(2 + 3 * len(r["tiers"]) for r in reports) > 0


def test_checkout_numbers_are_the_workbooks() -> None:
    (report,) = _explain("--slo", "checkout/availability")
    assert (report["objective"], report["objective_exact"]) == (99.9, "99.9")
    assert report["error_budget"] == 0.001
    page = report["tiers"][0]
    assert (page["budget"], page["burn_rate"], page["threshold"]) == (0.02, 14.4, 0.0144)
    assert page["detection_seconds"]["error_ratio_1"] == 51.84  # was a number already
    assert report["min_events"] == 100
    assert isinstance(report["quality"]["error_ratios"][0]["burn_rate"], int)  # 1000, whole


def test_fields_are_picked_by_name_not_by_how_they_look() -> None:
    report = {
        "service": "2024",
        "slo": "99",
        "objective": "99.5",
        "error_budget": "0.005",
        "window": "30d",
        "tiers": [{"tier": "1", "budget": "0.02", "burn_rate": "12", "threshold": "0.06"}],
    }
    out = report_json(report)
    assert (out["service"], out["slo"], out["window"], out["tiers"][0]["tier"]) == (
        "2024",
        "99",
        "30d",
        "1",
    )
    assert out["objective"] == 99.5 and out["tiers"][0]["burn_rate"] == 12
    assert report["objective"] == "99.5"  # the reports themselves are not changed


def test_number() -> None:
    assert number("14.4") == 14.4 and type(number("14.4")) is float
    assert number("100") == 100 and type(number("100")) is int
    assert number("1.0") == 1.0 and type(number("1.0")) is float
    assert number("0.0000125") == 1.25e-05
    assert number("+Inf") is None and number("NaN") is None  # not JSON numbers
    assert number("n/a") == "n/a"  # kept, and found by test_no_number_is_left_as_a_string
