"""The Prometheus ``amp`` target: Amazon Managed Service for Prometheus rule groups namespaces.

Settings (``slogen.yaml``; values may be ``${VAR}``)::

    targets:
      prometheus: {type: amp, workspace_id: ws-..., region: eu-west-1, endpoint_url: ...}

One rule groups namespace per service, named ``slogen-<service>``, whose ``data`` is exactly
the rule file ``slogen build`` writes for that service. A namespace is slogen's only when it is
tagged ``managed-by=slogen`` and ``slogen-key=<service>`` (its name's service); slogen never
changes or deletes any other, and a desired name taken by one is a conflict that stops the
plan (:meth:`AmpTarget.conflicts`). Credentials come from boto3's standard chain.

Reading (:meth:`AmpTarget.read_live`) costs ``ListRuleGroupsNamespaces(name="slogen-",
maxResults=1000)`` per 1,000 namespaces named ``slogen-...`` (tags come with the list), plus
one ``DescribeRuleGroupsNamespace`` per owned namespace for its ``data``: for N services,
1 + N requests (on 4 threads). Namespaces being deleted are left out; an owned namespace
whose last change failed is read as it is, with a plan warning.

Applying is :mod:`.requests` (the shared executor, one namespace change per service);
:mod:`.client` has AMP's names, rules, calls and waiting, with their sources. A plan without
changes makes no request at all. Permissions: planning needs aps:ListRuleGroupsNamespaces and
aps:DescribeRuleGroupsNamespace; applying also aps:CreateRuleGroupsNamespace,
aps:PutRuleGroupsNamespace, aps:DeleteRuleGroupsNamespace and aps:TagResource.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

from slogen import envref, yamltext
from slogen.backends import scope
from slogen.backends.contract import target_label
from slogen.backends.prometheus.amp import client
from slogen.backends.prometheus.amp.client import Amp, AwsError, owner
from slogen.backends.prometheus.amp.requests import (
    NamespaceRequests,
    PerChange,
    namespace_changes,
    outcomes,
    service_of,
)
from slogen.backends.prometheus.names import amp_problem
from slogen.errors import SlogenError
from slogen.plan.executor import execute
from slogen.plan.model import Change
from slogen.plan.outcome import ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import MANAGED_BY, LiveState, Resource
from slogen.spec.model import Target as TargetSettings

READ_WORKERS = 4


def parse(data: bytes | str, name: str, target_name: str) -> list[Resource]:
    """An owned namespace's rule file back into resources; damaged data is a SlogenError
    (so is a rule group of another service: each namespace holds its own service's only)."""
    import yaml

    from slogen.backends.prometheus.rulefiles import resources_from_groups

    service = name[len(client.NAME_PREFIX) :]
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        doc = yamltext.load(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("groups") or [], list):
            raise ValueError("it is not a rule file (a mapping with a list of 'groups')")
        groups = [g for g in doc.get("groups") or [] if isinstance(g, dict)]
        resources = resources_from_groups(groups, target_name, name)
        strays = sorted({r.key for r in resources if service_of(r.key) != service})
        if strays:
            raise ValueError(f"it holds rules of another service ({strays[0]})")
    except (UnicodeDecodeError, yaml.YAMLError, ValueError, AttributeError, TypeError) as exc:
        raise SlogenError(
            f"cannot read the rule groups namespace {name}, which slogen manages: {exc}",
            hint="fix its data in AMP or delete the namespace; the next apply writes it again",
        ) from None
    return resources


class AmpTarget:
    """AMP itself (:class:`slogen.backends.contract.Target`): one workspace."""

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings
        self.name = target_label(settings)

    def read_live(self, known: Sequence[Resource] = ()) -> LiveState:
        """The owned namespaces of the workspace, as resources (``known`` does not narrow it)."""
        amp = client.reader(self.settings)
        try:
            # read twice when a wanted namespace is missing: a short page stops the plan
            summaries = amp.list_confirmed({service_of(r.key) for r in known if not r.live_id})
        except AwsError as exc:
            raise client.read_error(exc, amp) from None
        owned: list[str] = []
        unowned: list[str] = []
        warnings: list[str] = []
        foreign: dict[str, str | None] = {}  # namespace -> the other project (see scope.note)
        wanted = {client.namespace_name(service_of(r.key)) for r in known}
        for summary in summaries:
            name = str(summary["name"])
            status = summary.get("status") or {}
            code = str(status.get("statusCode", ""))
            tags = summary.get("tags") or {}
            if owner(name, tags) is None:
                unowned.append(name)
            elif not scope.claims(amp.project, tags.get(scope.PROJECT_TAG), name, wanted):
                foreign[name] = tags.get(scope.PROJECT_TAG)  # another project's, or before
            elif code != client.DELETING:
                owned.append(name)
                if code in client.FAILED_STATES:
                    reason = status.get("statusReason") or "no reason given"
                    warnings.append(f"AMP namespace {name} is {code}: {reason}")
        with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
            found = list(pool.map(lambda n: self._describe(amp, n), owned))
        resources = [res for rs in found for res in rs]
        state = LiveState(resources, warnings, {"unowned": sorted(unowned)})
        return scope.note(state, foreign, "AMP rule groups namespace")

    def _describe(self, amp: Amp, name: str) -> list[Resource]:
        try:
            described: dict[str, Any] = amp.describe(name)
        except AwsError as exc:
            if exc.code == "ResourceNotFoundException":  # deleted since it was listed
                return []
            raise client.read_error(exc, amp) from None
        return parse(described.get("data") or b"", name, self.name)

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        """Names taken by namespaces that are not slogen's, and names AMP would refuse."""
        unowned = set(live.extra.get("unowned", ()))
        workspace = envref.option(self.settings, "workspace_id")
        problems = []
        for service in sorted({service_of(r.key) for r in desired}):
            name = client.namespace_name(service)
            if name in unowned:
                problems.append(
                    f"the rule groups namespace {name} in AMP workspace {workspace} is not "
                    f"managed by slogen (no {client.OWNER_TAG}={MANAGED_BY} and "
                    f"{client.KEY_TAG}={service} tags); rename or delete it, or move the service"
                )
        # validate refuses these names already; a saved plan is checked again here
        for slo_key in sorted({"/".join(r.key.split("/")[:2]) for r in desired}):
            refused = amp_problem(*slo_key.split("/"))
            if refused is not None:
                problems.append(refused)
        names = [client.namespace_name(service_of(r.key)) for r in desired]
        return problems + scope.unit_conflicts(names, live, "the AMP rule groups namespace")

    def lock(self, holder: str, timeout: float) -> AbstractContextManager[None]:
        """The namespace ``slogen.lock``, created conditionally (see :mod:`.lock`)."""
        from slogen.backends.prometheus.amp.lock import amp_lock

        return amp_lock(self.settings, f"prometheus ({self.name})", holder, timeout)

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        """Create, put or delete the namespace of every service with a change; the report
        ends with how many requests were made."""
        amp = client.writer(self.settings)
        groups, members = namespace_changes(changes, desired)
        per_change = PerChange(progress, groups, members)
        done = execute(NamespaceRequests(amp), groups, [], per_change, label="prometheus")
        report = outcomes(done, members)
        where = amp.aws.endpoint or "AWS"
        report.notes.append(f"AMP: {amp.aws.requests} API request(s) to {where} for {amp.where}.")
        return report
