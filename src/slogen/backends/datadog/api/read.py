"""Reading what slogen owns in a Datadog account: paged lists, keyed by ``slogen-key:``.

Reading costs one request per list page: monitors by tag ``managed-by:slogen`` with
``page_size=1000`` (``page=0,1,...`` until a short page) and SLOs by ``tags_query`` with
``limit=1000`` (``offset`` paging). Nothing is fetched per monitor or SLO; dashboards are
listed and then fetched one by one, as the list has no widgets (:mod:`.dashboards`). Live ids
in queries are turned back into the symbols render writes (``${slo:<key>}``,
``${monitor:<key>}``), so live and desired bodies compare as they are.

A read that looks incomplete stops the plan (:class:`slogen.plan.creates.IncompleteRead`), as
planning on it would create again what exists: the SLO list answers
``metadata.page.total_filtered_count`` ("the total number of resources that match the
parameters and filters in the request. This attribute can be used by a client to determine the
total number of pages": SLOListResponseMetadataPage, datadog-api-client), which the pages must
add up to; the monitor list has no total, so when it lacks monitors the specs want it is read a
second time and both reads must agree (:func:`slogen.plan.creates.confirmed`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slogen.backends import scope
from slogen.backends.contract import target_label
from slogen.backends.datadog.api import dashboards as dashboard_api
from slogen.backends.datadog.api.client import OWNED_TAG, Client, DatadogError
from slogen.backends.datadog.dashboard import KIND, normalise_dashboard
from slogen.backends.datadog.facts import (
    BACKEND,
    COMPOSITE_TYPE,
    SLO_ALERT_TYPE,
    references,
    symbol,
)
from slogen.backends.datadog.normalise import (
    normalise_monitor_body,
    normalise_slo_body,
    ownership,
    project_in,
    settle_duplicates,
)
from slogen.errors import SlogenError
from slogen.plan.creates import IncompleteRead, confirmed
from slogen.resources import LiveState, Resource
from slogen.spec.model import Target as TargetSettings

PAGE_SIZE = 1000  # the largest page Datadog serves for monitors and SLOs
MAX_PAGES = 10_000  # a guard against a server that never sends a short page

Raw = dict[str, Any]


def _monitor_page(client: Client, page: int) -> list[Raw]:
    # GET /api/v1/monitor?monitor_tags=managed-by:slogen&page=N&page_size=1000
    paging = {"monitor_tags": OWNED_TAG, "page": page, "page_size": PAGE_SIZE}
    batch = client.call("listing monitors", client.monitors.list_monitors, **paging)
    if not isinstance(batch, list):
        raise DatadogError("listing monitors: Datadog did not answer a list")
    return batch


def list_owned_monitors(client: Client, expected: int = 0) -> list[Raw]:
    """Every monitor tagged managed-by:slogen, one request per page of 1,000.

    With ``expected`` (how many monitors the specs render, which is how many exist once
    applied), the pages after a full first page are fetched side by side; paging then goes
    on one page at a time until a short page. In the steady state that is exactly the pages
    needed, in the time of two.
    """
    found = _monitor_page(client, 0)
    if len(found) < PAGE_SIZE:
        return found  # also what an empty account costs: one request, no guessing
    first = max(1, -(-(expected + 1) // PAGE_SIZE))  # pages needed to see a short page
    with ThreadPoolExecutor(max_workers=4) as pool:
        batches = list(pool.map(lambda p: _monitor_page(client, p), range(1, first)))
    for batch in batches:
        found.extend(batch)
        if len(batch) < PAGE_SIZE:
            return found
    for page in range(first, MAX_PAGES):
        batch = _monitor_page(client, page)
        found.extend(batch)
        if len(batch) < PAGE_SIZE:
            break
    return found


def list_owned_slos(client: Client) -> list[Raw]:
    """Every SLO tagged managed-by:slogen, one request per page of 1,000; fewer than the
    answers' ``total_filtered_count`` is an incomplete read (see the module docstring)."""
    found: list[Raw] = []
    total: int | None = None
    offset = 0
    for _ in range(MAX_PAGES):
        # GET /api/v1/slo?tags_query=managed-by:slogen&limit=1000&offset=N
        paging = {"tags_query": OWNED_TAG, "limit": PAGE_SIZE, "offset": offset}
        answer = client.call("listing SLOs", client.slos.list_slos, **paging)
        batch = (answer or {}).get("data") or []
        page = ((answer or {}).get("metadata") or {}).get("page") or {}
        if isinstance(page.get("total_filtered_count"), int):
            total = max(total or 0, page["total_filtered_count"])
        found.extend(batch)
        if len(batch) < PAGE_SIZE:
            break
        offset += len(batch)
    if total is not None and len(found) < total:
        raise IncompleteRead(
            f"Datadog at {client.settings.host}",
            f"the SLO list answered {len(found)} of the {total} SLOs it counts",
        )
    return found


def expected_monitors(known: Sequence[Resource]) -> int:
    """How many monitors the caller expects (a paging hint); desired and live copies of one
    key count once."""
    return len({r.key for r in known if r.kind == "monitor"})


@dataclass
class Snapshot:
    """The owned live objects, keyed, with id maps both ways."""

    slos: dict[str, Raw] = field(default_factory=dict)  # key -> raw
    monitors: dict[str, Raw] = field(default_factory=dict)  # key -> raw
    slo_ids: dict[str, str] = field(default_factory=dict)  # key -> id
    monitor_ids: dict[str, str] = field(default_factory=dict)  # key -> id
    unkeyed: int = 0  # tagged managed-by:slogen but without (one) slogen-key: left alone
    # key -> the other slogen project, None: before projects (see slogen.backends.scope)
    foreign: dict[str, str | None] = field(default_factory=dict)
    project: str | None = None  # whose objects these are: a re-read adopts only those
    dashboards: dict[str, Raw] = field(default_factory=dict)  # key -> summary (or whole)
    dashboard_ids: dict[str, str] = field(default_factory=dict)  # key -> id


def _claim(
    items: list[Raw],
    id_of: Callable[[Raw], Any],
    project: str | None,
    foreign: dict[str, str | None],
    adoptable: Collection[str] | None,
) -> tuple[dict[str, Raw], int]:
    """This project's objects by key; those it leaves alone go to ``foreign`` (key -> the
    other project, None: written before projects and not ``adoptable``, see
    :mod:`slogen.backends.scope`). The oldest object with a key gets it, those tagged with the
    project first; later ones get ``<key>#<id>`` (see normalise.settle_duplicates)."""
    out: dict[str, Raw] = {}
    unkeyed = 0
    for item in sorted(items, key=lambda i: bool(project) and project_in(i.get("tags")) != project):
        key = ownership(item.get("tags"))
        if key is None:
            unkeyed += 1
            continue
        marked = project_in(item.get("tags"))
        if not scope.claims(project, marked, key, adoptable):
            foreign[key] = marked
            continue
        if key in out:
            key = f"{key}#{id_of(item)}"
        out[key] = item
    return out, unkeyed


def snapshot(
    raw_monitors: list[Raw],
    raw_slos: list[Raw],
    project: str | None = None,
    adoptable: Collection[str] | None = None,
    raw_dashboards: Sequence[Raw] = (),
) -> Snapshot:
    foreign: dict[str, str | None] = {}
    dashboards = dashboard_api.claim(list(raw_dashboards), project, foreign, adoptable)
    monitors, unkeyed_m = _claim(
        sorted(raw_monitors, key=lambda m: int(m.get("id") or 0)),
        lambda m: m.get("id"),
        project,
        foreign,
        adoptable,
    )
    slos, unkeyed_s = _claim(raw_slos, lambda s: s.get("id"), project, foreign, adoptable)
    return Snapshot(
        slos=slos,
        monitors=monitors,
        slo_ids={k: str(v["id"]) for k, v in slos.items()},
        monitor_ids={k: str(v["id"]) for k, v in monitors.items()},
        unkeyed=unkeyed_m + unkeyed_s,
        foreign=foreign,
        project=project,
        dashboards=dashboards,
        dashboard_ids={k: str(v["id"]) for k, v in dashboards.items()},
    )


def _symbolic_query(
    mtype: str, query: str, slo_keys: dict[str, str], monitor_keys: dict[str, str]
) -> str:
    """Live ids in a query back to the symbols render uses (unknown ids stay as they are);
    ``slo_keys`` and ``monitor_keys`` map ids to keys."""
    if mtype == SLO_ALERT_TYPE:

        def slo_ref(m: re.Match[str]) -> str:
            key = slo_keys.get(m.group(2))
            ref = symbol("slo", key) if key else m.group(2)
            return f'{m.group(1)}("{ref}")'

        return re.sub(r'\b(burn_rate|error_budget)\(\s*"([^"]*)"\s*\)', slo_ref, query)
    if mtype == COMPOSITE_TYPE:

        def monitor_ref(m: re.Match[str]) -> str:
            key = monitor_keys.get(m.group(0))
            return symbol("monitor", key) if key else m.group(0)

        return re.sub(r"\b\d+\b", monitor_ref, query)
    return query


def live_resources(snap: Snapshot, tname: str) -> list[Resource]:
    resources = []
    for key, raw in snap.slos.items():
        body = normalise_slo_body(raw)
        resources.append(Resource(BACKEND, tname, "slo", key, body, (), str(raw["id"])))
    slo_keys = {v: k for k, v in snap.slo_ids.items()}
    monitor_keys = {v: k for k, v in snap.monitor_ids.items()}
    for key, raw in snap.monitors.items():
        body = normalise_monitor_body(raw)
        body["query"] = _symbolic_query(body["type"], body["query"], slo_keys, monitor_keys)
        resources.append(
            Resource(BACKEND, tname, "monitor", key, body, references(body), str(raw["id"]))
        )
    for key, raw in snap.dashboards.items():
        body = normalise_dashboard(raw, slo_keys)
        resources.append(
            Resource(BACKEND, tname, KIND, key, body, references(body), str(raw["id"]))
        )
    return resources


def _read_error(exc: DatadogError, host: str) -> SlogenError:
    if exc.status in (401, 403):
        return SlogenError(
            f"Datadog at {host} refused the API or application key ({exc.message})",
            hint="check DD_API_KEY and DD_APP_KEY, and DD_SITE: keys belong to one Datadog site",
        )
    return SlogenError(
        f"cannot read Datadog live state: {exc.message}",
        hint="check targets.datadog.host / DD_SITE and the network, then run the command again",
    )


def read_snapshot(
    client: Client,
    expected: int = 0,
    wanted: Sequence[str] = (),
    project: str | None = None,
    adoptable: Collection[str] | None = None,
    wanted_dashboards: Sequence[str] = (),
) -> Snapshot:
    """The lists, fetched side by side (SLO and dashboard pages while the monitor pages come
    in); dashboards as their list summaries (ids and descriptions, no widgets).

    ``wanted``: monitor keys the caller will create if they are not read; when some are
    missing, the monitor list is read again to confirm it (see the module docstring); the same
    for dashboards and ``wanted_dashboards``.
    """
    boards = [k for k in wanted_dashboards if k]
    with ThreadPoolExecutor(max_workers=2) as pool:
        slos = pool.submit(list_owned_slos, client)
        dashboards = pool.submit(dashboard_api.list_confirmed, client, boards)
        try:
            monitors = confirmed(
                lambda: list_owned_monitors(client, expected),
                lambda m: ownership(m.get("tags")),
                lambda m: str(m.get("id")),
                wanted,
                f"Datadog at {client.settings.host}",
            )
            return snapshot(monitors, slos.result(), project, adoptable, dashboards.result())
        except DatadogError as exc:
            raise _read_error(exc, client.settings.host) from None


def read_live(settings: TargetSettings, known: Sequence[Resource]) -> LiveState:
    """The owned objects as resources, with a warning for owned-looking objects without a key."""
    with Client(settings) as client:
        wanted = sorted({r.key for r in known if r.kind == "monitor" and r.live_id is None})
        boards = sorted({r.key for r in known if r.kind == KIND and r.live_id is None})
        project, adoptable = scope.project_of(settings), {r.key for r in known}
        snap = read_snapshot(client, expected_monitors(known), wanted, project, adoptable, boards)
        try:  # the list has no widgets: one GET per owned dashboard
            snap.dashboards = dashboard_api.full(client, snap.dashboards)
        except DatadogError as exc:
            raise _read_error(exc, client.settings.host) from None
        warnings = []
        if snap.unkeyed:
            warnings.append(
                f"{snap.unkeyed} Datadog object(s) are tagged {OWNED_TAG} but have no single "
                "slogen-key: tag; slogen leaves them alone"
            )
        desired = {(r.kind, r.key): r.body for r in known if r.live_id is None}
        resources, copies = settle_duplicates(live_resources(snap, target_label(settings)), desired)
        state = LiveState(resources, warnings + copies)
        scope.note(state, snap.foreign, "Datadog object")  # another project's: left alone
        state.extra["requests"] = client.requests
        return state
