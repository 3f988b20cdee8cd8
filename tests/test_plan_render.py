"""Showing a plan: golden files for text, markdown and JSON, colour rules, JSON schema.

The golden files under tests/golden/plan/ are rewritten by ``regen_plan_goldens()`` in
scripts/regen_golden.py (command in ``REGEN``) after an intended change; review the diff.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import _NamedTextIOWrapper

from slogen.cli import options as cli_options
from slogen.plan import render
from slogen.plan.diff import diff
from slogen.plan.model import Plan, TargetState
from slogen.resources import Resource
from tests.cli import run
from tests.conftest import SPECS

GOLDEN = Path(__file__).parent / "golden" / "plan"
REGEN = '.venv/bin/python -c "import scripts.regen_golden as g; g.regen_plan_goldens()"'
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PROM = "files:out/prometheus"

OLD_EXPR = (
    'slogen:sli_error_ratio:rate1h{service="checkout",slo="availability"} > 0.0144\n'
    "and\n"
    'slogen:sli_error_ratio:rate5m{service="checkout",slo="availability"} > 0.0144\n'
    "and\n"
    'slogen:sli_events:count1h{service="checkout",slo="availability"} >= 100'
)
NEW_EXPR = OLD_EXPR.replace("0.0144", "0.0288")


def _alert(severity: str, expr: str, runbook: str | None) -> dict[str, Any]:
    annotations = {"summary": "checkout/availability is burning its error budget"}
    if runbook:
        annotations["runbook_url"] = runbook
    return {
        "alert": "CheckoutAvailabilityBudgetBurn",
        "expr": expr,
        "labels": {"service": "checkout", "severity": severity, "tier": "page-1h"},
        "annotations": annotations,
    }


def sample_plan() -> Plan:
    """A fixed plan with every action: create, update (one multi-line expr), delete, replace."""
    recording = Resource(
        "prometheus",
        PROM,
        "recording-rules",
        "checkout/availability",
        {
            "rules": [
                {
                    "record": "slogen:sli_errors:rate5m",
                    "expr": 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[5m]))',
                    "labels": {"service": "checkout", "slo": "availability"},
                },
                {
                    "record": "slogen:sli_error_ratio:rate1h",
                    "expr": "sum_over_time(errors[1h])\n/\nsum_over_time(total[1h])",
                    "labels": {},
                },
                {
                    "record": "slogen:sli_total:rate5m",
                    "expr": 'sum(rate(http_requests_total{job="checkout"}[5m]))',
                    "labels": {"service": "checkout", "slo": "availability"},
                },
                {
                    "record": "slogen:sli_events:count1h",
                    "expr": "sum_over_time(total[1h]) * 3600",
                    "labels": {"service": "checkout", "slo": "availability"},
                },
            ]
        },
    )
    alert_live = Resource(
        "prometheus",
        PROM,
        "alert",
        "checkout/availability/page-1h",
        _alert("ticket", OLD_EXPR, None),
        depends_on=("checkout/availability",),
        live_id="out/prometheus/checkout.rules.yml",
    )
    alert_desired = Resource(
        "prometheus",
        PROM,
        "alert",
        "checkout/availability/page-1h",
        _alert("page", NEW_EXPR, "https://runbooks.example.com/checkout"),
        depends_on=("checkout/availability",),
    )
    gone = Resource(
        "prometheus",
        PROM,
        "alert",
        "search/availability/ticket-3d",
        {"alert": "SearchAvailabilityBudgetBurn", "expr": "x > 1", "labels": {"tier": "ticket-3d"}},
        live_id="out/prometheus/search.rules.yml",
    )
    monitor_live = Resource(
        "datadog",
        "api",
        "monitor",
        "checkout/availability/ticket-3d",
        {"type": "slo alert", "name": "checkout availability ticket-3d", "priority": 3},
        live_id="1234567",
    )
    monitor_desired = Resource(
        "datadog",
        "api",
        "monitor",
        "checkout/availability/ticket-3d",
        {"type": "metric alert", "name": "checkout availability ticket-3d", "priority": 3},
    )
    return diff(
        desired=[recording, alert_desired, monitor_desired],
        live=[alert_live, gone, monitor_live],
        immutable={"monitor": ["type"]},
        targets=[
            TargetState("prometheus", PROM, "a" * 64),
            TargetState("datadog", "api", "b" * 64),
            TargetState("cloudwatch", "api", "c" * 64),
        ],
        warnings=["datadog: 1 monitor carries managed-by:slogen but has no slogen key; ignored"],
    )


def render_text_plain() -> str:
    return render.render_text(sample_plan()) + "\n"


def render_text_colour() -> str:
    return render.render_text(sample_plan(), colour=True, style=click.style) + "\n"


# File name → how to produce it; regen_plan_goldens() in scripts/regen_golden.py writes these.
GOLDEN_FILES = {
    "plan.txt": render_text_plain,
    "plan.md": lambda: render.render_markdown(sample_plan()),
    "plan.json": lambda: render.render_json(sample_plan()) + "\n",
}


def test_sample_plan_has_every_action() -> None:
    plan = sample_plan()
    assert [c.action for c in plan.changes] == ["create", "update", "delete", "replace"]
    assert plan.summary() == "Plan: 2 to add, 1 to change, 2 to destroy."


@pytest.mark.parametrize("name", sorted(GOLDEN_FILES))
def test_golden(name: str) -> None:
    path = GOLDEN / name
    assert path.is_file(), f"missing {path}; run: {REGEN}"
    assert GOLDEN_FILES[name]() == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file; if the change is intended, run: {REGEN} "
        "and review the diff"
    )


def test_text_shows_terraform_symbols_and_line_diff_of_multiline_expr() -> None:
    text = render_text_plain()
    assert "  + recording-rules checkout/availability\n" in text
    assert "      + rules[1].expr: |\n      +     sum_over_time(errors[1h])\n" in text
    assert "  ~ alert checkout/availability/page-1h\n" in text
    assert "  - alert search/availability/ticket-3d\n" in text
    assert '      - expr: "x > 1"\n' in text  # what is destroyed is shown
    assert "  -/+ monitor checkout/availability/ticket-3d\n" in text
    # a field changed in place shows before and after; an added field only its new value
    assert '      ~ labels.severity: "ticket" → "page"\n' in text
    assert '      + annotations.runbook_url: "https://runbooks.example.com/checkout"\n' in text
    assert '      ~ type: "slo alert" → "metric alert"  # forces replacement\n' in text
    # one changed line of a multi-line expression shows as -/+ lines, the rest as context
    assert "      ~ expr:\n" in text
    assert "      -     slogen:sli_error_ratio:rate1h" in text
    assert "      +     slogen:sli_error_ratio:rate1h" in text
    assert "            and\n" in text
    assert "cloudwatch (api): up to date" in text
    assert text.rstrip().endswith("Plan: 2 to add, 1 to change, 2 to destroy.")


def test_markdown_starts_with_marker_and_summary() -> None:
    md = GOLDEN_FILES["plan.md"]()
    lines = md.splitlines()
    assert lines[0] == render.MARKDOWN_MARKER
    assert lines[1] == "**Plan: 2 to add, 1 to change, 2 to destroy.**"
    table = lines.index("| Backend | Target | To add | To change | To destroy | To replace |")
    assert lines[table + 2 : table + 5] == [
        "| prometheus | <code>files:out/prometheus</code> | 1 | 1 | 1 | 0 |",
        "| datadog | <code>api</code> | 1 | 0 | 1 | 1 |",
        "| cloudwatch | <code>api</code> | 0 | 0 | 0 | 0 |",
    ]
    assert md.count("```diff") == 4  # one per change
    # only the 18-line created body is long enough to fold
    assert md.count("<details>") == 1
    assert (
        "<details><summary><code>+</code> create <code>recording-rules checkout/availability"
        "</code> (18 lines)</summary>"
    ) in lines


def test_markdown_shows_an_update_as_removed_and_added_lines() -> None:
    md = GOLDEN_FILES["plan.md"]()
    assert '- labels.severity: "ticket"\n+ labels.severity: "page"\n' in md
    assert '+ annotations.runbook_url: "https://runbooks.example.com/checkout"\n' in md
    assert "  expr:\n-     slogen:sli_error_ratio:rate1h" in md
    assert '- type: "slo alert"  # forces replacement\n' in md
    assert '+ type: "metric alert"  # forces replacement\n' in md
    assert "\n! " not in md and "\n+ + " not in md and "\n~ " not in md


# -- colour -------------------------------------------------------------------------------------


def test_colour_true_adds_ansi_codes_and_nothing_else() -> None:
    coloured = render_text_colour()
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == render_text_plain()
    heading = click.style("+ recording-rules checkout/availability", fg="green", bold=True)
    assert "\n  " + heading + "\n" in coloured
    # inside an update: the changed field yellow, its old value red and new value green
    changed = (
        click.style("~ labels.severity:", fg="yellow")
        + " "
        + click.style('"ticket"', fg="red")
        + " → "
        + click.style('"page"', fg="green")
    )
    assert "\n      " + changed + "\n" in coloured
    added = click.style(
        '+ annotations.runbook_url: "https://runbooks.example.com/checkout"', fg="green"
    )
    assert "\n      " + added + "\n" in coloured
    removed = click.style(
        '-     slogen:sli_error_ratio:rate1h{service="checkout",slo="availability"} > 0.0144',
        fg="red",
    )
    assert "\n      " + removed + "\n" in coloured
    # unchanged context lines of a multi-line value stay plain
    assert "\n            and\n" in coloured


def test_no_colour_means_no_ansi_codes() -> None:
    assert not ANSI.search(render_text_plain())
    assert not ANSI.search(render.render_text(sample_plan(), colour=True, style=None))
    assert not ANSI.search(render.render_markdown(sample_plan()))
    assert not ANSI.search(render.render_json(sample_plan()))


@pytest.fixture
def colour_requests(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record the ``colour`` argument the CLI passes to render_text."""
    seen: list[bool] = []
    original = render.render_text

    def spy(plan: Plan, colour: bool = False, style: Any = None) -> str:
        seen.append(colour)
        return original(plan, colour, style)

    monkeypatch.setattr(render, "render_text", spy)
    return seen


def _stdout_is_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make CliRunner's stdout claim to be a terminal (stdin and stderr do not)."""
    original = _NamedTextIOWrapper.isatty

    def isatty(self: _NamedTextIOWrapper) -> bool:
        return self.name == "<stdout>" or original(self)

    monkeypatch.setattr(_NamedTextIOWrapper, "isatty", isatty, raising=False)


def _copy_specs(tmp: Path) -> Path:
    specs = tmp / "specs"
    shutil.copytree(SPECS, specs)
    return specs


def test_piped_output_has_no_colour(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, colour_requests: list[bool]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    result = run("plan", str(_copy_specs(in_tmp)), "--target", "prometheus")
    assert colour_requests == [False]
    assert not ANSI.search(result.output)


def test_terminal_gets_colour(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, colour_requests: list[bool]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    _stdout_is_a_tty(monkeypatch)
    run("plan", str(_copy_specs(in_tmp)), "--target", "prometheus")
    assert colour_requests == [True]


def test_no_color_wins_over_a_terminal(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, colour_requests: list[bool]
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    _stdout_is_a_tty(monkeypatch)
    result = run("plan", str(_copy_specs(in_tmp)), "--target", "prometheus")
    assert colour_requests == [False]
    assert not ANSI.search(result.output)


def test_color_flags_override_the_terminal_and_no_color(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, colour_requests: list[bool]
) -> None:
    """--color and --no-color are per-invocation choices: they win over the terminal check and
    over NO_COLOR, as https://no-color.org asks of command-line flags."""
    specs = str(_copy_specs(in_tmp))
    monkeypatch.setenv("NO_COLOR", "1")
    result = run("plan", specs, "--target", "prometheus", "--color")
    assert ANSI.search(result.output)
    monkeypatch.delenv("NO_COLOR")
    _stdout_is_a_tty(monkeypatch)
    result = run("plan", specs, "--target", "prometheus", "--no-color")
    assert not ANSI.search(result.output)
    assert colour_requests == [True, False]


def test_colour_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

    class Pipe:
        def isatty(self) -> bool:
            return False

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(cli_options.sys, "stdout", Terminal())
    assert cli_options.colour() is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli_options.colour() is False
    monkeypatch.setenv("NO_COLOR", "")  # https://no-color.org: only a non-empty value counts
    assert cli_options.colour() is True
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(cli_options.sys, "stdout", Pipe())
    assert cli_options.colour() is False
    assert cli_options.colour(True) is True  # --color
    monkeypatch.setattr(cli_options.sys, "stdout", Terminal())
    assert cli_options.colour(False) is False  # --no-color


# -- JSON schema --------------------------------------------------------------------------------

TOP_LEVEL = {"format_version", "summary", "has_changes", "warnings", "targets", "changes"}
CHANGE_KEYS = {"action", "address", "backend", "target", "kind", "key", "before", "after"}
RESOURCE_KEYS = {"backend", "target", "kind", "key", "body"}


def _documented_keys() -> set[str]:
    doc = render.__doc__ or ""
    schema = doc[doc.index("{") : doc.rindex("}") + 1]
    return set(re.findall(r'"(\w+)"', schema))


def test_json_schema_is_stable() -> None:
    data = json.loads(render.render_json(sample_plan()))
    assert set(data) == TOP_LEVEL
    assert data["format_version"] == 1
    assert data["summary"] == {"add": 2, "change": 1, "destroy": 2}
    assert data["has_changes"] is True
    assert all(set(t) == {"backend", "target", "fingerprint"} for t in data["targets"])
    for change in data["changes"]:
        optional = {"fields"} if change["action"] in ("update", "replace") else set()
        assert set(change) == CHANGE_KEYS | optional, change["action"]
        for side in ("before", "after"):
            if change[side] is not None:
                assert (
                    RESOURCE_KEYS
                    <= set(change[side])
                    <= RESOURCE_KEYS
                    | {
                        "depends_on",
                        "live_id",
                    }
                )
        for f in change.get("fields", ()):
            assert {"path"} <= set(f) <= {"path", "before", "after", "forces_replacement"}
    assert [c["action"] for c in data["changes"]] == ["create", "update", "delete", "replace"]


def test_json_keys_are_the_documented_ones() -> None:
    """The module docstring is the schema's documentation: every key in it exists, and every
    top-level and per-change key the JSON has is documented there."""
    documented = _documented_keys()
    data = json.loads(render.render_json(sample_plan()))
    actual = set(data) | set(data["summary"])
    actual |= {k for t in data["targets"] for k in t} | {k for c in data["changes"] for k in c}
    assert documented <= actual
    assert actual - documented == set(), f"undocumented JSON keys: {sorted(actual - documented)}"


def test_json_bodies_are_the_resources_verbatim() -> None:
    """Bodies are what slogen writes, in the backend's own types: numbers where the backend
    has numbers (a Datadog priority), strings where it has strings (Prometheus annotations
    such as ``burn_rate`` are strings in Prometheus's data model; a number here would not be
    what the rule file holds). Counts are JSON numbers."""
    plan = sample_plan()
    data = json.loads(render.render_json(plan))
    assert [c["after"] for c in data["changes"]] == [
        c.after.to_json() if c.after else None for c in plan.changes
    ]
    monitor = data["changes"][3]["after"]["body"]
    assert monitor["priority"] == 3
    assert all(type(v) is int for v in data["summary"].values())


def test_cli_json_output_has_the_schema(in_tmp: Path) -> None:
    result = run("plan", str(_copy_specs(in_tmp)), "--target", "prometheus", "--format", "json")
    data = json.loads(result.stdout)
    assert set(data) == TOP_LEVEL
    assert data["has_changes"] is True
    assert {c["action"] for c in data["changes"]} == {"create"}
    assert all(set(c) == CHANGE_KEYS for c in data["changes"])
    assert data["summary"]["add"] == len(data["changes"])
