"""Desired Datadog resources: an SLO object per SLO (where Datadog has its timeframe) and, per
tier, the monitors of the tier's form (see :mod:`.forms`). Keys are ``<service>/<slo>[/...]``.

Bodies are built directly in normal form (tidy text, sorted normalised tags, canonical numbers)
so the diff compares them with normalised live objects as they are. Render assumes a project
that :func:`.checks.validate` accepted and rejects nothing itself.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from typing import Any

from slogen import templating
from slogen.backends import common
from slogen.backends.contract import target_label, uses
from slogen.backends.datadog.facts import (
    BACKEND,
    COMPOSITE_TYPE,
    METRIC_TYPE,
    SLO_ALERT_TYPE,
    base_tags,
    key_tag,
    metric_window,
    number,
    project_tag,
    references,
    sorted_tags,
    symbol,
    tag,
    window_text,
)
from slogen.backends.datadog.forms import (
    BURN_RATE,
    BURN_RATE_GUARD,
    METRIC_COMPOSITE,
    TierForm,
    describe_form,
    slo_timeframe,
    tier_plan,
)
from slogen.backends.datadog.normalise import normalise_slo_body
from slogen.backends.datadog.source import DatadogSource
from slogen.numbers import fmt_percent
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service

# Severity -> monitor priority (1 = highest, 5 = lowest). ``page`` wakes someone up: P1;
# ``ticket`` is worked on in office hours: P3. Other severity names map by their usual meaning;
# anything unknown gets the middle value P3. Only notifying monitors carry a priority.
PRIORITIES = {
    "page": 1,
    "critical": 1,
    "urgent": 1,
    "high": 2,
    "ticket": 3,
    "medium": 3,
    "warning": 4,
    "low": 4,
    "info": 5,
    "notice": 5,
}
DEFAULT_PRIORITY = 3

# (role, what it checks, monitor type, query, options) of one silent child of a composite
Part = tuple[str, str, str, str, dict[str, Any]]


def _operand(query: str) -> str:
    """Parenthesise a metric query that is itself arithmetic, so ``a / b`` keeps its meaning."""
    bare = re.sub(r"\{[^{}]*\}", "", query)
    while True:
        stripped = re.sub(r"\([^()]*\)", "", bare)
        if stripped == bare:
            break
        bare = stripped
    return f"({query})" if re.search(r"[\s+\-*/]", bare) else query


text_from = templating.render  # one loaded template per name and directory, tidied


def _with_key(tags: list[str], key: str) -> list[str]:
    """Normalised shared tags (sorted and unique, as :func:`.facts.sorted_tags` leaves them)
    plus this object's ``slogen-key`` tag, in its place: the tags of every monitor of a tier
    but one, sorted once per tier."""
    own = key_tag(key)
    at = bisect_left(tags, own)
    if at < len(tags) and tags[at] == own:
        return list(tags)
    return [*tags[:at], own, *tags[at:]]


def _error_ratio(source: DatadogSource) -> str:
    """``<errors> / <total>`` (or ``(<total> - <good>) / <total>``) from the spec's queries."""
    total = _operand(source.total)
    if source.errors is not None:
        return f"{_operand(source.errors)} / {total}"
    return f"({source.total} - {_operand(str(source.good))}) / {total}"


def _good_events(source: DatadogSource) -> str:
    if source.good is not None:
        return source.good
    return f"{source.total} - {_operand(str(source.errors))}"


def slo_context(service: Service, slo: SLO) -> dict[str, Any]:
    """Names and numbers of the SLO the templates may use, rounded for people."""
    return {
        **common.slo_fields(service, slo),
        "slo_description": slo.description.strip().rstrip("."),
        "error_budget": fmt_percent(1 - slo.target),
        "tier_count": len(slo.policy.tiers),
    }


def message_text(base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with the spec's free text (description, runbook) kept literal in a monitor
    message, where Datadog reads ``{{ }}`` as its template variables
    (:func:`slogen.templating.datadog_literal`). The SLO object's description is not a template
    and keeps the plain text."""
    free = ("slo_description", "runbook")
    return {k: templating.datadog_literal(v) if k in free else v for k, v in base.items()}


def context(slo: SLO, message_base: dict[str, Any], tf: TierForm, key: str) -> dict[str, Any]:
    """Everything the notifying monitor's templates may use for one tier (``message_base``:
    :func:`message_text` of the SLO's :func:`slo_context`)."""
    return {
        **message_base,
        **tf.numbers,
        "handles": list(slo.alerting.for_severity(tf.math.severity).route(BACKEND)),
        "key": key,
    }


def _monitor(
    name: str,
    mtype: str,
    query: str,
    message: str,
    tags: list[str],
    options: dict[str, Any],
    priority: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "type": mtype,
        "query": query,
        "message": message,
        "tags": tags,
    }
    if priority is not None:
        body["priority"] = priority
    body["options"] = options
    return body


# What a metric child does when its window holds no points decides whether a page ever clears.
# A ``.as_count()`` error counter usually sends no points at all while nothing fails, so once
# errors stop, ``sum(last_5m): errors.as_count() / total.as_count()`` has no value (the time
# aggregation is applied to each side before dividing: docs.datadoghq.com/monitors/guide/
# as-count-in-monitor-evaluations). With the legacy ``notify_no_data: false`` a simple-alert
# metric monitor then "skips evaluations" (docs.datadoghq.com/monitors/configuration/, "No
# data") and keeps its last state: "if you have a counter that reports only when an error is
# logged, the alert never resolves because the metric never reports 0" (same page, "Auto
# resolve"; its ``timeout_h`` is 1 hour at the least, far longer than a 5m short window). At
# e = 100 % the last evaluation that still sees an error point is above the threshold, so the
# short child stays ALERT, the long one too once its window is past, and the composite pages
# forever. ``default_zero()`` does not help: it "has no effect" when the window has no points
# and Datadog says not to use it on ``.as_count()`` error-rate monitors
# (docs.datadoghq.com/dashboards/functions/interpolation/#default-zero). What works is
# ``on_missing_data: resolve`` ("If data is missing Show OK"), which metric monitors accept in
# place of ``notify_no_data`` (docs.datadoghq.com/monitors/guide/on_missing_data; terraform's
# provider declares the two conflicting, so ``notify_no_data`` is not sent): an empty window
# means nothing failed (or nothing was served), the child turns OK as soon as the last error
# leaves its window, and the composite clears within the short window. The same holds for the
# long child and for the event-count guard (no events: fewer than ``min_events``).
METRIC_MISSING_DATA = "resolve"


# Option blocks are shared by every monitor with the same values (made once per value): bodies
# are written out and compared, never changed in place, and 1,000 SLOs have some 3,500 monitors.
_COMPOSITE_OPTIONS: dict[str, Any] = {"notify_no_data": False}


@lru_cache(maxsize=1024, typed=True)
def _metric_options(threshold: int | float) -> dict[str, Any]:
    """Options of a silent metric child (see ``METRIC_MISSING_DATA`` for the missing data).

    ``require_full_window`` false: Datadog recommends it for sparse (count) metrics, and a
    just-created 3-day monitor must not stay silent for three days.
    """
    return {
        "thresholds": {"critical": threshold},
        "on_missing_data": METRIC_MISSING_DATA,
        "require_full_window": False,
    }


@lru_cache(maxsize=1024)
def _burn_options(burn_rate: str) -> dict[str, Any]:
    """Options of a burn-rate monitor over ``burn_rate`` (as written in its query)."""
    return {"thresholds": {"critical": number(float(burn_rate))}, "notify_no_data": False}


def _resource(tname: str, kind: str, key: str, body: dict[str, Any]) -> Resource:
    return Resource(BACKEND, tname, kind, key, body, references(body))


def _parts(
    slo: SLO, tf: TierForm, ctx: dict[str, Any], burn: Part | None, ratio: str
) -> list[Part]:
    """The silent children of a tier's composite: burn-rate (``burn``) or two metric monitors,
    plus the event-count guard when the SLO has ``min_events``."""
    math = tf.math
    source = slo.indicator.source(BACKEND)
    assert isinstance(source, DatadogSource)
    parts: list[Part] = []
    if tf.form == BURN_RATE_GUARD:
        assert burn is not None
        parts.append(burn)
    else:
        options = _metric_options(number(float(tf.threshold)))
        for role, seconds in (("long", math.long), ("short", math.short)):
            parts.append(
                (
                    role,
                    f"error ratio above {ctx['threshold_percent']} over the last "
                    f"{window_text(seconds)}",
                    METRIC_TYPE,
                    f"sum({metric_window(seconds)}):{ratio} > {tf.threshold}",
                    options,
                )
            )
    if slo.alerting.min_events:
        parts.append(
            (
                "events",
                f"at least {slo.alerting.min_events} events over the last {ctx['long']}",
                METRIC_TYPE,
                f"sum({metric_window(math.long)}):{source.total} >= {slo.alerting.min_events}",
                _metric_options(slo.alerting.min_events),
            )
        )
    return parts


def render_slo(
    service: Service, slo: SLO, templates: str | None, tname: str, project: str | None = None
) -> list[Resource]:
    """Every resource of one SLO: the SLO object (when it can exist) and each tier's monitors.

    Every object is tagged with ``project`` (see :func:`.facts.project_tag`) when there is one.
    """
    source = slo.indicator.source(BACKEND)
    assert isinstance(source, DatadogSource)
    base_key = f"{service.name}/{slo.name}"
    timeframe = slo_timeframe(slo)
    resources: list[Resource] = []
    base = slo_context(service, slo)
    scope = [project_tag(project)] if project else []
    shared_tags = [tag(t) for t in base_tags(service, slo, "") if not t.startswith("slogen-key")]
    shared_tags.extend(scope)
    if timeframe is not None:
        ctx = {**base, "key": base_key}
        body = {
            "name": text_from("datadog/slo_name.txt.j2", templates, **ctx),
            "description": text_from("datadog/slo_description.md.j2", templates, **ctx),
            "type": "metric",
            "query": {"numerator": _good_events(source), "denominator": source.total},
            "thresholds": [{"timeframe": timeframe, "target": number(slo.objective)}],
            "tags": sorted_tags([*base_tags(service, slo, base_key), *scope]),
        }
        resources.append(_resource(tname, "slo", base_key, normalise_slo_body(body)))
    ratio = _error_ratio(source)
    message_base = message_text(base)  # the same for every tier
    for tf in tier_plan(slo):
        resources.extend(
            _tier_resources(service, slo, tf, templates, tname, message_base, shared_tags, ratio)
        )
    return resources


def _tier_resources(
    service: Service,
    slo: SLO,
    tf: TierForm,
    templates: str | None,
    tname: str,
    message_base: dict[str, Any],
    shared_tags: list[str],
    ratio: str,
) -> list[Resource]:
    """The monitors of one tier: a burn-rate monitor, or a composite after its children."""
    math = tf.math
    base_key = f"{service.name}/{slo.name}"
    key = f"{base_key}/{math.id}"
    tier_tags = sorted({*shared_tags, tag(f"tier:{math.id}"), tag(f"severity:{math.severity}")})
    ctx = context(slo, message_base, tf, key)
    ctx["form_text"] = describe_form(slo, tf)
    name = text_from("datadog/monitor_name.txt.j2", templates, **ctx)
    message = text_from("datadog/monitor_message.md.j2", templates, **ctx)
    priority = PRIORITIES.get(math.severity, DEFAULT_PRIORITY)
    tier_key_tags = _with_key(tier_tags, key)
    burn: Part | None = None
    if tf.form != METRIC_COMPOSITE:  # the forms with an SLO object to watch the burn rate of
        burn_query = (
            f'burn_rate("{symbol("slo", base_key)}").over("{slo_timeframe(slo)}")'
            f'.long_window("{math.long // 3600}h").short_window("{math.short // 60}m")'
            f" > {tf.burn_rate}"
        )
        burn_options = _burn_options(tf.burn_rate)
        if tf.form == BURN_RATE:
            body = _monitor(
                name, SLO_ALERT_TYPE, burn_query, message, tier_key_tags, burn_options, priority
            )
            return [_resource(tname, "monitor", key, body)]
        burn = (
            "burn",
            f"burn rate above {ctx['burn_rate']} over {ctx['long']} and {ctx['short']}",
            SLO_ALERT_TYPE,
            burn_query,
            burn_options,
        )
    resources: list[Resource] = []
    for role, role_text, mtype, query, options in _parts(slo, tf, ctx, burn, ratio):
        child_key = f"{key}/{role}"
        cctx = {
            "service": service.name,
            "slo": slo.name,
            "tier_id": math.id,
            "key": child_key,
            "role_text": role_text,
            "parent_name": name,
        }
        body = _monitor(
            text_from("datadog/child_name.txt.j2", templates, **cctx),
            mtype,
            query,
            text_from("datadog/child_message.md.j2", templates, **cctx),
            _with_key(tier_tags, child_key),
            options,
        )
        resources.append(_resource(tname, "monitor", child_key, body))
    query = " && ".join(symbol("monitor", r.key) for r in resources)
    body = _monitor(
        name, COMPOSITE_TYPE, query, message, tier_key_tags, _COMPOSITE_OPTIONS, priority
    )
    resources.append(_resource(tname, "monitor", key, body))
    return resources


def render(project: Project, templates: str | None = None) -> list[Resource]:
    """Desired resources for every SLO with a ``datadog`` indicator, in spec order."""
    tname = target_label(project.target(BACKEND))
    resources: list[Resource] = []
    for service, slo in project.slos():
        if uses(BACKEND, slo):
            resources.extend(render_slo(service, slo, templates, tname, project.project))
    return resources
