"""The promtool harness the tests use: a thin re-export of :mod:`slogen.testing`.

The generation and running of promtool rule unit tests lives in the package (``slogen test``
uses it too): :mod:`slogen.testing.promtool` is the plumbing, :mod:`slogen.testing.scenarios`
the SLO scenarios. Import from here in tests; the names are the same.
"""

from __future__ import annotations

from slogen.testing.promtool import (
    DEFAULT_TIMEOUT,
    EPSILON,
    GO_GC_PERCENT,
    PROMTOOL_ENV,
    CheckOutcome,
    CheckResult,
    ExprCheck,
    InputSeries,
    PromtoolMissing,
    Sample,
    TestGroup,
    TestRun,
    check_rules,
    duration,
    find_promtool,
    parse_go_duration,
    rule_file_from_prometheusrule,
    run_tests,
    selector,
)
from slogen.testing.scenarios import (
    DetectionWindow,
    RenderedSLO,
    Traffic,
    TrafficSource,
    counter_values,
    detection_group,
    detection_window,
    events_check,
    first_firing,
    healthy_history,
    quiet_group,
    ratio_check,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "EPSILON",
    "GO_GC_PERCENT",
    "PROMTOOL_ENV",
    "CheckOutcome",
    "CheckResult",
    "DetectionWindow",
    "ExprCheck",
    "InputSeries",
    "PromtoolMissing",
    "RenderedSLO",
    "Sample",
    "TestGroup",
    "TestRun",
    "Traffic",
    "TrafficSource",
    "check_rules",
    "counter_values",
    "detection_group",
    "detection_window",
    "duration",
    "events_check",
    "find_promtool",
    "first_firing",
    "healthy_history",
    "need_promtool",
    "parse_go_duration",
    "promtool_or_none",
    "quiet_group",
    "ratio_check",
    "rule_file_from_prometheusrule",
    "run_tests",
    "selector",
]


def need_promtool(path: str | None) -> str:
    """promtool's path; a missing promtool FAILS the calling test (never a skip): CI has it."""
    if path is None:
        try:
            find_promtool()
            why = "it was not found when the tests started"
        except PromtoolMissing as exc:
            why = str(exc)
        import pytest

        pytest.fail(f"this test needs promtool: {why}", pytrace=False)
    return path


def promtool_or_none() -> str | None:
    """For a module-scoped fixture: the path, or None so that each test fails on its own."""
    try:
        return find_promtool()
    except PromtoolMissing:
        return None
