"""The Datadog ``api`` target: read and change monitors and SLOs through datadog-api-client.

Credentials come from the environment only (``DD_API_KEY``, ``DD_APP_KEY`` or
``DD_APPLICATION_KEY``, ``DD_SITE``); the target's ``host`` option points at another endpoint
(a proxy, or the fake API the tests run). Keys are never stored, printed or saved.

Raw JSON, both ways. The client is configured with ``preload_content=False`` (every call
returns the urllib3 response, which is parsed here), ``check_return_type=False`` and
``check_input_type=False`` (bodies are plain dicts): the generated models reject some monitors
that exist in real accounts and would drop fields they do not know, and slogen needs the
JSON exactly as Datadog stores it to normalise and diff it.

Retries are done here, not by the client: its built-in retry reads ``X-RateLimit-Reset``
with urllib3's ``Retry-After`` parser, which fails when Datadog sends that header twice
(urllib3 joins them as ``"7, 7"``; DataDog/datadog-api-client-python#3460). 429 and 5xx
answers are retried a bounded number of times, sleeping what ``X-RateLimit-Reset`` asks
(seconds until the rate-limit window resets), capped.

Reading costs one request per list page: monitors by tag ``managed-by:slogen`` with
``page_size=1000`` (``page=0,1,...`` until a short page) and SLOs by ``tags_query`` with
``limit=1000`` (``offset`` paging). Nothing is fetched per object.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from slogen.backends import datadog as dd
from slogen.errors import SlogenError
from slogen.plan.model import CREATE, DELETE, REPLACE, UPDATE, Change
from slogen.plan.outcome import DONE, FAILED, SKIPPED, ApplyReport
from slogen.plan.progress import Progress
from slogen.redact import redact
from slogen.resources import MANAGED_BY, LiveState, Resource
from slogen.spec.model import Target

API_KEY_VARIABLES = ("DD_API_KEY",)
APP_KEY_VARIABLES = ("DD_APP_KEY", "DD_APPLICATION_KEY")
SITE_VARIABLE = "DD_SITE"
DEFAULT_SITE = "datadoghq.com"
OWNED_TAG = f"managed-by:{MANAGED_BY}"

PAGE_SIZE = 1000  # the largest page Datadog serves for monitors and SLOs
MAX_PAGES = 10_000  # a guard against a server that never sends a short page
WORKERS = 8  # concurrent calls within one dependency level
REQUEST_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
_DUPLICATE_RE = re.compile(r"Duplicate of an existing monitor_id:(\d+)")
_RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))


@dataclass
class RetryPolicy:
    """How 429 and 5xx answers are retried: bounded attempts, bounded sleeps."""

    attempts: int = 8  # calls in total, the first one included
    max_sleep: float = 30.0  # cap on one sleep, whatever X-RateLimit-Reset says
    backoff: float = 0.5  # first sleep after a 5xx without a reset header; doubles each time
    max_total_sleep: float = 300.0  # give up when the sleeps of one call would exceed this

    def delay(self, status: int, headers: dict[str, str] | None, attempt: int) -> float:
        """Seconds to wait before the next attempt (``attempt`` counts from 0)."""
        reset = parse_reset(headers)
        if reset is not None:
            wait = reset if reset > 0 else self.backoff * 0.2
        else:
            wait = self.backoff * (2**attempt)
        jitter = random.uniform(0, min(wait, 1.0) * 0.1)  # spread concurrent retries a little
        return min(self.max_sleep, wait + jitter)


RETRY = RetryPolicy()


def parse_reset(headers: dict[str, str] | None) -> float | None:
    """Seconds from ``X-RateLimit-Reset``, also when the header came twice (``"7, 7"``)."""
    if not headers:
        return None
    value = None
    for name, raw in headers.items():
        if name.lower() == "x-ratelimit-reset":
            value = raw
    if value is None:
        return None
    numbers = []
    for part in str(value).split(","):
        try:
            numbers.append(float(part.strip()))
        except ValueError:
            continue
    return max(numbers) if numbers else None


class DatadogError(Exception):
    """An error answer (or none at all) from Datadog, with a message safe to print."""

    def __init__(self, message: str, status: int = 0, body: Any = None):
        super().__init__(redact(message))
        self.message = redact(message)
        self.status = status
        self.body = body


def _error_text(status: int, body: Any) -> str:
    errors: list[str] = []
    if isinstance(body, dict):
        raw = body.get("errors")
        if isinstance(raw, list):
            errors = [str(e) for e in raw]
        elif isinstance(raw, dict):
            errors = [f"{k}: {v}" for k, v in raw.items()]
        elif raw:
            errors = [str(raw)]
    elif body:
        errors = [str(body)[:300]]
    text = f"HTTP {status}"
    if errors:
        text += ": " + "; ".join(errors)
    return text


# -- settings and client --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    host: str
    api_key: str
    app_key: str


def _first_env(names: tuple[str, ...]) -> str:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return ""


def settings(target: Target) -> Settings:
    """Endpoint and keys; a clear error naming the variables when keys are missing."""
    api_key = _first_env(API_KEY_VARIABLES)
    app_key = _first_env(APP_KEY_VARIABLES)
    missing = []
    if not api_key:
        missing.append("DD_API_KEY")
    if not app_key:
        missing.append("DD_APP_KEY")
    if missing:
        raise SlogenError(
            "Datadog credentials are missing: set " + " and ".join(missing) + " in the environment",
            hint="the datadog target is type 'api'; create the keys under Organization Settings > "
            "API Keys / Application Keys, and set DD_SITE if your account is not on datadoghq.com "
            "(or use targets.datadog: {type: files} to work offline)",
        )
    host = target.option("host")
    if not host:
        site = os.environ.get(SITE_VARIABLE, "").strip() or DEFAULT_SITE
        site = re.sub(r"^https?://", "", site).strip("/")
        site = site[4:] if site.startswith("api.") else site
        host = f"https://api.{site}"
    return Settings(str(host).rstrip("/"), api_key, app_key)


class Client:
    """Monitors and SLO calls returning parsed JSON, with retries and a request counter."""

    def __init__(self, target: Target, retry: RetryPolicy | None = None):
        import urllib3
        from datadog_api_client import ApiClient, Configuration, rest
        from datadog_api_client.v1.api.monitors_api import MonitorsApi
        from datadog_api_client.v1.api.service_level_objectives_api import (
            ServiceLevelObjectivesApi,
        )

        self.settings = settings(target)
        self.retry = retry or RETRY
        config = Configuration(
            host=self.settings.host,
            check_input_type=False,
            check_return_type=False,
            preload_content=False,
            enable_retry=False,
            request_timeout=REQUEST_TIMEOUT,
            is_iac=True,  # sends "X-Datadog-Managed-By: iac"
        )
        config.api_key = {"apiKeyAuth": self.settings.api_key, "appKeyAuth": self.settings.app_key}
        # Only connection failures are retried by urllib3 (nothing was sent: safe for POST too).
        config.retry_policy = urllib3.Retry(
            total=2, connect=2, read=0, status=0, other=0, redirect=0, backoff_factor=0.2
        )

        class _PooledApiClient(ApiClient):
            def _build_rest_client(self):  # one pooled connection per worker thread
                return rest.RESTClientObject(self.configuration, maxsize=WORKERS)

        self._api_client = _PooledApiClient(config)
        self.monitors = MonitorsApi(self._api_client)
        self.slos = ServiceLevelObjectivesApi(self._api_client)
        self._lock = threading.Lock()
        self.requests = 0

    def close(self) -> None:
        self._api_client.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """One API call with retries on 429/5xx; returns the decoded JSON body."""
        import urllib3
        from datadog_api_client.exceptions import ApiException

        slept = 0.0
        for attempt in range(self.retry.attempts):
            with self._lock:
                self.requests += 1
            try:
                response = fn(**kwargs)
                data = response.data
                response.release_conn()  # preload_content=False: give the connection back
                return json.loads(data) if data else None
            except ApiException as exc:
                status = int(exc.status or 0)
                body = exc.body
                if status in _RETRY_STATUSES and attempt + 1 < self.retry.attempts:
                    wait = self.retry.delay(status, exc.headers, attempt)
                    if slept + wait <= self.retry.max_total_sleep:
                        slept += wait
                        time.sleep(wait)
                        continue
                raise DatadogError(f"{what}: {_error_text(status, body)}", status, body) from None
            except urllib3.exceptions.HTTPError as exc:
                reason = getattr(exc, "reason", None) or exc
                raise DatadogError(
                    f"{what}: cannot reach the Datadog API at {self.settings.host}: "
                    f"{_short_reason(reason)}"
                ) from None
            except ValueError as exc:  # not JSON
                raise DatadogError(
                    f"{what}: Datadog answered something that is not JSON: {exc}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- lists ----------------------------------------------------------------------------------

    def _monitor_page(self, page: int) -> list[dict[str, Any]]:
        batch = self.call(
            "listing monitors",
            self.monitors.list_monitors,
            monitor_tags=OWNED_TAG,
            page=page,
            page_size=PAGE_SIZE,
        )
        if not isinstance(batch, list):
            raise DatadogError("listing monitors: Datadog did not answer a list")
        return batch

    def list_owned_monitors(self, expected: int = 0) -> list[dict[str, Any]]:
        """Every monitor tagged managed-by:slogen, one request per page of 1,000.

        With ``expected`` (how many monitors the specs render, which is how many exist once
        applied), the pages after a full first page are fetched side by side; paging then goes
        on one page at a time until a short page. In the steady state that is exactly the pages
        needed, in the time of two.
        """
        found = self._monitor_page(0)
        if len(found) < PAGE_SIZE:
            return found  # also what an empty account costs: one request, no guessing
        first = max(1, -(-(expected + 1) // PAGE_SIZE))  # pages needed to see a short page
        with ThreadPoolExecutor(max_workers=4) as pool:
            batches = list(pool.map(self._monitor_page, range(1, first)))
        for batch in batches:
            found.extend(batch)
            if len(batch) < PAGE_SIZE:
                return found
        for page in range(first, MAX_PAGES):
            batch = self._monitor_page(page)
            found.extend(batch)
            if len(batch) < PAGE_SIZE:
                break
        return found

    def list_owned_slos(self) -> list[dict[str, Any]]:
        """Every SLO tagged managed-by:slogen, one request per page of 1,000."""
        found: list[dict[str, Any]] = []
        offset = 0
        for _ in range(MAX_PAGES):
            answer = self.call(
                "listing SLOs",
                self.slos.list_slos,
                tags_query=OWNED_TAG,
                limit=PAGE_SIZE,
                offset=offset,
            )
            batch = (answer or {}).get("data") or []
            found.extend(batch)
            if len(batch) < PAGE_SIZE:
                break
            offset += len(batch)
        return found


def _short_reason(reason: Any) -> str:
    text = str(reason)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host name"
    return text.split(": ", 1)[-1][:200]


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


# -- live state ---------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The owned live objects, keyed, with id maps both ways."""

    slos: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> raw
    monitors: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> raw
    slo_ids: dict[str, str] = field(default_factory=dict)  # key -> id
    monitor_ids: dict[str, str] = field(default_factory=dict)  # key -> id
    unkeyed: int = 0  # tagged managed-by:slogen but without (one) slogen-key: left alone


def _claim(items: list[dict[str, Any]], id_of: Callable[[dict[str, Any]], Any]):
    """Owned objects by key. The oldest object with a key gets it; later ones with the same key
    (e.g. left by an interrupted create) get ``<key>#<id>`` so the plan deletes them."""
    out: dict[str, dict[str, Any]] = {}
    unkeyed = 0
    for item in items:
        key = dd.ownership(item.get("tags"))
        if key is None:
            unkeyed += 1
            continue
        if key in out:
            key = f"{key}#{id_of(item)}"
        out[key] = item
    return out, unkeyed


def snapshot(raw_monitors: list[dict[str, Any]], raw_slos: list[dict[str, Any]]) -> Snapshot:
    monitors, unkeyed_m = _claim(
        sorted(raw_monitors, key=lambda m: int(m.get("id") or 0)), lambda m: m.get("id")
    )
    slos, unkeyed_s = _claim(raw_slos, lambda s: s.get("id"))  # creation order
    return Snapshot(
        slos=slos,
        monitors=monitors,
        slo_ids={k: str(v["id"]) for k, v in slos.items()},
        monitor_ids={k: str(v["id"]) for k, v in monitors.items()},
        unkeyed=unkeyed_m + unkeyed_s,
    )


def _symbolic_query(
    mtype: str, query: str, slo_keys: dict[str, str], monitor_keys: dict[str, str]
) -> str:
    """Live ids in a query back to the symbols render uses (unknown ids stay as they are);
    ``slo_keys`` and ``monitor_keys`` map ids to keys."""
    if mtype == dd.SLO_ALERT_TYPE:
        by_id = slo_keys

        def slo_ref(m: re.Match[str]) -> str:
            key = by_id.get(m.group(2))
            ref = dd.symbol("slo", key) if key else m.group(2)
            return f'{m.group(1)}("{ref}")'

        return re.sub(r'\b(burn_rate|error_budget)\(\s*"([^"]*)"\s*\)', slo_ref, query)
    if mtype == dd.COMPOSITE_TYPE:
        by_id = monitor_keys

        def monitor_ref(m: re.Match[str]) -> str:
            key = by_id.get(m.group(0))
            return dd.symbol("monitor", key) if key else m.group(0)

        return re.sub(r"\b\d+\b", monitor_ref, query)
    return query


def live_resources(snap: Snapshot, tname: str) -> list[Resource]:
    resources = []
    for key, raw in snap.slos.items():
        body = dd.normalise_slo_body(raw)
        resources.append(Resource(dd.BACKEND, tname, "slo", key, body, (), str(raw["id"])))
    slo_keys = {v: k for k, v in snap.slo_ids.items()}
    monitor_keys = {v: k for k, v in snap.monitor_ids.items()}
    for key, raw in snap.monitors.items():
        body = dd.normalise_monitor_body(raw)
        body["query"] = _symbolic_query(body["type"], body["query"], slo_keys, monitor_keys)
        resources.append(
            Resource(dd.BACKEND, tname, "monitor", key, body, dd.references(body), str(raw["id"]))
        )
    return resources


def read_snapshot(client: Client, expected_monitors: int = 0) -> Snapshot:
    """Both lists, fetched side by side (the SLO pages while the monitor pages come in)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        slos = pool.submit(client.list_owned_slos)
        try:
            monitors = client.list_owned_monitors(expected_monitors)
            return snapshot(monitors, slos.result())
        except DatadogError as exc:
            raise _read_error(exc, client.settings.host) from None


def read_live(target: Target, expected_monitors: int = 0) -> LiveState:
    with Client(target) as client:
        snap = read_snapshot(client, expected_monitors)
        warnings = []
        if snap.unkeyed:
            warnings.append(
                f"{snap.unkeyed} Datadog object(s) are tagged {OWNED_TAG} but have no single "
                "slogen-key: tag; slogen leaves them alone"
            )
        state = LiveState(live_resources(snap, dd.target_name(target)), warnings)
        state.extra["requests"] = client.requests
        return state


def conflicts(target: Target, desired: list[Resource], live: LiveState) -> list[str]:
    """Nothing can block an API target up front: unowned objects are never touched."""
    return []


# -- apply --------------------------------------------------------------------------------------


class _Unresolved(Exception):
    pass


class _Applier:
    """Runs the changes of one plan against Datadog, level by level, concurrently per level."""

    def __init__(self, client: Client, snap: Snapshot, desired: list[Resource]):
        self.client = client
        self.ids = {"slo": dict(snap.slo_ids), "monitor": dict(snap.monitor_ids)}
        self.desired = {r.key: r for r in desired}
        self.lock = threading.Lock()

    # ids ----------------------------------------------------------------------------------------

    def resolve(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body with every ``${kind:key}`` replaced by the object's current id."""
        missing: list[str] = []

        def sub(m: re.Match[str]) -> str:
            with self.lock:
                found = self.ids[m.group(1)].get(m.group(2))
            if found is None:
                missing.append(f"{m.group(1)} {m.group(2)}")
                return m.group(0)
            return found

        out = dict(body)
        if isinstance(out.get("query"), str):
            out["query"] = dd.SYMBOL_RE.sub(sub, out["query"])
        if missing:
            raise _Unresolved("references " + ", ".join(missing) + ", which does not exist")
        return out

    def remember(self, kind: str, key: str, object_id: Any) -> None:
        with self.lock:
            self.ids[kind][key] = str(object_id)

    def forget(self, kind: str, key: str, object_id: str) -> None:
        with self.lock:
            if self.ids[kind].get(key) == object_id:
                del self.ids[kind][key]

    # single operations ----------------------------------------------------------------------

    def create(self, res: Resource) -> str:
        body = self.resolve(res.body)
        if res.kind == "slo":
            answer = self.client.call(
                f"creating SLO {res.key}", self.client.slos.create_slo, body=body
            )
            new_id = str(answer["data"][0]["id"])
        else:
            try:
                answer = self.client.call(
                    f"creating monitor {res.key}", self.client.monitors.create_monitor, body=body
                )
                new_id = str(answer["id"])
            except DatadogError as exc:
                # A create whose answer was lost (a 5xx or a timeout after Datadog stored it)
                # is refused on retry as a duplicate of the stored monitor. If that monitor is
                # ours under this very key, adopt it and bring it up to date; anything else is
                # a real error (slogen never takes over a monitor it does not own).
                found = _DUPLICATE_RE.search(exc.message) if exc.status == 400 else None
                if not found:
                    raise
                new_id = found.group(1)
                existing = self.client.call(
                    f"reading monitor {new_id}",
                    self.client.monitors.get_monitor,
                    monitor_id=int(new_id),
                )
                if dd.ownership((existing or {}).get("tags")) != res.key:
                    raise
                self.client.call(
                    f"updating monitor {res.key}",
                    self.client.monitors.update_monitor,
                    monitor_id=int(new_id),
                    body=body,
                )
        self.remember(res.kind, res.key, new_id)
        return new_id

    def update(self, change: Change) -> None:
        res = change.after
        assert res is not None and change.before is not None
        object_id = str(change.before.live_id)
        body = self.resolve(res.body)
        if res.kind == "slo":  # an SLO PUT replaces the whole object
            self.client.call(
                f"updating SLO {res.key}",
                self.client.slos.update_slo,
                slo_id=object_id,
                body=body,
            )
            return
        changed = {f.path.split(".")[0].split("[")[0] for f in change.fields}
        if "" in changed:  # the whole body differs: send every managed field
            changed = set(body)
        changed.discard("type")  # only metric alert <-> query alert gets here: not a change
        update = {name: body[name] for name in changed if name in body}
        for name in changed - set(body):
            if name == "priority":
                update["priority"] = None
        if "options" in changed:
            # A PUT replaces the stored options as a whole: keep the options slogen does not
            # manage (mutes, delays...) from the monitor as it is now.
            live = self.client.call(
                f"reading monitor {res.key}",
                self.client.monitors.get_monitor,
                monitor_id=int(object_id),
            )
            options = {
                k: v
                for k, v in (live.get("options") or {}).items()
                if k not in dd.MANAGED_OPTIONS.get(res.body["type"], ())
            }
            options.update(body["options"])
            update["options"] = options
            if "query" not in update and "thresholds" in body["options"]:
                update["query"] = body["query"]  # keep threshold and query consistent
        self.client.call(
            f"updating monitor {res.key}",
            self.client.monitors.update_monitor,
            monitor_id=int(object_id),
            body=update,
        )

    def delete(self, res: Resource) -> None:
        object_id = str(res.live_id)
        try:
            if res.kind == "slo":
                self.client.call(
                    f"deleting SLO {res.key}", self.client.slos.delete_slo, slo_id=object_id
                )
            else:
                self.client.call(
                    f"deleting monitor {res.key}",
                    self.client.monitors.delete_monitor,
                    monitor_id=int(object_id),
                )
        except DatadogError as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise
        self.forget(res.kind, res.key, object_id)

    def repoint(self, key: str) -> None:
        """PUT the query of a composite (not itself changing) after a child was replaced."""
        res = self.desired[key]
        with self.lock:
            object_id = self.ids["monitor"].get(key)
        if object_id is None:
            return
        body = self.resolve(res.body)
        self.client.call(
            f"re-pointing composite {key}",
            self.client.monitors.update_monitor,
            monitor_id=int(object_id),
            body={"query": body["query"]},
        )


def _levels(keys: list[str], deps: dict[str, tuple[str, ...]]) -> list[list[str]]:
    """Group keys so every key comes after the keys (of this set) it depends on."""
    depth: dict[str, int] = {}
    inside = set(keys)

    def visit(key: str, trail: frozenset[str]) -> int:
        if key in depth:
            return depth[key]
        below = [
            visit(d, trail | {key}) for d in deps.get(key, ()) if d in inside and d not in trail
        ]
        depth[key] = 1 + max(below) if below else 0
        return depth[key]

    for key in keys:
        visit(key, frozenset())
    levels: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for key in keys:
        levels[depth[key]].append(key)
    return levels


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, DatadogError | _Unresolved):
        return redact(str(exc))
    return redact(f"{type(exc).__name__}: {exc}")


def apply(
    target: Target,
    changes: list[Change],
    desired: list[Resource],
    progress: Progress,
    report: ApplyReport,
) -> None:
    """Make Datadog match: SLOs before the monitors that use them, children before composites;
    deletes afterwards in reverse (composites before children, monitors before SLOs).

    A replacement (a monitor whose type must change) creates the new monitor first, re-points
    composites that use it, and deletes the old one with the other deletes, so an alert never
    disappears and Datadog never refuses to delete a monitor a composite still uses. A failure
    is recorded with Datadog's message; everything that depends on it is not attempted; all
    independent work goes on, so the next plan shows exactly what is left.
    """
    with Client(target) as client:
        try:
            snap = read_snapshot(client)
        except SlogenError:
            raise
        applier = _Applier(client, snap, desired)
        upserts = {c.resource.key: c for c in changes if c.action in (CREATE, UPDATE, REPLACE)}
        deletes = {c.resource.key: c for c in changes if c.action == DELETE}
        failed: set[str] = set()  # keys whose change failed or was skipped
        replaced_old: dict[str, Resource] = {}  # key -> old live object still to delete
        replace_done: dict[str, Change] = {}

        def run_level(
            keys: list[str],
            job: Callable[[str], None],
            blocked: Callable[[str], bool],
            record: Callable[[str, str, str], None],
        ) -> None:
            ready = []
            for key in keys:
                if blocked(key):
                    failed.add(key)
                    record(key, SKIPPED, "")
                else:
                    ready.append(key)
            if not ready:
                return
            with ThreadPoolExecutor(max_workers=min(WORKERS, len(ready))) as pool:
                futures: dict[Future[None], str] = {pool.submit(job, k): k for k in ready}
                for future in as_completed(futures):
                    key = futures[future]
                    exc = future.exception()
                    if exc is None:
                        record(key, DONE, "")
                    else:
                        failed.add(key)
                        record(key, FAILED, _error_message(exc))

        # 1. creates, updates and the create half of replacements, dependencies first.
        def upsert(key: str) -> None:
            change = upserts[key]
            if change.action == CREATE:
                assert change.after is not None
                applier.create(change.after)
            elif change.action == UPDATE:
                applier.update(change)
            else:
                assert change.before is not None and change.after is not None
                applier.forget(change.before.kind, key, str(change.before.live_id))
                applier.create(change.after)
                replaced_old[key] = change.before

        def record_upsert(key: str, status: str, error: str) -> None:
            change = upserts[key]
            if status == DONE and change.action == REPLACE:
                replace_done[key] = change  # finished once the old object is deleted
                progress.step(f"{change.action} {change.address} (new object created)")
                return
            report.add(change, status, error)
            if status != SKIPPED:
                progress.step(f"{change.action} {change.address}")

        upsert_deps = {k: c.resource.depends_on for k, c in upserts.items()}
        for level in _levels(list(upserts), upsert_deps):
            run_level(
                level,
                upsert,
                lambda k: any(d in failed for d in upsert_deps[k]),
                record_upsert,
            )

        # 2. composites that did not change but use a replaced monitor: point them at the new id.
        for key, res in applier.desired.items():
            if key in upserts or not any(d in replaced_old for d in res.depends_on):
                continue
            try:
                applier.repoint(key)
            except (DatadogError, _Unresolved) as exc:
                report.errors.append(f"datadog: {_error_message(exc)}")

        # 3. deletes (and old objects of replacements), dependants first.
        victims: dict[str, Resource] = {}
        for key, change in deletes.items():
            assert change.before is not None
            victims[key] = change.before
        for key, old in replaced_old.items():
            victims[f"{key}\0old"] = old
        dependants: dict[str, list[str]] = {k: [] for k in victims}
        by_key = {res.key: vk for vk, res in victims.items()}
        for vk, res in victims.items():
            for dep in res.depends_on:
                if dep in by_key and by_key[dep] != vk:
                    dependants[by_key[dep]].append(vk)
        # a live object still used by an update or replacement that failed cannot go yet
        still_used = set()
        for key in failed:
            change = upserts.get(key)
            if change is not None and change.before is not None:
                still_used.update(change.before.depends_on)

        def remove(vk: str) -> None:
            applier.delete(victims[vk])

        def record_delete(vk: str, status: str, error: str) -> None:
            if vk.endswith("\0old"):
                key = vk[: -len("\0old")]
                change = replace_done.pop(key)
                if status == DONE:
                    report.add(change, DONE)
                else:
                    report.add(
                        change,
                        FAILED,
                        f"the new monitor was created, but the old one "
                        f"({victims[vk].live_id}) could not be deleted: {error or 'skipped'}",
                    )
                return
            report.add(deletes[vk], status, error)
            if status != SKIPPED:
                progress.step(f"{deletes[vk].action} {deletes[vk].address}")

        delete_levels = _levels(list(victims), {k: tuple(v) for k, v in dependants.items()})
        for level in delete_levels:
            run_level(
                level,
                remove,
                lambda vk: (
                    any(d in failed for d in dependants[vk])
                    or (not vk.endswith("\0old") and vk in still_used)
                ),
                record_delete,
            )
        for change in replace_done.values():  # replacements whose old object was not found
            report.add(change, DONE)
        report.notes.append(f"Datadog: {client.requests} API request(s) to {client.settings.host}.")
