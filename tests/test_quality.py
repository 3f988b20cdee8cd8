"""The alert-quality report of ``slogen explain`` against the SRE Workbook's published figures.

Workbook ch. 5, for a 99.9 % SLO over 30 days: the multiwindow, multi-burn-rate policy (2 % of
the budget in 1h, 5 % in 6h, 10 % in 3d) detects a full outage after 0.864, 2.16 and 4.32
minutes, each after spending exactly its budget share; a single-window 1h alert at burn rate 36
resets about 58 minutes after a full outage ends. 3,000,000 requests a month at 99.9 % leave a
budget of 3,000 failed requests.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from slogen.backends.prometheus.source import PrometheusSource
from slogen.quality import error_ratio_grid, quality_report
from slogen.spec.loader import BUILTIN_POLICIES, load_project
from slogen.spec.model import SLO, Indicator, Policy, Tier
from slogen.spec.traffic import parse_traffic
from tests.cli import run
from tests.conftest import SPECS

DAY, HOUR, MINUTE = 86400, 3600, 60
SOURCE = PrometheusSource("sum(rate(x[{{ window }}]))", "sum(rate(x{c='5'}[{{ window }}]))")


def _slo(policy: Policy, objective: str = "99.9", window: int = 30 * DAY, **kw) -> SLO:
    return SLO(
        "availability",
        Fraction(objective),
        window,
        Indicator(prometheus=SOURCE),
        policy,
        **kw,
    )


WORKBOOK = _slo(BUILTIN_POLICIES["workbook"])


def _example(service: str, slo: str) -> SLO:
    project = load_project([str(SPECS)])
    return next(o for s, o in project.slos() if (s.name, o.name) == (service, slo))


# -- the four properties ----------------------------------------------------------------------


def test_detection_of_a_full_outage_matches_the_workbook() -> None:
    report = quality_report(WORKBOOK, None)
    full = report["error_ratios"][0]
    assert full["error_ratio"] == "1" and full["burn_rate"] == "1000"
    seconds = {t: v["detection_seconds"] for t, v in full["tiers"].items()}
    assert seconds == {"page-1h": 51.84, "page-6h": 129.6, "ticket-3d": 259.2}
    assert seconds["page-1h"] / MINUTE == pytest.approx(0.864)  # "0.864 minutes" = 52 s
    assert seconds["page-6h"] / MINUTE == pytest.approx(2.16)
    assert seconds["ticket-3d"] / MINUTE == pytest.approx(4.32)
    assert full["first"] == {
        "tier": "page-1h",
        "severity": "page",
        "detection_seconds": 51.84,
        "budget_spent": "0.02",
    }


def test_precision_each_tier_fires_after_spending_exactly_its_share() -> None:
    report = quality_report(WORKBOOK, 300)
    for row in report["error_ratios"]:
        for tier, cell in row["tiers"].items():
            if cell["detection_seconds"] is not None:
                share = {"page-1h": "0.02", "page-6h": "0.05", "ticket-3d": "0.1"}[tier]
                assert cell["budget_spent"] == share
                # with Prometheus' 5m rates it fires a little later, so a little more is spent
                assert Fraction(cell["prometheus_budget_spent"]) > Fraction(share)
    assert {t: v["budget_spent_before_firing"] for t, v in report["tiers"].items()} == {
        "page-1h": "0.02",
        "page-6h": "0.05",
        "ticket-3d": "0.1",
    }


def test_single_window_reset_at_burn_rate_36_is_about_58_minutes() -> None:
    """The Workbook's example: a 1h window at burn rate 36 (5 % of 30 days' budget in 1h)
    keeps firing for 58 minutes after a full outage ends; a 5m short window fixes that."""
    single = _slo(Policy("single", (Tier("page", Fraction(5, 100), HOUR, HOUR),)))
    report = quality_report(single, None)
    reset = report["tiers"]["page-1h"]["reset_seconds"]
    assert reset == pytest.approx(HOUR * (1 - 0.036))
    assert round(reset / MINUTE) == 58
    multi = _slo(Policy("multi", (Tier("page", Fraction(5, 100), HOUR, 5 * MINUTE),)))
    assert quality_report(multi, None)["tiers"]["page-1h"]["reset_seconds"] == pytest.approx(
        5 * MINUTE * (1 - 0.036)
    )


def test_recall_and_the_burns_no_tier_catches() -> None:
    report = quality_report(WORKBOOK, None)
    unnoticed = {t: v["unnoticed_below"] for t, v in report["tiers"].items()}
    assert unnoticed["page-1h"] == {
        "error_ratio": "0.0144",
        "burn_rate": "14.4",
        "budget_spent_in_period": "14.4",
        "budget_exhausted_after_seconds": 30 * DAY / 14.4,  # 2d 2h
    }
    assert unnoticed["ticket-3d"]["budget_spent_in_period"] == "1"  # 100 % of the budget
    assert unnoticed["ticket-3d"]["budget_exhausted_after_seconds"] is None
    assert report["policy"] == [
        {
            "severity": "page",
            "tiers": ["page-1h", "page-6h"],
            "burn_rate_above": "6",
            "burn_rate_up_to": None,
            "error_ratio_above": "0.006",
            "error_ratio_up_to": None,
        },
        {
            "severity": "ticket",
            "tiers": ["ticket-3d"],
            "burn_rate_above": "1",
            "burn_rate_up_to": "6",
            "error_ratio_above": "0.001",
            "error_ratio_up_to": "0.006",
        },
        {
            "severity": None,
            "tiers": [],
            "burn_rate_above": None,
            "burn_rate_up_to": "1",
            "error_ratio_above": None,
            "error_ratio_up_to": "0.001",
            "budget_spent_unnoticed": "1",
        },
    ]


def test_detection_grid_runs_from_100_percent_to_below_the_lowest_threshold() -> None:
    grid = error_ratio_grid([Fraction(144, 10000), Fraction(1, 1000)])
    assert [str(g) for g in grid] == [
        "1",
        "1/2",
        "1/5",
        "1/10",
        "1/20",
        "1/50",
        "1/100",
        "1/200",
        "1/500",
        "1/1000",
    ]
    rows = quality_report(WORKBOOK, None)["error_ratios"]
    assert rows[-1]["first"] is None  # 0.1 % (burn rate 1): no tier fires
    one_percent = next(r for r in rows if r["error_ratio"] == "0.01")
    assert one_percent["tiers"]["page-1h"]["detection_seconds"] is None
    assert one_percent["first"]["tier"] == "page-6h"


def test_the_batch_policy_has_only_tickets_and_misses_no_burn_that_breaks_the_slo() -> None:
    report = quality_report(_example("billing-worker", "freshness"), 300)
    ranges = report["policy"]
    assert [r["severity"] for r in ranges] == ["ticket", None]
    # its slowest tier, 12.5% over 21h of a 7d window, has burn rate exactly 1
    assert ranges[0]["burn_rate_above"] == "1"
    assert ranges[0]["tiers"] == ["ticket-6h", "ticket-21h"]
    # what goes unnoticed spends at most the whole budget: the SLO is still met
    assert Fraction(ranges[1]["budget_spent_unnoticed"]) == 1


# -- traffic and low-traffic advice -----------------------------------------------------------


def test_budget_in_events_at_three_million_requests_a_month() -> None:
    report = quality_report(WORKBOOK, None, parse_traffic("3000000/30d"))
    traffic = report["traffic"]
    assert traffic["error_budget_events"] == "3000"
    assert {t: v["budget_events_before_firing"] for t, v in traffic["tiers"].items()} == {
        "page-1h": "60",
        "page-6h": "150",
        "ticket-3d": "300",
    }
    assert traffic["tiers"]["page-1h"]["long_window_events"] == "4167"
    assert report["low_traffic"] == []  # 347 events in 5m: one failure is 0.29 % < 1.44 %


def test_low_traffic_flags_tiers_a_single_failure_trips_and_suggests_remedies() -> None:
    slo = _example("billing-worker", "freshness")
    report = quality_report(slo, 300, parse_traffic("1000/7d"))
    six, slowest = report["low_traffic"]
    assert six["tier"] == "ticket-6h"
    assert six["one_failure_error_ratio"] == "0.336"  # 1 of ~2.98 events in 30m
    assert six["fires_on_one_failure"] is True  # ~36 events in 6h: 1/36 > 1.4 %
    assert six["suggest_min_events"] == 72  # ceil(1 / 1.4 %)
    assert six["min_events_would_silence"] is True
    assert six["suggest_short_window"] is None  # it would need 12h, longer than 6h
    # ~125 events in 21h: one failure is 0.8%, under the 1% threshold
    assert slowest["tier"] == "ticket-21h" and slowest["fires_on_one_failure"] is False


def test_low_traffic_suggests_a_longer_short_window_when_one_fits() -> None:
    slo = _example("checkout", "availability")  # min_events 100 already
    report = quality_report(slo, 300, parse_traffic("100000/30d"))
    page, six, ticket = report["low_traffic"]
    assert page["tier"] == "page-1h"
    assert page["suggest_short_window"] == "30m"  # 1 / (0.0386/s × 1.44 %) = 30 minutes
    assert page["suggest_min_events"] is None  # 100 ≥ ceil(1 / 1.44 %) = 70
    assert page["fires_on_one_failure"] is False
    assert six["suggest_short_window"] == "1h12m"
    # ~833 events in 6h: one failure is 0.12 % > 0.1 %; 1000 events in the 3d window keep a
    # single failure below the threshold, and the 3d window sees ~10,000
    assert ticket["one_failure_error_ratio"] == "0.0012"
    assert ticket["suggest_short_window"] == "7h12m"
    assert ticket["suggest_min_events"] == 1000
    assert ticket["min_events_would_silence"] is False


# -- through the CLI --------------------------------------------------------------------------


def test_explain_text_has_the_quality_section() -> None:
    out = run("explain", str(SPECS), "--slo", "checkout/availability", "--traffic", "3M/30d")
    text = out.stdout
    assert "Alert quality (SRE Workbook ch. 5); detection time at a constant error ratio:" in text
    assert "       100%       1000      52s   2m 10s     4m 19s  page-1h (page) after 2% of" in text
    assert "0.1%          1    never    never      never  none: goes unnoticed" in text
    assert (
        "policy: burn rate > 6 (error ratio > 0.6%) raises a page; 1 < burn rate ≤ 6 "
        "(0.1% to 0.6%) raises a ticket; burn rate ≤ 1 (error ratio ≤ 0.1%) goes unnoticed, "
        "spending up to 100% of the budget per 30d"
    ) in text
    assert "error budget 3,000 failed events per 30d" in text
    assert "page-1h after ~60 (4,167 events per 1h)" in text


def test_explain_json_has_the_quality_data_and_traffic() -> None:
    out = run("explain", str(SPECS), "--format", "json", "--traffic", "3000000/30d")
    reports = json.loads(out.stdout)
    assert all(r["traffic"] == "3000000/30d" for r in reports)
    checkout = next(r for r in reports if (r["service"], r["slo"]) == ("checkout", "availability"))
    assert checkout["quality"]["traffic"]["error_budget_events"] == 3000
    billing = next(r for r in reports if r["service"] == "billing-worker")
    assert billing["quality"]["low_traffic"] == []  # 3M a month is plenty


def test_traffic_from_the_spec_and_bad_values(tmp_path: Path) -> None:
    spec = (SPECS / "billing-worker.yaml").read_text(encoding="utf-8")
    spec = spec.replace("    window: 7d\n", "    window: 7d\n    traffic: 1000/7d\n")
    (tmp_path / "slogen.yaml").write_text(
        (SPECS / "slogen.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "billing-worker.yaml").write_text(spec, encoding="utf-8")
    text = run("explain", str(tmp_path)).stdout
    assert "traffic 1000/1w" in text
    assert "low traffic (Workbook 5.3): ticket-6h: its 30m short window expects ~2.976" in text
    assert "Options: min_events: 72" in text
    (tmp_path / "billing-worker.yaml").write_text(
        spec.replace("traffic: 1000/7d", "traffic: lots"), encoding="utf-8"
    )
    result = run("validate", str(tmp_path), exit_code=1)
    assert "billing-worker.yaml:11:14: error: slos[0].traffic: expected events per period" in (
        result.stderr
    )
    result = run("explain", str(SPECS), "--traffic", "3M", exit_code=2)
    assert "Invalid value for --traffic: expected events per period such as 3000000/30d" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("text", "events", "per"),
    [
        ("3000000/30d", 3_000_000, 30 * DAY),
        ("3M/30d", 3_000_000, 30 * DAY),
        ("3,000,000/30d", 3_000_000, 30 * DAY),
        ("1.5k/1h", 1500, HOUR),
        ("100/s", 100, 1),
        ("50/1h30m", 50, 5400),
    ],
)
def test_traffic_syntax(text: str, events: int, per: int) -> None:
    traffic = parse_traffic(text)
    assert (traffic.events, traffic.per) == (events, per)
