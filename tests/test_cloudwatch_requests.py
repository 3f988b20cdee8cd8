"""CloudWatch's requests run by the shared executor: the order and safety guarantees of apply.

No AWS and no moto here: a fake client records every call (and fails the ones a test says),
so each guarantee is checked exactly, whatever the thread timing:

* metric alarms are created before the composite that refers to them;
* composites are deleted before their children, one per call; metric alarms in batches;
* a metric alarm a composite still refers to (its change failed) is never deleted;
* a move to another region creates the new alarm before deleting the old one;
* a name taken by someone else's alarm is never overwritten; one of slogen's is adopted;
* no credentials stops everything not yet started.
"""

from __future__ import annotations

import threading
from typing import Any

from slogen.backends.cloudwatch.aws import AwsError, NoCredentials
from slogen.backends.cloudwatch.names import COMPOSITE_ALARM, METRIC_ALARM, alarm_name
from slogen.backends.cloudwatch.requests import AlarmRequests
from slogen.plan.executor import Fatal, execute
from slogen.plan.model import CREATE, DELETE, REPLACE, UPDATE, Change, FieldChange
from slogen.plan.outcome import DONE, FAILED, SKIPPED, ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import Resource

TIER = "shop/availability/page-1h"
LONG, SHORT = f"{TIER}/long", f"{TIER}/short"


class FakeAws:
    """Records ``(region, operation, names)``; ``fail`` maps (operation, name) -> exception."""

    def __init__(self, existing: dict[str, dict[str, str]] | None = None) -> None:
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []
        self.fail: dict[tuple[str, str], Exception] = {}
        self.existing = existing or {}  # alarm name -> tags
        self._lock = threading.Lock()

    def call(self, region: str, service: str, operation: str, **params: Any) -> Any:
        names = tuple(params.get("AlarmNames") or [params.get("AlarmName") or ""])
        if operation in ("TagResource", "UntagResource", "ListTagsForResource"):
            names = (params["ResourceARN"].split(":alarm:")[1],)
        with self._lock:
            self.calls.append((region, operation, names))
        for name in names:
            exc = self.fail.get((operation, name))
            if exc is not None:
                raise exc
        if operation == "DescribeAlarms":
            found = [
                {"AlarmName": n, "AlarmArn": f"arn:aws:cloudwatch:{region}:1:alarm:{n}"}
                for n in names
                if n in self.existing
            ]
            return {"MetricAlarms": found}
        if operation == "ListTagsForResource":
            tags = self.existing.get(names[0], {})
            return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        return {}

    def ops(self, operation: str) -> list[tuple[str, tuple[str, ...]]]:
        return [(region, names) for region, op, names in self.calls if op == operation]


def alarm(key: str, region: str = "eu-west-1", live: bool = False) -> Resource:
    kind = COMPOSITE_ALARM if key == TIER else METRIC_ALARM
    body = {"Region": region, "AlarmName": alarm_name(key), "Tags": {"slogen-key": key}}
    deps = (LONG, SHORT) if kind == COMPOSITE_ALARM else ()
    arn = f"arn:aws:cloudwatch:{region}:1:alarm:{alarm_name(key)}" if live else None
    return Resource("cloudwatch", "api", kind, key, body, deps, live_id=arn)


def apply(aws: FakeAws, changes: list[Change]) -> ApplyReport:
    desired = [c.after for c in changes if c.after is not None]
    return execute(AlarmRequests(aws, 2), changes, desired, Progress(0, quiet=True))  # type: ignore[arg-type]


def status(report: ApplyReport) -> dict[str, str]:
    return {o.change.resource.key: o.status for o in report.outcomes}


def moves(keys: tuple[str, ...] = (LONG, SHORT, TIER)) -> list[Change]:
    return [
        Change(REPLACE, alarm(k, "us-east-1", live=True), alarm(k), (FieldChange("Region", 1, 2),))
        for k in keys
    ]


def test_children_are_created_before_their_composite() -> None:
    aws = FakeAws()
    report = apply(aws, [Change(CREATE, None, alarm(k)) for k in (TIER, LONG, SHORT)])
    assert set(status(report).values()) == {DONE}
    puts = [names[0] for _, op, names in aws.calls if op.startswith("Put")]
    assert puts[-1] == alarm_name(TIER) and set(puts[:2]) == {alarm_name(LONG), alarm_name(SHORT)}


def test_composites_are_deleted_first_and_alone_children_in_one_batch() -> None:
    aws = FakeAws()
    report = apply(aws, [Change(DELETE, alarm(k, live=True), None) for k in (LONG, TIER, SHORT)])
    assert set(status(report).values()) == {DONE}
    deletes = aws.ops("DeleteAlarms")
    assert deletes[0] == ("eu-west-1", (alarm_name(TIER),))
    assert len(deletes) == 2 and sorted(deletes[1][1]) == [alarm_name(LONG), alarm_name(SHORT)]


def test_a_child_whose_composite_update_failed_is_not_deleted() -> None:
    aws = FakeAws()
    aws.fail[("PutCompositeAlarm", alarm_name(TIER))] = AwsError("PutCompositeAlarm: boom")
    old = alarm(TIER, live=True)
    new_body = {**old.body, "AlarmRule": "changed"}
    composite = Resource("cloudwatch", "api", COMPOSITE_ALARM, TIER, new_body, (LONG,))
    changes = [
        Change(UPDATE, old, composite, (FieldChange("AlarmRule", 1, 2),)),
        Change(DELETE, alarm(SHORT, live=True), None),
    ]
    report = apply(aws, changes)
    assert status(report) == {TIER: FAILED, SHORT: SKIPPED}
    assert aws.ops("DeleteAlarms") == []


def test_a_move_creates_in_the_new_region_before_deleting_in_the_old() -> None:
    aws = FakeAws()
    report = apply(aws, moves())
    assert set(status(report).values()) == {DONE}
    regions = [(region, op) for region, op, _ in aws.calls if op != "DescribeAlarms"]
    first_delete = regions.index(("us-east-1", "DeleteAlarms"))
    assert all(r == ("eu-west-1", "PutMetricAlarm") for r in regions[:2])
    assert ("eu-west-1", "PutCompositeAlarm") in regions[:first_delete]
    deletes = aws.ops("DeleteAlarms")
    assert deletes[0] == ("us-east-1", (alarm_name(TIER),))


def test_a_move_whose_composite_failed_keeps_the_old_children() -> None:
    aws = FakeAws()
    aws.fail[("PutCompositeAlarm", alarm_name(TIER))] = AwsError("PutCompositeAlarm: boom")
    report = apply(aws, moves())
    assert status(report) == {LONG: FAILED, SHORT: FAILED, TIER: FAILED}
    errors = {o.change.resource.key: o.error for o in report.outcomes}
    assert "could not be changed" in errors[LONG]
    assert aws.ops("DeleteAlarms") == []  # the old composite still refers to them


def test_a_move_whose_old_composite_stays_keeps_the_old_children() -> None:
    aws = FakeAws()
    aws.fail[("DeleteAlarms", alarm_name(TIER))] = AwsError("DeleteAlarms: boom")
    report = apply(aws, moves())
    assert status(report) == {LONG: FAILED, SHORT: FAILED, TIER: FAILED}
    assert aws.ops("DeleteAlarms") == [("us-east-1", (alarm_name(TIER),))]


def test_someone_elses_alarm_is_refused_and_our_own_is_adopted() -> None:
    aws = FakeAws(
        {
            alarm_name(LONG): {"managed-by": "terraform"},
            alarm_name(SHORT): {"managed-by": "slogen", "slogen-key": SHORT, "old": "x"},
        }
    )
    report = apply(aws, [Change(CREATE, None, alarm(k)) for k in (LONG, SHORT, TIER)])
    assert status(report) == {LONG: FAILED, SHORT: DONE, TIER: SKIPPED}
    assert [n for _, n in aws.ops("PutMetricAlarm")] == [(alarm_name(SHORT),)]
    assert aws.ops("UntagResource") == [("eu-west-1", (alarm_name(SHORT),))]
    # names are checked once per region and kind, before any write
    assert [op for _, op, _ in aws.calls][:1] == ["DescribeAlarms"]


def test_no_credentials_stops_everything_not_yet_started() -> None:
    aws = FakeAws()
    for key in (LONG, SHORT):
        aws.fail[("PutMetricAlarm", alarm_name(key))] = NoCredentials("no credentials")
    report = apply(aws, [Change(CREATE, None, alarm(k)) for k in (LONG, SHORT, TIER)])
    assert status(report) == {LONG: FAILED, SHORT: FAILED, TIER: SKIPPED}
    assert isinstance(NoCredentials("x"), Fatal)
    assert report.errors == ["no credentials"]
