"""The CloudWatch ``api`` target: alarms read and changed with boto3.

Regions. CloudWatch is regional, so slogen reads each region separately: every region a spec
names, plus every region in ``targets.cloudwatch.regions``. A region that no spec names any
more is read only if it is listed there, and only then are the alarms slogen left in it
deleted; without the list, ``slogen plan`` says which regions it read (a plan note), and
``regions`` given turns a spec naming another region into an error (:mod:`.checks`: the list
is complete). The regions come from the resources the caller expects here (:meth:`ApiTarget.
read_live`), so planning and re-checking a saved plan read the same ones. The AWS client's
default region (``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the profile's) is read too whenever
any region is: an SLO that leaves the default region, last of its region, has its alarms
deleted like any other even without ``regions``.

How alarms are read is :mod:`.read`; how a plan becomes AWS calls is :mod:`.requests`, run by
the shared executor (:mod:`slogen.plan.executor`); sessions, retries and pacing are :mod:`.aws`.

Permissions: planning needs ``cloudwatch:DescribeAlarms`` (on ``*``: AWS hides composite alarms
from a narrower grant), ``tag:GetResources`` and ``cloudwatch:ListTagsForResource``; applying
also ``cloudwatch:PutMetricAlarm``, ``cloudwatch:PutCompositeAlarm``, ``cloudwatch:DeleteAlarms``,
``cloudwatch:TagResource`` and ``cloudwatch:UntagResource``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import slogen.backends.cloudwatch.aws as aws
import slogen.backends.cloudwatch.read as read
from slogen.backends import scope
from slogen.backends.cloudwatch.names import BACKEND, configured_regions
from slogen.backends.cloudwatch.requests import AlarmRequests
from slogen.backends.contract import target_label
from slogen.plan.executor import execute
from slogen.plan.model import Change
from slogen.plan.outcome import ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import LiveState, Resource
from slogen.spec.model import Target as TargetSettings


class ApiTarget:
    """CloudWatch itself (:class:`slogen.backends.contract.Target`), in every region in use."""

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings
        self.name = target_label(settings)

    def read_live(self, known: Sequence[Resource]) -> LiveState:
        """The owned alarms of the configured regions and of every region ``known`` is in."""
        where = read.scope(configured_regions(self.settings), known)
        default = aws.default_region()
        if where.regions and default and default not in where.regions:
            where = read.Scope(tuple(sorted({*where.regions, default})), where.preferred)
        return read.read_live(
            lambda: aws.reader(self.settings),
            self.name,
            where,
            scope.project_of(self.settings),
            {r.key for r in known},  # alarms from before projects that this project adopts
        )

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        return read.conflicts(desired, live)

    def lock(self, holder: str, timeout: float) -> AbstractContextManager[None]:
        """A lease kept as a disabled alarm ``slogen-lock/...`` in one region (see
        :mod:`slogen.backends.cloudwatch.lock`)."""
        from slogen.backends.cloudwatch.lock import region_lock

        return region_lock(self.settings, f"cloudwatch ({self.name})", holder, timeout)

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        """Make CloudWatch match the plan (see :mod:`.requests` for how); the report ends with
        how many requests were made where."""
        client = aws.writer(self.settings)
        for change in changes:
            for res in (change.before, change.after):
                if res is not None:
                    client.regions.add(res.body["Region"])
        requests = AlarmRequests(client, len(client.regions))
        report = execute(requests, changes, desired, progress, label=BACKEND)
        where = client.endpoint or "AWS"
        report.notes.append(
            f"CloudWatch: {client.requests} API request(s) to {where} in "
            f"{', '.join(sorted(client.regions)) or 'no region'}."
        )
        return report
