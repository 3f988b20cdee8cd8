"""``slogen backtest`` end to end through the CLI, with a reader that serves synthetic history
(the real readers are tested against real servers in test_*_history.py and the proof test)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from slogen.backtest import sources
from slogen.backtest.history import History, Semantics, Series
from slogen.spec.model import SLO, Service
from tests.cli import run

SPEC = """\
service: shop
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{code="500"}[{{ window }}]))
        total: sum(rate(http_requests_total[{{ window }}]))
"""
SETTINGS = """\
policies:
  strict:
    - {severity: page, budget: 1%, long: 1h, short: 5m}
    - {severity: page, budget: 2.5%, long: 6h, short: 30m}
    - {severity: ticket, budget: 5%, long: 3d, short: 6h}
"""
FROM, TO = "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"
T0 = 1_793_491_200  # FROM in epoch seconds


class FakeReader:
    """Serves per-minute counts: 1,000 requests a minute, a 20-minute outage on day 2 and a
    4-minute 20 % blip on day 4."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def read(
        self,
        wanted: Sequence[tuple[Service, SLO]],
        start: int,
        end: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[tuple[str, str], History | str]:
        self.calls.append((start, end))
        n = (end - start) // 60 + 1
        total = [1000.0] * n
        errors = [0.0] * n
        for k in range(n):
            t = start + 60 * k
            if T0 + 86400 + 3600 <= t < T0 + 86400 + 3600 + 1200:
                errors[k] = 1000.0
            if T0 + 3 * 86400 <= t < T0 + 3 * 86400 + 240:
                errors[k] = 200.0
        semantics = Semantics("synthetic counts")
        return {
            (s.name, o.name): History("prometheus", semantics, start, (Series((), errors, total),))
            for s, o in wanted
        }


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, FakeReader]:
    (tmp_path / "shop.yaml").write_text(SPEC)
    (tmp_path / "slogen.yaml").write_text(SETTINGS)
    reader = FakeReader()
    monkeypatch.setattr(
        sources, "readers", lambda project, asked, urls: ({"prometheus": reader}, [])
    )
    return tmp_path, reader


def test_text_report_names_the_outage_and_its_tiers(specs: tuple[Path, FakeReader]) -> None:
    path, reader = specs
    out = run("backtest", str(path), "--from", FROM, "--to", TO).stdout
    assert out.startswith("Backtest 2026-11-01T00:00:00Z → 2026-11-08T00:00:00Z (7 days)")
    assert "shop/availability  (prometheus: synthetic counts; policy workbook)" in out
    assert "2026-11-02 01:00 →" in out  # the outage's first firing
    assert "misses" not in out
    # read once, from the longest window (3d) before the span
    assert reader.calls == [(T0 - 3 * 86400, T0 + 7 * 86400)]


def test_json_report_and_two_policies_side_by_side(specs: tuple[Path, FakeReader]) -> None:
    path, reader = specs
    args = ["backtest", str(path), "--from", FROM, "--to", TO, "--format", "json"]
    data = json.loads(run(*args, "--policy", "workbook", "--policy", "strict").stdout)
    assert len(reader.calls) == 1  # one read serves both policies
    assert [s["policy"] for s in data["slos"]] == ["workbook", "strict"]
    by_policy = {row["policy"]: row for row in data["comparison"]}
    assert by_policy["strict"]["firings"]["page"] > by_policy["workbook"]["firings"]["page"]
    first = data["slos"][0]["tiers"][0]
    assert first["id"] == "page-1h" and first["threshold"] == 0.0144
    outage = first["firings"][0]
    assert outage["start"] == "2026-11-02T01:00:00Z"
    assert outage["start_epoch"] == T0 + 86400 + 3600
    assert outage["noise"] is False
    text = run(*args[:-2], "--policy", "workbook", "--policy", "strict").stdout
    assert "Policies compared on the same history:" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday"], "--from 'yesterday' is not a time"),
        (["--from", "2026-11-01T00:00:00"], "is not a time"),  # no offset: ambiguous
        (["--from", TO, "--to", FROM], "--to must be after --from"),
        (["--policy", "strictt"], "did you mean 'strict'?"),
        (["--slo", "nope"], "no SLO matches 'nope'"),
    ],
)
def test_mistakes_are_errors_with_a_hint(
    specs: tuple[Path, FakeReader], args: list[str], message: str
) -> None:
    path, _reader = specs
    result = run("backtest", str(path), *args, exit_code=1)
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_without_a_source_it_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop.yaml").write_text(SPEC)
    monkeypatch.delenv("SLOGEN_PROMETHEUS_URL", raising=False)
    result = run("backtest", str(tmp_path), exit_code=1)
    assert "nothing to read history from" in result.stderr
    assert "targets.prometheus.query_url" in result.stderr and "--prometheus" in result.stderr


def test_endpoints_from_the_command_line_reach_the_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop.yaml").write_text(SPEC)
    seen: list[dict[str, str | None]] = []

    def readers(project, asked, urls):  # type: ignore[no-untyped-def]
        seen.append(dict(urls))
        return {"prometheus": FakeReader()}, []

    monkeypatch.setattr(sources, "readers", readers)
    args = ["--prometheus", "http://127.0.0.1:9090", "--url", "datadog=http://127.0.0.1:8126"]
    run("backtest", str(tmp_path), "--from", FROM, "--to", TO, *args)
    assert seen == [{"prometheus": "http://127.0.0.1:9090", "datadog": "http://127.0.0.1:8126"}]
    bad = run("backtest", str(tmp_path), "--url", "datadogg=http://x", exit_code=1)
    assert "did you mean 'datadog'?" in bad.stderr
