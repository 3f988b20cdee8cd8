"""The CloudWatch ``files`` target: one JSON file per service holding the exact API requests.

This is the embedded default (``out/cloudwatch``): with no AWS credentials, ``slogen plan``
still shows what CloudWatch would get, and a team can review the files or feed them to other
tooling (each entry is the region, the operation and its parameters, ready for
``aws cloudwatch put-metric-alarm --cli-input-json``). A file carries the marker
``"managed-by": "slogen"``; slogen reads back only files with it and never writes over or
deletes any other file. Entries are in apply order: metric alarms before the composite alarm
that refers to them.

The service's dashboard (:mod:`.dashboard`) is the entry under ``"dashboards"`` of the same
file: ``PutDashboard`` with its ``DashboardName`` and ``DashboardBody``. The body is written as
JSON data, for review, where the request sends it as a string (``json.dumps`` of it), and its
alarm ARNs keep the ``${AWS::Partition}`` / ``${AWS::AccountId}`` placeholders that apply fills
in. Dashboards are global, so the entry has no region.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slogen.backends import filestore
from slogen.backends.cloudwatch.dashboard import KIND as DASHBOARD
from slogen.backends.cloudwatch.names import BACKEND, COMPOSITE_ALARM, METRIC_ALARM
from slogen.backends.cloudwatch.normalise import body_of, dependencies, operation_of, request_of
from slogen.jsontext import dumps_indented
from slogen.resources import Resource

FILE_SUFFIX = ".cloudwatch.json"


def _entry(res: Resource) -> dict[str, Any]:
    return {
        "kind": res.kind,
        "key": res.key,
        "region": res.body["Region"],
        "operation": operation_of(res.kind),
        "request": request_of(res.body),
    }


def _dashboard_entry(res: Resource) -> dict[str, Any]:
    return {
        "kind": res.kind,
        "key": res.key,
        "operation": "PutDashboard",
        "request": {
            "DashboardName": res.body["DashboardName"],
            "DashboardBody": res.body["DashboardBody"],
        },
    }


def file_text(service: str, resources: list[Resource]) -> str:
    """The JSON document of one service: marker first, then its alarms, children first, then
    its dashboard."""
    alarms = [r for r in resources if r.kind != DASHBOARD]
    ordered = sorted(alarms, key=lambda r: r.kind == COMPOSITE_ALARM)
    doc = filestore.json_document(service, "alarms", [_entry(r) for r in ordered])
    boards = [_dashboard_entry(r) for r in resources if r.kind == DASHBOARD]
    if boards:  # after the alarms
        doc["dashboards"] = boards
    return dumps_indented(doc) + "\n"


def resources_from(data: dict[str, Any], path: Path, tname: str) -> list[Resource]:
    """The resources of one owned file, in the shape render makes."""
    out = []
    try:
        for item in data["alarms"]:
            kind = str(item["kind"])
            if kind not in (METRIC_ALARM, COMPOSITE_ALARM):
                raise KeyError(f"kind {kind!r}")
            body = body_of(kind, str(item["region"]), item["request"])
            out.append(
                Resource(
                    BACKEND,
                    tname,
                    kind,
                    str(item["key"]),
                    body,
                    dependencies(kind, body),
                    live_id=str(path),
                )
            )
        for item in data.get("dashboards") or []:
            if item["kind"] != DASHBOARD:
                raise KeyError(f"kind {item['kind']!r}")
            request = item["request"]
            body = {
                "DashboardName": str(request["DashboardName"]),
                "DashboardBody": dict(request["DashboardBody"]),
            }
            out.append(Resource(BACKEND, tname, DASHBOARD, str(item["key"]), body, (), str(path)))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise filestore.damaged(path, f"missing or bad {exc}") from exc
    return out


# One file is written atomically, so a service's alarms change together; after a failure the
# remaining services are not attempted and the next plan shows them.
STORE = filestore.JsonFiles(BACKEND, FILE_SUFFIX, file_text, resources_from)
files_for = STORE.files_for  # file name -> text, one file per service
