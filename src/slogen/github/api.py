"""A small client for GitHub's REST API, on the standard library (urllib).

REST: ``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version: 2022-11-28``
(docs.github.com, "API Versions"); list endpoints take ``per_page`` (at most 100) and ``page``
and announce further pages in the ``Link`` header with ``rel="next"`` (docs.github.com, "Using
pagination in the REST API"). Issue comments: ``GET/POST
/repos/{owner}/{repo}/issues/{number}/comments`` and ``PATCH
/repos/{owner}/{repo}/issues/comments/{comment_id}`` (docs.github.com, "REST API endpoints for
issue comments"); a pull request is an issue for these endpoints.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from slogen import __version__
from slogen.errors import SlogenError
from slogen.github.context import DEFAULT_API_URL
from slogen.redact import redact, register

API_VERSION = "2022-11-28"
PER_PAGE = 100  # the most GitHub returns per page
MAX_PAGES = 200  # 20,000 comments: a guard against a server that never stops paging


class GitHubError(SlogenError):
    def __init__(self, message: str, status: int = 0, hint: str = ""):
        super().__init__(message, hint=hint)
        self.status = status


_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="([^"]*)"')


def next_link(header: str | None) -> str | None:
    for url, rels in _LINK.findall(header or ""):
        if "next" in rels.split():
            return url
    return None


class GitHubAPI:
    """A small client for GitHub's REST API on the standard library (urllib)."""

    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 1.0,
    ):
        # a token pasted with a newline would make an invalid header (and a traceback that
        # shows it); it is sent stripped, and both forms are redacted
        register(token)
        token = token.strip()
        if not token:
            raise GitHubError(
                "no GitHub token",
                hint="set GITHUB_TOKEN (the action passes its github-token input, by default "
                "the workflow's token)",
            )
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        base = urllib.parse.urlsplit(self.api_url)
        self._origin = (base.scheme, base.netloc)

    def _scrub(self, text: str) -> str:
        return redact(text.replace(self.token, "***"))

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            parts = urllib.parse.urlsplit(path_or_url)
            if (parts.scheme, parts.netloc) != self._origin:  # never send the token elsewhere
                raise GitHubError(f"refusing to follow a link off the API host: {path_or_url}")
            return path_or_url
        return self.api_url + path_or_url

    def request(
        self, method: str, path_or_url: str, payload: Any = None
    ) -> tuple[int, Mapping[str, str], Any]:
        url = self._url(path_or_url)
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"slogen/{__version__}",
        }
        if data is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        # POST is not idempotent: retried only when GitHub said it did nothing (429, rate limit).
        idempotent = method in ("GET", "PATCH", "PUT", "DELETE")
        for attempt in range(1, self.attempts + 1):
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    body = resp.read()
                    return resp.status, resp.headers, json.loads(body) if body else None
            except urllib.error.HTTPError as exc:
                body = exc.read()
                wait = self._retry_after(exc.code, exc.headers, attempt, idempotent)
                if wait is None:
                    raise self._error(method, url, exc.code, body) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if not idempotent or attempt == self.attempts:
                    reason = getattr(exc, "reason", exc)
                    raise GitHubError(
                        self._scrub(f"{method} {url} failed: {reason}"),
                        hint="check GITHUB_API_URL and the runner's network",
                    ) from None
                wait = self.backoff * 2 ** (attempt - 1)
            time.sleep(wait)
        raise GitHubError(f"{method} {url} failed after {self.attempts} attempts")  # unreachable

    def _retry_after(
        self, status: int, headers: Mapping[str, str], attempt: int, idempotent: bool
    ) -> float | None:
        if attempt >= self.attempts:
            return None
        limited = status == 429 or (
            status == 403
            and (headers.get("Retry-After") or headers.get("X-RateLimit-Remaining") == "0")
        )
        if not limited and not (idempotent and status >= 500):
            return None
        retry_after = headers.get("Retry-After")
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), 60.0)
        reset = headers.get("X-RateLimit-Reset")
        if limited and reset and reset.strip().isdigit():
            return max(0.0, min(float(reset) - time.time(), 60.0))
        return self.backoff * 2 ** (attempt - 1)

    def _error(self, method: str, url: str, status: int, body: bytes) -> GitHubError:
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        message = data.get("message", "") if isinstance(data, dict) else ""
        details = [
            e.get("message") or e.get("code", "")
            for e in (data.get("errors", []) if isinstance(data, dict) else [])
            if isinstance(e, dict)
        ]
        text = f"GitHub answered {status} to {method} {url}"
        if message:
            text += f": {message}"
        if details:
            text += " (" + "; ".join(str(d) for d in details) + ")"
        hint = {
            401: "the token is missing, expired or wrong",
            403: "the workflow needs 'permissions: pull-requests: write' (or issues: write); "
            "pull requests from forks only get a read-only token",
            404: "check the repository and pull request number, and that the token can see them",
        }.get(status, "")
        return GitHubError(self._scrub(text), status, hint)

    def paginate(self, path: str) -> Iterator[Any]:
        """Every item of a list endpoint: follow ``Link: rel="next"``, else stop on a short page."""
        sep = "&" if "?" in path else "?"
        url: str | None = f"{path}{sep}per_page={PER_PAGE}&page=1"
        page = 1
        while url is not None:
            if page > MAX_PAGES:
                raise GitHubError(f"more than {MAX_PAGES} pages at {path}; giving up")
            _, headers, items = self.request("GET", url)
            if not isinstance(items, list):
                raise GitHubError(f"expected a list from GET {path}, got {type(items).__name__}")
            yield from items
            link = next_link(headers.get("Link"))
            if link:
                url = link
            elif headers.get("Link") is None and len(items) == PER_PAGE:
                url = f"{path}{sep}per_page={PER_PAGE}&page={page + 1}"
            else:
                url = None
            page += 1

    def issue_comments(self, repo: str, number: int) -> Iterator[dict[str, Any]]:
        return self.paginate(f"/repos/{repo}/issues/{number}/comments")

    def create_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        _, _, data = self.request("POST", f"/repos/{repo}/issues/{number}/comments", {"body": body})
        return data

    def update_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        _, _, data = self.request(
            "PATCH", f"/repos/{repo}/issues/comments/{comment_id}", {"body": body}
        )
        return data
