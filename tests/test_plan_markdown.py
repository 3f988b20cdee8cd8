"""The markdown plan, checked as raw text against the rules GitHub renders it by.

GitHub colours a ```` ```diff ```` block line by line from its first character (``+`` green,
``-`` red; ``!`` and ``~`` are not coloured; ``---``/``+++`` are read as file headers). A fence
closes on a line of at least as many backticks, indented at most three spaces (CommonMark
4.5), so a body with ```` ``` ```` must sit in a longer fence. Markdown inside ``<details>`` is
rendered only with blank lines around it. A GFM table row with a different number of cells
than the header is mis-rendered. :func:`problems` checks all of that, and is itself tested on
text that breaks each rule.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from slogen.plan.diff import diff
from slogen.plan.markdown import FOLD_AFTER, fenced, render_markdown
from slogen.plan.model import TargetState
from slogen.resources import Resource
from tests.cli import run
from tests.conftest import SPECS
from tests.test_plan_render import GOLDEN_FILES, sample_plan

MARKER = "<!-- slogen-plan -->"
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
DELIMITER_ROW = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")


def _cells(row: str) -> int:
    """Cells of a GFM table row: pipes not escaped with a backslash split it."""
    return len(re.findall(r"(?<!\\)\|", row.strip())) - 1


def problems(text: str) -> list[str]:
    """Everything in ``text`` that GitHub would render other than as intended."""
    found: list[str] = []
    lines = text.splitlines()
    if lines[:1] != [MARKER]:
        found.append("the first line is not the hidden marker")
    fence, info, depth = "", "", 0
    table: list[str] = []
    for number, line in enumerate(lines, 1):
        where = f"line {number}: {line!r}"
        match = FENCE.match(line)
        if fence:
            closes = (
                match
                and match.group(1)[0] == fence[0]
                and len(match.group(1)) >= len(fence)
                and not match.group(2).strip()
            )
            if closes:
                fence = ""
            elif info == "diff":
                if line[:1] not in ("+", "-", " ") or (len(line) > 1 and line[1] != " "):
                    found.append(f"{where}: a diff line must be '+ ', '- ' or '  '")
                if re.match(r"^(\+\+\+|---)", line) or re.match(r"^[-+!~] [-+!~] ", line):
                    found.append(f"{where}: reads as a file header or a doubled sign")
            continue
        if line.startswith("|"):
            table.append(line)
        elif table:
            found += _table_problems(table, number - len(table))
            table = []
        if match:
            fence, info = match.group(1), match.group(2).strip()
            if depth and lines[number - 2].strip():
                found.append(f"{where}: a fence inside <details> needs a blank line before it")
            continue
        opened = len(re.findall(r"<details[\s>]", line))
        closed = line.count("</details>")
        if opened and "<summary>" in line and number < len(lines) and lines[number].strip():
            found.append(f"{where}: the <summary> line needs a blank line after it")
        if closed and lines[number - 2].strip():
            found.append(f"{where}: </details> needs a blank line before it")
        depth += opened - closed
        if depth < 0:
            found.append(f"{where}: </details> without <details>")
            depth = 0
    if table:
        found += _table_problems(table, len(lines) - len(table) + 1)
    if fence:
        found.append("a code fence is never closed")
    if depth:
        found.append(f"{depth} <details> never closed")
    return found


def _table_problems(rows: list[str], first: int) -> list[str]:
    out = []
    if len(rows) < 2 or not DELIMITER_ROW.match(rows[1]):
        out.append(f"line {first + 1}: a table needs a delimiter row after its header")
    width = _cells(rows[0])
    for offset, row in enumerate(rows):
        if not row.rstrip().endswith("|") or _cells(row) != width:
            out.append(f"line {first + offset}: {_cells(row)} cells, the header has {width}")
    return out


def fence_bodies(text: str, info: str = "diff") -> list[list[str]]:
    """The lines of each fenced block with this info string."""
    bodies: list[list[str]] = []
    fence, current = "", None
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence:
            if match and match.group(1) == fence and not match.group(2).strip():
                if current is not None:
                    bodies.append(current)
                fence, current = "", None
            elif current is not None:
                current.append(line)
        elif match:
            fence = match.group(1)
            current = [] if match.group(2).strip() == info else None
    return bodies


# -- the checker catches what it should --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (f"{MARKER}\n```diff\n! ~ alert a\n!     x: 1 → 2\n```\n", "a diff line must be"),
        (f"{MARKER}\n```diff\n+ + recording-rules a\n```\n", "doubled sign"),
        (f"{MARKER}\n```diff\n--- a\n```\n", "file header"),
        (f"{MARKER}\n```diff\n+ a\n", "never closed"),
        (f"{MARKER}\n```diff\n  ```\n+ a\n```\n", "never closed"),  # closed early
        (f"{MARKER}\n<details><summary>x</summary>\n\n```diff\n+ a\n```\n\n", "never closed"),
        (f"{MARKER}\n<details><summary>x</summary>\n```diff\n+ a\n```\n\n</details>\n", "blank"),
        (f"{MARKER}\n| a | b |\n|---|---|\n| 1 | 2 | 3 |\n", "cells"),
        (f"{MARKER}\n| a | b |\n| 1 | 2 |\n", "delimiter row"),
        ("**Plan**\n", "marker"),
    ],
)
def test_the_checker_finds_each_broken_rule(text: str, complaint: str) -> None:
    assert any(complaint in p for p in problems(text)), problems(text)


def test_the_old_markdown_layout_fails_the_checker() -> None:
    old = f"{MARKER}\n**Plan**\n\n```diff\n+ + recording-rules a\n+     x: 1\n! ~ alert b\n```\n"
    flagged = {p.split(":")[0] for p in problems(old)}
    assert flagged == {"line 5", "line 7"}  # "+ + recording-rules a" and "! ~ alert b"


# -- slogen's markdown follows them -------------------------------------------------------------


def test_golden_markdown_follows_githubs_rules() -> None:
    md = GOLDEN_FILES["plan.md"]()
    assert problems(md) == []
    bodies = fence_bodies(md)
    assert len(bodies) == len(sample_plan().changes)
    assert all(line[:2] in ("+ ", "- ", "  ") for body in bodies for line in body)


def _folding_is_by_length(md: str) -> None:
    """Each change is one diff; folded exactly when longer than FOLD_AFTER lines."""
    sections = re.split(r"\n(?=<details><summary>|<code>[-+~/]+</code> )", md)[1:]
    for section in sections:
        (body, *_rest) = fence_bodies(section)
        folded = section.startswith("<details><summary>")
        assert folded == (len(body) > FOLD_AFTER), section[:200]
        if folded:
            assert f"({len(body)} lines)</summary>" in section.splitlines()[0]


def test_real_plans_follow_githubs_rules(in_tmp: Path) -> None:
    """The example specs: first everything to create, then after apply an objective edit."""
    specs = in_tmp / "specs"
    shutil.copytree(SPECS, specs)
    json_plan = run("plan", str(specs), "--format", "json").stdout
    md = run("plan", str(specs), "--format", "markdown").stdout
    assert problems(md) == []
    assert len(fence_bodies(md)) == json_plan.count('"action": ') > 0
    _folding_is_by_length(md)

    run("apply", str(specs), "--auto-approve")
    spec = specs / "checkout.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.9\n", "objective: 99.95\n", 1))
    md = run("plan", str(specs), "--format", "markdown").stdout
    assert problems(md) == []
    assert "| prometheus | <code>files:out/prometheus</code> | 0 | " in md
    _folding_is_by_length(md)
    bodies = fence_bodies(md)
    assert any(len(b) <= FOLD_AFTER for b in bodies)  # short updates are shown unfolded
    changed = [line for b in bodies for line in b if line.startswith(("- ", "+ "))]
    assert any("0.0072" in line for line in changed if line.startswith("+ "))  # 14.4 × 0.05 %
    assert any("0.0144" in line for line in changed if line.startswith("- "))


def _awkward_plan():
    """Names with markdown and HTML in them, a body with backtick fences, lines that look like
    diff headers, and a multi-line value whose unchanged line is a fence."""
    message = "Runbook:\n```\nkubectl rollout restart\n```\n---\n+++ x\n````"
    old = Resource(
        "datadog",
        "api|eu",
        "monitor",
        "a|b/<i>x</i>",
        {"message": message, "tags": ["a", "b"]},
        live_id="1",
    )
    new = Resource(
        "datadog",
        "api|eu",
        "monitor",
        "a|b/<i>x</i>",
        {"message": message.replace("restart", "undo"), "tags": ["a", "b", "c"]},
    )
    created = Resource("datadog", "api|eu", "slo", "s`1`", {"description": message})
    return diff(
        desired=[new, created],
        live=[old],
        targets=[TargetState("datadog", "api|eu", "f" * 64)],
        warnings=["<script>alert(1)</script> tagged objects"],
    )


def test_awkward_content_cannot_break_the_comment() -> None:
    md = render_markdown(_awkward_plan())
    assert problems(md) == []
    assert "| datadog | <code>api&#124;eu</code> | 1 | 1 | 0 | 0 |" in md
    assert "<code>monitor a&#124;b/&lt;i&gt;x&lt;/i&gt;</code>" in md
    assert "<script>" not in md
    update, create = fence_bodies(md)
    # inside the fence nothing is escaped, and the backtick lines are body, not fences
    assert "      ```" in update and "-     kubectl rollout restart" in update
    assert "+     kubectl rollout undo" in update
    assert "      ---" in update and "      +++ x" in update
    # a list that grew: its items as context, the new one added
    assert update[-4:] == ["  tags:", '      "a"', '      "b"', '+     "c"']
    assert "+     ````" in create
    assert md.count("`````diff") == 2  # one backtick longer than the longest run inside


def test_fence_is_longer_than_any_backtick_run() -> None:
    assert fenced(["+ a"]) == ["```diff", "+ a", "```"]
    assert fenced(["+ ````"])[0] == "`````diff"
    assert fenced(["+ x`y"], "text")[0] == "```text"
