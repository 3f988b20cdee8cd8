#!/usr/bin/env python3
"""Regenerate every golden file under tests/golden/ from the example specs in specs/.

    python scripts/regen_golden.py          # rewrite tests/golden/ (and delete stale files)
    python scripts/regen_golden.py --check  # exit 1 and list differences, write nothing

Then review the diff (``git diff tests/golden``) like any other change: it is exactly what
users will see change in their generated rules and ``slogen explain`` output.

The outputs come from the CLI itself (``slogen build``, ``slogen explain``), run in-process
through the same helper the tests use. tests/test_golden_prometheus.py imports
:func:`render_all` from here, so the test and this script cannot disagree on what is golden.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
GOLDEN = ROOT / "tests" / "golden"
# Subdirectories this script owns entirely: files in them that it does not produce are stale.
OWNED = ("prometheus", "explain")
PROMETHEUS_FORMATS = ("rules", "prometheusrule")


@contextmanager
def _plain_output() -> Iterator[None]:
    """No colour, whatever the caller's environment (restored afterwards)."""
    saved = os.environ.get("NO_COLOR")
    os.environ["NO_COLOR"] = "1"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["NO_COLOR"]
        else:
            os.environ["NO_COLOR"] = saved


def render_all() -> dict[str, bytes]:
    """Every golden file's expected bytes, by path relative to tests/golden (POSIX form)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.cli import run

    files: dict[str, bytes] = {}
    with _plain_output():
        for form in PROMETHEUS_FORMATS:
            with tempfile.TemporaryDirectory(prefix="slogen-golden-") as tmp:
                run("build", str(SPECS), "-o", tmp, "--prometheus-format", form)
                for path in sorted((Path(tmp) / "prometheus").iterdir()):
                    files[f"prometheus/{form}/{path.name}"] = path.read_bytes()
        explain_json = run("explain", str(SPECS), "--format", "json").stdout
        files["explain/explain.json"] = explain_json.encode("utf-8")
        files["explain/explain.txt"] = run("explain", str(SPECS)).stdout.encode("utf-8")
    return files


def read_golden() -> dict[str, bytes]:
    """The golden files on disk, under the directories this script owns."""
    found: dict[str, bytes] = {}
    for sub in OWNED:
        base = GOLDEN / sub
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                found[path.relative_to(GOLDEN).as_posix()] = path.read_bytes()
    return found


def differences(expected: dict[str, bytes], actual: dict[str, bytes]) -> list[str]:
    """Human-readable list of what differs: missing, stale and changed files."""
    out = []
    for name in sorted(expected.keys() - actual.keys()):
        out.append(f"missing: tests/golden/{name}")
    for name in sorted(actual.keys() - expected.keys()):
        out.append(f"stale:   tests/golden/{name}")
    for name in sorted(expected.keys() & actual.keys()):
        if expected[name] != actual[name]:
            out.append(f"changed: tests/golden/{name}")
    return out


def write(expected: dict[str, bytes], current: dict[str, bytes] | None = None) -> list[str]:
    """Make the golden files ``current`` (default: all of read_golden()) equal ``expected``."""
    current = read_golden() if current is None else current
    changes = differences(expected, current)
    for name in current.keys() - expected.keys():
        (GOLDEN / name).unlink()
    for name, data in expected.items():
        path = GOLDEN / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if current.get(name) != data:
            path.write_bytes(data)
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on change")
    args = parser.parse_args(argv)
    try:
        expected = render_all()
    except ImportError as exc:
        print(
            f"cannot import slogen ({exc}); run it with the project's venv: "
            ".venv/bin/python scripts/regen_golden.py",
            file=sys.stderr,
        )
        return 2
    if args.check:
        changes = differences(expected, read_golden())
        changes += regen_plan_goldens(check=True)
        changes += regen_promtool_goldens(check=True)
        changes += regen_alertmanager_goldens(check=True)
        for line in changes:
            print(line)
        return 1 if changes else 0
    changes = write(expected)
    for line in changes:
        print(line)
    changes += regen_plan_goldens()
    changes += regen_backend_goldens()
    promtool_changes = regen_promtool_goldens()
    for line in promtool_changes:
        print(line)
    changes += promtool_changes
    alertmanager_changes = regen_alertmanager_goldens()
    for line in alertmanager_changes:
        print(line)
    changes += alertmanager_changes
    print(
        f"{len(expected)} golden file(s) under {GOLDEN.relative_to(ROOT)}: "
        f"{len(changes) or 'no'} change(s). Review with: git diff -- tests/golden"
    )
    return 0


# ---------------------------------------------------------------------------------------------
# Plan rendering goldens: tests/golden/plan/ (text, markdown, json of a fixed plan). Kept apart
# from render_all() above: the files come from tests/test_plan_render.py's GOLDEN_FILES, so the
# test and this function cannot disagree. Run:
#   .venv/bin/python -c "import scripts.regen_golden as g; g.regen_plan_goldens()"
# ---------------------------------------------------------------------------------------------


def regen_plan_goldens(check: bool = False) -> list[str]:
    """Rewrite (or with ``check``, only compare) tests/golden/plan/; return what differed."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.test_plan_render import GOLDEN_FILES

    base = GOLDEN / "plan"
    changed = []
    for name, produce in sorted(GOLDEN_FILES.items()):
        path = base / name
        text = produce()
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            changed.append(f"changed: tests/golden/plan/{name}")
            if not check:
                base.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for line in changed:
        print(line)
    return changed


# ---------------------------------------------------------------------------------------------
# Backend goldens (tests/golden/<backend>/): each backend's golden test module owns a
# ``regenerate()`` that rewrites its folder; the tests compare against them.
# ---------------------------------------------------------------------------------------------

BACKEND_GOLDEN_MODULES = (
    "tests.test_datadog_golden",
    "tests.test_cloudwatch_golden",
    "tests.test_grafana_dashboard",
    "tests.test_docs",
)


def regen_backend_goldens() -> list[str]:
    import importlib

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    written: list[str] = []
    for name in BACKEND_GOLDEN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        if hasattr(module, "regenerate"):
            written.extend(f"wrote: {p}" for p in module.regenerate())
    return written


# ---------------------------------------------------------------------------------------------
# promtool unit-test goldens: tests/golden/promtool/ holds what `slogen test specs/ --no-run
# --out DIR` writes (rule files under rules/, one promtool test file per rule set). Kept apart
# from render_all() (whose file set tests/test_golden_prometheus.py checks); main() runs it in
# both modes. tests/test_slogen_test_golden.py imports render_promtool() from here.
# ---------------------------------------------------------------------------------------------

PROMTOOL_OWNED = "promtool"


def render_promtool() -> dict[str, bytes]:
    """Every promtool golden file's expected bytes, by path relative to tests/golden."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.cli import run

    files: dict[str, bytes] = {}
    with _plain_output(), tempfile.TemporaryDirectory(prefix="slogen-golden-") as tmp:
        run("test", str(SPECS), "--no-run", "--out", tmp)
        for path in sorted(p for p in Path(tmp).rglob("*") if p.is_file()):
            files[f"{PROMTOOL_OWNED}/{path.relative_to(tmp).as_posix()}"] = path.read_bytes()
    return files


def read_promtool_golden() -> dict[str, bytes]:
    base = GOLDEN / PROMTOOL_OWNED
    if not base.is_dir():
        return {}
    return {
        path.relative_to(GOLDEN).as_posix(): path.read_bytes()
        for path in sorted(p for p in base.rglob("*") if p.is_file())
    }


def regen_promtool_goldens(check: bool = False) -> list[str]:
    """Rewrite (or with ``check``, only compare) tests/golden/promtool/; return what differed."""
    expected = render_promtool()
    current = read_promtool_golden()
    if check:
        return differences(expected, current)
    return write(expected, current)


# ---------------------------------------------------------------------------------------------
# Alertmanager fragment goldens: tests/golden/alertmanager/ holds what `slogen build specs/`
# writes to alertmanager/ (example.yml), and the same specs with ALERTMANAGER_SETTINGS appended
# to their slogen.yaml (configured.yml). Kept apart from render_all() (whose file set
# tests/test_golden_prometheus.py checks); main() runs it in both modes.
# tests/test_alertmanager.py imports render_alertmanager() from here.
# ---------------------------------------------------------------------------------------------

ALERTMANAGER_OWNED = "alertmanager"
ALERTMANAGER_SETTINGS = """
alertmanager:
  receivers: {page: sre-pager, ticket: sre-tickets}
  routes:
    - {match: {team: payments, severity: page}, receiver: payments-pager}
    - {match: {team_channel: billing}, receiver: billing-tickets}
  group_by: [service, slo, tier]
  group_wait: 10s
"""


def render_alertmanager() -> dict[str, bytes]:
    """Every Alertmanager golden file's expected bytes, by path relative to tests/golden."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.cli import run

    files: dict[str, bytes] = {}
    with _plain_output(), tempfile.TemporaryDirectory(prefix="slogen-golden-") as tmp:
        configured = Path(tmp) / "configured"
        configured.mkdir()
        for spec in SPECS.glob("*.yaml"):
            (configured / spec.name).write_bytes(spec.read_bytes())
        with (configured / "slogen.yaml").open("a", encoding="utf-8") as config:
            config.write(ALERTMANAGER_SETTINGS)
        for name, specs in (("example", SPECS), ("configured", configured)):
            out = Path(tmp) / f"out-{name}"
            run("build", str(specs), "-o", str(out))
            text = (out / "alertmanager" / "alertmanager.yml").read_bytes()
            files[f"{ALERTMANAGER_OWNED}/{name}.yml"] = text
    return files


def regen_alertmanager_goldens(check: bool = False) -> list[str]:
    """Rewrite (or with ``check``, only compare) tests/golden/alertmanager/; return what
    differed."""
    expected = render_alertmanager()
    base = GOLDEN / ALERTMANAGER_OWNED
    current = {
        path.relative_to(GOLDEN).as_posix(): path.read_bytes()
        for path in sorted(base.glob("*"))
        if path.is_file()
    }
    if check:
        return differences(expected, current)
    return write(expected, current)


if __name__ == "__main__":
    sys.exit(main())
