"""Running ``slogen test``'s plan in promtool and reading each scenario's outcome from it."""

from __future__ import annotations

from dataclasses import dataclass

from slogen.durations import format_duration
from slogen.errors import SlogenError
from slogen.testing.planning import TestPlan
from slogen.testing.promtool import (
    UNTRUSTED,
    PromtoolMissing,
    TestRun,
    find_promtool,
    probe_value,
    run_tests,
)
from slogen.testing.scenarios import Scenario
from slogen.testing.timing import INTERVAL, seconds_text


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    passed: bool
    observed: str  # what happened, for people
    observed_seconds: float | None
    details: tuple[str, ...] = ()  # failed checks: expected / got


@dataclass
class TestResults:
    __test__ = False

    plan: TestPlan
    run: TestRun | None
    results: list[ScenarioResult]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return sum(not r.passed for r in self.results)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.plan.problems


def run_plan(
    plan: TestPlan, *, jobs: int | None = None, promtool: str | None = None
) -> TestResults:
    groups = plan.groups
    if not groups:
        return TestResults(plan, None, [])
    run = run_tests(
        None, groups, evaluation_interval=INTERVAL, jobs=jobs, promtool=promtool, split=True
    )
    outcomes = {o.check.id: o for o in run.outcomes}
    results = []
    for scenario in plan.scenarios:
        failed = [outcomes[c] for c in scenario.checks if not outcomes[c].passed]
        if any(o.got == UNTRUSTED for o in failed):  # promtool could not run the group at all
            details = ("promtool did not evaluate these checks: see its errors below",)
            results.append(ScenarioResult(scenario, False, "no result", None, details))
            continue
        observed_seconds = None
        seen = None
        if scenario.observe is not None:
            seen = probe_value(outcomes[scenario.observe])
        if seen is not None:
            observed_seconds = (
                seen + INTERVAL - scenario.reference
                if scenario.observe_last
                else seen - scenario.reference
            )
        observed = _observed_text(scenario, seen, observed_seconds)
        details = tuple(
            f"{o.check.id} at {format_duration(o.check.eval_time)}: expected "
            f"{o.expected or '(nothing)'}, got {o.got or '(nothing)'}"
            for o in failed
        )
        results.append(ScenarioResult(scenario, not failed, observed, observed_seconds, details))
    return TestResults(plan, run, results)


def _observed_text(scenario: Scenario, seen: float | None, seconds: float | None) -> str:
    if scenario.observe is None:
        return ""
    if scenario.kind == "reset":
        if seen is None:
            return "never fired"
        if seconds is not None and seconds <= 0:
            return "cleared before the incident ended"
        return f"cleared {seconds_text(seconds)} after it ended"
    if seen is None:
        if scenario.expected_seconds is None:
            return f"never fired in {seconds_text(scenario.horizon)}"
        return "did not fire"
    if seconds is not None and seconds < 0:
        return f"fired {seconds_text(-seconds)} before the incident began"
    if scenario.expected_seconds is None:
        return f"fired {seconds_text(seconds)} after the start"
    return f"fired after {seconds_text(seconds)}"


def require_promtool() -> str:
    """promtool's path, or a :class:`SlogenError` that says how to get it."""
    try:
        return find_promtool()
    except PromtoolMissing as exc:
        raise SlogenError(
            f"slogen test runs promtool, which is missing: {exc}",
            hint="install Prometheus's promtool, or only write the tests with "
            "`slogen test --no-run --out DIR` and run them where promtool is",
        ) from None
