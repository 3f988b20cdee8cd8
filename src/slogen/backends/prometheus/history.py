"""Reading an SLI's past from Prometheus, for ``slogen backtest`` and ``slogen status``.

The replay must see what the generated rules would have recorded, so this reader asks
Prometheus for exactly the expressions of the two base recording rules
(:func:`~.render.recording_rules`: ``errors`` — or ``total − good`` — and ``total`` with the
base range) over ``/api/v1/query_range`` at the rules' group interval. A range query evaluates
the expression at ``start, start + step, ...``, which is what a rule group evaluated once a
minute records, so no recording rule needs to have existed back then.

Facts about the HTTP API this relies on (Prometheus documentation, "HTTP API", and its source
``web/api/v1/api.go``):

* ``GET /api/v1/query_range?query=&start=&end=&step=`` answers ``{"status": "success", "data":
  {"resultType": "matrix", "result": [{"metric": {...}, "values": [[<unix time>, "<value>"],
  ...]}]}}``; sample values are strings, ``"NaN"``, ``"+Inf"`` and ``"-Inf"`` included.
* ``queryRange`` refuses ``(end − start) / step > 11000`` with "exceeded maximum resolution of
  11,000 points per timeseries": long spans are read in chunks of at most
  :data:`MAX_POINTS` points (fewer than the limit allows, so that no rounding can cross it).
* Errors are JSON ``{"status": "error", "errorType": ..., "error": ...}``: ``400 bad_data`` for
  a query that does not parse, ``422 execution`` when evaluation fails, ``503 timeout`` when it
  runs too long. Those concern one query, so they become that SLO's problem; anything else
  (no answer, not JSON, 401/403) concerns the endpoint and stops the read.
* ``GET /api/v1/status/buildinfo`` gives Prometheus's version (with ``revision`` and
  ``goVersion``). Range selectors changed in Prometheus 3.0 (migration guide, "PromQL: range
  selectors and the lookback delta are now left-open"): ``[W]`` at ``t`` holds the samples in
  ``[t−W, t]`` on Prometheus 2 and ``(t−W, t]`` on 3, one sample more or less per window
  (:class:`~slogen.backtest.history.Semantics`). Mimir answers with its own version and an
  ``application`` field, VictoriaMetrics 1.79 with ``{}``: anything but Prometheus's own answer
  leaves the version unknown, read as left-open, and the history says so.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slogen import envref
from slogen.backends.prometheus.render import GROUP_INTERVAL, base_window, recording_rules
from slogen.backends.prometheus.semantics import INCREASE, query_kind
from slogen.backends.prometheus.source import PrometheusSource
from slogen.backtest.history import STEP, History, Semantics, Series
from slogen.durations import format_duration
from slogen.errors import SlogenError
from slogen.redact import redact

if TYPE_CHECKING:
    from slogen.spec.model import SLO, Project, Service

MAX_POINTS = 11_000  # per series and request (module docstring)
WORKERS = 4  # requests in flight: enough to hide latency, few enough to spare the server
TIMEOUT = 60.0  # seconds per request: 11,000 evaluations of a busy SLI's query take a while
QUERY_STATUSES = frozenset({400, 422, 503})  # Prometheus's answers about one query
HINT = "check targets.prometheus.query_url in slogen.yaml or --prometheus"
NO_URL = (
    "no Prometheus to read history from: set targets.prometheus.query_url in slogen.yaml "
    "or pass --prometheus URL"
)
URL_RE = re.compile(r"^https?://[^\s/?#@]+(/[^\s?#]*)?$")  # no user:password@
_VERSION = re.compile(r"^v?(\d+)\.(\d+)")
Labels = tuple[tuple[str, str], ...]
Grid = dict[Labels, list[float | None]]


class QueryRefused(Exception):
    """Prometheus answered one query with its error JSON (the query's fault, not the server's)."""


@dataclass(frozen=True)
class SloQueries:
    """One SLO's two base recording-rule expressions, as :func:`.render.recording_rules`
    writes them, and how their samples count."""

    key: tuple[str, str]
    errors: str
    total: str
    kind: str
    base: int

    @classmethod
    def of(cls, service: Service, slo: SLO) -> SloQueries | None:
        source = slo.indicator.source("prometheus")
        if not isinstance(source, PrometheusSource):
            return None
        # the rules themselves, so that the history can never drift from what they record:
        # errors (substitute(errors) or good_to_errors) first, then total, over base_window
        errors, total = (rule["expr"] for rule in recording_rules(service, slo)[:2])
        return cls((service.name, slo.name), errors, total, query_kind(source), base_window(slo))


def chunks(start: int, end: int, step: int, max_points: int) -> list[tuple[int, int]]:
    """``[start, end]`` as consecutive ranges of at most ``max_points`` grid points each:
    every point ``start + k·step`` up to ``end`` in exactly one range."""
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    span = (max_points - 1) * step
    out = []
    first = start
    while first <= end:
        last = min(first + span, end)
        out.append((first, last))
        first = last + step
    return out


def semantics_for(kind: str, base: int, version: str | None) -> Semantics:
    """How the recorded samples add up to windows (:mod:`.render`'s docstring): a rate sample
    stands for ``i`` seconds of events, an increase sample for ``i/b`` of its base range."""
    found = _VERSION.match(version or "")
    major = int(found.group(1)) if found else 3  # unknown: left-open (module docstring)
    server = f"prometheus {version}" if version else "prometheus-compatible (version unknown)"
    plural = "increases" if kind == INCREASE else "rates"
    return Semantics(
        name=f"{server}, {plural} over {format_duration(base)}",
        step=STEP,
        closed=major < 3,
        per_sample=GROUP_INTERVAL / base if kind == INCREASE else float(GROUP_INTERVAL),
        single=base,
        single_events=1.0 if kind == INCREASE else float(base),
        ieee=True,  # PromQL divides as floats do: x/0 is +Inf (fires), 0/0 is NaN (does not)
    )


def prometheus_version(data: object) -> str | None:
    """Prometheus's version from its build info; None for any other server's answer
    (module docstring: Mimir and VictoriaMetrics answer the same route differently)."""
    if not isinstance(data, Mapping) or "application" in data or "goVersion" not in data:
        return None
    version = str(data.get("version", ""))
    found = _VERSION.match(version)
    return version if found and int(found.group(1)) >= 2 else None


def sample(text: object) -> float | None:
    """A sample value as Prometheus writes it (a string; NaN and ±Inf kept as floats)."""
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def fill(grid: Grid, result: object, start: int, length: int) -> None:
    """Put a matrix result on the grid ``start + k·STEP``, ``k < length``. ``__name__`` is
    left out of the labels, as the division in the ratio rules ignores it."""
    for entry in result if isinstance(result, list) else ():
        if not isinstance(entry, dict):
            continue
        metric = entry.get("metric") or {}
        labels = tuple(sorted((str(k), str(v)) for k, v in metric.items() if k != "__name__"))
        row = grid.setdefault(labels, [None] * length)
        for point in entry.get("values") or ():
            try:
                when = round(float(point[0]))
            except (TypeError, ValueError, IndexError):
                continue
            index = (when - start) // STEP
            if 0 <= index < length:
                row[index] = sample(point[1])


def pair(errors: Grid, total: Grid, length: int) -> tuple[list[Series], list[str]]:
    """One series per ``total`` label set, with the ``errors`` of the same labels (all None
    when there are none): the ratio rules divide one-to-one on labels, so an ``errors`` label
    set without a ``total`` gives no ratio and is dropped, with a note."""
    series = [
        Series(labels, errors.get(labels) or [None] * length, row)
        for labels, row in sorted(total.items())
    ]
    orphans = sorted(set(errors) - set(total))
    notes = []
    if orphans:
        shown = ", ".join(_text(labels) for labels in orphans[:3])
        more = f" and {len(orphans) - 3} more" if len(orphans) > 3 else ""
        notes.append(
            f"dropped {len(orphans)} errors series with no total series of the same labels "
            f"({shown}{more}): the ratio rules divide errors by total label set by label set"
        )
    if not total:
        notes.append("the total query returned no series over this range")
    return series, notes


def _text(labels: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"


class PrometheusHistory:
    """A :class:`~slogen.backends.contract.HistoryReader` over Prometheus's query API at
    ``url`` (the base URL, without ``/api/v1``). ``authorization`` is the ``Authorization``
    header and ``tenant`` the ``X-Scope-OrgID`` (Mimir, Cortex), both optional."""

    def __init__(
        self,
        url: str,
        authorization: str | None = None,
        tenant: str | None = None,
        *,
        max_points: int = MAX_POINTS,
        workers: int = WORKERS,
        timeout: float | None = None,
    ):
        self.url = url.rstrip("/")
        self.authorization = authorization
        self.tenant = tenant
        self.max_points = max_points
        self.workers = max(1, workers)
        self.timeout = timeout or envref.http_timeout_override() or TIMEOUT

    def read(
        self,
        wanted: Sequence[tuple[Service, SLO]],
        start: int,
        end: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[tuple[str, str], History | str]:
        """Each SLO's two base expressions at every minute of ``[start, end]`` (see
        :meth:`HistoryReader.read`). ``History.requests`` counts the SLO's range queries."""
        slos = [q for q in (SloQueries.of(s, o) for s, o in wanted) if q is not None]
        if not slos:
            return {}
        version, notes = self.version()
        length = (end - start) // STEP + 1
        spans = chunks(start, end, STEP, self.max_points)
        grids: dict[tuple[tuple[str, str], str], Grid] = {}
        refused: dict[tuple[str, str], str] = {}
        jobs = [(q, side, span) for q in slos for side in ("errors", "total") for span in spans]
        done = 0
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="prom-history")
        try:
            pending: dict[Future[Any], tuple[SloQueries, str]] = {
                pool.submit(self.query_range, getattr(q, side), first, last): (q, side)
                for q, side, (first, last) in jobs
            }
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    q, side = pending.pop(future)
                    try:
                        result = future.result()
                    except QueryRefused as exc:
                        refused.setdefault(
                            q.key, f"the {side} query of {q.key[0]}/{q.key[1]} failed: {exc}"
                        )
                    else:
                        fill(grids.setdefault((q.key, side), {}), result, start, length)
                    done += 1
                    if progress is not None:
                        progress(done, len(jobs))
        finally:  # a SlogenError stops the read: drop the requests not yet sent
            pool.shutdown(wait=True, cancel_futures=True)
        out: dict[tuple[str, str], History | str] = {}
        for q in slos:
            if q.key in refused:
                out[q.key] = refused[q.key]
                continue
            errors, total = grids.get((q.key, "errors"), {}), grids.get((q.key, "total"), {})
            series, paired = pair(errors, total, length)
            out[q.key] = History(
                backend="prometheus",
                semantics=semantics_for(q.kind, q.base, version),
                start=start,
                series=tuple(series),
                requests=2 * len(spans),
                notes=(*notes, *paired),
            )
        return out

    def version(self) -> tuple[str | None, list[str]]:
        """Prometheus's version, or None and a note saying what is assumed instead."""
        status, body = self._fetch("/api/v1/status/buildinfo", {})
        self._refuse_credentials("/api/v1/status/buildinfo", status, body)
        try:
            answer = json.loads(body) if status == 200 else None
        except ValueError:
            answer = None
        data = answer.get("data") if isinstance(answer, dict) else None
        version = prometheus_version(data)
        if version is not None:
            return version, []
        return None, [
            f"{self.url} did not identify itself as Prometheus (no build info): windows are "
            "read as on Prometheus 3, (t-W, t]; on a server that selects [t-W, t] as "
            "Prometheus 2 does, each window holds one sample more"
        ]

    def query_range(self, query: str, start: int, end: int) -> object:
        """``data.result`` of one range query at the group interval."""
        params = {"query": query, "start": str(start), "end": str(end), "step": str(STEP)}
        data = self._get("/api/v1/query_range", params)
        return data.get("result", []) if isinstance(data, dict) else []

    def _get(self, path: str, params: Mapping[str, str]) -> Any:
        """``data`` of a successful answer. Raises :class:`QueryRefused` for Prometheus's error
        JSON about the request and :class:`SlogenError` when the endpoint is the problem."""
        where = f"{self.url}{path}"
        status, body = self._fetch(path, params)
        self._refuse_credentials(path, status, body)
        try:
            answer_json = json.loads(body)
        except ValueError:
            answer_json = None
        if not isinstance(answer_json, dict):
            raise SlogenError(
                f"{where} answered HTTP {status} with something other than Prometheus's JSON "
                f"({body[:80]!r}): is it a Prometheus query endpoint?",
                hint=HINT,
            )
        if status == 200 and answer_json.get("status") == "success":
            return answer_json.get("data")
        if status in QUERY_STATUSES or status == 200:
            raise QueryRefused(redact(str(answer_json.get("error") or answer_json)[:500]))
        raise SlogenError(redact(f"{where} answered HTTP {status}: {_error_text(body)}"), hint=HINT)

    def _fetch(self, path: str, params: Mapping[str, str]) -> tuple[int, bytes]:
        """Status and body of ``GET path?params``; :class:`SlogenError` when there is no
        answer (refused, timed out, cut short)."""
        where = f"{self.url}{path}"
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(where + query, headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, exc.read()
            except (OSError, http.client.HTTPException):
                return exc.code, b""
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise SlogenError(f"cannot read history from {where}: {reason}", hint=HINT) from exc

    def _refuse_credentials(self, path: str, status: int, body: bytes) -> None:
        """401/403: every further request would be refused the same way."""
        if status in (401, 403):
            raise SlogenError(
                redact(f"{self.url}{path} refused the request: HTTP {status} {_error_text(body)}"),
                hint="check targets.prometheus username/password or token (${VARIABLE} "
                "references) for the query endpoint",
            )

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "slogen"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        if self.tenant:
            headers["X-Scope-OrgID"] = self.tenant
        return headers


def _error_text(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])[:300]
    return body[:300].decode("utf-8", "replace").strip()


def reader(project: Project, url: str | None, **options: Any) -> PrometheusHistory | str:
    """The reader for ``project``'s Prometheus: ``url`` (``--prometheus``) wins over
    ``targets.prometheus.query_url``; without either, why not (for people). Credentials and
    the tenant come from the target's settings, as for the ruler target, and go with either
    URL: an override usually reaches the same server another way (a port-forward)."""
    try:
        settings = project.target("prometheus")
    except KeyError:
        settings = None
    if url:
        where, base = "--prometheus", url.strip()
    elif settings is not None and settings.option("query_url") is not None:
        where = envref.setting_path(settings, "query_url")
        base = (envref.option(settings, "query_url") or "").strip()
    else:
        return NO_URL
    base = base.rstrip("/")
    if not URL_RE.match(base):
        raise SlogenError(
            f"{where}: expected the http(s) URL of a Prometheus query API, found {base!r}",
            hint="e.g. http://prometheus:9090 (slogen adds /api/v1/query_range)",
        )
    authorization, tenant = _credentials(settings) if settings is not None else (None, None)
    return PrometheusHistory(base, authorization, tenant, **options)


def _credentials(settings: Any) -> tuple[str | None, str | None]:
    """``(Authorization header, tenant)`` from the target's options, secrets kept out of
    output as for the ruler target (:func:`.ruler.options.connection`, whose rules on
    combining them :func:`.checks.auth_problems` also applies at validate)."""
    from slogen.backends.prometheus.ruler.client import Connection

    username, password, token = (
        envref.option(settings, key, secret=True) for key in ("username", "password", "token")
    )
    tenant = envref.option(settings, "tenant") or None
    if ((username or password) and token) or bool(username) != bool(password):
        raise SlogenError(
            f"{envref.setting_path(settings, 'token' if token else 'username')}: set either "
            "username and password (basic auth) or token (bearer)",
            hint="targets.prometheus takes the query API's credentials as ${VARIABLE} references",
        )
    if username and password:
        return Connection.basic(username, password), tenant
    return (f"Bearer {token}" if token else None), tenant
