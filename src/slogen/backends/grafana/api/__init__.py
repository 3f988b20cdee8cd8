"""The Grafana ``api`` target: the service dashboards in one Grafana, through its HTTP API.

Reading is one search for slogen's tag (``managed-by:slogen``; one request per 5000 hits) and
one ``GET`` per dashboard found; a desired uid the search did not return is looked up too, so a
dashboard somebody else made at that uid is seen and is a conflict, never overwritten.

Writing, one change at a time (a handful of dashboards per project), and each checked against
what is live right before it:

* create: ``POST /api/dashboards/db`` with ``overwrite: false`` - Grafana refuses (412
  ``name-exists``) if the uid was taken meanwhile;
* update: ``GET`` it, check it still carries this project's marker, then ``POST`` it with the
  ``version`` just read and ``overwrite: false``: an edit in between is refused (412
  ``version-mismatch``) and reported, not overwritten;
* delete: ``GET`` it, check the marker, ``DELETE``; one already gone counts as deleted.

So slogen writes over a uid only when it has just seen its own marker there. A refused token
(401/403) stops the changes not yet started.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from slogen.backends import scope
from slogen.backends.contract import target_label
from slogen.backends.grafana import names
from slogen.backends.grafana.api.client import Client, GrafanaError
from slogen.backends.grafana.api.options import connection
from slogen.backends.grafana.dashboard import BACKEND, MANAGED_KEYS
from slogen.errors import SlogenError
from slogen.plan.model import CREATE, DELETE, Change
from slogen.plan.outcome import DONE, FAILED, SKIPPED, ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import LiveState, Resource
from slogen.spec.model import Target


def comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A live dashboard as render makes it: only the fields slogen sets (Grafana adds ``id``,
    ``version`` and may add defaults of its own)."""
    return {k: dashboard[k] for k in MANAGED_KEYS if k in dashboard}


def _read_error(exc: GrafanaError, url: str) -> SlogenError:
    if exc.status in (401, 403):
        hint = (
            "check targets.grafana.token: a service account token with the Editor role "
            "(or dashboards:read/write/delete) in the folder"
        )
    elif exc.status == 0:
        hint = "check targets.grafana.url and that Grafana is reachable from here"
    elif exc.status == 404:
        hint = "set targets.grafana.url to Grafana's base URL (slogen adds /api/...)"
    else:
        hint = "nothing was changed; try again later"
    return SlogenError(f"cannot read the dashboards at {url}: {exc.message}", hint=hint)


class ApiTarget:
    """A Grafana instance (a :class:`~slogen.backends.contract.Target`)."""

    def __init__(self, settings: Target) -> None:
        self.settings = settings
        self.name = target_label(settings)
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        """Made on first use, so ${VARIABLE}s are read only when Grafana is talked to."""
        if self._client is None:
            self._client = Client(connection(self.settings))
        return self._client

    @property
    def project(self) -> str | None:
        return scope.project_of(self.settings)

    # -- reading ----------------------------------------------------------------------------

    def read_live(self, known: Sequence[Resource]) -> LiveState:
        client = self.client
        wanted = {r.key: str(r.body.get("uid", "")) for r in known if r.backend == BACKEND}
        resources: list[Resource] = []
        foreign: dict[str, str | None] = {}
        unowned: dict[str, str] = {}  # uid -> title of a dashboard slogen does not manage
        try:
            hits = client.search(names.MANAGED_TAG)
            seen: set[str] = set()
            for hit in hits:
                uid, tags = str(hit.get("uid", "")), hit.get("tags")
                key = names.tag_value(tags, names.SERVICE_TAG)
                if not uid or key is None or not names.is_marked(tags):
                    continue
                seen.add(uid)
                marked = names.tag_value(tags, scope.PROJECT_TAG)
                if not scope.claims(self.project, marked, key, set(wanted)):
                    foreign[uid] = marked  # by uid: only the same uid is in the way
                    continue
                found = client.get(uid)
                if found is None:  # deleted between the search and the read
                    continue
                body = comparable(found["dashboard"])
                resources.append(Resource(BACKEND, self.name, names.KIND, key, body, live_id=uid))
            for uid in sorted(set(wanted.values())):
                if uid and uid not in seen:
                    self._look_up(uid, unowned, foreign)
        except GrafanaError as exc:
            raise _read_error(exc, client.conn.url) from None
        state = LiveState(resources, [], {"unowned": unowned})
        return scope.note(state, foreign, "dashboard")

    def _look_up(self, uid: str, unowned: dict[str, str], foreign: dict[str, str | None]) -> None:
        """A desired uid the tag search did not list: free, or someone else's."""
        found = self.client.get(uid)
        if found is None:
            return
        dashboard = found["dashboard"]
        tags = dashboard.get("tags")
        if not names.is_marked(tags):
            unowned[uid] = str(dashboard.get("title", ""))
        else:
            marked = names.tag_value(tags, scope.PROJECT_TAG)
            if marked != self.project:
                foreign[uid] = marked

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        """Desired uids held by a dashboard slogen does not manage, or by another project."""
        unowned: dict[str, str] = live.extra.get("unowned", {})
        problems = [
            f"dashboard {r.body['uid']} ('{unowned[r.body['uid']]}') exists in Grafana and is "
            f"not managed by slogen (no {names.MANAGED_TAG} tag); slogen never overwrites it: "
            "delete it or give it another uid in Grafana"
            for r in desired
            if r.body.get("uid") in unowned
        ]
        held: dict[str, str] = live.extra.get(scope.FOREIGN, {})
        problems += [
            f"dashboard {r.body['uid']} ({r.key}) is held by slogen project "
            f"'{held[r.body['uid']]}'; two projects cannot manage the same dashboard: rename the "
            "service in one of them, or remove it there"
            for r in desired
            if r.body.get("uid") in held
        ]
        return problems

    def lock(self, holder: str, timeout: float) -> AbstractContextManager[None]:
        """A lease kept as a dashboard tagged ``slogen-lock`` (see :mod:`.lock`)."""
        from slogen.backends.grafana.api.lock import grafana_lock

        return grafana_lock(self.client, f"grafana ({self.name})", holder, timeout)

    # -- writing ----------------------------------------------------------------------------

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        report = ApplyReport()
        if not changes:
            return report
        client = self.client  # a missing ${VAR} fails here, before any request
        fatal: GrafanaError | None = None
        for change in changes:
            if fatal is not None:
                report.add(change, SKIPPED)
                continue
            try:
                self._apply_one(change)
            except GrafanaError as exc:
                fatal = exc if exc.fatal else None
                report.add(change, FAILED, exc.message)
            except _Refused as exc:
                report.add(change, FAILED, str(exc))
            else:
                report.add(change, DONE)
            progress.step(f"{change.action} {change.address}")
        if fatal is not None:
            report.errors.append(f"grafana: Grafana refused the token: {fatal.message}")
        requests = sum(client.requests.values())
        report.notes.append(f"Grafana: {requests} API request(s) to {client.conn.url}.")
        return report

    def _owned_live(self, uid: str) -> dict[str, Any] | None:
        """The live dashboard at ``uid`` (None: gone), refusing one that is not this
        project's."""
        found = self.client.get(uid)
        if found is None:
            return None
        dashboard = found["dashboard"]
        tags = dashboard.get("tags")
        if not names.is_marked(tags) or not scope.belongs(
            self.project, names.tag_value(tags, scope.PROJECT_TAG)
        ):
            raise _Refused(
                f"dashboard {uid} is no longer marked as this project's; left alone "
                "(plan again to see why)"
            )
        return dashboard

    def _apply_one(self, change: Change) -> None:
        resource = change.resource
        uid = str(resource.body.get("uid") or resource.live_id or "")
        if change.action == DELETE:
            if self._owned_live(uid) is not None:
                self.client.delete(uid)
            return
        body = dict(resource.body)
        if change.action == CREATE:
            try:
                self.client.save(body, overwrite=False, message="slogen: created")
            except GrafanaError as exc:
                if exc.status == 412:
                    raise _Refused(
                        f"dashboard {uid} was created in Grafana since the plan ({exc.message}); "
                        "left alone: plan again"
                    ) from None
                raise
            return
        live = self._owned_live(uid)  # an update (or a replacement, which this never plans)
        if live is None:
            raise _Refused(f"dashboard {uid} was deleted since the plan; plan again")
        body["version"] = live.get("version")
        if live.get("id") is not None:
            body["id"] = live["id"]
        try:
            self.client.save(body, overwrite=False, message="slogen: updated from the specs")
        except GrafanaError as exc:
            if exc.status == 412:
                raise _Refused(
                    f"dashboard {uid} was changed in Grafana while slogen updated it "
                    f"({exc.message}); not overwritten: plan again"
                ) from None
            raise


class _Refused(Exception):
    """A change slogen will not make, as what is live is not what the plan saw."""
