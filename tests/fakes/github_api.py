"""A fake of the GitHub REST API's issue-comment endpoints, for the action's tests.

It listens on 127.0.0.1 only (an ephemeral port), uses the standard library only, keeps its
state in memory and is started and stopped by the test that uses it::

    with FakeGitHub(token="ghs_fake") as gh:
        gh.add_comment("octo/shop", 7, "looks good", user="alice")
        ...  # point GITHUB_API_URL at gh.url

How closely it follows GitHub (FACT: documented at docs.github.com or quoted from real responses
in public issues; ASSUMED: picked by the fake):

* FACT: ``GET /repos/{owner}/{repo}/issues/{number}/comments`` takes ``per_page`` (default 30,
  at most 100) and ``page`` (from 1), returns comments in ascending id order and, when there is
  more than one page, a ``Link`` header with ``rel="next"``, ``"last"``, ``"first"``,
  ``"prev"`` as they apply.
* FACT: ``POST`` there with ``{"body": ...}`` answers 201 with the comment;
  ``PATCH /repos/{owner}/{repo}/issues/comments/{id}`` answers 200 with it.
* FACT: a body over 65,536 characters is refused with 422 ``Validation Failed`` and the error
  ``Body is too long (maximum is 65536 characters)``. ASSUMED: characters are counted as
  Python counts them (code points).
* FACT: a wrong or missing token answers 401 ``Bad credentials``.
* ASSUMED (stricter than GitHub, whose token may edit others' comments): editing a comment made
  by another user answers 403, so a test notices if slogen ever touches one.
* Faults can be injected: ``fail_next(status, times)`` answers the next requests with that
  status (for the client's retries); ``link_headers = False`` leaves out the ``Link`` header
  (a client must then stop at a short page); ``link_base`` makes the links point elsewhere.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BODY_LIMIT = 65_536
ECHO_HEADERS = -1  # a queued fault: answer 400 echoing the request headers
BOT = "github-actions[bot]"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: Any


@dataclass
class Comment:
    id: int
    repo: str
    issue: int
    body: str
    user: str
    user_type: str
    created_at: str
    updated_at: str
    edits: int = 0

    def to_json(self, base: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "node_id": f"IC_fake{self.id}",
            "url": f"{base}/repos/{self.repo}/issues/comments/{self.id}",
            "html_url": f"https://github.com/{self.repo}/pull/{self.issue}#issuecomment-{self.id}",
            "issue_url": f"{base}/repos/{self.repo}/issues/{self.issue}",
            "body": self.body,
            "user": {"login": self.user, "id": sum(map(ord, self.user)), "type": self.user_type},
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "author_association": "NONE" if self.user_type == "Bot" else "MEMBER",
        }


@dataclass
class State:
    comments: list[Comment] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    next_id: int = 1_000
    clock: int = 0
    faults: list[int] = field(default_factory=list)

    def stamp(self) -> str:
        self.clock += 1
        return (
            f"2024-05-01T{self.clock // 3600 % 24:02d}:{self.clock // 60 % 60:02d}:"
            f"{self.clock % 60:02d}Z"
        )


COMMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
COMMENT = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")


class FakeGitHub:
    def __init__(self, token: str = "ghs_fakeToken123", user: str = BOT):
        self.token = token
        self.user = user
        self.state = State()
        self.lock = threading.Lock()
        self.link_headers = True
        self.link_base: str | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

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

    # test helpers -----------------------------------------------------------------------------

    def add_comment(
        self, repo: str, issue: int, body: str, user: str = "alice", user_type: str = "User"
    ) -> Comment:
        with self.lock:
            self.state.next_id += 1
            stamp = self.state.stamp()
            comment = Comment(self.state.next_id, repo, issue, body, user, user_type, stamp, stamp)
            self.state.comments.append(comment)
            return comment

    def comments(self, repo: str, issue: int) -> list[Comment]:
        with self.lock:
            return [c for c in self.state.comments if c.repo == repo and c.issue == issue]

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.state.faults.extend([status] * times)

    def echo_headers_next(self, times: int = 1) -> None:
        """The next ``times`` requests are answered 400 with every request header in the
        message (the token included), as a careless proxy does: slogen must redact it."""
        with self.lock:
            self.state.faults.extend([ECHO_HEADERS] * times)

    @property
    def requests(self) -> list[Request]:
        with self.lock:
            return list(self.state.requests)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    # plumbing ---------------------------------------------------------------------------------

    def _send(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self, method: str) -> None:
        fake = self.owner
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, {"message": "Problems parsing JSON"})
            return
        # header names are case-insensitive: stored lower-cased, the token left out
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
        with fake.lock:
            fake.state.requests.append(
                Request(method, parts.path, parse_qs(parts.query), headers, body)
            )
            fault = fake.state.faults.pop(0) if fake.state.faults else None
        if fault == ECHO_HEADERS:
            sent = "; ".join(f"{k}: {v}" for k, v in sorted(self.headers.items()))
            self._send(400, {"message": f"bad request; you sent: {sent}"})
            return
        if fault is not None:
            self._send(fault, {"message": "Server Error (injected)"})
            return
        auth = self.headers.get("Authorization", "")
        if auth not in (f"Bearer {fake.token}", f"token {fake.token}"):
            self._send(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
            )
            return
        base = f"http://{self.headers.get('Host')}"
        if match := COMMENTS.match(parts.path):
            repo, issue = match.group(1), int(match.group(2))
            if method == "GET":
                self._list(base, repo, issue, parse_qs(parts.query))
            elif method == "POST":
                self._create(base, repo, issue, body)
            else:
                self._send(404, {"message": "Not Found"})
        elif (match := COMMENT.match(parts.path)) and method == "PATCH":
            self._update(base, match.group(1), int(match.group(2)), body)
        else:
            self._send(404, {"message": "Not Found"})

    # endpoints --------------------------------------------------------------------------------

    def _list(self, base: str, repo: str, issue: int, query: dict[str, list[str]]) -> None:
        try:
            per_page = max(1, min(100, int(query.get("per_page", ["30"])[0])))
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            self._send(422, {"message": "Validation Failed"})
            return
        items = sorted(self.owner.comments(repo, issue), key=lambda c: c.id)
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        path = f"{self.owner.link_base or base}/repos/{repo}/issues/{issue}/comments"
        links = []
        if page < last:
            links.append(f'<{path}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{path}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{path}?per_page={per_page}&page=1>; rel="first"')
            links.append(f'<{path}?per_page={per_page}&page={page - 1}>; rel="prev"')
        headers = {"Link": ", ".join(links)} if links and self.owner.link_headers else {}
        self._send(200, [c.to_json(base) for c in chunk], headers)

    def _too_long(self, body: Any) -> bool:
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            self._send(422, {"message": "Invalid request.\n\nNo body given."})
            return True
        if len(body["body"]) > BODY_LIMIT:
            self._send(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "IssueComment",
                            "code": "unprocessable",
                            "field": "data",
                            "message": f"Body is too long (maximum is {BODY_LIMIT} characters)",
                        }
                    ],
                    "documentation_url": "https://docs.github.com/rest/issues/comments"
                    "#create-an-issue-comment",
                    "status": "422",
                },
            )
            return True
        return False

    def _create(self, base: str, repo: str, issue: int, body: Any) -> None:
        if self._too_long(body):
            return
        comment = self.owner.add_comment(repo, issue, body["body"], self.owner.user, "Bot")
        self._send(201, comment.to_json(base))

    def _update(self, base: str, repo: str, comment_id: int, body: Any) -> None:
        fake = self.owner
        with fake.lock:
            found = next(
                (c for c in fake.state.comments if c.id == comment_id and c.repo == repo), None
            )
        if found is None:
            self._send(404, {"message": "Not Found"})
            return
        if found.user != fake.user:
            self._send(403, {"message": "Resource not accessible by integration"})
            return
        if self._too_long(body):
            return
        with fake.lock:
            found.body = body["body"]
            found.updated_at = fake.state.stamp()
            found.edits += 1
        self._send(200, found.to_json(base))
