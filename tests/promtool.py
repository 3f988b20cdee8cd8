"""The promtool harness the tests use.

The generation and running of promtool rule unit tests lives in :mod:`slogen.testing` (``slogen
test`` uses it): :mod:`slogen.testing.testfile` the test files, :mod:`slogen.testing.promtool`
the runs. The tests' own scenario engine is :mod:`tests.promtool_scenarios`; ``promtool check
rules`` is here. Import from here in tests.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from slogen.testing.promtool import (
    DEFAULT_TIMEOUT,
    GO_GC_PERCENT,
    PROMTOOL_ENV,
    CheckOutcome,
    PromtoolMissing,
    TestRun,
    find_promtool,
    parse_go_duration,
    rule_file_from_prometheusrule,
    run_tests,
)
from slogen.testing.rendered import events_check, ratio_check
from slogen.testing.testfile import ExprCheck, InputSeries, Sample, TestGroup, duration, selector
from slogen.testing.timing import EPSILON
from slogen.testing.traffic import counter_values
from tests.promtool_scenarios import (
    DetectionWindow,
    RenderedSLO,
    Traffic,
    TrafficSource,
    detection_group,
    detection_window,
    first_firing,
    healthy_history,
    quiet_group,
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


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    rules: int | None  # rule count promtool reported, when it succeeded
    output: str
    seconds: float


def check_rules(
    path: str | Path, *, timeout: float = 60.0, promtool: str | None = None
) -> CheckResult:
    """``promtool check rules PATH``."""
    binary = promtool or find_promtool()
    path = Path(path)
    started = time.monotonic()
    proc = subprocess.run(
        [binary, "check", "rules", str(path)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    found = re.search(r"SUCCESS: (\d+) rules found", proc.stdout)
    return CheckResult(
        proc.returncode == 0,
        int(found.group(1)) if found else None,
        proc.stdout + proc.stderr,
        time.monotonic() - started,
    )
