"""Everything the Prometheus backend would reject, found before anything is rendered.

Every indicator query is parsed as Prometheus will parse the generated recording rules: the
``{{ window }}`` placeholder is replaced by the SLO's base range, and the text goes through
``promql-parser``, a full PromQL grammar (the Rust port of Prometheus's own parser, used by
GreptimeDB); its verdicts are compared with ``promtool check rules`` in the test suite. A query
for a ``good`` SLI is also checked in the form the rules use, ``(total) - (good)``.

A query must also evaluate to an instant vector or a scalar: a range vector (``x[5m]`` without
``rate``) or a string parses, but a recording rule over it fails at every evaluation.

The parser follows current Prometheus, whose experimental functions (``limitk``, ``info``,
``sort_by_label``, ``mad_over_time``, ...) parse but are refused unless the server runs with
``--enable-feature=promql-experimental-functions`` (Mimir: the per-tenant limit
``enabled_promql_experimental_functions``); Prometheus 2.x refuses them outright (so does
``promtool check rules`` 2.42). Using one is a warning, not an error: whether it works depends
on a server slogen cannot see while validating.
"""

from __future__ import annotations

from functools import lru_cache

from slogen.backends.prometheus.render import base_window, good_to_errors, substitute
from slogen.backends.prometheus.source import PrometheusSource
from slogen.durations import format_duration
from slogen.errors import Problem
from slogen.spec.model import Project

# Experimental in Prometheus 3 (listed by pint's promql/features check and Prometheus's
# feature-flag docs); unknown to Prometheus 2.x.
EXPERIMENTAL = frozenset(
    {
        "double_exponential_smoothing",
        "info",
        "limit_ratio",
        "limitk",
        "mad_over_time",
        "sort_by_label",
        "sort_by_label_desc",
    }
)
RENAMED = {"holt_winters": "double_exponential_smoothing (renamed in Prometheus 3.0)"}

_NOT_INSTANT = {
    "MatrixSelector": "a range vector",
    "SubqueryExpr": "a range vector (a subquery)",
    "StringLiteral": "a string",
}


@lru_cache(maxsize=4096)
def promql_problem(query: str) -> str | None:
    """Why Prometheus would reject ``query`` as a rule expression, or None."""
    import promql_parser

    try:
        expr = promql_parser.parse(query)
    except ValueError as exc:
        for old, new in RENAMED.items():
            if f"'{old}'" in str(exc):
                return f"PromQL does not parse: {exc}; use {new}"
        return f"PromQL does not parse: {exc}"
    while type(expr).__name__ == "ParenExpr":
        expr = expr.expr
    kind = _NOT_INSTANT.get(type(expr).__name__)
    if kind is not None:
        return f"the query yields {kind}, but a rule needs an instant vector or a scalar"
    return None


@lru_cache(maxsize=4096)
def experimental_functions(query: str) -> tuple[str, ...]:
    """The experimental functions and aggregations a (parsable) query uses."""
    import promql_parser

    found: set[str] = set()

    def visit(node: object) -> None:
        kind = type(node).__name__
        if kind == "Call":
            name = node.func.name  # type: ignore[attr-defined]
        elif kind == "AggregateExpr":
            name = str(node.op)  # type: ignore[attr-defined]
        else:
            return
        if name in EXPERIMENTAL:
            found.add(name)

    promql_parser.walk(promql_parser.parse(query), visit)
    return tuple(sorted(found))


def _hint(base: str) -> str:
    return (
        f"the query is checked with {{{{ window }}}} set to {base}; write e.g. "
        'sum(rate(http_requests_total{job="api"}[{{ window }}]))'
    )


def validate(project: Project) -> list[Problem]:
    problems: list[Problem] = []
    for service in project.services:
        for index, slo in enumerate(service.slos):
            source = slo.indicator.source("prometheus")
            if not isinstance(source, PrometheusSource):
                continue
            base = base_window(slo)
            base_text = format_duration(base)
            where = f"slos[{index}].indicator.prometheus"
            bad = set()
            for name in ("total", "errors", "good"):
                query = getattr(source, name)
                if query is None:
                    continue
                text = substitute(query, base)
                reason = promql_problem(text)
                loc = source.location_of(name, slo.location)
                if reason is not None:
                    bad.add(name)
                    problems.append(Problem(loc, f"{where}.{name}", reason, _hint(base_text)))
                    continue
                used = experimental_functions(text)
                if used:
                    problems.append(
                        Problem(
                            loc,
                            f"{where}.{name}",
                            f"uses experimental PromQL ({', '.join(used)}), which Prometheus "
                            "evaluates only with --enable-feature=promql-experimental-functions "
                            "and Prometheus 2.x not at all",
                            "enable the feature on every server that evaluates these rules, or "
                            "rewrite the query without it",
                            severity="warning",
                        )
                    )
            if source.good is not None and not bad:
                reason = promql_problem(good_to_errors(source, base))
                if reason is not None:
                    problems.append(
                        Problem(
                            source.location_of("good", slo.location),
                            f"{where}.good",
                            f"'total' minus 'good' is not a valid rule: {reason}",
                            "give 'total' and 'good' the same labels, e.g. both sum(...)",
                        )
                    )
    return problems
