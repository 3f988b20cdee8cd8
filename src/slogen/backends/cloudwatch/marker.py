"""The regions marker: every region a project's alarms are in, kept in one place.

CloudWatch is regional and has no account-wide list of alarms, so a region is only read when
slogen knows to look there. Without a record, an SLO that was the last of its region (say
us-east-1) and leaves the specs leaves its alarms behind for good when that region is neither
in ``targets.cloudwatch.regions`` nor the AWS default region (issue 13, case 6). So slogen
keeps the list itself: a disabled metric alarm ``slogen-regions/<project>`` in the project's
*home region* (the lock's region, :func:`slogen.backends.cloudwatch.lock.lock_region`: the first
of ``regions``, else the AWS default region, else us-east-1), whose tags are

* ``slogen-project=<project>``: a marker of another project (same name, another tag) is
  ignored;
* ``slogen-regions=<region> <region> ...``: separated by spaces, because AWS's tag values take
  letters, digits, spaces and ``_ . : / = + - @`` only, no comma (:data:`.limits.TAG_SYMBOLS`,
  AWS "Tag naming limits and requirements"); a value holds at most 256 characters
  (:data:`.limits.MAX_TAG_VALUE_LENGTH`), so a long list goes on in ``slogen-regions.2``...

Its name is outside slogen's ``slogen/`` prefix and it carries no ``managed-by`` tag, so no read
of owned alarms sees it and it never appears in a plan. It watches a metric nobody sends, has
no actions (and actions disabled) and treats missing data as not breaching: it never notifies.

Reading it costs one ``DescribeAlarms`` (and one ``ListTagsForResource`` when it exists) in the
home region. Apply writes it before its first alarm write with the regions it is about to write
in added, so a crash halfway still leaves them recorded; and after the apply with only the
regions that still hold the project's alarms. A missing marker (the first run after an upgrade)
is an empty list.
"""

from __future__ import annotations

from collections.abc import Iterable

from slogen.backends.cloudwatch.aws import Aws, tag_dict, tag_list
from slogen.backends.cloudwatch.limits import MAX_TAG_VALUE_LENGTH
from slogen.backends.cloudwatch.names import PROJECT_TAG

MARKER_PREFIX = "slogen-regions/"
REGIONS_TAG = "slogen-regions"
SEPARATOR = " "  # AWS tag values take no comma (see the module docstring)
NO_PROJECT = "default"  # the marker's name for a target without a project (hand-made settings)


def marker_name(project: str | None) -> str:
    """The marker alarm's name for a project."""
    return MARKER_PREFIX + (project or NO_PROJECT)


def region_tags(regions: Iterable[str]) -> dict[str, str]:
    """The ``slogen-regions`` tags for a set of regions, each value within AWS's 256
    characters: ``slogen-regions``, then ``slogen-regions.2``... as the list grows."""
    values: list[str] = [""]
    for region in sorted(set(regions)):
        joined = f"{values[-1]}{SEPARATOR}{region}" if values[-1] else region
        if len(joined) > MAX_TAG_VALUE_LENGTH:
            values.append(region)
        else:
            values[-1] = joined
    return {(REGIONS_TAG if i == 0 else f"{REGIONS_TAG}.{i + 1}"): v for i, v in enumerate(values)}


def regions_of(tags: dict[str, str], project: str | None) -> set[str]:
    """The regions a marker's tags record; none when the marker is another project's."""
    if (tags.get(PROJECT_TAG) or None) != project:
        return set()
    found: set[str] = set()
    for key, value in tags.items():
        if key == REGIONS_TAG or key.startswith(REGIONS_TAG + "."):
            found.update(part for part in value.split(SEPARATOR) if part)
    return found


def find(aws: Aws, home: str, project: str | None) -> tuple[str, dict[str, str]] | None:
    """(ARN, tags) of the project's marker in the home region, None when there is none."""
    answer = aws.call(
        home,
        "cloudwatch",
        "DescribeAlarms",
        AlarmNames=[marker_name(project)],
        AlarmTypes=["MetricAlarm"],
    )
    alarms = answer.get("MetricAlarms") or []
    if not alarms:
        return None
    arn = str(alarms[0]["AlarmArn"])
    tags = aws.call(home, "cloudwatch", "ListTagsForResource", ResourceARN=arn)
    return arn, tag_dict(tags.get("Tags"))


def read(aws: Aws, home: str, project: str | None) -> set[str]:
    """The regions the project's marker records (none without a marker, or another project's)."""
    found = find(aws, home, project)
    return regions_of(found[1], project) if found else set()


def write(
    aws: Aws,
    home: str,
    project: str | None,
    regions: Iterable[str],
    found: tuple[str, dict[str, str]] | bool | None = True,
) -> None:
    """Record exactly ``regions`` on the marker, creating it if needed (``found``: what
    :func:`find` answered just before, or True to ask it now).

    ``PutMetricAlarm`` "creates or updates an alarm" and ignores ``Tags`` on an existing one
    (CloudWatch API reference, PutMetricAlarm; aws/aws-sdk#27), so an existing marker's tags
    are changed with ``TagResource`` ("If you specify a tag key that is already associated with
    the alarm, the new tag value that you specify replaces the previous value", API reference,
    TagResource) and the continuation tags no longer needed removed with ``UntagResource``.
    """
    wanted = region_tags(regions)
    if project:
        wanted[PROJECT_TAG] = project
    if found is True:
        found = find(aws, home, project)
    if not isinstance(found, tuple):
        aws.call(
            home,
            "cloudwatch",
            "PutMetricAlarm",
            AlarmName=marker_name(project),
            AlarmDescription="Regions where slogen keeps this project's alarms; read and "
            "written by slogen plan and apply. It never notifies.",
            ActionsEnabled=False,
            Namespace="slogen",
            MetricName="regions_marker",
            Statistic="Maximum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            Tags=tag_list(wanted),
        )
        return
    arn, tags = found
    if any(tags.get(k) != v for k, v in wanted.items()):
        aws.call(home, "cloudwatch", "TagResource", ResourceARN=arn, Tags=tag_list(wanted))
    stale = sorted(k for k in tags if k.startswith(REGIONS_TAG + ".") and k not in wanted)
    if stale:
        aws.call(home, "cloudwatch", "UntagResource", ResourceARN=arn, TagKeys=stale)
