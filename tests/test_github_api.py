"""The REST client and the one-comment upsert, against the fake GitHub API on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from slogen import github
from tests.cli import run
from tests.fakes.github_api import BODY_LIMIT, FakeGitHub

TOKEN = "ghs_unitTestToken0123456789"
REPO = "octo/shop"
MARKER = "<!-- slogen-plan -->"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def api(gh: FakeGitHub) -> github.GitHubAPI:
    return github.GitHubAPI(TOKEN, gh.url, timeout=5, backoff=0.01)


def crowd(gh: FakeGitHub, count: int) -> None:
    """Other people's comments, including ones that mention the marker without being ours."""
    for i in range(count):
        gh.add_comment(REPO, 7, f"comment {i}", user=("alice", "bob")[i % 2])
    gh.add_comment(REPO, 7, f"Why is there a hidden {MARKER} in the bot's comment?", user="carol")
    gh.add_comment(REPO, 7, f"> {MARKER}\n> **Plan: 1 to add**\n\nLooks fine", user="dave")
    gh.add_comment(REPO, 7, "ci report", user="other-ci[bot]", user_type="Bot")


def test_requests_carry_githubs_headers(gh: FakeGitHub, api: github.GitHubAPI) -> None:
    list(api.issue_comments(REPO, 7))
    (request,) = gh.requests
    assert request.path == f"/repos/{REPO}/issues/7/comments"
    assert request.query == {"per_page": ["100"], "page": ["1"]}
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"].startswith("slogen/")
    assert "authorization" not in request.headers  # the fake checked it and never stores it


def test_pagination_follows_link_headers(gh: FakeGitHub, api: github.GitHubAPI) -> None:
    crowd(gh, 250)
    comments = list(api.issue_comments(REPO, 7))
    assert len(comments) == 253
    assert [r.query["page"] for r in gh.requests] == [["1"], ["2"], ["3"]]


def test_pagination_without_link_headers_stops_at_a_short_page(
    gh: FakeGitHub, api: github.GitHubAPI
) -> None:
    gh.link_headers = False
    crowd(gh, 197)  # 200 comments: two full pages, then an empty one
    assert len(list(api.issue_comments(REPO, 7))) == 200
    assert [r.query["page"] for r in gh.requests] == [["1"], ["2"], ["3"]]


def test_links_to_another_host_are_not_followed(gh: FakeGitHub, api: github.GitHubAPI) -> None:
    gh.link_base = "http://127.0.0.2:9"
    crowd(gh, 150)
    with pytest.raises(github.GitHubError, match="off the API host"):
        list(api.issue_comments(REPO, 7))
    assert len(gh.requests) == 1  # the token never went to the other host


def test_upsert_creates_then_updates_one_comment_and_leaves_others_alone(
    gh: FakeGitHub, api: github.GitHubAPI
) -> None:
    crowd(gh, 120)  # our comment will be on the second page
    before = {c.id: c.body for c in gh.comments(REPO, 7)}
    first = github.upsert_comment(api, REPO, 7, f"{MARKER}\n**Plan: 1 to add, 0 to change.**\n")
    assert first.action == "created"
    second = github.upsert_comment(api, REPO, 7, f"{MARKER}\n**Plan: 2 to add, 0 to change.**\n")
    assert (second.action, second.id) == ("updated", first.id)
    third = github.upsert_comment(api, REPO, 7, f"{MARKER}\n**Plan: 2 to add, 0 to change.**\n")
    assert (third.action, third.id) == ("unchanged", first.id)
    comments = gh.comments(REPO, 7)
    ours = [c for c in comments if c.id == first.id]
    assert len(comments) == len(before) + 1 and len(ours) == 1
    assert ours[0].body.startswith(f"{MARKER}\n**Plan: 2 to add") and ours[0].edits == 1
    assert {c.id: c.body for c in comments if c.id != first.id} == before
    assert all(c.edits == 0 for c in comments if c.id != first.id)
    assert [r.method for r in gh.requests].count("POST") == 1


def test_upsert_adds_the_marker_and_cuts_an_oversized_body(
    gh: FakeGitHub, api: github.GitHubAPI
) -> None:
    body = "**Plan**\n\n```diff\n" + "+ x = 1\n" * 20_000 + "```\n"
    result = github.upsert_comment(api, REPO, 7, body)
    (comment,) = gh.comments(REPO, 7)
    assert result.action == "created"
    assert comment.body.startswith(MARKER + "\n**Plan**")
    assert len(comment.body) <= BODY_LIMIT
    assert "cut to fit GitHub's limit of 65,536 characters" in comment.body
    assert comment.body.count("```") % 2 == 0


def test_the_fake_refuses_an_oversized_body_like_github(
    gh: FakeGitHub, api: github.GitHubAPI
) -> None:
    with pytest.raises(github.GitHubError) as raised:
        api.create_comment(REPO, 7, "x" * (BODY_LIMIT + 1))
    assert raised.value.status == 422
    assert "Body is too long (maximum is 65536 characters)" in raised.value.message
    api.create_comment(REPO, 7, "x" * BODY_LIMIT)


def test_server_errors_are_retried_for_reads_and_updates(
    gh: FakeGitHub, api: github.GitHubAPI
) -> None:
    gh.fail_next(502, times=2)
    assert list(api.issue_comments(REPO, 7)) == []
    assert len(gh.requests) == 3


def test_a_create_is_not_retried_on_a_server_error(gh: FakeGitHub, api: github.GitHubAPI) -> None:
    gh.fail_next(502)
    with pytest.raises(github.GitHubError, match="502"):
        api.create_comment(REPO, 7, "hello")
    assert len(gh.requests) == 1  # a retry could post the comment twice


def test_bad_token_is_a_clean_error_that_never_shows_the_token(gh: FakeGitHub) -> None:
    wrong = "ghs_wrongTokenValue987654321"
    api = github.GitHubAPI(wrong, gh.url, timeout=5)
    with pytest.raises(github.GitHubError) as raised:
        list(api.issue_comments(REPO, 7))
    assert raised.value.status == 401
    assert "Bad credentials" in raised.value.message
    assert "token" in raised.value.hint
    assert wrong not in raised.value.message + raised.value.hint


def test_unreachable_api_is_a_clean_error() -> None:
    api = github.GitHubAPI(TOKEN, "http://127.0.0.1:9", timeout=2, attempts=2, backoff=0.01)
    with pytest.raises(github.GitHubError, match="failed"):
        list(api.issue_comments(REPO, 7))


def event(tmp_path: Path, payload: dict) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_github_comment_command(
    gh: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crowd(gh, 3)
    body = tmp_path / "body.md"
    body.write_text("**Plan: 1 to add, 0 to change, 0 to destroy.**\n")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", gh.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_EVENT_PATH", event(tmp_path, {"pull_request": {"number": 7}}))
    output = tmp_path / "output"
    output.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    first = run("github-comment", str(body))
    assert first.stdout.startswith("Created comment https://github.com/octo/shop/pull/7#")
    body.write_text("**No changes.**\n")
    second = run("github-comment", str(body))
    assert second.stdout.startswith("Updated comment")
    ours = [c for c in gh.comments(REPO, 7) if c.body.startswith(MARKER)]
    assert len(ours) == 1 and ours[0].body == f"{MARKER}\n**No changes.**\n"
    assert "comment-url=https://github.com/octo/shop/pull/7#issuecomment-" in output.read_text()
    assert TOKEN not in first.output + second.output


def test_github_comment_outside_a_pull_request(
    gh: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = tmp_path / "body.md"
    body.write_text("hi\n")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", gh.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_EVENT_PATH", event(tmp_path, {"ref": "refs/heads/main"}))
    result = run("github-comment", str(body))
    assert result.stdout.strip() == "Not a pull request: no comment."
    assert gh.requests == []


def test_github_comment_with_a_bad_token_exits_1_without_showing_it(
    gh: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = tmp_path / "body.md"
    body.write_text("hi\n")
    wrong = "ghs_wrongTokenValue987654321"
    monkeypatch.setenv("GITHUB_TOKEN", wrong)
    monkeypatch.setenv("GITHUB_API_URL", gh.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    result = run("github-comment", str(body), "--pr", "7", exit_code=1)
    assert "GitHub answered 401" in result.stderr and "Bad credentials" in result.stderr
    assert "Traceback" not in result.output and wrong not in result.output


def test_context_reads_the_event(tmp_path: Path) -> None:
    env = {
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_RUN_ID": "99",
        "GITHUB_SHA": "merge000",
        "GITHUB_EVENT_PATH": event(
            tmp_path,
            {
                "pull_request": {
                    "number": 12,
                    "head": {"sha": "head111", "repo": {"full_name": "fork/shop"}},
                }
            },
        ),
    }
    ctx = github.Context.from_env(env)
    assert ctx.pull_request_number == 12 and ctx.from_fork and ctx.head_sha == "head111"
    assert ctx.api_url == "https://api.github.com"
    assert ctx.run_url == "https://github.com/octo/shop/actions/runs/99"
    issue_comment = {"issue": {"number": 5, "pull_request": {"url": "x"}}}
    assert github.Context(event=issue_comment).pull_request_number == 5
    assert github.Context(event={"issue": {"number": 5}}).pull_request_number is None
