"""Showing a plan: terraform-style text, a markdown pull-request comment, or JSON.

The JSON schema (``format_version`` 1) is documented in the README and kept stable:
``{"format_version", "summary": {"add", "change", "destroy"}, "has_changes", "warnings",
"targets": [{"backend", "target", "fingerprint"}], "changes": [{"action", "address", "backend",
"target", "kind", "key", "fields"?, "before", "after"}]}``.

Counts are JSON numbers. ``before`` and ``after`` are the resources exactly as read and as
written, in the backend's own types: a Datadog threshold is a number, a Prometheus annotation
such as ``burn_rate`` is a string (Prometheus annotations are strings), so a program can compare
them with what the backend holds. The line layout shared by text and markdown is in
:mod:`slogen.plan.lines`; the markdown comment in :mod:`slogen.plan.markdown`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slogen.errors import SlogenError
from slogen.jsontext import dumps_indented
from slogen.plan.lines import ADDED, CHANGED, CONTEXT, FIELD, REMOVED, Line, change_lines
from slogen.plan.markdown import MARKDOWN_MARKER, render_markdown
from slogen.plan.model import CREATE, DELETE, REPLACE, SYMBOLS, UPDATE, Change, Plan

COLOURS = {CREATE: "green", UPDATE: "yellow", DELETE: "red", REPLACE: "magenta"}
LINE_COLOURS = {ADDED: "green", REMOVED: "red", CHANGED: "yellow", FIELD: "yellow"}
INDENT = "      "  # under a change's heading
DEPTH = "    "  # per nesting level (the lines of a multi-line value)

Style = Callable[..., str]
__all__ = ["MARKDOWN_MARKER", "render_json", "render_json_error", "render_markdown", "render_text"]


def _plain(text: str, **_: Any) -> str:
    return text


def text_line(line: Line, style: Style = _plain) -> str:
    """One line under a change, as the terminal shows it (``style``: e.g. ``click.style``).

    Added lines are green and removed lines red; a field changed in place has its name yellow,
    its old value red and its new value green; unchanged context stays plain, so the eye lands
    on what changes.
    """
    note = f"  # {line.note}" if line.note else ""
    pad = DEPTH * line.depth
    if line.sign == CHANGED:
        mark = style(f"~ {line.text}:", fg=LINE_COLOURS[CHANGED])
        old = style(line.old, fg=LINE_COLOURS[REMOVED])
        new = style(line.new, fg=LINE_COLOURS[ADDED])
        return f"{pad}{mark} {old} → {new}{note}"
    if line.sign == FIELD:
        return pad + style(f"~ {line.text}:", fg=LINE_COLOURS[FIELD]) + note
    text = f"{line.sign} {pad}{line.text}"
    if line.sign != CONTEXT:
        text = text.rstrip()  # a blank line of an added or removed value is just its sign
    if line.sign in LINE_COLOURS:
        text = style(text, fg=LINE_COLOURS[line.sign])
    return text + note


def _heading(change: Change) -> str:
    res = change.resource
    return f"{SYMBOLS[change.action]} {res.kind} {res.key}"


def _groups(plan: Plan) -> list[tuple[str, str, list[Change]]]:
    return [(t.backend, t.target, plan.for_target(t.backend, t.target)) for t in plan.targets]


def render_text(plan: Plan, colour: bool = False, style: Style | None = None) -> str:
    """The terminal plan, terraform-style. With ``colour`` (and a ``style`` such as
    ``click.style``) headings and changed lines are coloured; without, the same text plain."""
    paint: Style = style if colour and style is not None else _plain
    out: list[str] = []
    for warning in plan.warnings:
        out.append(f"Warning: {warning}")
    for backend, target, changes in _groups(plan):
        if not changes:
            out.append(f"{backend} ({target}): up to date")
            continue
        out.append(f"{backend} ({target}):")
        for change in changes:
            fg, bold = COLOURS.get(change.action), change.action != UPDATE
            out.append("  " + paint(_heading(change), fg=fg, bold=bold))
            out.extend(INDENT + text_line(line, paint) for line in change_lines(change))
    if out:
        out.append("")
    out.append(plan.summary())
    return "\n".join(out)


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
    # written in C (jsontext): the first plan of a large project lists every resource it creates
    return dumps_indented(plan_json(plan))


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
