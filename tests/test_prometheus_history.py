"""The Prometheus history reader against a real Prometheus holding two backfilled days.

The module's server holds counters with known shapes (tests/backfill.py): requests by route and
code, with a one-hour 5xx incident on route /a, and jobs counted by outcome with a one-hour
failure burst. The reader must give, sample for sample, what Prometheus itself answers for the
expressions of the generated recording rules (taken from ``render.recording_rules``, not from
the reader), whatever the chunking; and the known incidents must show as the rates and
increases they are by construction.
"""

from __future__ import annotations

import base64
import math
import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from slogen.backends import registry
from slogen.backends.prometheus.history import (
    MAX_POINTS,
    NO_URL,
    PrometheusHistory,
    chunks,
    fill,
    pair,
    prometheus_version,
)
from slogen.backends.prometheus.render import recording_rules
from slogen.backtest.history import History
from slogen.errors import SlogenError
from slogen.spec.loader import load_project_with_warnings
from slogen.spec.model import Project
from tests.backfill import BackfilledPrometheus, counter_samples, create_blocks, write_openmetrics
from tests.prom_server import free_port

pytestmark = pytest.mark.prometheus

START = 1_767_225_600  # 2026-01-01T00:00:00Z, a block boundary
MINUTES = 2 * 24 * 60
END = START + MINUTES * 60
INCIDENT = (START + 30 * 3600, START + 31 * 3600)  # /a answers 30 errors a minute
BURST = (START + 40 * 3600, START + 41 * 3600)  # 2 failed jobs a minute

SPEC = """\
service: shop
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: sum by (route) (rate(http_requests_total{code="500"}[{{ window }}]))
        total: sum by (route) (rate(http_requests_total[{{ window }}]))
  - name: success
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        good: sum(rate(http_requests_total{code="200"}[{{ window }}]))
        total: sum(rate(http_requests_total[{{ window }}]))
  - name: jobs
    objective: 99
    window: 30d
    indicator:
      prometheus:
        errors: sum(increase(jobs_total{outcome="failed"}[{{ window }}]))
        total: sum(increase(jobs_total[{{ window }}]))
  - name: unparsable
    objective: 99
    window: 30d
    indicator:
      prometheus:
        errors: sum(mad_over_time(http_requests_total[{{ window }}]))
        total: sum(rate(http_requests_total[{{ window }}]))
  - name: many-to-many
    objective: 99
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{code="500"}[{{ window }}]))
        total: rate(http_requests_total[{{ window }}]) / on(route) rate(http_requests_total[1m])
  - name: elsewhere
    objective: 99
    window: 30d
    indicator:
      datadog:
        errors: sum:shop.errors{*}.as_count()
        total: sum:shop.requests{*}.as_count()
"""


def increments(rng: random.Random, during: tuple[int, int], inside: float, outside) -> list:
    """Per minute ending at ``START + k·60``: ``inside`` within ``during``, else ``outside()``."""
    out = []
    for k in range(1, MINUTES + 1):
        t = START + k * 60
        out.append(inside if during[0] < t <= during[1] else outside())
    return out


def write_project(directory: Path, target: str = "{type: files, dir: out}") -> Project:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "shop.yaml").write_text(SPEC, encoding="utf-8")
    (directory / "slogen.yaml").write_text(f"targets:\n  prometheus: {target}\n", encoding="utf-8")
    project, _ = load_project_with_warnings([str(directory)])
    return project


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackfilledPrometheus]:
    work = tmp_path_factory.mktemp("history")
    rng = random.Random(20260101)
    never = (0, 0)
    series = []
    for route in ("/a", "/b", "/c"):
        ok = increments(rng, never, 0, lambda: rng.randint(60, 120))
        series.append(("http_requests", {"route": route, "code": "200"}, ok))
    a_errors = increments(rng, INCIDENT, 30, lambda: int(rng.random() < 0.05))
    b_errors = increments(rng, never, 0, lambda: int(rng.random() < 0.02))
    series.append(("http_requests", {"route": "/a", "code": "500"}, a_errors))
    series.append(("http_requests", {"route": "/b", "code": "500"}, b_errors))
    series.append(("jobs", {"outcome": "ok"}, increments(rng, never, 0, lambda: 10)))
    series.append(("jobs", {"outcome": "failed"}, increments(rng, BURST, 2, lambda: 0)))
    source = write_openmetrics(
        work / "history.om",
        [(name, labels, counter_samples(START, 60, incs)) for name, labels, incs in series],
    )
    assert create_blocks(source, work / "data", work) >= 24  # 2 days of 2 h blocks
    with BackfilledPrometheus(work / "data", work / "server") as server:
        yield server


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return write_project(tmp_path_factory.mktemp("specs"))


def wanted(project: Project, *names: str) -> list:
    return [(s, o) for s, o in project.slos() if not names or o.name in names]


def rule_expressions(project: Project, name: str) -> tuple[str, str]:
    """The errors and total expressions of the SLO's base recording rules, as generated."""
    service, slo = next((s, o) for s, o in project.slos() if o.name == name)
    rules = recording_rules(service, slo)
    return rules[0]["expr"], rules[1]["expr"]


def expected(prom: BackfilledPrometheus, query: str, start: int, end: int) -> dict:
    """Prometheus's own answer: labels (without __name__) -> {time: value}."""
    out = {}
    for entry in prom.query_range(query, start, end, 60):
        labels = tuple(sorted((k, v) for k, v in entry["metric"].items() if k != "__name__"))
        out[labels] = {int(t): float(v) for t, v in entry["values"]}
    return out


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def assert_matches(history: History, prom: BackfilledPrometheus, exprs: tuple[str, str], end: int):
    """Every sample of every series equals Prometheus's query_range of the rule expressions."""
    errors, total = (expected(prom, q, history.start, end) for q in exprs)
    assert sorted(s.labels for s in history.series) == sorted(total)
    assert history.length == (end - history.start) // 60 + 1
    compared = 0
    for s in history.series:
        for side, want in (("errors", errors.get(s.labels, {})), ("total", total[s.labels])):
            got = getattr(s, side)
            for k, value in enumerate(got):
                t = history.time(k)
                assert same(value, want.get(t)), (s.labels, side, t, value, want.get(t))
                compared += value is not None
    assert compared > history.length  # the comparison was about real samples


def test_reads_what_prometheus_answers_for_the_rule_expressions(prom, project) -> None:
    reader = PrometheusHistory(prom.url)
    got = reader.read(wanted(project, "availability", "success", "jobs"), START, END)
    assert set(got) == {("shop", "availability"), ("shop", "success"), ("shop", "jobs")}
    for name in ("availability", "success", "jobs"):
        history = got[("shop", name)]
        assert isinstance(history, History), history
        assert history.backend == "prometheus" and history.start == START
        assert history.requests == 2  # 2,881 points: one range query per side
        assert_matches(history, prom, rule_expressions(project, name), END)


def test_known_incident_shows_as_the_rates_it_was_made_of(prom, project) -> None:
    """During /a's incident every 5m range holds 30 errors a minute: 150 / 300 s = 0.5/s
    (Prometheus 2 includes both range ends, so no extrapolation happens)."""
    history = PrometheusHistory(prom.url).read(wanted(project, "availability"), START, END)
    series = {dict(s.labels)["route"]: s for s in history[("shop", "availability")].series}
    inside = (INCIDENT[0] + 600 - START) // 60  # 10 minutes in: the whole range is incident
    outside = (INCIDENT[0] - 3 * 3600 - START) // 60
    assert series["/a"].errors[inside] == pytest.approx(0.5)
    assert series["/a"].errors[outside] < 0.05
    assert series["/b"].errors[inside] < 0.05


def test_two_label_sets_pair_by_labels_and_total_only_sets_keep_none_errors(prom, project):
    history = PrometheusHistory(prom.url).read(wanted(project, "availability"), START, END)
    history = history[("shop", "availability")]
    assert [s.labels for s in history.series] == [
        (("route", "/a"),),
        (("route", "/b"),),
        (("route", "/c"),),
    ]
    a, b, c = history.series
    assert any(v is not None and v > 0.4 for v in a.errors)  # /a's incident is /a's
    assert max(v for v in b.errors if v is not None) < 0.1
    assert all(v is None for v in c.errors) and all(v is not None for v in c.total[1:])
    assert history.notes == ()


def test_pair_drops_errors_without_total_and_says_so() -> None:
    x, y = (("route", "/x"),), (("route", "/y"),)
    series, notes = pair({x: [1.0], y: [2.0]}, {y: [4.0]}, 1)
    assert [(s.labels, list(s.errors), list(s.total)) for s in series] == [(y, [2.0], [4.0])]
    assert len(notes) == 1 and 'route="/x"' in notes[0] and "dropped 1 errors" in notes[0]


def test_fill_keeps_nan_and_inf_and_ignores_the_metric_name() -> None:
    grid: dict = {}
    result = [
        {
            "metric": {"__name__": "x", "route": "/a"},
            "values": [[100, "NaN"], [160, "+Inf"], [280.0, "-Inf"], [40, "1"], [400, "2"]],
        }
    ]
    fill(grid, result, 100, 4)
    ((labels, row),) = grid.items()
    assert labels == (("route", "/a"),)
    assert math.isnan(row[0]) and row[1] == math.inf and row[2] is None and row[3] == -math.inf


def test_increase_and_good_based_slis(prom, project) -> None:
    got = PrometheusHistory(prom.url).read(wanted(project, "success", "jobs"), START, END)
    jobs, success = got[("shop", "jobs")], got[("shop", "success")]
    assert jobs.semantics.per_sample == pytest.approx(60 / 300)
    assert (jobs.semantics.single, jobs.semantics.single_events) == (300, 1.0)
    assert "increases over 5m" in jobs.semantics.name
    assert success.semantics.per_sample == 60 and success.semantics.single_events == 300
    assert "rates over 5m" in success.semantics.name
    inside = (BURST[0] + 600 - START) // 60
    (only,) = jobs.series
    assert only.errors[inside] == pytest.approx(10.0)  # 2 a minute over 5 minutes
    assert only.total[inside] == pytest.approx(60.0)
    assert only.errors[(BURST[0] - 3600 - START) // 60] == 0
    (whole,) = success.series  # total - good: the 500s of every route
    errors = (INCIDENT[0] + 600 - START) // 60
    assert whole.errors[errors] >= 0.5


def test_small_point_limit_gives_the_same_history_across_chunk_seams(prom, project) -> None:
    start, end = START + 29 * 3600, START + 32 * 3600  # 181 points around the incident
    slos = wanted(project, "availability", "jobs")
    whole = PrometheusHistory(prom.url).read(slos, start, end)
    calls: list[tuple[int, int]] = []
    reader = PrometheusHistory(prom.url, max_points=7, workers=3)
    pieces = reader.read(slos, start, end, lambda done, planned: calls.append((done, planned)))
    chunk_count = -(-181 // 7)  # 26
    for key in whole:
        assert pieces[key].series == whole[key].series
        assert pieces[key].requests == 2 * chunk_count
        assert whole[key].requests == 2
    planned = 2 * 2 * chunk_count
    assert calls == [(n, planned) for n in range(1, planned + 1)]
    assert_matches(
        pieces[("shop", "availability")], prom, rule_expressions(project, "availability"), end
    )


@pytest.mark.parametrize(
    ("start", "end", "limit"),
    [(0, 600, 11), (0, 600, 3), (0, 0, 5), (60, 60 * 100, 1), (0, 60 * 10_999, MAX_POINTS)],
)
def test_chunks_cover_every_point_once(start: int, end: int, limit: int) -> None:
    spans = chunks(start, end, 60, limit)
    points = [t for a, b in spans for t in range(a, b + 1, 60)]
    assert points == list(range(start, end + 1, 60))
    assert all((b - a) // 60 + 1 <= limit for a, b in spans)
    assert len(spans) == -(-len(points) // limit)


def test_a_span_beyond_prometheus_resolution_limit_is_read_in_chunks(prom, project) -> None:
    """Prometheus refuses more than 11,000 steps in one range query; the reader splits."""
    end = START + 11_000 * 60 + 60  # 11,002 points, the data at its start
    with pytest.raises(AssertionError, match="11,000 points"):
        prom.query_range("sum(rate(jobs_total[5m]))", START, end, 60)
    got = PrometheusHistory(prom.url).read(wanted(project, "jobs"), START, end)
    history = got[("shop", "jobs")]
    assert isinstance(history, History) and history.requests == 4
    assert history.length == 11_002
    (only,) = history.series
    assert only.total[60] == pytest.approx(50.0) and only.total[-1] is None


def test_refused_queries_are_that_slos_problem_only(prom, project) -> None:
    got = PrometheusHistory(prom.url).read(
        wanted(project, "unparsable", "many-to-many", "jobs", "elsewhere"), START, START + 3600
    )
    assert ("shop", "elsewhere") not in got  # no prometheus indicator
    assert isinstance(got[("shop", "jobs")], History)
    parse, match = got[("shop", "unparsable")], got[("shop", "many-to-many")]
    assert isinstance(parse, str) and isinstance(match, str)
    assert "errors query" in parse and "unparsable" in parse and "mad_over_time" in parse
    assert "total query" in match and "many-to-many" in match and "matching" in match


def test_version_is_read_from_build_info(prom, project) -> None:
    history = PrometheusHistory(prom.url).read(wanted(project, "jobs"), START, START + 600)
    semantics = history[("shop", "jobs")].semantics
    assert semantics.closed is True  # Prometheus 2.42: [t-W, t]
    assert semantics.name.startswith("prometheus 2.") and history[("shop", "jobs")].notes == ()


@pytest.mark.parametrize(
    ("data", "version"),
    [
        ({"version": "3.1.0", "revision": "x", "goVersion": "go1.23"}, "3.1.0"),
        ({"version": "2.42.0+ds", "revision": "x", "goVersion": "go1.19"}, "2.42.0+ds"),
        ({"application": "Grafana Mimir", "version": "2.14.0", "goVersion": "go1"}, None),
        ({}, None),  # VictoriaMetrics 1.79
        ({"version": "0.34.1", "goVersion": "go1.21"}, None),  # Thanos numbers its own
        (None, None),
    ],
)
def test_only_prometheus_own_build_info_sets_the_version(data, version) -> None:
    assert prometheus_version(data) == version


class Fake:
    """An HTTP server answering every GET with one status and body, keeping the headers."""

    def __init__(self, status: int, body: bytes):
        headers: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.headers = headers
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Fake:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_unknown_server_is_read_left_open_with_a_note(project) -> None:
    empty = b'{"status": "success", "data": {"resultType": "matrix", "result": []}}'
    with Fake(200, empty) as fake:
        got = PrometheusHistory(fake.url, "Bearer abc", "team-a").read(
            wanted(project, "jobs"), START, START + 120
        )
    history = got[("shop", "jobs")]
    assert history.semantics.closed is False and "version unknown" in history.semantics.name
    assert any("did not identify itself as Prometheus" in n for n in history.notes)
    assert history.series == ()
    sent = fake.headers[-1]
    assert sent["authorization"] == "Bearer abc" and sent["x-scope-orgid"] == "team-a"


def test_unreachable_url_is_a_slogen_error(project) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SlogenError) as caught:
        PrometheusHistory(url).read(wanted(project, "jobs"), START, START + 600)
    assert url in caught.value.message
    assert "query_url" in caught.value.hint and "--prometheus" in caught.value.hint


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts connections, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(SlogenError, match="cannot read history from") as caught:
            PrometheusHistory(url, timeout=0.3).version()
    assert url in caught.value.message


def test_not_a_query_api_is_a_slogen_error(prom, project) -> None:
    url = prom.url + "/not-the-api"
    with pytest.raises(SlogenError, match="Prometheus's JSON") as caught:
        PrometheusHistory(url).read(wanted(project, "jobs"), START, START + 600)
    assert url in caught.value.message and "query_url" in caught.value.hint


def test_refused_credentials_stop_the_read(project) -> None:
    refusal = b'{"status": "error", "error": "authentication required"}'
    with Fake(401, refusal) as fake, pytest.raises(SlogenError, match="HTTP 401") as caught:
        PrometheusHistory(fake.url).read(wanted(project, "jobs"), START, START + 600)
    assert "token" in caught.value.hint


def test_history_reads_the_override_then_query_url_else_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = registry.get("prometheus")
    assert backend.capabilities.history
    monkeypatch.setenv("PROM_QUERY", "http://prom.example:9090/")
    monkeypatch.setenv("PROM_TOKEN", "s3cret")
    settings = "{type: ruler, url: http://mimir:8080, token: '${PROM_TOKEN}', tenant: t1, "
    configured = write_project(tmp_path / "a", settings + "query_url: '${PROM_QUERY}'}")
    chosen = backend.history(configured, None)
    assert isinstance(chosen, PrometheusHistory)
    assert chosen.url == "http://prom.example:9090"
    assert chosen.authorization == "Bearer s3cret" and chosen.tenant == "t1"
    override = backend.history(configured, "http://127.0.0.1:9999")
    assert isinstance(override, PrometheusHistory) and override.url == "http://127.0.0.1:9999"
    assert backend.history(write_project(tmp_path / "b"), None) == NO_URL
    with pytest.raises(SlogenError, match="--prometheus"):
        backend.history(configured, "prometheus:9090")
    monkeypatch.delenv("PROM_QUERY")
    with pytest.raises(SlogenError, match="PROM_QUERY"):
        backend.history(configured, None)


def test_history_sends_basic_auth_and_refuses_mixed_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = registry.get("prometheus")
    monkeypatch.setenv("PROM_USER", "reader")
    monkeypatch.setenv("PROM_PASSWORD", "pw")
    monkeypatch.setenv("PROM_TOKEN", "t")
    ruler = "{type: ruler, url: http://mimir:8080, query_url: http://mimir:8080/prometheus, "
    basic = write_project(
        tmp_path / "a", ruler + "username: '${PROM_USER}', password: '${PROM_PASSWORD}'}"
    )
    chosen = backend.history(basic, None)
    assert isinstance(chosen, PrometheusHistory) and chosen.tenant is None
    assert chosen.authorization == "Basic " + base64.b64encode(b"reader:pw").decode()
    mixed = write_project(
        tmp_path / "b", ruler + "username: '${PROM_USER}', token: '${PROM_TOKEN}'}"
    )
    with pytest.raises(SlogenError, match="either username and password"):
        backend.history(mixed, None)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("http://prometheus:9090", None),
        ("https://mimir.example.com/prometheus", None),
        ("'${PROM_QUERY}'", None),
        ("'http://user:pw@prometheus:9090'", "must not hold credentials"),
    ],
)
def test_validate_checks_query_url(tmp_path: Path, value: str, problem: str | None) -> None:
    project = write_project(tmp_path, f"{{type: files, dir: out, query_url: {value}}}")
    found = [p for p in registry.get("prometheus").validate(project) if "query_url" in p.path]
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0].message
        assert "pw" not in found[0].message


@pytest.mark.parametrize("value", ["prometheus:9090", "ftp://prometheus"])
def test_the_loader_refuses_a_query_url_that_is_not_http(tmp_path: Path, value: str) -> None:
    """Like every URL option, query_url is read by the settings loader: a located error."""
    with pytest.raises(SlogenError) as caught:
        write_project(tmp_path, f"{{type: files, dir: out, query_url: {value}}}")
    (problem,) = list(caught.value.problems)
    assert problem.path == "targets.prometheus.query_url"
    assert "expected an http(s) URL" in problem.message
