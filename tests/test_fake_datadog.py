"""Tests of the fake Datadog server (tests/fakes/datadog_api.py), driven by the REAL
datadog-api-client wherever the client can express the call, and by http.client where the
test needs to see raw status lines, bodies or repeated headers.

Client notes (datadog-api-client 2.62): ``Configuration(host=url)`` is enough to point the
client at the fake (a given host sets ``server_index`` to None, so the site templates and
``server_variables`` are bypassed).  Per-call ``_preload_content`` / ``_check_return_type``
keyword arguments are NOT accepted by this client version ("Got an unexpected parameter");
the equivalents are the ``Configuration`` attributes ``preload_content`` and
``check_return_type``.  None was needed: the client deserialises every answer of the fake.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException, ForbiddenException, NotFoundException
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.api.service_level_objectives_api import ServiceLevelObjectivesApi
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.monitor_options import MonitorOptions
from datadog_api_client.v1.model.monitor_thresholds import MonitorThresholds
from datadog_api_client.v1.model.monitor_type import MonitorType
from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest
from datadog_api_client.v1.model.service_level_objective import ServiceLevelObjective
from datadog_api_client.v1.model.service_level_objective_query import (
    ServiceLevelObjectiveQuery,
)
from datadog_api_client.v1.model.service_level_objective_request import (
    ServiceLevelObjectiveRequest,
)
from datadog_api_client.v1.model.slo_threshold import SLOThreshold
from datadog_api_client.v1.model.slo_timeframe import SLOTimeframe
from datadog_api_client.v1.model.slo_type import SLOType

try:
    from tests.fakes.datadog_api import FakeDatadog
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from fakes.datadog_api import FakeDatadog

API_KEY = "test-api-key"
APP_KEY = "test-app-key"
FAKE_SCRIPT = Path(__file__).parent / "fakes" / "datadog_api.py"
CPU_QUERY = "avg(last_5m):avg:system.cpu.user{env:prod,service:web} by {host} > 90"


# --------------------------------------------------------------------------- helpers


def make_config(
    url: str, api_key: str | None = API_KEY, app_key: str | None = APP_KEY, **kwargs: Any
) -> Configuration:
    configuration = Configuration(host=url, **kwargs)
    configuration.api_key = {}  # drop DD_API_KEY / DD_APP_KEY picked up from the environment
    if api_key is not None:
        configuration.api_key["apiKeyAuth"] = api_key
    if app_key is not None:
        configuration.api_key["appKeyAuth"] = app_key
    return configuration


def raw(
    dd: FakeDatadog,
    method: str,
    path: str,
    body: Any = None,
    *,
    api_key: str | None = API_KEY,
    app_key: str | None = APP_KEY,
) -> tuple[int, list[tuple[str, str]], Any]:
    """One request with http.client: (status, header list as sent, decoded JSON body)."""
    parts = urlsplit(dd.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    headers = {"Accept": "application/json"}
    if api_key is not None:
        headers["DD-API-KEY"] = api_key
    if app_key is not None:
        headers["DD-APPLICATION-KEY"] = app_key
    payload = None
    if body is not None:
        payload = json.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, response.getheaders(), json.loads(data) if data else None
    finally:
        conn.close()


def metric_monitor(
    name: str = "cpu high",
    *,
    tags: list[str] | None = None,
    query: str = CPU_QUERY,
    critical: float = 90,
) -> Monitor:
    return Monitor(
        name=name,
        type=MonitorType.METRIC_ALERT,
        query=query,
        message="CPU is high @slack-ops\n",
        tags=tags if tags is not None else ["team:web", "managed-by:slogen"],
        options=MonitorOptions(thresholds=MonitorThresholds(critical=critical)),
    )


def metric_slo(
    name: str = "web availability",
    *,
    tags: list[str] | None = None,
    target: float = 99.9,
    timeframe: str = "30d",
) -> ServiceLevelObjectiveRequest:
    return ServiceLevelObjectiveRequest(
        name=name,
        type=SLOType.METRIC,
        query=ServiceLevelObjectiveQuery(
            numerator="sum:http.requests{service:web,!code:5xx}.as_count()",
            denominator="sum:http.requests{service:web}.as_count()",
        ),
        thresholds=[SLOThreshold(timeframe=SLOTimeframe(timeframe), target=target)],
        tags=tags if tags is not None else ["managed-by:slogen", "service:web"],
    )


def raw_slo_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "raw slo",
        "type": "metric",
        "query": {"numerator": "sum:a{*}.as_count()", "denominator": "sum:b{*}.as_count()"},
        "thresholds": [{"timeframe": "30d", "target": 99.9}],
        "tags": ["managed-by:slogen"],
    }
    body.update(overrides)
    return body


def raw_monitor_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "raw monitor",
        "type": "metric alert",
        "query": "avg(last_5m):avg:system.load.1{*} > 4",
        "message": "load",
        "tags": ["managed-by:slogen"],
        "options": {"thresholds": {"critical": 4}},
    }
    body.update(overrides)
    return body


@pytest.fixture
def dd():
    with FakeDatadog(api_key=API_KEY, app_key=APP_KEY) as fake:
        yield fake


@pytest.fixture
def client(dd):
    with ApiClient(make_config(dd.url)) as api_client:
        yield api_client


@pytest.fixture
def monitors(client) -> MonitorsApi:
    return MonitorsApi(client)


@pytest.fixture
def slos(client) -> ServiceLevelObjectivesApi:
    return ServiceLevelObjectivesApi(client)


# --------------------------------------------------------------------------- monitors


def test_monitor_create_get_update_delete_roundtrip(dd, monitors):
    created = monitors.create_monitor(metric_monitor())
    assert created.id >= 1_000_000
    # Server-side normalisations a client has to diff through:
    assert str(created.type) == "query alert"  # created as "metric alert"
    assert created.message == "CPU is high @slack-ops"  # trailing newline stripped
    assert created.tags == ["team:web", "managed-by:slogen"]  # order kept
    assert created.multi is True  # grouped "by {host}"
    assert created.priority is None
    assert str(created.overall_state) == "No Data"
    assert created.creator.email

    stored = dd.monitors[created.id]
    assert stored["options"] == {
        "thresholds": {"critical": 90.0},
        "notify_no_data": False,
        "notify_audit": False,
        "include_tags": True,
        "new_host_delay": 300,
        "silenced": {},
    }
    assert isinstance(stored["options"]["thresholds"]["critical"], float)
    assert "require_full_window" not in stored["options"]
    assert "matching_downtimes" not in stored
    assert stored["created"] == stored["modified"]
    assert stored["created"].endswith("+00:00")

    fetched = monitors.get_monitor(created.id)
    assert fetched.name == "cpu high"
    assert fetched.query == CPU_QUERY

    updated = monitors.update_monitor(created.id, MonitorUpdateRequest(name="cpu very high"))
    assert updated.name == "cpu very high"
    assert updated.query == CPU_QUERY  # fields not sent are kept
    assert dd.monitors[created.id]["modified"] > dd.monitors[created.id]["created"]

    assert monitors.delete_monitor(created.id).deleted_monitor_id == created.id
    assert created.id not in dd.monitors
    with pytest.raises(NotFoundException) as err:
        monitors.get_monitor(created.id)
    assert err.value.body == {"errors": ["Monitor not found"]}


def test_put_options_replace_whole_options_and_type_is_fixed(dd, monitors):
    created = monitors.create_monitor(metric_monitor())
    status, _, body = raw(
        dd,
        "PUT",
        f"/api/v1/monitor/{created.id}",
        {"options": {"thresholds": {"critical": 90, "warning": None}, "renotify_interval": 60}},
    )
    assert status == 200
    assert body["options"] == {
        "thresholds": {"critical": 90.0},  # the null warning is dropped
        "renotify_interval": 60,
        "notify_no_data": False,
        "notify_audit": False,
        "include_tags": True,
        "new_host_delay": 300,
        "silenced": {},
    }
    # metric alert <-> query alert is the same type for Datadog; anything else is refused.
    assert raw(dd, "PUT", f"/api/v1/monitor/{created.id}", {"type": "metric alert"})[0] == 200
    status, _, body = raw(dd, "PUT", f"/api/v1/monitor/{created.id}", {"type": "log alert"})
    assert status == 400
    assert body["errors"]
    assert dd.monitors[created.id]["type"] == "query alert"
    assert raw(dd, "PUT", "/api/v1/monitor/999", {"name": "x"})[0] == 404


def test_list_monitors_pages_and_filters_by_monitor_tags(dd, monitors):
    ids = []
    for i in range(5):
        tags = ["managed-by:slogen", f"slo:s{i % 2}"] if i != 2 else ["team:other"]
        ids.append(monitors.create_monitor(metric_monitor(f"m{i}", tags=tags)).id)

    everything = monitors.list_monitors()
    assert [m.id for m in everything] == sorted(ids)

    pages = [monitors.list_monitors(page=p, page_size=2) for p in range(4)]
    assert [[m.id for m in page] for page in pages] == [ids[0:2], ids[2:4], ids[4:5], []]

    owned = monitors.list_monitors(monitor_tags="managed-by:slogen")
    assert [m.id for m in owned] == [ids[0], ids[1], ids[3], ids[4]]
    both = monitors.list_monitors(monitor_tags="managed-by:slogen,slo:s1")
    assert [m.id for m in both] == [ids[1], ids[3]]  # ALL tags must match
    paged = monitors.list_monitors(monitor_tags="managed-by:slogen", page=1, page_size=3)
    assert [m.id for m in paged] == [ids[4]]

    # The client refuses page_size > 1000 itself, so ask the fake directly.
    assert raw(dd, "GET", "/api/v1/monitor?page=0&page_size=1001")[0] == 400
    assert len(raw(dd, "GET", "/api/v1/monitor?page_size=1")[2]) == 5  # no page: no limit


def test_missing_or_wrong_keys_are_forbidden(dd, monkeypatch):
    monkeypatch.delenv("DD_API_KEY", raising=False)
    monkeypatch.delenv("DD_APP_KEY", raising=False)
    for api_key, app_key in [(None, None), (API_KEY, None), (API_KEY, "wrong"), ("wrong", APP_KEY)]:
        config = make_config(dd.url, api_key, app_key)
        with ApiClient(config) as api_client, pytest.raises(ForbiddenException) as err:
            MonitorsApi(api_client).list_monitors()
        assert err.value.status == 403
        assert err.value.body["errors"] == ["Forbidden"]
    status, _, body = raw(dd, "POST", "/api/v1/monitor", raw_monitor_body(), app_key=None)
    assert status == 403
    assert body["errors"] == ["Forbidden"]
    assert dd.monitors == {}
    # The key-validation endpoint only needs the API key.
    assert raw(dd, "GET", "/api/v1/validate", app_key=None)[2] == {"valid": True}


def test_monitor_validation_errors(dd):
    def post(**overrides: Any) -> tuple[int, Any]:
        status, _, body = raw(dd, "POST", "/api/v1/monitor", raw_monitor_body(**overrides))
        return status, body

    body = raw_monitor_body()
    del body["type"]
    assert raw(dd, "POST", "/api/v1/monitor", body)[0] == 400
    status, answer = post(type="no such alert")
    assert (status, len(answer["errors"])) == (400, 1)
    assert post(query="")[0] == 400
    status, answer = post(query="avg(last_5m):avg:system.load.1{*}")
    assert status == 400
    assert "invalid operator" in answer["errors"][0]
    status, answer = post(options={"thresholds": {"critical": 5}})
    assert status == 400
    assert answer["errors"] == [
        "Alert threshold (5.0) does not match that used in the query (4.0)."
    ]
    assert post(priority=9)[0] == 400
    assert post(options={"thresholds": {"critical": "high"}})[0] == 400
    assert raw(dd, "POST", "/api/v1/monitor", ["not", "an", "object"])[0] == 400
    assert dd.monitors == {}
    assert post(type="query alert")[0] == 200


def test_duplicate_monitor_is_rejected(dd, monitors):
    first = monitors.create_monitor(metric_monitor())
    with pytest.raises(ApiException) as err:
        monitors.create_monitor(metric_monitor())
    org_id = dd.monitors[first.id]["org_id"]
    assert err.value.status == 400
    assert err.value.body == {
        "errors": [f"Duplicate of an existing monitor_id:{first.id} org_id:{org_id}"]
    }
    # Different tags make it a different monitor.
    monitors.create_monitor(metric_monitor(tags=["team:web"]))
    assert len(dd.monitors) == 2


def test_composite_references_are_checked_and_protected(dd, monitors):
    a = monitors.create_monitor(metric_monitor("a")).id
    b = monitors.create_monitor(metric_monitor("b")).id

    def composite(query: str, name: str = "a and b") -> Monitor:
        return Monitor(name=name, type=MonitorType.COMPOSITE, query=query, message="both")

    with pytest.raises(ApiException) as err:
        monitors.create_monitor(composite(f"{a} && 424242"))
    assert (err.value.status, err.value.body) == (400, {"errors": ["Some monitor IDs are invalid"]})

    both = monitors.create_monitor(composite(f"{a} && !{b}"))
    assert both.multi is False
    with pytest.raises(ApiException) as err:  # composites cannot contain composites
        monitors.create_monitor(composite(f"{a} || {both.id}", "nested"))
    assert err.value.status == 400

    many = [monitors.create_monitor(metric_monitor(f"m{i}")).id for i in range(9)]
    with pytest.raises(ApiException) as err:  # 11 monitors, the limit is 10
        monitors.create_monitor(composite(" || ".join(str(i) for i in [a, b, *many]), "big"))
    assert err.value.status == 400
    monitors.create_monitor(composite(" || ".join(str(i) for i in [a, *many]), "ten"))

    with pytest.raises(ApiException) as err:
        monitors.delete_monitor(b)
    assert err.value.status == 400
    assert err.value.body == {
        "errors": [f"monitor [{b},b] is referenced in composite monitors: [{both.id},a and b]"]
    }
    assert b in dd.monitors
    assert monitors.delete_monitor(b, force="true").deleted_monitor_id == b
    assert b not in dd.monitors


def test_monitor_used_by_monitor_slo_cannot_be_deleted(dd, monitors, slos):
    used = monitors.create_monitor(metric_monitor("uptime")).id
    slo_id = dd.add_slo(
        {
            "name": "uptime slo",
            "type": "monitor",
            "monitor_ids": [used],
            "thresholds": [{"timeframe": "7d", "target": 99}],
        }
    )
    assert dd.slos[slo_id]["monitor_tags"] == ["team:web", "managed-by:slogen"]
    with pytest.raises(ApiException) as err:
        monitors.delete_monitor(used)
    assert err.value.body == {
        "errors": [f"monitor [{used},uptime] is referenced in slos: [{slo_id},uptime slo]"]
    }
    status, _, body = raw(dd, "GET", f"/api/v1/monitor/can_delete?monitor_ids={used}")
    assert status == 409
    assert body["data"] == {"ok": []}
    assert list(body["errors"]) == [str(used)]


# --------------------------------------------------------------------------- SLOs


def test_slo_create_get_list_update_delete(dd, slos):
    created = slos.create_slo(metric_slo(target=99.9))
    slo = created.data[0]
    assert len(slo.id) == 32
    int(slo.id, 16)
    assert slo.tags == ["managed-by:slogen", "service:web"]
    stored = dd.slos[slo.id]
    assert stored["thresholds"] == [{"timeframe": "30d", "target": 99.9, "target_display": "99.9"}]
    assert (stored["timeframe"], stored["target_threshold"], stored["type_id"]) == ("30d", 99.9, 1)
    assert stored["description"] == ""
    assert stored["monitor_tags"] == []
    assert "monitor_ids" not in stored
    assert isinstance(stored["created_at"], int)

    assert slos.get_slo(slo.id).data.name == "web availability"
    status, _, body = raw(dd, "GET", f"/api/v1/slo/{slo.id}")
    assert status == 200
    assert body["data"]["id"] == slo.id and body["error"] is None

    other = slos.create_slo(metric_slo("other", tags=["team:x"], target=95)).data[0]
    assert dd.slos[other.id]["thresholds"][0]["target_display"] == "95."

    owned = slos.list_slos(tags_query="managed-by:slogen")
    assert [s.id for s in owned.data] == [slo.id]
    assert [s.id for s in slos.list_slos(ids=f"{other.id},{slo.id}").data] == [slo.id, other.id]
    first_page = slos.list_slos(limit=1, offset=0)
    assert [s.id for s in first_page.data] == [slo.id]
    assert first_page.metadata.page.total_count == 2
    assert [s.id for s in slos.list_slos(limit=1, offset=1).data] == [other.id]

    replacement = ServiceLevelObjective(
        name="web availability v2",
        type=SLOType.METRIC,
        query=ServiceLevelObjectiveQuery(
            numerator="sum:a{*}.as_count()", denominator="sum:b{*}.as_count()"
        ),
        thresholds=[SLOThreshold(timeframe=SLOTimeframe.SEVEN_DAYS, target=99, warning=99.5)],
    )
    updated = slos.update_slo(slo.id, replacement).data[0]
    assert updated.name == "web availability v2"
    assert dd.slos[slo.id]["tags"] == []  # PUT replaces the whole SLO
    assert dd.slos[slo.id]["warning_threshold"] == 99.5
    assert dd.slos[slo.id]["created_at"] == stored["created_at"]

    assert slos.delete_slo(slo.id).data == [slo.id]
    assert slo.id not in dd.slos
    with pytest.raises(NotFoundException) as err:
        slos.get_slo(slo.id)
    assert err.value.body == {"errors": [f"SLO not found: {slo.id} not found"]}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"type": None}, "Required parameter 'type' is missing"),
        ({"thresholds": [{"timeframe": "1y", "target": 99}]}, "timeframe"),
        ({"thresholds": [{"timeframe": "30d", "target": 100}]}, "between 0 and 100"),
        ({"thresholds": [{"timeframe": "30d", "target": 0}]}, "between 0 and 100"),
        ({"thresholds": [{"timeframe": "30d", "target": 99.9999}]}, "decimal"),
        ({"thresholds": [{"timeframe": "30d", "target": 99.9, "warning": 99}]}, "greater"),
        ({"thresholds": []}, "thresholds"),
        ({"query": {"numerator": "sum:a{*}"}}, "denominator"),
        ({"name": ""}, "name"),
    ],
)
def test_slo_validation(dd, overrides, fragment):
    body = raw_slo_body(**overrides)
    body = {k: v for k, v in body.items() if v is not None}
    status, _, answer = raw(dd, "POST", "/api/v1/slo", body)
    assert status == 400
    assert fragment in answer["errors"][0]
    assert dd.slos == {}


def test_slo_alert_needs_existing_slo_and_blocks_slo_delete(dd, monitors, slos):
    slo_id = slos.create_slo(metric_slo()).data[0].id

    def burn_alert(ref: str, window: str = "30d") -> Monitor:
        return Monitor(
            name="fast burn",
            type=MonitorType.SLO_ALERT,
            query=f'burn_rate("{ref}").over("{window}").long_window("1h")'
            '.short_window("5m") > 14.4',
            message="burning",
            options=MonitorOptions(thresholds=MonitorThresholds(critical=14.4)),
        )

    for bad in (burn_alert("0" * 32), burn_alert(slo_id, "90d")):
        with pytest.raises(ApiException) as err:
            monitors.create_monitor(bad)
        assert err.value.status == 400
    alert = monitors.create_monitor(burn_alert(slo_id))

    status, _, body = raw(dd, "DELETE", f"/api/v1/slo/{slo_id}")
    assert status == 409
    assert body["data"] == []
    assert body["errors"] == {
        slo_id: f"slo [{slo_id},web availability] is referenced in monitors: [{alert.id},fast burn]"
    }
    assert slo_id in dd.slos
    with pytest.raises(ApiException) as err:
        slos.delete_slo(slo_id)
    assert err.value.status == 409

    monitors.delete_monitor(alert.id)
    assert slos.delete_slo(slo_id).data == [slo_id]


# --------------------------------------------------------------------------- faults


def test_injected_429_has_rate_limit_headers(dd):
    dd.inject(status=429, count=2, reset_seconds=7)
    for _ in range(2):
        status, headers, body = raw(dd, "GET", "/api/v1/monitor")
        assert status == 429
        assert body == {"errors": ["Too many requests"]}
        names = [name.lower() for name, _ in headers]
        assert names.count("x-ratelimit-reset") == 1
        values = {name.lower(): value for name, value in headers}
        assert values["x-ratelimit-remaining"] == "0"
        assert values["x-ratelimit-reset"] == "7"
        assert values["x-ratelimit-name"] == "monitor"
        assert int(values["x-ratelimit-limit"]) > 0
        assert int(values["x-ratelimit-period"]) > 0
    status, headers, _ = raw(dd, "GET", "/api/v1/monitor")
    assert status == 200
    assert "X-RateLimit-Limit" in dict(headers)
    assert dd.requests == [("GET", "/api/v1/monitor")] * 3
    assert dd.pending_injections == 0


def test_duplicated_reset_header_breaks_client_retry(dd):
    dd.inject(status=429, count=1, duplicate_reset_header=True, reset_seconds=3)
    status, headers, _ = raw(dd, "GET", "/api/v1/slo")
    assert status == 429
    assert [v for n, v in headers if n.lower() == "x-ratelimit-reset"] == ["3", "3"]

    # Without retries the client surfaces the 429, with urllib3 joining the two headers.
    dd.inject(status=429, count=1, duplicate_reset_header=True, reset_seconds=3)
    with ApiClient(make_config(dd.url)) as api_client, pytest.raises(ApiException) as err:
        MonitorsApi(api_client).list_monitors()
    assert err.value.status == 429
    assert err.value.headers["X-RateLimit-Reset"] == "3, 3"

    # The client's built-in retry cannot parse "3, 3" and gives up with urllib3's error.
    dd.inject(status=429, count=1, duplicate_reset_header=True, reset_seconds=3)
    with ApiClient(make_config(dd.url, enable_retry=True)) as api_client:
        started = time.monotonic()
        with pytest.raises(urllib3.exceptions.InvalidHeader):
            MonitorsApi(api_client).list_monitors()
    assert time.monotonic() - started < 2  # it never slept the 3 seconds


def test_client_retry_rides_out_single_header_429_and_5xx(dd):
    with ApiClient(make_config(dd.url, enable_retry=True)) as api_client:
        api = MonitorsApi(api_client)
        dd.inject(status=429, count=1, reset_seconds=0)
        assert api.list_monitors() == []
        assert dd.request_count("GET", "/api/v1/monitor") == 2
    dd.inject(status=503, count=1)
    status, _, body = raw(dd, "GET", "/api/v1/monitor")
    assert (status, body) == (503, {"errors": ["Service Unavailable"]})
    dd.inject(status=500, count=1)
    with ApiClient(make_config(dd.url)) as api_client, pytest.raises(ApiException) as err:
        MonitorsApi(api_client).list_monitors()
    assert err.value.status == 500
    assert raw(dd, "GET", "/api/v1/monitor")[0] == 200


def test_latency_is_added_to_every_response():
    with FakeDatadog(api_key=API_KEY, app_key=APP_KEY, latency=0.15) as slow:
        started = time.monotonic()
        assert raw(slow, "GET", "/api/v1/monitor")[0] == 200
        assert raw(slow, "GET", "/api/v1/monitor", api_key=None)[0] == 403
        assert time.monotonic() - started >= 0.3


# --------------------------------------------------------------------------- helpers of the fake


def test_edit_monitor_simulates_drift(dd, monitors):
    created = monitors.create_monitor(metric_monitor())
    before = dd.monitors[created.id]["modified"]
    edited = dd.edit_monitor(
        created.id, message="edited by hand  ", options={"thresholds": {"critical": 95}}
    )
    assert edited["modified"] > before
    fetched = monitors.get_monitor(created.id)
    assert fetched.message == "edited by hand"
    assert fetched.options.thresholds.critical == 95.0
    assert dd.monitors[created.id]["options"]["new_host_delay"] == 300  # other options kept
    with pytest.raises(KeyError):
        dd.edit_monitor(1, name="nope")


def test_seeded_objects_are_served(dd, monitors, slos):
    unowned = dd.add_monitor(raw_monitor_body(name="hand made", tags=["team:db"]))
    assert [m.id for m in monitors.list_monitors()] == [unowned]
    assert monitors.list_monitors(monitor_tags="managed-by:slogen") == []
    slo_id = dd.add_slo(raw_slo_body(tags=["team:db"]))
    assert slos.list_slos(tags_query="managed-by:slogen").data == []
    assert [s.id for s in slos.list_slos(tags_query="team:db").data] == [slo_id]
    with pytest.raises(ValueError):
        dd.add_monitor({"name": "no type"})
    with pytest.raises(ValueError):
        dd.add_slo(raw_slo_body(thresholds=[{"timeframe": "2d", "target": 99}]))


def test_stop_closes_idle_connections_and_port():
    fake = FakeDatadog(api_key=API_KEY, app_key=APP_KEY).start()
    parts = urlsplit(fake.url)
    idle = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    idle.request("GET", "/api/v1/validate", headers={"DD-API-KEY": API_KEY})
    assert idle.getresponse().read()  # keep-alive connection stays open
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2
    fake.stop()  # idempotent
    with pytest.raises(OSError), socket.create_connection((parts.hostname, parts.port), timeout=1):
        pass
    idle.close()
    with pytest.raises(RuntimeError):
        _ = fake.url


def test_standalone_script_serves_until_sigterm():
    proc = subprocess.Popen(
        [
            sys.executable,
            str(FAKE_SCRIPT),
            "--port",
            "0",
            "--latency",
            "0.01",
            "--api-key",
            API_KEY,
            "--app-key",
            APP_KEY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        conn.request(
            "GET", "/api/v1/monitor", headers={"DD-API-KEY": API_KEY, "DD-APPLICATION-KEY": APP_KEY}
        )
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())) == (200, [])
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert "served 1 requests" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
