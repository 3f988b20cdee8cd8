"""The generated Prometheus rules, run by the real promtool.

* ``promtool check rules`` accepts every rendered file (plain rules and PrometheusRule).
* Rule unit tests feed synthetic counters (failed and successful requests, constant total
  traffic, one sample a minute) and show that each tier of the built-in ``workbook`` policy
  fires within one evaluation interval of the engine's predicted detection time
  (``TierMath.detection_time(e, resolution=base_window(slo))``), stays quiet at 0.9× its
  threshold, and respects ``min_events``.
* The harness itself can fail: a rule with a wrong threshold is caught.

Incident alignment: the engine predicts from the instant errors start; Prometheus only sees
them through the next scrape, whose counter carries the errors of the part of the interval the
incident covered (see ``Traffic``). Prometheus 2.x ranges are closed ([t−W, t] holds W/1m + 1
samples); with a start half an interval after a scrape, a 2×T burn then reaches exactly T one
interval before it exceeds it, and fires one interval after the prediction (or, when float
rounding tips that exact tie, at the prediction): the edge of the tolerance, so that offset is
always tested.

promtool is a hard requirement (CI installs it): without it these tests fail, never skip.
Set ``$PROMTOOL`` to use another binary. The detection and quiet scenarios run once, spread over
one promtool process per CPU; each test then reads its own scenario's outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from slogen.backends.prometheus import rulefiles as prometheus
from slogen.durations import format_duration, parse_duration
from slogen.engine import TierMath, analyse_tier
from slogen.numbers import fmt
from slogen.spec.loader import BUILTIN_POLICIES, load_project
from tests import promtool as pt
from tests.cli import run
from tests.conftest import SPECS

pytestmark = pytest.mark.promtool

INTERVAL = 60  # scrape and evaluation interval, seconds
OBJECTIVE = "99.9"
PERIOD = "30d"
REQUESTS_PER_MINUTE = 6000  # 100 req/s
# Incident starts relative to the scrape before them: half an interval (the average start, and
# for a 2×T burn the latest detection relative to the engine's prediction) and exactly on a
# scrape. Only half an interval for tiers whose healthy history is days long (cost: each such
# scenario evaluates > 3 days of minutes).
OFFSETS = (30, 0)
LONG_HISTORY = 6 * 3600  # tiers with a longer window: one offset, rules reduced to the tier's own

SHOP_SPEC = f"""\
service: shop
description: Web shop front end (test fixture)
owner: web
labels: {{env: test}}
slos:
  - name: availability
    description: Requests that do not fail
    category: availability
    objective: {OBJECTIVE}
    window: {PERIOD}
    indicator:
      prometheus:
        errors: sum(rate(shop_requests_total{{code=~"5.."}}[{{{{ window }}}}]))
        total: sum(rate(shop_requests_total[{{{{ window }}}}]))
    alerting:
      runbook: https://runbooks.example.com/shop
      page:
        prometheus: {{route: pager}}
"""

ORDERS_SPEC = f"""\
service: orders
owner: web
slos:
  - name: placement
    objective: {OBJECTIVE}
    window: {PERIOD}
    indicator:
      prometheus:
        errors: sum(rate(orders_total{{outcome="failed"}}[{{{{ window }}}}]))
        total: sum(rate(orders_total[{{{{ window }}}}]))
    alerting:
      min_events: 100
"""

SHOP_TRAFFIC = pt.Traffic(
    'shop_requests_total{code="500"}', 'shop_requests_total{code="200"}', REQUESTS_PER_MINUTE
)


def _workbook() -> list[TierMath]:
    return [
        analyse_tier(Fraction(OBJECTIVE), parse_duration(PERIOD), tier)
        for tier in BUILTIN_POLICIES["workbook"].tiers
    ]


@dataclass(frozen=True)
class Case:
    """One detection scenario: a tier, an error ratio (named relative to its threshold) and
    the incident's offset after a scrape."""

    tier: str
    label: str
    error_ratio: float
    offset: int

    @property
    def id(self) -> str:
        return f"{self.tier}-e={self.label}-at+{self.offset}s"


def _cases() -> list[Case]:
    cases = []
    for math_ in _workbook():
        ratios = {
            "100%": 1.0,
            "10xT": float(10 * math_.threshold),
            "2xT": float(2 * math_.threshold),
        }
        offsets = OFFSETS if math_.long <= LONG_HISTORY else OFFSETS[:1]
        for label, ratio in ratios.items():
            if ratio <= 1:
                cases.extend(Case(math_.id, label, ratio, offset) for offset in offsets)
    return cases


CASES = _cases()
TIERS = [m.id for m in _workbook()]


@pytest.fixture(scope="module")
def promtool_path() -> str | None:
    return pt.promtool_or_none()


def need(promtool_path: str | None) -> str:
    return pt.need_promtool(promtool_path)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("specs")
    (directory / "shop.yaml").write_text(SHOP_SPEC, encoding="utf-8")
    (directory / "orders.yaml").write_text(ORDERS_SPEC, encoding="utf-8")
    return load_project([str(directory)])


@pytest.fixture(scope="module")
def shop(project) -> pt.RenderedSLO:
    return pt.RenderedSLO.from_project(project, "shop", "availability")


@pytest.fixture(scope="module")
def orders(project) -> pt.RenderedSLO:
    return pt.RenderedSLO.from_project(project, "orders", "placement")


def _for_tier(slo: pt.RenderedSLO, tier: str) -> pt.RenderedSLO:
    """The whole rule file, except for days-long tiers: only the rules that tier reads."""
    return slo.only_tier(tier) if slo.tiers[tier].long > LONG_HISTORY else slo


def quiet_duration(math_: TierMath) -> int:
    """Well past the long window: 2× it, or for days-long windows long + 2× short (both windows
    have then held nothing but the incident for a whole short window; their values have been
    constant since long + the rate range, which the ratio checks at the end confirm)."""
    if math_.long > LONG_HISTORY:
        return math_.long + 2 * math_.short
    return 2 * math_.long


@dataclass
class Scenarios:
    run: pt.TestRun
    detection: dict[str, tuple[pt.TestGroup, pt.DetectionWindow]]
    quiet: dict[str, pt.TestGroup]


@pytest.fixture(scope="module")
def scenarios(promtool_path: str | None, shop: pt.RenderedSLO) -> Scenarios | None:
    """Every detection and quiet scenario, run once in one batch (they are independent)."""
    if promtool_path is None:
        return None
    detection = {}
    for case in CASES:
        slo = _for_tier(shop, case.tier)
        group, window = pt.detection_group(
            slo, case.tier, case.error_ratio, SHOP_TRAFFIC, offset=case.offset, name=case.id
        )
        group.rule_files = slo.rule_files
        detection[case.id] = (group, window)
    quiet = {}
    for math_ in _workbook():
        slo = _for_tier(shop, math_.id)
        length = quiet_duration(math_)
        group = pt.quiet_group(
            slo,
            math_.id,
            Fraction(9, 10) * math_.threshold,
            SHOP_TRAFFIC,
            duration_=length,
            checkpoints=[math_.short, math_.long / 2, math_.long, (math_.long + length) / 2],
            name=f"{math_.id}-quiet",
        )
        group.rule_files = slo.rule_files
        quiet[math_.id] = group
    groups = [g for g, _ in detection.values()] + list(quiet.values())
    result = pt.run_tests(None, groups, promtool=promtool_path)
    print(
        f"\npromtool: {len(groups)} test groups in {result.processes} processes, "
        f"{result.seconds:.1f}s wall, {result.cpu_seconds:.1f}s CPU"
    )
    for case in CASES:
        group, window = detection[case.id]
        first = pt.first_firing(result, group, window)
        seen = "-" if first is None else format_duration(first - window.incident_start)
        print(
            f"  {case.id:28} predicted {window.predicted:9.1f}s "
            f"({format_duration(round(window.predicted))}), first firing eval "
            f"{seen} after the incident start"
        )
    return Scenarios(result, detection, quiet)


def need_scenarios(promtool_path: str | None, scenarios: Scenarios | None) -> Scenarios:
    need(promtool_path)
    assert scenarios is not None
    return scenarios


def _group_failures(run_: pt.TestRun, group: pt.TestGroup) -> str:
    failed = [o for o in run_.failures if o.group == group.name]
    lines = [
        f"{o.check.id} at {format_duration(o.check.eval_time)}: expected {o.expected}, got {o.got}"
        for o in failed
    ]
    return "\n".join(lines)


# -- 1. promtool check rules ------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    out = {}
    for form in ("rules", "prometheusrule"):
        directory = tmp_path_factory.mktemp(f"build-{form}")
        run("build", str(SPECS), "-o", str(directory), "--prometheus-format", form)
        out[form] = sorted((directory / "prometheus").iterdir())
    return out


@pytest.mark.parametrize("form", ["rules", "prometheusrule"])
def test_promtool_check_rules_accepts_every_rendered_file(
    promtool_path: str | None, built: dict[str, list[Path]], form: str, tmp_path: Path
) -> None:
    promtool_bin = need(promtool_path)
    files = built[form]
    services = [s.name for s in load_project([str(SPECS)]).services]
    assert [p.name for p in files] == sorted(prometheus.file_name(s, form) for s in services)
    for path in files:
        text = path.read_text(encoding="utf-8")
        if form == "prometheusrule":
            rules_text = pt.rule_file_from_prometheusrule(text)
            path = tmp_path / path.name.replace(".prometheusrule.yml", ".rules.yml")
            path.write_text(rules_text, encoding="utf-8")
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        expected_rules = sum(len(g["rules"]) for g in groups)
        result = pt.check_rules(path, promtool=promtool_bin)
        assert result.ok, f"promtool check rules {path.name}:\n{result.output}"
        assert result.rules == expected_rules, result.output


# -- 2. detection time ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_tier_fires_within_one_interval_of_predicted_detection(
    promtool_path: str | None, scenarios: Scenarios | None, case: Case
) -> None:
    scenarios = need_scenarios(promtool_path, scenarios)
    group, window = scenarios.detection[case.id]
    failures = _group_failures(scenarios.run, group)
    assert not scenarios.run.unmatched and not scenarios.run.timed_out, scenarios.run.report()
    first = pt.first_firing(scenarios.run, group, window)
    assert not failures, (
        f"{case.tier} at error ratio {case.error_ratio:g}: engine predicts detection "
        f"{window.predicted:.1f}s after the incident start (t={window.incident_start:g}s); "
        f"promtool disagrees:\n{failures}"
    )
    assert first is not None
    assert abs(first - window.predicted_at) <= INTERVAL + pt.EPSILON, (first, window)


def test_cross_checks_cover_another_tier_firing_while_the_target_is_quiet(
    promtool_path: str | None, scenarios: Scenarios | None
) -> None:
    """At 100% errors page-1h fires minutes before page-6h (same alert name). The page-6h
    scenario asserts, at the instant it requires page-6h to be quiet, that page-1h is firing:
    the assertions select by the ``tier`` label and are not confused by the other tier."""
    scenarios = need_scenarios(promtool_path, scenarios)
    case = next(c for c in CASES if c.tier == "page-6h" and c.label == "100%")
    group, window = scenarios.detection[case.id]
    assert window.quiet_at is not None
    quiet_ids = {c.id for c in group.checks if c.eval_time == window.quiet_at}
    other = [i for i in quiet_ids if ".other.page-1h." in i]
    assert other, sorted(quiet_ids)
    (check,) = [c for c in group.checks if c.id == other[0]]
    assert check.expected, "page-1h must be asserted firing at page-6h's quiet instant"
    assert scenarios.run.outcome(check.id).passed
    assert scenarios.run.outcome(f"{case.id}.quiet").passed


# -- 3. never fires below the threshold -------------------------------------------------------


@pytest.mark.parametrize("tier", TIERS)
def test_tier_never_fires_at_nine_tenths_of_its_threshold(
    promtool_path: str | None, scenarios: Scenarios | None, tier: str
) -> None:
    scenarios = need_scenarios(promtool_path, scenarios)
    group = scenarios.quiet[tier]
    quiet_checks = [c for c in group.checks if ".quiet." in c.id]
    assert len(quiet_checks) >= 4
    assert max(c.eval_time for c in quiet_checks) == group.end
    failures = _group_failures(scenarios.run, group)
    assert not failures, f"{tier} at 0.9× its threshold:\n{failures}"
    assert all(scenarios.run.outcome(c.id).passed for c in group.checks)


# -- 4. min_events ----------------------------------------------------------------------------


def test_min_events_gates_the_page_tier_on_traffic(
    promtool_path: str | None, orders: pt.RenderedSLO
) -> None:
    promtool_bin = need(promtool_path)
    tier = "page-1h"
    math_ = orders.tiers[tier]
    min_events = orders.min_events
    assert min_events is not None
    samples = math_.long // INTERVAL  # scrapes per long window
    low = max(1, (min_events - 1) // samples)  # requests per minute: too few events per window
    high = 10 * low
    assert low * samples < min_events <= high * samples
    failing, ok = 'orders_total{outcome="failed"}', 'orders_total{outcome="ok"}'

    quiet = pt.quiet_group(
        orders,
        tier,
        1.0,
        pt.Traffic(failing, ok, low),
        duration_=2 * math_.long,
        checkpoints=[math_.short, math_.long / 2, math_.long, 1.5 * math_.long],
        name="min-events-low",
    )
    quiet.checks.append(
        pt.events_check(
            orders,
            "min-events-low.events",
            math_.long,
            quiet.end,
            at_least=low * samples,  # the events the long window really saw
            below=min_events,
        )
    )
    fires, window = pt.detection_group(
        orders, tier, 1.0, pt.Traffic(failing, ok, high), name="min-events-high"
    )
    result = pt.run_tests(orders.rule_files, [quiet, fires], promtool=promtool_bin)
    assert result.ok, result.report()
    # Every request failed and both windows say so; only the event count kept it quiet.
    assert result.outcome("min-events-low.events").passed
    assert result.outcome("min-events-low.long.ratio").passed
    assert result.outcome("min-events-low.short.ratio").passed
    first = pt.first_firing(result, fires, window)
    assert first is not None and abs(first - window.predicted_at) <= INTERVAL + pt.EPSILON


def test_min_events_counts_events_actually_seen_by_a_new_service(
    promtool_path: str | None, orders: pt.RenderedSLO
) -> None:
    """A service whose traffic has only just begun (every request failing) must not page before
    its long window has seen ``min_events`` events. Exposes a bug: slogen:sli_events:count<W>
    is avg_over_time(rate[W]) × W, which extrapolates a partly filled window to all of W."""
    promtool_bin = need(promtool_path)
    tier = "page-1h"
    math_ = orders.tiers[tier]
    min_events = orders.min_events
    assert min_events is not None
    # Requests per minute such that min_events are reached half-way through the long window.
    per_minute = math.ceil(2 * min_events / (math_.long / INTERVAL))
    reached = math.ceil(min_events / per_minute) * INTERVAL  # seconds until min_events seen
    traffic = pt.Traffic('orders_total{outcome="failed"}', 'orders_total{outcome="ok"}', per_minute)
    query = orders.firing_query(tier)
    quiet_at = sorted({t // INTERVAL * INTERVAL for t in (reached // 3, 2 * reached // 3)})
    checks = [
        pt.ExprCheck(f"new-service.quiet.{t}", query, t)
        for t in [*quiet_at, reached - 2 * INTERVAL]
    ]
    later = (3 * reached // 2) // INTERVAL * INTERVAL  # 1.5× min_events seen
    checks.append(pt.ExprCheck("new-service.firing", query, later, (orders.firing_sample(tier),)))
    group = pt.TestGroup(
        "new-service", traffic.series(incident_start=0, error_ratio=1.0, end=later), checks
    )
    result = pt.run_tests(orders.rule_files, [group], promtool=promtool_bin)
    assert not result.unmatched and not result.timed_out, result.report()
    assert result.ok, (
        f"{tier} fired before {min_events} events were seen ({per_minute} requests/min from "
        f"t=0, so {min_events} events only at {format_duration(reached)}):\n{result.report()}"
    )


# -- 5. the harness catches a wrong threshold -------------------------------------------------


@pytest.mark.parametrize(("factor", "failing_check"), [(10, "firing"), (Fraction(1, 10), "quiet")])
def test_harness_fails_on_a_wrong_threshold(
    promtool_path: str | None, shop: pt.RenderedSLO, factor: Fraction | int, failing_check: str
) -> None:
    """Editing page-1h's threshold in the rendered text (0.0144 → 0.144, or → 0.00144) makes
    the detection scenarios fail: too late to fire, or firing too early."""
    promtool_bin = need(promtool_path)
    tier = "page-1h"
    math_ = shop.tiers[tier]
    right, wrong = f"> {fmt(math_.threshold)}", f"> {fmt(math_.threshold * factor)}"
    counts = [text.count(right) for text in shop.rule_files.values()]
    assert sum(counts) == 2, "page-1h's threshold appears once per window"
    broken = shop.edit_rules(lambda text: text.replace(right, wrong))
    threshold = float(math_.threshold)
    groups = [
        pt.detection_group(broken, tier, e, SHOP_TRAFFIC, name=f"broken-e={label}")[0]
        for label, e in (("100%", 1.0), ("10xT", 10 * threshold), ("2xT", 2 * threshold))
        if e <= 1
    ]
    result = pt.run_tests(broken.rule_files, groups, promtool=promtool_bin)
    assert not result.ok, "the harness accepted a rule with the wrong threshold"
    assert not result.timed_out and not result.unmatched, result.report()
    failed = {(o.group, o.check.id.rsplit(".", 1)[-1]) for o in result.failures}
    assert failed == {(g.name, failing_check) for g in groups}, result.report()


def test_detection_bracket_is_the_tightest_pair_of_evaluations() -> None:
    """The bracket is the tightest pair of evaluations encoding |first firing − prediction| ≤
    one interval (no promtool needed; guards the arithmetic the scenarios rely on)."""
    math_ = next(m for m in _workbook() if m.id == "page-1h")
    start = 3630.0
    window = pt.detection_window(math_, 1.0, 300, start, INTERVAL)
    at = start + math_.detection_time(1.0, 300)
    assert window.firing_at <= at + INTERVAL < window.firing_at + INTERVAL
    assert window.quiet_at is not None
    assert window.quiet_at < at - INTERVAL <= window.quiet_at + INTERVAL
    assert window.quiet_at % INTERVAL == 0 and window.firing_at % INTERVAL == 0
    assert math.isclose(window.predicted, math_.detection_time(1.0, 300))
