"""Benchmark: ``slogen backtest`` over a month of 100 SLOs read from a local Prometheus.

Generates ``--services`` x ``--slos-per-service`` availability SLOs (20 x 5 = 100; 99.9% over
30d, the ``workbook`` policy, every third with ``min_events: 100``), each over its own two
counters ``http_requests_total{job="svcNN",route="/rK",code="200"|"500"}``: Poisson traffic
of 5-50 requests/s (seeded), 0.05% errors, and one incident per SLO (10-60 minutes at 5-100%
errors) somewhere in the span. The history covers ``--days`` plus the 3 days the longest
window looks back, a sample every 60 s, ending at the start of the run; it is written as
OpenMetrics (one file per 2 h block, bench/_promdata.py) and backfilled with
``promtool tsdb create-blocks-from openmetrics`` in parallel into a ``prometheus`` listening on
127.0.0.1 only.

What is timed: ``python -m slogen backtest SPECS --from <end - days> --to <end> --prometheus
URL --format json`` in a subprocess, ``--repeats`` times after one warm-up. The warm-up's
report is checked first (one outcome per SLO, none unread, firings found). Figures: wall clock
and CPU (this process's children: slogen; Prometheus's own CPU is not in it), HTTP requests
(the report's ``requests``, and Prometheus's own count of ``/api/v1/query_range`` and
``/api/v1/status/buildinfo`` requests per run from its ``/metrics``), SLOs, raw samples in the
TSDB and values returned to slogen. Target: median wall clock under 60 s (PASS/MISS). Figures,
not assertions: exit 0 whatever the numbers, 2 when something the run needs fails.

    .venv/bin/python bench/backtest.py [--services 20] [--slos-per-service 5] [--days 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import CommandFailed, Row, Summary, measure, python_argv, report, run_command
from _promdata import (
    History,
    Server,
    SetupError,
    binary,
    http,
    move_blocks,
    prometheus,
    prometheus_config,
    write_openmetrics,
)

STEP = 60
LOOKBACK = 3 * 86400  # the workbook's longest window: slogen reads this far before --from
TARGET = 60.0  # seconds
HANDLERS = ("/api/v1/query_range", "/api/v1/status/buildinfo")


def slo_text(job: str, k: int, guarded: bool) -> str:
    """One SLO of a service's spec file."""
    sel, window = f'job="{job}",route="/r{k}"', "[{{ window }}]"
    lines = [
        f"  - name: slo{k}",
        "    objective: 99.9",
        "    window: 30d",
        "    indicator:",
        "      prometheus:",
        f'        errors: sum(rate(http_requests_total{{{sel},code="500"}}{window}))',
        f"        total: sum(rate(http_requests_total{{{sel}}}{window}))",
    ]
    if guarded:
        lines += ["    alerting:", "      min_events: 100"]
    return "\n".join(lines) + "\n"


def write_specs(directory: Path, services: int, per_service: int) -> int:
    """One spec file per service; returns how many SLOs."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for s in range(services):
        job = f"svc{s:02d}"
        text = f"service: {job}\nslos:\n"
        for k in range(per_service):
            text += slo_text(job, k, count % 3 == 0)
            count += 1
        (directory / f"{job}.yaml").write_text(text, encoding="utf-8")
    return count


def make_history(services: int, per_service: int, end: int, days: float, seed: int) -> History:
    """Two counters per SLO (module docstring), a sample every minute up to ``end``."""
    rng = np.random.default_rng(seed)
    count = int(days * 86400) // STEP + 1
    timestamps = end - STEP * np.arange(count - 1, -1, -1, dtype=np.int64)
    labels, rows = [], []
    for s in range(services):
        for k in range(per_service):
            traffic = rng.poisson(np.full(count, rng.uniform(5, 50) * STEP))
            ratio = np.full(count, 0.0005)
            first = int(rng.integers(count // 10, count - 120))
            ratio[first : first + int(rng.integers(10, 61))] = rng.uniform(0.05, 1.0)
            errors = rng.binomial(traffic, ratio)
            for code, inc in (("200", traffic - errors), ("500", errors)):
                labels.append({"job": f"svc{s:02d}", "route": f"/r{k}", "code": code})
                rows.append(np.cumsum(inc) - inc[0])
    return History(labels, timestamps, np.vstack(rows))


def backfill(history: History, work: Path, tsdb: Path) -> int:
    """The history into ``tsdb``, one promtool run per 2 h file, a CPU each."""
    promtool = binary("promtool")

    def convert(path: Path) -> int:
        out = work / "blocks" / path.stem
        run_command([promtool, "tsdb", "create-blocks-from", "openmetrics", path, out])
        path.unlink()
        return move_blocks(out, tsdb)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        jobs = [pool.submit(convert, p) for p in write_openmetrics(history, work / "om")]
        blocks = sum(j.result() for j in jobs)
    if not blocks:
        raise SetupError("promtool wrote no blocks")
    return blocks


_REQUESTS = re.compile(r'^prometheus_http_requests_total\{[^}]*handler="([^"]+)"[^}]*\} (\S+)$')


def api_requests(prom: Server) -> int:
    """Prometheus's own count of the requests a history read makes, over all status codes."""
    total = 0.0
    for line in http("GET", f"{prom.url}/metrics", timeout=10).decode().splitlines():
        if (m := _REQUESTS.match(line)) and m[1] in HANDLERS:
            total += float(m[2])
    return int(total)


def stamp(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def run(args: argparse.Namespace, work: Path, running: list[Server]) -> int:
    facts = Summary("Setup")
    slos = write_specs(work / "specs", args.services, args.slos_per_service)
    end = int(time.time()) // STEP * STEP
    begin = time.perf_counter()
    history = make_history(
        args.services, args.slos_per_service, end, args.days + LOOKBACK / 86400, args.seed
    )
    tsdb = work / "tsdb"
    tsdb.mkdir()
    blocks = backfill(history, work, tsdb)
    facts.add("history", f"{len(history.labels)} series x {len(history.timestamps)} samples")
    facts.add("backfill", f"{blocks} blocks in {time.perf_counter() - begin:.1f} s")
    prometheus_config(work, [])
    prom = prometheus(work, int(args.days) + 20)
    running.append(prom.start())
    facts.add("prometheus", prom.get("/api/v1/status/buildinfo")["version"])

    argv = python_argv("-m", "slogen", "backtest", work / "specs", "--prometheus", prom.url)
    argv += ["--from", stamp(end - int(args.days * 86400)), "--to", stamp(end), "--format", "json"]
    requests: list[int] = []
    reports: list[dict] = []

    def once() -> None:
        before = api_requests(prom)
        done = run_command(argv)
        requests.append(api_requests(prom) - before)
        reports.append(json.loads(done.stdout))

    once()  # the warm-up: its report is checked before anything is timed
    first = reports[0]
    outcomes = first["slos"]
    firings = sum(len(t["firings"]) for o in outcomes for t in o["tiers"])
    facts.add("SLOs", f"{slos} in specs, {len(outcomes)} replayed, {len(first['unread'])} unread")
    facts.add(
        "firings (warm-up run)", f"{firings}, misses {sum(len(o['misses']) for o in outcomes)}"
    )
    if len(outcomes) != slos or first["unread"] or not firings:
        facts.print()
        print("the report is not what the history holds: nothing timed", file=sys.stderr)
        return 2
    timing = measure(once, args.repeats, warmup=0)
    evaluations = (end - (end - int(args.days * 86400) - LOOKBACK)) // STEP + 1
    facts.add("samples in the TSDB", f"{history.samples:,}")
    facts.add("values returned to slogen", f"{2 * slos * evaluations:,} (2 series per SLO)")
    facts.add("HTTP requests per run", f"report {first['requests']}, Prometheus counted {requests}")
    facts.add("load average", f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    facts.print()
    name = f"slogen backtest, {slos} SLOs x {args.days:g} d"
    report([Row(name, timing, max_seconds=TARGET)], title="Backtest")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--services", type=int, default=20, help="services")
    parser.add_argument("--slos-per-service", type=int, default=5, help="SLOs per service")
    parser.add_argument("--days", type=float, default=30, help="days replayed (--from..--to)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after a warm-up")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the history")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work here and keep it")
    args = parser.parse_args(argv)
    try:
        binary("promtool")
        binary("prometheus")
    except SetupError as exc:
        print(exc, file=sys.stderr)
        return 2
    work = (args.keep or Path(tempfile.mkdtemp(prefix="slogen-backtest-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    running: list[Server] = []  # every one is stopped, whatever happens
    try:
        return run(args, work, running)
    except (SetupError, CommandFailed) as exc:
        print(f"the benchmark could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        for process in reversed(running):
            process.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
