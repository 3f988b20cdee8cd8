"""A fake Grafana dashboard HTTP API, for the ``grafana`` backend's ``api`` target tests.

It listens on 127.0.0.1 only (an ephemeral port), uses the standard library, keeps its state in
memory, and is stopped by the ``with`` block that started it::

    with FakeGrafana(token="glsa_test") as grafana:
        grafana.put_dashboard({"uid": "team-board", "title": "Team", "tags": []})
        ...  # targets.grafana.url: grafana.url

How closely it follows Grafana. FACT: read in Grafana's documentation (Dashboard HTTP API and
Folder/Dashboard Search HTTP API: grafana/grafana docs/sources/developers/http_api/
dashboard.md and folder_dashboard_search.md, https://grafana.com/docs/grafana/latest/
developers/http_api/); ASSUMED: picked by the fake where the docs say nothing.

* FACT routes: ``POST /api/dashboards/db`` (create or update), ``GET /api/dashboards/uid/<uid>``,
  ``DELETE /api/dashboards/uid/<uid>``, ``GET /api/search``.
* FACT POST body ``{"dashboard", "folderUid", "overwrite", "message"}``; answer ``200 {"id",
  "uid", "url", "status": "success", "version", "slug"}``. A new dashboard gets version 1 and an
  id; each save adds 1 to the version. ``folderUid`` names the folder (none: the root level).
* FACT 412 Precondition Failed with ``{"message", "status"}``: ``version-mismatch`` "The
  dashboard has been changed by someone else" and ``name-exists`` "A dashboard with the same
  uid already exists". ASSUMED which applies when, without ``overwrite``: a body with a
  ``version`` unlike the stored one is ``version-mismatch``; a body without ``version`` at a
  taken uid is ``name-exists``. With ``overwrite: true`` the stored one is replaced.
* FACT the uid is at most 40 characters (docs: "The uid can have a maximum length of 40
  characters"); ASSUMED wording of the 400s: ``uid too long, max 40 characters``, ``uid
  contains illegal characters`` (letters, digits, ``-``, ``_``), ``Dashboard title cannot be
  empty``, ``folder not found`` for an unknown ``folderUid``.
* FACT GET answers ``{"dashboard": {... "id", "uid", "version"}, "meta": {"url", "folderUid",
  "slug", ...}}`` and 404 when there is none; DELETE answers ``200 {"title", "message",
  "id"}`` or 404. ASSUMED 404 body ``{"message": "Dashboard not found"}``.
* FACT search: ``type`` (``dash-db``/``dash-folder``), ``tag`` (repeatable; ASSUMED a hit has
  every tag asked for), ``limit`` (default 1000, at most 5000), ``page`` from 1; hits
  ``{"id", "uid", "title", "url", "type", "tags", "isStarred", "folderUid", "folderTitle"}``
  (folder fields only for dashboards in a folder); ASSUMED sorted by title.
* FACT 401 without a valid token, 403 when the token lacks a permission. ASSUMED: the token is
  ``Authorization: Bearer <token>``; ``viewer_token`` may read but every write is
  ``403 {"message": "Access denied"}``; the 401 body is ``{"message": "Unauthorized"}``.
* Faults (ASSUMED, as a proxy or an overloaded Grafana would answer): ``fail_next(n, status,
  method=..., body=...)`` answers the next n matching requests with that status and JSON body.
* ``counts``: requests per ``(method, route)``, route one of ``search``, ``save``,
  ``dashboard``; ``saves``: every accepted POST body.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MAX_UID = 40
UID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
DEFAULT_LIMIT, MAX_LIMIT = 1000, 5000


@dataclass
class Fault:
    remaining: int
    status: int
    method: str | None
    body: dict[str, Any]


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class FakeGrafana:
    def __init__(
        self,
        token: str = "glsa_fake_token",
        viewer_token: str | None = None,
        folders: dict[str, str] | None = None,
    ) -> None:
        self.token = token
        self.viewer_token = viewer_token
        self.folders = dict(folders or {})  # folder uid -> title
        self.lock = threading.Lock()
        self.dashboards: dict[str, dict[str, Any]] = {}  # uid -> stored dashboard (id, version)
        self.folder_of: dict[str, str | None] = {}  # uid -> folder uid
        self.next_id = 1
        self.counts: Counter[tuple[str, str]] = Counter()
        self.saves: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FakeGrafana:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeGrafana:
        fake = self

        class Handler(_Handler):
            grafana = fake

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

    # -- state, for tests ------------------------------------------------------------------

    def put_dashboard(self, dashboard: dict[str, Any], folder: str | None = None) -> None:
        """Store a dashboard directly, as a person or another tool would have."""
        with self.lock:
            self._store(json.loads(json.dumps(dashboard)), folder, None)

    def edit(self, uid: str, **fields: Any) -> None:
        """Change a stored dashboard as someone in the UI would (its version goes up)."""
        with self.lock:
            stored = self.dashboards[uid]
            stored.update(fields)
            stored["version"] += 1

    def get(self, uid: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.dashboards.get(uid)
            return json.loads(json.dumps(found)) if found is not None else None

    def fail_next(
        self, times: int, status: int, method: str | None = None, body: dict | None = None
    ) -> None:
        with self.lock:
            self.faults.append(Fault(times, status, method, body or {"message": f"error {status}"}))

    def writes(self) -> int:
        with self.lock:
            return sum(n for (method, _), n in self.counts.items() if method != "GET")

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()

    def _store(self, dashboard: dict[str, Any], folder: str | None, old: dict | None) -> None:
        dashboard["id"] = old["id"] if old else self.next_id
        if old is None:
            self.next_id += 1
        dashboard["version"] = old["version"] + 1 if old else 1
        self.dashboards[dashboard["uid"]] = dashboard
        self.folder_of[dashboard["uid"]] = folder

    # -- the API, called with the lock held --------------------------------------------------

    def save(self, payload: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(payload, dict) or not isinstance(payload.get("dashboard"), dict):
            return 400, {"message": "bad request data"}
        dashboard = json.loads(json.dumps(payload["dashboard"]))
        uid = dashboard.get("uid")
        if not isinstance(uid, str) or not uid:
            uid = dashboard["uid"] = f"gen{self.next_id:06d}"
        if len(uid) > MAX_UID:
            return 400, {"message": "uid too long, max 40 characters"}
        if not UID_RE.match(uid):
            return 400, {"message": "uid contains illegal characters"}
        if not str(dashboard.get("title") or "").strip():
            return 400, {"message": "Dashboard title cannot be empty"}
        folder = payload.get("folderUid") or None
        if folder is not None and folder not in self.folders:
            return 400, {"message": "folder not found"}
        old = self.dashboards.get(uid)
        if old is not None and not payload.get("overwrite"):
            if "version" not in dashboard or dashboard["version"] is None:
                return 412, {
                    "message": "A dashboard with the same uid already exists",
                    "status": "name-exists",
                }
            if dashboard["version"] != old["version"]:
                return 412, {
                    "message": "The dashboard has been changed by someone else",
                    "status": "version-mismatch",
                }
        self._store(dashboard, folder, old)
        self.saves.append(payload)
        slug = _slug(dashboard["title"])
        return 200, {
            "id": dashboard["id"],
            "uid": uid,
            "url": f"/d/{uid}/{slug}",
            "status": "success",
            "version": dashboard["version"],
            "slug": slug,
        }

    def read(self, uid: str) -> tuple[int, dict[str, Any]]:
        found = self.dashboards.get(uid)
        if found is None:
            return 404, {"message": "Dashboard not found"}
        slug = _slug(str(found.get("title", "")))
        folder = self.folder_of.get(uid)
        meta = {"url": f"/d/{uid}/{slug}", "slug": slug, "folderUid": folder or ""}
        return 200, {"dashboard": json.loads(json.dumps(found)), "meta": meta}

    def remove(self, uid: str) -> tuple[int, dict[str, Any]]:
        found = self.dashboards.pop(uid, None)
        if found is None:
            return 404, {"message": "Dashboard not found"}
        self.folder_of.pop(uid, None)
        title = found.get("title", "")
        return 200, {"title": title, "message": f"Dashboard {title} deleted", "id": found["id"]}

    def search(self, query: dict[str, list[str]]) -> tuple[int, list[dict[str, Any]]]:
        kinds = query.get("type", [])
        if kinds and "dash-db" not in kinds:
            return 200, []
        tags = query.get("tag", [])
        try:
            limit = min(MAX_LIMIT, int(query.get("limit", [DEFAULT_LIMIT])[0]))
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            limit, page = DEFAULT_LIMIT, 1
        hits = []
        for uid, dashboard in self.dashboards.items():
            own = dashboard.get("tags") or []
            if all(tag in own for tag in tags):
                hit = {
                    "id": dashboard["id"],
                    "uid": uid,
                    "title": dashboard.get("title", ""),
                    "url": f"/d/{uid}/{_slug(str(dashboard.get('title', '')))}",
                    "type": "dash-db",
                    "tags": list(own),
                    "isStarred": False,
                }
                folder = self.folder_of.get(uid)
                if folder:
                    hit.update({"folderUid": folder, "folderTitle": self.folders[folder]})
                hits.append(hit)
        hits.sort(key=lambda h: (h["title"].lower(), h["uid"]))
        return 200, hits[(page - 1) * limit : page * limit]


class _Handler(BaseHTTPRequestHandler):
    grafana: FakeGrafana
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method: str) -> None:
        fake = self.grafana
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/api/search" and method == "GET":
            route = "search"
        elif path == "/api/dashboards/db" and method == "POST":
            route = "save"
        elif path.startswith("/api/dashboards/uid/") and method in ("GET", "DELETE"):
            route = "dashboard"
        else:
            self._json(404, {"message": "Not found"})
            return
        with fake.lock:
            fake.counts[(method, route)] += 1
            fault = next(
                (f for f in fake.faults if f.remaining > 0 and f.method in (None, method)), None
            )
            if fault is not None:
                fault.remaining -= 1
        if fault is not None:
            self._json(fault.status, fault.body)
            return
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if token is None or token not in (fake.token, fake.viewer_token):
            self._json(401, {"message": "Unauthorized"})
            return
        if method != "GET" and token != fake.token:
            self._json(403, {"message": "Access denied"})
            return
        with fake.lock:
            if route == "search":
                status, data = fake.search(parse_qs(parts.query))
            elif route == "save":
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = None
                status, data = fake.save(payload)
            else:
                uid = unquote(path[len("/api/dashboards/uid/") :])
                status, data = fake.read(uid) if method == "GET" else fake.remove(uid)
        self._json(status, data)
