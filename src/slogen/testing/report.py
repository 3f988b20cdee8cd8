"""The text ``slogen test`` prints: results per SLO and scenario, the plan, and progress."""

from __future__ import annotations

import os

from slogen.plural import plural
from slogen.testing.planning import TestPlan
from slogen.testing.running import ScenarioResult, TestResults


def render_text(results: TestResults, verbose: bool = True) -> str:
    """Per SLO its synthetic series and each scenario, then the summary line. Without
    ``verbose`` (``-q``) only what needs attention is left: SLOs that could not be tested,
    failed scenarios with their details, promtool's own errors, and the summary line; a CI log
    of a passing run is then one line."""
    lines: list[str] = []
    by_slo: dict[tuple[str, str], list[ScenarioResult]] = {}
    for r in results.results:
        by_slo.setdefault((r.scenario.service, r.scenario.slo), []).append(r)
    for tests in results.plan.slos:
        head = f"{tests.service}/{tests.slo}"
        if tests.problem:
            lines.append(f"{head}: ERROR {tests.problem}")
            continue
        assert tests.synthesis is not None
        if verbose:
            lines.append(f"{head}: synthetic series {tests.synthesis.describe()}")
        for r in by_slo.get((tests.service, tests.slo), []):
            s = r.scenario
            if r.passed and not verbose:
                continue
            if r.passed:
                text = f"  PASS {s.tier:<10} {s.title}: expected {s.expected}"
            else:  # a failure names its SLO too, for whoever greps a CI log
                text = f"  FAIL {head} {s.tier} {s.title}: expected {s.expected}"
            if r.observed:
                text += f"; observed: {r.observed}"
            lines.append(text)
            lines.extend(f"      {d}" for d in r.details)
    if verbose:
        lines.extend(f"{name}: {why}" for name, why in results.plan.skipped)
    if results.run is not None:
        errors = list(dict.fromkeys(results.run.unmatched))  # each process reports its own
        lines.extend(f"promtool: {u}" for u in errors[:20])
    lines.append(summary(results))
    return "\n".join(lines)


def summary(results: TestResults) -> str:
    text = f"{plural(results.passed, 'scenario')} passed, {results.failed} failed"
    problems = len(results.plan.problems)
    if problems:
        text += f", {plural(problems, 'SLO')} could not be tested"
    if results.run is not None:
        run = results.run
        text += (
            f" ({plural(len(results.plan.groups), 'promtool test group')} in "
            f"{plural(run.processes, 'process', 'processes')}, {run.seconds:.1f}s)"
        )
    return text


def progress_line(plan: TestPlan, jobs: int | None) -> str:
    workers = jobs or os.cpu_count() or 1
    return (
        f"Running {plural(len(plan.scenarios), 'scenario')} for "
        f"{plural(len(plan.slos), 'SLO')}: {plural(len(plan.groups), 'promtool test group')}, "
        f"up to {workers} at a time..."
    )


def render_plan(plan: TestPlan) -> str:
    """What ``--no-run`` prepared: scenarios per SLO, and every SLO that cannot be tested."""
    lines = []
    for tests in plan.slos:
        head = f"{tests.service}/{tests.slo}"
        if tests.problem:
            lines.append(f"{head}: ERROR {tests.problem}")
            continue
        assert tests.synthesis is not None
        lines.append(
            f"{head}: {plural(len(tests.scenarios), 'scenario')} in "
            f"{plural(len(tests.groups), 'test group')}; "
            f"synthetic series {tests.synthesis.describe()}"
        )
    for name, why in plan.skipped:
        lines.append(f"{name}: {why}")
    text = f"{plural(len(plan.scenarios), 'scenario')} prepared, not run"
    if plan.problems:
        text += f"; {plural(len(plan.problems), 'SLO')} could not be tested"
    lines.append(text)
    return "\n".join(lines)
