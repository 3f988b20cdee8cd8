"""The plan as a pull-request comment: a summary table, then each change as a coloured diff.

GitHub colours a ```` ```diff ```` block by the first character of each line: ``+`` green,
``-`` red, ``@@`` as a hunk header; any other line (``!``, ``~``) stays plain. So every line in
a fence here starts with ``+``, ``-`` or a space, a field changed in place is its old line as
``-`` followed by its new line as ``+``, and a sign is always followed by a space (a line can
never read ``---`` or ``+++``, which the diff grammar takes for file headers). Bodies longer
than :data:`FOLD_AFTER` lines are folded in ``<details>`` so a large plan still reads at a
glance. Names outside fences are HTML-escaped; inside fences nothing is escaped, and the fence
is longer than any run of backticks in the body, so a message containing ```` ``` ```` cannot
close it early.
"""

from __future__ import annotations

import html
import re

from slogen.plan.lines import ADDED, CHANGED, CONTEXT, FIELD, REMOVED, Line, change_lines
from slogen.plan.model import CREATE, DELETE, REPLACE, SYMBOLS, UPDATE, Change, Plan
from slogen.plural import plural

MARKDOWN_MARKER = "<!-- slogen-plan -->"
FOLD_AFTER = 15  # a change whose diff is longer than this many lines is folded
DEPTH = "    "
VERBS = {CREATE: "create", UPDATE: "update", DELETE: "destroy", REPLACE: "replace"}
REPLACE_NOTE = (
    "<sub>A replaced resource is destroyed and created again, so it is counted in To add and "
    "in To destroy too.</sub>"
)
TABLE_HEADER = ("Backend", "Target", "To add", "To change", "To destroy", "To replace")


def code(text: str) -> str:
    """Inline code safe in HTML, headings and table cells (``|`` would split a cell)."""
    return "<code>" + html.escape(text, quote=False).replace("|", "&#124;") + "</code>"


def diff_lines(line: Line) -> list[str]:
    """One plan line as lines of a ```` ```diff ```` block (two for a field changed in place)."""
    note = f"  # {line.note}" if line.note else ""
    pad = DEPTH * line.depth
    if line.sign == CHANGED:
        return [f"- {pad}{line.text}: {line.old}{note}", f"+ {pad}{line.text}: {line.new}{note}"]
    if line.sign == FIELD:
        return [f"  {pad}{line.text}:{note}"]
    assert line.sign in (ADDED, REMOVED, CONTEXT), line.sign
    text = f"{line.sign} {pad}{line.text}{note}"
    return [text if line.sign == CONTEXT else text.rstrip()]  # a blank added line is "+"


def fenced(lines: list[str], info: str = "diff") -> list[str]:
    """``lines`` in a code fence that none of them can close: longer than any backtick run."""
    longest = max((len(run) for run in re.findall(r"`+", "\n".join(lines))), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{info}", *lines, ticks]


def _counts(changes: list[Change]) -> dict[str, int]:
    counts = Plan(changes).counts
    counts["replace"] = sum(1 for c in changes if c.action == REPLACE)
    return counts


def summary_table(plan: Plan) -> list[str]:
    """Per backend and target: how many resources each action touches (as in the summary
    line, a replacement counts once to add and once to destroy; "To replace" says how many)."""
    rows = [
        "| " + " | ".join(TABLE_HEADER) + " |",
        "|" + "|".join([":--", ":--", "--:", "--:", "--:", "--:"]) + "|",
    ]
    for state in plan.targets:
        c = _counts(plan.for_target(state.backend, state.target))
        cells = [html.escape(state.backend, quote=False), code(state.target)]
        cells += [str(c[k]) for k in ("add", "change", "destroy", "replace")]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _title(change: Change) -> str:
    res = change.resource
    return f"{code(SYMBOLS[change.action])} {VERBS[change.action]} {code(f'{res.kind} {res.key}')}"


def change_block(change: Change) -> list[str]:
    """One change: its title, then its diff; folded in ``<details>`` when long."""
    body = [text for line in change_lines(change) for text in diff_lines(line)]
    if len(body) > FOLD_AFTER:
        summary = f"{_title(change)} ({plural(len(body), 'line')})"
        # blank lines around the fence: GitHub renders markdown inside <details> only then
        return [f"<details><summary>{summary}</summary>", "", *fenced(body), "", "</details>", ""]
    out = [_title(change), ""]
    if body:
        out += [*fenced(body), ""]
    return out


def render_markdown(plan: Plan) -> str:
    """The comment: hidden marker, summary line, warnings, per-target table, then per target a
    section with each change's diff. Computation stays in the plan and :mod:`.lines`."""
    out = [MARKDOWN_MARKER, f"**{plan.summary()}**", ""]
    for warning in plan.warnings:  # one quote each: adjacent quoted lines would run together
        out += [f"> **Warning:** {html.escape(warning, quote=False)}", ""]
    if plan.targets:
        out += [*summary_table(plan), ""]
    if any(c.action == REPLACE for c in plan.changes):
        out += [REPLACE_NOTE, ""]
    for state in plan.targets:
        changes = plan.for_target(state.backend, state.target)
        if not changes:
            continue
        heading = f"{html.escape(state.backend, quote=False)} {code(state.target)}"
        out += [f"### {heading}: {Plan(changes).summary().removeprefix('Plan: ')}", ""]
        for change in changes:
            out += change_block(change)
    return "\n".join(out).rstrip() + "\n"
