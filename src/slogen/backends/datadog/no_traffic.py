"""Datadog: the opt-in no-traffic monitor (``alerting.no_traffic``) of an SLO.

The tiers' monitors treat an empty window as healthy (no traffic is no error), so a service
that stops receiving requests, or whose metrics vanish, alerts nowhere. This one metric monitor
``<service>/<slo>/no-traffic`` watches the spec's ``total`` query over the no-traffic duration::

    sum(last_15m):sum:checkout.requests{env:prod}.as_count() <= 0

It alerts when the window's total is zero, and reports (and notifies) NO DATA when the metric
sent no points in the window, which is how a sparse count looks when nothing happens.

Missing data, from Datadog's documentation: ``notify_no_data`` with ``no_data_timeframe`` (in
minutes; the API reference of ``MonitorOptions`` says Datadog "recommends at least 2x the
monitor timeframe for query alerts" and uses 2x when it is omitted, which would double the
delay for a vanished metric) is the legacy form; metric monitors now take ``on_missing_data``,
and "if you are managing your monitors with API or Terraform, replace notify_no_data and
no_data_timeframe with on_missing_data. The no_data_timeframe parameter is not required since
on_missing_data uses the same time frame as the time window"
(docs.datadoghq.com/monitors/guide/on_missing_data). ``show_and_notify_no_data`` ("If data is
missing Show NO DATA and notify") therefore notifies after exactly the no-traffic duration,
the window, like the zero-count alert does; the tiers' metric monitors use the same option
(``resolve``), and terraform's provider declares the two forms conflicting, so
``notify_no_data`` is not sent. ``require_full_window`` false: the window is read from stored
history, so a new monitor need not wait for it to fill.
"""

from __future__ import annotations

from typing import Any

from slogen.backends import common
from slogen.backends.contract import uses
from slogen.backends.datadog.facts import (
    BACKEND,
    METRIC_TYPE,
    base_tags,
    metric_window,
    project_tag,
    references,
    sorted_tags,
    window_text,
)
from slogen.backends.datadog.render import DEFAULT_PRIORITY, PRIORITIES, message_text, text_from
from slogen.backends.datadog.source import DatadogSource
from slogen.errors import Problem, Problems
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service

MISSING_DATA = "show_and_notify_no_data"


def query(slo: SLO) -> str:
    """The monitor's query: the total over the no-traffic window, at most zero."""
    source = slo.indicator.source(BACKEND)
    assert isinstance(source, DatadogSource) and slo.alerting.no_traffic is not None
    return f"sum({metric_window(slo.alerting.no_traffic.duration)}):{source.total} <= 0"


def monitor(
    service: Service, slo: SLO, templates: str | None, tname: str, project: str | None = None
) -> Resource:
    """The no-traffic monitor of one SLO (which has ``alerting.no_traffic``), tagged with
    ``project`` when there is one."""
    no_traffic = slo.alerting.no_traffic
    assert no_traffic is not None
    key = f"{service.name}/{slo.name}/{no_traffic.id}"
    context = {
        **message_text(
            {
                **common.no_traffic_fields(service, slo),
                "slo_description": slo.description.strip().rstrip("."),
            }
        ),
        "handles": list(slo.alerting.for_severity(no_traffic.severity).route(BACKEND)),
        "key": key,
    }
    tags = [
        *base_tags(service, slo, key),
        f"tier:{no_traffic.id}",
        f"severity:{no_traffic.severity}",
    ]
    if project:
        tags.append(project_tag(project))
    body: dict[str, Any] = {
        "name": text_from("datadog/no_traffic_name.txt.j2", templates, **context),
        "type": METRIC_TYPE,
        "query": query(slo),
        "message": text_from("datadog/no_traffic_message.md.j2", templates, **context),
        "tags": sorted_tags(tags),
        "priority": PRIORITIES.get(no_traffic.severity, DEFAULT_PRIORITY),
        "options": {
            "thresholds": {"critical": 0},
            "on_missing_data": MISSING_DATA,
            "require_full_window": False,
        },
    }
    return Resource(BACKEND, tname, "monitor", key, body, references(body))


def validate(project: Project) -> list[Problem]:
    """The no-traffic window must be one a metric monitor can take (``last_#m`` up to a week)."""
    problems = Problems()
    for service in project.services:
        for index, slo in enumerate(service.slos):
            no_traffic = slo.alerting.no_traffic
            if no_traffic is None or not uses(BACKEND, slo):
                continue
            if metric_window(no_traffic.duration) is None:
                problems.error(
                    no_traffic.location,
                    f"slos[{index}].alerting.no_traffic",
                    f"a Datadog metric monitor cannot look back "
                    f"{window_text(no_traffic.duration)}: its windows are whole minutes up to "
                    "one week",
                    "use a no-traffic duration of at most 1w (e.g. 15m or 1h)",
                )
    return problems.items


def tier_forms(slo: SLO) -> dict[str, str]:
    """How the no-traffic monitor is expressed (empty without one), for ``slogen explain``."""
    no_traffic = slo.alerting.no_traffic
    if no_traffic is None:
        return {}
    window = metric_window(no_traffic.duration) or window_text(no_traffic.duration)
    return {
        no_traffic.id: f"metric monitor sum({window}):total <= 0, notifying on no data "
        f"({MISSING_DATA})"
    }
