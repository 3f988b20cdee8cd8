"""Dashboards (v1) for the fake Datadog API of tests/fakes/datadog_api.py.

:class:`Dashboards` is mixed into ``FakeDatadog``: it keeps ``dashboards`` (id -> dashboard
as the server returns it) and answers ``/api/v1/dashboard[/{id}]``. The request and response
shapes follow datadog-api-client's v1 models and ``DashboardsApi`` (the generated client is
built from Datadog's OpenAPI document) and the API reference page "Dashboards"
(docs.datadoghq.com/api/latest/dashboards); marks as in datadog_api.py:

* FACT: ``POST /api/v1/dashboard`` creates, ``GET/PUT/DELETE /api/v1/dashboard/{id}`` read,
  replace and delete one, ``GET /api/v1/dashboard`` lists (``count``, ``start`` for paging;
  ``filter[shared]``, ``filter[deleted]``) and answers ``{"dashboards": [summary, ...]}``, a
  summary being ``DashboardSummaryDefinition``: author_handle, created_at, description, id,
  is_read_only, layout_type, modified_at, title, url (no widgets).
* FACT: ``title``, ``layout_type`` (``ordered`` or ``free``) and ``widgets`` are required
  (``Dashboard`` model); every widget has a ``definition`` with a ``type``; a widget of a
  ``free`` layout needs a ``layout``; ``tags`` are team names (``team:<name>``), at most 5.
* FACT: ids look like ``abc-def-ghi`` (the reference's examples, e.g. ``"id": "123-abc-456"``);
  DELETE answers ``{"deleted_dashboard_id": id}``; stored widgets get a numeric ``id``; created
  dashboards get ``created_at``/``modified_at`` (ISO 8601), ``author_handle``, ``url``.
* FACT: Datadog refuses to delete an SLO a dashboard shows: its SLO DELETE documents 409
  "Conflict" for an SLO "referenced in a dashboard"; this fake answers it with the
  ``SLODeleteResponse`` shape (see datadog_api.py) unless ``?force=true``.
* ASSUMED: PUT is a whole replacement with the same required fields as POST (the reference
  names the body "Update Dashboard request body", the full ``Dashboard``); an unknown id
  answers 404 ``{"errors": ["Dashboard not found"]}``; an ``slo`` widget naming an SLO id that
  does not exist is refused with 400 (the real API may accept it and show an empty widget; the
  fake is stricter so an unresolved ``${slo:...}`` cannot go unnoticed); a ``group`` widget
  may not contain another group; the list is ordered by creation; ``count`` at most 100 per
  page is honoured as given.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from datetime import UTC, datetime
from typing import Any

LAYOUT_TYPES = ("ordered", "free")
WIDGET_TYPES = frozenset(
    {
        "alert_graph",
        "alert_value",
        "change",
        "check_status",
        "distribution",
        "event_stream",
        "event_timeline",
        "free_text",
        "funnel",
        "geomap",
        "group",
        "heatmap",
        "hostmap",
        "iframe",
        "image",
        "list_stream",
        "log_stream",
        "manage_status",
        "note",
        "powerpack",
        "query_table",
        "query_value",
        "run_workflow",
        "scatterplot",
        "servicemap",
        "slo",
        "slo_list",
        "split_group",
        "sunburst",
        "timeseries",
        "toplist",
        "topology_map",
        "trace_service",
        "treemap",
    }
)
MAX_TEAM_TAGS = 5
DASHBOARD_PATH_RE = re.compile(r"^/api/v1/dashboard/([^/]+)$")
_SUMMARY_FIELDS = (
    "author_handle",
    "created_at",
    "description",
    "id",
    "is_read_only",
    "layout_type",
    "modified_at",
    "title",
    "url",
)


class DashboardError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def _bad(message: str) -> DashboardError:
    return DashboardError(400, {"errors": [message]})


def _not_found() -> DashboardError:
    return DashboardError(404, {"errors": ["Dashboard not found"]})


def _new_id() -> str:
    letters = string.ascii_lowercase + string.digits
    return "-".join("".join(secrets.choice(letters) for _ in range(3)) for _ in range(3))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class Dashboards:
    """The dashboard endpoints; the host class provides ``slos`` and ``lock``."""

    slos: dict[str, dict[str, Any]]

    def _init_dashboards(self) -> None:
        self.dashboards: dict[str, dict[str, Any]] = {}
        self._widget_id = 1_000_000_000

    # helpers for tests ------------------------------------------------------------------------

    def add_dashboard(self, dashboard: dict[str, Any]) -> str:
        """Store a dashboard as if someone made it in the UI; returns its id."""
        return str(self._store_dashboard(dashboard, None)["id"])

    def dashboards_referencing(self, slo_id: str) -> list[str]:
        """Ids of the dashboards with an ``slo`` widget showing ``slo_id``."""
        return [
            d["id"]
            for d in self.dashboards.values()
            if slo_id in {w.get("slo_id") for w in _definitions(d.get("widgets") or [])}
        ]

    # the endpoints ----------------------------------------------------------------------------

    def route_dashboard(
        self, method: str, path: str, params: dict[str, str], body: Any
    ) -> tuple[int, Any] | None:
        """The answer to a dashboard request, or None when ``path`` is not one."""
        try:
            if path == "/api/v1/dashboard":
                if method == "GET":
                    return 200, self._list_dashboards(params)
                if method == "POST":
                    return 200, copy.deepcopy(self._store_dashboard(body, None))
                raise DashboardError(405, {"errors": ["Method Not Allowed"]})
            match = DASHBOARD_PATH_RE.match(path)
            if not match or match.group(1) == "public":
                return None
            dashboard_id = match.group(1)
            if dashboard_id not in self.dashboards:
                raise _not_found()
            if method == "GET":
                return 200, copy.deepcopy(self.dashboards[dashboard_id])
            if method == "PUT":
                existing = self.dashboards[dashboard_id]
                return 200, copy.deepcopy(self._store_dashboard(body, existing))
            if method == "DELETE":
                del self.dashboards[dashboard_id]
                return 200, {"deleted_dashboard_id": dashboard_id}
            raise DashboardError(405, {"errors": ["Method Not Allowed"]})
        except DashboardError as err:
            return err.status, err.body

    def _list_dashboards(self, params: dict[str, str]) -> dict[str, Any]:
        found = list(self.dashboards.values())  # creation order
        start = int(params.get("start") or 0)
        count = params.get("count")
        page = found[start : start + int(count)] if count else found[start:]
        return {"dashboards": [{k: d.get(k) for k in _SUMMARY_FIELDS} for d in page]}

    def _check_widgets(self, widgets: Any, layout: str, inside_group: bool) -> None:
        if not isinstance(widgets, list):
            raise _bad("Invalid payload: 'widgets' must be a list")
        for widget in widgets:
            definition = widget.get("definition") if isinstance(widget, dict) else None
            if not isinstance(definition, dict) or definition.get("type") not in WIDGET_TYPES:
                raise _bad("Invalid payload: every widget needs a definition with a known type")
            if layout == "free" and not isinstance(widget.get("layout"), dict):
                raise _bad("Invalid payload: widgets of a free layout need a layout")
            wtype = definition["type"]
            if wtype == "group":
                if inside_group:
                    raise _bad("Invalid payload: a group widget cannot contain a group")
                if definition.get("layout_type") != "ordered":
                    raise _bad("Invalid payload: a group widget's layout_type must be ordered")
                self._check_widgets(definition.get("widgets"), "ordered", True)
            elif wtype == "slo":
                slo_id = definition.get("slo_id")
                if not isinstance(slo_id, str) or slo_id not in self.slos:
                    raise _bad(f"Invalid payload: slo widget names an unknown SLO: {slo_id!r}")
            elif wtype == "manage_status" and not isinstance(definition.get("query"), str):
                raise _bad("Invalid payload: a manage_status widget needs a query")
            elif wtype == "timeseries" and not isinstance(definition.get("requests"), list):
                raise _bad("Invalid payload: a timeseries widget needs requests")

    def _number_widgets(self, widgets: list[dict[str, Any]]) -> None:
        for widget in widgets:
            if "id" not in widget:
                self._widget_id += 1
                widget["id"] = self._widget_id
            inner = widget["definition"].get("widgets")
            if isinstance(inner, list):
                self._number_widgets(inner)

    def _store_dashboard(self, body: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad("Invalid payload: a JSON object is required")
        for name in ("title", "layout_type", "widgets"):
            if name not in body:
                raise _bad(f"Invalid payload: Required parameter '{name}' is missing")
        if not isinstance(body["title"], str) or not body["title"].strip():
            raise _bad("Invalid payload: 'title' must be a non-empty string")
        if body["layout_type"] not in LAYOUT_TYPES:
            raise _bad(f"Invalid payload: layout_type {body['layout_type']!r} is not allowed")
        tags = body.get("tags")
        if tags is not None and (
            not isinstance(tags, list)
            or len(tags) > MAX_TEAM_TAGS
            or not all(isinstance(t, str) and t.startswith("team:") for t in tags)
        ):
            raise _bad("Invalid payload: tags must be at most 5 team names (team:<name>)")
        self._check_widgets(body["widgets"], body["layout_type"], False)
        dashboard = {k: copy.deepcopy(v) for k, v in body.items() if k not in _SUMMARY_FIELDS}
        dashboard.update(
            title=body["title"],
            layout_type=body["layout_type"],
            description=body.get("description"),
        )
        self._number_widgets(dashboard["widgets"])
        now, title = _now(), str(body["title"])
        if existing is None:
            dashboard_id = _new_id()
            while dashboard_id in self.dashboards:
                dashboard_id = _new_id()
            dashboard.update(
                id=dashboard_id,
                created_at=now,
                author_handle="fake-user@example.com",
                url=f"/dashboard/{dashboard_id}/{re.sub(r'[^a-z0-9]+', '-', title.lower())}",
                is_read_only=False,
            )
        else:
            for name in ("id", "created_at", "author_handle", "url", "is_read_only"):
                dashboard[name] = existing[name]
        dashboard["modified_at"] = now
        self.dashboards[dashboard["id"]] = dashboard
        return dashboard


def _definitions(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for widget in widgets:
        definition = widget.get("definition") or {}
        out.append(definition)
        out.extend(_definitions(definition.get("widgets") or []))
    return out
