"""The CloudWatch ``api`` target: alarms read and changed with boto3.

Credentials come from boto3's standard chain (environment, shared config and credentials
files, SSO, container and instance roles); slogen never stores or prints them. The target's
``endpoint_url`` points every client at another endpoint (moto, LocalStack); ``regions`` lists
every region slogen manages (see below).

Regions. CloudWatch is regional, so slogen reads each region separately: every region a spec
names, plus every region in ``targets.cloudwatch.regions``. A region that no spec names any
more is read only if it is listed there, and only then are the alarms slogen left in it
deleted; without the list, ``slogen plan`` says which regions it read (a plan note), and
``regions`` given turns a spec naming another region into an error (the list is complete).

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
stops the plan rather than overwrite it.

Applying: metric alarms first, then composite alarms (which need their children to exist);
deletes afterwards the other way round: composites one per ``DeleteAlarms`` call (AWS takes
at most one composite per call), then metric alarms in batches of up to 100. ``PutMetricAlarm``
and ``PutCompositeAlarm`` ignore ``Tags`` when the alarm exists, so tags of existing alarms
change through ``TagResource`` / ``UntagResource``. Before creating, slogen checks (one
``DescribeAlarms`` per 100 names) that no alarm of that name exists that is not its own, so a
stale saved plan never overwrites someone else's alarm. Calls run on a few threads per region,
paced per region and operation by :class:`RateLimiter` within AWS's published quotas
(:data:`TPS`); botocore's ``adaptive`` retry mode retries throttling and 5xx with backoff and
slows the client down after throttling. A failure is recorded with AWS's (redacted) message;
everything that depends on it is not attempted; independent work goes on, and the next plan
shows exactly what is left.

Permissions: planning needs ``cloudwatch:DescribeAlarms`` (on ``*``: AWS hides composite alarms
from a narrower grant), ``tag:GetResources`` and ``cloudwatch:ListTagsForResource``; applying
also ``cloudwatch:PutMetricAlarm``, ``cloudwatch:PutCompositeAlarm``, ``cloudwatch:DeleteAlarms``,
``cloudwatch:TagResource`` and ``cloudwatch:UntagResource``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from slogen import __version__
from slogen.backends import cloudwatch as cw
from slogen.errors import SlogenError
from slogen.plan.model import CREATE, DELETE, REPLACE, UPDATE, Change
from slogen.plan.outcome import DONE, FAILED, SKIPPED, ApplyReport
from slogen.plan.progress import Progress
from slogen.redact import redact
from slogen.resources import MANAGED_BY, LiveState, Resource
from slogen.spec.model import Target

PAGE_SIZE = 100  # AWS: DescribeAlarms MaxRecords 1-100; GetResources ResourcesPerPage 1-100
MAX_PAGES = 100_000  # a guard against a server that never stops paging
DELETE_BATCH = 100  # AWS (DeleteAlarms): "You can delete up to 100 alarms in one operation"
WORKERS = 4  # threads per region while applying; the rate limiter sets the pace
# Retries after the first attempt (botocore's ``max_attempts``: "setting this value to 2 will
# result in the request being retried at most two times after the initial request").
READ_RETRIES = 5
WRITE_RETRIES = 9
CONNECT_TIMEOUT = 10.0  # seconds
READ_TIMEOUT = 60.0

# Requests per second per region and operation. AWS's CloudWatch service quotas: PutMetricAlarm
# "3 TPS per Region" (adjustable), DeleteAlarms "3 TPS per Region for each of these operations"
# (not adjustable), DescribeAlarms 9 TPS (docs: AmazonCloudWatch/latest/monitoring/
# cloudwatch_limits.html, "CloudWatch service quotas"). PutCompositeAlarm, TagResource and
# UntagResource have no published figure: ASSUMPTION: the PutMetricAlarm quota applies.
# Reads are not paced here: they go one page at a time per region, and botocore's adaptive
# mode slows them down if AWS throttles.
TPS: dict[str, float] = {
    "PutMetricAlarm": 3.0,
    "PutCompositeAlarm": 3.0,
    "DeleteAlarms": 3.0,
    "TagResource": 3.0,
    "UntagResource": 3.0,
}

CREDENTIAL_HINT = (
    "slogen uses the standard AWS credential chain: AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary credentials) in the "
    "environment, or AWS_PROFILE naming a profile in ~/.aws/credentials or ~/.aws/config "
    "(SSO included), or a container or instance role; use targets.cloudwatch: {type: files} "
    "to work offline"
)
_ALARM_TYPES = ["CompositeAlarm", "MetricAlarm"]


class AwsError(Exception):
    """An AWS error (or none at all), with a message safe to print."""

    def __init__(self, message: str, code: str = "", fatal: bool = False):
        super().__init__(redact(message))
        self.message = redact(message)
        self.code = code
        self.fatal = fatal  # no point trying anything else (no credentials)


class RateLimiter:
    """Evenly spaced calls per (region, operation): AWS's quotas are per region and operation.

    A call waits until ``1/rate`` seconds after the previous one of its kind was allowed, so
    several threads together never exceed the rate, and there is no burst to be throttled.
    """

    def __init__(self, rates: dict[str, float]):
        self.rates = dict(rates)
        self._next: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def wait(self, region: str, operation: str) -> None:
        rate = self.rates.get(operation)
        if not rate:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get((region, operation), now))
            self._next[(region, operation)] = at + 1.0 / rate
        if at > now:
            time.sleep(at - now)


# -- clients ----------------------------------------------------------------------------------


_SESSIONS: dict[tuple[tuple[str, str], ...], Any] = {}
_SESSION_LOCK = threading.Lock()  # boto3 sessions are not thread-safe: clients made under it


def _session() -> Any:
    """A boto3 session for the current AWS_* environment, reused within this process.

    A new session loads every service model again (about 0.1 s per client); reusing one is
    what boto3's own default session does. Changing any AWS_* variable gives a new session, so
    credentials always follow the environment. Clients are never reused (see :class:`Aws`).
    """
    import boto3

    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    with _SESSION_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = boto3.session.Session()
        return session


class Aws:
    """boto3 clients per (service, region) for one command, a request counter.

    Clients are new for every command: botocore's adaptive mode keeps a per-client send rate
    that a throttle lowers, and one command's throttling should not slow the next one.
    """

    def __init__(self, target: Target, retries: int):
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        self.endpoint = str(target.option("endpoint_url") or "") or None
        try:
            self.session = _session()
            with _SESSION_LOCK:
                credentials = self.session.get_credentials()
        except BotoCoreError as exc:  # ProfileNotFound, a broken config file...
            raise SlogenError(
                f"cannot load AWS credentials: {redact(str(exc))}", hint=CREDENTIAL_HINT
            ) from None
        if credentials is None:
            raise SlogenError(
                "AWS credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or AWS_PROFILE) in the environment",
                hint=CREDENTIAL_HINT,
            )
        self.config = Config(
            retries={"mode": "adaptive", "max_attempts": retries},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            max_pool_connections=WORKERS * 2,
            user_agent_extra=f"slogen/{__version__}",
        )
        self.limiter = RateLimiter(TPS)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.requests = 0
        self.regions: set[str] = set()

    def client(self, service: str, region: str) -> Any:
        with _SESSION_LOCK:
            found = self._clients.get((service, region))
            if found is None:
                found = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint, config=self.config
                )
                self._clients[(service, region)] = found
            return found

    def where(self, region: str) -> str:
        return self.endpoint or f"the {region} endpoint"

    def call(self, region: str, service: str, operation: str, **params: Any) -> Any:
        """One API call (botocore retries inside it); AWS's errors become :class:`AwsError`."""
        from botocore import xform_name
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        client = self.client(service, region)
        self.limiter.wait(region, operation)
        with self._lock:
            self.requests += 1
            self.regions.add(region)
        try:
            return getattr(client, xform_name(operation))(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            message = str(error.get("Message", "")).strip()
            raise AwsError(
                f"{operation} in {region}: {code}" + (f": {message}" if message else ""), code
            ) from None
        except NoCredentialsError:
            raise AwsError(
                "AWS credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or AWS_PROFILE) in the environment",
                "NoCredentials",
                fatal=True,
            ) from None
        except (
            EndpointConnectionError,
            ConnectTimeoutError,
            ReadTimeoutError,
            ConnectionClosedError,
        ) as exc:
            raise AwsError(
                f"{operation} in {region}: cannot reach CloudWatch at {self.where(region)}: {exc}",
                "Unreachable",
            ) from None
        except BotoCoreError as exc:
            raise AwsError(f"{operation} in {region}: {exc}", type(exc).__name__) from None


def _read_error(exc: AwsError, aws: Aws) -> SlogenError:
    if exc.fatal:
        return SlogenError(exc.message, hint=CREDENTIAL_HINT)
    if exc.code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return SlogenError(
            f"AWS refused to list alarms: {exc.message}",
            hint="slogen needs cloudwatch:DescribeAlarms (on *, or composite alarms stay "
            "hidden), tag:GetResources and cloudwatch:ListTagsForResource to plan",
        )
    if exc.code in (
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
    ):
        return SlogenError(
            f"AWS did not accept the credentials: {exc.message}", hint=CREDENTIAL_HINT
        )
    if exc.code == "Unreachable":
        return SlogenError(
            f"cannot read CloudWatch live state: {exc.message}",
            hint="check targets.cloudwatch.endpoint_url (if set), the region names and the "
            "network, then run the command again",
        )
    return SlogenError(f"cannot read CloudWatch live state: {exc.message}")


# -- live state ---------------------------------------------------------------------------------


@dataclass
class RegionAlarms:
    """What one region holds under ``slogen/``: every alarm found and the tags of each."""

    region: str
    alarms: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (kind, raw)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # ARN -> tags
    late: int = 0  # owned alarms the tagging API did not list (yet)


def _tag_dict(items: Iterable[dict[str, Any]] | None) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in items or []}


def describe_alarms(aws: Aws, region: str) -> list[tuple[str, dict[str, Any]]]:
    """Every alarm named ``slogen/...`` in the region, both types, a page of 100 at a time."""
    found: list[tuple[str, dict[str, Any]]] = []
    token = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {
            "AlarmNamePrefix": cw.NAME_PREFIX,
            "AlarmTypes": _ALARM_TYPES,
            "MaxRecords": PAGE_SIZE,
        }
        if token:
            params["NextToken"] = token
        page = aws.call(region, "cloudwatch", "DescribeAlarms", **params)
        found.extend((cw.METRIC_ALARM, a) for a in page.get("MetricAlarms") or [])
        found.extend((cw.COMPOSITE_ALARM, a) for a in page.get("CompositeAlarms") or [])
        token = page.get("NextToken")
        if not token:
            break
    return found


def owned_tags(aws: Aws, region: str) -> dict[str, dict[str, str]]:
    """ARN -> tags of every alarm tagged managed-by=slogen in the region (tagging API pages)."""
    found: dict[str, dict[str, str]] = {}
    token = ""
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {
            "ResourceTypeFilters": ["cloudwatch:alarm"],
            "TagFilters": [{"Key": cw.OWNER_TAG, "Values": [MANAGED_BY]}],
            "ResourcesPerPage": PAGE_SIZE,
        }
        if token:
            params["PaginationToken"] = token
        page = aws.call(region, "resourcegroupstaggingapi", "GetResources", **params)
        for item in page.get("ResourceTagMappingList") or []:
            found[str(item["ResourceARN"])] = _tag_dict(item.get("Tags"))
        token = page.get("PaginationToken") or ""
        if not token:
            break
    return found


def read_region(aws: Aws, region: str) -> RegionAlarms:
    """Alarms and tags of one region: the two listings run side by side; then the few alarms
    the tagging API did not list are checked one by one (see the module docstring)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        alarms_future = pool.submit(describe_alarms, aws, region)
        tags_future = pool.submit(owned_tags, aws, region)
        alarms, tags = alarms_future.result(), tags_future.result()
    state = RegionAlarms(region, alarms, dict(tags))
    for _kind, raw in alarms:
        arn = str(raw.get("AlarmArn"))
        if arn in tags:
            continue
        answer = aws.call(region, "cloudwatch", "ListTagsForResource", ResourceARN=arn)
        state.tags[arn] = _tag_dict(answer.get("Tags"))
        if cw.ownership(str(raw.get("AlarmName", "")), state.tags[arn]):
            state.late += 1
    return state


@dataclass
class Snapshot:
    """The owned alarms as resources, and the names under ``slogen/`` that are not slogen's."""

    resources: list[Resource]
    unowned: dict[str, list[str]]  # region -> alarm names
    strays: list[str]  # keys owned in more than one region (the extra copies get deleted)


def snapshot(regions: list[RegionAlarms], tname: str, preferred: dict[str, str]) -> Snapshot:
    """Turn raw alarms into resources keyed like :func:`cw.render`'s.

    A key owned in two regions (a region change that was interrupted) keeps its key in the
    region the specs want and becomes ``<key>#<region>`` elsewhere, so the plan deletes the
    extra copy instead of losing sight of it.
    """
    owned: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = []
    unowned: dict[str, list[str]] = {}
    for state in regions:
        for kind, raw in state.alarms:
            name = str(raw.get("AlarmName", ""))
            tags = state.tags.get(str(raw.get("AlarmArn")), {})
            key = cw.ownership(name, tags)
            if key is None:
                unowned.setdefault(state.region, []).append(name)
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
        if kind == cw.COMPOSITE_ALARM:
            body = cw.normalise_composite_alarm(raw, region, tags)
        else:
            body = cw.normalise_metric_alarm(raw, region, tags)
        deps = tuple(final.get((region, dep), dep) for dep in cw.dependencies(kind, body))
        resources.append(
            Resource(
                cw.BACKEND,
                tname,
                kind,
                final[(region, key)],
                body,
                deps,
                live_id=str(raw.get("AlarmArn")),
            )
        )
    resources.sort(key=lambda r: (r.key, r.kind))
    return Snapshot(resources, {r: sorted(n) for r, n in unowned.items()}, sorted(strays))


def read_live(target: Target, scope: cw.Scope) -> LiveState:
    """The owned alarms of every region in ``scope``; no region, no AWS call at all."""
    tname = cw.target_name(target)
    if not scope.regions:
        return LiveState([], [], {"unowned": {}, "requests": 0})
    aws = Aws(target, READ_RETRIES)
    try:
        with ThreadPoolExecutor(max_workers=len(scope.regions)) as pool:
            states = list(pool.map(lambda r: read_region(aws, r), scope.regions))
    except AwsError as exc:
        raise _read_error(exc, aws) from None
    snap = snapshot(states, tname, dict(scope.preferred))
    warnings = []
    for region, names in sorted(snap.unowned.items()):
        warnings.append(
            f"{len(names)} alarm(s) named slogen/... in {region} are not managed by slogen "
            f"(no tags {cw.OWNER_TAG}={MANAGED_BY} and a matching {cw.KEY_TAG}), e.g. "
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
    state = LiveState(snap.resources, warnings, {"unowned": snap.unowned})
    state.extra["requests"] = aws.requests
    return state


def conflicts(target: Target, desired: list[Resource], live: LiveState) -> list[str]:
    """Desired alarms whose name is taken by an alarm slogen does not own (it would be
    overwritten), or by one of slogen's alarms of the other type."""
    unowned = {
        (region, name) for region, names in live.extra.get("unowned", {}).items() for name in names
    }
    live_kinds = {(r.body["Region"], r.key): r.kind for r in live.resources}
    out = []
    for res in desired:
        region, name = res.body["Region"], res.body["AlarmName"]
        if (region, name) in unowned:
            out.append(
                f"the alarm {name} in {region} exists but is not managed by slogen (no tags "
                f"{cw.OWNER_TAG}={MANAGED_BY} and {cw.KEY_TAG}={res.key}); slogen will not "
                "overwrite it: rename or delete it, or tag it if it is slogen's"
            )
        other = live_kinds.get((region, res.key))
        if other is not None and other != res.kind:
            out.append(
                f"the alarm {name} in {region} is a {other}, but slogen needs a {res.kind} "
                "of that name; delete the alarm and plan again"
            )
    return out


# -- apply ----------------------------------------------------------------------------------------


class _Refused(Exception):
    """Something slogen will not do (it would overwrite an alarm it does not own)."""


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, AwsError | _Refused):
        return redact(str(exc))
    return redact(f"{type(exc).__name__}: {exc}")


def _creates_new(change: Change) -> bool:
    """Whether the change makes a new alarm: a create, or a move to another region."""
    if change.action == CREATE:
        return True
    return (
        change.action == REPLACE
        and change.before is not None
        and change.after is not None
        and change.before.body["Region"] != change.after.body["Region"]
    )


class _Run:
    """One apply against CloudWatch: phases in dependency order, work in parallel inside each
    phase, every change ending DONE, FAILED or SKIPPED exactly once."""

    def __init__(self, aws: Aws, progress: Progress, report: ApplyReport):
        self.aws = aws
        self.progress = progress
        self.report = report
        self.failed: set[str] = set()  # keys whose live alarm may still be in the old state
        self.fatal: AwsError | None = None
        self.adopted: dict[str, str] = {}  # change address -> ARN of an alarm of ours found

    # recording (main thread only) ------------------------------------------------------------

    def record(self, change: Change, status: str, error: str = "") -> None:
        self.report.add(change, status, error)
        if status != DONE:
            self.failed.add(change.resource.key)
        if status != SKIPPED:
            self.progress.step(f"{change.action} {change.address}")

    def run_parallel(
        self,
        jobs: list[tuple[Any, Callable[[], None]]],
        done: Callable[[Any, BaseException | None], None],
    ) -> None:
        """Run ``jobs`` (item, work) on a thread pool; report each through ``done`` on this
        thread. Interrupted (Ctrl-C), nothing new starts and the interruption propagates."""
        if not jobs:
            return
        workers = min(len(jobs), WORKERS * max(1, len(self.aws.regions)))
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures: dict[Future[None], Any] = {}
            for item, work in jobs:
                futures[pool.submit(self._guarded, work)] = item
            for future in as_completed(futures):
                done(futures[future], future.exception())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _guarded(self, work: Callable[[], None]) -> None:
        if self.fatal is not None:
            raise self.fatal
        try:
            work()
        except AwsError as exc:
            if exc.fatal:
                self.fatal = exc
            raise

    # existence checks -------------------------------------------------------------------------

    def existing(self, region: str, names: list[str]) -> dict[str, tuple[str, dict[str, str]]]:
        """name -> (ARN, tags) of the alarms among ``names`` that exist (one call per 100)."""
        found: dict[str, tuple[str, dict[str, str]]] = {}
        for start in range(0, len(names), PAGE_SIZE):
            chunk = names[start : start + PAGE_SIZE]
            token = None
            while True:
                params: dict[str, Any] = {
                    "AlarmNames": chunk,
                    "AlarmTypes": _ALARM_TYPES,
                    "MaxRecords": PAGE_SIZE,
                }
                if token:
                    params["NextToken"] = token
                page = self.aws.call(region, "cloudwatch", "DescribeAlarms", **params)
                for raw in (page.get("MetricAlarms") or []) + (page.get("CompositeAlarms") or []):
                    found[str(raw["AlarmName"])] = (str(raw["AlarmArn"]), {})
                token = page.get("NextToken")
                if not token:
                    break
        for name, (arn, _) in list(found.items()):
            answer = self.aws.call(region, "cloudwatch", "ListTagsForResource", ResourceARN=arn)
            found[name] = (arn, _tag_dict(answer.get("Tags")))
        return found

    def check_creates(self, creates: list[Change]) -> tuple[list[Change], dict[str, str]]:
        """Split creates into those that may go ahead and those that may not (with why).

        An alarm of the name that is slogen's own (an earlier create whose answer was lost) is
        taken over: its tags are set afterwards. Anyone else's is never overwritten.
        """
        by_region: dict[str, list[Change]] = {}
        for change in creates:
            assert change.after is not None
            by_region.setdefault(change.after.body["Region"], []).append(change)
        ok: list[Change] = []
        refused: dict[str, str] = {}
        for region, group in sorted(by_region.items()):
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
                    ok.append(change)
                    continue
                arn, tags = found[name]
                if cw.ownership(name, tags) == change.after.key:
                    self.adopted[change.address] = arn
                    ok.append(change)
                else:
                    refused[change.address] = (
                        f"an alarm named {name} already exists in {region} and is not managed "
                        "by slogen; refusing to overwrite it"
                    )
        return ok, refused

    # single operations (worker threads) -------------------------------------------------------

    def put(self, res: Resource, with_tags: bool) -> None:
        body = res.body
        self.aws.call(
            body["Region"],
            "cloudwatch",
            cw.operation_of(res.kind),
            **cw.request_of(body, with_tags=with_tags),
        )

    def retag(self, region: str, arn: str, before: dict[str, str], after: dict[str, str]) -> None:
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        removed = sorted(set(before) - set(after))
        if changed:
            self.aws.call(
                region, "cloudwatch", "TagResource", ResourceARN=arn, Tags=_tag_list(changed)
            )
        if removed:
            self.aws.call(region, "cloudwatch", "UntagResource", ResourceARN=arn, TagKeys=removed)

    def upsert(self, change: Change) -> None:
        after = change.after
        assert after is not None
        region = after.body["Region"]
        same_place = change.before is not None and change.before.body["Region"] == region
        if change.action == CREATE or (change.action == REPLACE and not same_place):
            self.put(after, with_tags=True)
            adopted = self.adopted.get(change.address)
            if adopted:  # an existing alarm of ours: Tags were ignored, set them now
                current = self.tags_of(region, adopted)
                self.retag(region, adopted, current, after.body["Tags"])
            return
        before = change.before
        assert before is not None
        paths = {f.path.split(".")[0].split("[")[0] for f in change.fields} or {""}
        if paths - {"Tags"} or change.action == REPLACE:
            self.put(after, with_tags=False)
        if "Tags" in paths or "" in paths:
            if not before.live_id:
                raise AwsError(f"no ARN known for {after.body['AlarmName']}; plan again")
            self.retag(region, str(before.live_id), before.body["Tags"], after.body["Tags"])

    def tags_of(self, region: str, arn: str) -> dict[str, str]:
        answer = self.aws.call(region, "cloudwatch", "ListTagsForResource", ResourceARN=arn)
        return _tag_dict(answer.get("Tags"))

    def delete(self, region: str, names: list[str]) -> None:
        self.aws.call(region, "cloudwatch", "DeleteAlarms", AlarmNames=names)

    # phases --------------------------------------------------------------------------------------

    def upserts(self, changes: list[Change]) -> dict[str, Change]:
        """Create/update/replace-create ``changes`` (one kind); returns replacements whose new
        alarm exists, so their old alarm can be deleted with the other deletes."""
        replaced: dict[str, Change] = {}
        ready = []
        for change in changes:
            blocked = [d for d in change.resource.depends_on if d in self.failed]
            if blocked:
                self.record(change, SKIPPED)
            else:
                ready.append(change)
        creates = [c for c in ready if _creates_new(c)]
        create_addresses = {c.address for c in creates}
        _allowed, refused = self.check_creates(creates) if creates else ([], {})
        jobs = []
        for change in ready:
            if change.address in refused:
                self.record(change, FAILED, refused[change.address])
            else:
                jobs.append((change, lambda c=change: self.upsert(c)))

        def done(change: Change, exc: BaseException | None) -> None:
            if exc is not None:
                self.record(change, FAILED, _error_message(exc))
            elif change.action == REPLACE and change.address in create_addresses:
                replaced[change.address] = change  # recorded once the old one is gone
            else:
                self.record(change, DONE)

        self.run_parallel(jobs, done)
        return replaced

    def deletes(self, victims: list[tuple[Change, Resource]], changes: list[Change]) -> None:
        """Delete the old alarms: composites one per call, then metric alarms in batches of
        up to 100 per region. A metric alarm a surviving composite may still refer to is not
        attempted (AWS would refuse: a referenced child cannot be deleted)."""

        def finish(change: Change, exc: BaseException | None) -> None:
            if change.action == REPLACE:
                if exc is None:
                    self.record(change, DONE)
                else:
                    assert change.before is not None and change.after is not None
                    self.record(
                        change,
                        FAILED,
                        f"the new alarm was created in {change.after.body['Region']}, but the "
                        f"old one in {change.before.body['Region']} could not be deleted: "
                        f"{_error_message(exc)}",
                    )
            elif exc is None:
                self.record(change, DONE)
            else:
                self.record(change, FAILED, _error_message(exc))

        composites = [(c, r) for c, r in victims if r.kind == cw.COMPOSITE_ALARM]
        metrics = [(c, r) for c, r in victims if r.kind != cw.COMPOSITE_ALARM]
        self.run_parallel(
            [
                (c, lambda r=r: self.delete(r.body["Region"], [r.body["AlarmName"]]))
                for c, r in composites
            ],
            finish,
        )
        # composite key -> its live rule's children: while the composite is unchanged (its
        # change failed), AWS will not delete them
        holders: dict[str, set[str]] = {}
        for change in changes:
            old = change.before
            if old is not None and old.kind == cw.COMPOSITE_ALARM:
                for dep in old.depends_on:
                    holders.setdefault(dep, set()).add(old.key)
        by_region: dict[str, list[tuple[Change, Resource]]] = {}
        for change, res in metrics:
            if holders.get(res.key, set()) & self.failed:
                if change.action == REPLACE:
                    finish(change, _Refused("a composite alarm that uses it could not be changed"))
                else:
                    self.record(change, SKIPPED)
                continue
            by_region.setdefault(res.body["Region"], []).append((change, res))
        batches = []
        for region, items in sorted(by_region.items()):
            for start in range(0, len(items), DELETE_BATCH):
                batches.append((region, items[start : start + DELETE_BATCH]))
        results: dict[int, BaseException | None] = {}

        def run_batch(index: int) -> None:
            region, items = batches[index]
            self.delete(region, [r.body["AlarmName"] for _, r in items])

        def batch_done(index: int, exc: BaseException | None) -> None:
            results[index] = exc

        self.run_parallel([(i, lambda i=i: run_batch(i)) for i in range(len(batches))], batch_done)
        singles = []
        for index, (region, items) in enumerate(batches):
            exc = results.get(index)
            if exc is None:
                for change, _ in items:
                    finish(change, None)
            elif isinstance(exc, AwsError) and exc.code == "ValidationError" and len(items) > 1:
                singles.extend((region, change, res) for change, res in items)
            else:
                for change, _ in items:
                    finish(change, exc)
        # A refused batch is retried one alarm at a time, so one alarm AWS will not delete
        # does not hold back the others.
        self.run_parallel(
            [
                (
                    change,
                    lambda region=region, res=res: self.delete(region, [res.body["AlarmName"]]),
                )
                for region, change, res in singles
            ],
            finish,
        )


def apply(
    target: Target,
    changes: list[Change],
    desired: list[Resource],
    progress: Progress,
    report: ApplyReport,
) -> None:
    """Make CloudWatch match the plan: metric alarms, then composites, then deletes
    (composites first). See the module docstring for the rules."""
    aws = Aws(target, WRITE_RETRIES)
    for change in changes:
        for res in (change.before, change.after):
            if res is not None:
                aws.regions.add(res.body["Region"])
    run = _Run(aws, progress, report)
    upserts = [c for c in changes if c.action in (CREATE, UPDATE, REPLACE)]
    replaced = run.upserts([c for c in upserts if c.resource.kind == cw.METRIC_ALARM])
    replaced.update(run.upserts([c for c in upserts if c.resource.kind == cw.COMPOSITE_ALARM]))
    victims: list[tuple[Change, Resource]] = []
    for change in changes:
        if change.action == DELETE and change.before is not None:
            victims.append((change, change.before))
    for change in replaced.values():
        assert change.before is not None
        victims.append((change, change.before))
    run.deletes(victims, changes)
    if run.fatal is not None:
        report.errors.append(f"cloudwatch: {run.fatal.message}")
    where = aws.endpoint or "AWS"
    report.notes.append(
        f"CloudWatch: {aws.requests} API request(s) to {where} in "
        f"{', '.join(sorted(aws.regions)) or 'no region'}."
    )
