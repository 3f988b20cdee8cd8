"""Figures: every shared fault of the fakes x every API target, duplicates and orphans.

Runs tests/test_fault_injection.py (pytest, in a subprocess, loopback fakes only) with
``SLOGEN_FAULTS_TABLE`` pointing at a temporary file, then prints the table it wrote: for each
fault (commit-then-5xx, commit-then-timeout, short page, truncated body, header echo, 429) and
target (Datadog api, CloudWatch api, Prometheus ruler, Prometheus amp), the duplicates right
after the faulty apply and after convergence, the orphans after convergence, the secrets seen
in any output, the faulty apply's exit code and the plan rounds it took to reach "No changes".
Goal: 0 duplicates, 0 orphans, 0 leaks.

    .venv/bin/python bench/faults.py

Exit status: pytest's (0 when every scenario met the goal).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("datadog", "cloudwatch", "ruler", "amp")
FAULTS = ("commit-then-5xx", "commit-then-timeout", "short-page", "truncated-body")
FAULTS += ("header-echo", "429", "short-page x3")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "faults.json"
        env = {**os.environ, "SLOGEN_FAULTS_TABLE": str(table)}
        test = "tests/test_fault_injection.py"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
            cwd=ROOT,
            env=env,
            timeout=900,
            check=False,
        )
        rows = json.loads(table.read_text()) if table.exists() else {}
    print("\n| fault | " + " | ".join(TARGETS) + " |")
    print("|---|" + "---|" * len(TARGETS))
    for fault in FAULTS:
        cells = []
        for target in TARGETS:
            o = rows.get(f"{fault} x {target}")
            cells.append(
                "not run"
                if o is None
                else f"dup {o['early_duplicates']}/{o['duplicates']}, orphans {o['orphans']}, "
                f"leaks {o['leaked']}, apply exit {o['first_exit']}, rounds {o['rounds']}"
                + (", plan refused" if o["refused"] else "")
            )
        print(f"| {fault} | " + " | ".join(cells) + " |")
    print(
        "\ndup a/b: duplicates right after the faulty apply / after convergence; apply exit: "
        "of the faulty apply; rounds: plan rounds until 'No changes'; short-page x3: three "
        "short answers in a row"
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
