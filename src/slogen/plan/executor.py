"""The one apply executor of the API targets: order, concurrency, pacing, retries, outcomes.

An API target (Datadog, CloudWatch, ...) only says how to make the requests of one change and
how to classify their failures (:class:`Requests`). This module decides everything else, the
same way for every target:

1. **Order.** Creates, updates and the *create half* of replacements run first, dependencies
   before dependants, in the planner's order (:func:`slogen.plan.planner.ordered`). Changes at
   the same depth run concurrently on ``Budget.workers`` threads.
2. **Re-pointing.** A desired resource that did not change but depends on a replaced one is
   given to :meth:`Requests.repoint` (Datadog composites refer to monitors by id).
3. **Deletes**, and the old objects of replacements, run afterwards the other way round:
   dependants before what they depend on. Deletes at the same depth may be grouped into one
   request (:attr:`Requests.delete_batch`); a batch the server refuses as a whole is retried one
   object at a time, so one refusal does not hold back the rest.
4. **Failures.** A change whose request fails is FAILED with the target's (redacted) message;
   every change that depends on it is *not attempted*; independent work goes on. A live object
   still used by an update that failed is not deleted. A failure the target calls fatal (no
   credentials) stops everything not yet started.
5. **Pacing and retries.** :class:`RateLimiter` spaces requests of one bucket evenly within the
   target's declared rates; :func:`with_retries` retries a request while the target's
   ``retry_delay`` says it may, sleeping as long as it says (e.g. ``X-RateLimit-Reset``).
6. **Lost create answers.** A create whose outcome is unknown (5xx, timeout) is re-read by its
   key and adopted before it is sent again (:func:`slogen.plan.creates.create_once`, for
   requests that implement ``outcome_unknown`` and ``find``), so no target creates twice.

A replacement creates the new object before deleting the old one, so an alert never disappears
and a server never refuses to delete an object a dependant still uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from slogen.plan.creates import create_once
from slogen.plan.model import CREATE, DELETE, REPLACE, UPDATE, Change
from slogen.plan.outcome import DONE, FAILED, SKIPPED, ApplyReport
from slogen.plan.progress import Progress
from slogen.redact import redact
from slogen.resources import Resource

T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """How hard a target may be driven: threads, and requests per second per bucket."""

    workers: int = 4
    rates: Mapping[str, float] = field(default_factory=dict)  # bucket -> requests per second


class RateLimiter:
    """Evenly spaced requests per bucket (a bucket is e.g. an operation in one region).

    A request waits until ``1/rate`` seconds after the previous one of its bucket was allowed,
    so several threads together never exceed the rate and there is no burst to be throttled.
    Buckets are ``(scope, name)``: the rate is looked up by ``name``.
    """

    def __init__(self, rates: Mapping[str, float]):
        self.rates = dict(rates)
        self._next: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def wait(self, scope: str, name: str) -> None:
        rate = self.rates.get(name)
        if not rate:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get((scope, name), now))
            self._next[(scope, name)] = at + 1.0 / rate
        if at > now:
            time.sleep(at - now)


def with_retries(
    request: Callable[[], T],
    retry_delay: Callable[[BaseException, int], float | None],
    max_total_sleep: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``request`` until it succeeds or ``retry_delay(exc, attempt)`` returns None.

    ``attempt`` counts failures from 0. The sleeps of one request never add up to more than
    ``max_total_sleep`` seconds; past that the last failure is raised.
    """
    slept = 0.0
    attempt = 0
    while True:
        try:
            return request()
        except Exception as exc:
            wait = retry_delay(exc, attempt)
            if wait is None or slept + wait > max_total_sleep:
                raise
            slept += wait
            sleep(wait)
            attempt += 1


class Fatal(Exception):
    """A failure after which no further request can succeed (e.g. no credentials)."""


class Requests(Protocol):
    """What an API target gives the executor: the requests of one change, and its judgement."""

    budget: Budget
    delete_batch: int  # objects one delete request may take (1: one per request)

    def refusals(self, changes: Sequence[Change]) -> dict[str, str]:
        """Change address -> why it must not be attempted (checked once, before any write)."""
        ...

    def create(self, resource: Resource) -> None: ...

    def update(self, change: Change) -> None: ...

    def delete(self, resources: Sequence[Resource]) -> None:
        """Delete live objects (at most ``delete_batch``, sharing one :meth:`batch_key`)."""
        ...

    def batch_key(self, resource: Resource) -> Hashable:
        """Deletes may share a request only when their keys are equal (e.g. one region)."""
        ...

    def repoint(self, resource: Resource) -> None:
        """Point an unchanged desired resource at the new objects of replaced dependencies."""
        ...

    def error_text(self, exc: BaseException) -> str:
        """What the report says of a failure (it is redacted again by the executor)."""
        ...


def levels(keys: Iterable[str], deps: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Group keys so every key comes after the keys of this set it depends on (stable)."""
    keys = list(keys)
    inside = set(keys)
    depth: dict[str, int] = {}

    def visit(key: str, trail: frozenset[str]) -> int:
        if key in depth:
            return depth[key]
        below = [
            visit(d, trail | {key}) for d in deps.get(key, ()) if d in inside and d not in trail
        ]
        depth[key] = 1 + max(below) if below else 0
        return depth[key]

    for key in keys:
        visit(key, frozenset())
    grouped: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for key in keys:
        grouped[depth[key]].append(key)
    return grouped


_OLD = "\0old"  # suffix of the delete step of a replacement's old object


class _Run:
    def __init__(self, requests: Requests, progress: Progress, report: ApplyReport):
        self.requests = requests
        self.progress = progress
        self.report = report
        self.failed: set[str] = set()  # keys whose change failed or was not attempted
        self.fatal: BaseException | None = None

    def message(self, exc: BaseException) -> str:
        return redact(self.requests.error_text(exc))

    def record(self, change: Change, status: str, error: str = "", step: bool = True) -> None:
        self.report.add(change, status, error)
        if status != DONE:
            self.failed.add(change.resource.key)
        if status != SKIPPED and step:
            self.progress.step(f"{change.action} {change.address}")

    def parallel(
        self,
        jobs: Sequence[tuple[T, Callable[[], None]]],
        done: Callable[[T, BaseException | None], None],
    ) -> None:
        """Run jobs on the pool; report each through ``done`` on this thread. Interrupted,
        nothing new starts and the interruption propagates."""
        if not jobs:
            return
        pool = ThreadPoolExecutor(max_workers=max(1, min(len(jobs), self.requests.budget.workers)))
        try:
            futures: dict[Future[None], T] = {
                pool.submit(self._guarded, work): item for item, work in jobs
            }
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
        except Fatal as exc:
            self.fatal = exc
            raise


def execute(
    requests: Requests,
    changes: Sequence[Change],
    desired: Sequence[Resource],
    progress: Progress,
    label: str = "",
) -> ApplyReport:
    """Carry out ``changes`` through ``requests``; every change ends DONE, FAILED or SKIPPED.

    ``label`` (the backend's name) prefixes failures that belong to no single change.
    """
    report = ApplyReport()
    run = _Run(requests, progress, report)
    upserts = {c.resource.key: c for c in changes if c.action in (CREATE, UPDATE, REPLACE)}
    deletes = {c.resource.key: c for c in changes if c.action == DELETE}
    refused = requests.refusals([c for c in changes if c.action != DELETE]) if upserts else {}
    replaced: dict[str, Change] = {}  # replacements whose new object exists

    # 1. creates, updates and the create half of replacements, dependencies first
    def upsert(change: Change) -> None:
        if change.action == UPDATE:
            requests.update(change)
        else:
            assert change.after is not None
            # a create whose answer was lost is re-read and adopted, never sent twice blindly
            create_once(requests, change.after, requests.create)

    def upsert_done(change: Change, exc: BaseException | None) -> None:
        if exc is not None:
            run.record(change, FAILED, run.message(exc))
        elif change.action == REPLACE:
            replaced[change.resource.key] = change  # recorded once the old object is gone
            run.progress.step(f"{change.action} {change.address} (new object created)")
        else:
            run.record(change, DONE)

    deps = {k: c.resource.depends_on for k, c in upserts.items()}
    for level in levels(upserts, deps):
        jobs = []
        for key in level:
            change = upserts[key]
            if any(d in run.failed for d in deps[key]):
                run.record(change, SKIPPED)
            elif change.address in refused:
                run.record(change, FAILED, redact(refused[change.address]))
            else:
                jobs.append((change, lambda c=change: upsert(c)))
        run.parallel(jobs, upsert_done)

    # 2. unchanged dependants of replaced objects: point them at the new objects
    for res in desired:
        if res.key in upserts or not any(d in replaced for d in res.depends_on):
            continue
        try:
            requests.repoint(res)
        except Exception as exc:
            report.errors.append(f"{label}: {run.message(exc)}" if label else run.message(exc))

    # 3. deletes and the old halves of replacements, dependants first
    victims: dict[str, tuple[Change, Resource]] = {}
    for key, change in deletes.items():
        assert change.before is not None
        victims[key] = (change, change.before)
    for key, change in replaced.items():
        assert change.before is not None
        victims[key + _OLD] = (change, change.before)
    by_key = {res.key: vk for vk, (_, res) in victims.items()}
    dependants: dict[str, list[str]] = {vk: [] for vk in victims}
    for vk, (_, res) in victims.items():
        for dep in res.depends_on:
            if dep in by_key and by_key[dep] != vk:
                dependants[by_key[dep]].append(vk)
    # live objects still used by an update or replacement that did not succeed stay
    still_used: set[str] = set()
    for key in run.failed:
        change = upserts.get(key)
        if change is not None and change.before is not None:
            still_used.update(change.before.depends_on)

    def delete_done(vk: str, exc: BaseException | None) -> None:
        change, res = victims[vk]
        if not vk.endswith(_OLD):
            run.record(
                change, DONE if exc is None else FAILED, "" if exc is None else run.message(exc)
            )
        elif exc is None:  # the replacement's step was counted when its new object was made
            run.record(change, DONE, step=False)
        else:
            run.record(
                change,
                FAILED,
                f"the new object was created, but the old one ({res.live_id or res.key}) could "
                f"not be deleted: {run.message(exc)}",
                step=False,
            )

    for level in levels(victims, dependants):
        ready: list[str] = []
        for vk in level:
            change, res = victims[vk]
            # a dependant whose delete (or old half) failed, or a failed change whose live
            # object still uses this one, keeps it: replacements' old objects included
            blocked = res.key in still_used or any(
                victims[d][0].resource.key in run.failed for d in dependants[vk]
            )
            if not blocked:
                ready.append(vk)
            elif vk.endswith(_OLD):
                delete_done(vk, RuntimeError("an object that uses it could not be changed"))
            else:
                run.record(change, SKIPPED)
        _delete_level(run, victims, ready, delete_done)
    for change in replaced.values():  # replacements whose old object had nothing to delete
        if not any(o.change is change for o in report.outcomes):
            run.record(change, DONE, step=False)
    if run.fatal is not None:
        fatal = run.message(run.fatal)
        report.errors.append(f"{label}: {fatal}" if label else fatal)
    return report


def _delete_level(
    run: _Run,
    victims: Mapping[str, tuple[Change, Resource]],
    ready: Sequence[str],
    done: Callable[[str, BaseException | None], None],
) -> None:
    """Delete one level, in batches where the target allows; a refused batch goes one by one."""
    requests = run.requests
    size = max(1, requests.delete_batch)
    groups: dict[Hashable, list[str]] = {}
    for vk in ready:
        groups.setdefault(requests.batch_key(victims[vk][1]), []).append(vk)
    batches = [
        items[start : start + size]
        for items in groups.values()
        for start in range(0, len(items), size)
    ]
    results: dict[int, BaseException | None] = {}

    def record(index: int, exc: BaseException | None) -> None:
        results[index] = exc

    run.parallel(
        [
            (i, lambda b=batch: requests.delete([victims[vk][1] for vk in b]))
            for i, batch in enumerate(batches)
        ],
        record,
    )
    singles: list[str] = []
    for index, batch in enumerate(batches):
        exc = results.get(index)
        if exc is not None and len(batch) > 1 and not isinstance(exc, Fatal):
            singles.extend(batch)
            continue
        for vk in batch:
            done(vk, exc)
    run.parallel([(vk, lambda v=vk: requests.delete([victims[v][1]])) for vk in singles], done)


__all__ = ["Budget", "Fatal", "RateLimiter", "Requests", "execute", "levels", "with_retries"]
