"""Helpers for ``bench/prometheus_eval.py``: synthetic counter history, rule files and servers.

* :func:`make_history` draws request counters (seeded) for ``instances x codes`` series;
  :func:`write_openmetrics` writes them as one OpenMetrics file per 2 h block, the unit
  ``promtool tsdb create-blocks-from openmetrics`` writes a block of (it reads its whole input
  once per block, so one file per block keeps the backfill linear in the data);
* :func:`sloth_rules` writes Sloth-shaped rules for one availability SLO;
* :func:`backfill_plan` orders recording rules by what they read, for
  ``promtool tsdb create-blocks-from rules`` passes;
* :class:`Server` runs ``prometheus``, ``victoria-metrics`` or ``vmalert`` on 127.0.0.1 and
  waits until it answers (:func:`prometheus`, :func:`victoria`, :func:`vmalert` give each its
  flags; stopping is tests/child_process.py's: SIGTERM, then SIGKILL after a bounded wait);
  :class:`Notifier` is the alert receiver vmalert insists on.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tests.child_process import ChildProcess

BLOCK = 7200  # seconds: promtool's block length, aligned to the Unix epoch
CODES = (("200", 10.0), ("404", 0.3), ("500", 0.004), ("503", 0.002))  # requests/s per instance
METRIC = "http_requests_total"
JOB = "bench"


class SetupError(RuntimeError):
    """Something the benchmark needs failed: there is nothing to measure."""


# -- history --------------------------------------------------------------------------------


@dataclass
class History:
    labels: list[dict[str, str]]
    timestamps: np.ndarray  # Unix seconds, int64
    values: np.ndarray  # one row of counter values per series

    @property
    def samples(self) -> int:
        return int(self.values.size)


def make_history(instances: int, end: int, days: float, step: int, seed: int = 7) -> History:
    """Counters sampled every ``step`` s over ``days`` up to ``end``: Poisson increments, about
    0.06% 5xx, and a one-hour incident (5xx x 40) a day before the end."""
    rng = np.random.default_rng(seed)
    count = int(days * 86400) // step
    timestamps = end - step * np.arange(count - 1, -1, -1, dtype=np.int64)
    incident = (timestamps > end - 25 * 3600) & (timestamps <= end - 24 * 3600)
    labels, rows = [], []
    for i in range(instances):
        for code, rate in CODES:
            lam = np.full(count, rate * step)
            if code.startswith("5"):
                lam[incident] *= 40
            rows.append(np.cumsum(rng.poisson(lam)) + int(rng.integers(0, 10_000)))
            labels.append({"job": JOB, "instance": f"10.0.{i // 250}.{i % 250}:8080", "code": code})
    return History(labels, timestamps, np.vstack(rows))


def write_openmetrics(history: History, directory: Path) -> Iterator[Path]:
    """Yield one OpenMetrics file per 2 h block (epoch-aligned) as it is written."""
    directory.mkdir(parents=True, exist_ok=True)
    ts = history.timestamps
    first = int(ts[0]) // BLOCK * BLOCK
    prefixes = [
        METRIC + "{" + ",".join(f'{k}="{v}"' for k, v in lab.items()) + "}"
        for lab in history.labels
    ]
    for start in range(first, int(ts[-1]) + 1, BLOCK):
        lo, hi = np.searchsorted(ts, [start, start + BLOCK])
        if lo == hi:
            continue
        times = ts[lo:hi].tolist()
        parts = ["# TYPE http_requests counter"]
        for prefix, row in zip(prefixes, history.values[:, lo:hi].tolist(), strict=True):
            parts.append("\n".join(f"{prefix} {v} {t}" for v, t in zip(row, times, strict=True)))
        path = directory / f"{start}.om"
        path.write_text("\n".join(parts) + "\n# EOF\n", encoding="utf-8")
        yield path


def vm_import_lines(history: History) -> Iterator[bytes]:
    """The history as VictoriaMetrics ``/api/v1/import`` JSON lines (milliseconds)."""
    millis = (history.timestamps * 1000).tolist()
    for lab, row in zip(history.labels, history.values.tolist(), strict=True):
        metric = {"__name__": METRIC, **lab}
        yield json.dumps({"metric": metric, "values": row, "timestamps": millis}).encode()


# -- rules ----------------------------------------------------------------------------------


def sloth_rules(service: str, slo: str, objective: float, errors: str, total: str) -> dict:
    """Rules in the shape Sloth generates for one SLO (slok/sloth, file
    examples/_gen/getting-started.yml): one error-ratio recording per window straight over the
    raw series, the 30d ratio as an average of the 5m one, the meta recordings and the two
    multiwindow multi-burn-rate alerts (page: 14.4x 1h/5m or 6x 6h/30m; ticket: 3x 1d/2h or
    1x 3d/6h). ``errors``/``total`` hold ``{window}`` where the range goes."""
    sloth_id = f"{service}-{slo}"
    ids = {"sloth_id": sloth_id, "sloth_service": service, "sloth_slo": slo}
    sel = ", ".join(f'{k}="{v}"' for k, v in ids.items())
    budget = round(1 - objective / 100, 10)
    sli = [
        {
            "record": f"slo:sli_error:ratio_rate{w}",
            "expr": "("
            + errors.replace("{window}", w)
            + ")\n/\n("
            + total.replace("{window}", w)
            + ")\n",
            "labels": {**ids, "sloth_window": w},
        }
        for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
    ]
    sli.append(
        {
            "record": "slo:sli_error:ratio_rate30d",
            "expr": f"sum_over_time(slo:sli_error:ratio_rate5m{{{sel}}}[30d])\n"
            "/ ignoring (sloth_window)\n"
            f"count_over_time(slo:sli_error:ratio_rate5m{{{sel}}}[30d])\n",
            "labels": {"sloth_window": "30d"},
        }
    )
    on = "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
    meta = [
        ("slo:objective:ratio", f"vector({objective / 100})"),
        ("slo:error_budget:ratio", f"vector(1-{objective / 100})"),
        ("slo:time_period:days", "vector(30)"),
        (
            "slo:current_burn_rate:ratio",
            f"slo:sli_error:ratio_rate5m{{{sel}}}\n{on}slo:error_budget:ratio{{{sel}}}\n",
        ),
        (
            "slo:period_burn_rate:ratio",
            f"slo:sli_error:ratio_rate30d{{{sel}}}\n{on}slo:error_budget:ratio{{{sel}}}\n",
        ),
        ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{{{sel}}}"),
        ("sloth_slo_info", "vector(1)"),
    ]

    def pair(short: str, long: str, factor: float) -> str:
        return (
            f"(\n    (slo:sli_error:ratio_rate{short}{{{sel}}} > ({factor} * {budget}))\n"
            "    and ignoring (sloth_window)\n"
            f"    (slo:sli_error:ratio_rate{long}{{{sel}}} > ({factor} * {budget}))\n)"
        )

    alerts = [
        {
            "alert": f"{service.title()}{slo.title()}SLO",
            "expr": f"{pair(a, b, f)}\nor ignoring (sloth_window)\n{pair(c, d, g)}\n",
            "labels": {"sloth_severity": severity},
        }
        for severity, (a, b, f), (c, d, g) in (
            ("page", ("5m", "1h", 14.4), ("30m", "6h", 6)),
            ("ticket", ("2h", "1d", 3), ("6h", "3d", 1)),
        )
    ]
    return {
        "groups": [
            {"name": f"sloth-slo-sli-recordings-{sloth_id}", "rules": sli},
            {
                "name": f"sloth-slo-meta-recordings-{sloth_id}",
                "rules": [{"record": r, "expr": e, "labels": dict(ids)} for r, e in meta],
            },
            {"name": f"sloth-slo-alerts-{sloth_id}", "rules": alerts},
        ]
    }


def rules_of(path: Path) -> list[dict[str, Any]]:
    """Every rule of a rule file, in order, with its group's name under ``group``."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [{**rule, "group": g["name"]} for g in doc["groups"] for rule in g["rules"]]


def with_interval(path: Path, interval: str, out: Path) -> Path:
    """A copy of a rule file with every group's ``interval`` set."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for group in doc["groups"]:
        group["interval"] = interval
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def backfill_plan(rules: list[dict[str, Any]]) -> tuple[dict[int, list[dict]], list[list[dict]]]:
    """``(ranged, levels)``: the recording rules over raw series that another recording rule
    reads through a range selector, by the longest such range in seconds (their history must
    cover it), and every other recording rule by level (level 1 reads only raw series, level n
    reads level n-1), which only need the last few minutes."""
    recording = [r for r in rules if "record" in r]
    names = {r["record"] for r in recording}
    reads = {id(r): set(_NAME.findall(r["expr"])) & names for r in recording}
    level: dict[str, int] = {}
    for _ in range(len(recording) + 1):
        for r in recording:
            deps = reads[id(r)]
            if all(d in level for d in deps):
                level[r["record"]] = 1 + max((level[d] for d in deps), default=0)
    if len(level) != len(names):
        raise SetupError(f"recording rules read each other in a cycle: {names - set(level)}")
    ranged: dict[int, list[dict]] = {}
    for r in recording:
        pattern = re.escape(r["record"]) + r"(?:\{[^}]*\})?\[(\d+)([smhdwy])\]"
        spans = [int(n) * _UNITS[u] for o in rules for n, u in re.findall(pattern, o["expr"])]
        if level[r["record"]] == 1 and spans:
            ranged.setdefault(max(spans), []).append(r)
    rest = [r for r in recording if not any(r in group for group in ranged.values())]
    levels = [
        [r for r in rest if level[r["record"]] == n] for n in range(1, max(level.values()) + 1)
    ]
    return ranged, [lv for lv in levels if lv]


def rule_file(rules: list[dict[str, Any]], path: Path, interval: str = "1m") -> Path:
    """Write recording rules into one group (what ``create-blocks-from rules`` reads)."""
    keep = ("record", "expr", "labels")
    group = {"name": path.stem, "interval": interval}
    group["rules"] = [{k: r[k] for k in keep if k in r} for r in rules]  # type: ignore[assignment]
    path.write_text(yaml.safe_dump({"groups": [group]}, sort_keys=False), encoding="utf-8")
    return path


def move_blocks(source: Path, dest: Path) -> int:
    """Move the block directories promtool wrote under ``source`` into a TSDB directory."""
    moved = 0
    for block in source.iterdir() if source.is_dir() else ():
        if (block / "meta.json").is_file():
            block.rename(dest / block.name)
            moved += 1
    shutil.rmtree(source, ignore_errors=True)
    return moved


# -- servers --------------------------------------------------------------------------------


def binary(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else "")
    if not found:
        raise SetupError(f"'{name}' is not on PATH (Debian packages prometheus, victoria-metrics)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: bytes | None = None, timeout: float = 120.0) -> bytes:
    data = body if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.read()
    except urllib.error.HTTPError as exc:
        raise SetupError(f"{method} {url[:200]}: HTTP {exc.code}: {exc.read()[:500]!r}") from exc
    except OSError as exc:
        raise SetupError(f"{method} {url[:200]}: {exc}") from exc


class Server(ChildProcess):
    """One server binary on 127.0.0.1 (a free port), its output in ``<workdir>/<name>.log``."""

    def __init__(self, name: str, args: Callable[[int], list[str]], workdir: Path, ready_path: str):
        self.name = name
        self.args = args
        self.workdir = workdir
        self.ready_path = ready_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        for _attempt in range(3):  # the free port can be taken before the server binds it
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [binary(self.name), *self.args(self.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                )
            if self._wait_ready(deadline):
                return self
            self.stop()
            if time.monotonic() > deadline or "address already in use" not in self.log():
                break
        raise SetupError(f"{self.name} did not become ready; its log:\n{self.log()[-3000:]}")

    def get(self, path: str, timeout: float = 120.0, **params: str) -> Any:
        """``GET path?params``, JSON; the ``data`` of a Prometheus-style answer."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        answer = json.loads(http("GET", f"{self.url}{path}{query}", timeout=timeout))
        if answer.get("status") != "success":
            raise SetupError(f"GET {path}: {str(answer)[:500]}")
        return answer["data"]

    def metrics(self) -> dict[str, float]:
        """``/metrics`` samples without labels, by name."""
        out = {}
        for line in http("GET", f"{self.url}/metrics", timeout=10).decode().splitlines():
            name, _, value = line.partition(" ")
            if line and not line.startswith("#") and "{" not in name:
                out[name] = float(value.split()[0])
        return out


def prometheus(work: Path, retention_days: int) -> Server:
    def args(port: int) -> list[str]:
        return [
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'tsdb'}",
            f"--storage.tsdb.retention.time={retention_days}d",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ]

    return Server("prometheus", args, work, "/-/ready")


def prometheus_config(work: Path, rule_files: list[Path], interval: str = "1m") -> None:
    files = "".join(f"  - {json.dumps(str(f))}\n" for f in rule_files)
    files = files or "  []\n"
    text = f"global:\n  evaluation_interval: {interval}\nrule_files:\n{files}"
    (work / "prometheus.yml").write_text(text, encoding="utf-8")


def restart(server: Server) -> None:
    server.stop()
    server.start()


def victoria(work: Path, retention_days: int) -> Server:
    def args(port: int) -> list[str]:
        return [
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={work / 'vm-data'}",
            f"-retentionPeriod={retention_days}d",
            "-search.disableCache",
            "-loggerLevel=WARN",
        ]

    return Server("victoria-metrics", args, work, "/health")


def vmalert(work: Path, rules: Path, vm: str, notifier: str, lookback: int, every: str) -> Server:
    def args(port: int) -> list[str]:
        return [
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-rule={rules}",
            f"-datasource.url={vm}",
            f"-remoteWrite.url={vm}",
            f"-notifier.url={notifier}",
            f"-evaluationInterval={every}",
            f"-datasource.lookback={lookback}s",
            "-loggerLevel=WARN",
        ]

    return Server("vmalert", args, work / f"vmalert-{rules.stem}", "/health")


class Notifier:
    """What vmalert sends alerts to: answers 204 to everything."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
