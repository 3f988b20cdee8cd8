"""AWS access for the ``api`` target: sessions, per-command clients, calls and their errors.

Credentials come from boto3's standard chain (environment, shared config and credentials
files, SSO, container and instance roles); slogen never stores or prints them. The target's
``endpoint_url`` points every client at another endpoint (moto, LocalStack).

Retries and pacing are split on purpose. AWS's SDK classifies failures and retries what is
worth retrying: botocore's ``adaptive`` retry mode retries throttling and 5xx with backoff and
slows the client down after throttling, within ``max_attempts`` per request. Pacing is the
shared executor's :class:`~slogen.plan.executor.RateLimiter`, keyed by (region, operation)
because AWS's quotas are per region and operation (:data:`~.limits.TPS`), so several threads
together stay within them and there is no burst to be throttled in the first place.

This module imports boto3 and botocore only inside functions: the backend is imported by
commands that never talk to AWS.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import slogen.backends.cloudwatch.limits as limits
from slogen import __version__, envref
from slogen.errors import SlogenError
from slogen.plan.executor import Budget, Fatal, RateLimiter
from slogen.redact import redact
from slogen.spec.model import Target as TargetSettings

MAX_PAGES = 100_000  # a guard against a server that never stops paging
WORKERS = 4  # threads per region while applying; the rate limiter sets the pace
# Retries after the first attempt (botocore's ``max_attempts``: "setting this value to 2 will
# result in the request being retried at most two times after the initial request").
READ_RETRIES = 5
WRITE_RETRIES = 9
CONNECT_TIMEOUT = 10.0  # seconds
READ_TIMEOUT = 60.0


# AWS error codes that no retry or other region can fix: the caller may not do this at all,
# and the credentials themselves were refused.
ACCESS_DENIED_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
CREDENTIAL_CODES = (
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
)


def timeouts() -> tuple[float, float]:
    """(connect, read) seconds: the constants, or ``SLOGEN_HTTP_TIMEOUT`` for both."""
    value = envref.http_timeout_override()
    return (value, value) if value else (CONNECT_TIMEOUT, READ_TIMEOUT)


CREDENTIAL_HINT = (
    "slogen uses the standard AWS credential chain: AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary credentials) in the "
    "environment, or AWS_PROFILE naming a profile in ~/.aws/credentials or ~/.aws/config "
    "(SSO included), or a container or instance role; use targets.cloudwatch: {type: files} "
    "to work offline"
)
ALARM_TYPES = ["CompositeAlarm", "MetricAlarm"]


class AwsError(Exception):
    """An AWS error (or none at all), with a message safe to print."""

    def __init__(self, message: str, code: str = "", fatal: bool = False):
        super().__init__(redact(message))
        self.message = redact(message)
        self.code = code
        self.fatal = fatal  # no point trying anything else (no credentials)


class NoCredentials(AwsError, Fatal):
    """No credentials at all: no further request can succeed, so the executor stops."""


def budget(regions: int) -> Budget:
    """How hard an apply drives AWS: a few threads per region, paced within AWS's quotas."""
    return Budget(workers=WORKERS * max(1, regions), rates=dict(limits.TPS))


def tag_dict(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """AWS's tag list (``[{"Key": ..., "Value": ...}]``) as a dict."""
    return {str(t["Key"]): str(t.get("Value", "")) for t in items or []}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """A dict of tags in AWS's list form, sorted."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


_SESSIONS: dict[tuple[tuple[str, str], ...], Any] = {}
_SESSION_LOCK = threading.Lock()  # boto3 sessions are not thread-safe: clients made under it


def _session() -> Any:
    """A boto3 session for the current AWS_* environment, reused within this process.

    A new session loads every service model again (about 0.1 s per client); reusing one is
    what boto3's own default session does. Changing any AWS_* variable gives a new session, so
    credentials always follow the environment. Clients are never reused (see :class:`Aws`).
    """
    import boto3

    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    with _SESSION_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = boto3.session.Session()
        return session


def default_region() -> str | None:
    """The region the AWS credential chain names by default (``AWS_REGION``,
    ``AWS_DEFAULT_REGION``, the profile's ``region``), or None; no credentials are needed."""
    from botocore.exceptions import BotoCoreError

    try:
        region = _session().region_name
    except BotoCoreError:  # a broken config file is reported when credentials are loaded
        return None
    return str(region) if region else None


class Aws:
    """boto3 clients per (service, region) for one command, a request counter.

    Clients are new for every command: botocore's adaptive mode keeps a per-client send rate
    that a throttle lowers, and one command's throttling should not slow the next one.
    """

    def __init__(self, settings: TargetSettings, retries: int):
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        self.endpoint = envref.option(settings, "endpoint_url") or None
        try:
            self.session = _session()
            with _SESSION_LOCK:
                credentials = self.session.get_credentials()
        except BotoCoreError as exc:  # ProfileNotFound, a broken config file...
            raise SlogenError(
                f"cannot load AWS credentials: {redact(str(exc))}", hint=CREDENTIAL_HINT
            ) from None
        if credentials is None:
            raise SlogenError(
                "AWS credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or AWS_PROFILE) in the environment",
                hint=CREDENTIAL_HINT,
            )
        self.config = Config(
            retries={"mode": "adaptive", "max_attempts": retries},
            connect_timeout=timeouts()[0],
            read_timeout=timeouts()[1],
            max_pool_connections=WORKERS * 2,
            user_agent_extra=f"slogen/{__version__}",
        )
        self.limiter = RateLimiter(limits.TPS)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.requests = 0
        self.regions: set[str] = set()

    def client(self, service: str, region: str) -> Any:
        with _SESSION_LOCK:
            found = self._clients.get((service, region))
            if found is None:
                found = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint, config=self.config
                )
                self._clients[(service, region)] = found
            return found

    def where(self, region: str) -> str:
        return self.endpoint or f"the {region} endpoint"

    def call(self, region: str, service: str, operation: str, **params: Any) -> Any:
        """One API call (botocore retries inside it); AWS's errors become :class:`AwsError`."""
        from botocore import xform_name
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        client = self.client(service, region)
        self.limiter.wait(region, operation)
        with self._lock:
            self.requests += 1
            self.regions.add(region)
        try:
            return getattr(client, xform_name(operation))(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            message = str(error.get("Message", "")).strip()
            raise AwsError(
                f"{operation} in {region}: {code}" + (f": {message}" if message else ""), code
            ) from None
        except NoCredentialsError:
            raise NoCredentials(
                "AWS credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or AWS_PROFILE) in the environment",
                "NoCredentials",
                fatal=True,
            ) from None
        except (
            EndpointConnectionError,
            ConnectTimeoutError,
            ReadTimeoutError,
            ConnectionClosedError,
        ) as exc:
            raise AwsError(
                f"{operation} in {region}: cannot reach CloudWatch at {self.where(region)}: {exc}",
                "Unreachable",
            ) from None
        except BotoCoreError as exc:
            raise AwsError(f"{operation} in {region}: {exc}", type(exc).__name__) from None


def read_error(exc: AwsError) -> SlogenError:
    """The user-facing error of a failed read: what to grant or check, not AWS's code."""
    if exc.fatal:
        return SlogenError(exc.message, hint=CREDENTIAL_HINT)
    if exc.code in ACCESS_DENIED_CODES:
        return SlogenError(
            f"AWS refused to list alarms: {exc.message}",
            hint="slogen needs cloudwatch:DescribeAlarms (on *, or composite alarms stay "
            "hidden), tag:GetResources and cloudwatch:ListTagsForResource to plan",
        )
    if exc.code in CREDENTIAL_CODES:
        return SlogenError(
            f"AWS did not accept the credentials: {exc.message}", hint=CREDENTIAL_HINT
        )
    if exc.code == "Unreachable":
        return SlogenError(
            f"cannot read CloudWatch live state: {exc.message}",
            hint="check targets.cloudwatch.endpoint_url (if set), the region names and the "
            "network, then run the command again",
        )
    return SlogenError(f"cannot read CloudWatch live state: {exc.message}")


def reader(settings: TargetSettings) -> Aws:
    """Clients for reading: few retries, a read that keeps failing should say so soon."""
    return Aws(settings, READ_RETRIES)


def writer(settings: TargetSettings) -> Aws:
    """Clients for applying: more retries, a write given up on leaves work for the next plan."""
    return Aws(settings, WRITE_RETRIES)
