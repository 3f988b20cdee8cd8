"""A real ``prometheus`` server on 127.0.0.1 for tests: start, wait until ready, always stop.

The server evaluates rules every second and loads ``<rules dir>/*.yml``, which is exactly what a
``files`` target with a ``reload_url`` writes to. Use it as a context manager::

    with PrometheusServer(rules_dir, workdir) as prom:
        prom.url           # http://127.0.0.1:PORT, the value for reload_url
        prom.groups()      # {group name: group} from GET /api/v1/rules

or through the ``prometheus_server`` fixture (rules in ``tmp_path / "rules"``).

Prometheus runs a new rule group first at a slot of its interval fixed by the group's name and
file (rules/group.go ``EvalTimestamp``: ``offset = hash % interval`` in Unix nanoseconds, the
hash being xxhash64 of the labels ``{file, name}``), so slogen's 1m groups are first evaluated
up to a minute after a reload. :meth:`PrometheusServer.schedule_soon` makes Prometheus read the
same rules directory through a new symlink whose path puts the named groups' slots a few seconds
ahead: the files, their groups and their intervals stay exactly those slogen wrote. Were the
formula to change, tests would only wait longer (every wait is bounded).

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

from tests.child_process import ChildProcess

READY_TIMEOUT = 30.0  # seconds to wait for /-/ready
HTTP_TIMEOUT = 5.0
GROUP_INTERVAL = 60.0  # seconds: slogen's rule groups


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


_P1, _P2, _P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P4, _P5, _MASK = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5, (1 << 64) - 1


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (64 - bits))) & _MASK


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _MASK, 31) * _P1) & _MASK


def xxh64(data: bytes) -> int:
    """XXH64 with seed 0 (github.com/cespare/xxhash ``Sum64``, which Prometheus's labels use);
    no package for it is installed, and the inputs here are short."""
    n, pos = len(data), 0
    if n >= 32:
        v = [(_P1 + _P2) & _MASK, _P2, 0, (-_P1) & _MASK]
        while pos + 32 <= n:
            for i in range(4):
                v[i] = _round(v[i], int.from_bytes(data[pos + 8 * i : pos + 8 * i + 8], "little"))
            pos += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _MASK
        for lane in v:
            h = ((h ^ _round(0, lane)) * _P1 + _P4) & _MASK
    else:
        h = _P5
    h = (h + n) & _MASK
    while pos + 8 <= n:
        h ^= _round(0, int.from_bytes(data[pos : pos + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _MASK
        pos += 8
    if pos + 4 <= n:
        h ^= (int.from_bytes(data[pos : pos + 4], "little") * _P1) & _MASK
        h = (_rotl(h, 23) * _P2 + _P3) & _MASK
        pos += 4
    for byte in data[pos:]:
        h ^= (byte * _P5) & _MASK
        h = (_rotl(h, 11) * _P1) & _MASK
    h = ((h ^ (h >> 33)) * _P2) & _MASK
    h = ((h ^ (h >> 29)) * _P3) & _MASK
    return h ^ (h >> 32)


def slot(file: str, group: str, interval: float = GROUP_INTERVAL) -> float:
    """Seconds into each interval (of Unix time) at which Prometheus 2.x evaluates the group:
    ``labels.New({name: group}, {file: file}).Hash() % interval`` (rules/group.go ``hash``),
    the labels sorted by name and each name and value followed by 0xff (labels ``Hash``)."""
    key = b"file\xff" + file.encode() + b"\xffname\xff" + group.encode() + b"\xff"
    nanos = int(interval * 1e9)
    return (xxh64(key) % nanos) / 1e9


class PrometheusServer(ChildProcess):
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
        self.rules_path = self.rules_dir.resolve()  # the directory as Prometheus's config names it
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
        self._write_config()
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

    def _write_config(self) -> None:
        self.config_path.write_text(
            "global:\n"
            f"  evaluation_interval: {self.evaluation_interval}\n"
            "rule_files:\n"
            f"  - {json.dumps(str(self.rules_path / '*.yml'))}\n" + self._extra_config()
        )

    def schedule_soon(
        self, groups: dict[str, list[str]], soon: float = 5.0, span: float = 7.0
    ) -> None:
        """Reload Prometheus reading the rules directory through a new symlink under which
        every group (file name -> its group names, interval one minute) is next evaluated
        between ``soon`` and ``soon + span`` seconds from now (see the module docstring).

        Prometheus takes the link's path as the groups' file, so their evaluation slots move;
        the directory, the files slogen writes and their content stay the same. Call it right
        before the apply under test: a changed group keeps its new slot when that apply
        reloads, since its file path stays the same. A search slowed down (a loaded machine)
        until its slots come too close is done again."""
        links = self.workdir.resolve() / "rules-via"
        links.mkdir(exist_ok=True)
        for _attempt in range(5):
            candidate = self._quick_link(links, groups, soon, span)
            if self._fits(candidate, groups, time.time(), soon - 1, soon + span):
                break
        candidate.symlink_to(self.rules_dir.resolve(), target_is_directory=True)
        self.rules_path = candidate
        self._write_config()
        status, body = self.reload()
        assert status == 200, f"reload through {candidate}: HTTP {status}: {body}"

    @staticmethod
    def _fits(
        link: Path, groups: dict[str, list[str]], now: float, low: float, high: float
    ) -> bool:
        """Whether every group read through ``link`` is next evaluated between ``now + low``
        and ``now + high`` (lazily: most candidates already fail for the first group)."""
        return all(
            low <= (slot(str(link / file), group) - now) % GROUP_INTERVAL <= high
            for file, names in groups.items()
            for group in names
        )

    def _quick_link(
        self, links: Path, groups: dict[str, list[str]], soon: float, span: float
    ) -> Path:
        now = time.time()
        for index in range(200_000):  # about one name in (60 / span) ** len(groups) fits
            candidate = links / f"d{index}"
            if not candidate.exists() and self._fits(candidate, groups, now, soon, soon + span):
                return candidate
        raise AssertionError("no link name gives the groups early slots")

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

    def _storage_flags(self) -> list[str]:
        """Where the TSDB lives: a fresh directory per start (subclasses keep their own)."""
        return [f"--storage.tsdb.path={self.workdir / f'data-{self.port}'}"]

    def _spawn(self, binary: str) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.config_path}",
                    *self._storage_flags(),
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                    "--log.level=info",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- API helpers -----------------------------------------------------------------------

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
