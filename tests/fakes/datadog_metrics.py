"""``GET /api/v1/query`` (query timeseries points) for the fake Datadog of datadog_api.py.

It answers from the points a test stored with ``FakeDatadog.submit_points``: every stored key
(``sum:shop.requests{env:prod,region:eu}.as_count()``) is one series whose tags are the ones in
its braces; its aggregator and functions are ignored, and its points are event counts (a
``COUNT`` metric). Query shapes understood: ``<agg>:<metric>{<tags>}`` with an optional
``by {<keys>}`` and the functions ``.as_count()``, ``.as_rate()``, ``.rollup(<agg>[, <s>])``,
and ``+ - * /`` arithmetic (numbers, parentheses) over such terms. Marks as in datadog_api.py
(FACT: documented by Datadog or seen in recorded answers; ASSUMED: not):

* FACT: the answer is ``{"status": "ok", "res_type": "time_series", "resp_version": 1,
  "series": [...], "query", "from_date", "to_date" (ms), "message": "", "group_by", "times": [],
  "values": []}``; a series carries ``metric``, ``display_name``, ``expression``, ``scope``,
  ``tag_set``, ``aggr``, ``interval`` (s), ``length``, ``start``/``end`` (ms), ``pointlist``
  (``[ms, value]`` pairs), ``query_index``, ``unit``, ``attributes`` (the recorded answer in
  DataDog/datadog-api-client-python's cassette
  ``tests/v1/cassettes/test_scenarios/test_query_timeseries_points_returns_ok_response.yaml``).
* FACT: the points are the rollup buckets whose start lies in ``[from, to]``, buckets aligned to
  Unix time; ``end`` is the last bucket's start + interval − 1 s (same cassette: from
  1623846101, to 1623932501 gave 288 points at 300 s from 1623846300000 to 1623932699000;
  alignment: https://docs.datadoghq.com/dashboards/functions/rollup/, "Rollups in monitors").
  A bucket stamped 07:00 aggregates what was submitted from 07:00:00 to the next bucket
  (https://docs.datadoghq.com/metrics/guide/what-is-the-granularity-of-my-graphs-am-i-seeing-raw-data-or-aggregates-on-my-graph/).
* FACT: a series has at most 1500 points; ``.rollup(<agg>, <s>)`` sets the interval "up to a
  limit of 1500 points. This supports up to one point per minute over a day"; a custom interval
  that would exceed the limit is replaced by a larger one, "while still using the specified
  rollup method" (https://docs.datadoghq.com/dashboards/functions/rollup/, "Rollup interval:
  enforced vs custom"). ASSUMED: the larger interval is the first of :data:`LADDER` that fits.
* FACT: without ``.rollup`` the API's interval is 20 s up to an hour, 1 m up to four hours,
  5 m up to a day, 10 m up to two days, 1 h up to a week, 4 h up to a month (same page's
  table). ASSUMED: a span between two rows gets the larger row's interval; longer spans the
  :data:`LADDER` rule.
* FACT: on a ``COUNT`` metric ``.as_count()`` sets the time aggregator to ``sum`` and disables
  interpolation; ``.as_rate()`` also divides by the interval
  (https://docs.datadoghq.com/metrics/custom_metrics/type_modifiers/). FACT: without either the
  time aggregator is ``avg`` (rollup page: "Enforced default: avg"). ASSUMED: a bucket without
  points is left out of ``pointlist`` (no interpolation), and a series without any point is
  left out of ``series``.
* ASSUMED: time aggregation runs per stored series, then the query's aggregator across the
  series of a group; a scope selects every stored series carrying all its tags (``*``: all;
  ``!tag``: without it); arithmetic has a value in a bucket only where every term has one, and
  pairs grouped terms by tag set.
* 400 ``{"errors": [...]}`` for a query it cannot parse. FACT for the wording's model: Datadog's
  parser says ``Error parsing query: \\n unable to parse <query>: Rule 'scope_expr' didn't
  match at '<rest>' (line 1, column <n>).`` (quoted in DataDog/hiring-engineers#397).
  ASSUMED: that wording here, and the messages for missing or bad ``from``/``to``.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

QUERY_PATH = "/api/v1/query"
MAX_POINTS = 1500
# ASSUMED: the intervals Datadog falls back to when the asked one gives too many points
LADDER = (60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 43200, 86400)
# FACT (rollup page's table): span up to (seconds) -> the API's default interval
DEFAULT_INTERVALS = ((3600, 20), (4 * 3600, 60), (86400, 300), (2 * 86400, 600))
DEFAULT_INTERVALS += ((7 * 86400, 3600), (31 * 86400, 14400))

_AGGREGATORS: dict[str, Callable[[list[float]], float]] = {
    "sum": sum,
    "avg": lambda values: sum(values) / len(values),
    "min": min,
    "max": max,
    "count": lambda values: float(len(values)),
}
_TERM = re.compile(
    r"(?:(?P<agg>sum|avg|min|max|count):)?(?P<metric>[A-Za-z][A-Za-z0-9_.]*)"
    r"\{(?P<scope>[^{}]*)\}(?:\s*by\s*\{(?P<by>[^{}]*)\})?"
    r"(?P<fns>(?:\.[a-z_]+\([^()]*\))*)"
)
_FUNCTION = re.compile(r"\.([a-z_]+)\(([^()]*)\)")
_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d*)?)|(?P<op>[-+*/()]))")
_ARITHMETIC: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}

Group = tuple[str, ...]  # the ``key:value`` tags of one group, in ``by`` order
Buckets = dict[int, float]  # bucket start (s) -> value


class QueryError(Exception):
    """Something the fake answers with 400 (``message`` is the ``errors`` entry)."""


@dataclass(frozen=True)
class Term:
    """One metric query of a query: ``sum:shop.requests{env:prod} by {region}.as_count()``."""

    text: str
    agg: str
    metric: str
    scope: tuple[str, ...]
    by: tuple[str, ...]
    time_agg: str  # how points are combined within a bucket
    interval: int | None  # the rollup's, if it names one
    as_rate: bool


def _tags(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip() and t.strip() != "*")


def _parse_error(query: str, position: int) -> QueryError:
    rest = query[position:] or query
    return QueryError(
        f"Error parsing query: \n unable to parse {query}: Rule 'scope_expr' didn't match at "
        f"'{rest}' (line 1, column {position + 1})."
    )


def _term(match: re.Match[str], query: str) -> Term:
    time_agg, interval, as_rate = "avg", None, False
    position = match.start("fns")
    for fn in _FUNCTION.finditer(match["fns"]):
        name, args = fn.group(1), [a.strip() for a in fn.group(2).split(",") if a.strip()]
        if name in ("as_count", "as_rate") and not args:
            time_agg, as_rate = "sum", name == "as_rate"
        elif name == "rollup" and 1 <= len(args) <= 2 and args[0] in _AGGREGATORS:
            time_agg = args[0]
            if len(args) == 2:
                if not args[1].isdigit() or int(args[1]) < 1:
                    raise _parse_error(query, position + fn.start())
                interval = int(args[1])
        else:
            raise _parse_error(query, position + fn.start())
    return Term(
        text=match.group(0),
        agg=match["agg"] or "avg",
        metric=match["metric"],
        scope=_tags(match["scope"]),
        by=_tags(match["by"] or ""),
        time_agg=time_agg,
        interval=interval,
        as_rate=as_rate,
    )


def parse(query: str) -> tuple[ast.expr, list[Term]]:
    """The arithmetic (terms as names ``t0, t1, ...``) and the terms of ``query``."""
    terms: list[Term] = []
    parts: list[str] = []
    position = 0
    while position < len(query):
        if query[position].isspace():
            position += 1
            continue
        match = _TERM.match(query, position)
        if match:
            parts.append(f"t{len(terms)}")
            terms.append(_term(match, query))
            position = match.end()
            continue
        token = _TOKEN.match(query, position)
        if token is None or token.end() == position:
            raise _parse_error(query, position)
        parts.append(token.group(0).strip())
        position = token.end()
    if not terms:
        raise _parse_error(query, 0)
    try:
        tree = ast.parse(" ".join(parts), mode="eval").body
    except SyntaxError:
        raise _parse_error(query, 0) from None
    return tree, terms


def _interval(terms: list[Term], start: int, end: int) -> int:
    """The rollup interval of the answer: the asked one, or a larger one within the limit."""
    asked = max((t.interval for t in terms if t.interval), default=None)
    if asked is None:
        span = end - start
        asked = next((i for limit, i in DEFAULT_INTERVALS if span <= limit), LADDER[-1])

    def points(interval: int) -> int:
        return end // interval - math.ceil(start / interval) + 1

    if points(asked) <= MAX_POINTS:
        return asked
    return next((i for i in LADDER if i > asked and points(i) <= MAX_POINTS), LADDER[-1])


def _stored_series(stored: Mapping[str, list[tuple[float, float]]]) -> Iterable[tuple[Term, Any]]:
    for key, points in stored.items():
        match = _TERM.fullmatch(key)
        if match is not None:
            try:
                yield _term(match, key), points
            except QueryError:
                continue


def _selects(term: Term, tags: tuple[str, ...]) -> Group | None:
    """The group a stored series with ``tags`` falls in, or None when the scope excludes it."""
    for tag in term.scope:
        if tag.startswith("!"):
            if tag[1:] in tags:
                return None
        elif tag not in tags:
            return None
    group = []
    for key in term.by:
        found = [t for t in tags if t.split(":", 1)[0] == key]
        if not found:
            return None
        group.append(found[0])
    return tuple(group)


def _evaluate_term(
    term: Term,
    stored: Mapping[str, list[tuple[float, float]]],
    first: int,
    last: int,
    interval: int,
) -> dict[Group, Buckets]:
    per_group: dict[Group, dict[int, list[float]]] = {}
    for series, points in _stored_series(stored):
        if series.metric != term.metric:
            continue
        group = _selects(term, series.scope)
        if group is None:
            continue
        buckets: dict[int, list[float]] = {}
        for when, value in points:
            bucket = int(when // interval) * interval
            if first <= bucket <= last:
                buckets.setdefault(bucket, []).append(float(value))
        target = per_group.setdefault(group, {})
        for bucket, values in buckets.items():  # time aggregation, per stored series
            target.setdefault(bucket, []).append(_AGGREGATORS[term.time_agg](values))
    out: dict[Group, Buckets] = {}
    for group, buckets in per_group.items():  # space aggregation, per group
        space = _AGGREGATORS[term.agg]
        values = {b: space(v) for b, v in buckets.items()}
        if term.as_rate:
            values = {b: v / interval for b, v in values.items()}
        if values:
            out[group] = values
    return out


def _combine(node: ast.expr, terms: Mapping[str, dict[Group, Buckets]]) -> dict[Group, Buckets]:
    """The arithmetic over the terms' series, bucket by bucket."""
    if isinstance(node, ast.Name):
        return terms[node.id]
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return {(): {-1: float(node.value)}}  # -1: a constant has every bucket
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _combine(node.operand, terms)
        return {g: {b: -v for b, v in s.items()} for g, s in inner.items()}
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        fn = _ARITHMETIC[type(node.op)]
        left, right = _combine(node.left, terms), _combine(node.right, terms)
        out: dict[Group, Buckets] = {}
        for lg, ls in left.items():
            for rg, rs in right.items():
                if lg and rg and lg != rg:
                    continue
                buckets = sorted(set(ls) | set(rs)) if -1 in ls or -1 in rs else sorted(ls)
                values: Buckets = {}
                for b in buckets:
                    lv, rv = ls.get(b, ls.get(-1)), rs.get(b, rs.get(-1))
                    if lv is None or rv is None or (rv == 0 and fn is operator.truediv):
                        continue
                    values[b] = fn(lv, rv)
                if values:
                    out[lg or rg] = values
        return out
    raise QueryError("Error parsing query: unsupported expression")


def _int_param(params: Mapping[str, str], name: str) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        raise QueryError(f"Missing required query parameter '{name}'")
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"The value provided for parameter '{name}' is invalid") from None


def answer(
    stored: Mapping[str, list[tuple[float, float]]], params: Mapping[str, str]
) -> dict[str, Any]:
    """The body of ``GET /api/v1/query`` for ``params`` (raises :class:`QueryError`)."""
    start, end = _int_param(params, "from"), _int_param(params, "to")
    query = params.get("query") or ""
    if not query.strip():
        raise QueryError("Missing required query parameter 'query'")
    if end < start:
        raise QueryError("The value provided for parameter 'to' is invalid: before 'from'")
    tree, terms = parse(query)
    interval = _interval(terms, start, end)
    first, last = math.ceil(start / interval) * interval, end // interval * interval
    evaluated = {
        f"t{i}": _evaluate_term(term, stored, first, last, interval) for i, term in enumerate(terms)
    }
    combined = _combine(tree, evaluated)
    by = sorted({key for term in terms for key in term.by})
    series = []
    for group in sorted(combined):
        buckets = {b: v for b, v in combined[group].items() if b >= 0}
        if not buckets:
            continue
        series.append(_series(query, terms, group, buckets, interval))
    return {
        "status": "ok",
        "res_type": "time_series",
        "resp_version": 1,
        "query": query,
        "from_date": start * 1000,
        "to_date": end * 1000,
        "series": series,
        "message": "",
        "group_by": by,
        "times": [],
        "values": [],
    }


def _series(
    query: str, terms: list[Term], group: Group, buckets: Buckets, interval: int
) -> dict[str, Any]:
    single = terms[0] if len(terms) == 1 else None
    scope = list(single.scope if single else ()) + [t for t in group if t]
    expression = query
    if single is not None:
        fns = single.text[single.text.index("}") + 1 :]
        fns = fns[fns.index("}") + 1 :] if single.by else fns
        expression = f"{single.agg}:{single.metric}{{{','.join(scope) or '*'}}}{fns}"
    ordered = sorted(buckets)
    return {
        "metric": single.metric if single else query,
        "display_name": single.metric if single else query,
        "expression": expression,
        "scope": ",".join(scope) or "*",
        "tag_set": list(group),
        "aggr": single.agg if single else None,
        "interval": interval,
        "length": len(ordered),
        "start": ordered[0] * 1000,
        "end": (ordered[-1] + interval - 1) * 1000,
        "pointlist": [[float(b * 1000), buckets[b]] for b in ordered],
        "query_index": 0,
        "unit": [None, None],
        "attributes": {},
    }


def route_metrics(
    stored: Mapping[str, list[tuple[float, float]]],
    method: str,
    path: str,
    params: Mapping[str, str],
) -> tuple[int, Any] | None:
    """The fake's answer to a metrics query, or None when ``path`` is not one."""
    if path != QUERY_PATH:
        return None
    if method != "GET":
        return 405, {"errors": ["Method Not Allowed"]}
    try:
        return 200, answer(stored, params)
    except QueryError as err:
        return 400, {"errors": [str(err)]}
