"""The faults every fake API can inject, by the same names, for the fault-injection suite.

Each fake (tests/fakes/datadog_api.py, cloudwatch.py, ruler.py, amp.py) has
``inject_fault(kind, count=1, operation=None)``: the next ``count`` requests that match
``operation`` (the fake's own name for a request: an HTTP method, or an AWS operation name;
None matches every request the kind applies to) get the fault. The kinds:

* ``COMMIT_THEN_5XX``: the request is carried out (stored), then answered 500, as a server that
  fails after committing does. Only writes are affected.
* ``COMMIT_THEN_TIMEOUT``: carried out, then no answer for :data:`HANG` seconds (longer than the
  client timeout the tests set), then the connection is dropped. Only writes.
* ``SHORT_PAGE``: a list answers fewer objects than exist (half, rounded down), with no sign of a
  next page; totals the API reports (if any) stay true. Only lists.
* ``TRUNCATED_BODY``: the answer announces its full length but the connection closes halfway
  through the body. Any request.
* ``HEADER_ECHO``: a 400 whose body echoes every request header (credentials included), to prove
  that slogen redacts what servers echo. Any request (writes by default in the suite).
* ``RATE_LIMITED``: 429 with the API's reset header (Datadog ``X-RateLimit-Reset``, the ruler
  ``Retry-After``; AWS throttling errors carry none). Any request.

Faults are matched in the order they were injected; a fault with requests left matches first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

COMMIT_THEN_5XX = "commit-then-5xx"
COMMIT_THEN_TIMEOUT = "commit-then-timeout"
SHORT_PAGE = "short-page"
TRUNCATED_BODY = "truncated-body"
HEADER_ECHO = "header-echo"
RATE_LIMITED = "429"
KINDS = (
    COMMIT_THEN_5XX,
    COMMIT_THEN_TIMEOUT,
    SHORT_PAGE,
    TRUNCATED_BODY,
    HEADER_ECHO,
    RATE_LIMITED,
)
WRITE_ONLY = (COMMIT_THEN_5XX, COMMIT_THEN_TIMEOUT)
LIST_ONLY = (SHORT_PAGE,)

HANG = 1.5  # seconds a COMMIT_THEN_TIMEOUT answer waits: tests set client timeouts below it


@dataclass
class Fault:
    kind: str
    remaining: int
    operation: str | None


class Faults:
    """A thread-safe queue of injected faults, shared by the fakes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: list[tuple[str, str]] = []  # (kind, operation) of every fault that fired

    def inject(self, kind: str, count: int = 1, operation: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {KINDS}")
        with self._lock:
            self._faults.append(Fault(kind, count, operation))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)

    def take(
        self, operation: str, is_write: bool, is_list: bool, kinds: Callable[[str], bool] = bool
    ) -> str | None:
        """The kind of fault this request gets (consumed), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining <= 0 or not _matches(fault.operation, operation):
                    continue
                if fault.kind in WRITE_ONLY and not is_write:
                    continue
                if fault.kind in LIST_ONLY and not is_list:
                    continue
                if not kinds(fault.kind):
                    continue
                fault.remaining -= 1
                self.fired.append((fault.kind, operation))
                return fault.kind
        return None


def _matches(wanted: str | None, operation: str) -> bool:
    """``None`` matches everything; ``"POST"`` matches ``"POST slo"``."""
    return wanted is None or operation == wanted or operation.startswith(wanted + " ")


def echo(headers: dict[str, str]) -> str:
    """The text of a HEADER_ECHO answer: every request header, as a careless proxy prints it."""
    return "bad request; you sent: " + "; ".join(f"{k}: {v}" for k, v in sorted(headers.items()))


def shorten(items: list, kind: str | None) -> list:  # type: ignore[type-arg]
    """A list page as SHORT_PAGE answers it (half of it), or as it is."""
    return items[: len(items) // 2] if kind == SHORT_PAGE else items
