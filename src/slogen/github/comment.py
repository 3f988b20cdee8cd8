"""slogen's one pull-request comment: its body, and creating or updating it in place.

An issue or pull-request comment body may be at most 65,536 characters; GitHub answers 422
"Body is too long (maximum is 65536 characters)" (REST error quoted in
telia-oss/github-pr-resource#259 and danger/danger#424; dead-claudia/github-limits#13 found the
count is not plain bytes, so the budget here counts UTF-16 code units, which is never less than
the number of characters, and keeps a margin).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slogen import __version__
from slogen.github.annotations import SpecCheck
from slogen.github.api import GitHubAPI, GitHubError
from slogen.github.context import Context
from slogen.github.envfiles import set_output
from slogen.github.markdown import fence, fit_markdown, utf16_len
from slogen.plan.render import MARKDOWN_MARKER
from slogen.redact import redact

MARKER = MARKDOWN_MARKER  # the hidden first line that identifies slogen's comment

COMMENT_LIMIT = 65_536  # characters GitHub accepts in a comment body
COMMENT_BUDGET = COMMENT_LIMIT - 1_024  # what slogen uses: a margin below the hard limit


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
