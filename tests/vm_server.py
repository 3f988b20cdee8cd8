"""Real ``victoria-metrics`` and ``vmalert`` processes on 127.0.0.1 for tests, always stopped.

``VmStack`` starts, in a work directory:

* ``victoria-metrics``: the datasource and remote-write sink. ``-search.latencyOffset=1s``
  makes fresh samples queryable at once (the default hides the last 30 s) and
  ``-search.disableCache`` keeps backfilled data from being hidden by cached results;
* a tiny notifier (an in-process HTTP server answering 200 and keeping what it is sent):
  vmalert 1.79 has no ``-notifier.blackhole`` and refuses to start without a notifier when
  any rule alerts;
* ``vmalert`` loading ``<rules base>/*/*.yml``, evaluating against and writing to VictoriaMetrics.

vmalert starts each new group at a slot of its interval fixed by the group's id (app/vmalert/
group.go ``start``: it sleeps ``interval * id / 2**64 - now mod interval``; the id is FNV-1a of
file path, 0xff, group name and type). slogen's groups run every minute, so their first
evaluation may be a minute away. :meth:`VmStack.quick_rules_dir` picks a directory under the
rules base whose slots for the given groups all fall a few seconds ahead, which keeps the tests
short. Were the formula to change, tests would only wait longer (each wait is bounded).

A missing binary fails the test (never a skip): CI installs Debian's ``victoria-metrics``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.child_process import STOP_TIMEOUT, ChildProcess

READY_TIMEOUT = 30.0  # seconds for a server to answer its health endpoint
HTTP_TIMEOUT = 5.0
REPLAY_TIMEOUT = 120.0
GROUP_INTERVAL = 60  # slogen's rule groups
GROUP_TYPE = "prometheus"  # vmalert's default group type, part of the group id


def binary(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None
    )
    if found is None:
        pytest.fail(
            f"the '{name}' binary is not on PATH; install Debian's victoria-metrics package "
            "(bash .ci/run does) - these tests need real servers and are never skipped",
            pytrace=False,
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    data = body if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def fnv1a64(data: bytes) -> int:
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) % (1 << 64)
    return value


def slot(path: Path, group: str, interval: int = GROUP_INTERVAL) -> float:
    """Seconds into each interval (of Unix time) at which vmalert evaluates this group."""
    group_id = fnv1a64(str(path).encode() + b"\xff" + f"{group}{GROUP_TYPE}".encode())
    return interval * group_id / (1 << 64)


class Server(ChildProcess):
    """One child process with a log file; ``ready_path`` answers 200 once it serves."""

    def __init__(self, name: str, workdir: Path, ready_path: str):
        self.name = name
        self.workdir = workdir
        self.ready_path = ready_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def args(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + READY_TIMEOUT
        for _attempt in range(3):  # a free port can be taken before the server binds it
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [binary(self.name), *self.args()],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                )
            if self._wait_ready(deadline):
                return
            self.stop()
            if time.monotonic() > deadline or "address already in use" not in self.log():
                break
        pytest.fail(
            f"{self.name} did not become ready at {self.url} within {READY_TIMEOUT:.0f} s; "
            f"its log:\n{self.log()[-4000:]}",
            pytrace=False,
        )

    def get_json(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        status, body = http("GET", f"{self.url}{path}{query}")
        assert status == 200, f"GET {path}: HTTP {status}: {body[:500]!r}"
        data = json.loads(body)
        assert data.get("status") == "success", data
        return data["data"]


class VictoriaMetrics(Server):
    def __init__(self, workdir: Path):
        super().__init__("victoria-metrics", workdir, "/health")

    def args(self) -> list[str]:
        return [
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir / 'data'}",
            "-retentionPeriod=1",  # months; the tests' samples are hours old at most
            "-search.latencyOffset=1s",
            "-search.disableCache",
            "-loggerLevel=WARN",
        ]

    def import_series(self, series: Iterable[dict[str, Any]]) -> None:
        """``POST /api/v1/import``: JSON lines of ``{"metric", "values", "timestamps"}``, the
        timestamps in milliseconds (VictoriaMetrics docs, "How to import data in JSON line
        format"); then flush, so that the samples are searchable at once."""
        body = "\n".join(json.dumps(s) for s in series).encode()
        status, text = http("POST", f"{self.url}/api/v1/import", body)
        assert status == 204, f"import: HTTP {status}: {text[:500]!r}"
        self.flush()

    def flush(self) -> None:
        status, text = http("GET", f"{self.url}/internal/force_flush")
        assert status == 200, f"force_flush: HTTP {status}: {text[:200]!r}"

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list(self.get_json("/api/v1/query", query=expr)["result"])


class Notifier:
    """An Alertmanager stand-in: answers 200 to everything and keeps the alerts POSTed."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                with contextlib.suppress(ValueError):
                    received.extend(json.loads(self.rfile.read(length) or b"[]"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.started = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()
        self.started = True

    def stop(self) -> None:
        if self.started:  # shutdown() waits for serve_forever, which must be running
            self.server.shutdown()
            self.thread.join(timeout=STOP_TIMEOUT)
        self.server.server_close()


class Vmalert(Server):
    def __init__(self, workdir: Path, rules_glob: str, datasource: str, notifier: str):
        super().__init__("vmalert", workdir, "/health")
        self.rules_glob = rules_glob
        self.datasource = datasource
        self.notifier = notifier

    def args(self) -> list[str]:
        return [
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-rule={self.rules_glob}",
            f"-datasource.url={self.datasource}",
            f"-remoteWrite.url={self.datasource}",  # where recording rules' results go
            "-remoteWrite.flushInterval=200ms",
            f"-notifier.url={self.notifier}",
            "-evaluationInterval=1s",  # groups without an interval; slogen's say 1m
        ]

    def groups(self) -> dict[str, dict[str, Any]]:
        return {g["name"]: g for g in self.get_json("/api/v1/rules")["groups"] or []}

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.get_json("/api/v1/alerts")["alerts"] or [])

    def reload(self) -> None:
        status, body = http("GET", f"{self.url}/-/reload")
        assert status == 200, (status, body)

    def metric(self, name: str) -> float:
        _status, body = http("GET", f"{self.url}/metrics")
        for line in body.decode().splitlines():
            if line.split(" ")[0] == name:
                return float(line.split()[1])
        raise AssertionError(f"{name} not in vmalert's /metrics")

    def wait_for(self, names: list[str], evaluated: bool = False, timeout: float = 75.0) -> None:
        """Wait until the named groups are loaded (and with ``evaluated``, until every rule
        of theirs has been evaluated once)."""
        deadline = time.monotonic() + timeout
        while True:
            groups = self.groups()
            if all(n in groups for n in names) and not (
                evaluated
                and any(
                    r["lastEvaluation"].startswith("0001-")
                    for n in names
                    for r in groups[n]["rules"]
                )
            ):
                return
            assert time.monotonic() < deadline, f"groups {names} not ready in {timeout} s"
            time.sleep(0.2)


class VmStack:
    """VictoriaMetrics, a notifier and vmalert; see the module docstring."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.rules_base = workdir / "rules"
        self.vm = VictoriaMetrics(workdir / "vm")
        self.notifier = Notifier()
        self.vmalert = Vmalert(
            workdir / "vmalert", str(self.rules_base / "*" / "*.yml"), "", self.notifier.url
        )

    @property
    def url(self) -> str:
        return self.vmalert.url

    def start(self) -> VmStack:
        self.rules_base.mkdir(parents=True, exist_ok=True)
        self.notifier.start()
        self.vm.start()
        self.vmalert.datasource = self.vm.url
        self.vmalert.start()
        return self

    def stop(self) -> None:
        try:
            self.vmalert.stop()
        finally:
            try:
                self.vm.stop()
            finally:
                self.notifier.stop()

    def quick_rules_dir(
        self, groups: dict[str, list[str]], soon: float = 4.0, span: float = 12.0
    ) -> Path:
        """A new directory under the rules base in which every group (file name -> its group
        names) is first evaluated between ``soon`` and ``soon + span`` seconds from now."""
        base = self.rules_base  # the path as vmalert's -rule glob spells it
        now = time.time() % GROUP_INTERVAL
        for index in range(100_000):
            candidate = base / f"r{index}"
            waits = [
                (slot(candidate / file, group) - now) % GROUP_INTERVAL
                for file, names in groups.items()
                for group in names
            ]
            if not candidate.exists() and all(soon <= w <= soon + span for w in waits):
                candidate.mkdir()
                return candidate
        raise AssertionError("no directory name gives the groups early slots")  # not reached

    def replay(self, rule_files: list[Path], start: float, end: float) -> None:
        """Evaluate rule files over [start, end] (Unix seconds) with ``vmalert -replay``, one
        process per file, in parallel; the results land in VictoriaMetrics as if vmalert had
        been running all along. ``-replay.rulesDelay`` gives each rule's results time to
        become searchable before the next rule reads them."""
        stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        processes = []
        for path in rule_files:
            log = (self.workdir / f"replay-{path.stem}.log").open("wb")
            args = [
                binary("vmalert"),
                f"-rule={path}",
                f"-datasource.url={self.vm.url}",
                f"-remoteWrite.url={self.vm.url}",
                "-remoteWrite.flushInterval=100ms",
                "-datasource.queryStep=0",  # a step of the group's interval, not 5m
                f"-replay.timeFrom={stamp(start)}",
                f"-replay.timeTo={stamp(end)}",
                "-replay.rulesDelay=2s",
                "-replay.disableProgressBar",
            ]
            processes.append((path, log, subprocess.Popen(args, stdout=log, stderr=log)))
        deadline = time.monotonic() + REPLAY_TIMEOUT
        failures = []
        for path, log, process in processes:
            try:
                code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
                code = -1
            log.close()
            if code != 0:
                text = (self.workdir / f"replay-{path.stem}.log").read_text(errors="replace")
                failures.append(f"{path.name}: exit {code}\n{text[-2000:]}")
        assert not failures, "vmalert -replay failed:\n" + "\n".join(failures)
        self.vm.flush()


@pytest.fixture
def vm_stack(tmp_path: Path) -> Iterator[VmStack]:
    """A running stack in ``tmp_path / "vmstack"``; every process is stopped after the test."""
    stack = VmStack(tmp_path / "vmstack")
    try:
        yield stack.start()
    finally:
        stack.stop()
