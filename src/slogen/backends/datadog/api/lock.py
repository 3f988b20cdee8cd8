"""The Datadog account's apply lock: a lease per contender, kept as a muted, silent monitor.

Datadog has no conditional create, so the lock is :func:`slogen.plan.lock.lease_lock` over
monitors: each contending apply creates one monitor named "slogen apply lock", tagged
``slogen-lock`` (and NOT ``managed-by:slogen``, so no read of owned monitors ever sees it),
whose message is the lease (holder, since, expiry, held) as JSON. The monitor watches a metric
nobody sends (``slogen.apply_lock``) with ``notify_no_data`` off, is muted, and its message
names no ``@handle``: it never notifies anyone. It lives for the seconds or minutes of an apply.

Requests: one create (sent once; after a lost answer the list finds it by the lease's token,
and only if it is not there is it sent again, at most three times), one list, one update
(held) to take the lock, one update per renewal, one delete to release it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from slogen.backends.datadog.api.client import Client, DatadogError
from slogen.errors import SlogenError
from slogen.plan.lock import Lease, lease_lock
from slogen.spec.model import Target as TargetSettings

LOCK_TAG = "slogen-lock"
LOCK_NAME = "slogen apply lock"
MESSAGE_PREFIX = "Held by a running 'slogen apply'; it deletes this monitor when done. Lease: "
QUERY = "max(last_5m):max:slogen.apply_lock{*} > 1"
CREATE_SENDS = 3  # creates with an unknown outcome that left no monitor, at most (as the executor)
HINT = (
    "the lock is a monitor tagged slogen-lock: the application key needs monitors_write; "
    "nothing was changed if this happened before the apply"
)


def _body(lease: Lease) -> dict[str, Any]:
    return {
        "name": LOCK_NAME,
        "type": "metric alert",
        "query": QUERY,
        "message": MESSAGE_PREFIX + lease.as_json(),
        "tags": [LOCK_TAG],
        "options": {
            "thresholds": {"critical": 1},
            "notify_no_data": False,
            "silenced": {"*": None},  # muted, for good measure: it never notifies anyway
        },
    }


class MonitorLeases:
    """:class:`slogen.plan.lock.LeaseStore` over lock monitors (see the module docstring)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        try:
            return self.client.call(what, fn, **kwargs)
        except DatadogError as exc:
            raise SlogenError(
                f"cannot take or release the Datadog apply lock: {exc.message}", hint=HINT
            ) from None

    def put(self, lease: Lease) -> Lease:
        monitors = self.client.monitors
        if lease.ref:
            self._call(
                "renewing the apply lock",
                monitors.update_monitor,
                monitor_id=int(lease.ref),
                body={"message": MESSAGE_PREFIX + lease.as_json()},
            )
            return lease
        last = DatadogError("no answer")
        for _ in range(CREATE_SENDS):
            try:
                # sent once (idempotent=False): Datadog's POST is not an upsert, so a blind
                # retry after a lost answer would make a second lock monitor
                made = self.client.call(
                    "taking the apply lock",
                    monitors.create_monitor,
                    idempotent=False,
                    body=_body(lease),
                )
                return replace(lease, ref=str(made["id"]))
            except DatadogError as exc:
                if not exc.unknown:
                    raise SlogenError(
                        f"cannot take the Datadog apply lock: {exc.message}", hint=HINT
                    ) from None
                # a 5xx or no answer: the monitor may have been stored, and is ours if it
                # carries our token (the lease's token is unique to this apply)
                for entry in self.entries():
                    if entry.token == lease.token:
                        return replace(lease, ref=entry.ref)
                last = exc
        raise SlogenError(f"cannot take the Datadog apply lock: {last.message}", hint=HINT)

    def entries(self) -> list[Lease]:
        found = self._call(
            "listing apply locks",
            self.client.monitors.list_monitors,
            monitor_tags=LOCK_TAG,
            page=0,
            page_size=1000,
        )
        leases = []
        for monitor in found or []:
            text = str(monitor.get("message") or "")
            if text.startswith(MESSAGE_PREFIX):
                lease = Lease.from_json(text[len(MESSAGE_PREFIX) :], str(monitor.get("id")))
                if lease is not None:
                    leases.append(lease)
        return leases

    def remove(self, lease: Lease) -> None:
        try:
            self.client.call(
                "releasing the apply lock",
                self.client.monitors.delete_monitor,
                monitor_id=int(lease.ref),
            )
        except DatadogError as exc:
            if exc.status != 404:  # already gone: released
                raise SlogenError(f"cannot release the Datadog apply lock: {exc.message}") from None


@contextlib.contextmanager
def account_lock(
    settings: TargetSettings, label: str, holder: str, timeout: float
) -> Iterator[None]:
    """The account's lock for one apply, on a client of its own (renewals run beside the
    apply's own requests)."""
    with Client(settings) as client, lease_lock(MonitorLeases(client), label, holder, timeout):
        yield


__all__ = ["LOCK_TAG", "MonitorLeases", "account_lock"]
