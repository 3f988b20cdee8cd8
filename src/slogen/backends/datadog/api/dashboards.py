"""Dashboards in the Datadog ``api`` target: listing the owned ones and changing them.

Calls (datadog-api-client's ``DashboardsApi``, v1; shapes from its models and the API
reference "Dashboards"):

* ``GET /api/v1/dashboard?count=100&start=N`` lists summaries (``{"dashboards": [...]}``,
  each with ``id``, ``title``, ``description``, ``layout_type``...). Paging follows the
  client's own ``list_dashboards_with_pagination``: pages of ``count`` 100, ``start`` the
  offset, until a short page. Only dashboards whose description carries slogen's marker line
  (:mod:`slogen.backends.datadog.dashboard`) go on;
* ``GET /api/v1/dashboard/{id}`` per owned dashboard: the list has no widgets. That is one
  request per service with a dashboard, on every plan;
* ``POST /api/v1/dashboard`` creates (the answer is the dashboard, with its ``id``), ``PUT
  /api/v1/dashboard/{id}`` replaces it as a whole (title, layout and widgets are required, as
  for a create), ``DELETE /api/v1/dashboard/{id}`` deletes (404: already gone).

A create is sent once, like every create (:mod:`slogen.plan.creates`): after a lost answer the
list is read again and a dashboard carrying the key is adopted (:func:`find`). The list has no
total to check pages against, so a read that lacks a dashboard the specs want is read again
and both reads must agree (:func:`list_confirmed`), and apply looks for the key once more
right before creating (a POST is not an upsert: a dashboard a short page hid would otherwise
be made twice). Creates are rare (a new service), so that list costs little.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from slogen.backends import scope
from slogen.backends.datadog.api.client import Client, DatadogError
from slogen.backends.datadog.dashboard import marked, ownership
from slogen.plan.creates import confirmed

PAGE_SIZE = 100  # what datadog-api-client's own paginator asks for
MAX_PAGES = 10_000

Raw = dict[str, Any]


def list_marked(client: Client) -> list[Raw]:
    """Summaries of every dashboard whose description carries slogen's marker (any project)."""
    found: list[Raw] = []
    start = 0
    for _ in range(MAX_PAGES):
        answer = client.call(
            "listing dashboards", client.dashboards.list_dashboards, count=PAGE_SIZE, start=start
        )
        batch = (answer or {}).get("dashboards")
        if not isinstance(batch, list):
            raise DatadogError("listing dashboards: Datadog did not answer a list")
        found.extend(d for d in batch if marked(d.get("description")) is not None)
        if len(batch) < PAGE_SIZE:
            break
        start += len(batch)
    return found


def list_confirmed(client: Client, wanted: Sequence[str]) -> list[Raw]:
    """:func:`list_marked`, read a second time when it lacks a dashboard the caller wants (the
    list gives no total, as the monitor list: :func:`slogen.plan.creates.confirmed`)."""
    return confirmed(
        lambda: list_marked(client),
        lambda d: (marked(d.get("description")) or ("", None))[0],
        lambda d: str(d.get("id")),
        wanted,
        f"Datadog at {client.settings.host}",
    )


def get(client: Client, dashboard_id: str) -> Raw:
    return client.call(
        f"reading dashboard {dashboard_id}",
        client.dashboards.get_dashboard,
        dashboard_id=dashboard_id,
    )


def claim(
    summaries: list[Raw],
    project: str | None,
    foreign: dict[str, str | None],
    adoptable: Collection[str] | None,
) -> dict[str, Raw]:
    """This project's dashboard summaries by key (the oldest per key; a later copy of the same
    key is ``<key>#<id>``, so the plan deletes it); others' go to ``foreign``."""
    out: dict[str, Raw] = {}
    ordered = sorted(summaries, key=lambda d: (str(d.get("created_at") or ""), str(d.get("id"))))
    for item in ordered:
        found = marked(item.get("description"))
        if found is None:
            continue
        key, marker_project = found
        if not scope.claims(project, marker_project, key, adoptable):
            foreign[key] = marker_project
            continue
        if key in out:
            key = f"{key}#{item.get('id')}"
        out[key] = item
    return out


def full(client: Client, summaries: dict[str, Raw]) -> dict[str, Raw]:
    """key -> the whole dashboard, widgets included, for the owned summaries."""
    return {key: get(client, str(item["id"])) for key, item in summaries.items()}


def create(client: Client, key: str, body: Raw) -> str:
    answer = client.call(
        f"creating dashboard {key}",
        client.dashboards.create_dashboard,
        idempotent=False,
        body=body,
    )
    return str(answer["id"])


def update(client: Client, key: str, dashboard_id: str, body: Raw) -> None:
    client.call(
        f"updating dashboard {key}",
        client.dashboards.update_dashboard,
        dashboard_id=dashboard_id,
        body=body,
    )


def delete(client: Client, key: str, dashboard_id: str) -> None:
    try:
        client.call(
            f"deleting dashboard {key}",
            client.dashboards.delete_dashboard,
            dashboard_id=dashboard_id,
        )
    except DatadogError as exc:
        if exc.status != 404:  # already gone is what we wanted
            raise


def find(client: Client, key: str, project: str | None) -> str | None:
    """The id of this project's dashboard carrying ``key`` now (the oldest), or None."""
    found = [d for d in list_marked(client) if ownership(d.get("description"), project) == key]
    found.sort(key=lambda d: (str(d.get("created_at") or ""), str(d.get("id"))))
    return str(found[0]["id"]) if found else None
