"""One CloudWatch dashboard per service: the alarms' own metric math, and the alarms' state.

Per service with a ``cloudwatch`` indicator (key ``<service>``, kind ``dashboard``), the body
(``DashboardBody``, "Dashboard Body Structure and Syntax" of the CloudWatch API reference)
holds, from the top:

* a ``text`` widget: the service, its owner, that the dashboard is generated, and slogen's
  ownership marker line (see below);
* an ``alarm`` status widget of the service's composite alarms, the ones that notify (the
  widget takes alarm ARNs, 1 to 100 of them: several widgets when there are more);
* per SLO ``category`` (known categories in order, then SLOs without one) a ``text`` heading,
  then per SLO and tier a ``metric`` widget with the error ratio over the tier's long and short
  windows, made of exactly the ``Metrics`` the tier's two alarms evaluate (:func:`.render.
  metric_queries`: the same ids, prefixed ``l``/``s`` per window, the same ``Period`` per
  metric, ``FILL`` and the ``min_events`` guard included), with a horizontal annotation at the
  tier's threshold. ``periodOverride: inherit`` keeps every metric's period as given, so a
  point is the ratio over one whole window, as the alarm sees it.

Where it lives. "All dashboards in your account are global, not region-specific" (CloudWatch
API reference, PutDashboard); the ARN has no region (``arn:aws:cloudwatch::<account>:
dashboard/<name>``, TagResource). Each widget names the region of its metrics or alarms, so a
dashboard shows every region. slogen calls the dashboard API in the target's home region (the
lock's, :func:`.lock.lock_region`) and the body carries no region of its own.

Names and ownership. ``slogen_<project>_<service>`` (``slogen_<service>`` without a project):
names take 1-255 characters of ``A-Z a-z 0-9 - _`` (PutDashboard), project and service names
only ``a-z 0-9 -``, so the ``_`` separators keep any two (project, service) pairs apart.
Owned means the name AND the marker line ``managed-by: slogen; slogen-key: <service>;
slogen-project: <project>`` in the text widget (AWS recommends such a text widget on generated
dashboards: PutDashboard); a dashboard of that name without the marker is someone else's and
is never overwritten or deleted.

Alarm ARNs hold the account id, which the specs do not know: desired bodies say
``arn:${AWS::Partition}:cloudwatch:<region>:${AWS::AccountId}:alarm:<name>`` (CloudFormation's
pseudo parameters, so a reviewer reads them at once), apply fills them in from STS
``GetCallerIdentity``, and reading a live dashboard puts them back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from slogen.backends import common
from slogen.backends.cloudwatch.names import BACKEND, alarm_name, source_of, window_text
from slogen.backends.cloudwatch.render import config_threshold, metric_queries
from slogen.backends.scope import PROJECT_TAG, belongs
from slogen.engine import analyse_slo
from slogen.numbers import fmt
from slogen.resources import MANAGED_BY, Resource
from slogen.spec.model import SLO, Project, Service

KIND = "dashboard"
NAME_PREFIX = "slogen_"
MAX_NAME_LENGTH = 255  # PutDashboard: "The maximum length is 255"
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")  # PutDashboard: A-Z, a-z, 0-9, "-" and "_"
MAX_WIDGETS = 500  # "an array of between 0 and 500 widget objects" (body structure)
MAX_ALARMS_PER_WIDGET = 100  # alarm widget: "The array can have 1-100 ARNs"
PARTITION = "${AWS::Partition}"
ACCOUNT = "${AWS::AccountId}"
WIDTH = 24  # the dashboard grid's columns
MARKER_RE = re.compile(
    r"^managed-by: (\S+); slogen-key: (\S+?)(?:; slogen-project: (\S+))?\s*$", re.MULTILINE
)
_LIVE_ARN_RE = re.compile(r"arn:[a-z-]+:cloudwatch:([a-z0-9-]+):\d{12}:alarm:")


def dashboard_name(service: str, project: str | None) -> str:
    return f"{NAME_PREFIX}{project}_{service}" if project else f"{NAME_PREFIX}{service}"


def list_prefix(project: str | None) -> str:
    """The ``DashboardNamePrefix`` that lists this project's dashboards (and only them)."""
    return f"{NAME_PREFIX}{project}_" if project else NAME_PREFIX


def marker_line(key: str, project: str | None) -> str:
    line = f"managed-by: {MANAGED_BY}; slogen-key: {key}"
    return f"{line}; {PROJECT_TAG}: {project}" if project else line


def marked(body: Any) -> tuple[str, str | None] | None:
    """(key, project) of the marker in a body's text widgets, None without exactly one."""
    texts = [
        str((w.get("properties") or {}).get("markdown", ""))
        for w in (body or {}).get("widgets") or []
        if isinstance(w, dict) and w.get("type") == "text"
    ]
    found = [m for t in texts for m in MARKER_RE.finditer(t) if m.group(1) == MANAGED_BY]
    if len(found) != 1:
        return None
    return found[0].group(2), found[0].group(3)


def ownership(name: str, body: Any, project: str | None = None) -> str | None:
    """The key of a dashboard slogen owns: its name is the key's and it carries the marker
    (with ``project``: not another project's); None otherwise."""
    found = marked(body)
    if found is None or not belongs(project, found[1]):
        return None
    key, marker_project = found
    return key if name == dashboard_name(key, marker_project) else None


def alarm_arn(region: str, name: str) -> str:
    return f"arn:{PARTITION}:cloudwatch:{region}:{ACCOUNT}:alarm:{name}"


def symbolic_arns(text: str) -> str:
    """Live alarm ARNs with the partition and account put back as placeholders."""
    return _LIVE_ARN_RE.sub(lambda m: alarm_arn(m.group(1), ""), text)


def resolve_arns(body: dict[str, Any], partition: str, account: str) -> dict[str, Any]:
    text = json.dumps(body).replace(PARTITION, partition).replace(ACCOUNT, account)
    return json.loads(text)


# -- widgets ---------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _ids_pattern(ids: tuple[str, ...]) -> re.Pattern[str]:
    """Any of an alarm's query ids as a whole word, longest first (``m1_1`` before ``m1``).

    Made once per set of ids: SLOs with the same shape of indicator share one (there are a
    handful), where building and looking the pattern up for each expression was a tenth of the
    dashboards."""
    alternatives = "|".join(sorted(map(re.escape, ids), key=len, reverse=True))
    return re.compile(rf"\b({alternatives})\b")


def _renamed(query: dict[str, Any], ids: dict[str, str], pattern: re.Pattern[str]) -> list[Any]:
    """One MetricDataQuery of an alarm as a metric widget's metric (array form), its ids
    renamed by ``ids`` (``pattern`` matches every id, see :func:`_ids_pattern`)."""
    new_id = ids[query["Id"]]
    if "Expression" in query:
        expression = pattern.sub(lambda m: ids[m.group(1)], query["Expression"])
        return [
            {
                "expression": expression,
                "id": new_id,
                "label": query.get("Label", new_id),
                "visible": bool(query["ReturnData"]),
            }
        ]
    stat = query["MetricStat"]
    metric = stat["Metric"]
    row: list[Any] = [metric["Namespace"], metric["MetricName"]]
    for dim in metric["Dimensions"]:
        row.extend([dim["Name"], dim["Value"]])
    row.append(
        {
            "id": new_id,
            "stat": stat["Stat"],
            "period": stat["Period"],
            "label": query.get("Label", new_id),
            "visible": False,
        }
    )
    return row


def window_metrics(slo: SLO, seconds: int, guard: int | None, prefix: str) -> list[Any]:
    """The alarm's ``Metrics`` for one window, with ids prefixed (``lm1``, ``le1``...)."""
    queries = metric_queries(slo, seconds, guard)
    ids = {q["Id"]: prefix + q["Id"] for q in queries}
    pattern = _ids_pattern(tuple(ids))
    return [_renamed(query, ids, pattern) for query in queries]


def _tier_widgets(slo: SLO, region: str) -> list[dict[str, Any]]:
    widgets = []
    for math in analyse_slo(slo):
        metrics = window_metrics(slo, math.long, slo.alerting.min_events, "l")
        metrics += window_metrics(slo, math.short, None, "s")
        widgets.append(
            {
                "type": "metric",
                "width": WIDTH // 2,
                "height": 6,
                "properties": {
                    "title": (
                        f"{slo.name}: error ratio of tier {math.id} ({math.severity}) over "
                        f"{window_text(math.long)} and {window_text(math.short)}"
                    ),
                    "view": "timeSeries",
                    "stacked": False,
                    "region": region,
                    "metrics": metrics,
                    "yAxis": {"left": {"min": 0, "showUnits": False}},
                    "annotations": {
                        "horizontal": [
                            {
                                "label": (
                                    f"{math.severity} above {fmt(math.burn_rate, 4)}x the "
                                    "error budget"
                                ),
                                "value": config_threshold(math),
                            }
                        ]
                    },
                },
            }
        )
    return widgets


def _header(service: Service, project: str | None) -> str:
    lines = [f"## {service.name} SLOs"]
    if service.description:
        lines.append(service.description.strip())
    if service.owner:
        lines.append(f"Owner: {service.owner}")
    lines.append(
        "Generated by slogen from the SLO specs; changes made here are overwritten on the "
        "next apply."
    )
    lines.append(marker_line(service.name, project))
    return "\n\n".join(lines)


def _laid_out(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Widgets with explicit positions, left to right and row by row, so the body reads back
    exactly as sent (the console fills in positions otherwise)."""
    x = y = row = 0
    out = []
    for widget in widgets:
        width = widget["width"]
        if x + width > WIDTH:
            x, y, row = 0, y + row, 0
        out.append({"type": widget["type"], "x": x, "y": y, **widget})
        x, row = x + width, max(row, widget["height"])
    return out


def dashboard_body(service: Service, slos: Sequence[SLO], project: str | None) -> dict[str, Any]:
    """``DashboardBody`` (as JSON data) of one service (its widgets as :func:`widget_count`
    counts them)."""
    text = {"type": "text", "width": WIDTH, "height": 5}
    widgets: list[dict[str, Any]] = [
        {**text, "properties": {"markdown": _header(service, project)}}
    ]
    composites = []
    for slo in slos:
        source = source_of(slo)
        assert source is not None
        for math in analyse_slo(slo):
            key = f"{service.name}/{slo.name}/{math.id}"
            composites.append(alarm_arn(source.region, alarm_name(key)))
    for start in range(0, len(composites), MAX_ALARMS_PER_WIDGET):
        widgets.append(
            {
                "type": "alarm",
                "width": WIDTH,
                "height": 3,
                "properties": {
                    "title": f"Alarms of {service.name}",
                    "alarms": composites[start : start + MAX_ALARMS_PER_WIDGET],
                    "sortBy": "stateUpdatedTimestamp",
                },
            }
        )
    for category, members in common.slos_by_category(slos):
        title = f"{category.capitalize()} SLOs" if category else "Other SLOs"
        widgets.append({**text, "height": 1, "properties": {"markdown": f"### {title}"}})
        for slo in members:
            source = source_of(slo)
            assert source is not None
            widgets.extend(_tier_widgets(slo, source.region))
    return {"periodOverride": "inherit", "widgets": _laid_out(widgets)}


def widget_count(slos: Sequence[SLO]) -> int:
    """How many widgets :func:`dashboard_body` makes for a service's SLOs, counted without
    making them (validate checks AWS's limit; the body is made once, by render): the header,
    the alarm status widgets, one heading per category and one widget per tier."""
    tiers = sum(len(analyse_slo(slo)) for slo in slos)
    alarm_widgets = -(-tiers // MAX_ALARMS_PER_WIDGET)  # rounded up
    return 1 + alarm_widgets + len(common.slos_by_category(slos)) + tiers


def services_of(project: Project) -> list[tuple[Service, list[SLO]]]:
    out = []
    for service in project.services:
        slos = [slo for slo in service.slos if source_of(slo) is not None]
        if slos:
            out.append((service, slos))
    return out


def render(project: Project, tname: str) -> list[Resource]:
    """One dashboard per service with a ``cloudwatch`` indicator."""
    return [
        Resource(
            BACKEND,
            tname,
            KIND,
            service.name,
            {
                "DashboardName": dashboard_name(service.name, project.project),
                "DashboardBody": dashboard_body(service, slos, project.project),
            },
        )
        for service, slos in services_of(project)
    ]


def body_of(name: str, text: str) -> dict[str, Any]:
    """A live dashboard in the form render makes (ARNs with placeholders)."""
    return {"DashboardName": name, "DashboardBody": json.loads(symbolic_arns(text))}


def request_of(body: dict[str, Any], partition: str = PARTITION, account: str = ACCOUNT) -> dict:
    """The ``PutDashboard`` parameters for a body (the ARNs filled in when given)."""
    content = resolve_arns(body["DashboardBody"], partition, account)
    return {
        "DashboardName": body["DashboardName"],
        "DashboardBody": json.dumps(content, separators=(",", ":")),
    }


def problems(project: Project) -> list[tuple[Service, str, str]]:
    """(service, field, message) for every dashboard AWS would refuse (:mod:`.checks`)."""
    out = []
    for service, slos in services_of(project):
        name = dashboard_name(service.name, project.project)
        if len(name) > MAX_NAME_LENGTH or not NAME_RE.match(name):
            out.append(
                (
                    service,
                    "service",
                    f"the CloudWatch dashboard name {name[:60]!r}... is {len(name)} characters "
                    f"long; AWS allows at most {MAX_NAME_LENGTH}",
                )
            )
        count = widget_count(slos)
        if count > MAX_WIDGETS:
            out.append(
                (
                    service,
                    "slos",
                    f"the CloudWatch dashboard of {service.name} would have {count} widgets; "
                    f"AWS allows at most {MAX_WIDGETS}",
                )
            )
    return out
