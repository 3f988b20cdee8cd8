"""An OpenSLO ``ratioMetric`` as one source of a slogen indicator.

OpenSLO leaves a metric source's ``spec`` to each source type ("arbitrary chosen fields for every
data source type", README "SLI"); the shapes read here are the ones its examples use: a
Prometheus or Datadog ``query`` (README "Ratio Metric" and the inlined-SLI example), and for
CloudWatch the fields of a CloudWatch metric (``region``, ``namespace``, ``metricName``,
``stat``, ``dimensions`` as a list of ``name``/``value``). A DataSource's ``type`` stands in
for a missing ``metricSource.type`` and its ``connectionDetails`` may give the region ("Field
`type` can be omitted because the type will be inferred from the DataSource", README).

slogen's Prometheus queries need the ``{{ window }}`` placeholder as their range, OpenSLO's do
not have one: a counter selector is wrapped in ``sum(rate(...[{{ window }}]))`` and an
explicit range such as ``[5m]`` becomes the placeholder, each with a warning, since the query
slogen runs then differs from the one written.
"""

from __future__ import annotations

import re
from typing import Any

from slogen.backends import registry
from slogen.interop.openslo_docs import Document, Node, Reporter

PLACEHOLDER = "{{ window }}"
_PLACEHOLDER_RE = re.compile(r"\{\{\s*window\s*\}\}")
# metricSource.type (case-insensitive) → slogen backend
TYPES = {
    b.capabilities.openslo_source.lower(): b.name
    for b in registry.backends()
    if b.capabilities.openslo_source
}
# ratioMetric side → slogen indicator key
SIDES = (("good", "good"), ("bad", "errors"), ("total", "total"))
_RANGE_RE = re.compile(r"\[\s*((?:\d+(?:ms|[smhdwy]))+)\s*\]")
_SELECTOR = r"(?:[a-zA-Z_:][a-zA-Z0-9_:]*\s*(?:\{[^{}]*\})?|\{[^{}]*\})"
_BARE_RE = re.compile(rf"^\s*({_SELECTOR})\s*$")
_SUM_RE = re.compile(rf"^\s*sum\s*((?:by|without)\s*\([^()]*\)\s*)?\(\s*({_SELECTOR})\s*\)\s*$")
_CALL_RE = re.compile(r"^\s*(rate|increase)\s*\(")


def _single_call(query: str) -> bool:
    """Whether ``query`` is one ``rate(...)``/``increase(...)`` call from start to end."""
    match = _CALL_RE.match(query)
    if not match:
        return False
    depth = 0
    for index, char in enumerate(query[match.end() - 1 :], match.end() - 1):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return not query[index + 1 :].strip()
    return False


def convert_promql(node: Node, counter: bool | None, query_range: str | None, report: Reporter):
    """The query of ``node`` in slogen's form, or None after an error."""
    query = node.value.strip()
    if _PLACEHOLDER_RE.search(query):
        return query
    if query_range:  # written by `slogen export openslo`: the exact reverse, nothing lost
        exported = re.compile(r"(\[\s*)" + re.escape(query_range) + r"(\s*\])")
        if exported.search(query):
            return exported.sub(lambda m: m.group(1) + PLACEHOLDER + m.group(2), query)
    ranges = sorted(set(_RANGE_RE.findall(query)))
    if ranges:
        converted = _RANGE_RE.sub(f"[{PLACEHOLDER}]", query)
        summed = _single_call(converted)
        if summed:
            converted = f"sum({converted})"
        report.warn(
            node,
            f"the range {', '.join(f'[{r}]' for r in ranges)} became slogen's "
            f"[{PLACEHOLDER}]{' and the rate is summed' if summed else ''}: {converted}",
            "slogen evaluates the query over each window its tiers need",
        )
        return converted
    if counter is False:
        report.error(
            node,
            "a Prometheus query without a range and with counter: false (a gauge): slogen "
            "needs counters, which it rates over each window",
            f"give a counter selector with counter: true, or a query with [{PLACEHOLDER}]",
        )
        return None
    bare = _BARE_RE.match(query)
    summed_selector = _SUM_RE.match(query)
    if bare:
        converted = f"sum(rate({bare.group(1).strip()}[{PLACEHOLDER}]))"
    elif summed_selector:
        grouping = (summed_selector.group(1) or "").strip()
        inner = summed_selector.group(2).strip()
        converted = f"sum{' ' + grouping + ' ' if grouping else ''}(rate({inner}[{PLACEHOLDER}]))"
    else:
        report.error(
            node,
            f"cannot turn the Prometheus query {query!r} into slogen's form",
            'expected a counter selector such as http_requests_total{code=~"5.."}, sum() of '
            f"one, or a query whose range (e.g. [5m]) can become [{PLACEHOLDER}]",
        )
        return None
    report.warn(
        node,
        f"the counter became a rate over slogen's window: {converted}",
        "OpenSLO queries are instant; slogen evaluates the rate over each window its tiers need",
    )
    return converted


def _metric_source(
    side: Node, datasources: dict[str, Document], report: Reporter
) -> tuple[str, Node, dict[str, Any]] | None:
    """(backend, metricSource.spec, DataSource connectionDetails) of one side."""
    source = side.get("metricSource")
    if source is None or not isinstance(source.value, dict):
        report.expected(source or side, "a metricSource mapping")
        return None
    kind_node, ref = source.get("type"), source.get("metricSourceRef")
    kind = kind_node.value if kind_node is not None else None
    details: dict[str, Any] = {}
    if ref is not None:
        datasource = datasources.get(str(ref.value))
        if datasource is not None:
            ds_type = datasource.spec.get("type")
            kind = kind or (ds_type.value if ds_type is not None else None)
            connection = datasource.spec.get("connectionDetails")
            if connection is not None and isinstance(connection.value, dict):
                details = dict(connection.value)
                if set(details) - {"region"}:
                    report.warn(
                        connection,
                        f"the connection details of DataSource '{datasource.name}' are not "
                        "carried over",
                        "slogen.yaml's targets say where each backend is and how to reach it",
                    )
        elif kind is None:
            report.error(
                ref,
                f"DataSource '{ref.value}' is not in the files given, and the metricSource "
                "has no type",
                "pass the file that defines the DataSource, or give metricSource.type",
            )
            return None
    if not isinstance(kind, str) or not kind:
        report.error(source, "the metricSource has no type and no metricSourceRef to a DataSource")
        return None
    backend = TYPES.get(kind.lower())
    if backend is None:
        report.error(
            kind_node or source,
            f"metric source type '{kind}' is not supported",
            "slogen reads Prometheus, Datadog and CloudWatch metric sources",
        )
        return None
    spec = source.get("spec")
    if spec is None:
        report.error(source, "missing required key 'spec' (the query of the metric source)")
        return None
    if not isinstance(spec.value, dict):
        report.expected(spec, "metricSource.spec, a mapping")
        return None
    return backend, spec, details


def _cloudwatch_metric(node: Node, report: Reporter) -> dict[str, Any] | None:
    namespace, metric = node.get("namespace"), node.get("metricName")
    for unsupported in ("sql", "json"):
        if node.get(unsupported) is not None:
            report.error(
                node.get(unsupported) or node,
                f"CloudWatch '{unsupported}' metric sources are not supported",
                "give namespace, metricName, stat and dimensions of each metric",
            )
            return None
    if namespace is None or metric is None:
        report.error(node, "a CloudWatch metric needs namespace and metricName")
        return None
    result: dict[str, Any] = {"namespace": namespace.value, "metric": metric.value}
    dims = node.get("dimensions")
    if dims is not None:
        if isinstance(dims.value, dict):
            result["dimensions"] = {str(k): str(v) for k, v in dims.value.items()}
        elif isinstance(dims.value, list) and all(
            isinstance(d, dict) and "name" in d and "value" in d for d in dims.value
        ):
            result["dimensions"] = {str(d["name"]): str(d["value"]) for d in dims.value}
        else:
            report.expected(dims, "a list of {name, value} dimensions")
            return None
    stat = node.get("stat")
    if stat is not None and stat.value != "Sum":
        result["stat"] = stat.value
    return result


def _side_query(backend: str, spec: Node, counter: bool | None, query_range, report):
    """One side of the ratio in the shape of slogen's ``backend`` source; None after errors."""
    if backend == "cloudwatch":
        metrics = spec.get("metrics")
        if metrics is not None:
            read = [_cloudwatch_metric(item, report) for item in metrics.items()]
            return None if not read or None in read else read
        return _cloudwatch_metric(spec, report)
    query = spec.get("query") or spec.get("promql")
    if query is None or not isinstance(query.value, str) or not query.value.strip():
        report.expected(query or spec, f"a {backend} query (spec.query), a non-empty string")
        return None
    if backend == "prometheus":
        return convert_promql(query, counter, query_range, report)
    return query.value.strip()


def ratio_source(
    sli: Node, datasources: dict[str, Document], report: Reporter, query_range: str | None
) -> tuple[str, dict[str, Any]] | None:
    """(backend, source in slogen's spec shape) for an SLI spec; None after errors."""
    ratio = sli.get("ratioMetric")
    if ratio is None:
        other = sli.get("thresholdMetric")
        report.error(
            other or sli,
            "thresholdMetric SLIs are not supported" if other else "the SLI has no ratioMetric",
            "slogen's burn-rate alerts need a ratioMetric: good or bad events, and total",
        )
        return None
    for raw in ("raw", "rawType"):
        if ratio.get(raw) is not None:
            report.error(
                ratio.get(raw) or ratio,
                "ratioMetric 'raw' (a precomputed ratio) is not supported",
                "slogen needs event counts: give good or bad, and total",
            )
            return None
    counter_node = ratio.get("counter")
    counter = counter_node.value if counter_node and isinstance(counter_node.value, bool) else None
    present: list[tuple[str, str, Node]] = []
    for key, slogen_key in SIDES:
        side = ratio.get(key)
        if side is not None:
            present.append((key, slogen_key, side))
    keys = [key for key, _, _ in present]
    if "total" not in keys or ("good" in keys) == ("bad" in keys):
        report.error(
            ratio,
            f"a ratioMetric needs total and exactly one of good or bad, found {keys or 'none'}",
        )
        return None
    backends: set[str] = set()
    result: dict[str, Any] = {}
    ok = True
    for _key, slogen_key, side in present:
        read = _metric_source(side, datasources, report)
        if read is None:
            ok = False
            continue
        backend, spec, details = read
        backends.add(backend)
        if backend == "cloudwatch":
            region = spec.get("region")
            value = region.value if region is not None else details.get("region")
            if not value:
                report.error(spec, "a CloudWatch metric source needs a region")
                ok = False
            elif result.setdefault("region", value) != value:
                report.error(region or spec, "the sides of the ratio are in different regions")
                ok = False
        value = _side_query(backend, spec, counter, query_range, report)
        ok = ok and value is not None
        result[slogen_key] = value
    if len(backends) > 1:
        report.error(ratio, f"the sides of the ratio read different sources: {sorted(backends)}")
        return None
    if not ok:
        return None
    if "region" in result:
        result = {"region": result.pop("region"), **result}
    return backends.pop(), result
