"""Reading the ``api`` target: every owned alarm of some regions, as resources.

Reading costs one request per page, never one per alarm (per region, in parallel):

* ``DescribeAlarms(AlarmNamePrefix="slogen/", AlarmTypes=[CompositeAlarm, MetricAlarm],
  MaxRecords=100)`` following ``NextToken`` (without ``AlarmTypes`` AWS returns metric alarms
  only);
* the Resource Groups Tagging API, ``GetResources(ResourceTypeFilters=["cloudwatch:alarm"],
  TagFilters=[managed-by=slogen], ResourcesPerPage=100)`` following ``PaginationToken``, for
  the tags of all owned alarms at once.

An alarm is slogen's only with ``managed-by=slogen`` and ``slogen-key=<key of its name>``.
The tagging API is eventually consistent, so an alarm under ``slogen/`` that it does not list
(normally: someone else's alarm, so there are few) is checked with ``ListTagsForResource``
before it is called someone else's, and the plan says when that found alarms of slogen's the
tagging API had not listed yet. A desired alarm whose name is taken by someone else's alarm
stops the plan (:func:`conflicts`) rather than overwrite it.

A read that looks incomplete stops the plan (:class:`slogen.plan.creates.IncompleteRead`):
``DescribeAlarms`` gives no total, so its pages are checked against the tagging API's. An alarm
the tagging API lists as slogen's but the ``DescribeAlarms`` pages did not return is asked for
by name (``DescribeAlarms(AlarmNames=...)``); if it exists, a page was short (the tagging API
being eventually consistent, an alarm it still lists after a delete is simply gone). A short
tagging page needs no check: the alarms it left out are asked ``ListTagsForResource`` one by
one, as above.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slogen.backends import scope as project_scope
from slogen.backends.cloudwatch.aws import (
    ALARM_TYPES,
    MAX_PAGES,
    Aws,
    AwsError,
    read_error,
    tag_dict,
)
from slogen.backends.cloudwatch.limits import PAGE_SIZE
from slogen.backends.cloudwatch.names import (
    BACKEND,
    COMPOSITE_ALARM,
    KEY_TAG,
    METRIC_ALARM,
    NAME_PREFIX,
    OWNER_TAG,
)
from slogen.backends.cloudwatch.normalise import (
    dependencies,
    normalise_composite_alarm,
    normalise_metric_alarm,
    ownership,
)
from slogen.plan.creates import IncompleteRead
from slogen.resources import MANAGED_BY, LiveState, Resource


@dataclass
class RegionAlarms:
    """What one region holds under ``slogen/``: every alarm found and the tags of each."""

    region: str
    alarms: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (kind, raw)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # ARN -> tags
    late: int = 0  # owned alarms the tagging API did not list (yet)


def describe(aws: Aws, region: str, **params: Any) -> list[tuple[str, dict[str, Any]]]:
    """(kind, raw alarm) for every alarm ``DescribeAlarms`` answers to ``params`` (both types:
    without ``AlarmTypes`` AWS returns metric alarms only), a page of 100 at a time."""
    found: list[tuple[str, dict[str, Any]]] = []
    paging: dict[str, Any] = {}
    tokens: set[str] = set()
    for _ in range(MAX_PAGES):
        page = aws.call(
            region,
            "cloudwatch",
            "DescribeAlarms",
            **params,
            AlarmTypes=ALARM_TYPES,
            MaxRecords=PAGE_SIZE,
            **paging,
        )
        found.extend((METRIC_ALARM, a) for a in page.get("MetricAlarms") or [])
        found.extend((COMPOSITE_ALARM, a) for a in page.get("CompositeAlarms") or [])
        if not page.get("NextToken"):
            break
        _next_token(tokens, str(page["NextToken"]), f"CloudWatch in {region}", "DescribeAlarms")
        paging = {"NextToken": page["NextToken"]}
    return found


def _next_token(seen: set[str], token: str, target: str, operation: str) -> None:
    """A paging token met twice means the pages loop: what they hold is not the whole list."""
    if token in seen:
        raise IncompleteRead(target, f"{operation} answered the same next-page token twice")
    seen.add(token)


def describe_alarms(aws: Aws, region: str) -> list[tuple[str, dict[str, Any]]]:
    """Every alarm named ``slogen/...`` in the region."""
    return describe(aws, region, AlarmNamePrefix=NAME_PREFIX)


def owned_tags(aws: Aws, region: str) -> dict[str, dict[str, str]]:
    """ARN -> tags of every alarm tagged managed-by=slogen in the region (tagging API pages)."""
    found: dict[str, dict[str, str]] = {}
    token = ""
    tokens: set[str] = set()
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {
            "ResourceTypeFilters": ["cloudwatch:alarm"],
            "TagFilters": [{"Key": OWNER_TAG, "Values": [MANAGED_BY]}],
            "ResourcesPerPage": PAGE_SIZE,
        }
        if token:
            params["PaginationToken"] = token
        page = aws.call(region, "resourcegroupstaggingapi", "GetResources", **params)
        for item in page.get("ResourceTagMappingList") or []:
            found[str(item["ResourceARN"])] = tag_dict(item.get("Tags"))
        token = page.get("PaginationToken") or ""
        if not token:
            break
        _next_token(tokens, token, f"CloudWatch in {region}", "GetResources")
    return found


def read_region(aws: Aws, region: str) -> RegionAlarms:
    """Alarms and tags of one region: the two listings run side by side; then the few alarms
    the tagging API did not list are checked one by one (see the module docstring)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        alarms_future = pool.submit(describe_alarms, aws, region)
        tags_future = pool.submit(owned_tags, aws, region)
        alarms, tags = alarms_future.result(), tags_future.result()
    state = RegionAlarms(region, alarms, dict(tags))
    check_complete(aws, region, alarms, tags)
    for _kind, raw in alarms:
        arn = str(raw.get("AlarmArn"))
        if arn in tags:
            continue
        answer = aws.call(region, "cloudwatch", "ListTagsForResource", ResourceARN=arn)
        state.tags[arn] = tag_dict(answer.get("Tags"))
        if ownership(str(raw.get("AlarmName", "")), state.tags[arn]):
            state.late += 1
    return state


def check_complete(
    aws: Aws,
    region: str,
    alarms: list[tuple[str, dict[str, Any]]],
    tags: Mapping[str, Mapping[str, str]],
) -> None:
    """Raise :class:`IncompleteRead` when an owned alarm the tagging API lists exists but the
    ``DescribeAlarms`` pages left it out (see the module docstring)."""
    described = {str(raw.get("AlarmArn")) for _kind, raw in alarms}
    names = sorted(
        arn.split(":alarm:", 1)[1]
        for arn, values in tags.items()
        if arn not in described
        and ":alarm:" in arn
        and arn.split(":alarm:", 1)[1].startswith(NAME_PREFIX)
        and values.get(OWNER_TAG) == MANAGED_BY
    )
    for start in range(0, len(names), PAGE_SIZE):
        found = describe(aws, region, AlarmNames=names[start : start + PAGE_SIZE])
        if found:
            raise IncompleteRead(
                f"CloudWatch in {region}",
                f"DescribeAlarms did not return {len(found)} of slogen's alarms that exist, "
                f"e.g. {found[0][1].get('AlarmName')}",
            )


@dataclass
class Snapshot:
    """The owned alarms as resources, and the names under ``slogen/`` that are not slogen's."""

    resources: list[Resource]
    unowned: dict[str, list[str]]  # region -> alarm names
    strays: list[str]  # keys owned in more than one region (the extra copies get deleted)
    # key -> the other slogen project, None: before projects (see slogen.backends.scope)
    foreign: dict[str, str | None] = field(default_factory=dict)


def snapshot(
    regions: list[RegionAlarms],
    tname: str,
    preferred: dict[str, str],
    project: str | None = None,
    adoptable: Collection[str] | None = None,
) -> Snapshot:
    """Turn raw alarms into resources keyed like render's.

    A key owned in two regions (a region change that was interrupted) keeps its key in the
    region the specs want and becomes ``<key>#<region>`` elsewhere, so the plan deletes the
    extra copy instead of losing sight of it.
    """
    owned: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = []
    unowned: dict[str, list[str]] = {}
    foreign: dict[str, str | None] = {}
    for state in regions:
        for kind, raw in state.alarms:
            name = str(raw.get("AlarmName", ""))
            tags = state.tags.get(str(raw.get("AlarmArn")), {})
            key = ownership(name, tags)
            if key is None:
                unowned.setdefault(state.region, []).append(name)
            elif not project_scope.claims(
                project, tags.get(project_scope.PROJECT_TAG), key, adoptable
            ):  # another slogen project's, or from before projects and not wanted here
                foreign[key] = tags.get(project_scope.PROJECT_TAG)
            else:
                owned.append((state.region, key, kind, raw, tags))
    by_key: dict[str, list[str]] = {}
    for region, key, *_ in owned:
        by_key.setdefault(key, []).append(region)
    final: dict[tuple[str, str], str] = {}  # (region, key) -> resource key
    strays = []
    for key, found_in in by_key.items():
        wanted = preferred.get("/".join(key.split("/")[:2]))
        keeper = wanted if wanted in found_in else sorted(found_in)[0]
        for region in found_in:
            final[(region, key)] = key if region == keeper else f"{key}#{region}"
        if len(found_in) > 1:
            strays.append(key)
    resources = []
    for region, key, kind, raw, tags in owned:
        if kind == COMPOSITE_ALARM:
            body = normalise_composite_alarm(raw, region, tags)
        else:
            body = normalise_metric_alarm(raw, region, tags)
        deps = tuple(final.get((region, dep), dep) for dep in dependencies(kind, body))
        resources.append(
            Resource(
                BACKEND,
                tname,
                kind,
                final[(region, key)],
                body,
                deps,
                live_id=str(raw.get("AlarmArn")),
            )
        )
    resources.sort(key=lambda r: (r.key, r.kind))
    return Snapshot(resources, {r: sorted(n) for r, n in unowned.items()}, sorted(strays), foreign)


@dataclass(frozen=True)
class Scope:
    """Which regions a read covers, and in which region each SLO is wanted (to tell the
    wanted copy of a key from a stray one left in another region)."""

    regions: tuple[str, ...]
    preferred: Mapping[str, str]  # "<service>/<slo>" -> region


def scope(configured: Sequence[str], known: Sequence[Resource]) -> Scope:
    """The regions to read: every configured one and every one ``known`` alarms are in.

    ``known`` is what the caller expects here: the desired alarms when planning (every region
    a spec names has some), plus the live ones a saved plan was made against when it is
    checked, so both reads cover the same regions. Only desired alarms (no ``live_id``) say
    where an SLO is wanted.
    """
    regions = set(configured)
    preferred: dict[str, str] = {}
    for res in known:
        if res.backend != BACKEND:
            continue
        regions.add(res.body["Region"])
        if res.live_id is None:
            preferred["/".join(res.key.split("/")[:2])] = res.body["Region"]
    return Scope(tuple(sorted(regions)), preferred)


def read_live(
    aws: Callable[[], Aws],
    tname: str,
    where: Scope,
    project: str | None = None,
    adoptable: Collection[str] | None = None,
    more: Callable[[Aws], Collection[str]] | None = None,
) -> LiveState:
    """The owned alarms of every region in ``where``; no region, no AWS call (and no
    credentials needed) at all. ``aws`` makes the clients once there is something to read.

    ``more`` names further regions to read, asked once ``where``'s are read (the regions
    marker, :mod:`.marker`); they are listed in ``extra["more_regions"]``. All regions go into
    one snapshot, so a key found in two of them is still seen as a stray copy.
    """
    if not where.regions:
        return LiveState([], [], {"unowned": {}, "requests": 0})
    client = aws()
    extra: list[str] = []
    try:
        with ThreadPoolExecutor(max_workers=len(where.regions)) as pool:
            states = list(pool.map(lambda r: read_region(client, r), where.regions))
        if more is not None:
            extra = sorted(set(more(client)) - set(where.regions))
        if extra:
            with ThreadPoolExecutor(max_workers=len(extra)) as pool:
                states += list(pool.map(lambda r: read_region(client, r), extra))
    except AwsError as exc:
        raise read_error(exc) from None
    snap = snapshot(states, tname, dict(where.preferred), project, adoptable)
    warnings = []
    for region, names in sorted(snap.unowned.items()):
        warnings.append(
            f"{len(names)} alarm(s) named slogen/... in {region} are not managed by slogen "
            f"(no tags {OWNER_TAG}={MANAGED_BY} and a matching {KEY_TAG}), e.g. "
            f"{names[0]}; slogen leaves them alone"
        )
    for region_state in states:
        if region_state.late:
            warnings.append(
                f"the tagging API did not list {region_state.late} of slogen's alarms in "
                f"{region_state.region} yet (it is eventually consistent); they were checked "
                "one by one"
            )
    for key in snap.strays:
        warnings.append(
            f"{key} exists in more than one region; the copies outside the spec's region are "
            "deleted"
        )
    state = LiveState(snap.resources, warnings, {"unowned": snap.unowned, "more_regions": extra})
    project_scope.note(state, snap.foreign, "CloudWatch alarm")  # another project's: left alone
    state.extra["requests"] = client.requests
    return state


def conflicts(desired: Sequence[Resource], live: LiveState) -> list[str]:
    """Desired alarms whose name is taken by an alarm slogen does not own (it would be
    overwritten), or by one of slogen's alarms of the other type."""
    unowned = {
        (region, name) for region, names in live.extra.get("unowned", {}).items() for name in names
    }
    live_kinds = {(r.body["Region"], r.key): r.kind for r in live.resources if "Region" in r.body}
    out = []
    for res in desired:
        region, name = res.body["Region"], res.body["AlarmName"]
        if (region, name) in unowned:
            out.append(
                f"the alarm {name} in {region} exists but is not managed by slogen (no tags "
                f"{OWNER_TAG}={MANAGED_BY} and {KEY_TAG}={res.key}); slogen will not "
                "overwrite it: rename or delete it, or tag it if it is slogen's"
            )
        other = live_kinds.get((region, res.key))
        if other is not None and other != res.kind:
            out.append(
                f"the alarm {name} in {region} is a {other}, but slogen needs a {res.kind} "
                "of that name; delete the alarm and plan again"
            )
    return out + project_scope.conflicts(desired, live)
