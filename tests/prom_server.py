"""A real ``prometheus`` server on 127.0.0.1 for tests: start, wait until ready, always stop.

The server evaluates rules every second and loads ``<rules dir>/*.yml``, which is exactly what a
``files`` target with a ``reload_url`` writes to. Use it as a context manager::

    with PrometheusServer(rules_dir, workdir) as prom:
        prom.url           # http://127.0.0.1:PORT, the value for reload_url
        prom.groups()      # {group name: group} from GET /api/v1/rules

or through the ``prometheus_server`` fixture (rules in ``tmp_path / "rules"``).

A missing binary is a test failure, never a skip: CI installs Debian's ``prometheus`` package.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

READY_TIMEOUT = 30.0  # seconds to wait for /-/ready
STOP_TIMEOUT = 10.0  # seconds to wait after SIGTERM before SIGKILL
HTTP_TIMEOUT = 5.0


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").is_file() else None
    )
    if found is None:
        pytest.fail(
            "the 'prometheus' binary is not on PATH; install Debian's 'prometheus' package "
            "(bash .ci/run does) - these tests need a real server and are never skipped",
            pytrace=False,
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, timeout: float = HTTP_TIMEOUT) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class PrometheusServer:
    """One ``prometheus`` process; see the module docstring."""

    def __init__(
        self,
        rules_dir: Path,
        workdir: Path,
        evaluation_interval: str = "1s",
        *,
        alertmanager_url: str | None = None,
        scrape_targets: tuple[str, ...] = (),
    ):
        """``alertmanager_url`` (http://127.0.0.1:PORT): send alerts there; ``scrape_targets``
        (127.0.0.1:PORT): scrape each every second, as job ``test``."""
        self.rules_dir = Path(rules_dir)
        self.workdir = Path(workdir)
        self.evaluation_interval = evaluation_interval
        self.alertmanager_url = alertmanager_url
        self.scrape_targets = scrape_targets
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "prometheus.log"
        self.config_path = self.workdir / "prometheus.yml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> PrometheusServer:
        binary = prometheus_binary()
        self.rules_dir.mkdir(parents=True, exist_ok=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            "global:\n"
            f"  evaluation_interval: {self.evaluation_interval}\n"
            "rule_files:\n"
            f"  - {json.dumps(str(self.rules_dir.resolve() / '*.yml'))}\n" + self._extra_config()
        )
        deadline = time.monotonic() + READY_TIMEOUT
        # The port is free when picked but could be taken before prometheus binds it: retry.
        for _attempt in range(3):
            self.port = free_port()
            self._spawn(binary)
            if self._wait_ready(deadline):
                return self
            if time.monotonic() > deadline or "address already in use" not in self.log():
                break
        log = self.log()
        self.stop()
        pytest.fail(
            f"prometheus did not become ready at {self.url} within {READY_TIMEOUT:.0f} s; "
            f"its log:\n{log[-4000:]}",
            pytrace=False,
        )

    def _extra_config(self) -> str:
        text = ""
        if self.alertmanager_url:
            host = self.alertmanager_url.split("://", 1)[-1].rstrip("/")
            text += (
                "alerting:\n  alertmanagers:\n    - static_configs:\n"
                f"        - targets: [{json.dumps(host)}]\n"
            )
        if self.scrape_targets:
            targets = ", ".join(json.dumps(t) for t in self.scrape_targets)
            text += (
                "scrape_configs:\n  - job_name: test\n    scrape_interval: 1s\n"
                f"    static_configs:\n      - targets: [{targets}]\n"
            )
        return text

    def _spawn(self, binary: str) -> None:
        data = self.workdir / f"data-{self.port}"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={data}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                    "--log.level=info",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )

    def _wait_ready(self, deadline: float) -> bool:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                status, _ = http("GET", f"{self.url}/-/ready", timeout=1.0)
                if status == 200:
                    return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- API helpers -----------------------------------------------------------------------

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def rules(self) -> dict[str, Any]:
        """``GET /api/v1/rules``, parsed; fails the test unless Prometheus answers success."""
        status, body = http("GET", f"{self.url}/api/v1/rules")
        assert status == 200, f"GET /api/v1/rules: HTTP {status}: {body[:500]!r}"
        data = json.loads(body)
        assert data.get("status") == "success", data
        return data

    def groups(self) -> dict[str, dict[str, Any]]:
        """Loaded rule groups by name."""
        return {g["name"]: g for g in self.rules()["data"]["groups"]}

    def reload(self) -> tuple[int, str]:
        status, body = http("POST", f"{self.url}/-/reload")
        return status, body.decode(errors="replace")

    def wait_evaluated(self, names: list[str] | None = None, timeout: float = 10.0) -> None:
        """Wait until every rule of the named groups (default: all) has been evaluated once."""
        deadline = time.monotonic() + timeout
        while True:
            groups = self.groups()
            wanted = [groups[n] for n in names or groups if n in groups]
            if all(r.get("health") != "unknown" for g in wanted for r in g["rules"]):
                return
            assert time.monotonic() < deadline, f"rules not evaluated in {timeout} s: {groups}"
            time.sleep(0.1)


@pytest.fixture
def prometheus_server(tmp_path: Path) -> Iterator[PrometheusServer]:
    """A running server that loads ``tmp_path / "rules" / *.yml``; stopped after the test."""
    with PrometheusServer(tmp_path / "rules", tmp_path / "prometheus") as server:
        yield server
