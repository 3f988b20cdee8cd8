"""The AMP target's apply lock: one rule groups namespace, ``slogen.lock``, created conditionally.

Unlike the other APIs, AMP has a conditional create: ``CreateRuleGroupsNamespace`` answers
ConflictException when the name exists in the workspace (tests/fakes/amp.py does the same). So
the lock is simply that namespace: whoever creates it holds the lock, and deletes it when done.
Its name is outside slogen's ``slogen-`` prefix, so no read of owned namespaces lists it. AMP
refuses a namespace without a rule, so it holds one recording rule that never yields a sample
(``vector(0) == 1``), evaluated once an hour. The lease (holder, since, expiry) is that rule's
``slogen_lock`` label as JSON (tag values cannot hold a holder's text); a running apply renews
it with ``PutRuleGroupsNamespace``; an expired one is deleted by the next apply, with a note.
A namespace still DELETING (just released) is waited for briefly, whatever the lock timeout.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import replace

import yaml

from slogen import yamltext
from slogen.backends.prometheus.amp.client import DELETING, Amp, AwsError, writer
from slogen.errors import SlogenError
from slogen.plan.lock import (
    LEASE_SECONDS,
    POLL_SECONDS,
    Lease,
    locked_error,
    renewed,
    stamp,
)
from slogen.spec.model import Target as TargetSettings

LOCK_NAMESPACE = "slogen.lock"
LABEL = "slogen_lock"
RELEASING_WAIT = 30.0
LOST_ATTEMPTS = 3  # creates whose outcome was unknown and that left no namespace, at most


def unknown_outcome(exc: AwsError) -> bool:
    """Whether a failed create may have been stored: a 5xx (botocore gave up retrying it) or
    no answer at all. AMP's 4xx (validation, access, conflict) are definite refusals."""
    return exc.code == "Unreachable" or exc.code in (
        "InternalServerException",
        "InternalServerError",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalFailure",
    )


# how long a namespace being deleted is waited for, whatever the timeout


def lock_data(lease: Lease) -> str:
    """The namespace's rules file: one rule that records nothing, the lease as its label."""
    rule = {"record": "slogen:apply_lock:never", "expr": "vector(0) == 1"}
    rule["labels"] = {LABEL: lease.as_json()}  # type: ignore[assignment]
    group = {"name": "slogen-lock", "interval": "1h", "rules": [rule]}
    return yaml.safe_dump({"groups": [group]}, sort_keys=False)


def lease_of(data: bytes | str) -> Lease | None:
    """The lease in a lock namespace's rules file (None when it is not one)."""
    try:
        doc = yamltext.load(data.decode() if isinstance(data, bytes) else data)
        text = doc["groups"][0]["rules"][0]["labels"][LABEL]
    except (yaml.YAMLError, KeyError, IndexError, TypeError, UnicodeDecodeError):
        return None
    return Lease.from_json(str(text), LOCK_NAMESPACE)


def _failed(exc: AwsError) -> SlogenError:
    return SlogenError(
        f"cannot take or release the AMP apply lock ({LOCK_NAMESPACE}): {exc.message}",
        hint="slogen needs aps:CreateRuleGroupsNamespace, DescribeRuleGroupsNamespace, "
        "PutRuleGroupsNamespace and DeleteRuleGroupsNamespace on the workspace",
    )


def _acquire(amp: Amp, label: str, who: str, timeout: float) -> Lease:
    deadline = time.monotonic() + max(0.0, timeout)
    releasing_until = time.monotonic() + RELEASING_WAIT
    token = secrets.token_hex(8)  # the same for every create of this run: a lost one is known
    attempts = 0
    while True:
        now = time.time()
        mine = Lease(token, who, now, now + LEASE_SECONDS, True, LOCK_NAMESPACE)
        lost: AwsError | None = None  # the create's outcome is unknown (5xx, no answer)
        try:
            data = lock_data(mine).encode()
            amp.call("CreateRuleGroupsNamespace", name=LOCK_NAMESPACE, data=data)
            return mine
        except AwsError as exc:
            if exc.code != "ConflictException" and not unknown_outcome(exc):
                raise _failed(exc) from None
            lost = None if exc.code == "ConflictException" else exc
        try:
            described = amp.describe(LOCK_NAMESPACE)
        except AwsError as exc:
            if exc.code == "ResourceNotFoundException":  # released meanwhile: try again
                if lost is not None and (attempts := attempts + 1) > LOST_ATTEMPTS:
                    raise _failed(lost) from None
                continue
            raise _failed(exc) from None
        status = str((described.get("status") or {}).get("statusCode", ""))
        theirs = lease_of(described.get("data") or b"")
        if theirs is not None and theirs.token == token:
            # our own create, stored although its answer was lost (botocore's retry of it, or
            # ours, was then answered ConflictException): the lock is ours already
            return replace(theirs, ref=LOCK_NAMESPACE)
        if status == DELETING and time.monotonic() < releasing_until:
            time.sleep(1.0)  # released a moment ago
            continue
        if theirs is None or theirs.expired(now):
            what = f"namespace {LOCK_NAMESPACE}, which holds no lease"
            if theirs is not None:
                what = f"of {theirs.holder}, whose lease expired at {stamp(theirs.expires)}"
            try:
                # AMP has no conditional delete: look once more right before, so that a lock
                # another apply has just taken over is not deleted under it
                again = lease_of(amp.describe(LOCK_NAMESPACE).get("data") or b"")
                if (again and again.token) != (theirs and theirs.token):
                    continue
                print(f"{label}: taking over the lock {what}", file=sys.stderr, flush=True)
                amp.delete(LOCK_NAMESPACE)
            except AwsError as exc:
                if exc.code != "ResourceNotFoundException":
                    raise _failed(exc) from None
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            raise locked_error(label, theirs.holder, theirs.since, theirs.expires)
        time.sleep(min(POLL_SECONDS, left))


@contextlib.contextmanager
def amp_lock(settings: TargetSettings, label: str, who: str, timeout: float) -> Iterator[None]:
    """Hold the workspace's lock namespace; renewed while held, deleted on the way out."""
    amp = writer(settings)
    mine = _acquire(amp, label, who, timeout)

    def put(lease: Lease) -> Lease:
        amp.put(LOCK_NAMESPACE, lock_data(lease))
        return lease

    with renewed(label, mine, put, lambda _lease: amp.delete(LOCK_NAMESPACE), (AwsError,)):
        yield
