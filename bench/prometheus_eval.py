"""Benchmark: what slogen's Prometheus rules cost to evaluate, against Sloth-shaped rules.

Generates one service with one availability SLO (99.9% over 30d, the ``workbook`` policy,
``min_events``) on ``http_requests_total{job="bench",code=...}`` and builds it with
``python -m slogen build``; writes the rules Sloth generates for the same SLO (every window's
error ratio straight over the raw counters, the 30d ratio as an average of the 5m one, meta
recordings, multiwindow alerts: bench/_promdata.py ``sloth_rules``). Then, on 127.0.0.1 only:

1. history: ``--series`` counters (4 codes x instances) every ``--step`` s for ``--days``,
   ending now, written as OpenMetrics and backfilled with
   ``promtool tsdb create-blocks-from openmetrics`` (one file per 2 h block, in parallel);
2. recorded history: ``promtool tsdb create-blocks-from rules`` against a running Prometheus,
   at 1m, in passes by dependency: the recording rules over raw series that other rules read
   through a range (slogen's ``slogen:sli_*:rate5m``, Sloth's ``slo:sli_error:ratio_rate5m``)
   over the longest range read (3d, 30d), every other recording rule over its last
   ``--recent`` minutes, level by level (a rule reading a recording is backfilled after it,
   Prometheus restarted in between); Prometheus then compacts the blocks, and the run waits
   until it has;
3. Prometheus (``prometheus --version``): every rule's ``expr`` of each set as an instant query
   at the end of the history, ``stats=all``, ``--repeats`` times after a warm-up, round-robin
   between the sets; then each set loaded as a rule file (groups every ``--interval``) and
   ``evaluationTime`` of each group read from ``/api/v1/rules`` over ``--evaluations`` runs;
4. VictoriaMetrics: the same raw series and the recorded series (read back from Prometheus)
   imported, the same instant queries timed (wall clock; no sample counts there), and each set
   run by ``vmalert`` (``-datasource.lookback`` puts its evaluations at the end of the history).

Figures per rule set: rules (one instant query each), samples touched (Prometheus's
``totalQueryableSamples``, summed over the set), query time (``evalTotalTime``, the engine's
time without HTTP: each rule's median over the repeats, summed over the set; ``min`` sums the
minima), the same as HTTP wall clock, and per rule-group run the summed ``evaluationTime``
(vmalert: ``vmalert_iteration_duration_seconds``), median over the runs. Ratio is slogen's
figure over Sloth's. The goal: at most 0.05x in Prometheus query time (PASS/MISS); the other
ratios are printed against the same bound for information. A per-rule table comes first.
Figures, not assertions: exit 0 whatever the numbers, 2 when something the run needs fails.

    .venv/bin/python bench/prometheus_eval.py [--series 100] [--days 30] [--step 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import CommandFailed, Summary, Timing, python_argv, run_command, seconds
from _promdata import (
    BLOCK,
    JOB,
    METRIC,
    History,
    Notifier,
    Server,
    SetupError,
    backfill_plan,
    binary,
    http,
    make_history,
    move_blocks,
    prometheus,
    prometheus_config,
    restart,
    rule_file,
    rules_of,
    sloth_rules,
    victoria,
    vm_import_lines,
    vmalert,
    with_interval,
    write_openmetrics,
)

TARGET = 0.05  # slogen's query time <= 0.05x Sloth's
SETTLE_TIMEOUT = 300.0  # seconds for Prometheus to compact the backfilled blocks
ERRORS = f'sum(rate({METRIC}{{job="{JOB}",code=~"5.."}}[{{window}}]))'
TOTAL = f'sum(rate({METRIC}{{job="{JOB}"}}[{{window}}]))'
SPEC = f"""\
service: {JOB}
owner: perf
slos:
  - name: availability
    category: availability
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: {ERRORS.replace("{window}", "{{ window }}")}
        total: {TOTAL.replace("{window}", "{{ window }}")}
    alerting:
      policy: workbook
      min_events: 100
"""


def settle(prom: Server, tsdb: Path) -> int:
    """Wait until Prometheus has run its first compaction (a minute after start) and the
    blocks stay the same for 3 s; return how many blocks it has then."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    last: tuple[object, ...] = ()
    stable = 0
    while time.monotonic() < deadline:
        metrics = prom.metrics()
        blocks = sorted(p.name for p in tsdb.iterdir() if p.is_dir())
        state = (tuple(blocks), metrics.get("prometheus_tsdb_compactions_total"))
        busy = any(".tmp" in b for b in blocks)
        triggered = metrics.get("prometheus_tsdb_compactions_triggered_total", 0) >= 1
        stable = stable + 1 if triggered and not busy and state == last else 0
        if stable >= 3:
            return int(metrics.get("prometheus_tsdb_blocks_loaded", -1))
        last = state
        time.sleep(1)
    raise SetupError(f"Prometheus still compacting after {SETTLE_TIMEOUT:.0f} s")


def instant_queries(
    server: Server, sets: dict[str, list[dict]], at: int, repeats: int, stats: bool
) -> dict[str, dict[str, Any]]:
    """Every rule's expr as an instant query at ``at``, ``repeats`` rounds after a warm-up one,
    round-robin between the sets; per rule the wall and engine times of each round and the
    samples touched, per set the recording rules that returned nothing."""
    params = {"time": str(at), **({"stats": "all"} if stats else {"nocache": "1"})}
    out: dict[str, dict[str, Any]] = {name: {"empty": 0, "rules": {}} for name in sets}
    for round_ in range(1 + repeats):
        for name, rules in sets.items():
            for i, rule in enumerate(rules):
                start = time.perf_counter()
                data = server.get("/api/v1/query", query=rule["expr"], **params)
                elapsed = time.perf_counter() - start
                if round_ == 0:
                    out[name]["empty"] += "record" in rule and not data["result"]
                    continue
                st = data.get("stats", {})
                per = out[name]["rules"].setdefault(i, {"rule": rule, "wall": [], "engine": []})
                per["wall"].append(elapsed)
                per["engine"].append(float(st.get("timings", {}).get("evalTotalTime", 0.0)))
                per["samples"] = int(st.get("samples", {}).get("totalQueryableSamples", 0))
    return out


def group_times(server: Server, files: set[str], evaluations: int, timeout: float) -> Timing:
    """Prometheus: per round, the summed ``evaluationTime`` of the groups of ``files`` (each
    group's first evaluation skipped), for ``evaluations`` rounds."""
    seen: dict[str, dict[str, float]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for g in server.get("/api/v1/rules")["groups"] or []:
            last = g["lastEvaluation"]
            if g["file"] in files and not last.startswith("0001-"):
                seen.setdefault(g["name"], {})[last] = float(g["evaluationTime"])
        if seen and all(len(v) > evaluations for v in seen.values()):
            return rounds([[v[k] for k in sorted(v)] for v in seen.values()], evaluations)
        time.sleep(0.2)
    raise SetupError(f"rule groups of {files} not evaluated {evaluations + 1} times in time")


_ITERATION = re.compile(
    r'vmalert_iteration_duration_seconds_(sum|count)\{group="([^"]*)".*\} (\S+)'
)


def vmalert_times(server: Server, evaluations: int, timeout: float) -> Timing:
    """vmalert: the same from its ``vmalert_iteration_duration_seconds`` sum and count per group
    (1.79's rules report a running total as their evaluationTime, and groups none)."""
    last: dict[str, tuple[float, float]] = {}
    seen: dict[str, list[float]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now: dict[str, dict[str, float]] = {}
        for line in http("GET", f"{server.url}/metrics", timeout=10).decode().splitlines():
            if m := _ITERATION.match(line):
                now.setdefault(m[2], {})[m[1]] = float(m[3])
        for group, v in now.items():
            total, count = v.get("sum", 0.0), v.get("count", 0.0)
            before = last.get(group, (0.0, 0.0))
            if count > before[1]:  # one iteration per poll, unless a poll came late
                seen.setdefault(group, []).extend(
                    [(total - before[0]) / (count - before[1])] * int(count - before[1])
                )
            last[group] = (total, count)
        if seen and all(len(v) > evaluations for v in seen.values()):
            return rounds(list(seen.values()), evaluations)
        time.sleep(0.2)
    raise SetupError(f"vmalert groups not evaluated {evaluations + 1} times in time")


def summed(queries: dict[str, dict[str, Any]], key: str) -> dict[str, tuple[float, float]]:
    """Per set: the sum over its rules of each rule's median and of each rule's minimum."""
    return {
        name: (
            sum(statistics.median(r[key]) for r in q["rules"].values()),
            sum(min(r[key]) for r in q["rules"].values()),
        )
        for name, q in queries.items()
    }


def rounds(per_group: list[list[float]], evaluations: int) -> Timing:
    """Sum the groups' times round by round, each group's first (warm-up) run left out."""
    runs = [times[1 : evaluations + 1] for times in per_group]
    return Timing(tuple(sum(r) for r in zip(*runs, strict=True)))


def stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def backfill_history(args: argparse.Namespace, work: Path, tsdb: Path, end: int) -> History:
    """Raw counters into ``tsdb``."""
    history = make_history(args.series // 4, end, args.days, args.step)
    jobs = []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for path in write_openmetrics(history, work / "openmetrics"):
            out = work / "blocks" / path.stem

            def job(path: Path = path, out: Path = out) -> int:
                run_command(["promtool", "tsdb", "create-blocks-from", "openmetrics", path, out])
                path.unlink()
                return move_blocks(out, tsdb)

            jobs.append(pool.submit(job))
        blocks = sum(j.result() for j in jobs)
    if not blocks:
        raise SetupError("promtool wrote no blocks")
    return history


def backfill_rules(
    prom: Server, work: Path, tsdb: Path, rules: list[dict], start: int, end: int, recent: int
) -> list[str]:
    """Recorded history, level by level (see the module docstring); the long histories with one
    promtool process per CPU over consecutive 2 h-aligned spans. Returns what was done."""
    ranged, levels = backfill_plan(rules)
    workers = os.cpu_count() or 2
    done = []
    for n, level in enumerate(levels, 1):
        jobs = [(f"level{n}-recent", level, end - recent, end)]
        for span, batch in ranged.items() if n == 1 else ():
            since = max(start, end - span - recent)  # the longest range read, at the end
            step = -(-(end - since) // workers // BLOCK) * BLOCK  # a CPU each, 2 h-aligned
            cuts = [since, *range(since // BLOCK * BLOCK + step, end, step), end + 1]
            jobs += [
                (f"level1-{span // 3600}h", batch, a, b - 1) for a, b in itertools.pairwise(cuts)
            ]

        def job(name: str, batch: list[dict], since: int, until: int) -> int:
            path = rule_file(batch, work / f"backfill-{name}.yml")
            out = work / "blocks" / f"{name}-{since}"
            run_command(
                [
                    *("promtool", "tsdb", "create-blocks-from", "rules", "-q"),
                    *(f"--url={prom.url}", f"--start={since}", f"--end={until}"),
                    *("--eval-interval=1m", f"--output-dir={out}", path),
                ],
                cwd=work,
            )
            return move_blocks(out, tsdb)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            moved = list(pool.map(lambda j: job(*j), jobs))
        for name in dict.fromkeys(name for name, *_ in jobs):
            rules_n = len(next(batch for nm, batch, *_ in jobs if nm == name))
            blocks = sum(m for (nm, *_), m in zip(jobs, moved, strict=True) if nm == name)
            done.append(f"{name}: {rules_n} rules, {blocks} blocks")
        restart(prom)
    return done


def recorded_series(prom: Server, names: set[str], end: int, days: float) -> list[bytes]:
    """Every recorded sample in Prometheus, as VictoriaMetrics import lines."""
    selector = '{__name__=~"' + "|".join(re.escape(n) for n in sorted(names)) + '"}'
    data = prom.get("/api/v1/query", query=f"{selector}[{int(days) + 1}d]", time=str(end))
    return [
        json.dumps(
            {
                "metric": s["metric"],
                "values": [float(v) for _, v in s["values"]],
                "timestamps": [round(float(t) * 1000) for t, _ in s["values"]],
            }
        ).encode()
        for s in data["result"]
    ]


def version(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    return (proc.stdout + proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else "?"


def table(headers: list[str], lines: list[list[str]]) -> None:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    for line in [headers, ["-" * w for w in widths], *lines]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--series", type=int, default=100, help="raw series (a multiple of 4)")
    parser.add_argument("--days", type=float, default=30, help="days of history")
    parser.add_argument("--step", type=int, default=30, help="seconds between samples")
    parser.add_argument("--repeats", type=int, default=15, help="instant-query rounds")
    parser.add_argument("--evaluations", type=int, default=5, help="rule-group evaluations")
    parser.add_argument("--interval", default="5s", help="rule-group interval when loaded")
    parser.add_argument("--recent", type=int, default=15, help="minutes of recorded history")
    parser.add_argument("--no-vm", action="store_true", help="skip VictoriaMetrics")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="work (TSDB, rules, logs) here and keep it"
    )
    args = parser.parse_args(argv)
    if args.series < 4 or args.series % 4:
        parser.error("--series must be a multiple of 4 (instances x 4 response codes)")

    try:
        for name in (
            "promtool",
            "prometheus",
            *(() if args.no_vm else ("victoria-metrics", "vmalert")),
        ):
            binary(name)
    except SetupError as exc:
        print(exc, file=sys.stderr)
        return 2
    work = (args.keep or Path(tempfile.mkdtemp(prefix="slogen-prom-eval-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    running: list[Server | Notifier] = []  # every one is stopped, whatever happens
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


def run(args: argparse.Namespace, work: Path, running: list[Server | Notifier]) -> int:
    facts = Summary("Setup")
    # 1. the two rule sets
    (work / "specs").mkdir(exist_ok=True)
    (work / "specs" / f"{JOB}.yaml").write_text(SPEC, encoding="utf-8")
    run_command(python_argv("-m", "slogen", "build", work / "specs", "-o", work / "out"))
    files = {
        "slogen": work / "out" / "prometheus" / f"{JOB}.rules.yml",
        "Sloth": work / "sloth.yml",
    }
    doc = sloth_rules(JOB, "availability", 99.9, ERRORS, TOTAL)
    files["Sloth"].write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    sets = {name: rules_of(path) for name, path in files.items()}
    retention = int(args.days) * 2 + 10

    # 2. history and recorded history
    tsdb = work / "tsdb"
    tsdb.mkdir(exist_ok=True)
    end = int(time.time()) // args.step * args.step
    start_all = time.perf_counter()
    history = backfill_history(args, work, tsdb, end)
    series = len(history.labels)
    raw_seconds = time.perf_counter() - start_all
    prometheus_config(work, [])
    prom = prometheus(work, retention)
    running.append(prom.start())
    passes = backfill_rules(
        prom, work, tsdb, [r for rs in sets.values() for r in rs],
        end - int(args.days * 86400), end, args.recent * 60,
    )  # fmt: skip
    rules_seconds = time.perf_counter() - start_all - raw_seconds
    blocks = settle(prom, tsdb)
    settle_seconds = time.perf_counter() - start_all - raw_seconds - rules_seconds

    # 3. Prometheus: instant queries, then each set as rule files
    load = [os.getloadavg()[0]]
    prom_q = instant_queries(prom, sets, end, args.repeats, stats=True)
    load.append(os.getloadavg()[0])
    prom_groups = {}
    for name, path in files.items():
        loaded = with_interval(path, args.interval, work / f"{name}-loaded.yml")
        prometheus_config(work, [loaded], args.interval)
        http("POST", f"{prom.url}/-/reload")
        lag = time.time() - end
        prom_groups[name] = group_times(prom, {str(loaded)}, args.evaluations, 120)
    prometheus_config(work, [])
    http("POST", f"{prom.url}/-/reload")
    recorded = {r["record"] for rs in sets.values() for r in rs if "record" in r}
    recorded_lines = [] if args.no_vm else recorded_series(prom, recorded, end, args.days)

    # 4. VictoriaMetrics and vmalert
    vm_q: dict[str, dict[str, Any]] = {}
    vm_groups: dict[str, Timing] = {}
    if not args.no_vm:
        vm = victoria(work, retention)
        running.append(vm.start())
        lines = list(vm_import_lines(history)) + recorded_lines
        for i in range(0, len(lines), 10):
            http("POST", f"{vm.url}/api/v1/import", b"\n".join(lines[i : i + 10]))
        http("GET", f"{vm.url}/internal/force_flush")
        vm_q = instant_queries(vm, sets, end, args.repeats, stats=False)
        notifier = Notifier()
        running.append(notifier)
        for name in files:
            loaded = work / f"{name}-loaded.yml"
            alert = vmalert(
                work, loaded, vm.url, notifier.url, int(time.time()) - end, args.interval
            )
            running.append(alert.start())
            vm_groups[name] = vmalert_times(alert, args.evaluations, 120)
            alert.stop()

    # 5. report
    facts.add("raw series", f"{series} ({METRIC}, {series // 4} instances x 4 codes)")
    facts.add("history", f"{args.days:g} days every {args.step} s, {history.samples:,} samples, "
              f"ending {stamp(end)}")  # fmt: skip
    facts.add("backfill: raw", f"{seconds(raw_seconds)} (OpenMetrics + promtool, 2 h blocks)")
    facts.add("backfill: rules", f"{seconds(rules_seconds)} ({'; '.join(passes)})")
    facts.add("compaction wait", f"{seconds(settle_seconds)}, {blocks} blocks loaded after it")
    facts.add("rule files", ", ".join(f"{n}: {len(rs)} rules" for n, rs in sets.items()))
    facts.add("rule groups", f"every {args.interval}, {args.evaluations} evaluations each; "
              f"Prometheus ran them {lag / 60:.1f} min after the history's end, "
              "vmalert at its end")  # fmt: skip
    cpus = os.cpu_count() or 1
    busy = " (above the CPU count: the times include waiting for a CPU)" if max(load) > cpus else ""
    facts.add("load average", f"{load[0]:.1f} / {load[1]:.1f} before / after the Prometheus "
              f"queries, {cpus} CPUs{busy}")  # fmt: skip
    facts.add("prometheus", version([binary("prometheus"), "--version"]))
    if not args.no_vm:
        facts.add(
            "victoria-metrics", version(["dpkg-query", "-W", "-f=${Version}", "victoria-metrics"])
        )
    facts.print()

    print("\nPer rule: instant query at the end of the history, medians (VM: VictoriaMetrics)")
    lines_out = []
    for name in sets:
        for i, per in prom_q[name]["rules"].items():
            rule = per["rule"]
            label = rule.get("record") or f"alert {rule['alert']}"
            tags = rule.get("labels", {})
            tier = tags.get("tier", tags.get("sloth_severity", ""))
            lines_out.append([name, f"{label} {tier}".strip(), f"{per['samples']:,}",
                              seconds(statistics.median(per["engine"])),
                              seconds(statistics.median(per["wall"]))])  # fmt: skip
            if vm_q:
                lines_out[-1].append(seconds(statistics.median(vm_q[name]["rules"][i]["wall"])))
    table(["set", "rule", "samples", "engine", "wall", *(["VM wall"] if vm_q else [])], lines_out)

    figures: list[tuple[str, str, dict[str, tuple[float, float]], dict[str, int] | None]] = [
        ("Prometheus", "instant queries, engine (evalTotalTime)", summed(prom_q, "engine"),
         {n: sum(r["samples"] for r in q["rules"].values()) for n, q in prom_q.items()}),
        ("Prometheus", "instant queries, wall (HTTP)", summed(prom_q, "wall"), None),
        ("Prometheus", "rule groups, evaluationTime",
         {n: (t.median, t.min) for n, t in prom_groups.items()}, None),
    ]  # fmt: skip
    if not args.no_vm:
        figures.append(("VictoriaMetrics", "instant queries, wall (HTTP)", summed(vm_q, "wall"),
                        None))  # fmt: skip
        figures.append(("vmalert", "rule groups, iteration duration",
                        {n: (t.median, t.min) for n, t in vm_groups.items()}, None))  # fmt: skip
    print("\nEvaluation cost, slogen vs Sloth-shaped rules (one SLO, sums over each rule set)")
    rows, met = [], True
    for backend, figure, timings, samples in figures:
        ratio = timings["slogen"][0] / timings["Sloth"][0]
        goal = backend == "Prometheus" and samples is not None
        for name in sets:
            first = name == "slogen"
            row = [backend if first else "", figure if first else "", name, str(len(sets[name])),
                   f"{samples[name]:,}" if samples else "", seconds(timings[name][0]),
                   seconds(timings[name][1])]  # fmt: skip
            if first:
                result = "PASS" if ratio <= TARGET else "MISS"
                met &= result == "PASS" or not goal
                row += [f"{ratio:.3f}x", f"<= {TARGET}x" + ("" if goal else " (info)"), result]
            else:
                row += ["", "", ""]
            rows.append(row)
        if samples:
            sratio = samples["slogen"] / max(samples["Sloth"], 1)
            result = "PASS" if sratio <= TARGET else "MISS"
            rows.append(["", "  samples touched", "", "", "", "", "", f"{sratio:.3f}x",
                         f"<= {TARGET}x (info)", result])  # fmt: skip
    table(["backend", "figure", "rule set", "rules", "samples", "median", "min", "ratio",
           "target", "result"], rows)  # fmt: skip
    empty = ", ".join(f"{n} {q['empty']}" for n, q in prom_q.items())
    print(f"\nGoal (Prometheus query time <= {TARGET}x Sloth's): {'PASS' if met else 'MISS'}")
    print(f"Recording rules with an empty result in Prometheus (should be 0): {empty}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
