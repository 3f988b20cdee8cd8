"""The HTTP client of Grafana's dashboard API: the four calls slogen makes, standard library only.

Routes, fields and status codes as Grafana documents them (Dashboard HTTP API and Folder/
Dashboard Search HTTP API: https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/
and .../folder_dashboard_search/; source grafana/grafana docs/sources/developers/http_api/
dashboard.md and folder_dashboard_search.md)::

    GET    /api/search?type=dash-db&tag=<tag>&limit=<n>&page=<p>  -> 200 [{uid, title, tags, ...}]
    GET    /api/dashboards/uid/<uid>     -> 200 {"dashboard": {...}, "meta": {"folderUid", ...}}
                                            404 not found
    POST   /api/dashboards/db            {"dashboard", "folderUid", "overwrite", "message"}
                                         -> 200 {"id", "uid", "url", "status", "version"}
                                            400 invalid, 401, 403, 412 precondition failed with
                                            {"message", "status"}: "version-mismatch" (changed
                                            by someone else), "name-exists" (the uid is taken),
                                            "plugin-dashboard"
    DELETE /api/dashboards/uid/<uid>     -> 200, 404 not found

* Search: ``tag`` filters by tag, ``type=dash-db`` leaves folders out; ``limit`` is at most
  5000 (default 1000) and ``page`` (from 1) reaches further hits, so pages are read until one
  comes back short.
* Authentication: a service account token as ``Authorization: Bearer <token>`` (Grafana's
  service accounts docs; the API examples send the same header). A wrong or missing token is
  401, a token without the permission (``dashboards:write``, ``dashboards:delete``...) 403.
* Retries: GET and DELETE (repeating them is harmless; a DELETE answered 404 the second time
  counts as done) are retried on 429, 5xx and connection failures with exponential backoff;
  POST only on 429 (nothing was saved), since a save repeated after an unanswered success would
  be refused as ``version-mismatch``/``name-exists`` and reported as a conflict it is not.
* ``SLOGEN_HTTP_TIMEOUT`` (seconds) overrides :data:`TIMEOUT`. Every message passes through
  :func:`slogen.redact.redact`; the token travels in a header only.
"""

from __future__ import annotations

import http.client
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from slogen import envref
from slogen.plan.executor import with_retries
from slogen.redact import redact

TIMEOUT = 30.0  # seconds, connect and each read
PAGE = 5000  # search hits per page: Grafana's maximum ``limit``
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
ATTEMPTS = 5
MAX_SLEEP = 20.0


def _timeout() -> float:
    """Seconds per connect and read: :data:`TIMEOUT`, or ``SLOGEN_HTTP_TIMEOUT``."""
    return envref.http_timeout_override() or TIMEOUT


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up when called, so tests can skip the waits


class GrafanaError(Exception):
    """An error answer (``status``; 0: no answer at all) with Grafana's ``status`` word."""

    def __init__(self, message: str, status: int = 0, reason: str = "") -> None:
        self.message = redact(message)
        super().__init__(self.message)
        self.status = status
        self.reason = reason  # the JSON "status" of a 412: version-mismatch, name-exists...

    @property
    def fatal(self) -> bool:
        """The token was refused: no later request can succeed either."""
        return self.status in (401, 403)


@dataclass(frozen=True)
class Connection:
    url: str  # base URL, no trailing slash (Grafana may live under a sub path)
    folder: str | None  # folder uid dashboards are saved in; None: the root level
    token: str = field(repr=False)


def _detail(text: str) -> tuple[str, str]:
    """The readable ``message`` and the ``status`` word of an error body."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        message = str(data.get("message") or data.get("error") or "").strip()
        return message, str(data.get("status") or "")
    return " ".join(text.split())[:300], ""


class Client:
    """Grafana's dashboard calls with timeouts, bounded retries and a request counter."""

    def __init__(self, conn: Connection, timeout: float | None = None) -> None:
        self.conn = conn
        self.timeout = timeout or _timeout()
        self.requests: Counter[str] = Counter()
        self._opener = urllib.request.build_opener(_NoRedirect)

    # -- the calls ------------------------------------------------------------------------

    def search(self, tag: str) -> list[dict[str, Any]]:
        """Every dashboard carrying ``tag`` (all pages)."""
        hits: list[dict[str, Any]] = []
        page = 1
        while True:
            query = urllib.parse.urlencode(
                {"type": "dash-db", "tag": tag, "limit": PAGE, "page": page}
            )
            found = self.call("GET", f"/api/search?{query}")
            if not isinstance(found, list):
                raise GrafanaError("search: the answer is not a list of dashboards", 200)
            hits.extend(h for h in found if isinstance(h, dict))
            if len(found) < PAGE:
                return hits
            page += 1

    def get(self, uid: str) -> dict[str, Any] | None:
        """``{"dashboard": ..., "meta": ...}`` of the dashboard ``uid``; None when there is none."""
        try:
            found = self.call("GET", f"/api/dashboards/uid/{_quote(uid)}")
        except GrafanaError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(found, dict) or not isinstance(found.get("dashboard"), dict):
            raise GrafanaError(f"dashboard {uid}: the answer has no dashboard", 200)
        return found

    def save(self, dashboard: dict[str, Any], overwrite: bool, message: str) -> dict[str, Any]:
        """Create or update (``POST /api/dashboards/db``) in the configured folder."""
        payload: dict[str, Any] = {
            "dashboard": dashboard,
            "overwrite": overwrite,
            "message": message,
        }
        if self.conn.folder:
            payload["folderUid"] = self.conn.folder
        answer = self.call("POST", "/api/dashboards/db", payload)
        return answer if isinstance(answer, dict) else {}

    def delete(self, uid: str) -> bool:
        """Delete the dashboard ``uid``; False when it was already gone."""
        try:
            self.call("DELETE", f"/api/dashboards/uid/{_quote(uid)}")
        except GrafanaError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # -- plumbing -------------------------------------------------------------------------

    def call(self, method: str, path: str, body: object = None) -> Any:
        """One request with retries (module docstring); the parsed JSON of a 2xx answer."""

        def delay(exc: BaseException, attempt: int) -> float | None:
            if not isinstance(exc, GrafanaError) or attempt + 1 >= ATTEMPTS:
                return None
            if exc.status == 429 or (method != "POST" and exc.status in RETRY_STATUSES | {0}):
                wait = 0.25 * (2**attempt)
                return min(MAX_SLEEP, wait + random.uniform(0, wait * 0.1))
            return None

        return with_retries(lambda: self._send(method, path, body), delay, 60.0, _sleep)

    def _send(self, method: str, path: str, body: object) -> Any:
        headers = {
            "User-Agent": "slogen",
            "Accept": "application/json",
            "Authorization": f"Bearer {self.conn.token}",
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.conn.url + path, data=data, headers=headers, method=method
        )
        self.requests[method] += 1
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                text = response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as exc:
            try:
                text = exc.read().decode("utf-8", errors="replace")
            except (OSError, http.client.HTTPException):
                text = ""
            exc.close()
            message, reason = _detail(text)
            what = f"{method} {path.split('?')[0]}: HTTP {exc.code}"
            text = f"{what}: {message}" if message else what
            raise GrafanaError(text, exc.code, reason) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason_ = getattr(exc, "reason", exc)
            raise GrafanaError(f"cannot reach Grafana at {self.conn.url}: {reason_}") from None
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            what = f"{method} {path.split('?')[0]}"
            raise GrafanaError(f"{what}: the answer is not JSON", 200) from None


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """No redirects: one to a login page would turn a POST into a GET and hide a refusal."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
