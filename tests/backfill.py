"""A real Prometheus holding a chosen past: counters backfilled with ``promtool``, then served.

Tests of code that reads history (``slogen backtest``, ``slogen status``) need a server whose
samples they chose, days of them, without waiting days. The recipe::

    samples = counter_samples(start, 60, increments)          # cumulative values from 0
    write_openmetrics(work / "in.om", [("http_requests", {"code": "500"}, samples), ...])
    create_blocks(work / "in.om", data_dir, work)              # promtool -> TSDB blocks
    with BackfilledPrometheus(data_dir, work) as prom:
        prom.query_range("sum(rate(http_requests_total[5m]))", start, end, 60)

``promtool tsdb create-blocks-from openmetrics`` writes one block per 2 h span (aligned to the
Unix epoch) and reads its whole input once per block (bench/_promdata.py), so a 30-day file
would be parsed 360 times: :func:`create_blocks` cuts a long input into one file per day
first and converts them in parallel, which keeps the cost linear in the samples. A day per
file rather than 2 h: one promtool run costs ~80 ms before it reads anything, more than its
12 passes over a day of a few series (measured for 6 series at 60 s: 0.5 s per day-file, 30
days in about 8 s on two CPUs, against about 19 s for one file per block).

The server keeps backfilled blocks (``--storage.tsdb.retention.time=100y``: the default 15 d
would delete a month-old block at the first compaction). A missing ``prometheus`` or
``promtool`` binary is a test failure, never a skip.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from bench._promdata import BLOCK, move_blocks

from tests.prom_server import PrometheusServer, http

PROMTOOL_TIMEOUT = 120.0  # seconds per promtool run
PIECE = 12 * BLOCK  # seconds of samples per promtool input (module docstring)
RETENTION = "100y"
Sample = tuple[int, float]


def counter_samples(
    start: int, step: int, increments: Sequence[float], initial: float = 0.0
) -> list[Sample]:
    """A counter sampled at ``start + k·step`` for ``k = 0..len(increments)``: ``initial`` at
    ``start``, then each increment added in turn (so ``len(increments) + 1`` samples)."""
    value = initial
    samples = [(start, value)]
    for k, inc in enumerate(increments, start=1):
        value += inc
        samples.append((start + k * step, value))
    return samples


def _family(name: str) -> str:
    """The OpenMetrics family of a counter given as ``x`` or ``x_total``."""
    return name[: -len("_total")] if name.endswith("_total") else name


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def write_openmetrics(
    path: Path, series: Sequence[tuple[str, dict[str, str], Sequence[Sample]]]
) -> Path:
    """Write counters as OpenMetrics text for promtool; returns ``path``.

    Each entry is a family name (``http_requests``, or ``http_requests_total``: the same
    family), its labels and its ``(epoch seconds, value)`` samples. Every family is typed
    ``counter`` and its samples are named ``<family>_total``, as OpenMetrics requires; a
    family's series are written together (OpenMetrics forbids interleaving families) and the
    file ends with ``# EOF``.
    """
    families: dict[str, list[tuple[dict[str, str], Sequence[Sample]]]] = {}
    for name, labels, samples in series:
        families.setdefault(_family(name), []).append((labels, samples))
    lines: list[str] = []
    for family, members in families.items():
        lines.append(f"# TYPE {family} counter")
        for labels, samples in members:
            text = ",".join(f"{k}={json.dumps(str(v))}" for k, v in sorted(labels.items()))
            prefix = f"{family}_total{{{text}}}"
            lines.extend(f"{prefix} {_number(v)} {int(t)}" for t, v in samples)
    lines.append("# EOF")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _split(source: Path, out: Path) -> list[Path]:
    """``source`` cut into one OpenMetrics file per :data:`PIECE` (block-aligned) it spans.

    Each piece keeps every ``# TYPE``/``# HELP`` line before its samples, so families stay
    typed and in order. Only files written as :func:`write_openmetrics` does (the timestamp
    as each sample's last field) are cut; promtool itself validates the pieces.
    """
    pieces: dict[int, list[str]] = {}
    meta: list[str] = []
    emitted: dict[int, int] = {}  # piece -> how many meta lines it already has
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line or line == "# EOF":
            continue
        if line.startswith("#"):
            meta.append(line)
            continue
        piece = int(float(line.rsplit(" ", 1)[1])) // PIECE
        lines = pieces.setdefault(piece, [])
        lines.extend(meta[emitted.get(piece, 0) :])
        emitted[piece] = len(meta)
        lines.append(line)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for piece, lines in sorted(pieces.items()):
        path = out / f"{piece * PIECE}.om"
        path.write_text("\n".join([*lines, "# EOF"]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _promtool() -> str:
    found = shutil.which("promtool") or (
        "/usr/bin/promtool" if Path("/usr/bin/promtool").is_file() else None
    )
    if found is None:
        pytest.fail(
            "the 'promtool' binary is not on PATH; install Debian's 'prometheus' package - "
            "backfill tests need it and are never skipped",
            pytrace=False,
        )
    return found


def create_blocks(source: Path, data_dir: Path, work: Path) -> int:
    """Convert the OpenMetrics file ``source`` into TSDB blocks and move them into
    ``data_dir`` (a Prometheus ``--storage.tsdb.path``); returns how many blocks were made.

    Long inputs are cut per day and converted in parallel (module docstring). Fails the
    test with promtool's output when promtool refuses the input or runs over
    :data:`PROMTOOL_TIMEOUT`.
    """
    binary = _promtool()
    data_dir.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    pieces = _split(source, work / f"{source.stem}-pieces")

    def convert(piece: Path) -> int:
        out = piece.with_suffix(".blocks")
        try:
            done = subprocess.run(
                [binary, "tsdb", "create-blocks-from", "openmetrics", str(piece), str(out)],
                capture_output=True,
                text=True,
                timeout=PROMTOOL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"promtool ran over {PROMTOOL_TIMEOUT:.0f} s on {piece}", pytrace=False)
        if done.returncode != 0:
            pytest.fail(
                f"promtool tsdb create-blocks-from openmetrics {piece} failed "
                f"(exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}",
                pytrace=False,
            )
        return move_blocks(out, data_dir)

    with ThreadPoolExecutor(max_workers=4) as pool:
        moved = sum(pool.map(convert, pieces))
    shutil.rmtree(work / f"{source.stem}-pieces", ignore_errors=True)
    return moved


class BackfilledPrometheus(PrometheusServer):
    """``prometheus`` on 127.0.0.1 over ``data_dir`` (blocks from :func:`create_blocks`),
    evaluating ``rule_files`` (copied into ``<workdir>/rules``) every minute; a context
    manager that always stops the server. :meth:`restart` picks up blocks moved in since."""

    def __init__(
        self, data_dir: Path, workdir: Path, rule_files: Sequence[Path] = (), interval: str = "1m"
    ):
        super().__init__(Path(workdir) / "rules", Path(workdir), evaluation_interval=interval)
        self.data_dir = Path(data_dir)
        self.rules_dir.mkdir(parents=True, exist_ok=True)
        for index, rule_file in enumerate(rule_files):
            shutil.copyfile(rule_file, self.rules_dir / f"{index:02d}-{Path(rule_file).name}")

    def _storage_flags(self) -> list[str]:
        """The backfilled blocks, kept however old (the default retention would drop them)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return [
            f"--storage.tsdb.path={self.data_dir}",
            f"--storage.tsdb.retention.time={RETENTION}",
        ]

    def __enter__(self) -> BackfilledPrometheus:
        self.start()
        return self

    def restart(self) -> BackfilledPrometheus:
        """Stop and start again over the same data (a new port: read :attr:`url` again)."""
        self.stop()
        self.start()
        return self

    def query_range(self, query: str, start: int, end: int, step: int) -> list[dict[str, Any]]:
        """``GET /api/v1/query_range``'s ``data.result``; fails the test on any error."""
        params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step})
        status, body = http("GET", f"{self.url}/api/v1/query_range?{params}", timeout=60.0)
        assert status == 200, f"query_range {query!r}: HTTP {status}: {body[:500]!r}"
        answer = json.loads(body)
        assert answer.get("status") == "success", answer
        return answer["data"]["result"]
