"""What the workflow run is about, from GitHub's default environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slogen.errors import SlogenError

DEFAULT_API_URL = "https://api.github.com"


@dataclass
class Context:
    """What the workflow run is about, from GitHub's default environment variables."""

    repository: str = ""
    api_url: str = DEFAULT_API_URL
    server_url: str = "https://github.com"
    run_id: str = ""
    sha: str = ""
    event_name: str = ""
    event: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Context:
        env = os.environ if environ is None else environ
        event: dict[str, Any] = {}
        event_path = env.get("GITHUB_EVENT_PATH")
        if event_path:
            try:
                event = json.loads(Path(event_path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SlogenError(f"cannot read the event payload {event_path}: {exc}") from exc
        return cls(
            repository=env.get("GITHUB_REPOSITORY", ""),
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
            run_id=env.get("GITHUB_RUN_ID", ""),
            sha=env.get("GITHUB_SHA", ""),
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event if isinstance(event, dict) else {},
        )

    @property
    def pull_request(self) -> dict[str, Any]:
        pr = self.event.get("pull_request")
        return pr if isinstance(pr, dict) else {}

    @property
    def pull_request_number(self) -> int | None:
        """The pull request the event is about (``pull_request.number``), if any."""
        number = self.pull_request.get("number")
        if number is None:  # issue_comment on a pull request
            issue = self.event.get("issue")
            if isinstance(issue, dict) and issue.get("pull_request"):
                number = issue.get("number")
        return number if isinstance(number, int) and number > 0 else None

    @property
    def from_fork(self) -> bool:
        """A pull request from another repository gets a read-only token: no comment."""
        head = self.pull_request.get("head")
        repo = head.get("repo") if isinstance(head, dict) else None
        name = repo.get("full_name") if isinstance(repo, dict) else None
        return bool(name and self.repository and name != self.repository)

    @property
    def head_sha(self) -> str:
        head = self.pull_request.get("head")
        sha = head.get("sha") if isinstance(head, dict) else None
        return sha if isinstance(sha, str) and sha else self.sha

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
