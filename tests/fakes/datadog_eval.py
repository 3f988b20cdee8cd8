"""Monitor evaluation for the fake Datadog: just enough to tell whether a slogen page clears.

The fake API (:mod:`tests.fakes.datadog_api`) stores monitors; this module decides their state
from metric points a test submits, for the query shapes slogen generates and nothing more:

* metric monitors ``sum(last_<n><m|h|d|w>):<expr> <op> <number>``, where ``<expr>`` is
  arithmetic (``+ - * /``, parentheses, numbers, ``default_zero(...)``) over metric queries
  such as ``sum:shop.errors{env:prod}.as_count()``;
* composites whose query joins monitor ids with ``&&``.

Anything else (``slo alert``, ``||``, other aggregations) is not evaluated: its state stays as
stored.  The rules, marked like the fake's (FACT: documented by Datadog; ASSUMED: not):

* FACT: with ``.as_count()`` the time aggregation (``sum``) is applied to each metric query
  before the arithmetic: ``sum(last_5m): a / b`` is ``sum(a) / sum(b)``
  (https://docs.datadoghq.com/monitors/guide/as-count-in-monitor-evaluations/).
* FACT: a metric query without a point in the window has no value, and neither has arithmetic
  over it, so the evaluation has no data: "if you have a counter that reports only when an
  error is logged, the alert never resolves because the metric never reports 0"
  (https://docs.datadoghq.com/monitors/configuration/, "Auto resolve").
  ASSUMED: a sum of 0 in a denominator has no value either.
* FACT: ``default_zero()`` has no effect when the window holds no point
  (https://docs.datadoghq.com/dashboards/functions/interpolation/#default-zero).
* FACT: an evaluation without data follows ``on_missing_data`` when it is set: ``resolve`` ->
  OK, ``show_no_data`` / ``show_and_notify_no_data`` -> No Data, ``default`` with ``sum``
  aggregation -> evaluated as 0 (https://docs.datadoghq.com/monitors/guide/on_missing_data/).
  Without it, the legacy ``notify_no_data: false`` "skips evaluations" of a simple alert, so
  the state stays what it was (https://docs.datadoghq.com/monitors/configuration/, "No data").
  ASSUMED: ``notify_no_data: true`` gives No Data at once (``no_data_timeframe`` is ignored).
* FACT: ``evaluation_delay`` moves the window back by that many seconds (same page).
* ASSUMED: a ``&&`` composite is Alert when every monitor it names is Alert, else OK (the
  documented truth table also knows Warn, No Data and Unknown parts).
* Not modelled: ``require_full_window``, recovery thresholds, groups (multi alerts), the
  once-a-minute schedule (a test calls :func:`evaluate_all` at the times it cares about).
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

OK, ALERT, NO_DATA = "OK", "Alert", "No Data"

# (epoch seconds, value) of one metric query, as submitted by a test
Point = tuple[float, float]

_METRIC_QUERY = re.compile(
    r"(?:sum|avg|min|max|count):[A-Za-z0-9_.]+\{[^{}]*\}(?:\s+by\s+\{[^{}]*\})?"
    r"(?:\.[a-z_]+\([^()]*\))*"
)
_MONITOR = re.compile(
    r"^\s*(?P<agg>\w+)\((?P<window>last_\d+[mhdw])\):(?P<expr>.+?)\s*"
    r"(?P<op>>=|<=|>|<)\s*(?P<threshold>-?[0-9.]+(?:e-?\d+)?)\s*$"
)
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_ARITHMETIC: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def metric_key(query: str) -> str:
    """The form points are stored under: the metric query with its whitespace collapsed."""
    return " ".join(query.split())


def _window_sum(points: Iterable[Point], start: float, end: float) -> float | None:
    inside = [value for when, value in points if start < when <= end]
    return sum(inside) if inside else None


def _value(node: ast.AST, sums: Mapping[str, float | None]) -> float | None:
    """The value of the arithmetic over windowed sums (None: no data)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return sums[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value(node.operand, sums)
        return None if inner is None else -inner
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "default_zero" and node.args:
        return _value(node.args[0], sums)  # gaps count 0 in a sum; no points: no effect
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = _value(node.left, sums), _value(node.right, sums)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return _ARITHMETIC[type(node.op)](left, right)
    raise ValueError(f"the fake cannot evaluate {ast.unparse(node)!r}")


def evaluate_metric(
    monitor: Mapping[str, Any], points: Mapping[str, list[Point]], now: float
) -> str | None:
    """The state a metric monitor has after an evaluation at ``now``; None: not evaluated."""
    match = _MONITOR.match(str(monitor.get("query") or ""))
    if match is None or match["agg"] != "sum":
        return None
    options = monitor.get("options") or {}
    window = match["window"][len("last_") :]
    end = now - float(options.get("evaluation_delay") or 0)
    start = end - int(window[:-1]) * _UNITS[window[-1]]
    sums: dict[str, float | None] = {}

    def placeholder(found: re.Match[str]) -> str:
        name = f"q{len(sums)}"
        sums[name] = _window_sum(points.get(metric_key(found.group(0)), ()), start, end)
        return name

    expr = _METRIC_QUERY.sub(placeholder, match["expr"])
    value = _value(ast.parse(expr.strip(), mode="eval").body, sums)
    if value is None:
        missing = options.get("on_missing_data")
        if missing == "resolve":
            return OK
        if missing in ("show_no_data", "show_and_notify_no_data"):
            return NO_DATA
        if missing == "default":
            value = 0.0
        elif options.get("notify_no_data"):
            return NO_DATA
        else:
            return str(monitor.get("overall_state") or NO_DATA)  # evaluation skipped
    fires = _COMPARE[match["op"]](value, float(match["threshold"]))
    return ALERT if fires else OK


def evaluate_composite(query: str, states: Mapping[int, str]) -> str | None:
    """The state of an ``a && b && ...`` composite from its parts' states; None: not evaluated."""
    parts = [p.strip() for p in query.split("&&")]
    if not all(p.isdigit() for p in parts):
        return None
    return ALERT if all(states.get(int(p)) == ALERT for p in parts) else OK


def evaluate_all(
    monitors: Mapping[int, dict[str, Any]], points: Mapping[str, list[Point]], now: float
) -> dict[int, str]:
    """Evaluate every monitor at ``now`` (metric monitors first, then composites); stores each
    new state in ``overall_state`` and returns id -> state."""
    states = {mid: str(m.get("overall_state")) for mid, m in monitors.items()}
    for mid, monitor in monitors.items():
        if monitor.get("type") in ("query alert", "metric alert"):
            states[mid] = evaluate_metric(monitor, points, now) or states[mid]
    for mid, monitor in monitors.items():
        if monitor.get("type") == "composite":
            states[mid] = evaluate_composite(str(monitor.get("query")), states) or states[mid]
    for mid, state in states.items():
        monitors[mid]["overall_state"] = state
    return states
