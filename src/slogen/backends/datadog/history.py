"""Datadog SLI history for ``slogen backtest`` and ``slogen status``: per-minute event counts.

slogen's monitors evaluate ``sum(last_<W>): <errors>.as_count() / <total>.as_count()``, and
with ``.as_count()`` each query is summed over the window before the division (docs:
monitors/guide/as-count-in-monitor-evaluations). Summing per-minute counts over ``W/60``
minutes gives the same sums, so the history read here is each side's query summed per minute:
the spec's query with ``.rollup(sum, 60)`` appended to each of its metric queries, read with
``GET /api/v1/query`` (datadog-api-client's ``MetricsApi.query_metrics``).

Datadog's rules that shape the requests (docs: dashboards/functions/rollup, "Rollup interval:
enforced vs custom"; metrics/custom_metrics/type_modifiers):

* ``.as_count()`` makes the time aggregator ``sum`` and disables interpolation, so a minute
  without a point stays missing (``None`` here) instead of being filled in.
* A series holds at most 1500 points, "up to one point per minute over a day"; asked for more,
  Datadog silently answers with a coarser interval (keeping the ``sum``). So the span is read in
  requests of one day (1440 minutes) each, and an answer at any other interval than 60 s is
  refused rather than spread over the minutes.
* Rollup buckets are aligned to Unix time and a point stamped ``t`` sums ``[t, t + 60)``; a
  request ``[from, to]`` answers the buckets starting in it. Each request asks for
  ``[a, b − 1]`` of its own minutes ``[a, b)`` and keeps only those, so the pieces join without
  overlap.

A query grouped ``by {tag}`` answers one series per tag set; each becomes a :class:`Series`
labelled with its tags, the two sides paired by tag set (a group one side lacks has no samples
there, as in a multi-alert monitor). A ``good`` side gives ``errors = total − good`` per minute.

Credentials and endpoint are those of the ``api`` target (:mod:`.api.client`): ``DD_API_KEY``,
``DD_APP_KEY``, ``DD_SITE`` or ``targets.datadog.host``; the precedence is in :func:`reader`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from slogen.backends.datadog.api.client import (
    API_KEY_VARIABLES,
    APP_KEY_VARIABLES,
    Client,
    DatadogError,
)
from slogen.backends.datadog.source import DatadogSource
from slogen.backtest.history import STEP, History, Semantics, Series
from slogen.errors import SlogenError
from slogen.spec.model import SLO, Project, Service
from slogen.spec.model import Target as TargetSettings

SEMANTICS = Semantics(name="datadog, 1-minute sums", step=STEP, closed=False, per_sample=1.0)
POINT_LIMIT = 1500  # points per series Datadog answers at most (see the module docstring)
CHUNK_MINUTES = 1440  # one request's minutes: a day, as the docs promise to hold at 60 s
WORKERS = 4  # concurrent requests
ROLLUP = ".rollup(sum, 60)"

# A metric query inside a (possibly arithmetic) query: ``sum:m{tags} by {k}.as_count()``.
_METRIC_QUERY = re.compile(
    r"(?:(?:sum|avg|min|max|count):)?[A-Za-z][A-Za-z0-9_.]*\{[^{}]*\}(?:\s*by\s*\{[^{}]*\})?"
    r"(?:\.[a-z_]+\([^()]*\))*"
)
_ROLLUP_CALL = re.compile(r"\.rollup\([^()]*\)")

Labels = tuple[tuple[str, str], ...]
Progress = Callable[[int, int], None]


def per_minute(query: str) -> str:
    """``query`` with every metric query in it summed per minute (an existing ``.rollup`` is
    replaced: any other interval would not line up with the minutes monitors sum)."""

    def one(match: re.Match[str]) -> str:
        return _ROLLUP_CALL.sub("", match.group(0)) + ROLLUP

    rolled, count = _METRIC_QUERY.subn(one, query)
    return rolled if count else query + ROLLUP


@dataclass(frozen=True)
class _Request:
    slo: tuple[str, str]
    side: str  # "errors", "good" or "total"
    query: str
    first: int  # grid index of its first minute
    stop: int  # grid index after its last minute


@dataclass
class _Read:
    """One SLO's sides as they arrive: labels -> per-minute values."""

    length: int
    sides: dict[str, dict[Labels, list[float | None]]] = field(default_factory=dict)
    requests: int = 0
    problem: str | None = None


class DatadogHistory:
    """Reads SLIs' per-minute counts from Datadog (a
    :class:`~slogen.backends.contract.HistoryReader`)."""

    def __init__(self, settings: TargetSettings, origin: str, workers: int = WORKERS):
        self.settings = settings
        self.origin = origin  # where the endpoint came from, for hints
        self.workers = max(1, workers)

    def read(
        self,
        wanted: Sequence[tuple[Service, SLO]],
        start: int,
        end: int,
        progress: Progress | None = None,
    ) -> dict[tuple[str, str], History | str]:
        if end < start:
            raise SlogenError(f"nothing to read: the history ends ({end}) before it starts")
        length = (end - start) // STEP + 1
        reads: dict[tuple[str, str], _Read] = {}
        planned: list[_Request] = []
        for service, slo in wanted:
            source = slo.indicator.source("datadog")
            if not isinstance(source, DatadogSource):
                continue
            key = (service.name, slo.name)
            reads[key] = _Read(length)
            sides = [("good", source.good)] if source.good else [("errors", source.errors)]
            for side, query in [*sides, ("total", source.total)]:
                for first in range(0, length, CHUNK_MINUTES):
                    stop = min(first + CHUNK_MINUTES, length)
                    planned.append(_Request(key, side, per_minute(str(query)), first, stop))
        if planned:
            with _MetricsClient(self.settings) as client:
                self._run(client, planned, reads, start, progress)
        return {key: self._result(read, start) for key, read in reads.items()}

    def _run(
        self,
        client: _MetricsClient,
        planned: list[_Request],
        reads: dict[tuple[str, str], _Read],
        start: int,
        progress: Progress | None,
    ) -> None:
        """Every request, ``workers`` at a time; progress is reported from this thread."""
        lock = threading.Lock()

        def fetch(request: _Request) -> None:
            read = reads[request.slo]
            with lock:
                if read.problem is not None:
                    return  # the SLO failed already: its other requests are not worth making
            body = self._query(client, request, start)
            with lock:
                read.requests += 1
                if read.problem is None:
                    read.problem = _merge(read, request, body, start)

        done = 0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="datadog-history") as pool:
            pending: set[Future[None]] = {pool.submit(fetch, r) for r in planned}
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()  # a SlogenError ends the read
                        done += 1
                        if progress is not None:
                            progress(done, len(planned))
            except BaseException:
                for future in pending:
                    future.cancel()
                raise

    def _query(self, client: _MetricsClient, request: _Request, start: int) -> Any:
        """One request's JSON, or the per-SLO problem as a string; raises :class:`SlogenError`
        when Datadog cannot be read at all."""
        frm = start + request.first * STEP
        to = start + request.stop * STEP - 1  # its last minute's bucket, not the next one's
        try:
            return client.call(
                f"query {request.side}",
                client.metrics.query_metrics,
                _from=frm,
                to=to,
                query=request.query,
            )
        except DatadogError as err:
            if err.status in (400, 422):
                return _slo_problem(request, _datadog_message(err))
            raise self._fatal(client.settings.host, err) from None

    def _fatal(self, host: str, err: DatadogError) -> SlogenError:
        if err.status in (401, 403):
            return SlogenError(
                f"Datadog at {host} refused the credentials (HTTP {err.status})",
                hint="check DD_API_KEY and DD_APP_KEY (the application key needs the "
                "timeseries_query permission) and DD_SITE, which must name your account's site; "
                f"the endpoint comes from {self.origin}",
            )
        if err.status == 0:
            return SlogenError(
                err.message,
                hint=f"check {self.origin} (the endpoint used is {host}), "
                "and that the network lets you reach it",
            )
        return SlogenError(
            f"Datadog at {host} could not be read: {err.message}",
            hint=f"check {self.origin}; if Datadog is having trouble, try again later",
        )

    def _result(self, read: _Read, start: int) -> History | str:
        if read.problem is not None:
            return read.problem
        good = "good" in read.sides
        errors = read.sides.get("good" if good else "errors", {})
        total = read.sides.get("total", {})
        empty: list[float | None] = [None] * read.length
        series = []
        notes: list[str] = []
        for labels in sorted(set(errors) | set(total)):
            t = total.get(labels, empty)
            e = errors.get(labels, empty)
            if good:
                if any(tv is not None and ev is None for tv, ev in zip(t, e, strict=True)):
                    notes.append(_GOOD_GAP)
                e = [None if tv is None else tv - (ev or 0.0) for tv, ev in zip(t, e, strict=True)]
            series.append(Series(labels, e, t))
        if not series:
            notes.append("Datadog returned no data for either query in this span")
        return History(
            backend="datadog",
            semantics=SEMANTICS,
            start=start,
            series=tuple(series),
            requests=read.requests,
            notes=tuple(dict.fromkeys(notes)),
        )


_GOOD_GAP = (
    "minutes with a total but no good count are counted as all errors; Datadog's monitor has "
    "no value over a window without any good point"
)


def _slo_problem(request: _Request, message: str) -> str:
    service, slo = request.slo
    return f"the {request.side} query of {service}/{slo} was refused by Datadog: {message}"


def _datadog_message(err: DatadogError) -> str:
    body = err.body
    if isinstance(body, bytes | str):
        import json

        try:
            body = json.loads(body)
        except ValueError:
            return err.message
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        return "; ".join(" ".join(str(e).split()) for e in body["errors"])
    return err.message


def _labels(series: dict[str, Any]) -> Labels:
    """A series' group tags (``tag_set``; ``scope`` when absent) as sorted (key, value)."""
    tags = series.get("tag_set")
    if tags is None:
        scope = str(series.get("scope") or "*")
        tags = [] if scope == "*" else scope.split(",")
    pairs = []
    for tag in tags:
        name, _, value = str(tag).strip().partition(":")
        pairs.append((name.strip(), value.strip()))
    return tuple(sorted(pairs))


def _merge(read: _Read, request: _Request, body: Any, start: int) -> str | None:
    """Put one answer's points on the SLO's grid; a problem with the answer as a string."""
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        return _slo_problem(request, "the answer is not a JSON object")
    if body.get("status") == "error":
        return _slo_problem(request, str(body.get("error") or "status error"))
    side = read.sides.setdefault(request.side, {})
    for series in body.get("series") or []:
        interval = series.get("interval")
        if interval not in (None, STEP):
            service, slo = request.slo
            return (
                f"the {request.side} query of {service}/{slo} came back in {interval}-second "
                f"points instead of 60-second ones: Datadog allows {POINT_LIMIT} points per "
                "series, so a request spanned too long a time"
            )
        values = side.setdefault(_labels(series), [None] * read.length)
        for point in series.get("pointlist") or []:
            if not isinstance(point, list | tuple) or len(point) < 2 or point[1] is None:
                continue
            index = (int(point[0]) // 1000 - start) // STEP
            if request.first <= index < request.stop:
                old = values[index]
                values[index] = float(point[1]) + (old or 0.0)
    return None


class _MetricsClient(Client):
    """The ``api`` target's client (keys, endpoint, retries) with the Metrics API added."""

    def __init__(self, settings: TargetSettings):
        super().__init__(settings)
        from datadog_api_client.v1.api.metrics_api import MetricsApi

        self.metrics = MetricsApi(self._api_client)


def _env_credentials() -> bool:
    def present(names: tuple[str, ...]) -> bool:
        return any(os.environ.get(name, "").strip() for name in names)

    return present(API_KEY_VARIABLES) and present(APP_KEY_VARIABLES)


def reader(project: Project, url: str | None) -> DatadogHistory | str:
    """Where Datadog history is read from: ``url`` (a command-line override of the API host)
    first, then the ``api`` target of ``slogen.yaml``, then credentials in the environment
    (``DD_SITE`` choosing the site); otherwise what to set, for people."""
    if url:
        settings = TargetSettings(backend="datadog", type="api", options=(("host", url),))
        return DatadogHistory(settings, "--url datadog=URL on the command line")
    try:
        target: TargetSettings | None = project.target("datadog")
    except KeyError:
        target = None
    if target is not None and target.type == "api":
        origin = "targets.datadog.host" if target.option("host") else "DD_SITE"
        return DatadogHistory(target, origin + " (slogen.yaml's datadog target is type 'api')")
    if _env_credentials():
        return DatadogHistory(TargetSettings(backend="datadog", type="api"), "DD_SITE")
    return (
        "no Datadog API credentials: set DD_API_KEY and DD_APP_KEY (and DD_SITE when the "
        "account is not on datadoghq.com), or make targets.datadog {type: api} in slogen.yaml"
    )
