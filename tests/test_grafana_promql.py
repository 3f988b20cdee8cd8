"""Every panel query of the example dashboards returns data on a real Prometheus.

A tiny exporter on 127.0.0.1 serves synthetic counters for every metric the example specs'
Prometheus indicators read (half of all events bad, so every tier's alert fires); a real
``prometheus`` (tests/prom_server.py) scrapes it every second with ``honor_labels`` (the specs
select on ``job="checkout"``, which a scrape would otherwise rename to ``exported_job``) and
loads the rule files ``slogen build`` writes for the same specs. Once every rule group has been
evaluated, each query of each Grafana panel - with the dashboard variables set as Grafana would
set them - must return at least one series. The wait is bounded: the groups are first evaluated
a few seconds after the reload (:meth:`PrometheusServer.schedule_soon`).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from slogen.backends import registry
from slogen.backends.grafana.queries import substitute
from slogen.spec.loader import load_project
from tests.prom_server import PrometheusServer, http

pytestmark = pytest.mark.prometheus

SPECS = Path(__file__).resolve().parents[1] / "specs"
# metric{labels} -> events per second; every SLI of the example specs sees half of its events bad.
# Plenty of them: a 5m rate over the few seconds of data the first evaluation has is a small
# part of the true rate, and ``min_events`` (100 for checkout) must be met for the alerts.
SERIES = {
    'http_requests_total{job="checkout",code="200"}': 250.0,
    'http_requests_total{job="checkout",code="503"}': 250.0,
    'http_request_duration_seconds_bucket{job="checkout",le="0.4"}': 250.0,
    'http_request_duration_seconds_count{job="checkout"}': 500.0,
    'grpc_server_handling_seconds_bucket{grpc_service="search.Search",le="0.25"}': 250.0,
    'grpc_server_handling_seconds_count{grpc_service="search.Search"}': 500.0,
    'grpc_server_handled_total{grpc_service="search.Search",grpc_code="OK"}': 250.0,
    'grpc_server_handled_total{grpc_service="search.Search",grpc_code="Unavailable"}': 250.0,
    'queue_job_wait_seconds_bucket{queue="invoices",le="300"}': 250.0,
    'queue_job_wait_seconds_count{queue="invoices"}': 500.0,
}


class Exporter:
    """Counters growing at :data:`SERIES`'s rates, in Prometheus' text format, on 127.0.0.1."""

    def __init__(self) -> None:
        self.started = time.time()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                elapsed = time.time() - exporter.started
                body = "".join(
                    f"{name} {100 + rate * elapsed:.3f}\n" for name, rate in SERIES.items()
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> Exporter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class HonouringPrometheus(PrometheusServer):
    """The test Prometheus, scraping the exporter with its own ``job`` labels kept."""

    def _extra_config(self) -> str:
        targets = ", ".join(json.dumps(t) for t in self.scrape_targets)
        return (
            "scrape_configs:\n  - job_name: synthetic\n    honor_labels: true\n"
            f"    scrape_interval: 1s\n    static_configs:\n      - targets: [{targets}]\n"
        )


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    with (
        Exporter() as exporter,
        HonouringPrometheus(
            tmp_path / "rules", tmp_path / "prometheus", scrape_targets=(exporter.address,)
        ) as prom,
    ):
        yield prom


def query(prom: PrometheusServer, expr: str) -> list[dict]:
    url = f"{prom.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, body = http("GET", url)
    assert status == 200, f"{expr}: HTTP {status}: {body[:500]!r}"
    data = json.loads(body)
    assert data["status"] == "success", data
    return data["data"]["result"]


def test_every_panel_query_returns_data(prometheus: PrometheusServer) -> None:
    started = time.monotonic()
    project = load_project([str(SPECS)])
    backend = registry.get("prometheus")
    for name, text in backend.files(backend.render(project, None), {}).items():
        (prometheus.rules_dir / name).write_text(text, encoding="utf-8")
    groups = {
        name: [g["name"] for g in yaml.safe_load(text)["groups"]]
        for name, text in backend.files(backend.render(project, None), {}).items()
    }
    time.sleep(3)  # a few scrapes, so the first evaluation sees rates
    # five groups: a 12 s span makes a fitting link name ~1 in 3,000 (at the default 7 s,
    # ~1 in 46,000, and the 200,000-name search failed about once a hundred runs)
    prometheus.schedule_soon(groups, span=12.0)
    names = [g for group_names in groups.values() for g in group_names]
    prometheus.wait_evaluated(names, timeout=30)

    dashboards = registry.get("grafana").render(project, None)
    assert len(dashboards) == 3
    empty = []
    checked = 0
    for dashboard in dashboards:
        for panel in dashboard.body["panels"]:
            for target in panel.get("targets", []):
                expr = substitute(target["expr"], dashboard.key)
                checked += 1
                if not query(prometheus, expr):
                    empty.append(f"{dashboard.key}: {panel['title']} {target['refId']}: {expr}")
    assert not empty, "panel queries without data:\n" + "\n".join(empty)
    assert checked > 50
    # the SLO variable narrows a row to its SLO: one SLO picked, the others' rows are empty
    checkout = next(d for d in dashboards if d.key == "checkout")
    row = next(p for p in checkout.body["panels"] if p["type"] == "stat")
    expr = row["targets"][0]["expr"]
    assert query(prometheus, substitute(expr, "checkout", "availability"))
    assert not query(prometheus, substitute(expr, "checkout", "latency"))
    assert time.monotonic() - started < 60
