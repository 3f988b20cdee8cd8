"""Locks that keep two ``slogen apply`` runs off the same target at once.

Two applies of one plan at the same time (two CI jobs without a concurrency group) would each
create every missing object: duplicates. So ``slogen apply`` holds each target's lock from
before its last staleness check until its last write (:func:`slogen.plan.planner.locked`).

Two kinds of lock, both behind ``Target.lock(holder, timeout)``:

* :func:`file_lock` for the ``files`` targets: ``fcntl.flock`` on ``.slogen.lock`` in the target
  directory. The OS drops it when the process ends, however it ends, so it needs no expiry.
* :func:`lease_lock` for API targets, over a :class:`LeaseStore` (an object per contender in
  the target itself: a muted Datadog monitor, a CloudWatch alarm, a ruler rule group). Few
  APIs have a conditional create, so the protocol needs only create-or-overwrite-my-own-entry,
  list and delete, and is safe as long as a list sees every create that finished before it:
  write my entry, list; alone (expired entries aside) -> mine, marked *held*; anyone else there
  -> remove mine, then wait (someone holds it) or retry after a random pause (others are only
  trying too). Two contenders can never both be alone, since each writes before it lists.
  Entries are *leases*: they expire :data:`LEASE_SECONDS` after the last renewal (a thread
  renews every :data:`RENEW_SECONDS` while the apply runs), so a crashed apply blocks others for
  at most that long; an expired entry is removed by the next contender, with a note.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import random
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from slogen.errors import SlogenError

LEASE_SECONDS = 300.0  # a lease not renewed for this long is free for the taking
RENEW_SECONDS = 60.0  # how often a running apply renews its lease
POLL_SECONDS = 2.0  # how often a waiting apply looks again
CONTENTION_TRIES = 25  # retries among contenders none of which holds the lock yet
LOCK_FILE = ".slogen.lock"

Note = Callable[[str], None]


def holder() -> str:
    """Who is applying, for the message another apply prints: ``user@host pid N`` and the
    GitHub Actions run when there is one (a CI job's user and host say little)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    text = f"{user}@{socket.gethostname()} pid {os.getpid()}"
    run_id = os.environ.get("GITHUB_RUN_ID", "").strip()
    workflow = os.environ.get("GITHUB_WORKFLOW", "").strip()
    if run_id or workflow:
        of = f" of {workflow!r}" if workflow else ""
        text += f" (GitHub Actions run {run_id or '?'}{of})"
    return text


def stamp(when: float) -> str:
    """A time for a message: UTC, to the second."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def locked_error(label: str, by: str, since: float | None, expires: float | None) -> SlogenError:
    """The error of an apply that found the target locked by someone else."""
    when = f" since {stamp(since)}" if since else ""
    until = f" (expires {stamp(expires)})" if expires else " (released when that process ends)"
    return SlogenError(
        f"{label} is locked by {by}{when}{until}",
        hint="another slogen apply is changing this target; nothing was changed. Wait for it, "
        "or pass --lock-timeout SECONDS to wait for the lock",
    )


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While locks are held, SIGTERM (a cancelled CI job, ``kill``) unwinds like Ctrl-C, so the
    locks are released on the way out instead of lingering until their leases expire."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- files: flock -----------------------------------------------------------------------------


def _read_holder(handle: int) -> tuple[str, float | None]:
    try:
        os.lseek(handle, 0, os.SEEK_SET)
        data = json.loads(os.read(handle, 4096).decode("utf-8") or "{}")
        return str(data.get("holder") or "another process"), float(data.get("since") or 0) or None
    except (OSError, ValueError, AttributeError):
        return "another process", None


def _open_locked(path: Path, label: str, deadline: float) -> int:
    """An open handle of ``path`` holding its ``flock``, once the file is the one at ``path``
    (the holder before unlinks it when done: a lock on the unlinked file is no lock)."""
    import fcntl

    while True:
        try:
            handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SlogenError(f"cannot lock {label}: {exc}") from None
        try:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise SlogenError(f"cannot lock {label}: {exc}") from None
                if time.monotonic() >= deadline:
                    by, since = _read_holder(handle)
                    raise locked_error(label, by, since, None)
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(handle).st_ino:
                    return handle
        except BaseException:
            os.close(handle)
            raise
        os.close(handle)  # released and unlinked meanwhile: lock the file there now


@contextlib.contextmanager
def file_lock(directory: Path, label: str, who: str, timeout: float) -> Iterator[None]:
    """Hold ``fcntl.flock`` on ``directory/.slogen.lock`` (waiting up to ``timeout`` seconds).

    The file holds the holder's name for another apply's message, and is removed when the lock
    is released, so the directory holds only what it held before. Readers of the directory skip
    it anyway: it is not a rule or JSON file. The OS drops the lock with the process, so a
    killed apply never blocks the next one (its file stays, unlocked, and is reused).
    """
    path = directory / LOCK_FILE
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SlogenError(f"cannot lock {label}: {exc}") from None
    handle = _open_locked(path, label, time.monotonic() + max(0.0, timeout))
    try:
        os.ftruncate(handle, 0)
        os.lseek(handle, 0, os.SEEK_SET)
        os.write(handle, json.dumps({"holder": who, "since": time.time()}).encode("utf-8"))
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still holding the lock (see _open_locked)
        os.close(handle)  # closing drops the flock


# -- API targets: leases ----------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """One contender's entry. ``ref`` is the store's id for it (a monitor id, a name)."""

    token: str
    holder: str
    since: float
    expires: float
    held: bool = False
    ref: str = ""

    def expired(self, now: float) -> bool:
        return self.expires <= now

    def as_json(self) -> str:
        return json.dumps(
            {
                "token": self.token,
                "holder": self.holder,
                "since": self.since,
                "expires": self.expires,
                "held": self.held,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, ref: str = "") -> Lease | None:
        """The lease an entry's text describes; None for text that is not one (left alone)."""
        try:
            data = json.loads(text)
            return cls(
                str(data["token"]),
                str(data["holder"]),
                float(data["since"]),
                float(data["expires"]),
                bool(data.get("held")),
                ref,
            )
        except (ValueError, KeyError, TypeError):
            return None


class LeaseStore(Protocol):
    """Where a target keeps its lock entries; errors are :class:`SlogenError`."""

    def put(self, lease: Lease) -> Lease:
        """Create the entry (empty ``ref``) or overwrite it; return it with its ``ref``."""
        ...

    def entries(self) -> list[Lease]:
        """Every lock entry of this target."""
        ...

    def remove(self, lease: Lease) -> None:
        """Delete the entry; one already gone counts as removed."""
        ...


def _others(store: LeaseStore, token: str, now: float, label: str, note: Note) -> list[Lease]:
    """The unexpired entries of other contenders; expired ones are removed, with a note."""
    others = []
    for entry in store.entries():
        if entry.token == token:
            continue
        if entry.expired(now):
            note(
                f"{label}: took over the lock of {entry.holder}, whose lease expired at "
                f"{stamp(entry.expires)} (a crashed or killed apply?)"
            )
            store.remove(entry)
            continue
        others.append(entry)
    return others


def _acquire(store: LeaseStore, label: str, who: str, timeout: float, note: Note) -> Lease:
    deadline = time.monotonic() + max(0.0, timeout)
    token = secrets.token_hex(8)
    contention = 0
    while True:
        now = time.time()
        mine = store.put(Lease(token, who, now, now + LEASE_SECONDS))
        try:
            others = _others(store, token, now, label, note)
            if not others:
                return store.put(replace(mine, held=True))
        except BaseException:  # an interrupt or a failed request: leave no entry behind
            with contextlib.suppress(SlogenError):
                store.remove(mine)
            raise
        store.remove(mine)
        holders = [e for e in others if e.held]
        if not holders and contention < CONTENTION_TRIES:
            contention += 1  # only contenders: one of us wins after a random pause
            time.sleep(random.uniform(0.05, 0.5))
            continue
        blocker = min(holders or others, key=lambda e: e.since)
        left = deadline - time.monotonic()
        if left <= 0:
            raise locked_error(label, blocker.holder, blocker.since, blocker.expires)
        time.sleep(min(POLL_SECONDS, left) * random.uniform(0.7, 1.0))


def _to_stderr(text: str) -> None:
    """Notes go where the apply's progress goes: the terminal or the CI log."""
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def lease_lock(
    store: LeaseStore, label: str, who: str, timeout: float, note: Note | None = None
) -> Iterator[None]:
    """Hold the target's lease (waiting up to ``timeout`` seconds), renewed while held and
    removed on the way out, also after a failure or an interrupt."""
    tell = note or _to_stderr
    mine = _acquire(store, label, who, timeout, tell)
    with renewed(label, mine, store.put, store.remove, (SlogenError,), tell):
        yield


@contextlib.contextmanager
def renewed(
    label: str,
    mine: Lease,
    put: Callable[[Lease], Lease],
    remove: Callable[[Lease], None],
    errors: tuple[type[Exception], ...],
    tell: Note = _to_stderr,
) -> Iterator[None]:
    """While held, renew the lease ``mine`` through ``put`` every RENEW_SECONDS; on the way
    out (also after a failure or an interrupt) ``remove`` it. A renewal or removal failing with
    one of ``errors`` is told, not raised: the apply goes on and the lease lapses by itself."""
    stop = threading.Event()

    def renew() -> None:
        nonlocal mine
        while not stop.wait(RENEW_SECONDS):
            try:
                mine = put(replace(mine, expires=time.time() + LEASE_SECONDS))
            except errors as exc:
                tell(f"{label}: could not renew the lock: {exc}")

    renewer = threading.Thread(target=renew, name="slogen-lock-renewal", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(timeout=30)
        try:
            remove(mine)
        except errors as exc:
            tell(f"{label}: could not release the lock (it expires {stamp(mine.expires)}): {exc}")
