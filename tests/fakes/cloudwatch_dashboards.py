"""CloudWatch dashboards in the moto server of tests/fakes/cloudwatch.py, made to follow AWS.

moto 5.2.5 implements ``PutDashboard``, ``GetDashboard``, ``ListDashboards`` and
``DeleteDashboards`` (moto/cloudwatch/responses.py, models.py), but:

* it keeps dashboards per region, where "all dashboards in your account are global, not
  region-specific" (AWS: PutDashboard) and their ARN has no region (AWS: TagResource, "The ARN
  format of a dashboard is arn:aws:cloudwatch::account-id:dashboard/dashboard-name");
* it accepts any name, where AWS allows 1-255 characters of ``A-Z a-z 0-9 - _``
  (PutDashboard ``DashboardName``);
* it only checks that the body is JSON, where AWS wants an object with a ``widgets`` array of
  0 to 500 widgets ("Dashboard Body Structure and Syntax": "The dashboard must include a
  widgets array, but that array can be empty"), each with a ``type`` and ``properties``;
* its ``DeleteDashboards`` deletes nothing when one name is unknown, where AWS "attempts to
  delete as many dashboards as possible"; and it takes any number of names, AWS up to 100.

These patches fix the above: dashboards live in one store per account (moto's us-east-1
backend), names and bodies are checked and refused with ``InvalidParameterInput``
(``DashboardInvalidInputError``, HTTP 400) and its ``dashboardValidationMessages``, a delete
deletes what exists and then answers ``ResourceNotFound`` for the rest (the code of
``DashboardNotFoundError``; ASSUMED for DeleteDashboards, whose current model lists no
not-found error; moto answers it too).

Still not done: ``ListDashboards`` answers every match on one page (AWS: up to 1,000 per page
with ``NextToken``); widget properties are not validated (AWS checks e.g. that an alarm widget
names 1-100 alarm ARNs and answers validation messages for bad metrics); dashboard tags
(``Tags`` of PutDashboard, TagResource on a dashboard ARN) are ignored.
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import Any

from moto.cloudwatch.models import Dashboard, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, EmptyResult

STORE_REGION = "us-east-1"  # where this fake keeps the account's (global) dashboards
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
MAX_WIDGETS = 500
MAX_DELETE = 100


class InvalidDashboard(ServiceException):
    """``DashboardInvalidInputError``: code InvalidParameterInput, HTTP 400 (the model)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__("InvalidParameterInput", message)
        self.dashboardValidationMessages = [{"DataPath": path, "Message": message}]


class DashboardNotFound(ServiceException):
    """``DashboardNotFoundError``: code ResourceNotFound, HTTP 404 (the model)."""

    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFound", message)


def _store(response: CloudWatchResponse) -> dict[str, Dashboard]:
    return cloudwatch_backends[response.current_account][STORE_REGION].dashboards


def _arn(account: str, name: str) -> str:
    return f"arn:aws:cloudwatch::{account}:dashboard/{name}"


def _check(name: Any, body: Any) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidDashboard(
            "The dashboard name must be 1-255 characters of A-Z, a-z, 0-9, - and _",
            "DashboardName",
        )
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        raise InvalidDashboard("The dashboard body is invalid JSON", "DashboardBody") from None
    widgets = data.get("widgets") if isinstance(data, dict) else None
    if not isinstance(widgets, list):
        raise InvalidDashboard("The dashboard must include a widgets array", "/widgets")
    if len(widgets) > MAX_WIDGETS:
        raise InvalidDashboard(f"A dashboard can have at most {MAX_WIDGETS} widgets", "/widgets")
    for index, widget in enumerate(widgets):
        if not isinstance(widget, dict) or not isinstance(widget.get("type"), str):
            raise InvalidDashboard("Each widget needs a type", f"/widgets/{index}")
        if not isinstance(widget.get("properties"), dict):
            raise InvalidDashboard("Each widget needs properties", f"/widgets/{index}")


def put_dashboard(self: CloudWatchResponse) -> ActionResult:
    name = self._get_param("DashboardName")
    body = self._get_param("DashboardBody")
    _check(name, body)
    dashboard = Dashboard(self.current_account, STORE_REGION, name, body)
    dashboard.arn = _arn(self.current_account, name)
    _store(self)[name] = dashboard
    return ActionResult({"DashboardValidationMessages": []})


def get_dashboard(self: CloudWatchResponse) -> ActionResult:
    name = self._get_param("DashboardName")
    dashboard = _store(self).get(name)
    if dashboard is None:
        raise DashboardNotFound("Dashboard does not exist")
    return ActionResult(
        {"DashboardArn": dashboard.arn, "DashboardBody": dashboard.body, "DashboardName": name}
    )


def list_dashboards(self: CloudWatchResponse) -> ActionResult:
    prefix = self._get_param("DashboardNamePrefix") or ""
    entries = [
        {
            "DashboardName": d.name,
            "DashboardArn": d.arn,
            "LastModified": d.last_modified.replace(tzinfo=UTC)
            if d.last_modified.tzinfo is None
            else d.last_modified,
            "Size": len(d.body),
        }
        for name, d in sorted(_store(self).items())
        if name.startswith(prefix)
    ]
    return ActionResult({"DashboardEntries": entries})


def delete_dashboards(self: CloudWatchResponse) -> ActionResult:
    names = list(dict.fromkeys(self._get_param("DashboardNames") or []))
    if not names or len(names) > MAX_DELETE:
        raise InvalidDashboard(f"Give 1 to {MAX_DELETE} dashboard names", "DashboardNames")
    store = _store(self)
    missing = [n for n in names if n not in store]
    for name in names:
        store.pop(name, None)
    if missing:
        raise DashboardNotFound(
            f"The specified dashboard does not exist. [{', '.join(sorted(missing))}]"
        )
    return EmptyResult()


def install(originals: dict[str, Any]) -> None:
    """Patch moto's dashboard operations (called once, under the patch lock)."""
    for name in ("put_dashboard", "get_dashboard", "list_dashboards", "delete_dashboards"):
        originals[name] = getattr(CloudWatchResponse, name)
    CloudWatchResponse.put_dashboard = put_dashboard
    CloudWatchResponse.get_dashboard = get_dashboard
    CloudWatchResponse.list_dashboards = list_dashboards
    CloudWatchResponse.delete_dashboards = delete_dashboards
