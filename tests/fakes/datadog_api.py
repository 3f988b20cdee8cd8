"""A fake Datadog API (Monitors v1, Service Level Objectives v1, Dashboards v1) for slogen's tests.

There is no public Datadog emulator, so slogen's tests point the real ``datadog-api-client``
at this server.  It listens on 127.0.0.1 only, uses the standard library only, and keeps all
state in memory.

Usage::

    with FakeDatadog(api_key="fake-api-key", app_key="fake-app-key") as dd:
        configuration = Configuration(host=dd.url)
        configuration.api_key["apiKeyAuth"] = "fake-api-key"
        configuration.api_key["appKeyAuth"] = "fake-app-key"
        ...

Standalone (for the benchmark script)::

    python tests/fakes/datadog_api.py --port 0 --latency 0.02

prints the base URL on the first line of stdout and serves until SIGINT/SIGTERM.

How closely it follows Datadog
------------------------------
Each behaviour below is marked FACT when it was checked against Datadog's API reference or
against responses recorded from the real API (the cassettes under
``tests/v1/cassettes/test_scenarios/`` of DataDog/datadog-api-client-python, the recorded
integration tests of DataDog/datadogpy, and error bodies quoted in GitHub issues), and
ASSUMED when it is not documented and the fake had to pick something.

Monitors
  * FACT: ``POST/GET/PUT/DELETE /api/v1/monitor[/{id}]``; DELETE answers
    ``{"deleted_monitor_id": id}``; unknown id answers 404 ``{"errors": ["Monitor not found"]}``.
  * FACT: a stored monitor carries id, org_id, created / modified (ISO 8601 with microseconds
    and ``+00:00``), created_at (epoch milliseconds), creator {name, handle, email, id},
    overall_state "No Data", overall_state_modified null, deleted null, restricted_roles null,
    priority null when not given, multi (true when the query is grouped with ``by``).
    ``matching_downtimes`` is NOT part of normal responses (only with ``with_downtimes=true``).
  * FACT: options defaults filled in by the server when the key is absent: notify_no_data false,
    notify_audit false, include_tags true, new_host_delay 300, silenced {}; log alerts also get
    groupby_simple_monitor false.  ``require_full_window`` is NOT filled in (terraform's default
    of true lives in the provider).  ASSUMED: the same defaults for every monitor type (only
    metric/query and log alerts were observed).
  * FACT: numbers in ``options.thresholds`` come back as floats (2 -> 2.0); a threshold sent as
    null is dropped.
  * FACT: PUT is a partial edit for top-level fields, but an ``options`` object in a PUT
    replaces the stored options as a whole (keys not sent are lost, then the defaults above are
    filled in again).
  * FACT: Datadog may answer ``"query alert"`` for a monitor created as ``"metric alert"`` (a
    known quirk that terraform's provider suppresses).  The fake always does this unless
    ``metric_alert_as_query_alert=False``; switching between the two in a PUT is allowed.
    ASSUMED: any other type change in a PUT answers 400.
  * FACT: tags come back as sent (order kept, not lower-cased, not deduplicated in the recorded
    responses); terraform's provider sorts them because the order is not guaranteed.
  * ASSUMED (inferred from terraform's provider trimming both fields): leading/trailing
    whitespace of ``message`` and ``query`` is stripped by the server.
  * FACT: creating a monitor equal to an existing one answers 400
    ``Duplicate of an existing monitor_id:<id> org_id:<org>``.  ASSUMED: "equal" means same
    name, type, query, message and tag set (options are not compared); PUT is not checked.
  * FACT: a query without a comparison answers 400 ``The value provided for parameter 'query' is
    invalid: invalid operator specified: ``; a critical threshold that differs from the number
    in the query answers 400 ``Alert threshold (x) does not match that used in the query (y).``
  * FACT: a composite query naming unknown monitors answers 400 ``Some monitor IDs are
    invalid``; composites cannot contain composites; at most 10 monitors per composite (the
    documented limit of the UI, ASSUMED to hold for the API too).
  * ASSUMED wording: ``slo alert`` queries must name an existing SLO in ``burn_rate("<id>")`` or
    ``error_budget("<id>")`` and their ``.over("<timeframe>")`` must be one of its timeframes.
  * FACT: deleting a monitor that a composite or a monitor-based SLO uses answers 400
    ``monitor [<id>,<name>] is referenced in composite monitors: [<id>,<name>]`` (or ``... in
    slos: [<id>,<name>]``); ``?force=true`` deletes anyway and leaves the reference dangling.
  * ``GET /api/v1/monitor``: FACT without ``page`` every monitor is returned; with ``page``
    (0-based) ``page_size`` defaults to 100, max 1000 (ASSUMED: larger answers 400).
    ``monitor_tags`` keeps monitors having ALL listed tags; ``name`` is a case-insensitive
    substring filter; ``tags`` (scope) keeps monitors whose query scope ``{...}`` contains all
    listed tags; ``id_offset`` keeps ids above it (these filter semantics are ASSUMED).
    Ordered by id.
Service level objectives
  * FACT: POST and PUT answer ``{"data": [slo], "error": null}``, GET answers
    ``{"data": slo, "error": null}``, DELETE answers ``{"data": [id], "error": null}``, the
    list answers ``{"data": [...], "error": null}`` plus ``metadata.page.total_count`` /
    ``total_filtered_count`` when limit/offset are given (ASSUMED: total_count counts every SLO,
    total_filtered_count those matching the filters; the real meaning is unclear).  The list
    is in creation order.
  * FACT: id is 32 hex characters; created_at / modified_at are epoch seconds; creator is
    {name, handle, email}; description defaults to ""; monitor_tags is always present;
    type_id is 1 for metric, 0 for monitor (2 for time_slice per the client's enum); the
    top-level timeframe / target_threshold / warning_threshold mirror the primary threshold
    (the first one unless ``timeframe`` names another); targets come back as floats with
    ``target_display`` such as ``"95."`` or ``"99.5"`` (display values sent by the client are
    ignored).  ``monitor_ids`` is only present for monitor SLOs.  Tags come back as sent.
  * FACT: missing type answers 400 ``Invalid payload: Required parameter 'type' is missing``;
    unknown ids answer 404 ``SLO not found: <id> not found``; timeframes are 7d/30d/90d;
    PUT replaces the whole object.  ASSUMED: target and warning strictly between 0 and 100,
    at most 3 decimals (the docs speak of two to three decimals), warning above target, one
    threshold per timeframe; the wording of these messages.
  * FACT: a refused DELETE answers 409 with the ``SLODeleteResponse`` shape
    ``{"data": [], "errors": {"<id>": "<why>"}}``.  Datadog documents the 409 for SLOs used in
    dashboards; ASSUMED: an SLO used by an ``slo alert`` monitor is refused the same way (the
    message wording is ASSUMED) unless ``?force=true``.
Metrics queries
  * ``GET /api/v1/query`` answers from the points of :meth:`FakeDatadog.submit_points`; its
    rules (response shape, rollup buckets, the 1500-point limit) are in
    ``tests/fakes/datadog_metrics.py``.
Monitor states
  * Stored monitors start in ``overall_state`` "No Data" and only change when a test calls
    :meth:`FakeDatadog.evaluate` after :meth:`FakeDatadog.submit_points`; the rules (how a
    ``sum(last_5m)`` ``.as_count()`` ratio with no points behaves under ``notify_no_data`` and
    ``on_missing_data``, each with the Datadog page it comes from) are in
    ``tests/fakes/datadog_eval.py``.
Auth, rate limits and faults
  * FACT: every ``/api`` call needs ``DD-API-KEY`` and ``DD-APPLICATION-KEY``; a bad or missing
    key answers 403 ``{"status": "error", "code": 403, "errors": ["Forbidden"], ...}``.
  * FACT: rate-limit headers are X-RateLimit-Limit, -Period (seconds), -Remaining, -Reset
    (seconds until the window resets) and -Name; a limited call answers 429.  FACT (reported
    against datadog-api-client-python): Datadog sometimes sends X-RateLimit-Reset twice, which
    urllib3 joins into ``"7, 7"`` and the client's built-in retry then fails to parse.
  * ASSUMED: normal answers carry the rate-limit headers of a 1000-requests-per-10-seconds
    window that is never enforced; the 429 body is ``{"errors": ["Too many requests"]}``;
    injected faults fire before authentication; 5xx bodies are JSON (the real ones may be HTML).
  * The shared faults of tests/fakes/faults.py (``inject_fault``): commit-then-5xx,
    commit-then-timeout, short pages (the monitor list answers half a page; the SLO list half
    its data with true ``metadata.page`` totals), truncated bodies, header echo, 429. Their
    ``operation`` is ``"<METHOD> <api>"`` (``"POST slo"``, ``"GET monitor"``) or a method.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gzip
import json
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

try:
    from tests.fakes import faults as shared_faults
    from tests.fakes.datadog_dashboards import Dashboards
    from tests.fakes.datadog_metrics import route_metrics
except ImportError:  # run as a script (python tests/fakes/<fake>.py): its directory is on the path
    import faults as shared_faults  # type: ignore[no-redef]
    from datadog_dashboards import Dashboards  # type: ignore[no-redef]
    from datadog_metrics import route_metrics  # type: ignore[no-redef]

__all__ = ["FakeDatadog", "main"]

MONITOR_TYPES = frozenset(
    {
        "composite",
        "event alert",
        "log alert",
        "metric alert",
        "process alert",
        "query alert",
        "rum alert",
        "service check",
        "synthetics alert",
        "trace-analytics alert",
        "slo alert",
        "event-v2 alert",
        "audit alert",
        "ci-pipelines alert",
        "ci-tests alert",
        "error-tracking alert",
        "database-monitoring alert",
        "network-performance alert",
        "cost alert",
        "data-quality alert",
        "network-path alert",
        "data-jobs alert",
        "llm-observability alert",
    }
)
# Types whose query does not end in "<operator> <number>".
_NO_COMPARISON_TYPES = frozenset({"composite", "service check", "synthetics alert"})
_METRIC_FAMILY = frozenset({"metric alert", "query alert"})

SLO_TYPE_IDS = {"monitor": 0, "metric": 1, "time_slice": 2}
SLO_TIMEFRAMES = ("7d", "30d", "90d")
SLO_TARGET_MAX_DECIMALS = 3

ORG_ID = 4242
FIRST_MONITOR_ID = 1_000_000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_SLO_LIMIT = 1000
MAX_COMPOSITE_MONITORS = 10
RATE_LIMIT = 1000
RATE_PERIOD = 10

MONITOR_CREATOR = {
    "name": "Fake User",
    "handle": "fake-user@example.com",
    "email": "fake-user@example.com",
    "id": 4242,
}
SLO_CREATOR = {
    "name": "Fake User",
    "handle": "fake-user@example.com",
    "email": "fake-user@example.com",
}

DEFAULT_MONITOR_OPTIONS: dict[str, Any] = {
    "notify_no_data": False,
    "notify_audit": False,
    "include_tags": True,
    "new_host_delay": 300,
    "silenced": {},
}

# Fields the server owns: ignored when a client sends them in a create or edit body.
_SERVER_MONITOR_FIELDS = frozenset(
    {
        "id",
        "org_id",
        "created",
        "created_at",
        "modified",
        "creator",
        "overall_state",
        "overall_state_modified",
        "deleted",
        "multi",
        "matching_downtimes",
        "state",
    }
)
_SERVER_SLO_FIELDS = frozenset(
    {
        "id",
        "created_at",
        "modified_at",
        "creator",
        "type_id",
        "monitor_tags",
        "configured_alert_ids",
    }
)

FORBIDDEN_BODY = {
    "status": "error",
    "code": 403,
    "errors": ["Forbidden"],
    "statuspage": "http://status.datadoghq.com",
    "twitter": "http://twitter.com/datadogops",
    "email": "support@datadoghq.com",
}

_COMPARISON_RE = re.compile(
    r"(<=|>=|==|!=|<|>)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|threshold)\s*$"
)
_SLO_REF_RE = re.compile(r"\b(?:burn_rate|error_budget)\(\s*\"([^\"]*)\"\s*\)")
_OVER_RE = re.compile(r"\.over\(\s*\"([^\"]*)\"\s*\)")
_COMPOSITE_ALLOWED_RE = re.compile(r"^[\d\s()!&|]+$")
_GROUPED_RE = re.compile(r"\bby\s*\{|\.by\(")
_SCOPE_RE = re.compile(r"\{([^{}]*)\}")
_MONITOR_PATH_RE = re.compile(r"^/api/v1/monitor/([^/]+)$")
_SLO_PATH_RE = re.compile(r"^/api/v1/slo/([^/]+)$")


class ApiError(Exception):
    """An error answer: HTTP status plus JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def _bad_request(*messages: str) -> ApiError:
    return ApiError(400, {"errors": list(messages)})


def _monitor_not_found() -> ApiError:
    return ApiError(404, {"errors": ["Monitor not found"]})


def _slo_not_found(slo_id: str) -> ApiError:
    return ApiError(404, {"errors": [f"SLO not found: {slo_id} not found"]})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decimals(value: float) -> int:
    try:
        exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    except InvalidOperation:
        return 0
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def _display(value: float) -> str:
    """Datadog's ``*_display`` strings: ``95.0`` -> ``"95."``, ``99.5`` -> ``"99.5"``."""
    value = float(value)
    return f"{int(value)}." if value.is_integer() else repr(value)


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"true", "1", "yes"}


def _split_csv(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _balanced(query: str) -> bool:
    """Whether a metric query's parentheses pair up (``(a) + (b)`` sums two queries)."""
    depth = 0
    for char in re.sub(r"\{[^{}]*\}", "", query):  # scopes may hold any character
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _scope_tags(query: str) -> set[str]:
    tags: set[str] = set()
    for scope in _SCOPE_RE.findall(query):
        tags.update(part.strip() for part in scope.split(",") if part.strip())
    return tags


def _label(obj: dict[str, Any]) -> str:
    return f"[{obj['id']},{obj.get('name', '')}]"


@dataclass
class _Fault:
    status: int
    duplicate_reset_header: bool
    reset_seconds: int
    limit: int
    period: int
    name: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeDatadog) -> None:
        self.fake = fake
        self._conn_lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections[conn] = threading.current_thread()

    def untrack(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.pop(conn, None)

    def close_connections(self, timeout: float) -> None:
        with self._conn_lock:
            items = list(self._connections.items())
        for conn, _thread in items:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _conn, thread in items:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up, or stop() closing a socket, is not worth a traceback.
        if self.fake.verbose:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeDatadog/1.0"
    timeout = 30  # idle keep-alive connections are dropped after this many seconds
    # Buffer each answer so status line, headers and body leave in one send(); with
    # TCP_NODELAY this avoids the Nagle / delayed-ACK stall of ~40 ms per keep-alive request.
    wbufsize = 1 << 16
    server: _Server

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            sys.stderr.write(f"fake-datadog: {format % args}\n")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            data = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length > 0 else b""
        if data and self.headers.get("Content-Encoding", "").lower() == "gzip":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                data = b"\x00"  # not gzip after all: answered as invalid JSON
        return data

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        raw = self._read_body()
        status, payload, headers, kind = fake._faulty(method, self.path, self.headers, raw)
        if fake.latency > 0:
            time.sleep(fake.latency)
        if kind == shared_faults.COMMIT_THEN_TIMEOUT:  # stored; the answer never comes
            time.sleep(shared_faults.HANG)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = json.dumps(payload, separators=(",", ":")).encode()
        if kind == shared_faults.TRUNCATED_BODY:  # the full length announced, half sent
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)  # send_header allows a name twice, on purpose
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


class FakeDatadog(Dashboards):
    """In-memory fake of Datadog's Monitors v1, SLO v1 and Dashboards v1 APIs (the last in
    tests/fakes/datadog_dashboards.py), served on 127.0.0.1.

    ``monitors`` (id -> monitor) and ``slos`` (id -> SLO) hold the objects exactly as the
    server returns them; ``requests`` lists ``(method, path_with_query)`` of every request
    received, failed ones included.  Read them after the client call returned; use the helper
    methods (or hold ``lock``) to change them while the server is running.
    """

    def __init__(
        self,
        api_key: str = "fake-api-key",
        app_key: str = "fake-app-key",
        latency: float = 0.0,
        *,
        port: int = 0,
        metric_alert_as_query_alert: bool = True,
        verbose: bool = False,
    ) -> None:
        self.api_key = api_key
        self.app_key = app_key
        self.latency = latency
        self.port = port
        self.metric_alert_as_query_alert = metric_alert_as_query_alert
        self.verbose = verbose
        self.monitors: dict[int, dict[str, Any]] = {}
        self.slos: dict[str, dict[str, Any]] = {}
        self._init_dashboards()
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self._faults: deque[_Fault] = deque()
        self.faults = shared_faults.Faults()  # the shared kinds, see inject_fault
        self._next_monitor_id = FIRST_MONITOR_ID
        self._last_ts = datetime.fromtimestamp(0, UTC)
        self._window_start = time.monotonic()
        self._window_count = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.points: dict[str, list[tuple[float, float]]] = {}  # metric query -> points

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeDatadog:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", self.port), self)
        self.port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-datadog-{self.port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Shut the server down, close open connections and join the threads (bounded)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        stopper = threading.Thread(target=server.shutdown, daemon=True)
        stopper.start()
        stopper.join(timeout)
        server.server_close()
        server.close_connections(timeout)
        thread.join(timeout)
        if thread.is_alive() or stopper.is_alive():
            raise RuntimeError(f"fake Datadog server did not stop within {timeout}s")

    def __enter__(self) -> FakeDatadog:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeDatadog is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- test helpers

    def inject(
        self,
        status: int = 429,
        count: int = 1,
        *,
        duplicate_reset_header: bool = False,
        reset_seconds: int = 1,
        limit: int = 100,
        period: int = 10,
        name: str | None = None,
    ) -> None:
        """Make the next ``count`` /api requests fail with ``status`` (429 or 5xx).

        A 429 carries X-RateLimit-Limit/Period/Remaining(0)/Reset/Name; with
        ``duplicate_reset_header`` the X-RateLimit-Reset header is sent twice.  ``name`` defaults
        to the API the request was for ("monitor", "slo", ...).
        """
        if status < 400:
            raise ValueError("inject() wants an error status")
        with self.lock:
            for _ in range(count):
                self._faults.append(
                    _Fault(status, duplicate_reset_header, int(reset_seconds), limit, period, name)
                )

    def inject_fault(self, kind: str, count: int = 1, operation: str | None = None) -> None:
        """One of the shared faults (tests/fakes/faults.py) for the next ``count`` requests
        matching ``operation`` (``"POST slo"``, ``"GET monitor"``, ``"POST"``...)."""
        self.faults.inject(kind, count, operation)

    def _faulty(
        self, method: str, raw_path: str, headers: Any, raw_body: bytes
    ) -> tuple[int, Any, list[tuple[str, str]], str | None]:
        """:meth:`_handle`, with the shared faults applied; the kind tells ``_dispatch`` how
        to answer (hang, or cut the body)."""
        path = urlsplit(raw_path).path.rstrip("/") or "/"
        lists = ("/api/v1/monitor", "/api/v1/slo", "/api/v1/dashboard")
        is_list = method == "GET" and path in lists
        kind = self.faults.take(
            f"{method} {self._api_name(path)}", method in ("POST", "PUT", "DELETE"), is_list
        )
        if kind == shared_faults.RATE_LIMITED:
            with self.lock:
                self.requests.append((method, raw_path))
            return (*self._fault_answer(_Fault(429, False, 1, 100, 10, None), path), kind)
        if kind == shared_faults.HEADER_ECHO:
            with self.lock:
                self.requests.append((method, raw_path))
            return 400, {"errors": [shared_faults.echo(dict(headers.items()))]}, [], kind
        status, payload, out_headers = self._handle(method, raw_path, headers, raw_body)
        if kind == shared_faults.COMMIT_THEN_5XX and status < 300:
            return 500, {"errors": ["Internal Server Error"]}, [], kind
        if kind == shared_faults.SHORT_PAGE and status == 200:
            if isinstance(payload, list):
                payload = shared_faults.shorten(payload, kind)
            elif isinstance(payload, dict) and isinstance(payload.get("data"), list):
                payload = {**payload, "data": shared_faults.shorten(payload["data"], kind)}
            elif isinstance(payload, dict) and isinstance(payload.get("dashboards"), list):
                payload = {"dashboards": shared_faults.shorten(payload["dashboards"], kind)}
        return status, payload, out_headers, kind

    def clear_injections(self) -> None:
        with self.lock:
            self._faults.clear()

    @property
    def pending_injections(self) -> int:
        with self.lock:
            return len(self._faults)

    def request_count(self, method: str | None = None, path_prefix: str = "") -> int:
        """Requests received so far, optionally only those with this method / path prefix."""
        with self.lock:
            return sum(
                1
                for m, p in self.requests
                if (method is None or m == method) and p.startswith(path_prefix)
            )

    def add_monitor(self, monitor: dict[str, Any], *, validate: bool = True) -> int:
        """Store a monitor as if someone created it elsewhere (e.g. in the UI); returns its id.

        ``validate=False`` skips the reference, threshold and duplicate checks.
        """
        with self.lock:
            try:
                return self._create_monitor(monitor, validate=validate)["id"]
            except ApiError as err:
                raise ValueError(err.body) from None

    def add_slo(self, slo: dict[str, Any], *, validate: bool = True) -> str:
        """Store an SLO as if someone created it elsewhere; returns its id."""
        with self.lock:
            try:
                return self._create_slo(slo, validate=validate)["id"]
            except ApiError as err:
                raise ValueError(err.body) from None

    def edit_monitor(self, monitor_id: int, **fields: Any) -> dict[str, Any]:
        """Simulate a human editing a monitor in the UI (drift).

        Top-level fields replace the stored ones; ``options`` is merged key by key into the
        stored options (thresholds given replace the stored thresholds).  ``modified`` moves.
        Returns a copy of the stored monitor.
        """
        with self.lock:
            if monitor_id not in self.monitors:
                raise KeyError(monitor_id)
            monitor = self.monitors[monitor_id]
            for key, value in fields.items():
                if key == "options":
                    merged = copy.deepcopy(monitor.get("options") or {})
                    merged.update(copy.deepcopy(value))
                    monitor["options"] = self._normalise_options(merged, monitor["type"])
                elif key in ("message", "query") and isinstance(value, str):
                    monitor[key] = value.strip()
                elif key == "type" and isinstance(value, str):
                    monitor[key] = self._normalise_type(value)
                else:
                    monitor[key] = copy.deepcopy(value)
            monitor["multi"] = self._is_multi(monitor)
            monitor["modified"] = self._iso(self._tick())
            return copy.deepcopy(monitor)

    def submit_points(self, metric_query: str, points: list[tuple[float, float]]) -> None:
        """Add ``(epoch seconds, value)`` points to a metric query as monitors name it
        (e.g. ``sum:shop.errors{env:prod}.as_count()``), for :meth:`evaluate`."""
        from tests.fakes.datadog_eval import metric_key

        with self.lock:
            self.points.setdefault(metric_key(metric_query), []).extend(points)

    def evaluate(self, now: float) -> dict[int, str]:
        """Evaluate every metric monitor and ``&&`` composite at ``now`` (epoch seconds), store
        their ``overall_state`` and return id -> state (rules: tests/fakes/datadog_eval.py)."""
        from tests.fakes.datadog_eval import evaluate_all

        with self.lock:
            return evaluate_all(self.monitors, self.points, now)

    def edit_slo(self, slo_id: str, **fields: Any) -> dict[str, Any]:
        """Simulate a human editing an SLO in the UI; ``modified_at`` moves (1 s resolution)."""
        with self.lock:
            if slo_id not in self.slos:
                raise KeyError(slo_id)
            slo = self.slos[slo_id]
            for key, value in fields.items():
                slo[key] = copy.deepcopy(value)
            if "thresholds" in fields:
                slo["thresholds"] = [self._threshold_out(t) for t in slo["thresholds"]]
            slo["modified_at"] = max(int(time.time()), slo.get("modified_at", 0) + 1)
            return copy.deepcopy(slo)

    # ----------------------------------------------------------------- plumbing

    def _tick(self) -> datetime:
        """Current UTC time, strictly increasing between calls."""
        now = datetime.now(UTC)
        if now <= self._last_ts:
            now = self._last_ts + timedelta(microseconds=1)
        self._last_ts = now
        return now

    @staticmethod
    def _iso(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

    def _rate_headers(self) -> list[tuple[str, str]]:
        now = time.monotonic()
        if now - self._window_start >= RATE_PERIOD:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        reset = max(1, int(RATE_PERIOD - (now - self._window_start)))
        return [
            ("X-RateLimit-Limit", str(RATE_LIMIT)),
            ("X-RateLimit-Period", str(RATE_PERIOD)),
            ("X-RateLimit-Remaining", str(max(0, RATE_LIMIT - self._window_count))),
            ("X-RateLimit-Reset", str(reset)),
        ]

    @staticmethod
    def _api_name(path: str) -> str:
        parts = path.split("/")
        return parts[3] if len(parts) > 3 and parts[3] else "api"

    def _fault_answer(self, fault: _Fault, path: str) -> tuple[int, Any, list[tuple[str, str]]]:
        if fault.status != 429:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            return fault.status, {"errors": [phrase]}, []
        headers = [
            ("X-RateLimit-Limit", str(fault.limit)),
            ("X-RateLimit-Period", str(fault.period)),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", str(fault.reset_seconds)),
            ("X-RateLimit-Name", fault.name or self._api_name(path)),
        ]
        if fault.duplicate_reset_header:
            headers.append(("X-RateLimit-Reset", str(fault.reset_seconds)))
        return 429, {"errors": ["Too many requests"]}, headers

    def _handle(
        self, method: str, raw_path: str, headers: Any, raw_body: bytes
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        with self.lock:
            self.requests.append((method, raw_path))
            if not path.startswith("/api/"):
                return 404, {"errors": ["Not found"]}, []
            if self._faults:
                return self._fault_answer(self._faults.popleft(), path)
            if headers.get("DD-API-KEY") != self.api_key:
                return 403, copy.deepcopy(FORBIDDEN_BODY), []
            if path == "/api/v1/validate":
                return 200, {"valid": True}, self._rate_headers()
            if headers.get("DD-APPLICATION-KEY") != self.app_key:
                return 403, copy.deepcopy(FORBIDDEN_BODY), []
            rate_headers = self._rate_headers()
            try:
                body = self._parse_json(raw_body) if method in ("POST", "PUT", "PATCH") else None
                status, payload = self._route(method, path, params, body)
            except ApiError as err:
                return err.status, err.body, rate_headers
            except Exception as err:  # a bug in the fake: make it visible to the test
                return 500, {"errors": [f"fake Datadog internal error: {err!r}"]}, rate_headers
            return status, payload, rate_headers

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        if not raw:
            return None
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _bad_request("Invalid JSON payload") from None

    def _route(self, method: str, path: str, params: dict[str, str], body: Any) -> tuple[int, Any]:
        answer = self.route_dashboard(method, path, params, body)
        if answer is None:  # GET /api/v1/query, from the submitted points
            answer = route_metrics(self.points, method, path, params)
        if answer is not None:
            return answer
        if path == "/api/v1/monitor":
            if method == "GET":
                return 200, self._list_monitors(params)
            if method == "POST":
                return 200, copy.deepcopy(self._create_monitor(body, validate=True))
            raise ApiError(405, {"errors": ["Method Not Allowed"]})
        if path == "/api/v1/monitor/can_delete":
            if method == "GET":
                return self._can_delete_monitors(params)
            raise ApiError(405, {"errors": ["Method Not Allowed"]})
        match = _MONITOR_PATH_RE.match(path)
        if match:
            if not match.group(1).isdigit():
                raise _monitor_not_found()
            monitor_id = int(match.group(1))
            if method == "GET":
                return 200, self._get_monitor(monitor_id, params)
            if method == "PUT":
                return 200, copy.deepcopy(self._update_monitor(monitor_id, body))
            if method == "DELETE":
                return 200, self._delete_monitor(monitor_id, _truthy(params.get("force")))
            raise ApiError(405, {"errors": ["Method Not Allowed"]})
        if path == "/api/v1/slo":
            if method == "GET":
                return 200, self._list_slos(params)
            if method == "POST":
                slo = self._create_slo(body, validate=True)
                return 200, {"data": [copy.deepcopy(slo)], "error": None}
            raise ApiError(405, {"errors": ["Method Not Allowed"]})
        if path == "/api/v1/slo/can_delete":
            if method == "GET":
                return self._can_delete_slos(params)
            raise ApiError(405, {"errors": ["Method Not Allowed"]})
        match = _SLO_PATH_RE.match(path)
        if match:
            slo_id = match.group(1)
            if method == "GET":
                return 200, self._get_slo(slo_id, params)
            if method == "PUT":
                slo = self._update_slo(slo_id, body)
                return 200, {"data": [copy.deepcopy(slo)], "error": None}
            if method == "DELETE":
                return self._delete_slo(slo_id, _truthy(params.get("force")))
            raise ApiError(405, {"errors": ["Method Not Allowed"]})
        raise ApiError(404, {"errors": ["Not found"]})

    # ----------------------------------------------------------------- monitors

    def _normalise_type(self, monitor_type: str) -> str:
        if monitor_type == "metric alert" and self.metric_alert_as_query_alert:
            return "query alert"
        return monitor_type

    @staticmethod
    def _normalise_options(options: Any, monitor_type: str) -> dict[str, Any]:
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise _bad_request("The value provided for parameter 'options' is invalid")
        result = copy.deepcopy(options)
        thresholds = result.get("thresholds")
        if thresholds is not None:
            if not isinstance(thresholds, dict):
                raise _bad_request("The value provided for parameter 'thresholds' is invalid")
            cleaned: dict[str, Any] = {}
            for key, value in thresholds.items():
                if value is None:
                    continue
                if key == "critical_query" and isinstance(value, str):
                    cleaned[key] = value
                    continue
                try:
                    if isinstance(value, bool):
                        raise ValueError
                    cleaned[key] = float(value)
                except (TypeError, ValueError):
                    raise _bad_request(
                        f"The value provided for threshold '{key}' is invalid: must be a number"
                    ) from None
            result["thresholds"] = cleaned
        for key, value in DEFAULT_MONITOR_OPTIONS.items():
            result.setdefault(key, copy.deepcopy(value))
        if monitor_type == "log alert":
            result.setdefault("groupby_simple_monitor", False)
        return result

    @staticmethod
    def _is_multi(monitor: dict[str, Any]) -> bool:
        if monitor.get("type") == "composite":
            return False
        return bool(_GROUPED_RE.search(monitor.get("query") or ""))

    def _check_monitor_fields(self, monitor: dict[str, Any]) -> None:
        tags = monitor.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise _bad_request("The value provided for parameter 'tags' is invalid")
        priority = monitor.get("priority")
        if priority is not None and (
            not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 5
        ):
            raise _bad_request("The value provided for parameter 'priority' is invalid")
        if not isinstance(monitor.get("name"), str) or not isinstance(monitor.get("message"), str):
            raise _bad_request("The value provided for parameter 'name' or 'message' is invalid")

    def _check_monitor_query(self, monitor: dict[str, Any], own_id: int | None) -> None:
        monitor_type, query = monitor["type"], monitor["query"]
        if monitor_type in _METRIC_FAMILY and not _balanced(query):
            # FACT: metric queries add up with ``+`` and group with parentheses (docs:
            # monitors/guide/as-count-in-monitor-evaluations); ASSUMED: the wording of the
            # 400 for parentheses that do not pair up.
            raise _bad_request(
                "The value provided for parameter 'query' is invalid: unbalanced parentheses"
            )
        if monitor_type not in _NO_COMPARISON_TYPES:
            found = _COMPARISON_RE.search(query)
            if not found:
                raise _bad_request(
                    "The value provided for parameter 'query' is invalid: "
                    "invalid operator specified: "
                )
            critical = (monitor.get("options") or {}).get("thresholds", {}).get("critical")
            if found.group(2) != "threshold" and critical is not None:
                in_query = float(found.group(2))
                if float(critical) != in_query:
                    raise _bad_request(
                        f"Alert threshold ({float(critical)}) does not match that used in the "
                        f"query ({in_query})."
                    )
        if monitor_type == "composite":
            self._check_composite(query, own_id)
        elif monitor_type == "slo alert":
            self._check_slo_alert(query)

    def _check_composite(self, query: str, own_id: int | None) -> None:
        if not _COMPOSITE_ALLOWED_RE.match(query):
            raise _bad_request(
                "The value provided for parameter 'query' is invalid: a composite query may only "
                "combine monitor ids with &&, || and !"
            )
        ids = {int(x) for x in re.findall(r"\d+", query)}
        if not ids:
            raise _bad_request("The value provided for parameter 'query' is invalid")
        if len(ids) > MAX_COMPOSITE_MONITORS:
            raise _bad_request(
                f"A composite monitor can combine at most {MAX_COMPOSITE_MONITORS} monitors"
            )
        if own_id in ids or any(i not in self.monitors for i in ids):
            raise _bad_request("Some monitor IDs are invalid")
        nested = sorted(i for i in ids if self.monitors[i]["type"] == "composite")
        if nested:
            raise _bad_request(f"A composite monitor cannot use other composite monitors: {nested}")

    def _check_slo_alert(self, query: str) -> None:
        refs = _SLO_REF_RE.findall(query)
        if not refs:
            raise _bad_request(
                "The value provided for parameter 'query' is invalid: an slo alert query needs "
                'burn_rate("<slo_id>") or error_budget("<slo_id>")'
            )
        over = _OVER_RE.findall(query)
        for slo_id in refs:
            slo = self.slos.get(slo_id)
            if slo is None:
                raise _bad_request(
                    f"The value provided for parameter 'query' is invalid: SLO {slo_id} not found"
                )
            timeframes = {t["timeframe"] for t in slo.get("thresholds", [])}
            for timeframe in over:
                if timeframe not in timeframes:
                    raise _bad_request(
                        f"The value provided for parameter 'query' is invalid: SLO {slo_id} has "
                        f"no {timeframe} target"
                    )

    def _find_duplicate(self, monitor: dict[str, Any]) -> int | None:
        key = (
            monitor["name"],
            monitor["type"],
            monitor["query"],
            monitor["message"],
            sorted(set(monitor["tags"])),
        )
        for other in self.monitors.values():
            other_key = (
                other.get("name"),
                other.get("type"),
                other.get("query"),
                other.get("message"),
                sorted(set(other.get("tags") or [])),
            )
            if other_key == key:
                return other["id"]
        return None

    def _create_monitor(self, body: Any, *, validate: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad_request("Invalid payload: a JSON object is required")
        given = {k: copy.deepcopy(v) for k, v in body.items() if k not in _SERVER_MONITOR_FIELDS}
        monitor_type = given.get("type")
        if monitor_type is None:
            raise _bad_request("Invalid payload: Required parameter 'type' is missing")
        if monitor_type not in MONITOR_TYPES:
            raise _bad_request(
                f"The value provided for parameter 'type' is invalid: {monitor_type!r}"
            )
        query = given.get("query")
        if not isinstance(query, str) or not query.strip():
            raise _bad_request("Invalid payload: Required parameter 'query' is missing")
        monitor_type = self._normalise_type(monitor_type)
        query = query.strip()
        message = given.get("message")
        name = given.get("name")
        draft: dict[str, Any] = {
            "type": monitor_type,
            "name": name if name is not None else query,  # ASSUMED default name
            "message": message.strip() if isinstance(message, str) else (message or ""),
            "tags": given.get("tags") if given.get("tags") is not None else [],
            "query": query,
            "options": self._normalise_options(given.get("options"), monitor_type),
            "priority": given.get("priority"),
            "restricted_roles": given.get("restricted_roles"),
        }
        self._check_monitor_fields(draft)
        if validate:
            self._check_monitor_query(draft, None)
            duplicate = self._find_duplicate(draft)
            if duplicate is not None:
                raise _bad_request(
                    f"Duplicate of an existing monitor_id:{duplicate} org_id:{ORG_ID}"
                )
        now = self._tick()
        monitor_id = self._next_monitor_id
        self._next_monitor_id += 1
        monitor: dict[str, Any] = {
            "id": monitor_id,
            "org_id": ORG_ID,
            "type": draft["type"],
            "name": draft["name"],
            "message": draft["message"],
            "tags": draft["tags"],
            "query": draft["query"],
            "options": draft["options"],
            "multi": False,
            "created_at": int(now.timestamp() * 1000),
            "created": self._iso(now),
            "modified": self._iso(now),
            "deleted": None,
            "restricted_roles": draft["restricted_roles"],
            "priority": draft["priority"],
            "overall_state_modified": None,
            "overall_state": "No Data",
            "creator": copy.deepcopy(MONITOR_CREATOR),
        }
        for key, value in given.items():  # pass through anything else the client sent
            monitor.setdefault(key, value)
        monitor["multi"] = self._is_multi(monitor)
        self.monitors[monitor_id] = monitor
        return monitor

    def _update_monitor(self, monitor_id: int, body: Any) -> dict[str, Any]:
        if monitor_id not in self.monitors:
            raise _monitor_not_found()
        if not isinstance(body, dict):
            raise _bad_request("Invalid payload: a JSON object is required")
        stored = self.monitors[monitor_id]
        updated = copy.deepcopy(stored)
        for key, value in body.items():
            if key in _SERVER_MONITOR_FIELDS:
                continue
            if key == "type":
                new_type = self._normalise_type(value) if isinstance(value, str) else value
                same = new_type == stored["type"] or {new_type, stored["type"]} <= _METRIC_FAMILY
                if not same:
                    raise _bad_request("The type of an existing monitor cannot be changed")
            elif key == "options":
                updated["options"] = self._normalise_options(value, stored["type"])
            elif key in ("message", "query"):
                if not isinstance(value, str) or (key == "query" and not value.strip()):
                    raise _bad_request(f"The value provided for parameter '{key}' is invalid")
                updated[key] = value.strip()
            elif key == "tags" and value is None:
                updated["tags"] = []
            else:
                updated[key] = copy.deepcopy(value)
        self._check_monitor_fields(updated)
        self._check_monitor_query(updated, monitor_id)
        updated["multi"] = self._is_multi(updated)
        updated["modified"] = self._iso(self._tick())
        self.monitors[monitor_id] = updated
        return updated

    def _get_monitor(self, monitor_id: int, params: dict[str, str]) -> dict[str, Any]:
        if monitor_id not in self.monitors:
            raise _monitor_not_found()
        monitor = copy.deepcopy(self.monitors[monitor_id])
        if _truthy(params.get("with_downtimes")):
            monitor["matching_downtimes"] = []
        return monitor

    def _monitor_references(self, monitor_id: int) -> list[str]:
        monitor = self.monitors[monitor_id]
        problems = []
        composites = [
            _label(m)
            for m in self.monitors.values()
            if m["type"] == "composite"
            and m["id"] != monitor_id
            and monitor_id in {int(x) for x in re.findall(r"\d+", m.get("query") or "")}
        ]
        if composites:
            problems.append(
                f"monitor {_label(monitor)} is referenced in composite monitors: "
                + ", ".join(composites)
            )
        slos = [
            _label(s)
            for s in self.slos.values()
            if s.get("type") == "monitor" and monitor_id in (s.get("monitor_ids") or [])
        ]
        if slos:
            problems.append(f"monitor {_label(monitor)} is referenced in slos: " + ", ".join(slos))
        return problems

    def _delete_monitor(self, monitor_id: int, force: bool) -> dict[str, Any]:
        if monitor_id not in self.monitors:
            raise _monitor_not_found()
        problems = self._monitor_references(monitor_id)
        if problems and not force:
            raise _bad_request(*problems)
        del self.monitors[monitor_id]
        return {"deleted_monitor_id": monitor_id}

    def _can_delete_monitors(self, params: dict[str, str]) -> tuple[int, Any]:
        ok: list[int] = []
        errors: dict[str, list[str]] = {}
        for raw in _split_csv(params.get("monitor_ids")):
            if not raw.isdigit() or int(raw) not in self.monitors:
                errors[raw] = ["Monitor not found"]
                continue
            problems = self._monitor_references(int(raw))
            if problems:
                errors[raw] = problems
            else:
                ok.append(int(raw))
        return (409 if errors else 200), {"data": {"ok": ok}, "errors": errors or None}

    @staticmethod
    def _int_param(params: dict[str, str], name: str, default: int | None) -> int | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _bad_request(f"Invalid value for parameter '{name}': {raw!r}") from None
        if value < 0:
            raise _bad_request(f"Invalid value for parameter '{name}': {raw!r}")
        return value

    def _list_monitors(self, params: dict[str, str]) -> list[dict[str, Any]]:
        wanted_tags = set(_split_csv(params.get("monitor_tags")))
        scope_tags = set(_split_csv(params.get("tags")))
        name = (params.get("name") or "").lower()
        id_offset = self._int_param(params, "id_offset", None)
        page = self._int_param(params, "page", None)
        page_size = self._int_param(params, "page_size", DEFAULT_PAGE_SIZE)
        if page_size is not None and page_size > MAX_PAGE_SIZE:
            raise _bad_request(f"page_size must be at most {MAX_PAGE_SIZE}")
        found = []
        for monitor_id in sorted(self.monitors):
            monitor = self.monitors[monitor_id]
            if wanted_tags and not wanted_tags <= set(monitor.get("tags") or []):
                continue
            if scope_tags and not scope_tags <= _scope_tags(monitor.get("query") or ""):
                continue
            if name and name not in (monitor.get("name") or "").lower():
                continue
            if id_offset is not None and monitor_id <= id_offset:
                continue
            found.append(monitor)
        if page is not None:
            size = page_size or DEFAULT_PAGE_SIZE
            found = found[page * size : (page + 1) * size]
        with_downtimes = _truthy(params.get("with_downtimes"))
        result = []
        for monitor in found:
            item = copy.deepcopy(monitor)
            if with_downtimes:
                item["matching_downtimes"] = []
            result.append(item)
        return result

    # ----------------------------------------------------------------- SLOs

    @staticmethod
    def _threshold_out(threshold: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "timeframe": threshold["timeframe"],
            "target": float(threshold["target"]),
            "target_display": _display(threshold["target"]),
        }
        if threshold.get("warning") is not None:
            out["warning"] = float(threshold["warning"])
            out["warning_display"] = _display(threshold["warning"])
        return out

    @staticmethod
    def _check_percentage(value: Any, what: str, timeframe: str) -> None:
        if not _is_number(value):
            raise _bad_request(
                f"Invalid payload: {what} of the {timeframe} threshold must be a number"
            )
        if not 0 < float(value) < 100:
            raise _bad_request(
                f"Invalid payload: {what} of the {timeframe} threshold must be between 0 and 100 "
                f"(exclusive), got {value}"
            )
        if _decimals(value) > SLO_TARGET_MAX_DECIMALS:
            raise _bad_request(
                f"Invalid payload: {what} of the {timeframe} threshold has more than "
                f"{SLO_TARGET_MAX_DECIMALS} decimal places: {value}"
            )

    def _check_slo_thresholds(self, thresholds: Any) -> None:
        if not isinstance(thresholds, list) or not thresholds:
            raise _bad_request("Invalid payload: Required parameter 'thresholds' is missing")
        seen: set[str] = set()
        for threshold in thresholds:
            if not isinstance(threshold, dict):
                raise _bad_request("Invalid payload: each threshold must be an object")
            timeframe = threshold.get("timeframe")
            if timeframe not in SLO_TIMEFRAMES:
                raise _bad_request(
                    f"Invalid payload: timeframe {timeframe!r} is not one of "
                    f"{', '.join(SLO_TIMEFRAMES)}"
                )
            if timeframe in seen:
                raise _bad_request(f"Invalid payload: more than one {timeframe} threshold")
            seen.add(timeframe)
            self._check_percentage(threshold.get("target"), "target", timeframe)
            warning = threshold.get("warning")
            if warning is not None:
                self._check_percentage(warning, "warning", timeframe)
                if float(warning) <= float(threshold["target"]):
                    raise _bad_request(
                        f"Invalid payload: warning of the {timeframe} threshold must be greater "
                        "than its target"
                    )

    def _build_slo(
        self, body: Any, *, validate: bool, existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad_request("Invalid payload: a JSON object is required")
        given = {k: copy.deepcopy(v) for k, v in body.items() if k not in _SERVER_SLO_FIELDS}
        slo_type = given.get("type")
        if slo_type is None:
            raise _bad_request("Invalid payload: Required parameter 'type' is missing")
        if slo_type not in SLO_TYPE_IDS:
            raise _bad_request(f"Invalid payload: SLO type {slo_type!r} is not supported")
        if not isinstance(given.get("name"), str) or not given["name"].strip():
            raise _bad_request("Invalid payload: Required parameter 'name' is missing")
        thresholds = given.get("thresholds")
        if validate:
            self._check_slo_thresholds(thresholds)
        elif not isinstance(thresholds, list) or not thresholds:
            raise _bad_request("Invalid payload: Required parameter 'thresholds' is missing")
        tags = given.get("tags") if given.get("tags") is not None else []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise _bad_request("Invalid payload: tags must be a list of strings")
        query = given.get("query")
        monitor_ids = given.get("monitor_ids")
        metric_query_ok = (
            isinstance(query, dict)
            and isinstance(query.get("numerator"), str)
            and isinstance(query.get("denominator"), str)
            and bool(query["numerator"].strip())
            and bool(query["denominator"].strip())
            # FACT: a side may add metric queries, e.g. good events
            # ``sum:httpservice.hits{code:2xx} + sum:httpservice.hits{code:4xx}`` (docs:
            # service_level_objectives/metric); ASSUMED: unpaired parentheses are refused.
            and _balanced(query["numerator"])
            and _balanced(query["denominator"])
        )
        if slo_type == "metric" and "sli_specification" not in given and not metric_query_ok:
            raise _bad_request(
                "Invalid payload: a metric SLO needs query.numerator and query.denominator"
            )
        if slo_type == "monitor":
            if not isinstance(monitor_ids, list) or not monitor_ids:
                raise _bad_request("Invalid payload: a monitor SLO needs monitor_ids")
            if validate and any(m not in self.monitors for m in monitor_ids):
                raise _bad_request("Invalid payload: some monitor_ids do not exist")
            if given.get("groups") and len(monitor_ids) != 1:
                raise _bad_request("Invalid payload: groups needs exactly one monitor id")
        if slo_type == "time_slice" and not isinstance(
            (given.get("sli_specification") or {}).get("time_slice"), dict
        ):
            raise _bad_request("Invalid payload: a time_slice SLO needs sli_specification")

        out_thresholds = [self._threshold_out(t) for t in thresholds]
        primary_timeframe = given.get("timeframe") or out_thresholds[0]["timeframe"]
        primary = next((t for t in out_thresholds if t["timeframe"] == primary_timeframe), None)
        if primary is None:
            raise _bad_request(
                f"Invalid payload: timeframe {primary_timeframe!r} has no matching threshold"
            )
        if existing is None:
            slo_id = secrets.token_hex(16)
            created_at = int(time.time())
            creator = copy.deepcopy(SLO_CREATOR)
            modified_at = created_at
        else:
            slo_id = existing["id"]
            created_at = existing["created_at"]
            creator = existing["creator"]
            modified_at = max(int(time.time()), existing["modified_at"])
        monitor_tags: list[str] = []
        if slo_type == "monitor":
            for monitor_id in monitor_ids:
                for tag in (self.monitors.get(monitor_id) or {}).get("tags") or []:
                    if tag not in monitor_tags:
                        monitor_tags.append(tag)
        description = given.get("description", "")
        slo: dict[str, Any] = {
            "id": slo_id,
            "name": given["name"],
            "tags": tags,
            "monitor_tags": monitor_tags,
            "thresholds": out_thresholds,
            "type": slo_type,
            "type_id": SLO_TYPE_IDS[slo_type],
            "description": description,
            "timeframe": primary_timeframe,
        }
        if "warning" in primary:
            slo["warning_threshold"] = primary["warning"]
        slo["target_threshold"] = primary["target"]
        if query is not None:
            slo["query"] = query
        if slo_type == "monitor":
            slo["monitor_ids"] = monitor_ids
        if given.get("sli_specification") is not None:
            slo["sli_specification"] = given["sli_specification"]
        if given.get("groups"):
            slo["groups"] = given["groups"]
        skip = {"target_threshold", "warning_threshold", "monitor_ids", "groups", "query"}
        for key, value in given.items():  # pass through anything else the client sent
            if key not in skip:
                slo.setdefault(key, value)
        slo["creator"] = creator
        slo["created_at"] = created_at
        slo["modified_at"] = modified_at
        return slo

    def _create_slo(self, body: Any, *, validate: bool) -> dict[str, Any]:
        slo = self._build_slo(body, validate=validate, existing=None)
        self.slos[slo["id"]] = slo
        return slo

    def _update_slo(self, slo_id: str, body: Any) -> dict[str, Any]:
        if slo_id not in self.slos:
            raise _slo_not_found(slo_id)
        slo = self._build_slo(body, validate=True, existing=self.slos[slo_id])
        self.slos[slo_id] = slo
        return slo

    def _configured_alert_ids(self, slo_id: str) -> list[int]:
        return [
            m["id"]
            for m in sorted(self.monitors.values(), key=lambda m: m["id"])
            if m["type"] == "slo alert" and slo_id in _SLO_REF_RE.findall(m.get("query") or "")
        ]

    def _get_slo(self, slo_id: str, params: dict[str, str]) -> dict[str, Any]:
        if slo_id not in self.slos:
            raise _slo_not_found(slo_id)
        slo = copy.deepcopy(self.slos[slo_id])
        if _truthy(params.get("with_configured_alert_ids")):
            slo["configured_alert_ids"] = self._configured_alert_ids(slo_id)
        return {"data": slo, "error": None}

    def _slo_problem(self, slo_id: str) -> str | None:
        users = [_label(self.monitors[i]) for i in self._configured_alert_ids(slo_id)]
        boards = self.dashboards_referencing(slo_id)
        if boards:  # FACT: an SLO shown on a dashboard is refused (tests/fakes/datadog_dashboards)
            return f"slo {_label(self.slos[slo_id])} is referenced in dashboards: " + ", ".join(
                boards
            )
        if not users:
            return None
        return f"slo {_label(self.slos[slo_id])} is referenced in monitors: " + ", ".join(users)

    def _delete_slo(self, slo_id: str, force: bool) -> tuple[int, Any]:
        if slo_id not in self.slos:
            raise _slo_not_found(slo_id)
        problem = self._slo_problem(slo_id)
        if problem and not force:
            return 409, {"data": [], "errors": {slo_id: problem}}
        del self.slos[slo_id]
        return 200, {"data": [slo_id], "error": None}

    def _can_delete_slos(self, params: dict[str, str]) -> tuple[int, Any]:
        ok: list[str] = []
        errors: dict[str, str] = {}
        for slo_id in _split_csv(params.get("ids")):
            if slo_id not in self.slos:
                errors[slo_id] = f"SLO not found: {slo_id} not found"
                continue
            problem = self._slo_problem(slo_id)
            if problem:
                errors[slo_id] = problem
            else:
                ok.append(slo_id)
        return (409 if errors else 200), {"data": {"ok": ok}, "errors": errors}

    @staticmethod
    def _slo_has_tag(slo: dict[str, Any], tag_query: str) -> bool:
        for tag in slo.get("tags") or []:
            if tag == tag_query or (":" not in tag_query and tag.split(":", 1)[0] == tag_query):
                return True
        return False

    def _list_slos(self, params: dict[str, str]) -> dict[str, Any]:
        ids = set(_split_csv(params.get("ids")))
        name = (params.get("query") or "").lower()
        tags_query = (params.get("tags_query") or "").strip()
        metrics_query = params.get("metrics_query") or ""
        limit = self._int_param(params, "limit", MAX_SLO_LIMIT)
        offset = self._int_param(params, "offset", 0) or 0
        if limit is not None and limit > MAX_SLO_LIMIT:
            raise _bad_request(f"limit must be at most {MAX_SLO_LIMIT}")
        found = []
        for slo in self.slos.values():  # dicts keep insertion (= creation) order
            if ids and slo["id"] not in ids:
                continue
            if name and name not in slo["name"].lower():
                continue
            if tags_query and not self._slo_has_tag(slo, tags_query):
                continue
            if metrics_query:
                query = slo.get("query") or {}
                text = f"{query.get('numerator', '')} {query.get('denominator', '')}"
                if metrics_query not in text:
                    continue
            found.append(slo)
        page = found[offset : offset + (limit if limit is not None else MAX_SLO_LIMIT)]
        answer: dict[str, Any] = {"data": copy.deepcopy(page), "error": None}
        if "limit" in params or "offset" in params:
            answer["metadata"] = {
                "page": {"total_count": len(self.slos), "total_filtered_count": len(found)}
            }
        return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake Datadog API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per response")
    parser.add_argument("--api-key", default="fake-api-key")
    parser.add_argument("--app-key", default="fake-app-key")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    fake = FakeDatadog(
        api_key=args.api_key,
        app_key=args.app_key,
        latency=args.latency,
        port=args.port,
        verbose=args.verbose,
    ).start()
    print(fake.url, flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        fake.stop()
    print(f"fake-datadog: served {len(fake.requests)} requests", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
