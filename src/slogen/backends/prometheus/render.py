"""Prometheus: recording rules and one alert per tier, one rule file per service.

Layout of what is generated for an SLO (one rule group, evaluated in order):

1. ``slogen:sli_errors:rate5m`` and ``slogen:sli_total:rate5m``: the spec's own queries with
   ``{{ window }}`` set to a short base range (5m, or the policy's shortest window if that is
   shorter). These are the only rules that touch raw series. For queries that count with
   ``increase()`` (:func:`~.semantics.query_kind`) they are named ``...:increase5m``: each
   sample is then a count of events over the base range, not a per-second rate.
2. ``slogen:sli_error_ratio:rate<W>`` for every window a tier uses. The base window is the
   plain ratio of the two rates; every longer window is a ratio of sums of those rates over W:
   ``sum_over_time(errors[W]) / sum_over_time(total[W])``. That weights every moment by its
   traffic (unlike averaging ratios) and never runs a 3-day range query over raw series.
3. with ``min_events``: ``slogen:sli_events:count<W>``, the events seen over each long window.
   The group is evaluated every ``i`` = 60 s (:data:`GROUP_INTERVAL`), and ``b`` is the base
   range. A ``rate`` sample is ``events in (t−b, t] / b``; an ``increase`` sample is ``events in
   (t−b, t]``. Summed over W, every event is inside the base range of ``b/i`` samples, so

   * rate:     ``events(W) = sum_over_time(total[W]) · i``  (``b/i`` samples × ``1/b`` each);
   * increase: ``events(W) = sum_over_time(total[W]) · i / b``  (``b/i`` samples × 1 each);

   and for W = b a single sample: ``total · b`` (rate) or ``total`` (increase). The error ratio
   rules are the same for both kinds: a ratio of sums, in which the unit cancels.
4. one alert per tier: both windows above the tier's threshold (and enough events).

Because the long windows are built from base-range rates, the newest ``base/2`` of an incident
is only partly visible; :func:`base_window` is passed to the engine as its ``resolution`` so the
predicted detection times include that delay.
"""

from __future__ import annotations

import re
from typing import Any

from slogen import templating
from slogen.backends import common
from slogen.backends.prometheus.semantics import INCREASE, query_kind
from slogen.backends.prometheus.source import WINDOW_PLACEHOLDER, PrometheusSource
from slogen.backends.scope import PROJECT_ANNOTATION
from slogen.durations import format_duration
from slogen.engine import TierMath, analyse_slo
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service

BASE_WINDOW = 300  # seconds; the range of the only raw-series rate() slogen records
# Every slogen group is evaluated once a minute, whatever the server's global interval, so that
# event counts (sum of per-second rates × interval) and the promtool tests' timing hold.
GROUP_INTERVAL = 60


def base_window(slo: SLO) -> int:
    """The range of the recorded raw rates: 5m, or less when a tier's short window is shorter."""
    return min([BASE_WINDOW, *(tier.short for tier in slo.policy.tiers)])


def _camel(*names: str) -> str:
    return "".join(part.capitalize() for name in names for part in re.split(r"[-_]", name) if part)


def alert_name(service: str, slo: str) -> str:
    return f"{_camel(service, slo)}BudgetBurn"


def _selector(service: str, slo: str) -> str:
    return f'{{service="{service}",slo="{slo}"}}'


def substitute(template: str, window: int) -> str:
    """The query with ``{{ window }}`` set to ``window`` seconds (as a PromQL duration)."""
    return WINDOW_PLACEHOLDER.sub(format_duration(window), template)


def good_to_errors(source: PrometheusSource, window: int) -> str:
    """Bad events from a ``good`` SLI: total minus good, each as written."""
    return f"({substitute(source.total, window)})\n-\n({substitute(source.good or '', window)})"


def recording_rules(service: Service, slo: SLO) -> list[dict[str, Any]]:
    source = slo.indicator.source("prometheus")
    assert isinstance(source, PrometheusSource)
    base = base_window(slo)
    base_text = format_duration(base)
    labels = {"service": service.name, "slo": slo.name}
    sel = _selector(service.name, slo.name)
    if source.errors is not None:
        errors_expr = substitute(source.errors, base)
    else:
        errors_expr = good_to_errors(source, base)
    kind = query_kind(source)
    errors_name = f"slogen:sli_errors:{kind}{base_text}"
    total_name = f"slogen:sli_total:{kind}{base_text}"
    rules: list[dict[str, Any]] = [
        {"record": errors_name, "expr": errors_expr, "labels": dict(labels)},
        {"record": total_name, "expr": substitute(source.total, base), "labels": dict(labels)},
    ]
    windows = sorted({w for tier in slo.policy.tiers for w in (tier.long, tier.short)})
    for window in windows:
        text = format_duration(window)
        if window == base:
            expr = f"{errors_name}{sel}\n/\n{total_name}{sel}"
        else:
            expr = (
                f"sum_over_time({errors_name}{sel}[{text}])\n/\n"
                f"sum_over_time({total_name}{sel}[{text}])"
            )
        rules.append(
            {"record": f"slogen:sli_error_ratio:rate{text}", "expr": expr, "labels": dict(labels)}
        )
    if slo.alerting.min_events:
        for window in sorted({tier.long for tier in slo.policy.tiers}):
            text = format_duration(window)
            expr = events_expr(f"{total_name}{sel}", kind, window, base)
            rules.append(
                {"record": f"slogen:sli_events:count{text}", "expr": expr, "labels": dict(labels)}
            )
    return rules


def events_expr(total: str, kind: str, window: int, base: int) -> str:
    """Events seen over ``window`` from the recorded base series ``total`` (module docstring).

    Events actually seen, one sample per group interval: averaging would stretch a partly filled
    window to all of W and let a new service page after a handful of events.
    """
    if window == base:
        return total if kind == INCREASE else f"{total} * {window}"
    summed = f"sum_over_time({total}[{format_duration(window)}]) * {GROUP_INTERVAL}"
    return f"{summed} / {base}" if kind == INCREASE else summed


def literal_text(context: dict[str, Any]) -> dict[str, Any]:
    """``context`` with the spec's free text (descriptions, runbook) escaped for Go templates:
    Prometheus expands every annotation as one, so ``{{ foo }}`` in a description made
    ``promtool check rules`` reject the file. slogen's own constructs in the templates
    (``{{ $value | humanizePercentage }}``) are template text, not data, and stay as they are."""
    free = ("slo_description", "runbook")
    return {k: templating.go_template_literal(v) if k in free else v for k, v in context.items()}


def literal_labels(labels: dict[str, str]) -> dict[str, str]:
    """Alert label values escaped for Go templates: Prometheus expands them like annotations."""
    return {k: templating.go_template_literal(v) for k, v in labels.items()}


class SloAlerts:
    """What the alerts of every tier of one SLO share, worked out once per SLO rather than for
    each tier: the templates' names and numbers of the SLO (free text escaped,
    :func:`literal_text`), the labels every alert carries (escaped, :func:`literal_labels`),
    the alert's name and the series selector. A tier's alert adds its own numbers and routing
    (:meth:`rule`).

    ``project`` (the project's name, if it has one) is the annotation ``slogen_project`` on every
    alert: the one place in a rule that every store keeps as written (files, vmalert, a ruler,
    AMP) and that changes no series or alert identity (a label would). Recording rules have no
    annotations: a group is its alerts' project."""

    def __init__(self, service: Service, slo: SLO, project: str | None = None) -> None:
        self.service = service
        self.slo = slo
        self.project = project
        self.selector = _selector(service.name, slo.name)
        self.name = alert_name(service.name, slo.name)
        self.context = literal_text(
            {**common.slo_fields(service, slo), "slo_description": slo.description}
        )
        labels: dict[str, str] = dict(service.labels)
        if service.owner:
            labels["team"] = service.owner
        self.labels = literal_labels(labels)

    def rule(self, math: TierMath, templates: str | None) -> dict[str, Any]:
        """The alerting rule of one tier."""
        service, slo, sel = self.service, self.slo, self.selector
        context = {**self.context, **common.tier_fields(math)}
        threshold = context["threshold"]  # fmt(math.threshold), formatted once per tier
        parts = [
            f"slogen:sli_error_ratio:rate{context['long']}{sel} > {threshold}",
            f"slogen:sli_error_ratio:rate{context['short']}{sel} > {threshold}",
        ]
        if slo.alerting.min_events:
            parts.append(
                f"slogen:sli_events:count{context['long']}{sel} >= {slo.alerting.min_events}"
            )
        labels = dict(self.labels)
        # routing labels may set `team`
        labels.update(
            literal_labels(dict(slo.alerting.for_severity(math.severity).route("prometheus")))
        )
        tier_labels = {
            "severity": math.severity,
            "service": service.name,
            "slo": slo.name,
            "tier": math.id,
        }
        if slo.category:  # alerts only: a new label on recording rules would split their series
            tier_labels["category"] = slo.category
        labels.update(literal_labels(tier_labels))
        annotations = {
            "summary": templating.render("prometheus/summary.txt.j2", templates, **context),
            "description": templating.render("prometheus/description.txt.j2", templates, **context),
        }
        if slo.alerting.runbook:
            annotations["runbook_url"] = context["runbook"]
        annotations.update(
            {
                "burn_rate": context["burn_rate"],
                "threshold": threshold,
                "long_window": context["long"],
                "short_window": context["short"],
                "budget": context["budget"],
            }
        )
        if self.project:
            annotations[PROJECT_ANNOTATION] = self.project
        return {
            "alert": self.name,
            "expr": "\nand\n".join(parts),
            "labels": dict(sorted(labels.items())),
            "annotations": annotations,
        }


def alert_rule(service: Service, slo: SLO, math: TierMath, templates: str | None) -> dict[str, Any]:
    """The alerting rule of one tier of an SLO (render makes every tier's from one
    :class:`SloAlerts`)."""
    return SloAlerts(service, slo).rule(math, templates)


def render(project: Project, tname: str, templates: str | None = None) -> list[Resource]:
    """Desired resources at the target called ``tname``: per SLO a recording-rules resource and
    one alert per tier (with the project's annotation, :class:`SloAlerts`)."""
    resources: list[Resource] = []
    for service in project.services:
        for slo in service.slos:
            if slo.indicator.source("prometheus") is None:
                continue
            base_key = f"{service.name}/{slo.name}"
            resources.append(
                Resource(
                    "prometheus",
                    tname,
                    "recording-rules",
                    base_key,
                    {"rules": recording_rules(service, slo)},
                )
            )
            alerts = SloAlerts(service, slo, project.project)
            for math in analyse_slo(slo):
                resources.append(
                    Resource(
                        "prometheus",
                        tname,
                        "alert",
                        f"{base_key}/{math.id}",
                        alerts.rule(math, templates),
                        depends_on=(base_key,),
                    )
                )
    return resources


def tier_forms(service: Service, slo: SLO) -> dict[str, str]:
    """How each tier is expressed (shown by ``slogen explain``)."""
    base = format_duration(base_window(slo))
    source = slo.indicator.source("prometheus")
    counts = isinstance(source, PrometheusSource) and query_kind(source) == INCREASE
    return {
        math.id: f"alert rule over windows {format_duration(math.long)} and "
        f"{format_duration(math.short)} built from {base} {'increases' if counts else 'rates'}"
        for math in analyse_slo(slo)
    }
