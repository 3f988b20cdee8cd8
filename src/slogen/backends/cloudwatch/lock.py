"""The CloudWatch apply lock: a lease per contender, kept as a disabled metric alarm.

CloudWatch has no conditional create (``PutMetricAlarm`` overwrites an alarm of the same name),
so the lock is :func:`slogen.plan.lock.lease_lock` over alarms: each contending apply puts one
alarm ``slogen-lock/<token>`` whose description is the lease (holder, since, expiry, held) as
JSON; it is listed with ``DescribeAlarms(AlarmNamePrefix="slogen-lock/")``. Its name is outside
slogen's ``slogen/`` prefix and it carries no ``managed-by`` tag, so no read of owned alarms
sees it. It watches a metric nobody sends, has its actions disabled and treats missing data as
not breaching: it never notifies. It lives for the seconds or minutes of an apply.

Where: CloudWatch is regional and the lock must be in one place for every apply of a project,
so it lives in the first of ``targets.cloudwatch.regions``, else in the AWS default region of
the environment (``AWS_REGION``...), else us-east-1. Permissions: ``cloudwatch:PutMetricAlarm``,
``DescribeAlarms`` and ``DeleteAlarms``, which applying needs anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace

from slogen.backends.cloudwatch.aws import Aws, AwsError, default_region, writer
from slogen.backends.cloudwatch.names import configured_regions
from slogen.errors import SlogenError
from slogen.plan.lock import Lease, lease_lock
from slogen.spec.model import Target as TargetSettings

LOCK_PREFIX = "slogen-lock/"
FALLBACK_REGION = "us-east-1"
MAX_PAGES = 100


def lock_region(settings: TargetSettings) -> str:
    """The one region the lock lives in (see the module docstring)."""
    configured = configured_regions(settings)
    return configured[0] if configured else default_region() or FALLBACK_REGION


class AlarmLeases:
    """:class:`slogen.plan.lock.LeaseStore` over lock alarms (see the module docstring)."""

    def __init__(self, aws: Aws, region: str) -> None:
        self.aws = aws
        self.region = region

    def _call(self, operation: str, **params: object) -> dict:
        try:
            return self.aws.call(self.region, "cloudwatch", operation, **params) or {}
        except AwsError as exc:
            raise SlogenError(
                f"cannot take or release the CloudWatch apply lock in {self.region}: {exc.message}",
                hint="the lock is an alarm named slogen-lock/...: slogen needs "
                "cloudwatch:PutMetricAlarm, DescribeAlarms and DeleteAlarms",
            ) from None

    def put(self, lease: Lease) -> Lease:
        name = lease.ref or LOCK_PREFIX + lease.token
        self._call(
            "PutMetricAlarm",
            AlarmName=name,
            AlarmDescription=lease.as_json(),
            ActionsEnabled=False,
            Namespace="slogen",
            MetricName="apply_lock",
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            Tags=[{"Key": "slogen-lock", "Value": "apply"}],
        )
        return replace(lease, ref=name)

    def entries(self) -> list[Lease]:
        leases: list[Lease] = []
        paging: dict[str, object] = {}
        for _ in range(MAX_PAGES):
            page = self._call(
                "DescribeAlarms",
                AlarmNamePrefix=LOCK_PREFIX,
                AlarmTypes=["MetricAlarm"],
                MaxRecords=100,
                **paging,
            )
            for alarm in page.get("MetricAlarms") or []:
                lease = Lease.from_json(
                    str(alarm.get("AlarmDescription") or ""), str(alarm["AlarmName"])
                )
                if lease is not None:
                    leases.append(lease)
            if not page.get("NextToken"):
                break
            paging = {"NextToken": page["NextToken"]}
        return leases

    def remove(self, lease: Lease) -> None:
        try:
            self.aws.call(self.region, "cloudwatch", "DeleteAlarms", AlarmNames=[lease.ref])
        except AwsError as exc:
            if exc.code != "ResourceNotFound":  # already gone: released
                raise SlogenError(
                    f"cannot release the CloudWatch apply lock: {exc.message}"
                ) from None


@contextlib.contextmanager
def region_lock(
    settings: TargetSettings, label: str, holder: str, timeout: float
) -> Iterator[None]:
    """The lock for one apply (its own clients: renewals run beside the apply's requests)."""
    store = AlarmLeases(writer(settings), lock_region(settings))
    with lease_lock(store, label, holder, timeout):
        yield
