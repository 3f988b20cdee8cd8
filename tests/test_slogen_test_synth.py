"""``slogen test`` without promtool: series synthesis from PromQL, counters, timing brackets.

The synthesis must give, for every shape an SLI is written in, concrete series whose rates make
the errors (or total − good) query exactly ``e × total``; and refuse with a reason (never guess)
for queries it cannot model.
"""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from slogen.backends.prometheus.source import PrometheusSource
from slogen.engine import analyse_tier
from slogen.spec.loader import BUILTIN_POLICIES, load_project
from slogen.testing import promql, suite
from slogen.testing.labelvalues import non_match, shortest_match
from slogen.testing.scenarios import check_stated_traffic
from slogen.testing.synth import SynthesisError, synthesise
from slogen.testing.traffic import SeriesTraffic, counter_values
from tests.conftest import SPECS

W = "[{{ window }}]"


def _synth(errors: str | None, total: str, good: str | None = None):
    return synthesise(PrometheusSource(total, errors, good), 300)


def _check_ratios(syn) -> None:
    """Rates at several error ratios give exactly errors = e·total (in the query's terms)."""
    for e in (0, Fraction(1, 1000), Fraction(288, 10000), Fraction(1, 2), 1):
        for total in (1, 100, Fraction(3, 122)):
            rates = syn.rates(e, total)
            assert all(r >= 0 for r in rates)
            assert syn.total.at(rates) == total
            assert syn.errors.at(rates) == Fraction(e) * total


# -- shapes that must work --------------------------------------------------------------------


def test_errors_as_a_subset_of_total_with_an_extra_regex_matcher() -> None:
    syn = _synth(
        f'sum(rate(http_requests_total{{job="checkout",code=~"5.."}}{W}))',
        f'sum(rate(http_requests_total{{job="checkout"}}{W}))',
    )
    names = [str(s) for s in syn.series]
    assert names == [
        'http_requests_total{code="500",job="checkout"}',
        'http_requests_total{code="other",job="checkout"}',
    ]
    assert syn.roles(0) == ["errors", "total"] and syn.roles(1) == ["total"]
    assert syn.rates(Fraction(1, 10), 100) == [10, 90]
    _check_ratios(syn)


def test_good_and_total_on_different_metrics_of_a_histogram() -> None:
    syn = _synth(
        None,
        f'sum(rate(latency_seconds_count{{job="api"}}{W}))',
        good=f'sum(rate(latency_seconds_bucket{{job="api",le="0.4"}}{W}))',
    )
    assert [str(s) for s in syn.series] == [
        'latency_seconds_bucket{job="api",le="0.4"}',
        'latency_seconds_count{job="api"}',
    ]
    assert syn.roles(0) == ["good"] and syn.roles(1) == ["total"]
    # 10% slow: the bucket grows at 90, the count at 100
    assert syn.rates(Fraction(1, 10), 100) == [90, 100]
    _check_ratios(syn)


def test_errors_as_count_minus_bucket_as_in_the_billing_worker_spec() -> None:
    project = load_project([str(SPECS)])
    slo = next(o for s, o in project.slos() if s.name == "billing-worker")
    assert slo.indicator.prometheus is not None
    syn = synthesise(slo.indicator.prometheus, 300)
    assert [str(s) for s in syn.series] == [
        'queue_job_wait_seconds_count{queue="invoices"}',
        'queue_job_wait_seconds_bucket{le="300",queue="invoices"}',
    ]
    assert syn.rates(Fraction(1, 4), 100) == [100, 75]
    _check_ratios(syn)


def test_every_example_spec_can_be_synthesised() -> None:
    plan = suite.plan_tests(load_project([str(SPECS)]))
    assert [(s.service, s.slo, s.problem) for s in plan.slos] == [
        ("billing-worker", "freshness", None),
        ("checkout", "availability", None),
        ("checkout", "latency", None),
        ("search", "query-latency", None),
        ("search", "availability", None),
    ]
    kinds = {s.kind for s in plan.scenarios}
    assert kinds == {"outage", "reset", "slow-burn", "below-threshold", "low-traffic"}


def test_sum_by_labels_get_one_shared_value_and_reach_the_alert_labels() -> None:
    syn = _synth(
        f'sum by (job) (rate(req_total{{job="shop",code=~"5..|429"}}{W}))',
        f'sum by (job) (rate(req_total{{job="shop",code!="499"}}{W}))',
    )
    assert syn.output_labels == {"job": "shop"}
    assert all(dict(s.labels)["job"] == "shop" for s in syn.series)
    _check_ratios(syn)
    # by a label no matcher pins: every series gets the same value, so one group results
    syn = _synth(
        f"sum by (cluster) (rate(req_total{{code=~'5..'}}{W}))",
        f"sum by (cluster) (rate(req_total{W}))",
    )
    assert syn.output_labels == {"cluster": "slogen"}


def test_increase_scalars_irate_and_or_vector() -> None:
    syn = _synth(
        f'sum(increase(tasks_total{{result="error"}}{W})) / 300',
        f'sum(increase(tasks_total{{result=~".+"}}{W})) * 2 / 600',
    )
    assert syn.functions == {"increase"}
    _check_ratios(syn)
    syn = _synth(
        f'(sum(irate(jobs_total{{status!~"ok|skipped"}}{W})) or vector(0))',
        f"sum(irate(jobs_total{W}))",
    )
    assert syn.irate_only
    _check_ratios(syn)


def test_a_series_no_basis_needs_is_still_emitted_at_zero() -> None:
    """`sum(rate(x{a="1"}[..])) + sum(rate(y[..]))` has no value if x does not exist at all."""
    syn = _synth(
        f'sum(rate(y{{c=~"5.."}}{W})) or vector(0)',
        f'sum(rate(x{{a="1"}}{W})) + sum(rate(y{W}))',
    )
    assert 'x{a="1"} (total, held at 0)' in syn.describe()
    traffic = suite.SeriesTraffic(syn, Fraction(100))
    series = traffic.timeline([(0, 0), (600, 1)], end=1200)
    assert {s.series for s in series} == {str(s) for s in syn.series}
    assert next(s for s in series if s.series.startswith("x")).values == "0x20"


# -- refusals, with reasons -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errors", "total", "query", "reason"),
    [
        (
            f"histogram_quantile(0.99, sum by (le) (rate(x_bucket{W})))",
            f"sum(rate(x_count{W}))",
            "errors",
            "function histogram_quantile() is not supported",
        ),
        (f"sum(rate(x{{c='5'}}{W}))", f"avg(rate(x{W}))", "total", "aggregation 'avg'"),
        (
            f"sum(rate(x{{c='5'}}{W})) / sum(rate(x{W}))",
            f"sum(rate(x{W}))",
            "errors",
            "vector / vector is not linear",
        ),
        (f"sum(rate(x{{c='5'}}{W}))", f"sum(rate(x{W} offset 1h))", "total", "'offset'"),
        (f"rate(x{{c='5'}}{W})", f"rate(x{W})", "total", "yields 2 series"),
        (f"sum(rate(x{{c='5'}}{W}))", "sum(x)", "total", "no rate(), irate() or increase()"),
        (f"sum(rate(x{{c='5'}}{W}))", f"sum(rate(x{W})) + sum(x)", "total", "raw counter value"),
        (
            f"sum(rate(x{{c='5'}}{W}))",
            f"sum(rate(x{{c='5'}}{W}))",
            "errors/total",
            "an error ratio of 0",
        ),
        (f"sum(rate(x{{c='5'}}{W}))", f"sum(rate(x{{c!~'.*'}}{W}))", "total", "no label values"),
        (f"sum(rate(x{{c='5'}}{W}))", f"sum(rate(x{W})", "total", "expected ',' or ')'"),
        (
            f"sum(rate(x{{c='5'}}{W}))",
            f"sum by (job) (rate(x{W}))",
            "errors",
            "keeps labels {} but total keeps",
        ),
        (
            f"sum(irate(x{{c='5'}}{W}))",
            f"sum(rate(x{W}))",
            "errors/total",
            "mixes irate() with rate()",
        ),
        (
            f"sum(rate(x{{c='5'}}{W}))",
            f"sum(rate({{__name__=~'x|y'}}{W}))",
            "total",
            "metric name must be given once",
        ),
    ],
)
def test_queries_it_cannot_model_are_refused_with_the_query_and_reason(
    errors: str, total: str, query: str, reason: str
) -> None:
    with pytest.raises(SynthesisError) as info:
        _synth(errors, total)
    assert info.value.query == query
    assert reason in info.value.reason


def test_an_unsynthesisable_slo_is_reported_not_guessed(tmp_path) -> None:
    (tmp_path / "p.yaml").write_text(
        "service: p\nslos:\n  - name: lat\n    objective: 99\n    window: 30d\n"
        "    indicator:\n      prometheus:\n"
        "        errors: sum(rate(x{code=~'5..'}[{{ window }}]))\n"
        "        total: count(rate(x[{{ window }}]))\n",
        encoding="utf-8",
    )
    plan = suite.plan_tests(load_project([str(tmp_path)]))
    (only,) = plan.slos
    assert only.problem is not None and "total query" in only.problem
    assert "aggregation 'count'" in only.problem
    assert not only.groups and not only.scenarios


# -- label values from matchers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("5..", "500"),
        ("Internal|Unavailable|DeadlineExceeded", "Internal"),
        ("2[0-9][0-9]", "200"),
        ("[^0-9]+", "a"),
        ("a+b?", "a"),
        (r"\d{3}", "000"),
        ("(foo|ba)\\1", "baba"),
        (".*", ""),
        ("(?i)get|post", "get"),
    ],
)
def test_shortest_match_walks_the_parsed_regex(pattern: str, expected: str) -> None:
    found = shortest_match(pattern)
    assert found == expected
    assert re.fullmatch(pattern, found)


def test_non_match_finds_a_plain_value_outside_the_regex() -> None:
    assert non_match("5..") == "other"
    assert non_match("other|x") == "0"
    assert non_match(".*") is None


def test_parser_reads_the_subset_and_names_selectors() -> None:
    node = promql.parse('sum by (a) (rate(x{a="1", b!~"2|3"}[5m])) - 2 * sum(increase(y[1h]))')
    assert [str(s) for s in promql.selectors(node)] == ['x{a="1",b!~"2|3"}', "y"]
    assert promql.grouping_labels(node) == ["a"]
    assert promql.range_functions(node) == {"rate", "increase"}


# -- counters and timing ----------------------------------------------------------------------


def test_counter_values_hold_the_exact_integral_at_each_sample() -> None:
    # 100/s, then 0 from 3630 (mid-interval): sample 61 carries 30 s of the first rate
    text = counter_values([(Fraction(0), Fraction(100)), (Fraction(3630), Fraction(0))], 7200, 60)
    assert text == "0+6000x60 363000x59"  # samples 0..60, then 61..120
    text = counter_values(
        [(Fraction(0), Fraction(0)), (Fraction(3630), Fraction(100)), (Fraction(5430), 0)],
        7200,
        60,
    )
    assert text == "0x60 3000+6000x29 180000x29"
    assert counter_values([(Fraction(0), Fraction(1))], 0, 60) == "0"


def test_timing_band_is_the_engine_with_and_without_prometheus_2s_extra_sample() -> None:
    """Prometheus 2 ranges hold W/interval + 1 samples: a window summed from 5m rates weighs one
    interval more. The band's low end is the engine's own prediction."""
    workbook = BUILTIN_POLICIES["workbook"].tiers
    page, ticket = (
        analyse_tier(Fraction("99.9"), 30 * 86400, t) for t in (workbook[0], workbook[2])
    )
    band = suite.timing(page, 300, irate=False)
    assert band.detection(1.0)[0] == pytest.approx(page.detection_time(1.0, 300))
    # the 5m short window is read directly: its reset does not move
    assert band.reset(1.0) == pytest.approx((page.reset_time(1.0, 300),) * 2)
    band = suite.timing(ticket, 300, irate=False)
    low, high = band.reset(1.0)
    assert low == pytest.approx(ticket.reset_time(1.0, 300))
    assert high - low == pytest.approx(60 * (1 - 0.001), abs=1)
    # threshold and burn rate are unchanged by the evaluated windows
    assert band.high.threshold == ticket.threshold and band.high.burn_rate == ticket.burn_rate


def test_bracket_is_one_interval_either_side_of_the_band() -> None:
    b = suite.bracket(3630, 176.4, 178.0)
    assert b.before == 3720 and b.after == 3840  # last eval < 3746.4; last eval ≤ 3868
    assert b.before < 3630 + 176.4 - 60 <= b.before + 60
    assert b.after <= 3630 + 178.0 + 60 < b.after + 60


@pytest.mark.parametrize(("function", "per_event"), [("rate", 1), ("increase", 300)])
def test_scenario_traffic_is_stated_in_events_for_rate_and_increase(
    function: str, per_event: int
) -> None:
    """1 event/s means counters growing by 1/s, whatever the query's unit: an increase() total
    reads 300 for it (a 5m count), and the traffic once fed it 1/300 of the events it stated."""
    syn = _synth(f'sum({function}(req_total{{code=~"5.."}}{W}))', f"sum({function}(req_total{W}))")
    assert syn.per_event == per_event
    traffic = SeriesTraffic(syn, Fraction(1))
    assert traffic.events_per_second() == 1 == sum(traffic.rates(Fraction(0)))
    assert syn.total.at(traffic.rates(Fraction(1, 2))) == per_event


def test_a_low_traffic_label_its_series_do_not_carry_is_refused() -> None:
    syn = _synth(f'sum(increase(req_total{{code=~"5.."}}{W}))', f"sum(increase(req_total{W}))")
    honest = SeriesTraffic(syn, Fraction(14, 10) / 60)  # 1.4 events a minute: 84 an hour
    check_stated_traffic(honest, Fraction(84), 3600, 100)
    query_units = SeriesTraffic(syn, Fraction(14, 10) / 60 / 300)  # the query's value, not events
    with pytest.raises(AssertionError, match=r"states 84\+ events per 1h .* carry 0\.28"):
        check_stated_traffic(query_units, Fraction(84), 3600, 100)
    with pytest.raises(AssertionError):  # 90 an hour: a closed 1h range sees 91.5 ≥ 90
        check_stated_traffic(SeriesTraffic(syn, Fraction(90, 3600)), Fraction(90), 3600, 90)
