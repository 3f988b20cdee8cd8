"""The Datadog API client: endpoint and keys from the environment, raw JSON, bounded retries.

Credentials come from the environment only (``DD_API_KEY``, ``DD_APP_KEY`` or
``DD_APPLICATION_KEY``, ``DD_SITE``); the target's ``host`` option points at another endpoint
(a proxy, or the fake API the tests run). Keys are never stored, printed or saved.

Raw JSON, both ways. The client is configured with ``preload_content=False`` (every call
returns the urllib3 response, which is parsed here), ``check_return_type=False`` and
``check_input_type=False`` (bodies are plain dicts): the generated models reject some monitors
that exist in real accounts and would drop fields they do not know, and slogen needs the
JSON exactly as Datadog stores it to normalise and diff it. datadog-api-client is imported
only when a client is made, so naming the backend loads no SDK.

Retries are done here (through the shared :func:`slogen.plan.executor.with_retries`), not by
the client: its built-in retry reads ``X-RateLimit-Reset`` with urllib3's ``Retry-After``
parser, which fails when Datadog sends that header twice (urllib3 joins them as ``"7, 7"``;
DataDog/datadog-api-client-python#3460). 429 and 5xx answers are retried a bounded number of
times, sleeping what ``X-RateLimit-Reset`` asks (seconds until the rate-limit window resets),
capped.

Creates are not idempotent (a POST stored before its answer was lost makes a second object when
sent again), so a call made with ``idempotent=False`` is retried only on 429 (Datadog did not
process it); a 5xx, a timeout or a connection dropped after sending raise a
:class:`DatadogError` whose ``unknown`` is true, and the shared executor re-reads before
creating again (:mod:`slogen.plan.creates`). Reads and PUT/DELETE by id are retried as before,
and so are bodies cut short in transit (urllib3's ``ProtocolError``: nothing was decided from
them).

``SLOGEN_HTTP_TIMEOUT`` (seconds, read timeout; used by the fault-injection tests, which make a
server hang past it) overrides :data:`REQUEST_TIMEOUT`'s read part.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slogen import envref
from slogen.errors import SlogenError
from slogen.plan.executor import with_retries
from slogen.redact import redact
from slogen.resources import MANAGED_BY
from slogen.spec.model import Target as TargetSettings

API_KEY_VARIABLES = ("DD_API_KEY",)
APP_KEY_VARIABLES = ("DD_APP_KEY", "DD_APPLICATION_KEY")
SITE_VARIABLE = "DD_SITE"
DEFAULT_SITE = "datadoghq.com"
OWNED_TAG = f"managed-by:{MANAGED_BY}"

WORKERS = 8  # concurrent calls within one dependency level (and pooled connections)
REQUEST_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
NOT_PROCESSED = frozenset({429})  # answers after which a create may be sent again as it is


def request_timeout() -> tuple[float, float]:
    """(connect, read) seconds: :data:`REQUEST_TIMEOUT`, or ``SLOGEN_HTTP_TIMEOUT`` for both."""
    value = envref.http_timeout_override()
    return (value, value) if value else REQUEST_TIMEOUT


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

    def retry_delay(
        self, status: int, headers: dict[str, str] | None, attempt: int
    ) -> float | None:
        """The sleep before retrying an answer of ``status``, or None to give up on it."""
        if status not in RETRY_STATUSES or attempt + 1 >= self.attempts:
            return None
        return self.delay(status, headers, attempt)


RETRY = RetryPolicy()


class DatadogError(Exception):
    """An error answer (or none at all) from Datadog, with a message safe to print."""

    def __init__(self, message: str, status: int = 0, body: Any = None, unknown: bool = False):
        super().__init__(redact(message))
        self.message = redact(message)
        self.status = status
        self.body = body
        # the request may have been carried out although it failed (5xx, no answer after sending)
        self.unknown = unknown or status >= 500


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


def _short_reason(reason: Any) -> str:
    text = str(reason)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host name"
    return text.split(": ", 1)[-1][:200]


# -- settings -------------------------------------------------------------------------------------


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


def settings(target: TargetSettings) -> Settings:
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
    host = envref.option(target, "host")
    if not host:
        site = os.environ.get(SITE_VARIABLE, "").strip() or DEFAULT_SITE
        site = re.sub(r"^https?://", "", site).strip("/")
        site = site[4:] if site.startswith("api.") else site
        host = f"https://api.{site}"
    return Settings(str(host).rstrip("/"), api_key, app_key)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up when called, so tests can replace time.sleep


# -- the client -----------------------------------------------------------------------------------


class Client:
    """Monitor, SLO and dashboard calls returning parsed JSON, with retries and a request
    counter."""

    def __init__(self, target: TargetSettings, retry: RetryPolicy | None = None):
        import urllib3
        from datadog_api_client import ApiClient, Configuration, rest
        from datadog_api_client.v1.api.dashboards_api import DashboardsApi
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
            request_timeout=request_timeout(),
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
        self.dashboards = DashboardsApi(self._api_client)
        self._lock = threading.Lock()
        self.requests = 0

    def close(self) -> None:
        self._api_client.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self, what: str, fn: Callable[..., Any], *, idempotent: bool = True, **kwargs: Any
    ) -> Any:
        """One API call with retries on 429/5xx; returns the decoded JSON body.

        ``idempotent=False`` (creates): retried on 429 only; see the module docstring.
        """
        import urllib3
        from datadog_api_client.exceptions import ApiException

        def once() -> Any:
            with self._lock:
                self.requests += 1
            response = fn(**kwargs)
            data = response.data
            response.release_conn()  # preload_content=False: give the connection back
            return data

        def retry_delay(exc: BaseException, attempt: int) -> float | None:
            if isinstance(exc, urllib3.exceptions.HTTPError):
                if not idempotent or not _after_sending(exc):
                    return None  # not sent at all: urllib3 has retried the connection already
                return self.retry.retry_delay(500, None, attempt)
            if not isinstance(exc, ApiException):
                return None
            status = int(exc.status or 0)
            if not idempotent and status not in NOT_PROCESSED:
                return None
            return self.retry.retry_delay(status, exc.headers, attempt)

        try:
            data = with_retries(once, retry_delay, self.retry.max_total_sleep, _sleep)
            return json.loads(data) if data else None
        except ApiException as exc:
            status = int(exc.status or 0)
            raise DatadogError(
                f"{what}: {_error_text(status, exc.body)}", status, exc.body
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DatadogError(
                f"{what}: cannot reach the Datadog API at {self.settings.host}: "
                f"{_short_reason(reason)}",
                unknown=_after_sending(exc),
            ) from None
        except ValueError as exc:  # not JSON
            raise DatadogError(
                f"{what}: Datadog answered something that is not JSON: {exc}"
            ) from None


def _after_sending(exc: BaseException) -> bool:
    """Whether a urllib3 failure happened after the request was sent (a read timed out, the
    connection was dropped or the body cut short): the server may have acted on it."""
    import urllib3

    reason = getattr(exc, "reason", None) or exc
    errors = urllib3.exceptions
    if isinstance(reason, errors.NewConnectionError | errors.ConnectTimeoutError):
        return False
    return isinstance(reason, errors.ReadTimeoutError | errors.ProtocolError)
