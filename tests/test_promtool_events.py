"""``min_events`` counts events for ``rate()`` and ``increase()`` SLIs alike, proven by promtool.

Two SLOs identical but for how their queries count (``sum(rate(x[{{ window }}]))``, a
per-second rate, and ``sum(increase(x[{{ window }}]))``, a count over the window), both with
``min_events: 100`` on the workbook policy, are fed the same counters: every request failing, at
1, 10 and 100 events per hour (page-1h's long window) and at normal traffic (100 per second).
Once the long window is full:

* ``slogen:sli_events:count1h`` equals the events fed, within one evaluation's rounding
  (Prometheus 2's closed ranges hold one sample more than W/1m: up to ``N·(1 + 1m/1h)``);
* page-1h never fires at 1 and 10 events, and fires at 100 and at normal traffic.

The generated rules once assumed every SLI was a per-second rate: an ``increase()`` SLI counted
~300× the events it saw (a 5m count summed once a minute), so one failed request an hour paged.
promtool is a hard requirement (CI installs it): without it these tests fail, never skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest

from slogen.backends.prometheus.render import recording_rules
from slogen.spec.loader import load_project
from slogen.testing.promtool import probe_value
from tests import promtool as pt

pytestmark = pytest.mark.promtool

INTERVAL = 60
LONG = 3600  # page-1h's long window
MIN_EVENTS = 100
SHAPES = ("rate", "increase")
EVENTS = (1, 10, 100, 360_000)  # per hour; the last is 100 per second
CASES = [(shape, events) for shape in SHAPES for events in EVENTS]

SPEC = """\
service: events
slos:
"""
SLO = """\
  - name: by-{shape}
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: sum({shape}(ev_total{{outcome="failed"}}[{{{{ window }}}}]))
        total: sum({shape}(ev_total[{{{{ window }}}}]))
    alerting:
      min_events: {min_events}
"""


@dataclass(frozen=True)
class Measured:
    shape: str
    events: int  # fed per long window
    counted: float | None  # slogen:sli_events:count1h once the window is full
    fired: bool


def _name(shape: str, events: int) -> str:
    return f"{shape}.{events}-per-hour"


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Measured]:
    promtool = pt.need_promtool(pt.promtool_or_none())
    directory = tmp_path_factory.mktemp("events-spec")
    text = SPEC + "".join(SLO.format(shape=s, min_events=MIN_EVENTS) for s in SHAPES)
    (directory / "events.yaml").write_text(text, encoding="utf-8")
    project = load_project([str(directory)])
    slos = {s: pt.RenderedSLO.from_project(project, "events", f"by-{s}") for s in SHAPES}
    groups = []
    end = 2 * LONG  # the long window full of full-range base samples
    for shape, slo in slos.items():
        query = slo.firing_query("page-1h")
        count = pt.selector("slogen:sli_events:count1h", slo.record_labels())
        for events in EVENTS:
            name = _name(shape, events)
            traffic = pt.Traffic(
                'ev_total{outcome="failed"}', 'ev_total{outcome="ok"}', Fraction(events, 60)
            )
            checks = [
                pt.ExprCheck(f"{name}.count", count, end, probe=True),
                pt.ExprCheck(
                    f"{name}.fired", f"count_over_time({query}[{end + INTERVAL}s])", end, probe=True
                ),
            ]
            series = traffic.series(incident_start=0, error_ratio=1.0, end=end)
            groups.append(pt.TestGroup(name, series, checks, INTERVAL))
    files = {k: v for slo in slos.values() for k, v in slo.rule_files.items()}
    result = pt.run_tests(files, groups, promtool=promtool)
    assert not result.unmatched and not result.timed_out, result.report()
    out = {}
    for shape in SHAPES:
        for events in EVENTS:
            name = _name(shape, events)
            counted = probe_value(result.outcome(f"{name}.count"))
            fired = not result.outcome(f"{name}.fired").passed  # the probe saw a firing alert
            out[shape, events] = Measured(shape, events, counted, fired)
    return out


def _table(measured: dict[tuple[str, int], Measured]) -> str:
    lines = [f"{'shape':9} {'events/1h':>10} {'count1h':>12} fired"]
    for m in measured.values():
        lines.append(f"{m.shape:9} {m.events:>10} {m.counted!s:>12} {m.fired}")
    return "\n".join(lines)


@pytest.mark.parametrize(("shape", "events"), CASES)
def test_event_count_equals_the_events_fed(
    measured: dict[tuple[str, int], Measured], shape: str, events: int
) -> None:
    m = measured[shape, events]
    assert m.counted is not None, _table(measured)
    # One evaluation's rounding: the closed range may hold one more 1m sample than W/1m.
    ceiling = events * (1 + INTERVAL / LONG)
    assert events * (1 - 1e-9) <= m.counted <= ceiling * (1 + 1e-9), _table(measured)


@pytest.mark.parametrize(("shape", "events"), CASES)
def test_min_events_keeps_the_tier_quiet_below_it_and_lets_it_fire_above(
    measured: dict[tuple[str, int], Measured], shape: str, events: int
) -> None:
    m = measured[shape, events]
    assert m.fired is (events >= MIN_EVENTS), _table(measured)


def test_both_shapes_count_the_same(measured: dict[tuple[str, int], Measured]) -> None:
    for events in EVENTS:
        rate, increase = measured["rate", events], measured["increase", events]
        assert rate.counted is not None and increase.counted is not None
        assert abs(rate.counted - increase.counted) <= 1e-6 * events, _table(measured)


def test_increase_rules_differ_from_rate_rules_only_in_names_and_event_counts(
    tmp_path: Path,
) -> None:
    """The ratio rules are ratios of sums, the same for both kinds; only the recorded base
    series' names and the event counts (÷ the base range: a 5m count summed once a minute)
    change."""
    text = SPEC + "".join(SLO.format(shape=s, min_events=MIN_EVENTS) for s in SHAPES)
    (tmp_path / "events.yaml").write_text(text, encoding="utf-8")
    service = load_project([str(tmp_path)]).services[0]
    by_rate, by_increase = (recording_rules(service, slo) for slo in service.slos)
    assert len(by_rate) == len(by_increase)
    for rate, increase in zip(by_rate, by_increase, strict=True):
        record = rate["record"]
        assert increase["record"] == record.replace(
            "sli_errors:rate", "sli_errors:increase"
        ).replace("sli_total:rate", "sli_total:increase")
        expected = rate["expr"].replace('slo="by-rate"', 'slo="by-increase"')
        expected = expected.replace(":rate5m", ":increase5m").replace("(rate(", "(increase(")
        if record.startswith("slogen:sli_events:count"):
            expected += " / 300"
        assert increase["expr"] == expected, record
