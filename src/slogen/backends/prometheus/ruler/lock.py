"""The ruler target's apply lock: a lease per contender, kept as a rule group of its own.

The ruler's API has no conditional write (a POST replaces a group of the same name), so the
lock is :func:`slogen.plan.lock.lease_lock` over rule groups: each contending apply posts one
group ``slogen-lock-<token>`` to the namespace ``<namespace>-lock`` - a namespace of its own,
so that no read of slogen's namespace ever sees it, and so that a lock never sits among the
groups a team reviews. The ruler refuses a group without rules, so it holds one recording rule
that never yields a sample (``vector(0) == 1`` is empty), evaluated once an hour: it records
nothing and alerts nobody. The lease (holder, since, expiry, held) is the rule's
``slogen_lock`` label, as JSON. It lives for the seconds or minutes of an apply.

Requests: one POST and one list to try, one POST to mark it held and per renewal, one DELETE to
release it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import yaml

from slogen.backends.prometheus.ruler import groups as groups_mod
from slogen.backends.prometheus.ruler.client import RulerClient, RulerError
from slogen.errors import SlogenError
from slogen.plan.lock import Lease, lease_lock

GROUP_PREFIX = "slogen-lock-"
LABEL = "slogen_lock"


def lock_namespace(namespace: str) -> str:
    """Where the locks of slogen's ``namespace`` live."""
    return f"{namespace}-lock"


def _error(exc: RulerError) -> SlogenError:
    return SlogenError(
        f"cannot take or release the ruler apply lock: {exc.message}",
        hint="the lock is a rule group in the namespace '<namespace>-lock'; the credentials "
        "need to write there too",
    )


class GroupLeases:
    """:class:`slogen.plan.lock.LeaseStore` over lock groups (see the module docstring)."""

    def __init__(self, client: RulerClient) -> None:
        conn = dataclasses.replace(client.conn, namespace=lock_namespace(client.conn.namespace))
        self.client = RulerClient(conn, client.retry, client.timeout)

    def put(self, lease: Lease) -> Lease:
        name = lease.ref or GROUP_PREFIX + lease.token
        group = {
            "name": name,
            "interval": "1h",
            "rules": [
                {
                    "record": "slogen:apply_lock:never",
                    "expr": "vector(0) == 1",
                    "labels": {LABEL: lease.as_json()},
                }
            ],
        }
        try:
            self.client.set_group(yaml.safe_dump(group, sort_keys=False))
        except RulerError as exc:
            raise _error(exc) from None
        return dataclasses.replace(lease, ref=name)

    def entries(self) -> list[Lease]:
        try:
            text = self.client.list_rules()
        except RulerError as exc:
            raise _error(exc) from None
        found = groups_mod.parse_listing(text, self.client.rules_url, self.client.conn.namespace)
        leases = []
        for group in found:
            name = str(group["name"])
            for rule in group.get("rules") or []:
                labels = rule.get("labels") or {}
                text_ = labels.get(LABEL) if isinstance(labels, dict) else None
                lease = Lease.from_json(str(text_), name) if text_ else None
                if lease is not None and name.startswith(GROUP_PREFIX):
                    leases.append(lease)
        return leases

    def remove(self, lease: Lease) -> None:
        try:
            self.client.delete_group(lease.ref)
        except RulerError as exc:
            raise _error(exc) from None


@contextlib.contextmanager
def ruler_lock(client: RulerClient, label: str, holder: str, timeout: float) -> Iterator[None]:
    """The lock for one apply, on a client of its own."""
    with lease_lock(GroupLeases(client), label, holder, timeout):
        yield
