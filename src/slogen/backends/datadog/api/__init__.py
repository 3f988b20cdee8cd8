"""The Datadog ``api`` target: read and change monitors and SLOs through datadog-api-client.

:mod:`.client` talks to Datadog (keys from the environment, retries), :mod:`.read` lists what
slogen owns, :mod:`.requests` says how each change is made; the order, concurrency and failure
handling of an apply are the shared executor's (:func:`slogen.plan.executor.execute`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

from slogen.backends import scope
from slogen.backends.contract import target_label
from slogen.backends.datadog.api.client import Client
from slogen.backends.datadog.api.read import read_live, read_snapshot
from slogen.backends.datadog.api.requests import DatadogRequests
from slogen.backends.datadog.facts import BACKEND
from slogen.plan.executor import execute
from slogen.plan.model import Change
from slogen.plan.outcome import ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import LiveState, Resource
from slogen.spec.model import Target as TargetSettings


class ApiTarget:
    """A Datadog account (a :class:`~slogen.backends.contract.Target`)."""

    def __init__(self, settings: TargetSettings):
        self.settings = settings
        self.name = target_label(settings)

    def read_live(self, known: Sequence[Resource]) -> LiveState:
        return read_live(self.settings, known)

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        """Unowned objects are never touched; a key another slogen project holds blocks."""
        return scope.conflicts(desired, live)

    def lock(self, holder: str, timeout: float) -> AbstractContextManager[None]:
        """A lease kept as a silent monitor tagged ``slogen-lock`` (see :mod:`.lock`)."""
        from slogen.backends.datadog.api.lock import account_lock

        return account_lock(self.settings, f"datadog ({self.name})", holder, timeout)

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        """Make Datadog match: SLOs before the monitors that use them, children before
        composites; deletes afterwards in reverse. The ids of what exists are read first, so
        bodies can name live objects; a replaced monitor's composites are re-pointed."""
        with Client(self.settings) as client:
            snap = read_snapshot(client, project=scope.project_of(self.settings))
            report = execute(
                DatadogRequests(client, snap), changes, desired, progress, label=BACKEND
            )
            report.notes.append(
                f"Datadog: {client.requests} API request(s) to {client.settings.host}."
            )
            return report
