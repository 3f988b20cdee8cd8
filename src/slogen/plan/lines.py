"""What a plan shows under each change, as data: signed lines that the renderers only format.

The text, markdown and any future renderer must agree on what changed; deciding it once here
(which fields were added, removed or changed, and how a multi-line value is diffed) leaves each
renderer with layout and colour only, so the outputs cannot drift apart.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from slogen.plan.model import CREATE, DELETE, MISSING, REPLACE, UPDATE, Change, FieldChange

ADDED, REMOVED, CONTEXT, CHANGED, FIELD = "+", "-", " ", "~", "@"
FORCES_REPLACEMENT = "forces replacement"


@dataclass(frozen=True)
class Line:
    """One line under a change.

    ``sign``: ``+`` added, ``-`` removed, a space for unchanged context, ``~`` a single-line
    field changed in place (``text`` is its path, ``old``/``new`` its values), ``@`` the name of
    a field whose multi-line value follows as ``+``/``-``/context lines one level deeper.
    """

    sign: str
    text: str
    depth: int = 0
    old: str = ""
    new: str = ""
    note: str = ""


def value_text(value: Any) -> str:
    """A single-line value as JSON (strings quoted), or ``(absent)`` for a missing one."""
    if value is MISSING:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False)


def flatten(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Leaf values with their paths (``rules[0].labels.slo``); empty containers are leaves."""
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for key in value:
            out.extend(flatten(value[key], f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and value:
        out = []
        for index, item in enumerate(value):
            out.extend(flatten(item, f"{path}[{index}]"))
        return out
    return [(path, value)]


def _multiline(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value


def _join(path: str, sub: str) -> str:
    if not sub:
        return path
    if not path or sub.startswith("["):
        return f"{path}{sub}"
    return f"{path}.{sub}"


def _leaves(sign: str, value: Any, path: str, note: str = "") -> list[Line]:
    """Every leaf of ``value`` under ``path`` with the same sign; multi-line strings as blocks."""
    lines: list[Line] = []
    for sub, leaf in flatten(value):
        where = _join(path, sub) or "(body)"
        if _multiline(leaf):
            lines.append(Line(sign, f"{where}: |", note=note))
            lines.extend(Line(sign, text, depth=1) for text in leaf.splitlines())
        else:
            lines.append(Line(sign, f"{where}: {value_text(leaf)}", note=note))
        note = ""  # said once, on the first line
    return lines


def _value_lines(value: Any) -> list[str]:
    """A value as lines to diff: a string's own lines, a list of scalars item by item, any
    other container leaf by leaf (relative paths), a scalar as one line."""
    if isinstance(value, str):
        return value.splitlines() or [""]
    if isinstance(value, list) and value and not any(isinstance(i, (dict, list)) for i in value):
        return [value_text(item) for item in value]
    if isinstance(value, (dict, list)) and value:
        return [f"{sub}: {value_text(leaf)}" for sub, leaf in flatten(value)]
    return [value_text(value)]


def field_lines(f: FieldChange) -> list[Line]:
    """The lines of one field of an update or replacement."""
    note = FORCES_REPLACEMENT if f.forces_replacement else ""
    path = f.path or "(body)"
    if f.before is MISSING:
        return _leaves(ADDED, f.after, f.path, note)
    if f.after is MISSING:
        return _leaves(REMOVED, f.before, f.path, note)
    scalar = not isinstance(f.before, (dict, list)) and not isinstance(f.after, (dict, list))
    if scalar and not _multiline(f.before) and not _multiline(f.after):
        return [Line(CHANGED, path, old=value_text(f.before), new=value_text(f.after), note=note)]
    lines = [Line(FIELD, path, note=note)]
    for entry in difflib.ndiff(_value_lines(f.before), _value_lines(f.after)):
        if entry[:1] in (ADDED, REMOVED, CONTEXT):
            lines.append(Line(entry[0], entry[2:], depth=1))
    return lines


def change_lines(change: Change) -> list[Line]:
    """The lines under a change's heading: a created or deleted resource's whole body, an
    update's or replacement's changed fields (multi-line values as a line diff, so a one-line
    edit in a long expression is easy to spot)."""
    if change.action == CREATE:
        assert change.after is not None
        return _leaves(ADDED, change.after.body, "")
    if change.action == DELETE:
        assert change.before is not None
        return _leaves(REMOVED, change.before.body, "")
    if change.action in (UPDATE, REPLACE):
        return [line for f in change.fields for line in field_lines(f)]
    return []
