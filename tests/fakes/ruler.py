"""A fake Grafana Mimir ruler configuration API, for the ``ruler`` target's tests and benchmark.

It listens on 127.0.0.1 only (an ephemeral port), uses the standard library and PyYAML, keeps
its state in memory, and is stopped by the ``with`` block that started it::

    with FakeRuler(tenant="team-a", token="s3cret-token") as ruler:
        ruler.put_group("team-a", "other", {"name": "mine", "rules": [...]})
        ...  # targets.prometheus.url: ruler.url

How closely it follows Mimir. FACT: read in Mimir's documentation (grafana/mimir
docs/sources/mimir/references/http-api/index.md, https://grafana.com/docs/mimir/latest/
references/http-api/), its source (grafana/mimir pkg/ruler/api.go, pkg/ruler/manager.go
``ValidateRuleGroup``, pkg/ruler/ruler.go limit errors), grafana/dskit or Prometheus;
ASSUMED: picked by the fake.

* FACT routes, under ``/prometheus/config/v1/rules``: ``GET`` (every namespace), ``GET
  /{namespace}``, ``GET /{namespace}/{group}``, ``POST /{namespace}`` (one group, YAML body),
  ``DELETE /{namespace}/{group}``, ``DELETE /{namespace}``. Path segments are percent-encoded,
  ``/`` as ``%2F`` (docs: "escape / to %2F"; api.go ``url.PathUnescape`` on each).
* FACT the lists answer YAML (``Content-Type: application/yaml``), a map namespace -> groups.
  With no groups, Mimir answers ``200 {}`` (grafana/mimir#434, #456); Cortex and Mimir < 2.0
  answer ``404 no rule groups found`` in plain text: ``empty_list_status=404`` does that.
* FACT POST and DELETE answer ``202`` with ``{"status":"success",...}`` JSON; a missing group
  is ``404`` (ASSUMED wording ``group does not exist``, rulestore ``ErrGroupNotFound``).
* FACT validation (ValidateRuleGroup, then Prometheus rulefmt per rule): a body that is not a
  YAML group is ``400 unable to decode rule group``; ``rule group name must not be empty``;
  ``rule group '<name>' has no rules``; per rule ``only one of 'record' and 'alert' must be
  set``, ``one of 'record' or 'alert' must be set``, ``field 'expr' must be set in rule``, in
  Prometheus' ``group "<g>", rule <n>, "<name>": <error>`` form, joined by ", ", as plain text
  400 (``http.Error``). PromQL is not parsed (ASSUMED: every non-empty expr parses).
* FACT ``max_rules_per_group``: the tenant limit, ``400 per-user rules per rule group limit
  (limit: N actual: M) exceeded`` (pkg/ruler/ruler.go), a refusal slogen cannot foresee.
* FACT a request without ``X-Scope-OrgID`` answers ``401 no org id`` (dskit
  middleware.AuthenticateUser; weaveworks/common user.ErrNoOrgID) when ``tenant`` is set. With no
  tenant configured, the fake stores under ``anonymous`` (Mimir's default with
  ``-auth.multitenancy-enabled=false``).
* ASSUMED credentials: Mimir itself checks none; a gateway in front (GEM, nginx) does. Wrong or
  missing basic auth / bearer token answers ``401 unauthorized`` in plain text.
* FACT durations come back in Prometheus' ``model.Duration`` form (prometheus/common
  model/time.go ``Duration.String``: ``7d`` -> ``1w``, ``90m`` -> ``1h30m``); ASSUMED the rest of
  a group comes back as sent (Mimir round-trips it through protobuf; key order is not kept).
* Faults (ASSUMED, as a proxy or an overloaded ruler would answer): ``fail_next(n, status,
  retry_after=..., method=...)`` answers the next n matching requests with that status (429 with
  ``Retry-After``, 5xx) before anything else is checked.
* The shared faults of tests/fakes/faults.py (``inject_fault``, ``operation`` a method):
  commit-then-5xx and commit-then-timeout (the write is stored, then 500 or no answer), short
  pages (the list leaves out half of the groups of each namespace), truncated bodies (the
  full ``Content-Length`` announced, half sent), header echo (400), 429 with ``Retry-After``.
* ``latency``: seconds every answer waits (the benchmark's network).
* ``counts``: requests per ``(method, route)``, route one of ``list``, ``namespace``,
  ``group``; ``requests``: every (method, raw path, headers with lower-case names), faults and
  refusals included.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import yaml

try:
    from tests.fakes import faults as shared_faults
except ImportError:  # run as a script (python tests/fakes/<fake>.py): its directory is on the path
    import faults as shared_faults  # type: ignore[no-redef]

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PREFIX = "/prometheus/config/v1/rules"
ANONYMOUS = "anonymous"
_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_UNITS = (("y", 365 * 86400_000), ("w", 7 * 86400_000), ("d", 86400_000), ("h", 3600_000),
          ("m", 60_000), ("s", 1000), ("ms", 1))  # fmt: skip


def prom_duration(text: Any) -> Any:
    """``text`` as Prometheus' model.Duration.String() prints it (unchanged if not one)."""
    match = _DURATION.match(str(text)) if isinstance(text, str) and text else None
    if not match:
        return text
    ms = sum(int(n) * size for n, (_, size) in zip(match.groups(), _UNITS, strict=True) if n)
    if ms == 0:
        return "0s"
    out = ""
    for unit, size in _UNITS:
        if unit in ("y", "w") and ms % size:
            continue
        if ms >= size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out


@dataclass
class Fault:
    remaining: int
    status: int
    retry_after: str | None
    method: str | None
    body: str


class FakeRuler:
    def __init__(
        self,
        tenant: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        empty_list_status: int = 200,
        max_rules_per_group: int | None = None,
        latency: float = 0.0,
    ) -> None:
        self.tenant = tenant
        self.username, self.password, self.token = username, password, token
        self.empty_list_status = empty_list_status
        self.max_rules_per_group = max_rules_per_group
        self.latency = latency  # seconds added to every answer (the benchmark's network)
        self.lock = threading.Lock()
        # tenant -> namespace -> group name -> group (insertion order kept, as listing sorts)
        self.store: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self.counts: Counter[tuple[str, str]] = Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.faults: list[Fault] = []
        self.shared = shared_faults.Faults()  # the shared kinds, see inject_fault
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FakeRuler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeRuler:
        fake = self

        class Handler(_Handler):
            ruler = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- state and faults, for tests -------------------------------------------------------

    @property
    def tenant_key(self) -> str:
        return self.tenant or ANONYMOUS

    def put_group(self, namespace: str, group: dict[str, Any], tenant: str | None = None) -> None:
        """Store a group directly (as another tool would have), without validation."""
        with self.lock:
            spaces = self.store.setdefault(tenant or self.tenant_key, {})
            spaces.setdefault(namespace, {})[group["name"]] = json.loads(json.dumps(group))

    def groups(self, namespace: str, tenant: str | None = None) -> dict[str, dict[str, Any]]:
        with self.lock:
            return dict(self.store.get(tenant or self.tenant_key, {}).get(namespace, {}))

    def fail_next(
        self,
        times: int,
        status: int,
        retry_after: str | None = None,
        method: str | None = None,
        body: str = "",
    ) -> None:
        with self.lock:
            text = body or {429: "too many requests", 503: "service unavailable"}.get(
                status, f"error {status}"
            )
            self.faults.append(Fault(times, status, retry_after, method, text))

    def inject_fault(self, kind: str, count: int = 1, operation: str | None = None) -> None:
        """One of the shared faults (tests/fakes/faults.py) for the next ``count`` requests
        whose method is ``operation`` (all if None)."""
        self.shared.inject(kind, count, operation)

    def writes(self) -> int:
        with self.lock:
            return sum(n for (method, _), n in self.counts.items() if method != "GET")

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
            self.requests.clear()


class _Handler(BaseHTTPRequestHandler):
    ruler: FakeRuler
    protocol_version = "HTTP/1.1"
    fault_kind: str | None = None  # the shared fault this request got, if any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- answers ---------------------------------------------------------------------------

    def _send(
        self, status: int, body: str, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        data = body.encode()
        kind = self.fault_kind
        if kind == shared_faults.COMMIT_THEN_5XX and status < 300:
            status, data, ctype = 500, b"internal server error\n", "text/plain; charset=utf-8"
        if kind == shared_faults.COMMIT_THEN_TIMEOUT:  # done; the answer never comes
            time.sleep(shared_faults.HANG)
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if kind == shared_faults.TRUNCATED_BODY:  # the full length announced, half sent
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    def _text(self, status: int, text: str, extra: dict[str, str] | None = None) -> None:
        # Go's http.Error: plain text, "nosniff", a trailing newline
        headers = {"X-Content-Type-Options": "nosniff", **(extra or {})}
        self._send(status, text + "\n", "text/plain; charset=utf-8", headers)

    def _yaml(self, data: Any) -> None:
        self._send(200, yaml.dump(data, Dumper=_Dumper, sort_keys=False), "application/yaml")

    def _accepted(self) -> None:
        body = json.dumps({"status": "success", "data": None, "errorType": "", "error": ""})
        self._send(202, body, "application/json")

    # -- dispatch --------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        fake = self.ruler
        self.fault_kind = None
        if fake.latency:
            time.sleep(fake.latency)
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        raw = self.path.split("?", 1)[0]
        if raw != PREFIX and not raw.startswith(PREFIX + "/"):
            self._text(404, "404 page not found")
            return
        parts = [unquote(p) for p in raw[len(PREFIX) :].split("/")[1:]]
        route = ("list", "namespace", "group")[min(len(parts), 2)]
        with fake.lock:
            fake.counts[(method, route)] += 1
            fake.requests.append((method, raw, {k.lower(): v for k, v in self.headers.items()}))
            fault = next(
                (f for f in fake.faults if f.remaining > 0 and f.method in (None, method)), None
            )
            if fault is not None:
                fault.remaining -= 1
        if fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._text(fault.status, fault.body, extra)
            return
        self.fault_kind = fake.shared.take(method, method != "GET", route == "list")
        if self.fault_kind == shared_faults.RATE_LIMITED:
            self.fault_kind = None
            self._text(429, "too many requests", {"Retry-After": "1"})
            return
        if self.fault_kind == shared_faults.HEADER_ECHO:
            self.fault_kind = None
            self._text(400, shared_faults.echo(dict(self.headers.items())))
            return
        if not self._authorised():
            self._text(401, "unauthorized")
            return
        tenant = self.headers.get("X-Scope-OrgID")
        if fake.tenant is not None and not tenant:
            self._text(401, "no org id")
            return
        tenant = tenant or ANONYMOUS
        if (
            len(parts) > 2
            or (len(parts) == 2 and method == "POST")
            or (len(parts) == 0 and method != "GET")
        ):
            self._text(405, "method not allowed")
            return
        if method == "GET":
            self._get(tenant, parts)
        elif method == "POST":
            self._post(tenant, parts[0], payload)
        else:
            self._delete(tenant, parts)

    def _authorised(self) -> bool:
        fake = self.ruler
        header = self.headers.get("Authorization", "")
        if fake.username is not None:
            expected = base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
            return header == f"Basic {expected}"
        if fake.token is not None:
            return header == f"Bearer {fake.token}"
        return True

    def _get(self, tenant: str, parts: list[str]) -> None:
        fake = self.ruler
        with fake.lock:
            spaces = {
                ns: [json.loads(json.dumps(g)) for g in groups.values()]
                for ns, groups in sorted(fake.store.get(tenant, {}).items())
                if groups
            }
        if len(parts) == 2:
            found = [g for g in spaces.get(parts[0], []) if g["name"] == parts[1]]
            if not found:
                self._text(404, "group does not exist")
            else:
                self._yaml(found[0])
            return
        if len(parts) == 1:
            spaces = {parts[0]: spaces[parts[0]]} if parts[0] in spaces else {}
        if len(parts) == 0 and self.fault_kind == shared_faults.SHORT_PAGE:
            spaces = {ns: shared_faults.shorten(gs, self.fault_kind) for ns, gs in spaces.items()}
        if not spaces and fake.empty_list_status == 404:
            self._text(404, "no rule groups found")
            return
        self._yaml(spaces)

    def _post(self, tenant: str, namespace: str, payload: str) -> None:
        fake = self.ruler
        try:
            group = yaml.load(payload, Loader=_Loader) if payload.strip() else {}
        except yaml.YAMLError:
            group = None
        if not isinstance(group, dict):
            self._text(400, "unable to decode rule group")
            return
        errors = validate(group)
        if errors:
            self._text(400, ", ".join(errors))
            return
        limit = fake.max_rules_per_group
        if limit is not None and len(group["rules"]) > limit:
            self._text(
                400,
                f"per-user rules per rule group limit (limit: {limit} actual: "
                f"{len(group['rules'])}) exceeded",
            )
            return
        for key in ("interval",):
            if key in group:
                group[key] = prom_duration(group[key])
        for rule in group["rules"]:
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    rule[key] = prom_duration(rule[key])
        with fake.lock:
            spaces = fake.store.setdefault(tenant, {})
            spaces.setdefault(namespace, {})[group["name"]] = group
        self._accepted()

    def _delete(self, tenant: str, parts: list[str]) -> None:
        fake = self.ruler
        with fake.lock:
            spaces = fake.store.get(tenant, {})
            groups = spaces.get(parts[0])
            if len(parts) == 1:
                if not groups:
                    missing = "group namespace does not exist"
                else:
                    missing = ""
                    del spaces[parts[0]]
            elif groups is None or parts[1] not in groups:
                missing = "group does not exist"
            else:
                missing = ""
                del groups[parts[1]]
                if not groups:
                    del spaces[parts[0]]
        if missing:
            self._text(404, missing)
        else:
            self._accepted()


def validate(group: dict[str, Any]) -> list[str]:
    """The ruler's checks of a posted group (see the module docstring), in its wording."""
    name = group.get("name")
    if not name:
        return ["invalid rules configuration: rule group name must not be empty"]
    rules = group.get("rules")
    if not rules:
        return [f"invalid rules configuration: rule group '{name}' has no rules"]
    if not isinstance(rules, list):
        return ["unable to decode rule group"]
    errors = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            return ["unable to decode rule group"]
        record, alert = rule.get("record"), rule.get("alert")
        problems = []
        if record and alert:
            problems.append("only one of 'record' and 'alert' must be set")
        if not record and not alert:
            problems.append("one of 'record' or 'alert' must be set")
        if not rule.get("expr"):
            problems.append("field 'expr' must be set in rule")
        label = alert or record or ""
        errors.extend(f'group "{name}", rule {index + 1}, "{label}": {p}' for p in problems)
    return errors
