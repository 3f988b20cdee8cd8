"""GitHub Actions: annotations, step outputs, job summaries and the one pull-request comment.

The composite action (``action.yml`` at the repository root) keeps its shell steps thin and calls
this module: ``python -m slogen.github run`` validates, plans or applies and writes the outputs,
the job summary and the comment body; ``slogen github-comment FILE`` creates or updates the
comment. Everything here runs without GitHub too (files and environment variables only), which is
how the tests drive it.

Facts this module relies on (looked up; sources in parentheses):

* Annotations are workflow commands on stdout, ``::error file=F,line=L,col=C,title=T::message``
  (also ``::warning``). The toolkit escapes ``%``, CR and LF in the message as ``%25``, ``%0D``,
  ``%0A``, and in property values also ``:`` and ``,`` as ``%3A`` and ``%2C`` (docs.github.com,
  "Workflow commands for GitHub Actions"; actions/toolkit packages/core/src/command.ts,
  ``escapeData`` and ``escapeProperty``).
* ``$GITHUB_OUTPUT`` takes ``name=value`` lines; a multi-line value is written as
  ``name<<DELIMITER``, the value, then ``DELIMITER`` on a line of its own, and the delimiter must
  not occur in the value ("Multiline strings" in the same page). The toolkit uses a random
  ``ghadelimiter_<uuid>`` and refuses a value that contains it
  (packages/core/src/file-command.ts, ``prepareKeyValueMessage``).
* A step's job summary (``$GITHUB_STEP_SUMMARY``) may be at most 1 MiB; above that its upload
  fails with an error annotation ("Step isolation and limits" in the same page; the runner says
  "supports content up to a size of 1024k").
* An issue or pull-request comment body may be at most 65,536 characters; GitHub answers 422
  "Body is too long (maximum is 65536 characters)" (REST error quoted in
  telia-oss/github-pr-resource#259 and danger/danger#424; dead-claudia/github-limits#13 found
  the count is not plain bytes, so the budget here counts UTF-16 code units, which is never less
  than the number of characters, and keeps a margin).
* REST: ``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version: 2022-11-28``
  (docs.github.com, "API Versions"); list endpoints take ``per_page`` (at most 100) and
  ``page`` and announce further pages in the ``Link`` header with ``rel="next"``
  (docs.github.com, "Using pagination in the REST API"). Issue comments:
  ``GET/POST /repos/{owner}/{repo}/issues/{number}/comments`` and
  ``PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`` (docs.github.com,
  "REST API endpoints for issue comments"); a pull request is an issue for these endpoints.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slogen import __version__
from slogen.errors import Problem, SlogenError
from slogen.plan.render import MARKDOWN_MARKER
from slogen.redact import redact

MARKER = MARKDOWN_MARKER  # the hidden first line that identifies slogen's comment

COMMENT_LIMIT = 65_536  # characters GitHub accepts in a comment body
COMMENT_BUDGET = COMMENT_LIMIT - 1_024  # what slogen uses: a margin below the hard limit
STEP_SUMMARY_LIMIT = 1024 * 1024  # bytes per step summary
STEP_SUMMARY_BUDGET = STEP_SUMMARY_LIMIT - 16 * 1024

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100  # the most GitHub returns per page
MAX_PAGES = 200  # 20,000 comments: a guard against a server that never stops paging


# --------------------------------------------------------------------------- workflow commands


def escape_data(text: str) -> str:
    """Escape a workflow command's message (toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (toolkit ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: object) -> str:
    """``::command key=value,...::message`` with empty properties left out."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value not in (None, "", 0)
    )
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def workspace_path(file: str, environ: Mapping[str, str] | None = None) -> str:
    """A path as GitHub wants it in an annotation: relative to the repository checkout.

    slogen reports paths as given on the command line, which are relative to the step's
    working directory; annotations are matched against the pull request's files, which are
    relative to ``GITHUB_WORKSPACE``.
    """
    env = os.environ if environ is None else environ
    workspace = env.get("GITHUB_WORKSPACE")
    if not workspace:
        return file
    try:
        relative = os.path.relpath(os.path.abspath(file), os.path.abspath(workspace))
    except ValueError:  # another drive on Windows
        return file
    if relative == ".." or relative.startswith(".." + os.sep):
        return file
    return relative.replace(os.sep, "/")


def problem_annotation(problem: Problem, environ: Mapping[str, str] | None = None) -> str:
    loc = problem.location
    command = "warning" if problem.severity == "warning" else "error"
    message = f"{problem.path}: {problem.message}" if problem.path else problem.message
    if problem.hint:
        message += f"\nhint: {problem.hint}"
    return workflow_command(
        command,
        message,
        file=workspace_path(loc.file, environ),
        line=loc.line,
        col=loc.column,
        title=f"slogen: {problem.path}" if problem.path else "slogen",
    )


@dataclass
class SpecCheck:
    """The outcome of loading the specs: every problem, or the project's size."""

    problems: list[Problem] = field(default_factory=list)
    error: str = ""  # a failure that is not tied to a place in a file
    hint: str = ""
    services: int = 0
    slos: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.error

    def annotations(self, environ: Mapping[str, str] | None = None) -> list[str]:
        lines = [problem_annotation(p, environ) for p in self.problems]
        if self.error and not self.errors:
            message = self.error + (f"\nhint: {self.hint}" if self.hint else "")
            lines.append(workflow_command("error", redact(message), title="slogen"))
        return lines

    def summary(self) -> str:
        if self.ok:
            return f"Valid: {self.services} services, {self.slos} SLOs."
        count = len(self.errors) or 1
        return f"{count} error{'s' if count != 1 else ''} in the specs."

    def text(self) -> str:
        """The problems as the CLI prints them."""
        lines = [p.render() for p in self.problems]
        if self.error and not self.errors:
            lines.append(f"error: {self.error}" + (f"\n  hint: {self.hint}" if self.hint else ""))
        return redact("\n".join(lines))


def check_specs(paths: list[str] | tuple[str, ...], config: str | None = None) -> SpecCheck:
    from slogen.spec.loader import load_project_with_warnings

    try:
        project, problems = load_project_with_warnings(list(paths) or ["specs"], config)
    except SlogenError as exc:
        return SpecCheck(list(exc.problems), exc.message, exc.hint)
    slos = sum(len(s.slos) for s in project.services)
    return SpecCheck(list(problems), services=len(project.services), slos=slos)


# --------------------------------------------------------------------------- environment files


def format_output(name: str, value: str) -> str:
    """One ``$GITHUB_OUTPUT`` entry, with a fresh random delimiter for multi-line values."""
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    if delimiter in value or delimiter in name:  # as the toolkit does; practically impossible
        raise SlogenError(f"output {name} contains its own delimiter")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def set_output(name: str, value: str, environ: Mapping[str, str] | None = None) -> None:
    """Append to ``$GITHUB_OUTPUT``; nothing happens outside GitHub Actions."""
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(format_output(name, value))


def write_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> bool:
    """Append to ``$GITHUB_STEP_SUMMARY`` within its 1 MiB; returns whether it was cut."""
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    used = Path(path).stat().st_size if Path(path).exists() else 0
    note = (
        "> **Note:** this summary was cut to stay within GitHub's 1 MiB limit for a step "
        "summary; the full plan is in the run's artifact."
    )
    text, cut = fit_markdown(markdown, STEP_SUMMARY_BUDGET - used, note, utf8_len)
    with open(path, "a", encoding="utf-8", newline="\n") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return cut


# --------------------------------------------------------------------------- fitting markdown


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what JavaScript counts); never less than len(text)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_DETAILS_OPEN = re.compile(r"<details(?:\s[^>]*)?>", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class _BlockState:
    fence: str = ""  # the open code fence ("```", "~~~~"...), or "" outside code
    details: int = 0  # <details> elements open

    def after(self, line: str) -> _BlockState:
        body = line.rstrip("\r\n")
        match = _FENCE.match(body)
        if self.fence:
            if (
                match
                and match.group(1)[0] == self.fence[0]
                and len(match.group(1)) >= len(self.fence)
                and not match.group(2).strip()
            ):
                return _BlockState("", self.details)
            return self
        if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
            return _BlockState(match.group(1), self.details)
        opened = len(_DETAILS_OPEN.findall(body))
        closed = len(_DETAILS_CLOSE.findall(body))
        return _BlockState("", max(0, self.details + opened - closed))

    def closing(self) -> str:
        text = f"{self.fence}\n" if self.fence else ""
        if self.details:
            text += "\n" + "</details>\n" * self.details
        return text


def fit_markdown(
    text: str, limit: int, note: str, measure: Callable[[str], int] = utf16_len
) -> tuple[str, bool]:
    """Cut ``text`` at a line boundary so that it, plus what closes it, fits in ``limit``.

    Open code fences and ``<details>`` elements at the cut are closed so the rest of the page
    still renders, and ``note`` says that (and where the full text is). The first line (the
    hidden marker of a comment) is always kept. Returns the text and whether it was cut.
    """
    if measure(text) <= limit:
        return text, False
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    tail = f"\n{note}\n"
    state = _BlockState()
    kept = 0
    size = 0
    best = (0, _BlockState())
    for index, line in enumerate(lines):
        size += measure(line)
        state = state.after(line)
        if size + measure(state.closing()) + measure(tail) > limit:
            break
        kept = index + 1
        best = (kept, state)
    kept, state = best
    if kept == 0 and lines:  # not even the first line fits with the note: keep it regardless
        kept, state = 1, _BlockState().after(lines[0])
    out = "".join(lines[:kept]) + state.closing() + tail
    return out, True


def fence(text: str, info: str = "") -> str:
    """A fenced code block that ``text`` cannot close early."""
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}"


# --------------------------------------------------------------------------- context


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


# --------------------------------------------------------------------------- REST API


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


def is_slogen_comment(comment: Mapping[str, Any]) -> bool:
    """slogen's comment starts with the hidden marker; a comment that merely quotes or mentions
    it (a person asking about it, a reply) does not."""
    body = comment.get("body")
    return isinstance(body, str) and body.lstrip("\ufeff \t\r\n").startswith(MARKER)


@dataclass
class CommentResult:
    action: str  # created, updated, unchanged
    id: int
    url: str


def upsert_comment(api: GitHubAPI, repo: str, number: int, body: str) -> CommentResult:
    """Create slogen's comment on the pull request, or update it in place: never a second one."""
    if not body.lstrip().startswith(MARKER):
        body = f"{MARKER}\n{body}"
    note = (
        "> **Note:** this comment was cut to fit GitHub's limit of "
        f"{COMMENT_LIMIT:,} characters; see the workflow run for all of it."
    )
    body, _ = fit_markdown(body, COMMENT_BUDGET, note)
    existing = next((c for c in api.issue_comments(repo, number) if is_slogen_comment(c)), None)
    if existing is None:
        made = api.create_comment(repo, number, body)
        return CommentResult("created", int(made["id"]), str(made.get("html_url", "")))
    if existing.get("body") == body:
        return CommentResult("unchanged", int(existing["id"]), str(existing.get("html_url", "")))
    made = api.update_comment(repo, int(existing["id"]), body)
    return CommentResult("updated", int(made["id"]), str(made.get("html_url", "")))


def comment_from_env(
    body: str,
    number: int | None = None,
    repo: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> CommentResult | None:
    """Post ``body`` as slogen's comment on the run's pull request; None when there is none."""
    env = os.environ if environ is None else environ
    ctx = Context.from_env(env)
    number = number or ctx.pull_request_number
    repo = repo or ctx.repository
    if number is None:
        return None
    if not repo or "/" not in repo:
        raise GitHubError("no repository", hint="set GITHUB_REPOSITORY to OWNER/NAME or --repo")
    api = GitHubAPI(env.get("GITHUB_TOKEN", ""), ctx.api_url)
    result = upsert_comment(api, repo, number, body)
    set_output("comment-url", result.url, env)
    return result


# --------------------------------------------------------------------------- comment bodies


def _footer(ctx: Context, command: str) -> str:
    parts = [f"slogen {__version__} `{command}`"]
    if ctx.head_sha:
        parts.append(f"commit {ctx.head_sha[:7]}")
    if ctx.run_url:
        parts.append(f"[workflow run]({ctx.run_url})")
    return "<sub>" + " · ".join(parts) + "</sub>"


def _cut_note(ctx: Context, artifact: str, what: str = "plan") -> str:
    where = "the job summary"
    if ctx.run_url:
        where = f"the [job summary]({ctx.run_url})"
    if artifact:
        where += f" and the `{artifact}` artifact"
    return (
        f"> **Note:** the {what} is too long for a pull-request comment (GitHub allows "
        f"{COMMENT_LIMIT:,} characters), so it was cut here. The full {what} is in {where}."
    )


def build_comment(content: str, ctx: Context, command: str, artifact: str = "") -> str:
    """The comment: marker, ``content`` (summary line first), then a footer naming the run."""
    lines = content.splitlines()
    if lines and lines[0].strip() == MARKER:
        lines = lines[1:]
    body = "\n".join([MARKER, *lines]).rstrip() + "\n"
    footer = "\n" + _footer(ctx, command) + "\n"
    fitted, _ = fit_markdown(
        body, COMMENT_BUDGET - utf16_len(footer), _cut_note(ctx, artifact, command)
    )
    return fitted + footer


def problems_markdown(check: SpecCheck, command: str) -> str:
    lines = [
        MARKER,
        f"**slogen {command} failed: {check.summary()}**",
        "",
        "Each problem is also annotated on the file it is in.",
        "",
        fence(check.text(), "text"),
    ]
    return "\n".join(lines) + "\n"


def failure_markdown(command: str, output: str, max_lines: int = 200) -> str:
    lines = redact(output).rstrip().splitlines()
    shown = lines[-max_lines:]
    intro = f"The last {len(shown)} lines of its output:" if len(lines) > max_lines else "Output:"
    return "\n".join(
        [MARKER, f"**slogen {command} failed.**", "", intro, "", fence("\n".join(shown), "text")]
    )


def target_summary(plan: Any) -> str:
    """One line per backend target, then the total: the ``summary`` output."""
    from slogen.plan.model import Plan

    lines = []
    for state in plan.targets:
        sub = Plan(plan.for_target(state.backend, state.target))
        lines.append(f"{state.backend} ({state.target}): {sub.summary()}")
    lines.append(plan.summary())
    return "\n".join(lines)


# --------------------------------------------------------------------------- the action's step


@dataclass
class Settings:
    """The action's inputs, as the step's environment passes them."""

    command: str = "plan"
    paths: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    config: str = ""
    args: list[str] = field(default_factory=list)
    plan_file: str = ""
    comment: bool = True
    artifact: str = ""
    out_dir: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        command = env.get("SLOGEN_COMMAND", "plan").strip() or "plan"
        if command not in ("validate", "plan", "apply"):
            raise SlogenError(
                f"unknown command '{command}'", hint="the command input is validate, plan or apply"
            )
        comment = env.get("SLOGEN_COMMENT", "true").strip().lower()
        if comment not in ("true", "false"):
            raise SlogenError(f"comment must be true or false, found '{comment}'")
        try:
            paths = shlex.split(env.get("SLOGEN_PATHS", ""))
            args = shlex.split(env.get("SLOGEN_ARGS", ""))
        except ValueError as exc:
            raise SlogenError(f"cannot split paths or args: {exc}") from exc
        targets = [t for t in re.split(r"[\s,]+", env.get("SLOGEN_TARGETS", "")) if t]
        return cls(
            command=command,
            paths=paths,
            targets=targets,
            config=env.get("SLOGEN_CONFIG", "").strip(),
            args=args,
            plan_file=env.get("SLOGEN_PLAN_FILE", "").strip(),
            comment=comment == "true",
            artifact=env.get("SLOGEN_ARTIFACT", "").strip(),
            out_dir=env.get("SLOGEN_OUT_DIR", "").strip(),
        )

    def config_args(self) -> list[str]:
        return ["--config", self.config] if self.config else []

    def target_args(self) -> list[str]:
        return [arg for t in self.targets for arg in ("--target", t)]


def run_slogen(args: list[str], environ: Mapping[str, str]) -> tuple[int, str]:
    """Run the slogen CLI, streaming its output to the log and keeping a copy."""
    command = [sys.executable, "-m", "slogen", *args]
    print(f"$ slogen {shlex.join(args)}", flush=True)
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=dict(environ),
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    assert proc.stdout is not None
    chunks = []
    for line in proc.stdout:
        sys.stdout.write(line)
        chunks.append(line)
    sys.stdout.flush()
    return proc.wait(), "".join(chunks)


class ActionStep:
    """``python -m slogen.github run``: the work of the action's main step."""

    def __init__(self, environ: Mapping[str, str]):
        self.env = dict(environ)
        self.settings = Settings.from_env(self.env)
        self.ctx = Context.from_env(self.env)
        base = self.settings.out_dir or self.env.get("RUNNER_TEMP") or tempfile.gettempdir()
        Path(base).mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="slogen-", dir=base))
        self.plan_dir = self.work / "plan"  # uploaded as the artifact
        self.plan_dir.mkdir()

    # outputs -------------------------------------------------------------------------------

    def output(self, name: str, value: str) -> None:
        set_output(name, value, self.env)

    def annotate(self, lines: list[str]) -> None:
        for line in lines:
            print(line)
        sys.stdout.flush()

    def finish(self, exitcode: int, changes: bool, summary: str, markdown: str) -> int:
        """Write outputs, the job summary and the comment body; the step's exit status."""
        self.output("exitcode", str(exitcode))
        self.output("changes", "true" if changes else "false")
        self.output("summary", summary)
        self.output("plan-dir", str(self.plan_dir))
        heading = f"## slogen {self.settings.command}\n\n"
        content = markdown.split("\n", 1)[1] if markdown.startswith(MARKER) else markdown
        write_step_summary(heading + content.lstrip("\n"), self.env)
        self.write_comment(markdown)
        return 1 if exitcode == 1 else 0

    def write_comment(self, markdown: str) -> None:
        if not self.settings.comment:
            return
        number = self.ctx.pull_request_number
        if number is None:
            print("Not a pull request event: no comment.")
            return
        if self.ctx.from_fork:
            print(
                "::notice title=slogen::No plan comment: pull requests from forks get a "
                "read-only token. The plan is in the job summary."
            )
            return
        body = build_comment(markdown, self.ctx, self.settings.command, self.settings.artifact)
        path = self.work / "comment.md"
        path.write_text(body, encoding="utf-8")
        self.output("comment-file", str(path))

    # commands ------------------------------------------------------------------------------

    def run(self) -> int:
        command = self.settings.command
        if command == "apply" and self.settings.plan_file:
            return self.apply_saved(self.settings.plan_file)
        check = check_specs(self.settings.paths, self.settings.config or None)
        self.annotate(check.annotations(self.env))
        if not check.ok:
            return self.finish(
                1,
                False,
                f"slogen {command} failed: {check.summary()}",
                problems_markdown(check, command),
            )
        if command == "validate":
            print(check.summary())
            return self.finish(0, False, check.summary(), f"{MARKER}\n**{check.summary()}**\n")
        return self.plan_then(apply=command == "apply")

    def plan_then(self, apply: bool) -> int:
        s = self.settings
        plan_file = self.plan_dir / "plan.json"
        args = ["plan", *s.paths, *s.config_args(), *s.target_args(), *s.args]
        code, output = run_slogen([*args, "-o", str(plan_file), "--detailed-exitcode"], self.env)
        (self.plan_dir / "plan.txt").write_text(redact(output), encoding="utf-8")
        if code not in (0, 2) or not plan_file.is_file():
            return self.finish(
                1, False, f"slogen {s.command} failed.", failure_markdown("plan", output)
            )
        self.output("plan-file", str(plan_file))
        plan, markdown = self.render_saved(plan_file)
        summary = target_summary(plan)
        if not apply or not plan.has_changes:
            return self.finish(2 if plan.has_changes else 0, plan.has_changes, summary, markdown)
        return self.apply_plan(plan_file, plan.has_changes, summary, markdown)

    def apply_saved(self, plan_file: str) -> int:
        if not Path(plan_file).is_file():
            raise SlogenError(
                f"no plan file at {plan_file}",
                hint="download the plan job's artifact first (actions/download-artifact); the "
                "path is relative to the working directory",
            )
        self.output("plan-file", plan_file)
        plan, markdown = self.render_saved(Path(plan_file))
        summary = target_summary(plan)
        if not plan.has_changes:
            print("The saved plan has no changes; nothing to apply.")
            return self.finish(0, False, summary, markdown)
        return self.apply_plan(Path(plan_file), True, summary, markdown)

    def apply_plan(self, plan_file: Path, changes: bool, summary: str, markdown: str) -> int:
        code, output = run_slogen(["apply", str(plan_file)], self.env)
        (self.plan_dir / "apply.txt").write_text(redact(output), encoding="utf-8")
        result = "Applied." if code == 0 else "**Apply failed.**"
        markdown = (
            markdown.rstrip()
            + f"\n\n### Apply\n\n{result}\n\n"
            + fence(redact(output), "text")
            + "\n"
        )
        return self.finish(2 if code == 0 else 1, changes, summary, markdown)

    def render_saved(self, plan_file: Path) -> tuple[Any, str]:
        from slogen.plan import planfile, render

        plan, _ = planfile.load(str(plan_file))
        markdown = redact(render.render_markdown(plan))
        for warning in plan.warnings:
            print(workflow_command("warning", redact(warning), title="slogen plan"))
        (self.plan_dir / "plan.md").write_text(markdown, encoding="utf-8")
        return plan, markdown


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["run"]:
        print(
            "usage: python -m slogen.github run   (the GitHub Action's main step)", file=sys.stderr
        )
        return 2
    try:
        return ActionStep(os.environ).run()
    except SlogenError as exc:
        message = exc.message + (f"\nhint: {exc.hint}" if exc.hint else "")
        print(workflow_command("error", redact(message), title="slogen"))
        set_output("exitcode", "1")
        set_output("changes", "false")
        return 1


if __name__ == "__main__":
    sys.exit(main())
