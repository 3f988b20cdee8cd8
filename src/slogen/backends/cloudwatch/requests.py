"""The requests of one CloudWatch apply, for the shared executor (:mod:`slogen.plan.executor`).

The executor decides order, concurrency and what is not attempted after a failure; this says
how each change becomes AWS calls:

* **Names are free first** (:meth:`AlarmRequests.refusals`): before any write, one
  ``DescribeAlarms`` per 100 names (per region and kind) checks that no alarm of a name slogen
  is about to create exists unless it is slogen's own. One of slogen's (an earlier create whose
  answer was lost) is adopted: its tags are set after the create. Anyone else's is never
  overwritten, so a stale saved plan cannot take over an alarm.
* **Create** is ``PutMetricAlarm`` / ``PutCompositeAlarm`` with ``Tags``. **Update** sends the
  Put without tags (AWS ignores ``Tags`` on an existing alarm) and changes tags through
  ``TagResource`` / ``UntagResource``; an update of tags only makes no Put at all.
* **Delete** is ``DeleteAlarms``: up to 100 metric alarms of one region per call, composites one
  per call (AWS takes at most one composite per call, and never with its children), so every
  composite has a batch key of its own. The executor deletes composites before the alarms they
  refer to, and keeps an alarm a composite still refers to when that composite's change failed.
* **Replacement** (a move to another region, the only immutable field) creates the alarm in the
  new region and then deletes the old one; composites refer to alarms by name, so nothing is
  re-pointed.

* **A lost create answer cannot duplicate**: ``PutMetricAlarm`` "creates or updates an alarm"
  and, for an existing alarm, "the update completely overwrites the previous configuration of
  the alarm" (CloudWatch API reference, PutMetricAlarm; ``PutCompositeAlarm`` likewise), and an
  alarm name is unique in a region. So a Put retried after a 5xx or a timeout (botocore does)
  writes the same alarm again; its ``Tags``, ignored on an existing alarm, were set by the
  first Put that created it. No re-read is needed before retrying (:mod:`slogen.plan.creates`).

A failure is AWS's (redacted) message; no credentials at all is :class:`~slogen.plan.executor.
Fatal` and stops what has not started.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from slogen.backends.cloudwatch.aws import Aws, AwsError, budget, tag_dict, tag_list
from slogen.backends.cloudwatch.limits import DELETE_BATCH, PAGE_SIZE
from slogen.backends.cloudwatch.names import COMPOSITE_ALARM, METRIC_ALARM
from slogen.backends.cloudwatch.normalise import operation_of, ownership, request_of
from slogen.backends.cloudwatch.read import describe
from slogen.plan.model import CREATE, REPLACE, Change
from slogen.redact import redact
from slogen.resources import Resource


def creates_new(change: Change) -> bool:
    """Whether the change makes a new alarm: a create, or a move to another region."""
    if change.action == CREATE:
        return True
    return (
        change.action == REPLACE
        and change.before is not None
        and change.after is not None
        and change.before.body["Region"] != change.after.body["Region"]
    )


def _metric_alarms_first(group: tuple[tuple[str, str], list[Change]]) -> tuple[bool, str]:
    (kind, region), _ = group
    return (kind != METRIC_ALARM, region)


class AlarmRequests:
    """:class:`slogen.plan.executor.Requests` for CloudWatch alarms, over one :class:`Aws`."""

    delete_batch = DELETE_BATCH

    def __init__(self, aws: Aws, regions: int) -> None:
        self.aws = aws
        self.budget = budget(regions)
        self.adopted: dict[str, str] = {}  # change address -> ARN of an alarm of ours found

    # before any write ---------------------------------------------------------------------------

    def existing(self, region: str, names: list[str]) -> dict[str, tuple[str, dict[str, str]]]:
        """name -> (ARN, tags) of the alarms among ``names`` that exist (one call per 100)."""
        found: dict[str, tuple[str, dict[str, str]]] = {}
        for start in range(0, len(names), PAGE_SIZE):
            chunk = names[start : start + PAGE_SIZE]
            for _kind, raw in describe(self.aws, region, AlarmNames=chunk):
                found[str(raw["AlarmName"])] = (str(raw["AlarmArn"]), {})
        for name, (arn, _) in list(found.items()):
            answer = self.aws.call(region, "cloudwatch", "ListTagsForResource", ResourceARN=arn)
            found[name] = (arn, tag_dict(answer.get("Tags")))
        return found

    def refusals(self, changes: Sequence[Change]) -> dict[str, str]:
        """Creates that must not go ahead (an alarm of that name is not slogen's), with why.

        Checked per region and kind, as the alarms are created; an alarm of the name that is
        slogen's own is adopted (see :meth:`create`).
        """
        groups: dict[tuple[str, str], list[Change]] = {}
        for change in changes:
            if creates_new(change):
                assert change.after is not None
                region = change.after.body["Region"]
                groups.setdefault((change.after.kind, region), []).append(change)
        refused: dict[str, str] = {}
        for (_kind, region), group in sorted(groups.items(), key=_metric_alarms_first):
            names = [c.after.body["AlarmName"] for c in group if c.after is not None]
            try:
                found = self.existing(region, names)
            except AwsError as exc:
                for change in group:
                    refused[change.address] = f"checking that the name is free: {exc.message}"
                continue
            for change in group:
                assert change.after is not None
                name = change.after.body["AlarmName"]
                if name not in found:
                    continue
                arn, tags = found[name]
                if ownership(name, tags) == change.after.key:
                    self.adopted[change.address] = arn
                else:
                    refused[change.address] = (
                        f"an alarm named {name} already exists in {region} and is not managed "
                        "by slogen; refusing to overwrite it"
                    )
        return refused

    # writes (worker threads) --------------------------------------------------------------------

    def put(self, res: Resource, with_tags: bool) -> None:
        body = res.body
        self.aws.call(
            body["Region"],
            "cloudwatch",
            operation_of(res.kind),
            **request_of(body, with_tags=with_tags),
        )

    def retag(self, region: str, arn: str, before: dict[str, str], after: dict[str, str]) -> None:
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        removed = sorted(set(before) - set(after))
        if changed:
            self.aws.call(
                region, "cloudwatch", "TagResource", ResourceARN=arn, Tags=tag_list(changed)
            )
        if removed:
            self.aws.call(region, "cloudwatch", "UntagResource", ResourceARN=arn, TagKeys=removed)

    def tags_of(self, region: str, arn: str) -> dict[str, str]:
        answer = self.aws.call(region, "cloudwatch", "ListTagsForResource", ResourceARN=arn)
        return tag_dict(answer.get("Tags"))

    def create(self, resource: Resource) -> None:
        """A new alarm (or the new-region half of a move), tags included."""
        self.put(resource, with_tags=True)
        adopted = self.adopted.get(resource.address)
        if adopted:  # an existing alarm of ours: Tags were ignored, set them now
            region = resource.body["Region"]
            self.retag(region, adopted, self.tags_of(region, adopted), resource.body["Tags"])

    def update(self, change: Change) -> None:
        """Put the alarm again only when more than its tags changed; tags by the tagging calls."""
        after, before = change.after, change.before
        assert after is not None and before is not None
        paths = {f.path.split(".")[0].split("[")[0] for f in change.fields} or {""}
        if paths - {"Tags"}:
            self.put(after, with_tags=False)
        if "Tags" in paths or "" in paths:
            if not before.live_id:
                raise AwsError(f"no ARN known for {after.body['AlarmName']}; plan again")
            region = after.body["Region"]
            self.retag(region, str(before.live_id), before.body["Tags"], after.body["Tags"])

    def delete(self, resources: Sequence[Resource]) -> None:
        """One ``DeleteAlarms`` call (the resources share a :meth:`batch_key`: one region)."""
        region = resources[0].body["Region"]
        names = [r.body["AlarmName"] for r in resources]
        self.aws.call(region, "cloudwatch", "DeleteAlarms", AlarmNames=names)

    def batch_key(self, resource: Resource) -> Hashable:
        """Metric alarms batch per region; each composite alone (AWS: one per call)."""
        region = resource.body["Region"]
        if resource.kind == COMPOSITE_ALARM:
            return (region, resource.kind, resource.key)
        return (region, resource.kind)

    def repoint(self, resource: Resource) -> None:
        """Nothing to do: composites refer to alarms by name, and a move keeps the name."""

    def error_text(self, exc: BaseException) -> str:
        if isinstance(exc, AwsError):
            return exc.message
        if type(exc) is RuntimeError:  # the executor's own reasons (work not attempted)
            return redact(str(exc))
        return redact(f"{type(exc).__name__}: {exc}")
