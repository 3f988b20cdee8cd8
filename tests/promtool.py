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
    "parse_go_duration",
    "quiet_group",
    "ratio_check",
    "rule_file_from_prometheusrule",
    "run_tests",
    "selector",
]
