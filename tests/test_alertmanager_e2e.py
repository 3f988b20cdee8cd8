"""End to end with real parts: slogen's generated rules in a real ``prometheus``, its alerts sent to
a real ``prometheus-alertmanager`` loaded with slogen's generated fragment, notifications
delivered to webhooks in this test. Everything listens on 127.0.0.1; every process is stopped
(SIGTERM, then SIGKILL after a timeout) whatever happens.

Three SLOs (workbook policy, 99.9 %: page thresholds 1.44 % and 0.6 %, ticket 0.1 %) read
counters from a tiny exporter in the test:

- ``checkout/availability`` (owner ``payments``) at 50 % errors: pages and tickets; a configured
  route sends ``team=payments`` pages to ``payments-pager``;
- ``search/availability`` at 50 % errors: pages and tickets, the page to ``sre-pager``;
- ``billing/availability`` at 0.3 % errors: tickets only, to ``sre-tickets``.

With the generated fragment the tickets of checkout and search are inhibited (their pages fire);
billing's ticket is delivered. The same run with the inhibition rule removed delivers those
tickets too, which shows the assertions would catch a fragment without it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.am_server import AlertmanagerServer, WebhookServer
from tests.child_process import STOP_TIMEOUT
from tests.cli import run
from tests.prom_server import PrometheusServer

DELIVERY_TIMEOUT = 60.0  # seconds for every expected notification to arrive
SETTLE = 4.0  # seconds more, after they did, for anything unexpected to arrive too
POLL = 0.2
REQUESTS_PER_SECOND = 100.0
ERROR_RATIOS = {"checkout": 0.5, "search": 0.5, "billing": 0.003}
OWNERS = {"checkout": "payments", "search": "discovery", "billing": "billing"}

SETTINGS = """\
alertmanager:
  receivers: {page: sre-pager, ticket: sre-tickets}
  routes:
    - {match: {team: payments, severity: page}, receiver: payments-pager}
  group_wait: 1s
  group_interval: 1s
"""
SPEC = """\
service: %(service)s
owner: %(owner)s
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(e2e_requests_total{service="%(service)s",code="500"}[{{ window }}]))
        total: sum(rate(e2e_requests_total{service="%(service)s"}[{{ window }}]))
"""


# -- the parts ----------------------------------------------------------------------------------


@contextmanager
def exporter() -> Iterator[str]:
    """Counters growing at REQUESTS_PER_SECOND per service, ERROR_RATIOS of them code 500; yields
    the scrape target (127.0.0.1:PORT)."""
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            elapsed = 600.0 + time.monotonic() - started  # as if running for 10 minutes
            lines = ["# TYPE e2e_requests_total counter"]
            for service, ratio in sorted(ERROR_RATIOS.items()):
                total = REQUESTS_PER_SECOND * elapsed
                for code, share in (("500", ratio), ("200", 1 - ratio)):
                    series = f'e2e_requests_total{{service="{service}",code="{code}"}}'
                    lines.append(f"{series} {total * share}")
            body = ("\n".join(lines) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=STOP_TIMEOUT)


def build(tmp_path: Path) -> tuple[Path, str]:
    """``slogen build`` of the three SLOs: the rule files (group interval shortened, see below)
    in a directory for Prometheus, and the fragment's text."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "slogen.yaml").write_text(SETTINGS)
    for service, owner in OWNERS.items():
        (specs / f"{service}.yaml").write_text(SPEC % {"service": service, "owner": owner})
    out = tmp_path / "out"
    run("build", str(specs), "-o", str(out))
    rules = tmp_path / "rules"
    rules.mkdir()
    for path in sorted((out / "prometheus").glob("*.rules.yml")):
        text = path.read_text(encoding="utf-8")
        # FOR THE TEST ONLY: each group is evaluated every second instead of every minute, so the
        # alerts fire seconds after start. Nothing else changes: the expressions, thresholds and
        # labels are as generated; these SLOs set no `min_events` (the only rules that assume one
        # sample per minute) and slogen's burn-rate alerts have no `for`.
        assert text.count("  interval: 1m\n") == 1, text
        (rules / path.name).write_text(text.replace("  interval: 1m\n", "  interval: 1s\n"))
    fragment = (out / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8")
    assert fragment.startswith("# managed-by: slogen\n")
    return rules, fragment


def alertmanager_config(fragment: str, hook: WebhookServer, inhibit: bool) -> str:
    """The generated fragment with each placeholder receiver given a webhook (what a user does
    when merging it); with ``inhibit=False``, also without its inhibition rule."""
    config: dict[str, Any] = yaml.safe_load(fragment)
    names = [r["name"] for r in config["receivers"]]
    assert names == ["sre-pager", "sre-tickets", "payments-pager"]
    assert all(set(r) == {"name"} for r in config["receivers"]), "placeholders only"
    config["receivers"] = [
        {"name": name, "webhook_configs": [{"url": hook.url(name), "send_resolved": False}]}
        for name in names
    ]
    if not inhibit:
        assert config.pop("inhibit_rules")
    return yaml.safe_dump(config, sort_keys=False)


def delivered(hook: WebhookServer) -> set[tuple[str, str, str]]:
    """(receiver, service, severity) of every firing alert notified so far."""
    out = set()
    for path, payload in hook.deliveries():
        assert payload.get("receiver") == path, payload  # the webhook of the receiver it names
        for alert in payload.get("alerts", []):
            if alert.get("status") == "firing":
                labels = alert["labels"]
                out.add((path, labels["service"], labels["severity"]))
    return out


# -- the test ---------------------------------------------------------------------------------

PAGES = {("payments-pager", "checkout", "page"), ("sre-pager", "search", "page")}
BILLING_TICKET = {("sre-tickets", "billing", "ticket")}
HELD_TICKETS = {("sre-tickets", "checkout", "ticket"), ("sre-tickets", "search", "ticket")}


@pytest.mark.parametrize(
    "inhibit",
    [True, False],
    ids=["generated-fragment", "inhibition-removed"],
)
def test_alerts_reach_the_right_receivers_and_tickets_wait_for_pages(
    tmp_path: Path, inhibit: bool
) -> None:
    rules, fragment = build(tmp_path)
    expected = PAGES | BILLING_TICKET | (set() if inhibit else HELD_TICKETS)
    with (
        WebhookServer() as hook,
        AlertmanagerServer(
            alertmanager_config(fragment, hook, inhibit), tmp_path / "alertmanager"
        ) as am,
        exporter() as target,
        PrometheusServer(
            rules,
            tmp_path / "prometheus",
            alertmanager_url=am.url,
            scrape_targets=(target,),
        ),
    ):
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while not expected <= delivered(hook):
            assert time.monotonic() < deadline, (
                f"not delivered within {DELIVERY_TIMEOUT:.0f} s: "
                f"{sorted(expected - delivered(hook))}; delivered: {sorted(delivered(hook))}\n"
                f"alertmanager log:\n{am.log()[-3000:]}"
            )
            time.sleep(POLL)
        if inhibit:
            # Alertmanager holds the tickets, and says the pages of their SLO inhibit them
            held = {
                (a["labels"]["service"], a["labels"]["severity"]): a["status"]
                for a in am.alerts()
                if a["labels"]["severity"] == "ticket"
            }
            for service in ("checkout", "search"):
                status = held[(service, "ticket")]
                assert status["state"] == "suppressed" and status["inhibitedBy"], (service, held)
            assert held[("billing", "ticket")]["state"] == "active", held
        time.sleep(SETTLE)  # several group_wait/group_interval rounds: nothing else arrives
        assert delivered(hook) == expected
