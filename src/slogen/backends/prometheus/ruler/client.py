"""The HTTP client of the Grafana Mimir (and Cortex) ruler configuration API.

Standard library only (urllib): the ruler API is three plain HTTP calls, not worth a dependency.
The routes, as documented in the Mimir HTTP API reference ("List rule groups", "Set rule group",
"Delete rule group": https://grafana.com/docs/mimir/latest/references/http-api/, source
grafana/mimir docs/sources/mimir/references/http-api/index.md) and used by mimirtool
(grafana/mimir pkg/mimirtool/client/client.go ``rulerAPIPath``, .../client/rules.go)::

    GET    <url>/prometheus/config/v1/rules                          every namespace -> groups
    POST   <url>/prometheus/config/v1/rules/{namespace}              one group -> 202 Accepted
    DELETE <url>/prometheus/config/v1/rules/{namespace}/{groupName}  -> 202 Accepted

* The list answers YAML (``Content-Type: application/yaml``, a map namespace -> list of groups).
  With no groups at all, Mimir answers ``200 {}`` (grafana/mimir#434, fixed by #456); Cortex and
  Mimir before 2.0 answer ``404`` with the plain-text body ``no rule groups found``
  (cortexproject/cortex#2967, #3496; pkg/ruler/api.go ``ErrNoRuleGroups``). Both mean "empty".
* A list answer cut short in transit raises ``http.client.IncompleteRead`` (fewer bytes than
  ``Content-Length``, or a chunked body that ends early), which is retried like a connection
  failure; a body that arrives whole but is not YAML of the documented shape is refused by
  :func:`slogen.backends.prometheus.ruler.groups.parse_listing`. A list that leaves a group
  out cannot be told from one without it (one document, no total): slogen then plans to POST
  the group again, which replaces it by name, so no duplicate can come of it.
* POST takes the group as YAML with ``Content-Type: application/yaml`` (docs, "Set rule group");
  one group per request.
* Path segments are percent-encoded, ``/`` included (docs: "escape / to %2F"; mimirtool uses
  Go's ``url.PathEscape`` on namespace and group name): slogen's groups are ``slogen/<svc>/<slo>``.
* Errors are plain text from Go's ``http.Error`` (``text/plain; charset=utf-8``): validation
  failures are ``400`` with the ruler's messages joined by ", " (pkg/ruler/api.go
  ``CreateRuleGroup``); some answers are Prometheus-style JSON ``{"status": "error", "error":
  ...}`` (``respondInvalidRequest``/``respondServerError``). Both are reduced to their text.
* No ``X-Scope-OrgID`` on a multi-tenant Mimir: ``401 no org id`` (grafana/dskit
  middleware/http_auth.go ``AuthenticateUser``). A protected namespace answers ``403``.

Retries: 429 (waiting what ``Retry-After`` says, RFC 9110 10.2.3, capped) and 5xx are retried
with exponential backoff; connection failures (a timeout, a body cut short) a few times. POST
sets the whole group and DELETE removes it, so repeating either is harmless: a POST answered
5xx, or never answered, after the ruler stored it cannot make a second group, since a group is
identified by its name within the namespace ("Set rule group": the group of that name is
created or replaced). That is why this target needs no re-read before retrying a write
(:mod:`slogen.plan.creates`). ``SLOGEN_HTTP_TIMEOUT`` (seconds) overrides :data:`TIMEOUT`, for
tests that make a server hang. Every message passes through
:func:`slogen.redact.redact`; credentials are sent in headers only and never appear in a URL.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import random
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

from slogen import envref
from slogen.plan.executor import with_retries
from slogen.redact import redact, register

API_PATH = "/prometheus/config/v1/rules"
NO_RULE_GROUPS = "no rule groups found"  # Cortex / Mimir < 2.0 answer to an empty list
TIMEOUT = 30.0  # seconds, connect and each read
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
FATAL_STATUSES = frozenset({401, 403})  # every further request would be refused the same way


def _timeout() -> float:
    """Seconds per connect and read: :data:`TIMEOUT`, or ``SLOGEN_HTTP_TIMEOUT``."""
    return envref.http_timeout_override() or TIMEOUT


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up when called, so tests can record sleeps instead


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: attempts per request, one sleep's cap, and the sum of sleeps."""

    attempts: int = 6  # calls in total for 429/5xx, the first included
    connect_attempts: int = 3  # calls in total when the server cannot be reached
    backoff: float = 0.25  # first sleep without Retry-After; doubles each time
    max_sleep: float = 30.0
    max_total_sleep: float = 90.0

    def delay(self, exc: BaseException, attempt: int) -> float | None:
        """Seconds to wait before retrying after ``exc`` (None: give up)."""
        if not isinstance(exc, RulerError):
            return None
        if exc.status == 0:
            limit = self.connect_attempts
        elif exc.status in RETRY_STATUSES:
            limit = self.attempts
        else:
            return None
        if attempt + 1 >= limit:
            return None
        if exc.retry_after is not None:
            return min(self.max_sleep, exc.retry_after)
        wait = self.backoff * (2**attempt)
        return min(self.max_sleep, wait + random.uniform(0, wait * 0.1))


RETRY = RetryPolicy()


class RulerError(Exception):
    """An error answer from the ruler (``status``), or none at all (``status`` 0)."""

    def __init__(
        self, message: str, status: int = 0, retry_after: float | None = None, body: str = ""
    ) -> None:
        self.message = redact(message)
        super().__init__(self.message)
        self.status = status
        self.retry_after = retry_after
        self.body = redact(body)

    @property
    def fatal(self) -> bool:
        """Credentials or tenant refused: no later request can succeed either."""
        return self.status in FATAL_STATUSES


@dataclass(frozen=True)
class Connection:
    """Where the ruler is and how to authenticate; built by :mod:`.options` from slogen.yaml."""

    url: str  # base URL, without a trailing slash
    namespace: str
    tenant: str | None = None
    authorization: str | None = field(default=None, repr=False)  # the Authorization header

    @staticmethod
    def basic(username: str, password: str) -> str:
        """The ``Authorization`` value for basic auth (registered as a secret: it encodes one)."""
        value = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        register(value.split(" ", 1)[1])
        return value


def body_text(body: str, limit: int = 500) -> str:
    """The readable part of an error body: JSON ``error`` (or ``message``), else the text."""
    text = body.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error", "message"):
            if isinstance(data.get(key), str) and data[key].strip():
                text = data[key].strip()
                break
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _reason(exc: BaseException) -> str:
    """A short reason for a failure to talk to the server at all."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host name"
    if isinstance(reason, TimeoutError | socket.timeout) or "timed out" in str(reason):
        return "timed out"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error: {reason}"
    return str(reason) or type(reason).__name__


def quote(segment: str) -> str:
    """One path segment, percent-encoded with ``/`` too (Go's ``url.PathEscape`` does that)."""
    return urllib.parse.quote(segment, safe="")


class RulerClient:
    """The three ruler calls slogen makes, with retries, timeouts and a request counter."""

    def __init__(
        self, conn: Connection, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> None:
        self.conn = conn
        self.retry = retry or RETRY  # looked up when made, so tests can shorten the sleeps
        self.timeout = timeout or _timeout()
        self.requests: Counter[str] = Counter()  # "GET", "POST", "DELETE" -> requests sent
        self._lock = threading.Lock()
        # No redirects: a redirect to a login page would turn a POST into a GET and hide it.
        self._opener = urllib.request.build_opener(_NoRedirect)

    # -- the calls ------------------------------------------------------------------------

    @property
    def rules_url(self) -> str:
        return self.conn.url + API_PATH

    def list_rules(self) -> str:
        """The YAML text of every namespace's groups; ``""`` when the tenant has none."""
        status, text = self.call("GET", API_PATH, ok_404_body=NO_RULE_GROUPS)
        return "" if status == 404 else text

    def set_group(self, yaml_text: str) -> None:
        """Create or replace one group of the namespace (the group's name is in the body)."""
        self.call("POST", f"{API_PATH}/{quote(self.conn.namespace)}", yaml_text)

    def delete_group(self, name: str) -> None:
        """Delete one group; one that is already gone counts as deleted."""
        path = f"{API_PATH}/{quote(self.conn.namespace)}/{quote(name)}"
        self.call("DELETE", path, ok_404_body="")

    # -- plumbing -------------------------------------------------------------------------

    def call(
        self, method: str, path: str, body: str | None = None, ok_404_body: str | None = None
    ) -> tuple[int, str]:
        """One request with retries: (status, body text) of a 2xx answer, or a 404 whose body
        contains ``ok_404_body`` (when given). Raises :class:`RulerError` otherwise."""

        def once() -> tuple[int, str]:
            status, text, retry_after = self._send(method, path, body)
            if 200 <= status < 300:
                return status, text
            if status == 404 and ok_404_body is not None and ok_404_body in text:
                return status, text
            raise self._answer_error(method, status, text, retry_after)

        return with_retries(once, self.retry.delay, self.retry.max_total_sleep, _sleep)

    def _send(self, method: str, path: str, body: str | None) -> tuple[int, str, float | None]:
        """Status, body text and ``Retry-After`` (seconds) of one request, whatever the status."""
        headers = {"User-Agent": "slogen", "Accept": "application/yaml, application/json"}
        if self.conn.tenant:
            headers["X-Scope-OrgID"] = self.conn.tenant
        if self.conn.authorization:
            headers["Authorization"] = self.conn.authorization
        data = None
        if body is not None:
            data = body.encode("utf-8")
            headers["Content-Type"] = "application/yaml"
        request = urllib.request.Request(
            self.conn.url + path, data=data, headers=headers, method=method
        )
        with self._lock:
            self.requests[method] += 1
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read().decode("utf-8", errors="replace"), None
        except urllib.error.HTTPError as exc:
            try:
                text = exc.read().decode("utf-8", errors="replace")
            except (OSError, http.client.HTTPException):
                text = ""
            exc.close()
            return exc.code, text, _retry_after(exc.headers.get("Retry-After"))
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise RulerError(f"cannot reach the ruler at {self.conn.url}: {_reason(exc)}") from None

    def _answer_error(
        self, method: str, status: int, text: str, retry_after: float | None
    ) -> RulerError:
        what = {"GET": "list rule groups", "POST": "set rule group", "DELETE": "delete rule group"}
        detail = body_text(text)
        message = f"HTTP {status}" + (f": {detail}" if detail else "")
        wait = retry_after if status in RETRY_STATUSES else None
        return RulerError(f"{what.get(method, method)}: {message}", status, wait, text)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


__all__ = ["API_PATH", "Connection", "RetryPolicy", "RulerClient", "RulerError", "quote"]
