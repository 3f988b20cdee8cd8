"""Reading CloudWatch SLIs' history (``GetMetricData``) for ``slogen backtest`` and ``status``.

What is read is what the alarms read. Each window alarm of an SLO (:mod:`.render`) sums its
metrics over ``Period`` = the window and divides ``m1`` (bad events) by ``m2`` (total); a
sliding-window alarm is evaluated again each minute over the latest window (AWS, CloudWatch
User Guide, "Alarm evaluation window": the default ``SlidingWindow`` "advances each time the
alarm is evaluated, forming a rolling time window"; a 30-minute alarm seen re-evaluating every
minute: codepudding.com/Mobile/135457.html). A window of ``W`` seconds is therefore the sum of
``W/60`` one-minute sums, which is what the replay computes from this module's samples:
``Semantics(step=60, closed=False, per_sample=1)``. Sample ``k`` is CloudWatch's datapoint for
the period ``[start + k·step, start + (k+1)·step)`` (a datapoint's timestamp is its period's
start).

One code path for AWS and moto: the requests hold only the ``MetricStat`` queries the alarms
use (same ids, from :func:`.render.side_queries`, ``Period`` = the step), and the alarms'
metric math is done here: a side of several metrics is ``FILL(a, 0) + FILL(b, 0)``, a
good-based SLI's bad events ``m2 - FILL(g1, 0)``. moto evaluates no metric math (an
``Expression`` that is not the bare id of another query returns no datapoints), and the sums
done here are exact, so AWS's evaluation would add requests' complexity without changing a
number. Metric math aligns the series of one request on their timestamps, so ``FILL`` gives 0
where another of the SLO's metrics has a datapoint; ASSUMPTION: not elsewhere (a minute where
none of the SLO's metrics reported stays missing, as CloudWatch has no timestamp to fill).

AWS's limits and retention (API reference of ``GetMetricData`` and ``GetMetricStatistics``,
e.g. docs.aws.amazon.com/sdk-for-kotlin/api/latest/cloudwatch/.../-get-metric-data-request/
and fig.io/manual/aws/cloudwatch/get-metric-data):

* "as many as 500 different metrics in a single request, with a total of as many as 100,800
  data points"; more than ``MaxDatapoints`` (default 100,800) and the answer pages with
  ``NextToken``: requests are split by queries and by time to stay below both, and pages are
  followed anyway.
* "Data points with a period of 60 seconds (1-minute) are available for 15 days. ... 300 seconds
  (5-minute) are available for 63 days. ... 3600 seconds (1 hour) are available for 455 days
  (15 months)", and a ``StartTime`` "between 15 and 63 days ago" is rounded down to 5 minutes,
  older to the hour: a span starting further back is read at the finest period still kept for
  all of it, and the replay told so (``Semantics.step``, ``History.notes``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slogen.backends.cloudwatch.aws import (
    ACCESS_DENIED_CODES,
    CREDENTIAL_CODES,
    CREDENTIAL_HINT,
    MAX_PAGES,
    Aws,
    AwsError,
    reader,
)
from slogen.backends.cloudwatch.names import BACKEND, source_of
from slogen.backends.cloudwatch.render import side_queries
from slogen.backends.cloudwatch.source import Side
from slogen.backtest.history import History, Semantics, Series
from slogen.errors import SlogenError
from slogen.spec.model import SLO, Project, Service
from slogen.spec.model import Target as TargetSettings

DAY = 86_400
# (age of the oldest sample, period): CloudWatch's retention by period (module docstring).
RETENTION = ((15 * DAY, 60), (63 * DAY, 300), (455 * DAY, 3600))
RESOLUTION_TEXT = {60: "1-minute", 300: "5-minute", 3600: "1-hour"}
MAX_QUERIES = 500  # MetricDataQuery structures per GetMetricData call
MAX_DATAPOINTS = 100_800  # datapoints per GetMetricData call
CONCURRENCY = 4  # requests in flight at once, all regions together
# A span starting this close to a retention boundary is read at the coarser period: the reads
# take a while, and CloudWatch rounds StartTime by its age when the request arrives.
MARGIN = 600  # seconds
Key = tuple[str, str]


def resolution(start: int, now: float) -> int:
    """The finest period CloudWatch still keeps for everything from ``start`` on."""
    age = now - start + MARGIN
    for limit, period in RETENTION:
        if age <= limit:
            return period
    return RETENTION[-1][1]


def resolution_notes(start: int, step: int, now: float) -> tuple[str, ...]:
    """What the replay should say about the resolution of this span."""
    notes: list[str] = []
    finer = [(limit, period) for limit, period in RETENTION if period < step]
    if finer:
        limit, period = finer[-1]
        notes.append(
            f"CloudWatch keeps {RESOLUTION_TEXT[period]} data for {limit // DAY} days; "
            f"this span is replayed at {RESOLUTION_TEXT[step]} resolution"
        )
    limit, period = RETENTION[-1]
    if now - start > limit:
        notes.append(
            f"CloudWatch keeps {RESOLUTION_TEXT[period]} data for {limit // DAY} days; "
            "older samples are missing"
        )
    return tuple(notes)


@dataclass(frozen=True)
class SloQueries:
    """One SLO's ``MetricStat`` queries and the ids that make each side of its ratio."""

    key: Key
    region: str
    queries: tuple[dict[str, Any], ...]
    total: tuple[str, ...]
    errors: tuple[str, ...] | None
    good: tuple[str, ...] | None


def slo_queries(service: Service, slo: SLO, period: int) -> SloQueries:
    """The alarms' metrics of one SLO (ids as :func:`.render.metric_queries` gives them), each
    returned, at ``period``; their sums are :func:`combine`'s."""
    source = source_of(slo)
    assert source is not None
    queries: list[dict[str, Any]] = []

    def side(metric_id: str, label: str, metrics: Side | None) -> tuple[str, ...] | None:
        if metrics is None:
            return None
        stats = [q for q in side_queries(metric_id, label, metrics, period) if "MetricStat" in q]
        queries.extend({**q, "ReturnData": True} for q in stats)
        return tuple(q["Id"] for q in stats)

    errors = side("m1", "bad events", source.errors)
    total = side("m2", "total events", source.total)
    good = side("g1", "good events", source.good)
    assert total is not None
    return SloQueries((service.name, slo.name), source.region, tuple(queries), total, errors, good)


def combine(
    plan: SloQueries, data: dict[str, dict[int, float]], length: int
) -> tuple[list[float | None], list[float | None]]:
    """The bad and total samples, from the metrics' samples by id, as the alarms' math makes
    them: ``FILL(a, 0) + FILL(b, 0)`` for a side of several metrics, ``m2 - FILL(g1, 0)``."""
    aligned: set[int] = set().union(*(data.get(q["Id"], {}) for q in plan.queries))

    def side(ids: tuple[str, ...]) -> dict[int, float]:
        if len(ids) == 1:
            return data.get(ids[0], {})
        return {k: sum(data.get(i, {}).get(k, 0.0) for i in ids) for k in aligned}

    total = side(plan.total)
    if plan.errors is not None:
        bad = side(plan.errors)
    else:
        assert plan.good is not None
        good = side(plan.good)
        bad = {k: v - good.get(k, 0.0) for k, v in total.items()}
    return [bad.get(k) for k in range(length)], [total.get(k) for k in range(length)]


@dataclass(frozen=True)
class Request:
    """One ``GetMetricData`` call (and its further pages): some of one SLO's queries over
    ``[begin, stop)``."""

    plan: SloQueries
    queries: tuple[dict[str, Any], ...]
    begin: int
    stop: int


class QueryFailed(Exception):
    """AWS answered, but not with this SLO's data."""


class CloudWatchHistory:
    """:class:`slogen.backends.contract.HistoryReader` for CloudWatch, through :class:`.Aws`."""

    def __init__(
        self,
        aws: Aws,
        concurrency: int = CONCURRENCY,
        max_queries: int = MAX_QUERIES,
        max_datapoints: int = MAX_DATAPOINTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.aws = aws
        self.concurrency = max(1, concurrency)
        self.max_queries = max(1, max_queries)
        self.max_datapoints = max(1, max_datapoints)
        self.clock = clock

    @property
    def endpoint(self) -> str | None:
        return self.aws.endpoint

    def requests(self, plan: SloQueries, start: int, stop: int, step: int) -> list[Request]:
        """The calls that read ``plan`` over ``[start, stop)`` within AWS's per-call limits."""
        found: list[Request] = []
        for first in range(0, len(plan.queries), self.max_queries):
            chunk = plan.queries[first : first + self.max_queries]
            span = max(1, self.max_datapoints // len(chunk)) * step
            for begin in range(start, stop, span):
                found.append(Request(plan, chunk, begin, min(stop, begin + span)))
        return found

    def read(
        self,
        wanted: Sequence[tuple[Service, SLO]],
        start: int,
        end: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[Key, History | str]:
        if end < start:
            raise SlogenError(f"the span to read ends ({end}) before it starts ({start})")
        now = self.clock()
        step = resolution(start, now)
        first = start - start % step
        length = (end - first) // step + 1
        stop = first + length * step
        plans = [
            slo_queries(service, slo, step) for service, slo in wanted if source_of(slo) is not None
        ]
        calls = [r for plan in plans for r in self.requests(plan, first, stop, step)]
        run = _Run(self.aws, calls, first, step, length, progress)
        run.go(self.concurrency)
        semantics = Semantics(name=f"cloudwatch, {RESOLUTION_TEXT[step]} sums", step=step)
        notes = resolution_notes(start, step, now)
        found: dict[Key, History | str] = {}
        for plan in plans:
            if plan.key in run.failed:
                found[plan.key] = run.failed[plan.key]
                continue
            errors, total = combine(plan, run.data.get(plan.key, {}), length)
            found[plan.key] = History(
                backend=BACKEND,
                semantics=semantics,
                start=first,
                series=(Series(labels=(), errors=errors, total=total),),
                requests=run.counts.get(plan.key, 0),
                notes=notes,
            )
        return found


class _Run:
    """The calls of one read, ``concurrency`` at a time; their samples and failures by SLO."""

    def __init__(
        self,
        aws: Aws,
        calls: list[Request],
        first: int,
        step: int,
        length: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.aws = aws
        self.calls = calls
        self.first, self.step, self.length = first, step, length
        self.progress = progress
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.done, self.planned = 0, len(calls)
        self.data: dict[Key, dict[str, dict[int, float]]] = {}
        self.failed: dict[Key, str] = {}
        self.counts: dict[Key, int] = {}
        self.fatal: SlogenError | None = None

    def go(self, concurrency: int) -> None:
        if not self.calls:
            return
        with ThreadPoolExecutor(max_workers=min(concurrency, len(self.calls))) as pool:
            for future in [pool.submit(self.one, call) for call in self.calls]:
                future.result()  # one() catches everything it expects
        if self.fatal is not None:
            raise self.fatal

    def one(self, call: Request) -> None:
        key, region = call.plan.key, call.plan.region
        if self.stopped.is_set() or key in self.failed:
            return
        try:
            self.fetch(call)
        except AwsError as exc:
            fatal = self.fatal_error(exc, region)
            with self.lock:
                if fatal is not None:
                    self.fatal = self.fatal or fatal
                    self.stopped.set()
                else:
                    self.failed.setdefault(key, f"{'/'.join(key)}: {exc.message}")
        except QueryFailed as exc:
            with self.lock:
                self.failed.setdefault(key, f"{'/'.join(key)}: {exc}")

    def fetch(self, call: Request) -> None:
        key, region = call.plan.key, call.plan.region
        params: dict[str, Any] = {
            "MetricDataQueries": list(call.queries),
            "StartTime": _when(call.begin),
            "EndTime": _when(call.stop),
            "ScanBy": "TimestampAscending",
        }
        for _ in range(MAX_PAGES):
            if self.stopped.is_set():
                return
            answer = self.aws.call(region, "cloudwatch", "GetMetricData", **params)
            token = answer.get("NextToken")
            samples = self.samples(answer, region)
            with self.lock:
                self.done += 1
                self.planned += 1 if token else 0
                self.counts[key] = self.counts.get(key, 0) + 1
                store = self.data.setdefault(key, {})
                for metric_id, values in samples.items():
                    store.setdefault(metric_id, {}).update(values)
                if self.progress is not None:
                    self.progress(self.done, self.planned)
            if not token:
                return
            params["NextToken"] = token
        raise QueryFailed(f"GetMetricData in {region} kept answering with more pages")

    def samples(self, answer: dict[str, Any], region: str) -> dict[str, dict[int, float]]:
        """Datapoints by query id and grid index (any order; a datapoint's timestamp is the
        start of its period, so it lands on the sample of that period)."""
        found: dict[str, dict[int, float]] = {}
        for result in answer.get("MetricDataResults", []):
            status = result.get("StatusCode", "Complete")
            if status in ("Forbidden", "InternalError"):
                said = "; ".join(str(m.get("Value", "")) for m in result.get("Messages", []))
                raise QueryFailed(
                    f"GetMetricData in {region}: {result.get('Id')} {status}"
                    + (f": {said}" if said else "")
                )
            values = found.setdefault(str(result["Id"]), {})
            stamps = result.get("Timestamps", [])
            for stamp, value in zip(stamps, result.get("Values", []), strict=True):
                index = (int(stamp.timestamp()) - self.first) // self.step
                if 0 <= index < self.length:
                    values[index] = float(value)
        return found

    def fatal_error(self, exc: AwsError, region: str) -> SlogenError | None:
        """The error that ends the whole read (nothing else could be read), or None when only
        this SLO's query failed."""
        where = self.aws.where(region)
        if exc.fatal:
            return SlogenError(exc.message, hint=CREDENTIAL_HINT)
        if exc.code in ACCESS_DENIED_CODES:
            return SlogenError(
                f"AWS refused to read metrics in {region} ({where}): {exc.message}",
                hint="reading history needs cloudwatch:GetMetricData in every region the specs "
                "name, for the credentials of the AWS credential chain (AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID...)",
            )
        if exc.code in CREDENTIAL_CODES:
            return SlogenError(
                f"AWS did not accept the credentials in {region} ({where}): {exc.message}",
                hint=CREDENTIAL_HINT,
            )
        if exc.code == "Unreachable":
            return SlogenError(
                f"cannot read CloudWatch history: {exc.message}",
                hint="check targets.cloudwatch.endpoint_url (or --url, which overrides it), the "
                "region names and the network; credentials come from the AWS credential chain",
            )
        return None


def _when(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def history_reader(project: Project, url: str | None) -> CloudWatchHistory | str:
    """The reader for ``slogen backtest``/``status``: ``url`` (the command line's), else the
    cloudwatch target's ``endpoint_url``, else AWS's endpoints; credentials from the standard
    chain, checked here without a request. A string says why nothing can be read."""
    try:
        settings = project.target(BACKEND)
    except KeyError:
        settings = TargetSettings(BACKEND, "api")
    try:
        aws = reader(settings)
    except SlogenError as exc:  # no credentials, a broken profile, an unset ${VARIABLE}
        return exc.message
    if url:
        aws.endpoint = url
    return CloudWatchHistory(aws)
