"""One Datadog dashboard per service: its SLOs, their burn rates and its monitors at a glance.

The alerts slogen writes say *that* something burns; the dashboard shows *how much* and for
how long. Per service (key ``<service>``, kind ``dashboard``), in an ``ordered`` layout:

* a ``note`` widget: the service, its owner, and that the dashboard is generated;
* a ``manage_status`` (monitor summary) widget of the service's monitors, found by the tags
  slogen puts on every monitor (``managed-by:slogen``, ``service:<name>``, and the project),
  as a monitor search (docs: monitors/manage/search; ASSUMED: ``tag:<key>:<value>`` terms,
  space-separated, must all match, as the Monitors page's tag facet writes them);
* per SLO ``category`` a ``group`` widget (categories in the order the spec loader knows them,
  SLOs without a category last, under "Other SLOs"), holding per SLO:

  - an ``slo`` widget naming the SLO object (``slo_id``), where the SLO object can exist
    (windows of 7, 30 or 90 days, :func:`.forms.slo_timeframe`), showing attainment and the
    error budget left over the SLO's window;
  - per policy tier a ``timeseries`` of the burn rate over the tier's long and short windows
    with a marker at the tier's burn-rate threshold. The burn rate is the error ratio over a
    window divided by the error budget; ``moving_rollup(<query>, <seconds>, 'sum')`` sums a
    query's points over the last window at every point of the graph (docs:
    dashboards/functions/rollup, "Moving rollup"), so the line is what the tier's monitors
    compare with the threshold.

Widget shapes are those of datadog-api-client's v1 models (``SLOWidgetDefinition``:
``slo_id``, ``view_type``, ``time_windows`` 7d/30d/90d, ``show_error_budget``,
``view_mode``; ``MonitorSummaryWidgetDefinition``: type ``manage_status``, ``query``,
``summary_type``, ``display_format``...; ``TimeseriesWidgetDefinition`` with ``requests``
``q`` / ``metadata`` and ``markers`` (``WidgetMarker``: ``value`` such as ``y = 15``,
``display_type`` a severity and a line type); ``GroupWidgetDefinition``: ``layout_type``
ordered, ``widgets``; ``NoteWidgetDefinition``: ``content``).

Ownership. A dashboard's ``tags`` take only team names (``team:<name>``, at most five: the
v1 OpenAPI schema, "List of team names representing ownership of a dashboard"), so slogen
cannot tag it ``managed-by:slogen``. It marks ownership in the dashboard's ``description``
instead, with a last line ``managed-by: slogen; slogen-key: <service>; slogen-project: <p>``,
which the dashboard list returns with every dashboard (``DashboardSummaryDefinition``). A
dashboard without that line, or with another project's, is never updated or deleted.

The SLO widgets name SLO objects slogen creates in the same apply: desired bodies say
``${slo:<key>}`` (as burn-rate monitors do), the dashboard depends on those SLOs (created
first, deleted after it), and reading live state turns ids back into the same symbols.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from slogen.backends import common
from slogen.backends.contract import target_label, uses
from slogen.backends.datadog.facts import BACKEND, SYMBOL_RE, references, symbol, tag
from slogen.backends.datadog.forms import TierForm, slo_timeframe, tier_plan
from slogen.backends.datadog.source import DatadogSource
from slogen.backends.scope import PROJECT_TAG, belongs
from slogen.durations import format_duration
from slogen.memo import ByIdentity
from slogen.numbers import fmt
from slogen.resources import MANAGED_BY, Resource
from slogen.spec.model import SLO, Project, Service

KIND = "dashboard"
LAYOUT = "ordered"
OTHER = "Other SLOs"  # the group of SLOs without a category
MARKER_RE = re.compile(
    r"^managed-by: (\S+); slogen-key: (\S+?)(?:; slogen-project: (\S+))?\s*$", re.MULTILINE
)

# What slogen sets per widget type; anything else Datadog adds or keeps is not compared.
MANAGED_KEYS: dict[str, tuple[str, ...]] = {
    "note": ("type", "content", "background_color", "font_size", "text_align", "show_tick"),
    "manage_status": (
        "type",
        "title",
        "query",
        "summary_type",
        "display_format",
        "color_preference",
        "hide_zero_counts",
        "show_last_triggered",
        "sort",
    ),
    "group": ("type", "title", "layout_type", "show_title", "widgets"),
    "slo": (
        "type",
        "title",
        "slo_id",
        "view_type",
        "time_windows",
        "show_error_budget",
        "view_mode",
    ),
    "timeseries": ("type", "title", "show_legend", "requests", "markers"),
}
REQUEST_KEYS = ("q", "display_type", "metadata")


def marker_line(key: str, project: str | None) -> str:
    """The description's last line that makes a dashboard slogen's (see the module docstring)."""
    line = f"managed-by: {MANAGED_BY}; slogen-key: {key}"
    return f"{line}; {PROJECT_TAG}: {project}" if project else line


def marked(description: Any) -> tuple[str, str | None] | None:
    """(key, project) of the marker in a description, or None when it has none of slogen's."""
    found = [m for m in MARKER_RE.finditer(str(description or "")) if m.group(1) == MANAGED_BY]
    if len(found) != 1:
        return None
    return found[0].group(2), found[0].group(3)


def ownership(description: Any, project: str | None = None) -> str | None:
    """The key of a dashboard slogen owns (with ``project``: this project's), else None."""
    found = marked(description)
    if found is None or not belongs(project, found[1]):
        return None
    return found[0]


# -- the burn-rate queries -------------------------------------------------------------------


def _rolled(query: str, seconds: int) -> str:
    return f"moving_rollup({query}, {seconds}, 'sum')"


def burn_rate_query(source: DatadogSource, seconds: int, budget: str) -> str:
    """The burn rate over the last ``seconds`` at every point: bad / total / error budget."""
    total = _rolled(source.total, seconds)
    if source.errors is not None:
        bad = _rolled(source.errors, seconds)
    else:
        bad = f"{total} - {_rolled(str(source.good), seconds)}"
    return f"({bad}) / {total} / {budget}"


# A tier's threshold marker is made once per tier form (which .forms shares between SLOs) and
# shared by their graphs: a body is written out and compared, never changed in place.
_markers: ByIdentity[list[dict[str, Any]]] = ByIdentity()


def _marker(tf: TierForm) -> list[dict[str, Any]]:
    found = _markers.get((tf,))
    if found is None:
        severity = tf.math.severity
        level = "error" if severity in ("page", "critical", "urgent") else "warning"
        label = f"{severity} above burn rate {tf.burn_rate}"
        value = f"y = {tf.burn_rate}"
        found = [{"value": value, "display_type": f"{level} dashed", "label": label}]
        _markers.put((tf,), found)
    return found


def _timeseries(service: Service, slo: SLO, budget: str) -> list[dict[str, Any]]:
    source = slo.indicator.source(BACKEND)
    assert isinstance(source, DatadogSource)
    widgets = []
    for tf in tier_plan(slo):
        math = tf.math
        requests = []
        for role, seconds in (("long", math.long), ("short", math.short)):
            query = burn_rate_query(source, seconds, budget)
            alias = f"burn rate over {format_duration(seconds)} ({role} window)"
            requests.append(
                {
                    "q": query,
                    "display_type": "line",
                    "metadata": [{"expression": query, "alias_name": alias}],
                }
            )
        widgets.append(
            {
                "definition": {
                    "type": "timeseries",
                    "title": f"{slo.name}: burn rate of tier {math.id} ({math.severity})",
                    "show_legend": True,
                    "requests": requests,
                    "markers": _marker(tf),
                }
            }
        )
    return widgets


def _slo_widgets(service: Service, slo: SLO) -> list[dict[str, Any]]:
    budget = fmt(1 - slo.target, 12)
    widgets: list[dict[str, Any]] = []
    timeframe = slo_timeframe(slo)
    if timeframe is not None:
        widgets.append(
            {
                "definition": {
                    "type": "slo",
                    "title": f"{slo.name}: {fmt(slo.objective, 6)}% over {timeframe}",
                    "slo_id": symbol("slo", f"{service.name}/{slo.name}"),
                    "view_type": "detail",
                    "time_windows": [timeframe],
                    "show_error_budget": True,
                    "view_mode": "overall",
                }
            }
        )
    return widgets + _timeseries(service, slo, budget)


def category_title(category: str | None) -> str:
    return f"{category.capitalize()} SLOs" if category else OTHER


def monitor_query(service: Service, project: str | None) -> str:
    """The monitor search that finds the service's monitors by slogen's tags."""
    tags = [f"managed-by:{MANAGED_BY}", tag(f"service:{service.name}")]
    if project:
        tags.append(tag(f"{PROJECT_TAG}:{project}"))
    return " ".join(f"tag:{t}" for t in tags)


def _header(service: Service) -> str:
    lines = [f"## {service.name}"]
    if service.description:
        lines.append(service.description.strip())
    if service.owner:
        lines.append(f"Owner: {service.owner}")
    lines.append(
        "Generated by slogen from the SLO specs; changes made here are overwritten on the "
        "next apply."
    )
    return "\n\n".join(lines)


def dashboard_body(service: Service, slos: Sequence[SLO], project: str | None) -> dict[str, Any]:
    """The body of one service's dashboard (normal form: what reading it back gives)."""
    widgets: list[dict[str, Any]] = [
        {
            "definition": {
                "type": "note",
                "content": _header(service),
                "background_color": "white",
                "font_size": "14",
                "text_align": "left",
                "show_tick": False,
            }
        },
        {
            "definition": {
                "type": "manage_status",
                "title": f"Monitors of {service.name}",
                "query": monitor_query(service, project),
                "summary_type": "monitors",
                "display_format": "countsAndList",
                "color_preference": "text",
                "hide_zero_counts": True,
                "show_last_triggered": True,
                "sort": "status,asc",
            }
        },
    ]
    for category, members in common.slos_by_category(slos):
        inner = [w for slo in members for w in _slo_widgets(service, slo)]
        widgets.append(
            {
                "definition": {
                    "type": "group",
                    "title": category_title(category),
                    "layout_type": LAYOUT,
                    "show_title": True,
                    "widgets": inner,
                }
            }
        )
    description = f"SLOs of {service.name}, generated by slogen.\n\n" + marker_line(
        service.name, project
    )
    return {
        "title": f"{service.name} SLOs (slogen)",
        "description": description,
        "layout_type": LAYOUT,
        "widgets": widgets,
    }


def render(project: Project, templates: str | None = None) -> list[Resource]:
    """One dashboard per service with a ``datadog`` indicator, after its SLOs and monitors."""
    tname = target_label(project.target(BACKEND))
    out = []
    for service in project.services:
        slos = [slo for slo in service.slos if uses(BACKEND, slo)]
        if not slos:
            continue
        body = dashboard_body(service, slos, project.project)
        out.append(Resource(BACKEND, tname, KIND, service.name, body, references(body)))
    return out


def with_dashboards(resources: list[Resource], dashboards: list[Resource]) -> list[Resource]:
    """``resources`` with each service's dashboard right after the service's last resource."""
    last: dict[str, int] = {}
    for i, res in enumerate(resources):
        last[res.key.split("/")[0]] = i
    by_service = {d.key: d for d in dashboards}
    out: list[Resource] = []
    for i, res in enumerate(resources):
        out.append(res)
        service = res.key.split("/")[0]
        if last.get(service) == i and service in by_service:
            out.append(by_service.pop(service))
    return out + list(by_service.values())


# -- live dashboards ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    lines = [line.rstrip() for line in str(value or "").replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def normalise_widget(raw: Any) -> dict[str, Any]:
    """A widget as compared: its definition's managed keys (no server ``id`` or ``layout``)."""
    definition = (raw or {}).get("definition") or {}
    wtype = str(definition.get("type", ""))
    keys = MANAGED_KEYS.get(wtype)
    out: dict[str, Any] = {}
    for name, value in definition.items():
        if keys is not None and name not in keys:
            continue
        if name == "widgets" and isinstance(value, list):
            value = [normalise_widget(w) for w in value]
        elif name == "requests" and isinstance(value, list) and wtype == "timeseries":
            value = [{k: r[k] for k in REQUEST_KEYS if k in r} for r in value]
        elif name == "content":
            value = _text(value)
        out[name] = value
    return {"definition": {k: out[k] for k in keys if k in out} if keys else out}


def normalise_dashboard(raw: dict[str, Any], slo_keys: dict[str, str]) -> dict[str, Any]:
    """A live dashboard in the form render makes: managed fields only, SLO ids as symbols
    (``slo_keys`` maps live SLO ids to keys; an unknown id stays as it is)."""
    widgets = [normalise_widget(w) for w in raw.get("widgets") or []]

    def symbolic(widget: dict[str, Any]) -> None:
        definition = widget["definition"]
        if definition.get("type") == "slo" and definition.get("slo_id") in slo_keys:
            definition["slo_id"] = symbol("slo", slo_keys[definition["slo_id"]])
        for inner in definition.get("widgets") or []:
            symbolic(inner)

    for widget in widgets:
        symbolic(widget)
    return {
        "title": _text(raw.get("title")),
        "description": _text(raw.get("description")),
        "layout_type": raw.get("layout_type"),
        "widgets": widgets,
    }


def resolve(body: dict[str, Any], ids: dict[str, str], missing: list[str]) -> dict[str, Any]:
    """The body with every ``${slo:<key>}`` replaced by the SLO's id (``ids``: key -> id);
    keys without an id are added to ``missing``."""

    def sub(m: re.Match[str]) -> str:
        found = ids.get(m.group(2)) if m.group(1) == "slo" else None
        if found is None:
            missing.append(f"{m.group(1)} {m.group(2)}")
            return m.group(0)
        return found

    widgets = json.loads(SYMBOL_RE.sub(sub, json.dumps(body["widgets"])))
    return {**body, "widgets": widgets}
