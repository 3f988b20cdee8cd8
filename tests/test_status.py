"""``slogen status`` on synthetic history: the numbers exactly, then the CLI in every format.

The reader here serves counts it makes up for the range it is asked (the real readers are
tested against real servers in test_*_history.py), so every figure below is worked out by hand
from the traffic described in :class:`FakeReader`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from slogen.backtest import sources
from slogen.backtest.history import History, Semantics, Series
from slogen.backtest.status import Status, slo_status, status
from slogen.backtest.status_render import render_markdown, render_text
from slogen.spec.model import SLO, Project, Service
from slogen.validation import load_valid
from tests.cli import run

SPEC = """\
service: shop
slos:
  - name: availability
    objective: 99
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{code="500"}[{{ window }}]))
        total: sum(rate(http_requests_total[{{ window }}]))
    alerting:
      min_events: 100
  - name: weekly
    objective: 99
    window: 7d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{code="500"}[{{ window }}]))
        total: sum(rate(http_requests_total[{{ window }}]))
"""
AT = 1_796_299_980  # 2026-12-03T12:13:00Z
NOW = AT + 37  # status evaluates at the last whole minute
DAY = 86400
MINUTE = 60
COUNTS = Semantics("synthetic counts")  # per-minute counts, as Datadog's and CloudWatch's


def traffic(
    start: int, end: int, per_minute: float, bad_minutes: int, bad: float
) -> tuple[list[float | None], list[float | None]]:
    """``per_minute`` requests every minute of ``[start, end]``, of which ``bad`` fail in each
    of the last ``bad_minutes`` minutes."""
    n = (end - start) // MINUTE + 1
    total: list[float | None] = [per_minute] * n
    errors: list[float | None] = [0.0] * (n - bad_minutes) + [bad] * bad_minutes
    return errors, total


class FakeReader:
    """100 requests a minute; the last 30 minutes fail 30 of them (30 %) for every SLO; the
    ``quiet`` SLO names get 1 request a minute, all failing for the last 30 minutes."""

    def __init__(self, quiet: Sequence[str] = (), label_sets: int = 1) -> None:
        self.calls: list[tuple[tuple[str, ...], int, int]] = []
        self.quiet = quiet
        self.label_sets = label_sets

    def read(
        self,
        wanted: Sequence[tuple[Service, SLO]],
        start: int,
        end: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[tuple[str, str], History | str]:
        self.calls.append((tuple(o.name for _, o in wanted), start, end))
        out: dict[tuple[str, str], History | str] = {}
        for service, slo in wanted:
            if slo.name in self.quiet:
                errors, total = traffic(start, end, 1.0, 30, 1.0)
            else:
                errors, total = traffic(start, end, 100.0, 30, 30.0)
            series = [Series((), errors, total)]
            if self.label_sets > 1:  # the others healthy: same traffic, no errors
                series = [Series((("route", "/pay"),), errors, total)]
                series += [
                    Series((("route", f"/r{i}"),), [0.0] * len(total), total)
                    for i in range(1, self.label_sets)
                ]
            out[(service.name, slo.name)] = History("prometheus", COUNTS, start, tuple(series))
        return out


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "shop.yaml").write_text(SPEC)
    loaded, problems = load_valid([str(tmp_path)], None)
    assert not problems.errors
    return loaded


def only(project: Project, name: str) -> tuple[Service, SLO]:
    return next((s, o) for s, o in project.slos() if o.name == name)


def history_for(slo: SLO, reader: FakeReader, at: int = AT) -> History:
    service = Service("shop", (slo,))
    start = at - slo.window - 3 * DAY
    found = reader.read([(service, slo)], start, at)[("shop", slo.name)]
    assert isinstance(found, History)
    return found


def test_figures_and_burn_rates_are_exact(project: Project) -> None:
    service, slo = only(project, "availability")
    s = slo_status(service, slo, history_for(slo, FakeReader()), AT + 37)
    assert (s.at, s.since) == (AT, AT - 30 * DAY)
    # (at − 30d, at]: 43,200 minutes of 100 requests, 30 of them failing 30
    assert (s.total_events, s.error_events) == (4_320_000.0, 900.0)
    assert s.attainment == 1 - 900 / 4_320_000
    assert s.allowed_errors == pytest.approx(43_200)
    assert s.budget_left == 1 - 900 / (0.01 * 4_320_000)  # 1 − 1/48
    assert [t.math.id for t in s.tiers] == ["page-1h", "page-6h", "ticket-3d"]
    page, slow_page, ticket = (t.worst for t in s.tiers)
    assert page is not None and slow_page is not None and ticket is not None
    # page-1h: 900/6,000 over 1h = 15× (threshold 14.4×), 150/500 over 5m = 30×
    assert (page.long_ratio, page.short_ratio) == (0.15, 0.3)
    assert (page.long_burn, page.short_burn) == pytest.approx((15, 30))
    assert page.long_events == 6000
    assert s.tiers[0].threshold == 0.144 and s.tiers[0].burn_threshold == 14.4
    # the long ratio crossed 0.144 with the 29th failing minute: 870/6,000 = 0.145
    assert page.firing and page.since == AT - MINUTE
    # page-6h: 900/36,000 = 2.5× against 6×; its 30m window 900/3,000 = 30×
    assert (slow_page.long_burn, slow_page.short_burn) == pytest.approx((2.5, 30))
    assert not slow_page.firing and slow_page.since is None
    # ticket-3d: 900/432,000 against 1×; its 6h window 900/36,000 = 2.5×
    assert (ticket.long_burn, ticket.short_burn) == pytest.approx((900 / 432_000 / 0.01, 2.5))
    assert not ticket.firing
    assert s.firing == ("page-1h",)


def test_min_events_holds_a_tier_back_as_the_alert_does(project: Project) -> None:
    service, slo = only(project, "availability")  # min_events: 100
    s = slo_status(service, slo, history_for(slo, FakeReader(quiet=["availability"])), AT)
    page = s.tiers[0].worst
    assert page is not None
    assert (page.long_ratio, page.short_ratio) == (0.5, 1.0)  # 30 of 60, 5 of 5
    assert page.long_events == 60 and not page.firing
    # page-6h saw 360 events over 6h: enough, and 30/360 is above its 6 %
    assert s.firing == ("page-6h",)
    text = render_text(Status(AT, (s,)))
    assert "no (min_events: 60 < 100)" in text


def test_status_reads_each_window_once_from_its_own_start(project: Project) -> None:
    reader = FakeReader()
    found = status(project, {"prometheus": reader}, NOW, notes=["datadog not read: no keys"])
    # one read per compliance window, each back P plus the longest tier (3d)
    assert reader.calls == [
        (("availability",), AT - 30 * DAY - 3 * DAY, AT),
        (("weekly",), AT - 7 * DAY - 3 * DAY, AT),
    ]
    assert [(s.slo, s.firing) for s in found.slos] == [
        ("availability", ("page-1h",)),
        ("weekly", ("page-1h", "page-6h")),  # 1w: burn rates 3.36× and 1.4×
    ]
    weekly = found.slos[1]
    assert weekly.total_events == 7 * 1440 * 100
    assert weekly.budget_left == 1 - 900 / (0.01 * 7 * 1440 * 100)
    assert found.notes == ("datadog not read: no keys",)


def test_overspent_budget_is_negative(project: Project) -> None:
    service, slo = only(project, "weekly")
    start = AT - 10 * DAY
    n = (AT - start) // MINUTE + 1
    errors: list[float | None] = [2.0] * n  # 2 % failing all along: twice the budget
    total: list[float | None] = [100.0] * n
    history = History("prometheus", COUNTS, start, (Series((), errors, total),))
    s = slo_status(service, slo, history, AT)
    assert s.budget_left == pytest.approx(-1.0)
    assert "-100% (overspent)" in render_text(Status(AT, (s,)))
    assert "| **-100%** (overspent) |" in render_markdown(Status(AT, (s,)))


def test_several_label_sets_fire_alone(project: Project) -> None:
    service, slo = only(project, "availability")
    s = slo_status(service, slo, history_for(slo, FakeReader(label_sets=3)), AT)
    page = s.tiers[0]
    assert s.series_count == 3 and page.firing
    assert [x.labels for x in page.firing_series] == [(("route", "/pay"),)]
    assert page.worst is not None and page.worst.labels == (("route", "/pay"),)
    text = render_text(Status(AT, (s,)))
    assert "FIRING since " in text and "1 of 3 label sets" in text
    assert "firing: page-1h {route=/pay}" in text


# the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def cli_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "shop.yaml").write_text(SPEC)
    reader = FakeReader()
    monkeypatch.setattr(
        sources,
        "readers",
        lambda project, asked, urls: ({"prometheus": reader}, ["datadog not read: no keys"]),
    )
    monkeypatch.setattr(time, "time", lambda: float(NOW))
    return tmp_path


def test_cli_text(cli_specs: Path) -> None:
    out = run("status", str(cli_specs), "--slo", "shop/availability").stdout
    assert out.splitlines()[0] == "SLO status at 2026-12-03T12:13:00Z: 1 SLO read, 1 tier firing"
    assert "shop/availability  (prometheus: synthetic counts; policy workbook)" in out
    assert (
        "objective 99% over 30d: attainment 99.979167%, error budget left 97.92% "
        "(900 failed of 4,320,000 events, 43,200 allowed)"
    ) in out
    rows = [
        line.split() for line in out.splitlines() if line.startswith("  page-") or "ticket-" in line
    ]
    assert rows[0][:6] == ["page-1h", "1h/5m", "15×", "30×", "14.4×", "FIRING"]
    assert "since 12:12 (1m)" in out
    assert rows[1] == ["page-6h", "6h/30m", "2.5×", "30×", "6×", "no"]
    assert rows[2] == ["ticket-3d", "3d/6h", "0.208×", "2.5×", "1×", "no"]
    assert out.rstrip().endswith("note: datadog not read: no keys")


def test_cli_markdown(cli_specs: Path) -> None:
    out = run("status", str(cli_specs), "--format", "markdown").stdout
    assert out.startswith("As of 2026-12-03 12:13 UTC: ")
    assert (
        "| shop/availability | prometheus | 99.979167% | 99% / 30d | 97.92% | **page-1h** |" in out
    )
    assert (
        "| shop/weekly | prometheus | 99.910714% | 99% / 1w | 91.07% | **page-1h**, **page-6h** |"
        in out
    )
    page = "| shop/availability (prometheus) | page-1h | 1h / 5m | 15× | 30× | 14.4× |"
    assert f"{page} FIRING since 12:12 (1m) |" in out
    assert "| shop/availability (prometheus) | page-6h | 6h / 30m | 2.5× | 30× | 6× | no |" in out
    assert "<details><summary>Burn rates per tier</summary>" in out and "</details>" in out
    assert "- note: datadog not read: no keys" in out


def test_cli_json(cli_specs: Path) -> None:
    data = json.loads(run("status", str(cli_specs), "--format", "json").stdout)
    assert (data["at"], data["at_epoch"]) == ("2026-12-03T12:13:00Z", AT)
    assert data["notes"] == ["datadog not read: no keys"] and data["unread"] == []
    first = data["slos"][0]
    assert (first["service"], first["slo"], first["backend"]) == (
        "shop",
        "availability",
        "prometheus",
    )
    assert first["objective"] == 99 and first["window"] == "30d"
    assert (first["from_epoch"], first["to"]) == (AT - 30 * DAY, "2026-12-03T12:13:00Z")
    assert first["events"] == {"total": 4_320_000, "errors": 900, "allowed": 43_200}
    assert first["attainment"] == pytest.approx(1 - 900 / 4_320_000)
    assert first["budget_left"] == pytest.approx(1 - 1 / 48)
    assert first["firing"] == ["page-1h"] and first["min_events"] == 100
    page = first["tiers"][0]
    assert page["id"] == "page-1h" and page["firing"] is True
    assert (page["long_burn_rate"], page["short_burn_rate"]) == (15, 30)
    assert (page["burn_rate_threshold"], page["threshold"]) == (14.4, 0.144)
    assert (page["firing_since"], page["firing_since_epoch"]) == ("2026-12-03T12:12:00Z", AT - 60)
    (series,) = page["series"]
    assert series["long"] == {"ratio": 0.15, "burn_rate": 15, "events": 6000}
    assert first["tiers"][1]["firing_since"] is None


def test_no_source_set_up_is_an_error_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SPEC)  # no query_url, no --prometheus
    result = run("status", str(tmp_path), exit_code=1)
    assert "Error: nothing to read history from" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_unknown_slo_is_an_error(cli_specs: Path) -> None:
    result = run("status", str(cli_specs), "--slo", "shop/nope", exit_code=1)
    assert "Error: no SLO matches 'shop/nope'" in result.stderr
    assert "known SLOs: shop/availability, shop/weekly" in result.stderr
