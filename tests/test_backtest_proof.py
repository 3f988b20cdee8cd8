"""``slogen backtest`` against Prometheus's own evaluation of the rules slogen generates.

A month of scripted traffic (tests/backtest_scenarios.py) is backfilled into a real
``prometheus``; the rules ``slogen build`` writes for tests/backtest_specs are evaluated over
that month by Prometheus itself, level by level, each tier's alert condition last (see
tests/backtest_scenarios.py for how, and why not ``promtool test rules``). ``slogen backtest``
then reads the same server through its range-query API and replays the tiers. Every tier's
firings must be the ones Prometheus computed: as many, each start and end within one evaluation
interval (60 s), and, stricter, at the very same minute, which is what the replay achieves.
The report's judgement is then held against what each episode was built to show: the outage
pages, the slow burn opens a ticket, the spike and the noisy week page nobody, the low-traffic
night pages only without ``min_events`` and is called noise.

Everything is set up once per module (35-65 s on two CPUs, nearly all of it backfilling).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from slogen.backtest.timespec import rfc3339
from tests.backfill import BackfilledPrometheus, create_blocks
from tests.backtest_scenarios import (
    FIRING,
    STEP,
    Key,
    Scenario,
    Span,
    condition_rules,
    make_scenario,
    prometheus_firings,
    promtool_record,
    record,
    write_history,
)
from tests.cli import run

SPECS = Path(__file__).parent / "backtest_specs"
POLICIES = ("workbook", "strict")
PROMTOOL_FIRING = "slogen_backtest:firing_promtool"
TOLERANCE = STEP  # one evaluation interval


@dataclass
class Month:
    """The backfilled month and what Prometheus made of it."""

    scenario: Scenario
    url: str  # the server, holding raw counters and every recording
    reference: dict[Key, list[Span]]  # the alert conditions' firing spans
    promtool: dict[str, list[list[Any]]]  # conditions around the outage, as promtool records them
    own: dict[str, list[list[Any]]]  # the same, as record() did


def build_rules(work: Path) -> dict[str, Path]:
    """The rule file ``slogen build`` writes for the specs with every SLO on each policy."""
    files = {}
    for policy in POLICIES:
        specs = work / f"specs-{policy}"
        shutil.copytree(SPECS, specs)
        shop = specs / "shop.yaml"
        text = shop.read_text(encoding="utf-8")
        assert text.count("policy: workbook") == 2
        shop.write_text(text.replace("policy: workbook", f"policy: {policy}"), encoding="utf-8")
        run("build", str(specs), "-o", str(work / f"out-{policy}"))
        files[policy] = work / f"out-{policy}" / "prometheus" / "shop.rules.yml"
    return files


def _samples(prom: BackfilledPrometheus, name: str, start: int, end: int) -> dict[str, Any]:
    found = prom.query_range(f"last_over_time({name}[30s])", start, end, STEP)
    return {json.dumps(s["metric"], sort_keys=True): s["values"] for s in found}


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    work = tmp_path_factory.mktemp("backtest-proof")
    scenario = make_scenario()
    data = work / "data"
    assert create_blocks(write_history(scenario, work / "raw.om"), data, work / "raw") > 0
    rules = condition_rules(build_rules(work))
    with BackfilledPrometheus(data, work / "server") as prom:
        record(prom, rules, scenario.start, scenario.end, work / "passes")
        # the last pass again by promtool itself, over the 8 hours from the outage's 2 h block
        first = scenario.incident("outage").start // 7200 * 7200
        hours = (first, first + 8 * 3600 - STEP)
        conditions = [r for r in rules if r["record"] == FIRING]
        promtool_record(prom, conditions, *hours, work / "promtool", PROMTOOL_FIRING)
        prom.restart()
        yield Month(
            scenario,
            prom.url,
            prometheus_firings(prom, scenario.start, scenario.end),
            _samples(prom, PROMTOOL_FIRING, *hours),
            _samples(prom, FIRING, *hours),
        )


def backtest(month: Month, *policies: str) -> dict[str, Any]:
    args = ["backtest", str(SPECS), "--prometheus", month.url, "--format", "json"]
    args += ["--from", rfc3339(month.scenario.start), "--to", rfc3339(month.scenario.end)]
    for policy in policies:
        args += ["--policy", policy]
    return json.loads(run(*args).stdout)


@pytest.fixture(scope="module")
def own_policy(month: Month) -> dict[str, Any]:
    return backtest(month)


@pytest.fixture(scope="module")
def compared(month: Month) -> dict[str, Any]:
    return backtest(month, "workbook", "strict")


# -- the proof ------------------------------------------------------------------------------


def replayed(report: dict[str, Any]) -> dict[Key, list[Span]]:
    return {
        (o["policy"], o["slo"], t["id"]): [(f["start_epoch"], f["end_epoch"]) for f in t["firings"]]
        for o in report["slos"]
        for t in o["tiers"]
    }


def _when(t: int | None, start: int) -> str:
    return "still firing" if t is None else f"{rfc3339(t)} (+{(t - start) / 86400:.3f} d)"


def differences(
    ours: dict[Key, list[Span]], theirs: dict[Key, list[Span]], start: int, tolerance: int
) -> str:
    """What differs by more than ``tolerance`` seconds, per tier (empty: nothing)."""

    def close(a: int | None, b: int | None) -> bool:
        if a is None or b is None:
            return a is b
        return abs(a - b) <= tolerance

    lines = []
    for key in sorted(set(ours) | set(theirs)):
        mine, prom = ours.get(key, []), theirs.get(key, [])
        if len(mine) == len(prom) and all(
            close(a[0], b[0]) and close(a[1], b[1]) for a, b in zip(mine, prom, strict=True)
        ):
            continue
        lines.append(f"{'/'.join(key)}: backtest {len(mine)} firing(s), Prometheus {len(prom)}")
        for label, spans in (("backtest  ", mine), ("Prometheus", prom)):
            lines += [f"    {label} {_when(a, start)} -> {_when(b, start)}" for a, b in spans[:12]]
    return "\n".join(lines)


def test_replay_fires_exactly_when_prometheus_does(month: Month, own_policy: dict) -> None:
    expected = {k: v for k, v in month.reference.items() if k[0] == "workbook"}
    ours = replayed(own_policy)
    assert {k[0] for k in ours} == {"workbook"}, sorted(ours)
    assert len(ours) == 6, sorted(ours)  # two SLOs x three tiers
    diff = differences(ours, expected, month.scenario.start, TOLERANCE)
    assert not diff, "firings differ from Prometheus's evaluation:\n" + diff


def test_every_policy_fires_exactly_when_prometheus_does(month: Month, compared: dict) -> None:
    ours = replayed(compared)
    assert len(ours) == 12, sorted(ours)  # two policies x two SLOs x three tiers
    diff = differences(ours, month.reference, month.scenario.start, TOLERANCE)
    assert not diff, "firings differ from Prometheus's evaluation:\n" + diff


def test_every_firing_starts_and_ends_at_the_same_minute(month: Month, compared: dict) -> None:
    """Stricter than the contract above, and what the replay achieves: a window one sample
    too long or too short (Prometheus 3's left-open ranges read as Prometheus 2's closed ones)
    moves some firing ends by one minute here, which the tolerance would let through."""
    diff = differences(replayed(compared), month.reference, month.scenario.start, 0)
    assert not diff, "firings differ from Prometheus's evaluation:\n" + diff


def test_differences_are_reported() -> None:
    start = 1_748_736_000
    prom: dict[Key, list[Span]] = {("p", "s", "t"): [(start, start + 600), (start + 900, None)]}
    assert not differences(prom, prom, start, TOLERANCE)
    shifted = {("p", "s", "t"): [(start + 120, start + 600), (start + 900, None)]}
    assert "backtest 2 firing(s), Prometheus 2" in differences(shifted, prom, start, TOLERANCE)
    closed = {("p", "s", "t"): [(start, start + 600), (start + 900, start + 960)]}
    assert "still firing" in differences(closed, prom, start, TOLERANCE)
    assert "Prometheus 0" in differences(prom, {}, start, TOLERANCE)


def test_reference_is_what_promtool_records(month: Month) -> None:
    """The conditions as promtool's own rule backfill records them, around the outage, are
    the samples the reference read: the stand-in changes nothing."""
    assert month.own, "no condition held around the outage"
    strip = {k.replace(PROMTOOL_FIRING, FIRING): v for k, v in month.promtool.items()}
    assert strip == month.own


# -- what the episodes were built to show ---------------------------------------------------


def firings(report: dict, policy: str, slo: str, severity: str | None = None) -> list[dict]:
    return [
        {**f, "tier": t["id"], "severity": t["severity"]}
        for o in report["slos"]
        if o["policy"] == policy and o["slo"] == slo
        for t in o["tiers"]
        if severity is None or t["severity"] == severity
        for f in t["firings"]
    ]


def misses(report: dict, policy: str, slo: str) -> list[dict]:
    out = [o["misses"] for o in report["slos"] if o["policy"] == policy and o["slo"] == slo]
    assert len(out) == 1, (policy, slo, len(out))
    return out[0]


def during(items: list[dict], lo: int, hi: int) -> list[dict]:
    """The firings or misses that overlap ``[lo, hi)``."""

    def end(item: dict) -> int:
        return hi + 1 if item["end_epoch"] is None else item["end_epoch"]

    return [i for i in items if i["start_epoch"] < hi and end(i) > lo]


def test_the_outage_pages(month: Month, own_policy: dict) -> None:
    outage = month.scenario.incident("outage")
    for slo in ("availability", "availability-guarded"):
        pages = during(firings(own_policy, "workbook", slo, "page"), outage.start, outage.end)
        assert {p["tier"] for p in pages} == {"page-1h", "page-6h"}, (slo, pages)
        assert all(p["noise"] is False for p in pages), pages


def test_the_slow_burn_opens_a_ticket_and_is_no_miss(month: Month, own_policy: dict) -> None:
    burn = month.scenario.incident("slow-burn")
    for slo in ("availability", "availability-guarded"):
        tickets = during(firings(own_policy, "workbook", slo, "ticket"), burn.start, burn.end)
        assert tickets, f"{slo}: no ticket during the slow burn"
        assert not during(misses(own_policy, "workbook", slo), burn.start, burn.end + 3 * 86400)


def test_the_spike_pages_nobody(month: Month, own_policy: dict) -> None:
    spike = month.scenario.incident("spike")
    for slo in ("availability", "availability-guarded"):
        pages = firings(own_policy, "workbook", slo, "page")
        assert not during(pages, spike.start, spike.end + 3600), pages


def test_the_night_pages_only_without_min_events_and_as_noise(
    month: Month, own_policy: dict
) -> None:
    night = month.scenario.incident("night")
    unguarded = during(firings(own_policy, "workbook", "availability"), night.start, night.end)
    assert unguarded, "the night was built to page the SLO without min_events"
    assert all(f["severity"] == "page" and f["noise"] is True for f in unguarded), unguarded
    guarded = firings(own_policy, "workbook", "availability-guarded")
    assert not during(guarded, night.start, night.end + 3600), guarded


def test_the_noisy_week_fires_nothing_and_misses_nothing(month: Month, own_policy: dict) -> None:
    week = month.scenario.incident("noisy-week")
    for slo in ("availability", "availability-guarded"):
        assert not during(firings(own_policy, "workbook", slo), week.start, week.end)
        assert not during(misses(own_policy, "workbook", slo), week.start, week.end)


def test_strict_pages_at_least_as_often_and_alerts_more(compared: dict) -> None:
    def count(policy: str, severity: str | None = None) -> int:
        slos = ("availability", "availability-guarded")
        return sum(len(firings(compared, policy, slo, severity)) for slo in slos)

    assert compared["policies"] == ["workbook", "strict"]
    assert count("strict", "page") >= count("workbook", "page")
    assert count("strict") > count("workbook")
    totals = {r["policy"]: r["firings"] for r in compared["comparison"] if r["slo"] == ""}
    assert totals == {
        policy: {"page": count(policy, "page"), "ticket": count(policy, "ticket")}
        for policy in ("workbook", "strict")
    }, compared["comparison"]
