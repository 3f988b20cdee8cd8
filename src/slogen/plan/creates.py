"""Creates whose outcome is unknown, and reads that may be incomplete: the same rule everywhere.

**A create is never sent twice blindly.** A create answered 5xx, or never answered (a timeout,
a connection reset after the request was sent), may have been stored by the server before the
answer was lost. Repeating it then makes a second object for one key on every API whose create
is not an upsert (Datadog monitors and SLOs). So an API target's client sends a create once
(it retries only answers that say the request was not processed, such as 429), and
:func:`create_once` asks the target, before each new attempt, whether the object now exists
(:meth:`Findable.find`, a re-read by the object's stable key); one that does is adopted (its id
remembered and its body brought up to date) instead of created again.

**A read that looks incomplete stops the plan.** :func:`confirmed` is the "second confirming
read" of a list API that gives no totals (Datadog's monitor list): when the first read lacks
keys the caller is about to create, it reads again; two reads that disagree mean paging was
incomplete, and nothing is planned (:class:`IncompleteRead`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from typing import Protocol, TypeVar, runtime_checkable

from slogen.errors import SlogenError
from slogen.plural import plural
from slogen.resources import Resource

T = TypeVar("T")

# Sends of one create in total, each after a re-read found nothing: as many as the API
# clients allow other requests, since a burst of 5xx hits creates as often as anything else.
CREATE_ATTEMPTS = 6
CREATE_BACKOFF = 0.25  # seconds before the second send, doubling up to CREATE_BACKOFF_MAX
CREATE_BACKOFF_MAX = 4.0


@runtime_checkable
class Findable(Protocol):
    """What a target's requests add to be protected from lost create answers."""

    def outcome_unknown(self, exc: BaseException) -> bool:
        """Whether ``exc`` leaves open that the server stored the create (5xx, timeout...)."""
        ...

    def find(self, resource: Resource) -> bool:
        """Re-read whether ``resource`` exists now (by its key); adopt it and return True."""
        ...


def create_once(requests: object, resource: Resource, create: Callable[[Resource], None]) -> None:
    """``create(resource)``; after an unknown outcome, re-read and adopt, or try again.

    Targets whose requests are not :class:`Findable` (their create is an upsert by name, so a
    repeat cannot duplicate) are called once, as before.
    """
    if not isinstance(requests, Findable):
        create(resource)
        return
    for attempt in range(CREATE_ATTEMPTS):
        try:
            create(resource)
            return
        except Exception as exc:
            if not requests.outcome_unknown(exc):
                raise
            try:
                if requests.find(resource):
                    return
            except Exception:
                raise exc from None  # the create's failure is what the report should say
            if attempt + 1 >= CREATE_ATTEMPTS:
                raise
            time.sleep(min(CREATE_BACKOFF * 2**attempt, CREATE_BACKOFF_MAX))


class IncompleteRead(SlogenError):
    """A live read whose pages do not add up: planning on it could duplicate or orphan."""

    def __init__(self, target: str, why: str) -> None:
        super().__init__(
            f"the live read of {target} looks incomplete ({why}); nothing was planned",
            hint="run the command again: another apply may have been writing at the same time; "
            "if this persists, the API is paging inconsistently",
        )


def confirmed(
    read: Callable[[], list[T]],
    key_of: Callable[[T], str | None],
    ids_of: Callable[[T], str],
    wanted: Collection[str],
    target: str,
    first: list[T] | None = None,
) -> list[T]:
    """A list read, read again when it lacks some ``wanted`` key; two reads must agree.

    Without totals in the answers, a short page looks like the last page. A second read costs
    one list, only when the plan would create something; objects that appear or go between
    the two reads (someone else's apply) are reported the same way, which is right too.
    """
    found = read() if first is None else first
    seen = {key_of(item) for item in found}
    if all(key in seen for key in wanted):
        return found
    again = read()
    before, after = _ids(found, ids_of), _ids(again, ids_of)
    if before != after:
        missing = len(after - before) + len(before - after)
        raise IncompleteRead(
            target,
            f"two reads a moment apart differ by {plural(missing, 'object')}: {len(before)} then "
            f"{len(after)}",
        )
    return again


def _ids(items: Iterable[T], ids_of: Callable[[T], str]) -> set[str]:
    return {ids_of(item) for item in items}


__all__ = ["CREATE_ATTEMPTS", "Findable", "IncompleteRead", "confirmed", "create_once"]
