"""Showing a plan: terraform-style text, a markdown pull-request comment, or JSON.

The JSON schema (``format_version`` 1) is documented in the README and kept stable:
``{"format_version", "summary": {"add", "change", "destroy"}, "has_changes", "warnings",
"targets": [{"backend", "target", "fingerprint"}], "changes": [{"action", "address", "backend",
"target", "kind", "key", "fields"?, "before", "after"}]}``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from typing import Any

from slogen.errors import SlogenError
from slogen.plan.model import CREATE, DELETE, MISSING, REPLACE, SYMBOLS, UPDATE, Change, Plan

COLOURS = {CREATE: "green", UPDATE: "yellow", DELETE: "red", REPLACE: "magenta"}
MARKDOWN_MARKER = "<!-- slogen-plan -->"


def _value(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False)


def _flatten(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        out = []
        for key in value:
            out.extend(_flatten(value[key], f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and value:
        out = []
        for index, item in enumerate(value):
            out.extend(_flatten(item, f"{path}[{index}]"))
        return out
    return [(path, value)]


def _multiline(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value


def _block(path: str, value: str) -> list[str]:
    return [f"{path}: <<", *(f"    {line}" for line in value.splitlines())]


def change_lines(change: Change) -> list[str]:
    """The lines under a change's heading, without colour or indentation.

    Multi-line strings (PromQL, messages) are shown as indented blocks on create and as a line
    diff on update, so a one-line edit in a long expression is easy to spot.
    """
    lines: list[str] = []
    if change.action == CREATE:
        assert change.after is not None
        for path, value in _flatten(change.after.body):
            lines.extend(_block(path, value) if _multiline(value) else [f"{path}: {_value(value)}"])
    elif change.action in (UPDATE, REPLACE):
        for f in change.fields:
            suffix = "  # forces replacement" if f.forces_replacement else ""
            path = f.path or "(body)"
            if _multiline(f.before) or _multiline(f.after):
                old = f.before.splitlines() if isinstance(f.before, str) else [_value(f.before)]
                new = f.after.splitlines() if isinstance(f.after, str) else [_value(f.after)]
                lines.append(f"{path}:{suffix}")
                for line in difflib.ndiff(old, new):
                    if line[:1] in "-+ ":
                        lines.append(f"  {line[0]} {line[2:]}")
            else:
                lines.append(f"{path}: {_value(f.before)} → {_value(f.after)}{suffix}")
    return lines


def _heading(change: Change) -> str:
    res = change.resource
    return f"{SYMBOLS[change.action]} {res.kind} {res.key}"


def _groups(plan: Plan) -> list[tuple[str, str, list[Change]]]:
    groups = []
    for state in plan.targets:
        groups.append((state.backend, state.target, plan.for_target(state.backend, state.target)))
    return groups


def render_text(plan: Plan, colour: bool = False, style: Callable[..., str] | None = None) -> str:
    def paint(text: str, action: str) -> str:
        if colour and style is not None:
            return style(text, fg=COLOURS.get(action), bold=action != UPDATE)
        return text

    out: list[str] = []
    for warning in plan.warnings:
        out.append(f"Warning: {warning}")
    for backend, target, changes in _groups(plan):
        if not changes:
            out.append(f"{backend} ({target}): up to date")
            continue
        out.append(f"{backend} ({target}):")
        for change in changes:
            out.append("  " + paint(_heading(change), change.action))
            out.extend(f"      {line}" for line in change_lines(change))
    if out:
        out.append("")
    out.append(plan.summary())
    return "\n".join(out)


def render_markdown(plan: Plan) -> str:
    """A pull-request comment: hidden marker, summary line first, details folded per target."""
    out = [MARKDOWN_MARKER, f"**{plan.summary()}**", ""]
    for warning in plan.warnings:
        out.append(f"> **Warning:** {warning}")
    if plan.warnings:
        out.append("")
    rows = []
    for backend, target, changes in _groups(plan):
        sub = Plan(changes)
        c = sub.counts
        rows.append(f"| {backend} | `{target}` | {c['add']} | {c['change']} | {c['destroy']} |")
    if rows:
        out.append("| backend | target | add | change | destroy |")
        out.append("|---|---|---:|---:|---:|")
        out.extend(rows)
        out.append("")
    for backend, target, changes in _groups(plan):
        if not changes:
            continue
        out.append(
            f"<details><summary>{backend} (<code>{target}</code>): {Plan(changes).summary()}"
            "</summary>"
        )
        out.append("")
        out.append("```diff")
        for change in changes:
            sign = {CREATE: "+", DELETE: "-", UPDATE: "!", REPLACE: "!"}[change.action]
            out.append(f"{sign} {_heading(change)}")
            out.extend(f"{sign}     {line}" for line in change_lines(change))
        out.append("```")
        out.append("")
        out.append("</details>")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": 1,
        "summary": plan.counts,
        "has_changes": plan.has_changes,
        "warnings": plan.warnings,
        "targets": [
            {"backend": t.backend, "target": t.target, "fingerprint": t.fingerprint}
            for t in plan.targets
        ],
        "changes": [c.to_json() for c in plan.changes],
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_json(plan), indent=2, ensure_ascii=False)


def render_json_error(exc: SlogenError) -> str:
    """What ``plan --format json`` prints on stdout when it cannot plan: a program reading it
    gets a document rather than nothing (``error`` set, ``problems`` as ``validate --format
    json`` lists them, ``has_changes`` false); the text still goes to stderr."""
    document = {
        "format_version": 1,
        "error": exc.message,
        "hint": exc.hint or None,
        "has_changes": False,
        "problems": [p.as_dict() for p in exc.problems],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
