"""The Grafana API target's apply lock: a lease per contender, kept as a dashboard of its own.

:func:`slogen.plan.lock.lease_lock` over dashboards: each contending apply saves a dashboard
``slogen-lock-<token>`` (in the target's folder) tagged ``slogen-lock`` - never slogen's own
``managed-by`` tag, so no plan ever reads it - whose ``description`` holds the lease (holder,
since, expiry, held) as JSON. It has no panels and lives for the seconds or minutes of an
apply. ``overwrite`` is set only for the contender's own uid (renewals).

Requests: one POST and one search plus a GET per entry to try, one POST per renewal, one
DELETE to release it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

from slogen.backends.grafana.api.client import Client, GrafanaError
from slogen.backends.grafana.dashboard import SCHEMA_VERSION
from slogen.errors import SlogenError
from slogen.plan.lock import Lease, lease_lock

LOCK_TAG = "slogen-lock"
UID_PREFIX = "slogen-lock-"


def _error(exc: GrafanaError) -> SlogenError:
    return SlogenError(
        f"cannot take or release the Grafana apply lock: {exc.message}",
        hint="the lock is a dashboard tagged slogen-lock in the target's folder; the token "
        "needs to write and delete dashboards there",
    )


class DashboardLeases:
    """:class:`slogen.plan.lock.LeaseStore` over lock dashboards."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def put(self, lease: Lease) -> Lease:
        uid = lease.ref or UID_PREFIX + lease.token
        dashboard = {
            "uid": uid,
            "title": f"slogen apply lock {lease.token}",
            "tags": [LOCK_TAG],
            "description": lease.as_json(),
            "schemaVersion": SCHEMA_VERSION,
            "panels": [],
        }
        try:
            self.client.save(dashboard, overwrite=bool(lease.ref), message="slogen apply lock")
        except GrafanaError as exc:
            raise _error(exc) from None
        return dataclasses.replace(lease, ref=uid)

    def entries(self) -> list[Lease]:
        leases = []
        try:
            for hit in self.client.search(LOCK_TAG):
                uid = str(hit.get("uid", ""))
                if not uid.startswith(UID_PREFIX):
                    continue
                found = self.client.get(uid)
                text = found["dashboard"].get("description") if found else None
                lease = Lease.from_json(str(text), uid) if text else None
                if lease is not None:
                    leases.append(lease)
        except GrafanaError as exc:
            raise _error(exc) from None
        return leases

    def remove(self, lease: Lease) -> None:
        try:
            self.client.delete(lease.ref)
        except GrafanaError as exc:
            raise _error(exc) from None


@contextlib.contextmanager
def grafana_lock(client: Client, label: str, holder: str, timeout: float) -> Iterator[None]:
    """The lock for one apply, on a client of its own (the renewal runs on another thread)."""
    with lease_lock(DashboardLeases(Client(client.conn, client.timeout)), label, holder, timeout):
        yield
