"""Reading Datadog SLI history: the real datadog-api-client against the fake's ``/api/v1/query``.

The fake answers from points the tests submit (tests/fakes/datadog_metrics.py has its rules,
the 1500-point limit among them). A known per-minute pattern over three days and an hour is
submitted as two points per minute, so a per-minute value is a sum, and read back through
:class:`slogen.backends.datadog.history.DatadogHistory`.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from slogen.backends import registry
from slogen.backends.datadog import history as dd_history
from slogen.backends.datadog.api import client as dd_client
from slogen.backends.datadog.history import SEMANTICS, DatadogHistory, per_minute, reader
from slogen.backtest.history import History
from slogen.errors import SlogenError
from slogen.spec.loader import load_project
from slogen.spec.model import Project
from tests.fakes.datadog_api import FakeDatadog

API_KEY = "dd-api-history-0123"
APP_KEY = "dd-app-history-4567"
START = 1_700_006_400 + 7 * 3600  # minute-aligned, not day-aligned
MINUTES = 3 * 1440 + 60  # three days and an hour: four one-day requests per side
END = START + (MINUTES - 1) * 60

SPEC = """\
service: shop
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      datadog:
        errors: sum:shop.errors{env:prod}.as_count()
        total: sum:shop.requests{env:prod}.as_count()
  - name: latency
    objective: 99
    window: 30d
    indicator:
      datadog:
        good: sum:shop.fast{env:prod}.as_count()
        total: sum:shop.requests{env:prod}.as_count()
  - name: regional
    objective: 99
    window: 30d
    indicator:
      datadog:
        errors: sum:shop.regional.errors{env:prod} by {region}.as_count()
        total: sum:shop.regional.requests{env:prod} by {region}.as_count()
  - name: broken
    objective: 99
    window: 30d
    indicator:
      datadog:
        errors: sum:shop.errors{env:prod}.as_cnt()
        total: sum:shop.requests{env:prod}.as_count()
"""

MISSING_ERRORS = {k for k in range(MINUTES) if k % 97 == 3}  # minutes without an errors point
MISSING_TOTAL = {1000, 2881}


def total_at(k: int) -> float:
    return 100.0 + k % 7


def errors_at(k: int) -> float:
    return float(k % 5)


def good_at(k: int) -> float:
    return 90.0 + k % 3


def _split(
    query: str, value_of: Callable[[int], float], skip: Collection[int] = ()
) -> tuple[str, list[tuple[float, float]]]:
    """Two points per minute (at +10 s and +40 s) adding up to the minute's value."""
    points = []
    for k in range(MINUTES):
        if k in skip:
            continue
        value, when = value_of(k), START + k * 60
        points += [(when + 10, 1.0), (when + 40, value - 1.0)]
    return query, points


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDatadog]:
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)
    monkeypatch.delenv("DD_APPLICATION_KEY", raising=False)
    monkeypatch.setattr(
        dd_client, "RETRY", dd_client.RetryPolicy(attempts=3, max_sleep=0.02, backoff=0.005)
    )
    with FakeDatadog(api_key=API_KEY, app_key=APP_KEY) as dd:
        dd.submit_points(*_split("sum:shop.errors{env:prod}.as_count()", errors_at, MISSING_ERRORS))
        dd.submit_points(*_split("sum:shop.requests{env:prod}.as_count()", total_at, MISSING_TOTAL))
        dd.submit_points(*_split("sum:shop.fast{env:prod}.as_count()", good_at))
        for region, extra in (("eu", 0.0), ("us", 50.0)):
            dd.submit_points(
                *_split(
                    f"sum:shop.regional.requests{{env:prod,region:{region}}}.as_count()",
                    lambda k, extra=extra: total_at(k) + extra,
                )
            )
        dd.submit_points(  # only eu ever had errors
            *_split("sum:shop.regional.errors{env:prod,region:eu}.as_count()", errors_at)
        )
        yield dd


def _project(tmp_path: Path, target: str) -> Project:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "shop.yaml").write_text(SPEC, encoding="utf-8")
    (specs / "slogen.yaml").write_text(f"targets:\n  datadog: {target}\n", encoding="utf-8")
    return load_project([str(specs)])


def _read(
    project: Project,
    url: str,
    names: tuple[str, ...],
    progress: Callable[[int, int], None] | None = None,
) -> dict[tuple[str, str], History | str]:
    history = reader(project, url)
    assert isinstance(history, DatadogHistory)
    wanted = [(s, slo) for s, slo in project.slos() if slo.name in names]
    return history.read(wanted, START, END, progress)


def _queries(fake: FakeDatadog) -> list[dict[str, str]]:
    with fake.lock:
        paths = [p for m, p in fake.requests if m == "GET" and p.startswith("/api/v1/query?")]
    return [{k: v[0] for k, v in parse_qs(urlsplit(p).query).items()} for p in paths]


# -- reading ---------------------------------------------------------------------------------------


def test_per_minute_sums_over_days_come_back_on_the_grid(fake: FakeDatadog, tmp_path: Path) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    calls: list[tuple[int, int]] = []
    result = _read(project, fake.url, ("availability",), lambda d, p: calls.append((d, p)))
    got = result[("shop", "availability")]
    assert isinstance(got, History), got
    assert got.backend == "datadog" and got.semantics == SEMANTICS and got.start == START
    assert got.length == MINUTES and got.requests == 8
    (series,) = got.series
    assert series.labels == ()
    want_errors = [None if k in MISSING_ERRORS else errors_at(k) for k in range(MINUTES)]
    want_total = [None if k in MISSING_TOTAL else total_at(k) for k in range(MINUTES)]
    assert list(series.errors) == want_errors
    assert list(series.total) == want_total
    assert calls == [(n, 8) for n in range(1, 9)]


def test_requests_cover_the_span_in_days_without_gaps(fake: FakeDatadog, tmp_path: Path) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    _read(project, fake.url, ("availability",))
    queries = _queries(fake)
    assert len(queries) == 8
    for side in ("errors", "requests"):
        mine = sorted(
            (int(q["from"]), int(q["to"])) for q in queries if f"shop.{side}{{" in q["query"]
        )
        assert len(mine) == 4
        assert mine[0][0] == START and mine[-1][1] == END + 59
        for (_, to), (nxt, _) in itertools.pairwise(mine):
            assert nxt == to + 1  # the next request starts where this one's minutes end
        assert all((to + 1 - frm) // 60 <= 1440 for frm, to in mine)
    assert {q["query"] for q in queries} == {
        "sum:shop.errors{env:prod}.as_count().rollup(sum, 60)",
        "sum:shop.requests{env:prod}.as_count().rollup(sum, 60)",
    }


def test_requests_at_the_point_limit_keep_minutes_and_join_seamlessly(
    fake: FakeDatadog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    by_day = _read(project, fake.url, ("availability",))[("shop", "availability")]
    monkeypatch.setattr(dd_history, "CHUNK_MINUTES", 1500)  # exactly Datadog's limit
    at_limit = _read(project, fake.url, ("availability",))[("shop", "availability")]
    assert isinstance(by_day, History) and isinstance(at_limit, History)
    assert at_limit.requests == 6  # 4380 minutes in 1500-minute requests, per side
    assert at_limit.series == by_day.series


def test_a_request_past_the_point_limit_is_refused_not_smeared(
    fake: FakeDatadog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    monkeypatch.setattr(dd_history, "CHUNK_MINUTES", 1501)  # Datadog answers at 120 s then
    got = _read(project, fake.url, ("availability",))[("shop", "availability")]
    assert isinstance(got, str)
    assert "shop/availability" in got and "120-second points" in got and "1500" in got


def test_good_based_sli_gives_errors_as_total_minus_good(fake: FakeDatadog, tmp_path: Path) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    got = _read(project, fake.url, ("latency",))[("shop", "latency")]
    assert isinstance(got, History)
    (series,) = got.series
    for k in (0, 1, 999, 1000, 4379):
        if k in MISSING_TOTAL:
            assert series.errors[k] is None and series.total[k] is None
        else:
            assert series.errors[k] == total_at(k) - good_at(k)
            assert series.total[k] == total_at(k)
    assert {q["query"] for q in _queries(fake)} == {
        "sum:shop.fast{env:prod}.as_count().rollup(sum, 60)",
        "sum:shop.requests{env:prod}.as_count().rollup(sum, 60)",
    }


def test_grouped_queries_pair_series_by_tag_set(fake: FakeDatadog, tmp_path: Path) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    got = _read(project, fake.url, ("regional",))[("shop", "regional")]
    assert isinstance(got, History)
    eu, us = got.series
    assert eu.labels == (("region", "eu"),) and us.labels == (("region", "us"),)
    assert list(eu.errors) == [errors_at(k) for k in range(MINUTES)]
    assert list(us.errors) == [None] * MINUTES  # no errors series for us: no samples
    assert us.total[10] == total_at(10) + 50.0 and eu.total[10] == total_at(10)


def test_a_bad_query_spoils_only_its_slo(fake: FakeDatadog, tmp_path: Path) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    result = _read(project, fake.url, ("availability", "broken", "latency"))
    broken = result[("shop", "broken")]
    assert isinstance(broken, str)
    assert broken.startswith("the errors query of shop/broken was refused by Datadog: ")
    assert "Error parsing query" in broken and ".as_cnt()" in broken
    assert isinstance(result[("shop", "availability")], History)
    assert isinstance(result[("shop", "latency")], History)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_host_is_a_slogen_error(fake: FakeDatadog, tmp_path: Path) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(SlogenError) as caught:
        _read(project, url, ("availability",))
    assert url in caught.value.message and "connection refused" in caught.value.message
    assert "--url datadog=URL on the command line" in caught.value.hint


def test_refused_credentials_name_the_settings(
    fake: FakeDatadog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DD_APP_KEY", "not-the-key")
    project = _project(tmp_path, f'{{type: api, host: "{fake.url}"}}')
    with pytest.raises(SlogenError) as caught:
        _read(project, "", ("availability",))
    assert fake.url in caught.value.message and "403" in caught.value.message
    assert "DD_APP_KEY" in caught.value.hint and "targets.datadog.host" in caught.value.hint


# -- where history is read from --------------------------------------------------------------------


def test_a_url_wins_over_the_api_target(fake: FakeDatadog, tmp_path: Path) -> None:
    project = _project(tmp_path, '{type: api, host: "http://127.0.0.1:9"}')
    history = registry.get("datadog").history(project, fake.url)
    assert isinstance(history, DatadogHistory)
    assert history.settings.option("host") == fake.url
    assert isinstance(history.read([], START, END), dict)
    got = _read(project, fake.url, ("availability",))[("shop", "availability")]
    assert isinstance(got, History)  # read from the URL, not from the target's dead port


def test_the_api_target_is_used_without_a_url(fake: FakeDatadog, tmp_path: Path) -> None:
    project = _project(tmp_path, f'{{type: api, host: "{fake.url}"}}')
    history = reader(project, None)
    assert isinstance(history, DatadogHistory)
    assert history.settings == project.target("datadog")
    got = history.read(list(project.slos())[:1], START, END)[("shop", "availability")]
    assert isinstance(got, History) and got.requests == 8


def test_environment_credentials_are_used_with_a_files_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)
    monkeypatch.setenv("DD_SITE", "datadoghq.eu")
    history = reader(project, None)
    assert isinstance(history, DatadogHistory)
    assert dd_client.settings(history.settings).host == "https://api.datadoghq.eu"


def test_without_anything_set_people_are_told_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DD_APPLICATION_KEY", raising=False)
    project = _project(tmp_path, "{type: files, dir: out}")
    monkeypatch.setenv("DD_API_KEY", API_KEY)  # half the credentials are not enough
    said = registry.get("datadog").history(project, None)
    assert isinstance(said, str)
    assert "DD_API_KEY" in said and "DD_APP_KEY" in said and "targets.datadog" in said
    assert registry.get("datadog").capabilities.history


# -- the query sent --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "sent"),
    [
        ("sum:a{x:y}.as_count()", "sum:a{x:y}.as_count().rollup(sum, 60)"),
        (
            "(sum:a{*}.as_count()) + (sum:b{k:v} by {r}.as_count())",
            "(sum:a{*}.as_count().rollup(sum, 60)) + "
            "(sum:b{k:v} by {r}.as_count().rollup(sum, 60))",
        ),
        ("sum:a{*}.rollup(sum, 300).as_count()", "sum:a{*}.as_count().rollup(sum, 60)"),
    ],
)
def test_every_metric_query_is_summed_per_minute(query: str, sent: str) -> None:
    assert per_minute(query) == sent


def test_total_without_good_counts_as_errors_with_a_note(fake: FakeDatadog, tmp_path: Path) -> None:
    key = "sum:shop.fast{env:prod}.as_count()"
    gap = START + 5 * 60
    with fake.lock:
        fake.points[key] = [p for p in fake.points[key] if not gap <= p[0] < gap + 60]
    project = _project(tmp_path, "{type: files, dir: out}")
    got = _read(project, fake.url, ("latency",))[("shop", "latency")]
    assert isinstance(got, History)
    (series,) = got.series
    assert series.errors[5] == total_at(5) and series.errors[6] == total_at(6) - good_at(6)
    assert any("no good count" in note for note in got.notes)


def test_a_datadog_outage_is_a_slogen_error_and_a_blip_is_retried(
    fake: FakeDatadog, tmp_path: Path
) -> None:
    project = _project(tmp_path, "{type: files, dir: out}")
    fake.inject(503, count=1)
    assert isinstance(
        _read(project, fake.url, ("availability",))[("shop", "availability")], History
    )
    fake.inject(503, count=100)
    with pytest.raises(SlogenError) as caught:
        _read(project, fake.url, ("availability",))
    assert "could not be read" in caught.value.message and "HTTP 503" in caught.value.message
    fake.clear_injections()


def test_the_fake_answers_in_the_recorded_shape(fake: FakeDatadog) -> None:
    """Checks the fake against Datadog's recorded answer (see tests/fakes/datadog_metrics.py):
    a day without ``.rollup`` comes in 288 five-minute buckets starting at or after ``from``."""
    from datadog_api_client import ApiClient, Configuration
    from datadog_api_client.v1.api.metrics_api import MetricsApi

    config = Configuration(host=fake.url)
    config.api_key["apiKeyAuth"] = API_KEY
    config.api_key["appKeyAuth"] = APP_KEY
    frm, to = START + 101, START + 101 + 86400
    with ApiClient(config) as api:
        answer = MetricsApi(api).query_metrics(
            _from=frm, to=to, query="sum:shop.requests{env:prod}.as_count()"
        )
    assert answer.status == "ok" and answer.res_type == "time_series"
    (series,) = answer.series
    assert series.interval == 300 and series.length == 288 == len(series.pointlist)
    assert series.start == (START + 300) * 1000 and series.end == (START + 86400 + 299) * 1000
    first = series.pointlist[0]
    assert first.value == [float((START + 300) * 1000), sum(total_at(k) for k in range(5, 10))]
