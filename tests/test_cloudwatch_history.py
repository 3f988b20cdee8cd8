"""CloudWatch history (``GetMetricData``) for backtest and status: real boto3, moto on 127.0.0.1.

One moto server (tests/fakes/cloudwatch.py) serves the module; every test starts from an empty
account. Metrics are put with past timestamps (moto keeps them, at any age and resolution) in
a known per-minute pattern, then read back through ``CloudWatchBackend.history`` and compared
minute by minute with the sums the alarms' metric math would make.

moto evaluates no metric math and never pages; where a test needs AWS's answers that moto
does not give (an invalid query, a ``NextToken``), it wraps moto's handler for that test only.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto.cloudwatch.exceptions import InvalidParameterValue
from moto.cloudwatch.models import CloudWatchBackend as MotoBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult

import slogen.backends.cloudwatch.aws as cloudwatch_aws
from slogen.backends.cloudwatch import BACKEND
from slogen.backends.cloudwatch.history import CloudWatchHistory, resolution, resolution_notes
from slogen.backtest.history import History
from slogen.errors import SlogenError
from slogen.spec.loader import load_project
from slogen.spec.model import Project
from tests.fakes.cloudwatch import FakeAwsError, MotoCloudWatch

MINUTES = 120  # two hours of data: moto's GetMetricData is quadratic in it
DAY = 86_400
NOW = int(time.time())
RECENT = (NOW - 6 * 3600) // 3600 * 3600  # within CloudWatch's 15 days of 1-minute data
OLD = (NOW - 20 * DAY) // 3600 * 3600  # 5-minute data only

SPEC = """\
service: shop
slos:
  - name: errors-based
    objective: 99
    window: 30d
    indicator:
      cloudwatch:
        region: eu-west-1
        errors: {namespace: Shop, metric: Errors, dimensions: {Stage: prod}}
        total: {namespace: Shop, metric: Requests, dimensions: {Stage: prod}}
  - name: good-based
    objective: 99
    window: 30d
    indicator:
      cloudwatch:
        region: eu-west-1
        good: {namespace: Shop, metric: Fast, dimensions: {Stage: prod}}
        total: {namespace: Shop, metric: Requests, dimensions: {Stage: prod}}
  - name: listed
    objective: 99
    window: 30d
    indicator:
      cloudwatch:
        region: eu-west-1
        errors:
          - {namespace: Shop, metric: Target5xx, dimensions: {Lb: a}}
          - {namespace: Shop, metric: Elb5xx, dimensions: {Lb: a}}
        total:
          - {namespace: Shop, metric: LbRequests, dimensions: {Lb: a}}
          - {namespace: Shop, metric: Elb5xx, dimensions: {Lb: a}}
  - name: east
    objective: 99
    window: 30d
    indicator:
      cloudwatch:
        region: us-east-1
        errors: {namespace: Shop, metric: Errors, dimensions: {Stage: prod}}
        total: {namespace: Shop, metric: Requests, dimensions: {Stage: prod}}
"""

# Per-minute values by metric (None: nothing put in that minute). Errors miss every 11th
# minute, Requests every 17th, Fast every 13th; Elb5xx reports only every 4th minute.
PATTERN: dict[str, Any] = {
    "Errors": lambda k: None if k % 11 == 0 else float(k % 5),
    "Requests": lambda k: None if k % 17 == 0 else float(100 + k % 7),
    "Fast": lambda k: None if k % 13 == 0 else float(95 + k % 3),
    "Target5xx": lambda k: None if k % 19 == 0 else float(k % 3),
    "Elb5xx": lambda k: float(1 + k % 2) if k % 4 == 0 else None,
    "LbRequests": lambda k: None if k % 23 == 0 else float(50 + k % 9),
}
STAGE_METRICS = ("Errors", "Requests", "Fast")  # dimension Stage=prod; the others Lb=a


@pytest.fixture(scope="module")
def server() -> Iterator[MotoCloudWatch]:
    with MotoCloudWatch() as fake:
        yield fake


@pytest.fixture
def fake(server: MotoCloudWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MotoCloudWatch:
    """An empty account and fake credentials; nothing from this machine's AWS setup."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    server.reset()
    return server


def project(tmp_path: Path, target: str | None, spec: str = SPEC) -> Project:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "shop.yaml").write_text(spec, encoding="utf-8")
    settings = f"targets:\n  cloudwatch: {{{target}}}\n" if target else "default_policy: workbook\n"
    (specs / "slogen.yaml").write_text(settings, encoding="utf-8")
    return load_project([str(specs)])


def put(fake: MotoCloudWatch, start: int, minutes: int, region: str = "eu-west-1") -> None:
    """PATTERN's values from ``start`` at +30 s in each minute; Errors' value split in two
    datapoints (at +10 s and +50 s), so the reader has to take CloudWatch's per-minute Sum."""
    data: list[dict[str, Any]] = []
    for metric, value_of in PATTERN.items():
        dimension = [
            {"Name": "Stage", "Value": "prod"}
            if metric in STAGE_METRICS
            else {"Name": "Lb", "Value": "a"}
        ]
        for k in range(minutes):
            value = value_of(k)
            if value is None:
                continue
            parts = (
                ((10, value / 2), (50, value - value / 2)) if metric == "Errors" else ((30, value),)
            )
            for offset, part in parts:
                stamp = datetime.fromtimestamp(start + 60 * k + offset, UTC)
                data.append(
                    {
                        "MetricName": metric,
                        "Dimensions": dimension,
                        "Timestamp": stamp,
                        "Value": part,
                    }
                )
    client = fake.client(region=region)
    for first in range(0, len(data), 1000):
        client.put_metric_data(Namespace="Shop", MetricData=data[first : first + 1000])


def expected(metric: str, minutes: int) -> list[float | None]:
    return [PATTERN[metric](k) for k in range(minutes)]


def wanted(proj: Project, *names: str) -> list[Any]:
    return [(s, slo) for s in proj.services for slo in s.slos if not names or slo.name in names]


def read(
    fake: MotoCloudWatch,
    tmp_path: Path,
    start: int,
    minutes: int,
    *names: str,
    spec: str = SPEC,
    progress: Any = None,
    **options: Any,
) -> dict[tuple[str, str], History | str]:
    """``names``' history (all SLOs without), through ``history()`` with the target's
    ``endpoint_url``; ``options`` set on the reader (limits, concurrency)."""
    proj = project(tmp_path, f"type: api, endpoint_url: {fake.url}", spec)
    history = BACKEND.history(proj, None)
    assert isinstance(history, CloudWatchHistory), history
    for name, value in options.items():
        setattr(history, name, value)
    return history.read(wanted(proj, *names), start, start + 60 * (minutes - 1), progress)


def one(found: dict[tuple[str, str], History | str], slo: str) -> History:
    value = found[("shop", slo)]
    assert isinstance(value, History), value
    return value


# -- what is read ---------------------------------------------------------------------------------


def test_errors_and_total_are_the_per_minute_sums(fake: MotoCloudWatch, tmp_path: Path) -> None:
    put(fake, RECENT, MINUTES)
    found = read(fake, tmp_path, RECENT, MINUTES, "errors-based")
    history = one(found, "errors-based")
    assert (history.backend, history.start, history.length) == ("cloudwatch", RECENT, MINUTES)
    assert history.semantics.name == "cloudwatch, 1-minute sums"
    assert (history.semantics.step, history.semantics.closed) == (60, False)
    assert history.semantics.per_sample == 1.0
    assert history.notes == ()
    (series,) = history.series
    assert list(series.errors) == expected("Errors", MINUTES)  # missing minutes are None
    assert list(series.total) == expected("Requests", MINUTES)
    assert history.requests == 1 == fake.calls["GetMetricData"]


def test_a_good_based_sli_counts_total_minus_good(fake: MotoCloudWatch, tmp_path: Path) -> None:
    put(fake, RECENT, MINUTES)
    (series,) = one(read(fake, tmp_path, RECENT, MINUTES, "good-based"), "good-based").series
    total, good = expected("Requests", MINUTES), expected("Fast", MINUTES)
    # m1 = m2 - FILL(g1, 0): no total, no bad events; no good, every event bad
    assert list(series.errors) == [
        None if t is None else t - (g or 0.0) for t, g in zip(total, good, strict=True)
    ]
    assert list(series.total) == total
    assert series.errors[13] == 106.0  # minute 13: no good events at all


def test_a_side_of_several_metrics_is_their_filled_sum(
    fake: MotoCloudWatch, tmp_path: Path
) -> None:
    put(fake, RECENT, MINUTES)
    (series,) = one(read(fake, tmp_path, RECENT, MINUTES, "listed"), "listed").series
    target, elb = expected("Target5xx", MINUTES), expected("Elb5xx", MINUTES)
    requests = expected("LbRequests", MINUTES)
    for k in range(MINUTES):
        reported = any(v is not None for v in (target[k], elb[k], requests[k]))
        bad = (target[k] or 0.0) + (elb[k] or 0.0)
        total = (requests[k] or 0.0) + (elb[k] or 0.0)
        assert series.errors[k] == (bad if reported else None), k
        assert series.total[k] == (total if reported else None), k
    assert series.errors[0] == series.total[0] == 1.0  # only Elb5xx reported: 1


def test_each_slo_is_read_in_its_region(fake: MotoCloudWatch, tmp_path: Path) -> None:
    put(fake, RECENT, 30)  # eu-west-1
    east = fake.client(region="us-east-1")
    east.put_metric_data(
        Namespace="Shop",
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": "Stage", "Value": "prod"}],
                "Timestamp": datetime.fromtimestamp(RECENT + 60 * 5 + 1, UTC),
                "Value": value,
            }
            for name, value in (("Errors", 7.0), ("Requests", 70.0))
        ],
    )
    found = read(fake, tmp_path, RECENT, 30, "east", "errors-based")
    (series,) = one(found, "east").series
    assert list(series.errors) == [7.0 if k == 5 else None for k in range(30)]
    assert list(series.total) == [70.0 if k == 5 else None for k in range(30)]
    assert list(one(found, "errors-based").series[0].errors) == expected("Errors", 30)


def test_a_span_older_than_fifteen_days_is_read_at_five_minutes(
    fake: MotoCloudWatch, tmp_path: Path
) -> None:
    put(fake, OLD, 60)
    start = OLD + 7 * 60  # not on a 5-minute boundary: aligned down
    history = one(read(fake, tmp_path, start, 60 - 7, "errors-based"), "errors-based")
    assert (history.start, history.semantics.step) == (OLD + 300, 300)
    assert history.semantics.name == "cloudwatch, 5-minute sums"
    assert history.notes == (
        "CloudWatch keeps 1-minute data for 15 days; this span is replayed at 5-minute resolution",
    )
    errors, total = expected("Errors", 60), expected("Requests", 60)
    assert history.length == 11  # 12:05 ... 12:55 on the 5-minute grid
    for i in range(history.length):
        minutes = range(5 + 5 * i, 10 + 5 * i)
        assert history.series[0].errors[i] == sum(errors[k] or 0.0 for k in minutes)
        assert history.series[0].total[i] == sum(total[k] or 0.0 for k in minutes)


# -- AWS's limits: split by queries and time, pages followed --------------------------------------


def test_small_limits_split_the_requests_seamlessly(fake: MotoCloudWatch, tmp_path: Path) -> None:
    put(fake, RECENT, MINUTES)
    whole = read(fake, tmp_path, RECENT, MINUTES, "listed", "good-based")
    fake.calls.clear()
    calls: list[tuple[int, int]] = []
    split = read(
        fake,
        tmp_path,
        RECENT,
        MINUTES,
        "listed",
        "good-based",
        progress=lambda done, planned: calls.append((done, planned)),
        max_queries=1,
        max_datapoints=50,
        concurrency=3,
    )
    # listed: 3 metrics (Elb5xx is one query per side: 4 queries), good-based: 2; each query
    # alone, 50 minutes a call: 3 calls per query over 120 minutes
    assert one(split, "listed").requests == 4 * 3
    assert one(split, "good-based").requests == 2 * 3
    assert fake.calls["GetMetricData"] == 18
    assert sorted(calls) == [(n, 18) for n in range(1, 19)]
    for slo in ("listed", "good-based"):
        assert one(split, slo).series == one(whole, slo).series


def test_next_token_pages_are_followed(
    fake: MotoCloudWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto never pages; AWS does past MaxDatapoints. Wrapped here: every answer without a
    token gives the first half of each series and a token, the token the rest."""
    original = CloudWatchResponse.get_metric_data

    def paged(self: CloudWatchResponse) -> ActionResult:
        answer = original(self)
        second = self._get_param("NextToken") == "page-2"
        results = []
        for result in answer.result["MetricDataResults"]:  # type: ignore[index]
            half = len(result["values"]) // 2
            part = slice(half, None) if second else slice(0, half)
            results.append(
                {
                    **result,
                    "values": result["values"][part],
                    "timestamps": result["timestamps"][part],
                }
            )
        body: dict[str, Any] = {"MetricDataResults": results}
        if not second:
            body["NextToken"] = "page-2"
        return ActionResult(body)

    put(fake, RECENT, MINUTES)
    monkeypatch.setattr(CloudWatchResponse, "get_metric_data", paged)
    calls: list[tuple[int, int]] = []
    progress = lambda done, planned: calls.append((done, planned))  # noqa: E731
    found = read(fake, tmp_path, RECENT, MINUTES, "errors-based", progress=progress)
    history_ = one(found, "errors-based")
    assert history_.requests == 2 and calls == [(1, 2), (2, 2)]
    assert list(history_.series[0].errors) == expected("Errors", MINUTES)
    assert list(history_.series[0].total) == expected("Requests", MINUTES)


def test_requests_run_at_most_concurrency_at_once(
    fake: MotoCloudWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = MotoBackend.get_metric_data
    lock = threading.Lock()
    running = [0, 0]  # now, most

    def slow(self: MotoBackend, *args: Any, **kw: Any) -> Any:
        with lock:
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return original(self, *args, **kw)

    monkeypatch.setattr(MotoBackend, "get_metric_data", slow)
    found = read(fake, tmp_path, RECENT, 40, max_datapoints=20, concurrency=3)
    # 20 datapoints a call: 10 minutes for the SLOs of 2 queries, 5 for listed's 4 queries
    assert fake.calls["GetMetricData"] == 4 + 4 + 8 + 4
    assert 1 < running[1] <= 3  # in parallel, never more than asked
    assert all(isinstance(v, History) for v in found.values())


# -- failures -------------------------------------------------------------------------------------

BROKEN = SPEC.replace("namespace: Shop, metric: Fast", "namespace: Broken, metric: Fast")


def test_a_refused_query_fails_only_its_slo(
    fake: MotoCloudWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto validates no query; AWS answers a bad one with 400 InvalidParameterValue."""
    original = MotoBackend.get_metric_data

    def refusing(self: MotoBackend, queries: list[dict[str, Any]], *args: Any, **kw: Any) -> Any:
        if any(
            q.get("MetricStat", {}).get("Metric", {}).get("Namespace") == "Broken" for q in queries
        ):
            raise InvalidParameterValue("The value Broken for parameter Namespace is invalid.")
        return original(self, queries, *args, **kw)

    monkeypatch.setattr(MotoBackend, "get_metric_data", refusing)
    put(fake, RECENT, 30)
    found = read(fake, tmp_path, RECENT, 30, spec=BROKEN)
    refused = found[("shop", "good-based")]
    assert isinstance(refused, str)
    assert refused.startswith("shop/good-based: GetMetricData in eu-west-1: InvalidParameterValue")
    assert "The value Broken for parameter Namespace is invalid." in refused
    assert list(one(found, "errors-based").series[0].errors) == expected("Errors", 30)
    assert one(found, "listed").length == one(found, "east").length == 30


def test_an_unreachable_endpoint_is_a_slogen_error(
    fake: MotoCloudWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloudwatch_aws, "READ_RETRIES", 1)  # no backoff to sit through
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proj = project(tmp_path, f"type: api, endpoint_url: {fake.url}")
    history = BACKEND.history(proj, f"http://127.0.0.1:{port}")
    assert isinstance(history, CloudWatchHistory)
    started = time.monotonic()
    with pytest.raises(SlogenError) as caught:
        history.read(wanted(proj), RECENT, RECENT + 60 * 29)
    assert time.monotonic() - started < 15
    assert f"cannot reach CloudWatch at http://127.0.0.1:{port}" in caught.value.message
    assert "targets.cloudwatch.endpoint_url" in caught.value.hint
    assert "credential chain" in caught.value.hint


def test_access_denied_ends_the_read(
    fake: MotoCloudWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(self: MotoBackend, *args: Any, **kw: Any) -> Any:
        raise FakeAwsError("AccessDenied", "User: x is not authorized to GetMetricData", 403)

    monkeypatch.setattr(MotoBackend, "get_metric_data", denied)
    with pytest.raises(SlogenError) as caught:
        read(fake, tmp_path, RECENT, 10)
    assert "AWS refused to read metrics in " in caught.value.message
    assert f"({fake.url})" in caught.value.message
    assert "cloudwatch:GetMetricData" in caught.value.hint


# -- where history is read from -------------------------------------------------------------------


def test_history_endpoint_precedence_and_missing_credentials(
    fake: MotoCloudWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = project(tmp_path, "type: api, endpoint_url: http://127.0.0.1:9")
    by_url = BACKEND.history(configured, "http://127.0.0.1:8")
    by_target = BACKEND.history(configured, None)
    default = BACKEND.history(project(tmp_path, None), None)
    assert isinstance(by_url, CloudWatchHistory) and by_url.endpoint == "http://127.0.0.1:8"
    assert isinstance(by_target, CloudWatchHistory) and by_target.endpoint == "http://127.0.0.1:9"
    assert isinstance(default, CloudWatchHistory) and default.endpoint is None
    assert BACKEND.capabilities.history
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    reason = BACKEND.history(configured, None)
    assert isinstance(reason, str) and "AWS credentials are missing" in reason
    assert fake.calls["GetMetricData"] == 0


def test_resolution_follows_cloudwatch_retention() -> None:
    now = 2_000_000_000
    assert resolution(now - 14 * DAY, now) == 60
    assert resolution(now - 15 * DAY, now) == 300  # within the margin: rounded by then
    assert resolution(now - 62 * DAY, now) == 300
    assert resolution(now - 100 * DAY, now) == 3600
    assert resolution_notes(now - 100 * DAY, 3600, now) == (
        "CloudWatch keeps 5-minute data for 63 days; this span is replayed at 1-hour resolution",
    )
    assert resolution_notes(now - 500 * DAY, 3600, now)[1] == (
        "CloudWatch keeps 1-hour data for 455 days; older samples are missing"
    )
    assert resolution_notes(now - DAY, 60, now) == ()
