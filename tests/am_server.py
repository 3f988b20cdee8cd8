"""A real ``prometheus-alertmanager`` on 127.0.0.1 for tests, a webhook that records what it
delivers, and ``amtool check-config``.

    with WebhookServer() as hook, AlertmanagerServer(config_text, workdir) as am:
        hook.url("sre-pager")      # http://127.0.0.1:PORT/sre-pager, for a webhook_config
        am.url                     # http://127.0.0.1:PORT, where Prometheus sends alerts
        am.alerts()                # GET /api/v2/alerts (with inhibited and silenced ones)
        hook.deliveries()          # [(receiver path, webhook payload), ...] in arrival order

Clustering is off (``--cluster.listen-address=`` empty), storage in the work directory, every
port on 127.0.0.1. A missing binary is a test failure, never a skip: CI installs Debian's
``prometheus-alertmanager`` package (binaries ``prometheus-alertmanager`` and ``amtool``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.child_process import STOP_TIMEOUT, ChildProcess
from tests.prom_server import READY_TIMEOUT, free_port, http

AMTOOL_TIMEOUT = 30.0


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None
        )
        if found:
            return found
    pytest.fail(
        f"none of {', '.join(names)} is on PATH; install Debian's 'prometheus-alertmanager' "
        "package - these tests need the real binaries and are never skipped",
        pytrace=False,
    )


def alertmanager_binary() -> str:
    return _binary("prometheus-alertmanager", "alertmanager")


def amtool_binary() -> str:
    return _binary("amtool")


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    """``amtool check-config PATH`` (exit code 0 when Alertmanager would load it)."""
    return subprocess.run(
        [amtool_binary(), "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=AMTOOL_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


class WebhookServer:
    """An HTTP server on 127.0.0.1 that records every POST (path without the leading '/', and
    the JSON body Alertmanager's webhook sends)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[tuple[str, dict[str, Any]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsed": body.decode(errors="replace")}
                with owner._lock:
                    owner._received.append((self.path.lstrip("/"), payload))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, receiver: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{receiver}"

    def deliveries(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self._received)

    def delivered_alerts(self) -> list[tuple[str, dict[str, str]]]:
        """(receiver, labels) of every firing alert delivered so far."""
        return [
            (receiver, alert["labels"])
            for receiver, payload in self.deliveries()
            for alert in payload.get("alerts", [])
            if alert.get("status") == "firing"
        ]

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=STOP_TIMEOUT)


class AlertmanagerServer(ChildProcess):
    """One ``prometheus-alertmanager`` process loaded with ``config_text``."""

    def __init__(self, config_text: str, workdir: Path):
        self.workdir = Path(workdir)
        self.config_text = config_text
        self.config_path = self.workdir / "alertmanager.yml"
        self.log_path = self.workdir / "alertmanager.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AlertmanagerServer:
        binary = alertmanager_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_text, encoding="utf-8")
        deadline = time.monotonic() + READY_TIMEOUT
        for _attempt in range(3):  # a port free when picked may be taken before it binds
            self.port = free_port()
            self._spawn(binary)
            if self._wait_ready(deadline):
                return self
            if time.monotonic() > deadline or "address already in use" not in self.log():
                break
        log = self.log()
        self.stop()
        pytest.fail(
            f"alertmanager did not become ready at {self.url} within {READY_TIMEOUT:.0f} s; "
            f"its log:\n{log[-4000:]}",
            pytrace=False,
        )

    def _spawn(self, binary: str) -> None:
        self.stop()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.config_path}",
                    f"--storage.path={self.workdir / f'data-{self.port}'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",  # no clustering, no gossip port
                    "--log.level=debug",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )

    def __enter__(self) -> AlertmanagerServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def alerts(self) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts``: every alert it holds, inhibited and silenced ones too."""
        status, body = http("GET", f"{self.url}/api/v2/alerts")
        assert status == 200, f"GET /api/v2/alerts: HTTP {status}: {body[:500]!r}"
        return json.loads(body)
