"""The CloudWatch ``api`` target: alarms read and changed with boto3.

Regions. CloudWatch is regional, so slogen reads each region separately: every region a spec
names, plus every region in ``targets.cloudwatch.regions``. A region that no spec names any
more is read only if it is listed there, and only then are the alarms slogen left in it
deleted; without the list, ``slogen plan`` says which regions it read (a plan note), and
``regions`` given turns a spec naming another region into an error (:mod:`.checks`: the list
is complete). The regions come from the resources the caller expects here (:meth:`ApiTarget.
read_live`), so planning and re-checking a saved plan read the same ones. The AWS client's
default region (``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the profile's) is read too whenever
any region is, and so is every region the project's *regions marker* records (:mod:`.marker`: a
disabled alarm ``slogen-regions/<project>`` in the lock's region, which apply keeps up to date
with every region it writes alarms in): an SLO that leaves any region, last of its region, has
its alarms deleted like any other even without ``regions``.

How alarms are read is :mod:`.read`; how a plan becomes AWS calls is :mod:`.requests`, run by
the shared executor (:mod:`slogen.plan.executor`); sessions, retries and pacing are :mod:`.aws`.

Permissions: planning needs ``cloudwatch:DescribeAlarms`` (on ``*``: AWS hides composite alarms
from a narrower grant), ``tag:GetResources`` and ``cloudwatch:ListTagsForResource``; applying
also ``cloudwatch:PutMetricAlarm``, ``cloudwatch:PutCompositeAlarm``, ``cloudwatch:DeleteAlarms``,
``cloudwatch:TagResource`` and ``cloudwatch:UntagResource``. Dashboards (one per service,
:mod:`.dashboard`, read and written in the home region by :mod:`.dashboard_api`) add
``cloudwatch:ListDashboards`` and ``cloudwatch:GetDashboard`` to plan, ``cloudwatch:PutDashboard``
and ``cloudwatch:DeleteDashboards`` to apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import slogen.backends.cloudwatch.aws as aws
import slogen.backends.cloudwatch.read as read
from slogen.backends import scope
from slogen.backends.cloudwatch import dashboard_api, marker
from slogen.backends.cloudwatch.dashboard import KIND as DASHBOARD
from slogen.backends.cloudwatch.lock import lock_region, region_lock
from slogen.backends.cloudwatch.names import BACKEND, configured_regions
from slogen.backends.cloudwatch.requests import AlarmRequests
from slogen.backends.contract import target_label
from slogen.errors import SlogenError
from slogen.plan.executor import execute
from slogen.plan.model import Change
from slogen.plan.outcome import DONE, ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import LiveState, Resource
from slogen.spec.model import Target as TargetSettings


class ApiTarget:
    """CloudWatch itself (:class:`slogen.backends.contract.Target`), in every region in use."""

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings
        self.name = target_label(settings)
        self.project = scope.project_of(settings)
        self.home = lock_region(settings)  # where the lock and the regions marker live

    def read_live(self, known: Sequence[Resource]) -> LiveState:
        """The owned alarms of the configured regions, of every region ``known`` is in, and of
        every region the project's regions marker records (:mod:`.marker`); and the owned
        dashboards, read in the home region whenever alarms are read (:mod:`.dashboard_api`)."""
        alarms = [r for r in known if r.kind != DASHBOARD]
        where = read.scope(configured_regions(self.settings), alarms)
        default = aws.default_region()
        if where.regions and default and default not in where.regions:
            where = read.Scope(tuple(sorted({*where.regions, default})), where.preferred)
        boards: list[dashboard_api.Found] = []

        def more(client: aws.Aws) -> set[str]:
            # after the regions above are read: a fault on the first list is then the alarms'
            regions = marker.read(client, self.home, self.project)
            boards.append(dashboard_api.read(client, self.home, self.name, self.project))
            return regions

        state = read.read_live(
            lambda: aws.reader(self.settings),
            self.name,
            where,
            self.project,
            {r.key for r in alarms},  # alarms from before projects that this project adopts
            more,
        )
        if boards:
            self._add_dashboards(state, boards[0])
        extra = state.extra.get("more_regions") or []
        if extra:
            state.warnings.append(
                f"also read {', '.join(extra)}: slogen wrote this project's alarms there before "
                f"(the regions marker {marker.marker_name(self.project)} in {self.home})"
            )
        return state

    def _add_dashboards(self, state: LiveState, found: dashboard_api.Found) -> None:
        state.resources.extend(found.resources)
        state.extra["unowned_dashboards"] = found.unowned
        others = {k: v for k, v in found.foreign.items() if v is not None}
        state.extra.setdefault(scope.FOREIGN, {}).update(others)
        state.warnings.extend(scope.warnings(found.foreign, "CloudWatch dashboard"))

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        alarms = [r for r in desired if r.kind != DASHBOARD]
        unowned = live.extra.get("unowned_dashboards", [])
        return read.conflicts(alarms, live) + dashboard_api.conflicts(desired, unowned, self.home)

    def lock(self, holder: str, timeout: float) -> AbstractContextManager[None]:
        """A lease kept as a disabled alarm ``slogen-lock/...`` in one region (see
        :mod:`slogen.backends.cloudwatch.lock`)."""
        return region_lock(self.settings, f"cloudwatch ({self.name})", holder, timeout)

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        """Make CloudWatch match the plan (see :mod:`.requests` for how): the alarms first,
        then the dashboards that show them; the report ends with how many requests were made
        where."""
        client = aws.writer(self.settings)
        boards = [c for c in changes if c.resource.kind == DASHBOARD]
        changes = [c for c in changes if c.resource.kind != DASHBOARD]
        desired = [r for r in desired if r.kind != DASHBOARD]
        for change in changes:
            for res in (change.before, change.after):
                if res is not None:
                    client.regions.add(res.body["Region"])
        writing = set(client.regions)  # the workers are per region written in
        report = ApplyReport()
        if changes:
            recorded = self._record(client, writing)  # before the first write
            requests = AlarmRequests(client, len(writing))
            report = execute(requests, changes, desired, progress, label=BACKEND)
            self._prune(client, recorded, report, desired)
        if boards:
            writer = dashboard_api.DashboardRequests(client, self.home, self.project)
            report.merge(execute(writer, boards, [], progress, label=BACKEND))
        where = client.endpoint or "AWS"
        report.notes.append(
            f"CloudWatch: {client.requests} API request(s) to {where} in "
            f"{', '.join(sorted(client.regions)) or 'no region'}."
        )
        return report

    def _record(self, client: aws.Aws, writing: set[str]) -> set[str]:
        """Add the regions this apply writes in to the marker before any alarm is written (a
        crash halfway leaves them recorded); the regions it records now."""
        try:
            found = marker.find(client, self.home, self.project)
            recorded = marker.regions_of(found[1], self.project) if found else set()
            if writing - recorded:
                marker.write(client, self.home, self.project, recorded | writing, found)
        except aws.AwsError as exc:
            raise SlogenError(
                f"cannot record the regions of this apply on the regions marker "
                f"{marker.marker_name(self.project)} in {self.home}: {exc.message}",
                hint="slogen needs cloudwatch:PutMetricAlarm, DescribeAlarms, "
                "ListTagsForResource, TagResource and UntagResource there; nothing was changed",
            ) from None
        return recorded | writing

    def _prune(
        self,
        client: aws.Aws,
        recorded: set[str],
        report: ApplyReport,
        desired: Sequence[Resource],
    ) -> None:
        """Drop from the marker the regions this apply emptied: where it deleted alarms and
        neither a desired alarm nor a change not done (its alarms may be on either side) is.

        Only what this apply emptied is dropped, and the marker is read again first: a marker
        read that came back short must not make slogen forget a region it never looked at.
        """
        pinned = {r.body["Region"] for r in desired if r.backend == BACKEND}
        emptied: set[str] = set()
        for outcome in report.outcomes:
            before, after = outcome.change.before, outcome.change.after
            if outcome.status != DONE:
                pinned.update(r.body["Region"] for r in (before, after) if r is not None)
            elif before is not None and (
                after is None or after.body["Region"] != before.body["Region"]
            ):
                emptied.add(before.body["Region"])
        try:
            found = marker.find(client, self.home, self.project)
            current = marker.regions_of(found[1], self.project) if found else set()
            keep = (current | recorded | pinned) - (emptied - pinned)
            if keep != current:
                marker.write(client, self.home, self.project, keep, found)
        except aws.AwsError as exc:  # the alarms are right; the next apply tries again
            report.notes.append(
                f"CloudWatch: could not update the regions marker "
                f"{marker.marker_name(self.project)} in {self.home}: {exc.message}"
            )
