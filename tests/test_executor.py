"""The shared apply executor, against an in-memory target that records every request.

The API targets (Datadog, CloudWatch) are tested end to end against their fake servers; these
tests pin the rules every target relies on: order, what a failure holds back, replacements,
delete batches, pacing and retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Sequence

import pytest

from slogen.plan.executor import Budget, Fatal, RateLimiter, execute, levels, with_retries
from slogen.plan.model import CREATE, DELETE, REPLACE, UPDATE, Change, FieldChange
from slogen.plan.outcome import DONE, FAILED, SKIPPED
from slogen.plan.planner import ordered
from slogen.plan.progress import Progress
from slogen.resources import Resource


def res(key: str, *deps: str, group: str = "a", live_id: str | None = None) -> Resource:
    return Resource("fake", "api", "thing", key, {"group": group}, tuple(deps), live_id)


class Fake:
    """Records requests; fails the keys it is told to."""

    def __init__(self, fail: Sequence[str] = (), batch: int = 1, workers: int = 4) -> None:
        self.budget = Budget(workers=workers)
        self.delete_batch = batch
        self.fail = set(fail)
        self.log: list[tuple[str, tuple[str, ...]]] = []
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()
        self.running = 0
        self.most_running = 0

    def _do(self, what: str, keys: tuple[str, ...]) -> None:
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        time.sleep(0.01)
        with self.lock:
            self.running -= 1
            self.log.append((what, keys))
        for key in keys:
            if key in self.fail or f"{what}:{key}" in self.fail:
                if "fatal" in self.fail:
                    raise Fatal("no credentials")
                raise RuntimeError(f"server refused {what} of {key}")

    def refusals(self, changes: Sequence[Change]) -> dict[str, str]:
        return {c.address: why for c in changes if (why := self.refuse.get(c.resource.key))}

    def create(self, resource: Resource) -> None:
        self._do("create", (resource.key,))

    def update(self, change: Change) -> None:
        self._do("update", (change.resource.key,))

    def delete(self, resources: Sequence[Resource]) -> None:
        self._do("delete", tuple(r.key for r in resources))

    def batch_key(self, resource: Resource) -> Hashable:
        return resource.body["group"]

    def repoint(self, resource: Resource) -> None:
        self._do("repoint", (resource.key,))

    def error_text(self, exc: BaseException) -> str:
        return str(exc)


def status(report, key: str) -> str:
    (outcome,) = [o for o in report.outcomes if o.change.resource.key == key]
    return outcome.status


def run(fake: Fake, changes: list[Change], desired: Sequence[Resource] = ()):
    return execute(fake, ordered(changes), list(desired), Progress(len(changes), quiet=True))


def test_levels_put_dependencies_first() -> None:
    assert levels(["c", "a", "b"], {"c": ["b"], "b": ["a"]}) == [["a"], ["b"], ["c"]]
    assert levels(["x", "y"], {}) == [["x", "y"]]


def test_children_before_composites_and_composites_deleted_first() -> None:
    fake = Fake()
    changes = [
        Change(CREATE, None, res("s/c", "s/a", "s/b")),
        Change(CREATE, None, res("s/a")),
        Change(CREATE, None, res("s/b")),
        Change(DELETE, res("o/x", live_id="1"), None),
        Change(DELETE, res("o/comp", "o/x", live_id="2"), None),
    ]
    report = run(fake, changes)
    assert report.ok and report.count(DONE) == 5
    order = [keys[0] for _, keys in fake.log]
    assert order.index("s/c") > max(order.index("s/a"), order.index("s/b"))
    assert order.index("o/comp") < order.index("o/x")
    assert order.index("o/x") > order.index("s/c"), "deletes come after creates"


def test_a_failure_holds_back_its_dependants_only() -> None:
    fake = Fake(fail=["s/a"])
    changes = [
        Change(CREATE, None, res("s/a")),
        Change(CREATE, None, res("s/comp", "s/a")),
        Change(CREATE, None, res("t/other")),
    ]
    report = run(fake, changes)
    assert status(report, "s/a") == FAILED
    assert status(report, "s/comp") == SKIPPED
    assert status(report, "t/other") == DONE
    assert "server refused create of s/a" in report.render()
    assert ("create", ("s/comp",)) not in fake.log


def test_replacement_creates_repoints_then_deletes_the_old_object() -> None:
    fake = Fake()
    old, new = res("s/child", live_id="old-1"), res("s/child")
    composite = res("s/comp", "s/child")
    change = Change(REPLACE, old, new, (FieldChange("type", "a", "b", forces_replacement=True),))
    report = run(fake, [change], desired=[new, composite])
    assert report.ok and status(report, "s/child") == DONE
    assert fake.log == [
        ("create", ("s/child",)),
        ("repoint", ("s/comp",)),
        ("delete", ("s/child",)),
    ]


def test_old_object_still_used_by_a_failed_update_is_kept() -> None:
    fake = Fake(fail=["update:s/comp"])
    composite_old = res("s/comp", "s/child", live_id="9")
    changes = [
        Change(UPDATE, composite_old, res("s/comp"), (FieldChange("q", 1, 2),)),
        Change(DELETE, res("s/child", live_id="3"), None),
    ]
    report = run(fake, changes)
    assert status(report, "s/comp") == FAILED
    assert status(report, "s/child") == SKIPPED
    assert not any(what == "delete" for what, _ in fake.log)


def test_deletes_share_requests_by_batch_key_and_a_refused_batch_goes_one_by_one() -> None:
    fake = Fake(batch=2, fail=["delete:k1"])
    changes = [
        Change(DELETE, res(f"k{i}", group="eu" if i < 3 else "us", live_id=str(i)), None)
        for i in range(5)
    ]
    report = run(fake, changes)
    requests = sorted(keys for what, keys in fake.log if what == "delete")
    # eu: k0+k1 (refused: k1), then k0 and k1 alone; k2 alone; us: k3+k4
    assert requests == [("k0",), ("k0", "k1"), ("k1",), ("k2",), ("k3", "k4")]
    assert status(report, "k1") == FAILED
    for key in ("k0", "k2", "k3", "k4"):
        assert status(report, key) == DONE, key


def test_refusals_are_failed_without_a_request() -> None:
    fake = Fake()
    fake.refuse = {"s/a": "an object of that name exists and is not ours"}
    report = run(fake, [Change(CREATE, None, res("s/a")), Change(CREATE, None, res("s/b"))])
    assert status(report, "s/a") == FAILED
    assert "not ours" in report.render()
    assert [keys for _, keys in fake.log] == [("s/b",)]


def test_a_fatal_failure_stops_what_has_not_started() -> None:
    fake = Fake(fail=["s/a", "fatal"], workers=1)
    changes = [Change(CREATE, None, res(f"s/{k}")) for k in "abcdef"]
    report = run(fake, changes)
    assert len(fake.log) == 1
    assert report.count(DONE) == 0
    assert "no credentials" in "\n".join(report.errors)
    labelled = execute(
        Fake(fail=["s/a", "fatal"], workers=1),
        ordered(changes),
        [],
        Progress(0, quiet=True),
        label="fake",
    )
    assert labelled.errors == ["fake: no credentials"]


def test_concurrency_stays_within_the_budget() -> None:
    fake = Fake(workers=3)
    run(fake, [Change(CREATE, None, res(f"s/{i}")) for i in range(20)])
    assert 1 < fake.most_running <= 3


def test_with_retries_follows_the_classifier() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("503")
        return "ok"

    def delay(exc: BaseException, attempt: int) -> float | None:
        return 0.5 * 2**attempt if isinstance(exc, ConnectionError) else None

    assert with_retries(flaky, delay, sleep=slept.append) == "ok"
    assert slept == [0.5, 1.0]
    with pytest.raises(ValueError):
        with_retries(lambda: (_ for _ in ()).throw(ValueError("400")), delay, sleep=slept.append)
    calls.clear()
    with pytest.raises(ConnectionError):  # the sleeps would exceed the cap
        with_retries(flaky, lambda e, a: 10.0, max_total_sleep=5.0, sleep=slept.append)


def test_rate_limiter_spaces_requests_of_one_bucket() -> None:
    limiter = RateLimiter({"Put": 50.0})
    start = time.monotonic()
    for _ in range(6):
        limiter.wait("eu-west-1", "Put")
    assert time.monotonic() - start >= 5 / 50.0 * 0.9
    start = time.monotonic()
    for _ in range(6):
        limiter.wait("eu-west-1", "Describe")  # no rate: no wait
    assert time.monotonic() - start < 0.05


def test_progress_counts_every_change_once() -> None:
    class Steps(Progress):
        def __init__(self) -> None:
            super().__init__(0, quiet=True)
            self.labels: list[str] = []

        def step(self, label: str) -> None:
            self.labels.append(label)

    old, new = res("s/child", live_id="old-1"), res("s/child")
    changes = [
        Change(REPLACE, old, new, (FieldChange("type", "a", "b", forces_replacement=True),)),
        Change(CREATE, None, res("s/other")),
        Change(DELETE, res("s/gone", live_id="7"), None),
    ]
    progress = Steps()
    report = execute(Fake(), ordered(changes), [new], progress)
    assert report.ok
    assert len(progress.labels) == len(changes)


# -- lost create answers and incomplete reads (issue 13, cases 2 and 3) ----------------------------


class Lossy(Fake):
    """A server whose create answers are lost after it stored the object (``lose`` times per
    key); :meth:`find` re-reads its store, as the API targets do."""

    def __init__(self, lose: int, stores: bool = True, unknown: bool = True) -> None:
        super().__init__()
        self.lose, self.stores, self.unknown = lose, stores, unknown
        self.store: dict[str, int] = {}  # key -> objects stored
        self.found: list[str] = []

    def create(self, resource: Resource) -> None:
        self._do("create", (resource.key,))
        if self.stores or self.lose == 0:
            self.store[resource.key] = self.store.get(resource.key, 0) + 1
        if self.lose > 0:
            self.lose -= 1
            raise TimeoutError("read timed out") if self.unknown else ValueError("HTTP 400")

    def outcome_unknown(self, exc: BaseException) -> bool:
        return isinstance(exc, TimeoutError)

    def find(self, resource: Resource) -> bool:
        self.found.append(resource.key)
        return resource.key in self.store


def test_a_create_whose_answer_was_lost_is_adopted_not_sent_again() -> None:
    fake = Lossy(lose=1)
    report = run(fake, [Change(CREATE, None, res("a"))])
    assert status(report, "a") == DONE
    assert fake.store == {"a": 1} and fake.found == ["a"]


def test_a_create_not_stored_is_sent_again_after_the_re_read() -> None:
    fake = Lossy(lose=1, stores=False)
    report = run(fake, [Change(CREATE, None, res("a"))])
    assert status(report, "a") == DONE
    assert fake.store == {"a": 1} and fake.found == ["a"]
    assert [w for w, _ in fake.log] == ["create", "create"]


def test_creates_give_up_after_the_bounded_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    from slogen.plan import creates

    slept: list[float] = []
    monkeypatch.setattr(creates.time, "sleep", slept.append)
    fake = Lossy(lose=100, stores=False)
    report = run(fake, [Change(CREATE, None, res("a"))])
    assert status(report, "a") == FAILED
    assert len(fake.log) == creates.CREATE_ATTEMPTS
    # backing off between sends, doubling, bounded (the fake's own short pauses aside)
    backoff = [s for s in slept if s >= creates.CREATE_BACKOFF]
    assert backoff == [0.25, 0.5, 1.0, 2.0, 4.0]


def test_a_refused_create_is_not_re_read() -> None:
    fake = Lossy(lose=1, stores=False, unknown=False)
    report = run(fake, [Change(CREATE, None, res("a"))])
    assert status(report, "a") == FAILED and fake.found == []


def test_two_reads_that_differ_stop_the_plan() -> None:
    from slogen.plan.creates import IncompleteRead, confirmed

    reads = iter([[("a", "1")], [("a", "1"), ("b", "2")]])
    with pytest.raises(IncompleteRead, match=r"looks incomplete .*nothing was planned"):
        confirmed(lambda: next(reads), lambda i: i[0], lambda i: i[1], {"b"}, "T")
    calls: list[int] = []

    def read() -> list[tuple[str, str]]:
        calls.append(1)
        return [("a", "1")]

    assert confirmed(read, lambda i: i[0], lambda i: i[1], {"a"}, "T") == [("a", "1")]
    assert len(calls) == 1, "nothing wanted is missing: one read"
    assert confirmed(read, lambda i: i[0], lambda i: i[1], {"b"}, "T") == [("a", "1")]
    assert len(calls) == 3, "a wanted key is missing: read again, and the reads agree"
