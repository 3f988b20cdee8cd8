"""The requests of one AMP apply, for the shared executor (:mod:`slogen.plan.executor`).

A plan's changes are per rule or alert; AMP's unit is the namespace, one per service, whose
``data`` is the service's whole rule file. So the changes are grouped into one *namespace
change* per service with changes (:func:`namespace_changes`), the executor runs those (threads,
pacing, failures, a fatal error stopping the rest), and each namespace's outcome becomes the
outcome of every change of its service (:func:`outcomes`). The executor's progress steps are
passed on per change (:class:`PerChange`). Namespaces do not depend on each other, so order
does not matter; a failure in one service leaves the others to go ahead.

* **Create** (a service with no live namespace): before any write, :meth:`refusals` lists the
  ``slogen-`` namespaces once; a name taken by a namespace that is not slogen's is refused (a
  stale plan or a newcomer cannot make slogen take it over); one of slogen's (an earlier
  create whose answer was lost, or an owned namespace with no slogen groups left) is adopted:
  it is Put instead. Otherwise ``CreateRuleGroupsNamespace`` with the ownership tags.
* **Update**: ``PutRuleGroupsNamespace`` with the service's full rule file (tags stay).
* **Delete** (the service has no SLOs here any more): ``DeleteRuleGroupsNamespace``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from slogen.backends.prometheus.amp.client import Amp, AwsError, namespace_name, owner
from slogen.backends.prometheus.rulefiles import rule_files
from slogen.plan.executor import Budget
from slogen.plan.model import CREATE, DELETE, UPDATE, Change
from slogen.plan.outcome import ApplyReport
from slogen.plan.progress import Progress
from slogen.redact import redact
from slogen.resources import Resource

NAMESPACE = "rule-groups-namespace"  # the kind of the executor's namespace changes
WORKERS = 4


def service_of(key: str) -> str:
    return key.split("/")[0]


def rule_text(resources: list[Resource]) -> str:
    """The rule file of one service's resources: exactly what ``slogen build`` writes."""
    (text,) = rule_files(resources).values()
    return text


def namespace_changes(
    changes: Sequence[Change], desired: Sequence[Resource]
) -> tuple[list[Change], dict[str, list[Change]]]:
    """One change per service with changes (in service order), and each service's changes."""
    members: dict[str, list[Change]] = {}
    for change in changes:
        members.setdefault(service_of(change.resource.key), []).append(change)
    wanted: dict[str, list[Resource]] = {}
    for res in desired:
        wanted.setdefault(service_of(res.key), []).append(res)
    result = []
    for service in sorted(members):
        exists = any(c.before is not None for c in members[service])
        name = namespace_name(service)
        first = members[service][0].resource
        before = Resource(
            first.backend, first.target, NAMESPACE, service, {"name": name}, live_id=name
        )
        if service not in wanted:
            result.append(Change(DELETE, before, None))
            continue
        body = {"name": name, "data": rule_text(wanted[service])}
        after = Resource(first.backend, first.target, NAMESPACE, service, body)
        result.append(Change(UPDATE, before, after) if exists else Change(CREATE, None, after))
    return result, members


class PerChange(Progress):
    """The executor's progress steps (one per namespace) passed on as one step per change."""

    def __init__(self, progress: Progress, groups: list[Change], members: dict[str, list[Change]]):
        super().__init__(progress.total, quiet=True)
        self.progress = progress
        self.labels = {
            f"{g.action} {g.address}": [f"{c.action} {c.address}" for c in members[g.resource.key]]
            for g in groups
        }

    def step(self, label: str) -> None:
        for inner in self.labels.get(label, [label]):
            self.progress.step(inner)

    def finish(self) -> None:
        """The caller's progress is finished by the caller."""


def outcomes(namespaces: ApplyReport, members: dict[str, list[Change]]) -> ApplyReport:
    """Each namespace's outcome as the outcome of every change of its service."""
    report = ApplyReport(errors=list(namespaces.errors), notes=list(namespaces.notes))
    for outcome in namespaces.outcomes:
        for change in members[outcome.change.resource.key]:
            report.add(change, outcome.status, outcome.error)
    return report


class NamespaceRequests:
    """:class:`slogen.plan.executor.Requests` for namespaces, over one :class:`Amp`."""

    delete_batch = 1

    def __init__(self, amp: Amp) -> None:
        self.amp = amp
        self.budget = Budget(workers=WORKERS)
        self.adopted: set[str] = set()  # services whose namespace exists and is slogen's

    def refusals(self, changes: Sequence[Change]) -> dict[str, str]:
        """Creates whose name is taken by a namespace that is not slogen's (one listing)."""
        creates = [c for c in changes if c.action == CREATE]
        if not creates:
            return {}
        try:
            found = {str(s["name"]): s for s in self.amp.list_namespaces()}
        except AwsError as exc:
            return {c.address: f"checking that the name is free: {exc.message}" for c in creates}
        refused: dict[str, str] = {}
        for change in creates:
            service = change.resource.key
            name = namespace_name(service)
            summary = found.get(name)
            if summary is None:
                continue
            if owner(name, summary.get("tags") or {}, self.amp.project) == service:
                self.adopted.add(service)
            else:
                refused[change.address] = (
                    f"a rule groups namespace named {name} already exists in {self.amp.where} "
                    "and is not managed by slogen; refusing to overwrite it"
                )
        return refused

    def create(self, resource: Resource) -> None:
        if resource.key in self.adopted:
            self.amp.put(resource.body["name"], resource.body["data"])
        else:
            self.amp.create(resource.key, resource.body["data"])

    def update(self, change: Change) -> None:
        assert change.after is not None
        self.amp.put(change.after.body["name"], change.after.body["data"])

    def delete(self, resources: Sequence[Resource]) -> None:
        for res in resources:
            self.amp.delete(res.body["name"])

    def batch_key(self, resource: Resource) -> Hashable:
        return resource.key

    def repoint(self, resource: Resource) -> None:
        """Nothing refers to a namespace."""

    def error_text(self, exc: BaseException) -> str:
        if isinstance(exc, AwsError):
            return exc.message
        if type(exc) is RuntimeError:  # the executor's own reasons (work not attempted)
            return redact(str(exc))
        return redact(f"{type(exc).__name__}: {exc}")
