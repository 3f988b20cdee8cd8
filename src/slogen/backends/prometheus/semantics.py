"""What an SLI query means, read from its PromQL syntax tree (``promql-parser``).

slogen's rules make two assumptions about every ``errors``/``good``/``total`` query, and this
module reads from the parsed query whether they hold, so that :mod:`.checks` can reject a query
at validate and :mod:`.render` can generate the rules for what the query is:

* **How it counts** (:func:`query_kind`). The ``{{ window }}`` placeholder must be the range of
  ``rate()`` (a per-second rate, :data:`RATE`) or ``increase()`` (a count over the window,
  :data:`INCREASE`). The two give the same error *ratio*, but a different number of events, and
  ``min_events`` counts events. ``irate()`` looks at the last two samples only, so it ignores
  the window: every tier would see the same instant rate, whatever its window.
* **What it keeps** (:func:`kept_labels`). The labels the query's result keeps: an empty set
  for a fully aggregated query (``sum(...)``), the ``by`` labels for ``sum by (...)``, and
  ``None`` when per-series labels survive (no aggregation, ``without``, ``topk``). The ratio
  rules divide ``errors`` by ``total`` series by series: with per-series labels, each 5xx series
  is divided by itself and the ratio reads 1. :func:`label_filters` gives the matchers a query
  uses on each label, for the checks on ``by`` labels.
* **Its unit.** ``sum(increase(x[{{ window }}])) / 300`` is a per-second rate only while the
  window is 5m, and ``sum(rate(...)) * 60`` counts per minute: a constant factor on a windowed
  part makes the event counts wrong by that factor, so :func:`template_kind` gives no kind then.

The placeholder is replaced by :data:`SENTINEL`, a range no one writes, so a literal ``[5m]``
elsewhere in the query is never mistaken for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from slogen.backends.prometheus.source import WINDOW_PLACEHOLDER, PrometheusSource

RATE = "rate"  # per-second rate over the window
INCREASE = "increase"  # events counted over the window
KINDS = {"rate": RATE, "increase": INCREASE}
SENTINEL_TEXT = "31415926ms"
SENTINEL = timedelta(milliseconds=31_415_926)
# Aggregations whose result keeps the input series' labels (they pick series, not sum them).
_SELECTING = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
# Functions whose result has no labels whatever their argument.
_LABELLESS = frozenset({"vector", "time", "absent", "absent_over_time", "scalar"})


@dataclass(frozen=True)
class QueryShape:
    """What one query means: see the module docstring."""

    holders: tuple[str, ...]  # per placeholder: the function whose range it is ("" if none)
    placeholders: int  # how many times the template writes {{ window }}
    labels: frozenset[str] | None
    filters: tuple[tuple[str, frozenset[str]], ...]  # label -> matchers used on it
    scaled: tuple[str, ...] = ()  # constant factors applied to a windowed part ("/ 300")

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(KINDS[h] for h in self.holders if h in KINDS)


def _walk(node: object, holder: str, shape: dict[str, list]) -> None:
    """Collect placeholder holders and label matchers below ``node``."""
    kind = type(node).__name__
    if kind == "MatrixSelector":
        if node.range == SENTINEL:  # type: ignore[attr-defined]
            shape["holders"].append(holder)
        _walk(node.vector_selector, "", shape)  # type: ignore[attr-defined]
    elif kind == "VectorSelector":
        for m in node.matchers.matchers:  # type: ignore[attr-defined]
            op = _OPS.get(str(m.op), str(m.op))
            shape["filters"].append((m.name, f'{m.name}{op}"{m.value}"'))
    elif kind == "SubqueryExpr":
        if SENTINEL in (node.range, node.step):  # type: ignore[attr-defined]
            shape["holders"].append("a subquery")
        _walk(node.expr, "", shape)  # type: ignore[attr-defined]
    elif kind == "Call":
        for arg in node.args:  # type: ignore[attr-defined]
            _walk(arg, node.func.name, shape)  # type: ignore[attr-defined]
    elif kind == "BinaryExpr":
        op = str(node.op)  # type: ignore[attr-defined]
        for side, other in ((node.lhs, node.rhs), (node.rhs, node.lhs)):  # type: ignore[attr-defined]
            before = len(shape["holders"])
            _walk(side, "", shape)
            number = _number(other)
            if op in ("*", "/") and number is not None and len(shape["holders"]) > before:
                shape["scaled"].append(f"{op} {number}")
    elif kind in ("AggregateExpr", "ParenExpr", "UnaryExpr"):
        _walk(node.expr, "", shape)  # type: ignore[attr-defined]


def _number(node: object) -> str | None:
    """The text of a number literal (through parentheses and signs), else None."""
    while type(node).__name__ in ("ParenExpr", "UnaryExpr"):
        node = node.expr  # type: ignore[attr-defined]
    if type(node).__name__ != "NumberLiteral":
        return None
    value = float(node.val)  # type: ignore[attr-defined]
    return f"{value:g}"


_OPS = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}


def _labels(node: object) -> frozenset[str] | None:
    """The labels ``node``'s result keeps; None when they are per-series (unbounded)."""
    kind = type(node).__name__
    if kind in ("NumberLiteral", "StringLiteral"):
        return frozenset()
    if kind in ("VectorSelector", "MatrixSelector"):
        return None
    if kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
        return _labels(node.expr)  # type: ignore[attr-defined]
    if kind == "AggregateExpr":
        op = str(node.op)  # type: ignore[attr-defined]
        if op in _SELECTING or op == "count_values":  # one series per input series / value
            return None if op == "count_values" else _labels(node.expr)  # type: ignore[attr-defined]
        modifier = node.modifier  # type: ignore[attr-defined]
        if modifier is None:
            return frozenset()
        if "Without" in str(modifier.type):
            return None
        return frozenset(modifier.labels)
    if kind == "Call":
        func = node.func  # type: ignore[attr-defined]
        if func.name in _LABELLESS or "Scalar" in str(func.return_type):
            return frozenset()
        found: frozenset[str] = frozenset()
        for arg in node.args:  # type: ignore[attr-defined]
            labels = _labels(arg)
            if labels is None:
                return None
            found |= labels
        return found - {"le"} if func.name == "histogram_quantile" else found
    if kind == "BinaryExpr":
        lhs, rhs = _labels(node.lhs), _labels(node.rhs)  # type: ignore[attr-defined]
        return None if lhs is None or rhs is None else lhs | rhs
    return None


def parsed(query: str) -> object:
    """The parsed query, or the ValueError that says why it does not parse."""
    import promql_parser

    try:
        return promql_parser.parse(query)
    except ValueError as exc:
        return exc


@dataclass(frozen=True)
class Reading:
    """All that validation and rendering ask of one parsed query, kept instead of its syntax
    tree. Parsing, which builds the tree's Python objects, is most of what any question costs,
    so each query is parsed once and read completely (:func:`reading`); the tree is then
    dropped, and a run over thousands of queries keeps only these few strings per query."""

    error: str | None  # why the query does not parse (the rest is empty then)
    outer: str = ""  # the node class of the outermost expression inside any parentheses
    functions: frozenset[str] = frozenset()  # every function and aggregation it uses
    shape: QueryShape | None = None  # with placeholders=0: the template is not known here


@lru_cache(maxsize=1024)
def reading(query: str) -> Reading:
    """What ``query`` is (:class:`Reading`), from one parse. Validation asks its questions of a
    query one right after the other, and the shapes render asks about are kept by
    :func:`shape_of`: a small cache shares the parse."""
    expr = parsed(query)
    if isinstance(expr, ValueError):
        return Reading(str(expr))
    outer = expr
    while type(outer).__name__ == "ParenExpr":
        outer = outer.expr  # type: ignore[attr-defined]
    functions: set[str] = set()
    _functions(expr, functions)
    found: dict[str, list] = {"holders": [], "filters": [], "scaled": []}
    _walk(expr, "", found)
    filters: dict[str, set[str]] = {}
    for label, text in found["filters"]:
        filters.setdefault(label, set()).add(text)
    shape = QueryShape(
        tuple(found["holders"]),
        0,
        _labels(expr),
        tuple(sorted((k, frozenset(v)) for k, v in filters.items())),
        tuple(found["scaled"]),
    )
    return Reading(None, type(outer).__name__, frozenset(functions), shape)


def _functions(node: object, found: set[str]) -> None:
    """Add the functions and aggregations below ``node`` to ``found``: the same nodes
    ``promql_parser.walk`` visits, without its callback into Python for every node (which cost
    more than the parse)."""
    kind = type(node).__name__
    if kind == "Call":
        found.add(node.func.name)  # type: ignore[attr-defined]
        for arg in node.args:  # type: ignore[attr-defined]
            _functions(arg, found)
    elif kind == "AggregateExpr":
        found.add(str(node.op))  # type: ignore[attr-defined]
        if node.param is not None:  # type: ignore[attr-defined]
            _functions(node.param, found)  # type: ignore[attr-defined]
        _functions(node.expr, found)  # type: ignore[attr-defined]
    elif kind == "BinaryExpr":
        _functions(node.lhs, found)  # type: ignore[attr-defined]
        _functions(node.rhs, found)  # type: ignore[attr-defined]
    elif kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
        _functions(node.expr, found)  # type: ignore[attr-defined]


@lru_cache(maxsize=32768)
def shape_of(template: str) -> QueryShape | None:
    """The shape of a query template; None when it does not parse (reported elsewhere)."""
    read = reading(WINDOW_PLACEHOLDER.sub(SENTINEL_TEXT, template)).shape
    if read is None:
        return None
    placeholders = len(WINDOW_PLACEHOLDER.findall(template))
    return QueryShape(read.holders, placeholders, read.labels, read.filters, read.scaled)


def kept_labels(template: str) -> frozenset[str] | None:
    """The labels the query's result keeps (None: per-series labels, or it does not parse)."""
    shape = shape_of(template)
    return None if shape is None else shape.labels


def label_filters(template: str) -> dict[str, frozenset[str]]:
    """The matchers (as written, e.g. ``code=~'5..'``) the query uses on each label."""
    shape = shape_of(template)
    return {} if shape is None else dict(shape.filters)


def template_kind(template: str) -> str | None:
    """:data:`RATE` or :data:`INCREASE` when every placeholder is the range of that function."""
    shape = shape_of(template)
    if shape is None or len(shape.holders) != shape.placeholders or len(shape.kinds) != 1:
        return None
    if any(h not in KINDS for h in shape.holders) or shape.scaled:
        return None
    return next(iter(shape.kinds))


def query_kind(source: PrometheusSource) -> str:
    """How the SLI counts, read from its ``total`` query: :data:`RATE` or :data:`INCREASE`.

    Validate rejects every source whose queries do not all share one kind, so for a validated
    source this is the kind of all of them; anything else is treated as a rate (today's rules).
    """
    return template_kind(source.total) or RATE
