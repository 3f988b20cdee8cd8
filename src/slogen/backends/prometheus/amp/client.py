"""AMP's API for one workspace: names, ownership, calls, errors and waiting, with their sources.

Sessions, credentials, botocore's retries (``adaptive`` mode: throttling and 5xx are retried
with backoff inside each call) and the error type are the CloudWatch backend's
(:mod:`slogen.backends.cloudwatch.aws`); this module adds what is AMP's own.

AWS's rules, from the AMP API reference (docs.aws.amazon.com/prometheus/latest/APIReference/)
and the model botocore ships (``botocore/data/amp/2020-08-01/service-2.json``):

* a rule groups namespace name matches ``[0-9A-Za-z][-.0-9A-Z_a-z]*``; its length is at most
  64 characters in the older reference (API_CreateRuleGroupsNamespace, docs.amazonaws.cn) and
  128 in the current model: slogen keeps to 64. "The combined length of a rule group namespace
  and a rule group name cannot exceed 721 UTF-8 bytes" (CreateRuleGroupsNamespace).
  ``slogen-<service>`` fits the pattern: service names are ``[a-z0-9-]+`` (spec/checks.py).
* ``ListRuleGroupsNamespaces``: ``name`` filters by prefix, ``maxResults`` 1-1000 (default
  100), ``nextToken`` pages; each summary (RuleGroupsNamespaceSummary) has ``tags`` (optional
  in the model, so a summary without them is asked ``ListTagsForResource``), ``status``, but no
  ``data``: that takes ``DescribeRuleGroupsNamespace``, one call per namespace.
* Status codes: CREATING, ACTIVE, UPDATING, DELETING, CREATION_FAILED, UPDATE_FAILED, with a
  ``statusReason`` for failures. Create, Put and Delete answer 202 and finish asynchronously;
  they list ConflictException ("The request would cause an inconsistent state", HTTP 409).
  ASSUMPTION (not documented): a Put or Delete while the namespace is CREATING or UPDATING is
  answered with ConflictException; slogen then waits and tries again, within
  :data:`BUSY_WAIT` seconds. After a Create or Put it waits (:data:`SETTLE_WAIT`) for ACTIVE,
  as Terraform's aws_prometheus_rule_group_namespace does (5 min), so that a rules file AMP
  refuses after accepting the request (``*_FAILED``) is reported as that change's failure.
* ``clientToken`` is an idempotency token: botocore fills it in, and its retries of one call
  send the same token, so a create whose answer was lost is not made twice. A name is unique
  in a workspace anyway, so a create repeated after a lost answer (a 5xx or a timeout after
  AMP stored it; also when the service ignores the token) is answered ConflictException: the
  namespace is then described and, when it is slogen's (its tags name this service), adopted
  and Put, not reported as a failure (:meth:`Amp.create`).
* Paging: ``ListRuleGroupsNamespaces`` gives no total, so a list that lacks a namespace the
  specs want is read a second time, and the two must agree
  (:func:`slogen.plan.creates.confirmed`); otherwise nothing is planned.
* Tags: at most 50; ``PutRuleGroupsNamespace`` cannot change them ("use TagResource").
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from slogen import envref
from slogen.backends import scope
from slogen.backends.cloudwatch.aws import (
    CREDENTIAL_CODES,
    CREDENTIAL_HINT,
    MAX_PAGES,
    READ_RETRIES,
    WRITE_RETRIES,
    Aws,
    AwsError,
)
from slogen.backends.prometheus.names import AMP_NAME_PREFIX as NAME_PREFIX
from slogen.backends.prometheus.names import amp_namespace as namespace_name
from slogen.errors import SlogenError
from slogen.plan.creates import confirmed
from slogen.plan.executor import RateLimiter, with_retries
from slogen.resources import MANAGED_BY
from slogen.spec.model import Target as TargetSettings

OWNER_TAG = "managed-by"
KEY_TAG = "slogen-key"
PAGE_SIZE = 1000  # ListRuleGroupsNamespaces maxResults: 1-1000

ACTIVE, DELETING = "ACTIVE", "DELETING"
BUSY = ("CREATING", "UPDATING")
FAILED_STATES = ("CREATION_FAILED", "UPDATE_FAILED")

# Seconds. Polls start at POLL_INTERVAL and double up to MAX_POLL_INTERVAL.
POLL_INTERVAL = 2.0
MAX_POLL_INTERVAL = 15.0
BUSY_WAIT = 300.0  # a Put/Delete refused with ConflictException is tried again this long
SETTLE_WAIT = 300.0  # after a Create/Put: how long to wait for ACTIVE

# Requests per second per operation. ASSUMPTION: AMP publishes no figure for its control plane
# (its quotas page, prometheus/latest/userguide/AMP_quotas.html, covers series, ingestion and
# rules); a few writes a second stay well clear, and botocore slows down if AWS throttles.
TPS: dict[str, float] = {
    "CreateRuleGroupsNamespace": 5.0,
    "PutRuleGroupsNamespace": 5.0,
    "DeleteRuleGroupsNamespace": 5.0,
}

PERMISSIONS_READ = "aps:ListRuleGroupsNamespaces and aps:DescribeRuleGroupsNamespace"
PERMISSIONS_WRITE = (
    "aps:CreateRuleGroupsNamespace, aps:PutRuleGroupsNamespace, "
    "aps:DeleteRuleGroupsNamespace and aps:TagResource"
)
# The CloudWatch hint, pointing at this backend's target setting.
HINT = CREDENTIAL_HINT.replace("targets.cloudwatch:", "targets.prometheus:")


def owner(name: str, tags: Mapping[str, str], project: str | None = None) -> str | None:
    """The service a namespace belongs to, when it is slogen's (both tags, matching its name;
    with ``project``, not tagged ``slogen-project`` with another project)."""
    service = name[len(NAME_PREFIX) :] if name.startswith(NAME_PREFIX) else ""
    if not scope.belongs(project, tags.get(scope.PROJECT_TAG)):
        return None
    if service and tags.get(OWNER_TAG) == MANAGED_BY and tags.get(KEY_TAG) == service:
        return service
    return None


def tags_for(service: str, project: str | None = None) -> dict[str, str]:
    """The ownership tags of a new namespace (with the project's, see slogen.backends.scope)."""
    tags = {OWNER_TAG: MANAGED_BY, KEY_TAG: service}
    if project:
        tags[scope.PROJECT_TAG] = project
    return tags


class Amp:
    """One workspace's rule groups namespaces, over :class:`~slogen.backends.cloudwatch.aws.Aws`
    (its request counter, retries and error type) with AMP's pacing."""

    def __init__(self, settings: TargetSettings, retries: int) -> None:
        self.workspace = str(envref.option(settings, "workspace_id") or "")
        self.region = str(envref.option(settings, "region") or "")
        try:
            self.aws = Aws(settings, retries)
        except SlogenError as exc:  # no credentials: say so with this backend's hint
            raise SlogenError(exc.message, hint=HINT) from None
        self.aws.limiter = RateLimiter(TPS)
        self.project = scope.project_of(settings)  # written into the namespaces' tags

    @property
    def where(self) -> str:
        return f"workspace {self.workspace} in {self.region}"

    def call(self, operation: str, **params: Any) -> Any:
        try:
            return self.aws.call(
                self.region, "amp", operation, workspaceId=self.workspace, **params
            )
        except AwsError as exc:
            if exc.code == "Unreachable":  # Aws names CloudWatch in this message
                text = exc.message.replace(
                    "cannot reach CloudWatch", "cannot reach Amazon Managed Service for Prometheus"
                )
                raise AwsError(text, exc.code, exc.fatal) from None
            raise

    # reads --------------------------------------------------------------------------------------

    def list_namespaces(self) -> list[dict[str, Any]]:
        """Every namespace named ``slogen-...`` (a summary each, tags included), all pages."""
        found: list[dict[str, Any]] = []
        paging: dict[str, Any] = {}
        for _ in range(MAX_PAGES):
            page = self.call(
                "ListRuleGroupsNamespaces", name=NAME_PREFIX, maxResults=PAGE_SIZE, **paging
            )
            found.extend(page.get("ruleGroupsNamespaces") or [])
            if not page.get("nextToken"):
                break
            paging = {"nextToken": page["nextToken"]}
        for summary in found:
            if "tags" not in summary:  # optional in the model: ask for them
                answer = self.aws.call(
                    self.region, "amp", "ListTagsForResource", resourceArn=summary["arn"]
                )
                summary["tags"] = answer.get("tags") or {}
        return found

    def list_confirmed(self, wanted: set[str]) -> list[dict[str, Any]]:
        """:meth:`list_namespaces`, read again when a ``wanted`` service's namespace is not
        in it; two reads that differ raise :class:`~slogen.plan.creates.IncompleteRead`."""
        return confirmed(
            self.list_namespaces,
            lambda s: owner(str(s.get("name")), s.get("tags") or {}),
            lambda s: str(s.get("arn") or s.get("name")),
            wanted,
            f"AMP {self.where}",
        )

    def describe(self, name: str) -> dict[str, Any]:
        answer = self.call("DescribeRuleGroupsNamespace", name=name)
        return dict(answer.get("ruleGroupsNamespace") or {})

    # writes -------------------------------------------------------------------------------------

    def create(self, service: str, data: str) -> None:
        """Create the service's namespace; one of slogen's found under the name (a lost create
        answer) is adopted and Put instead (see the module docstring)."""
        name = namespace_name(service)
        try:
            self.call(
                "CreateRuleGroupsNamespace",
                name=name,
                data=data.encode(),
                tags=tags_for(service, self.project),
            )
        except AwsError as exc:
            if exc.code != "ConflictException":
                raise
            try:
                found = self.describe(name)
            except AwsError:
                raise exc from None
            if owner(name, found.get("tags") or {}, self.project) != service:
                raise
            self.put(name, data)
            return
        self.settle(name)

    def put(self, name: str, data: str) -> None:
        when_free(lambda: self.call("PutRuleGroupsNamespace", name=name, data=data.encode()))
        self.claim(self.settle(name))

    def claim(self, found: dict[str, Any]) -> None:
        """Tag a namespace (``found``: its description) with the project when it lacks the tag:
        one written before projects is adopted by its first update (Put cannot change tags)."""
        if not self.project or (found.get("tags") or {}).get(scope.PROJECT_TAG) == self.project:
            return
        self.aws.call(
            self.region,
            "amp",
            "TagResource",
            resourceArn=found["arn"],
            tags={scope.PROJECT_TAG: self.project},
        )

    def delete(self, name: str) -> None:
        try:
            when_free(lambda: self.call("DeleteRuleGroupsNamespace", name=name))
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":  # already gone: done
                raise

    def settle(self, name: str) -> dict[str, Any]:
        """Wait until the namespace is ACTIVE (its description, tags included, is returned);
        its failure states and the time limit raise."""
        deadline = time.monotonic() + SETTLE_WAIT
        pause = POLL_INTERVAL
        while True:
            described = self.describe(name)
            status = described.get("status") or {}
            code = str(status.get("statusCode", ""))
            if code == ACTIVE:
                return described
            if code in FAILED_STATES:
                reason = str(status.get("statusReason") or "no reason given")
                raise AwsError(f"AMP refused the rules of {name} ({code}): {reason}", code)
            if time.monotonic() + pause > deadline:
                raise AwsError(
                    f"{name} is still {code or 'not ACTIVE'} after {SETTLE_WAIT:.0f} s; "
                    "run 'slogen plan' later to see whether the change took effect",
                    "Timeout",
                )
            time.sleep(pause)
            pause = min(pause * 2, MAX_POLL_INTERVAL)


def busy_delay(exc: BaseException, attempt: int) -> float | None:
    """How long to wait before trying a refused Put/Delete again (None: do not)."""
    if isinstance(exc, AwsError) and exc.code == "ConflictException":
        return min(POLL_INTERVAL * 2**attempt, MAX_POLL_INTERVAL)
    return None


def when_free(request: Any) -> Any:
    """``request()``, tried again while AMP says the namespace is busy (ConflictException)."""
    return with_retries(request, busy_delay, BUSY_WAIT)


def reader(settings: TargetSettings) -> Amp:
    return Amp(settings, READ_RETRIES)


def writer(settings: TargetSettings) -> Amp:
    return Amp(settings, WRITE_RETRIES)


def read_error(exc: AwsError, amp: Amp) -> SlogenError:
    """The user-facing error of a failed read: what to check or grant, not AWS's code."""
    if exc.fatal:  # no credentials at all
        return SlogenError(exc.message, hint=HINT)
    if exc.code in CREDENTIAL_CODES:
        return SlogenError(f"AWS did not accept the credentials: {exc.message}", hint=HINT)
    if exc.code == "ResourceNotFoundException":
        return SlogenError(
            f"the AMP workspace {amp.workspace} does not exist in {amp.region}: {exc.message}",
            hint="check targets.prometheus.workspace_id and region in slogen.yaml "
            f"('aws amp list-workspaces --region {amp.region}' lists the workspaces)",
        )
    if exc.code in ("AccessDeniedException", "AccessDenied"):
        return SlogenError(
            f"AWS refused to list the rule groups namespaces of {amp.where}: {exc.message}",
            hint=f"slogen needs {PERMISSIONS_READ} to plan, and {PERMISSIONS_WRITE} to apply",
        )
    if exc.code == "ValidationException":
        return SlogenError(
            f"AWS refused the request for {amp.where}: {exc.message}",
            hint="check targets.prometheus.workspace_id (it looks like ws-...) and region",
        )
    if exc.code == "Unreachable":
        return SlogenError(
            f"cannot read AMP live state: {exc.message}",
            hint="check targets.prometheus.endpoint_url (if set), region and the network, then "
            "run the command again",
        )
    return SlogenError(f"cannot read AMP {amp.where}: {exc.message}")
