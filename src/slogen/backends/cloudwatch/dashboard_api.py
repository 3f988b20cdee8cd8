"""Dashboards in the CloudWatch ``api`` target: reading the owned ones, and the writes.

Every call goes to the target's home region (dashboards are global, :mod:`.dashboard`):

* reading: ``ListDashboards(DashboardNamePrefix="slogen_<project>_")`` following ``NextToken``
  (up to 1,000 entries a page), then ``GetDashboard`` per dashboard listed (the list has no
  bodies): one request per service with a dashboard, on every plan;
* writing: ``PutDashboard``, which "creates a dashboard if it does not already exist, or
  updates an existing dashboard ... the entire contents are replaced" (API reference), so a
  create repeated after a lost answer writes the same dashboard again and needs no re-read;
  ``DeleteDashboards`` takes up to 100 names per call ("You can specify up to 100 dashboards
  to delete"); a name that is already gone answers ``ResourceNotFound``, which is what a
  delete wants;
* the account id and partition of the alarm ARNs in alarm widgets: STS ``GetCallerIdentity``
  once per apply that writes a dashboard (it needs no permission: "No permissions are
  required to perform this operation", STS API reference).

A dashboard named like one of slogen's but without its marker is someone else's: a plan that
would write it stops (:func:`conflicts`), and apply checks the name again right before the
first write (:meth:`DashboardRequests.refusals`).

Permissions: ``cloudwatch:ListDashboards`` and ``cloudwatch:GetDashboard`` to plan, also
``cloudwatch:PutDashboard`` and ``cloudwatch:DeleteDashboards`` to apply.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable, Sequence
from typing import Any

from slogen.backends.cloudwatch.aws import MAX_PAGES, Aws, AwsError, budget
from slogen.backends.cloudwatch.dashboard import (
    KIND,
    body_of,
    dashboard_name,
    list_prefix,
    marked,
    ownership,
    request_of,
)
from slogen.backends.cloudwatch.names import BACKEND
from slogen.plan.model import CREATE, Change
from slogen.redact import redact
from slogen.resources import Resource

DELETE_BATCH = 100
GONE = frozenset({"ResourceNotFound", "DashboardNotFoundError", "ResourceNotFoundException"})


class Found:
    """What a read of the home region found: owned dashboards, and the names that are not."""

    def __init__(self) -> None:
        self.resources: list[Resource] = []
        self.unowned: list[str] = []  # names under slogen's prefix without this project's marker
        self.foreign: dict[str, str | None] = {}  # key -> the other project


def list_names(aws: Aws, home: str, project: str | None) -> list[str]:
    names: list[str] = []
    paging: dict[str, Any] = {}
    for _ in range(MAX_PAGES):
        page = aws.call(
            home, "cloudwatch", "ListDashboards", DashboardNamePrefix=list_prefix(project), **paging
        )
        names.extend(str(e["DashboardName"]) for e in page.get("DashboardEntries") or [])
        if not page.get("NextToken"):
            break
        paging = {"NextToken": page["NextToken"]}
    return names


def read(aws: Aws, home: str, tname: str, project: str | None) -> Found:
    """The dashboards under this project's name prefix, sorted into owned and not."""
    found = Found()
    for name in list_names(aws, home, project):
        answer = aws.call(home, "cloudwatch", "GetDashboard", DashboardName=name)
        text = str(answer.get("DashboardBody") or "{}")
        try:
            body = body_of(name, text)
        except ValueError:  # not JSON: not a body slogen wrote
            found.unowned.append(name)
            continue
        mark = marked(body["DashboardBody"])
        if mark is None or name != dashboard_name(*mark):
            found.unowned.append(name)
        elif mark[1] != project:  # another project's (or, without a project, any project's)
            found.foreign[mark[0]] = mark[1]
        else:
            key = mark[0]
            found.resources.append(
                Resource(BACKEND, tname, KIND, key, body, live_id=str(answer.get("DashboardArn")))
            )
    return found


def conflicts(desired: Sequence[Resource], unowned: Sequence[str], home: str) -> list[str]:
    """Desired dashboards whose name is taken by a dashboard slogen does not own."""
    taken = set(unowned)
    return [
        f"the dashboard {r.body['DashboardName']} (read in {home}) exists but has no slogen "
        f"marker for {r.key}; slogen will not overwrite it: rename or delete it"
        for r in desired
        if r.kind == KIND and r.body["DashboardName"] in taken
    ]


class DashboardRequests:
    """:class:`slogen.plan.executor.Requests` for dashboards, in the home region."""

    delete_batch = DELETE_BATCH

    def __init__(self, aws: Aws, home: str, project: str | None) -> None:
        self.aws = aws
        self.home = home
        self.project = project
        self.budget = budget(1)
        self._identity: tuple[str, str] | None = None
        self._lock = threading.Lock()

    def identity(self) -> tuple[str, str]:
        """(partition, account id) of the credentials, asked once."""
        with self._lock:
            if self._identity is None:
                answer = self.aws.call(self.home, "sts", "GetCallerIdentity")
                arn = str(answer.get("Arn") or "arn:aws:")
                self._identity = (arn.split(":")[1] or "aws", str(answer["Account"]))
            return self._identity

    def refusals(self, changes: Sequence[Change]) -> dict[str, str]:
        """Creates whose name now holds a dashboard that is not slogen's (this key's)."""
        refused: dict[str, str] = {}
        for change in changes:
            if change.action != CREATE or change.after is None:
                continue
            name = change.after.body["DashboardName"]
            try:
                answer = self.aws.call(self.home, "cloudwatch", "GetDashboard", DashboardName=name)
            except AwsError as exc:
                if exc.code in GONE:
                    continue  # free
                refused[change.address] = f"checking that the name is free: {exc.message}"
                continue
            try:
                body = json.loads(str(answer.get("DashboardBody") or "{}"))
            except ValueError:
                body = {}
            if ownership(name, body, self.project) != change.after.key:
                refused[change.address] = (
                    f"a dashboard named {name} already exists and is not managed by slogen; "
                    "refusing to overwrite it"
                )
        return refused

    def put(self, res: Resource) -> None:
        partition, account = self.identity()
        answer = self.aws.call(
            self.home, "cloudwatch", "PutDashboard", **request_of(res.body, partition, account)
        )
        messages = answer.get("DashboardValidationMessages") or []
        if messages:  # errors: not saved; warnings: saved, but parts will not render
            text = "; ".join(f"{m.get('DataPath', '')}: {m.get('Message', '')}" for m in messages)
            raise AwsError(f"PutDashboard {res.body['DashboardName']}: {text}", "Validation")

    def create(self, resource: Resource) -> None:
        self.put(resource)

    def update(self, change: Change) -> None:
        assert change.after is not None
        self.put(change.after)  # PutDashboard replaces the whole dashboard

    def delete(self, resources: Sequence[Resource]) -> None:
        names = [r.body["DashboardName"] for r in resources]
        try:
            self.aws.call(self.home, "cloudwatch", "DeleteDashboards", DashboardNames=names)
        except AwsError as exc:
            if exc.code not in GONE or len(names) > 1:
                raise  # a batch with a gone name: the executor retries one by one

    def batch_key(self, resource: Resource) -> Hashable:
        return KIND

    def repoint(self, resource: Resource) -> None:
        """Nothing to do: widgets name alarms by ARN, and alarms keep their names."""

    def error_text(self, exc: BaseException) -> str:
        if isinstance(exc, AwsError):
            return exc.message
        return redact(f"{type(exc).__name__}: {exc}")
