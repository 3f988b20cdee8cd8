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

What a query *means* is checked too (read by :mod:`.semantics`), because a query Prometheus
accepts can still page wrongly:

* ``{{ window }}`` must be the range of ``rate()`` or ``increase()``: the rules count events from
  it (``irate()`` is rejected, it sees only the last two samples and so ignores the window), and
  ``errors``/``good`` must count the way ``total`` does (both rates or both increases).
* Every query must aggregate to one series per SLO. An unaggregated query (or ``without``,
  ``topk``) keeps per-series labels, and the ratio rules pair ``errors`` and ``total`` series by
  label: each 5xx series divides by itself, the ratio reads 1, every tier pages at 0.1 % errors.
  ``sum by (L)`` is accepted when every query keeps exactly the same labels ``L`` and filters
  them the same way: it is one SLO per value of ``L`` (one ratio, one ``min_events`` count and
  one alert per value, each alert carrying ``L`` next to service and slo), which is what a
  per-region or per-cluster SLO means. A ``by`` label that ``errors`` filters but ``total`` does
  not (``sum by (code)`` with ``code=~"5.."``) is rejected: each code's errors would divide by
  that code's own total, the same ratio of 1.
"""

from __future__ import annotations

import re

from slogen.backends.prometheus.names import amp_problem
from slogen.backends.prometheus.render import base_window, good_to_errors, substitute
from slogen.backends.prometheus.semantics import (
    KINDS,
    SENTINEL_TEXT,
    label_filters,
    reading,
    shape_of,
    template_kind,
)
from slogen.backends.prometheus.source import WINDOW_PLACEHOLDER, PrometheusSource
from slogen.durations import format_duration
from slogen.errors import Location, Problem
from slogen.spec.model import SLO, Project, Service
from slogen.spec.model import Target as TargetSettings

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


def promql_problem(query: str) -> str | None:
    """Why Prometheus would reject ``query`` as a rule expression, or None."""
    read = reading(query)
    if read.error is not None:
        for old, new in RENAMED.items():
            if f"'{old}'" in read.error:
                return f"PromQL does not parse: {read.error}; use {new}"
        return f"PromQL does not parse: {read.error}"
    kind = _NOT_INSTANT.get(read.outer)
    if kind is not None:
        return f"the query yields {kind}, but a rule needs an instant vector or a scalar"
    return None


def experimental_functions(query: str) -> tuple[str, ...]:
    """The experimental functions and aggregations a (parsable) query uses."""
    read = reading(query)
    if read.error is not None:
        raise ValueError(read.error)
    return tuple(sorted(read.functions & EXPERIMENTAL))


# A quoted metric name as the first thing in a selector's braces: {"name"} or {"name", ...}
QUOTED_NAME = re.compile(r'\{\s*"(?:[^"\\]|\\.)*"\s*[,}]')


def _hint(base: str) -> str:
    return (
        f"the query is checked with {{{{ window }}}} set to {base}; write e.g. "
        'sum(rate(http_requests_total{job="api"}[{{ window }}]))'
    )


def validate(project: Project) -> list[Problem]:
    problems: list[Problem] = []
    target = project.target("prometheus")
    on_amp = target.type == "amp"
    on_vmalert = target.type == "vmalert"
    problems.extend(auth_problems(target))
    problems.extend(query_url_problems(target))
    for service in project.services:
        for index, slo in enumerate(service.slos):
            source = slo.indicator.source("prometheus")
            if not isinstance(source, PrometheusSource):
                continue
            refused = amp_problem(service.name, slo.name) if on_amp else None
            if refused is not None:
                problems.append(
                    Problem(
                        slo.location,
                        f"slos[{index}].name",
                        refused,
                        "shorten the service or SLO name (targets.prometheus is type amp)",
                    )
                )
            base = base_window(slo)
            base_text = format_duration(base)
            where = f"slos[{index}].indicator.prometheus"
            bad = set()
            for name in ("total", "errors", "good"):
                query = getattr(source, name)
                if query is None:
                    continue
                text = substitute(query, base)
                # The query as shape_of parses it (the window a sentinel duration): it parses
                # exactly when ``text`` does, and that one parse serves every check below.
                probe = WINDOW_PLACEHOLDER.sub(SENTINEL_TEXT, query)
                reason = promql_problem(probe) and promql_problem(text)
                loc = source.location_of(name, slo.location)
                if reason is not None:
                    bad.add(name)
                    problems.append(Problem(loc, f"{where}.{name}", reason, _hint(base_text)))
                    continue
                used = experimental_functions(probe)
                if used and on_vmalert:
                    # vmalert parses unknown function names and fails at every evaluation
                    # ("unknown func"); MetricsQL has none of Prometheus's experimental ones
                    problems.append(
                        Problem(
                            loc,
                            f"{where}.{name}",
                            f"uses experimental PromQL ({', '.join(used)}), which MetricsQL "
                            "does not have: vmalert would fail to evaluate every rule built on it",
                            "rewrite the query without it (targets.prometheus is type vmalert)",
                        )
                    )
                elif on_vmalert and QUOTED_NAME.search(text):
                    # Prometheus 3's quoted UTF-8 metric names ({"a.b"}): VictoriaMetrics 1.79
                    # refuses the whole rule file on reload ("labelFilterExpr: unexpected token")
                    problems.append(
                        Problem(
                            loc,
                            f"{where}.{name}",
                            'selects a metric by a quoted name ({"..."}), which vmalert '
                            "cannot parse: it would refuse the rule file",
                            'use a name of letters, digits, "_" and ":" (targets.prometheus is '
                            "type vmalert)",
                        )
                    )
                elif used:
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
            problems.extend(meaning_problems(source, where, slo.location, bad))
            problems.extend(
                label_clashes(source, where, slo.location, bad, labels_set_by_slogen(service, slo))
            )
            if source.good is not None and not bad:
                reason = difference_problem(source, base)
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


def difference_problem(source: PrometheusSource, base: int) -> str | None:
    """Why ``(total) - (good)``, the errors rule of a ``good`` SLI, is not a valid rule, when
    each query alone is (neither is in validate's ``bad``).

    Parsing is most of validate's time and these are its longest queries, so the difference is
    parsed only when it might fail. It cannot when both queries write ``{{ window }}`` only as
    the range of rate() or increase() (then each parses with the base range exactly as it did
    with the sentinel, :func:`.semantics.template_kind`) and neither has a ``#``: a comment
    running to the end of a query would swallow the closing parenthesis.
    """
    queries = (source.total, source.good or "")
    if all("#" not in query and template_kind(query) is not None for query in queries):
        return None
    return promql_problem(good_to_errors(source, base))


def auth_problems(target: TargetSettings) -> list[Problem]:
    """Credential options that cannot work together (the ruler target refuses them at plan
    time, as mimirtool does; found here without reading any variable)."""
    given = {key for key in ("username", "password", "token") if target.option(key) is not None}
    path = "targets.prometheus"
    if "token" in given and given & {"username", "password"}:
        return [
            Problem(
                target.location,
                path,
                "set either username and password (basic auth) or token (bearer), not both",
                "remove one of them",
            )
        ]
    if len(given & {"username", "password"}) == 1:
        missing = "password" if "username" in given else "username"
        return [
            Problem(
                target.location,
                path,
                f"basic auth needs both username and password; {missing} is missing",
                f"add {missing}: ${{VARIABLE}}",
            )
        ]
    return []


QUERY_URL_RE = re.compile(r"^https?://[^\s/?#@]+(/[^\s?#]*)?$")


def query_url_problems(target: TargetSettings) -> list[Problem]:
    """``query_url`` (where ``slogen backtest`` reads history) must be an http(s) URL without
    credentials in it; a ``${VARIABLE}`` reference is checked once expanded, when used
    (:func:`slogen.backends.prometheus.history.reader`), so a fork without secrets validates."""
    raw = target.option("query_url")
    if raw is None:
        return []
    text = str(raw).strip()
    if "${" in text or QUERY_URL_RE.match(text):
        return []
    if "@" in text.split("://", 1)[-1].split("/", 1)[0]:
        message = "the URL must not hold credentials (user:password@)"
        hint = "use targets.prometheus.username and password: ${VARIABLE} references"
    else:
        message = f"expected the http(s) URL of a Prometheus query API, found {text!r}"
        hint = "e.g. http://prometheus:9090 (slogen adds /api/v1/query_range)"
    return [Problem(target.location, "targets.prometheus.query_url", message, hint)]


# Labels the generated rules set on every series: recording rules ``service`` and ``slo``,
# alerts also ``severity``, ``tier``, ``team`` and the spec's labels and routing labels.
RULE_LABELS = frozenset({"service", "slo", "severity", "tier", "team"})


def labels_set_by_slogen(service: Service, slo: SLO) -> frozenset[str]:
    routing = {
        name for _sev, notify in slo.alerting.notify for name, _ in notify.route("prometheus")
    }
    return RULE_LABELS | {name for name, _ in service.labels} | routing


def label_clashes(
    source: PrometheusSource,
    where: str,
    default: Location,
    bad: set[str],
    reserved: frozenset[str],
) -> list[Problem]:
    """A query kept by a label the rules set would have its series collapse onto one label set
    (Prometheus: "vector contains metrics with the same labelset after applying rule labels"),
    and every evaluation of the rule would fail."""
    problems = []
    for name in ("errors", "good", "total"):
        query = getattr(source, name)
        if query is None or name in bad:
            continue
        shape = shape_of(query)
        clash = sorted((shape.labels or frozenset()) & reserved) if shape is not None else []
        if clash:
            problems.append(
                Problem(
                    source.location_of(name, default),
                    f"{where}.{name}",
                    f"keeps label(s) {', '.join(clash)}, which slogen's rules set themselves: "
                    "the series would collapse onto one label set and every evaluation fail",
                    f"drop {', '.join(clash)} from by (...), or rename it with label_replace",
                )
            )
    return problems


def _by(labels: frozenset[str]) -> str:
    return f"by ({', '.join(sorted(labels))})" if labels else "no labels (sum(...))"


def window_problem(template: str) -> tuple[str, str] | None:
    """Why ``{{ window }}`` is not (only) the range of rate() or increase(), with a fix."""
    shape = shape_of(template)
    if shape is None or template_kind(template) is not None:
        return None
    example = "e.g. sum(rate(http_requests_total[{{ window }}]))"
    if "irate" in shape.holders:
        return (
            "irate() looks only at the last two samples in its range, so it ignores "
            "{{ window }}: every tier would see the same instant rate, whatever its window",
            f"use rate() (or increase()) over [{{{{ window }}}}], {example}",
        )
    others = sorted({h for h in shape.holders if h not in KINDS})
    if others or len(shape.holders) != shape.placeholders:
        named = [o if o == "a subquery" else f"{o}()" for o in others]
        where = f"the range of {', '.join(named)}" if named else "outside a range function"
        return (
            f"{{{{ window }}}} is {where}; slogen counts events from rate() (per second) or "
            "increase() (per window) of a counter over that range",
            f"make [{{{{ window }}}}] the range of rate() or increase(), {example}",
        )
    if len(shape.kinds) > 1:
        return (
            "mixes rate() and increase(): a per-second rate and a count over the window cannot "
            "be added or divided",
            "use rate() everywhere (or increase() everywhere) in the SLI's queries",
        )
    kind = next(iter(shape.kinds))
    unit = "events per second" if kind == "rate" else "events per {{ window }}"
    return (
        f"scales {kind}() by a constant ({', '.join(shape.scaled)}): slogen reads the query's "
        f"value as {unit} to count events (min_events), so the count would be off by that factor",
        "drop the factor: rate() gives events per second, increase() events per window",
    )


def meaning_problems(
    source: PrometheusSource, where: str, default: Location, bad: set[str]
) -> list[Problem]:
    """The SLI's queries count events the way the rules assume and yield one series per SLO."""
    problems: list[Problem] = []
    names = [n for n in ("errors", "good", "total") if getattr(source, n) is not None]
    names = [n for n in names if n not in bad]

    def add(name: str, message: str, hint: str) -> None:
        loc = source.location_of(name, default)
        problems.append(Problem(loc, f"{where}.{name}", message, hint))

    kinds: dict[str, str] = {}
    for name in names:
        found = window_problem(getattr(source, name))
        if found is not None:
            add(name, *found)
        else:
            kinds[name] = template_kind(getattr(source, name)) or ""
    for name in names:
        query = getattr(source, name)
        shape = shape_of(query)
        if shape is not None and shape.labels is None:
            add(
                name,
                "keeps per-series labels (no sum, or sum without, topk, ...): the ratio rules "
                "divide errors by total series by series, so e.g. each 5xx series divides by "
                "itself and the error ratio reads 1; slogen needs one series per SLO",
                f"aggregate the whole query: sum({query})",
            )
    total = source.total if "total" in names else None
    for name in names:
        if name == "total" or total is None:
            continue
        if kinds.get(name) and kinds.get("total") and kinds[name] != kinds["total"]:
            add(
                name,
                f"counts with {kinds[name]}() but total with {kinds['total']}(): the ratio "
                "of a per-second rate to a count over the window is not an error ratio",
                f"use {kinds['total']}() in {name} as in total (or change total)",
            )
        mine, theirs = shape_of(getattr(source, name)), shape_of(total)
        if mine is None or theirs is None or mine.labels is None or theirs.labels is None:
            continue
        if mine.labels != theirs.labels:
            add(
                name,
                f"keeps {_by(mine.labels)} but total keeps {_by(theirs.labels)}: the ratio rules "
                "divide series with identical labels, so the ratio would be missing or wrong",
                "aggregate every query the same way, e.g. sum(...) on both",
            )
            continue
        filters, total_filters = label_filters(getattr(source, name)), label_filters(total)
        for label in sorted(mine.labels):
            if filters.get(label, frozenset()) != total_filters.get(label, frozenset()):
                matchers = ", ".join(sorted(filters.get(label, frozenset()))) or "no matcher"
                add(
                    name,
                    f"keeps label {label} ({_by(mine.labels)}) but selects on it differently "
                    f"from total ({matchers}): each {label} value's {name} would divide by that "
                    "value's own total, so the ratio reads 1 for every failing value",
                    f"drop {label} from by (...), or filter {label} the same way in total",
                )
    return problems
