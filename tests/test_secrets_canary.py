"""Canary secrets never leak (issue 13, case 9).

Every credential is set to a canary value with surrounding whitespace and a newline, as a
secret pasted into CI often is (``DD_API_KEY=$'<key>\\n'``); clients strip it, so what a server
echoes is the stripped form. Each target is then made to fail in ways whose errors carry
request headers (the fakes' header echo), server errors and wrong credentials, and no form of
any canary may appear on stdout, stderr or in a saved plan.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from slogen.backends.datadog.api import client as dd_client
from slogen.backends.prometheus.ruler import client as ruler_client
from tests.cli import Result, run
from tests.conftest import SPECS, example_policies
from tests.fakes import faults

DD_API = "canary-dd-api-1111aaaa"
DD_APP = "canary-dd-app-2222bbbb"
AWS_SECRET = "canary-aws-secret-3333cccc"
AWS_SESSION = "canary-aws-session-4444dddd"
RULER_USER = "canary-ruler-user"
RULER_PASSWORD = "canary-ruler-pw-5555eeee"
RULER_TOKEN = "canary-ruler-token-6666ffff"
GITHUB_TOKEN = "canary-gh-token-7777gggg"
CANARIES = (DD_API, DD_APP, AWS_SECRET, AWS_SESSION, RULER_PASSWORD, RULER_TOKEN, GITHUB_TOKEN)
BASIC = base64.b64encode(f"{RULER_USER}:{RULER_PASSWORD}".encode()).decode()


def padded(value: str) -> str:
    """The canary as a careless paste sets it."""
    return f"  {value}\n"


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text
        for canary in (*CANARIES, BASIC):
            assert canary not in text, f"{canary} leaked:\n{text}"


def outputs(*results: Result) -> list[str]:
    return [r.output for r in results]


@pytest.fixture(params=["padded", "plain"])
def aws_env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Canary AWS credentials and nothing else from this machine's AWS setup. botocore sends
    the session token as it is set: padded, the request fails in the HTTP client (whose error
    shows the header); plain, it reaches the fake, whose header echo shows it."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", padded(AWS_SECRET))
    token = padded(AWS_SESSION) if request.param == "padded" else AWS_SESSION
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")


@pytest.fixture
def specs(tmp_path: Path, in_tmp: Path) -> Path:
    copy = tmp_path / "specs"
    shutil.copytree(SPECS, copy)
    return copy


def _configure(specs: Path, target: str) -> None:
    (specs / "slogen.yaml").write_text(example_policies() + f"targets:\n  {target}\n")


# -- Datadog ------------------------------------------------------------------------------------


@pytest.fixture
def fast_dd_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        dd_client, "RETRY", dd_client.RetryPolicy(attempts=3, max_sleep=0.01, backoff=0.001)
    )


def test_datadog_keys_with_whitespace_never_leak(
    specs: Path, monkeypatch: pytest.MonkeyPatch, fast_dd_retries: None
) -> None:
    from tests.fakes.datadog_api import FakeDatadog

    monkeypatch.setenv("DD_API_KEY", padded(DD_API))
    monkeypatch.setenv("DD_APP_KEY", "\t" + padded(DD_APP))
    with FakeDatadog(api_key=DD_API, app_key=DD_APP) as fake:
        _configure(specs, f'datadog: {{type: api, host: "{fake.url}"}}')
        plan = ("plan", str(specs), "--target", "datadog")
        apply = ("apply", str(specs), "--target", "datadog", "--auto-approve")
        texts = []
        fake.inject_fault(faults.HEADER_ECHO, count=1, operation="GET")
        texts += outputs(run(*plan, exit_code=1))
        texts += outputs(run(*plan, "-o", "plan.json"), run(*plan, "--format", "json"))
        texts.append(Path("plan.json").read_text())
        fake.inject_fault(faults.HEADER_ECHO, count=3, operation="POST slo")
        failed = run(*apply, exit_code=1)
        assert "you sent" in failed.output and "DD-API-KEY: ***" in failed.output, failed.output
        texts += outputs(failed)
        fake.inject(500, count=50)
        texts += outputs(run(*apply, exit_code=1))
        fake.clear_injections()
        fake.faults.clear()
        fake.inject_fault(faults.HEADER_ECHO, count=50)
        texts += outputs(run("apply", "plan.json", exit_code=1))
        fake.faults.clear()
    with FakeDatadog(api_key="another-key-0000", app_key="another-app-0000") as wrong:
        _configure(specs, f'datadog: {{type: api, host: "{wrong.url}"}}')
        texts += outputs(run(*plan, exit_code=1))
    assert any("you sent" in t or "400" in t for t in texts), texts
    assert_no_canary(*texts)


# -- CloudWatch (moto) ---------------------------------------------------------------------------


def test_aws_credentials_with_whitespace_never_leak_from_cloudwatch(
    specs: Path, aws_env: None
) -> None:
    from tests.fakes.cloudwatch import MotoCloudWatch

    with MotoCloudWatch() as fake:
        _configure(specs, f'cloudwatch: {{type: api, endpoint_url: "{fake.url}"}}')
        plan = ("plan", str(specs), "--target", "cloudwatch")
        apply = ("apply", str(specs), "--target", "cloudwatch", "--auto-approve")
        texts = []
        fake.inject_fault(faults.HEADER_ECHO, count=20)
        texts += outputs(run(*plan, exit_code=None), run(*apply, exit_code=None))
        echoed = bool(fake.shared.fired)
        fake.shared.clear()
        texts += outputs(run(*plan, "-o", "plan.json", exit_code=None))
        if Path("plan.json").exists():
            texts.append(Path("plan.json").read_text())
    assert echoed == (os.environ["AWS_SESSION_TOKEN"] == AWS_SESSION)
    assert any("you sent" in t or "Invalid header value" in t for t in texts), texts
    assert_no_canary(*texts)


# -- Prometheus ruler ----------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["basic", "token"])
def test_ruler_credentials_with_whitespace_never_leak(
    specs: Path, monkeypatch: pytest.MonkeyPatch, auth: str
) -> None:
    from tests.fakes.ruler import FakeRuler

    monkeypatch.setattr(ruler_client, "_sleep", lambda seconds: None)
    if auth == "basic":
        credentials = {"username": RULER_USER, "password": RULER_PASSWORD}
        options = '"username": "${RULER_USER}", "password": "${RULER_PASSWORD}"'
        monkeypatch.setenv("RULER_USER", RULER_USER)
        monkeypatch.setenv("RULER_PASSWORD", padded(RULER_PASSWORD))
    else:
        credentials = {"token": RULER_TOKEN}
        options = '"token": "${RULER_TOKEN}"'
        monkeypatch.setenv("RULER_TOKEN", padded(RULER_TOKEN))
    with FakeRuler(tenant="team-a", **credentials) as fake:
        _configure(
            specs,
            f'prometheus: {{"type": "ruler", "url": "{fake.url}", "tenant": "team-a", {options}}}',
        )
        plan = ("plan", str(specs), "--target", "prometheus")
        apply = ("apply", str(specs), "--target", "prometheus", "--auto-approve")
        texts = []
        fake.inject_fault(faults.HEADER_ECHO, count=1, operation="GET")
        texts += outputs(run(*plan, exit_code=1))
        texts += outputs(run(*plan, "-o", "plan.json"))
        texts.append(Path("plan.json").read_text())
        fake.inject_fault(faults.HEADER_ECHO, count=20, operation="POST")
        texts += outputs(run(*apply, exit_code=1))
        texts += outputs(run("apply", "plan.json", exit_code=None))
    assert any("you sent" in t for t in texts), texts
    assert_no_canary(*texts)


# -- Amazon Managed Prometheus (moto) ------------------------------------------------------------


def test_aws_credentials_with_whitespace_never_leak_from_amp(specs: Path, aws_env: None) -> None:
    from tests.fakes.amp import MotoAmp

    with MotoAmp() as fake:
        workspace = fake.create_workspace()
        _configure(
            specs,
            f'prometheus: {{type: amp, workspace_id: "{workspace}", region: eu-west-1, '
            f'endpoint_url: "{fake.url}"}}',
        )
        plan = ("plan", str(specs), "--target", "prometheus")
        apply = ("apply", str(specs), "--target", "prometheus", "--auto-approve")
        texts = []
        fake.inject_fault(faults.HEADER_ECHO, count=20)
        texts += outputs(run(*plan, exit_code=None), run(*apply, exit_code=None))
        echoed = bool(fake.shared.fired)
    assert echoed == (os.environ["AWS_SESSION_TOKEN"] == AWS_SESSION)
    assert any("you sent" in t or "Invalid header value" in t for t in texts), texts
    assert_no_canary(*texts)


# -- GitHub token --------------------------------------------------------------------------------


@pytest.fixture
def pull_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/shop")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github-output"))
    yield


def test_a_github_token_with_whitespace_never_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pull_request: None
) -> None:
    from tests.fakes.github_api import FakeGitHub

    body = tmp_path / "body.md"
    body.write_text("Plan: 1 to add, 0 to change, 0 to destroy.\n")
    monkeypatch.setenv("GITHUB_TOKEN", padded(GITHUB_TOKEN))
    texts = []
    with FakeGitHub(token=GITHUB_TOKEN) as gh:
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        gh.echo_headers_next(5)
        texts += outputs(run("github-comment", str(body), exit_code=None))
        gh.fail_next(500, 10)
        texts += outputs(run("github-comment", str(body), exit_code=None))
    with FakeGitHub(token="another-token-0000") as wrong:
        monkeypatch.setenv("GITHUB_API_URL", wrong.url)
        texts += outputs(run("github-comment", str(body), exit_code=1))
    assert_no_canary(*texts)
