"""The requests of each kind of change, for the shared executor (:mod:`slogen.plan.executor`).

The executor decides order, concurrency and what a failure means for other changes; this says
how one change is made in Datadog: bodies with ``${kind:key}`` symbols resolved to the ids known
now (live ones, and ones created earlier in the same apply), partial monitor updates that keep
the options slogen does not manage, dashboards replaced as a whole (:mod:`.dashboards`), 404 on
delete as success, and the adoption of a monitor, SLO or dashboard whose create answer was
lost.

Creates are sent once (``idempotent=False``: Datadog's POST is not an upsert, and an SLO create
repeated after a lost answer makes a second SLO for one key). When the outcome is unknown the
executor asks :meth:`DatadogRequests.find`, which lists the owned objects again and adopts the
one carrying the key (:mod:`slogen.plan.creates`); a monitor create repeated anyway is refused
as a duplicate by Datadog (``Duplicate of an existing monitor_id``) and adopted the same way.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable, Sequence
from typing import Any

from slogen.backends.datadog import dashboard
from slogen.backends.datadog.api import dashboards as dashboard_api
from slogen.backends.datadog.api.client import WORKERS, Client, DatadogError
from slogen.backends.datadog.api.read import Snapshot, list_owned_monitors, list_owned_slos
from slogen.backends.datadog.dashboard import KIND
from slogen.backends.datadog.facts import MANAGED_OPTIONS, SYMBOL_RE, symbol_text
from slogen.backends.datadog.normalise import ownership
from slogen.plan.executor import Budget
from slogen.plan.model import CREATE, REPLACE, Change
from slogen.resources import Resource

_DUPLICATE_RE = re.compile(r"Duplicate of an existing monitor_id:(\d+)")


class Unresolved(Exception):
    """A body names an object that neither exists nor is created by this apply."""


class DatadogRequests:
    """A :class:`slogen.plan.executor.Requests` for one Datadog account, for one apply."""

    budget = Budget(workers=WORKERS)
    delete_batch = 1  # Datadog deletes one monitor or SLO per request

    def __init__(self, client: Client, snap: Snapshot):
        self.client = client
        self.ids = {
            "slo": dict(snap.slo_ids),
            "monitor": dict(snap.monitor_ids),
            KIND: dict(snap.dashboard_ids),
        }
        self.lock = threading.Lock()
        self.project = snap.project  # a re-read adopts only this project's objects

    # ids ----------------------------------------------------------------------------------------

    def resolve(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body with every ``${kind:key}`` replaced by the object's current id."""
        missing: list[str] = []

        def sub(m: re.Match[str]) -> str:
            with self.lock:
                found = self.ids[m.group(1)].get(m.group(2))
            if found is None:
                missing.append(f"{m.group(1)} {m.group(2)}")
                return m.group(0)
            return found

        out = dict(body)
        if isinstance(out.get("query"), str):
            out["query"] = SYMBOL_RE.sub(sub, out["query"])
        if "widgets" in out:  # a dashboard: its SLO widgets name SLOs
            with self.lock:
                slo_ids = dict(self.ids["slo"])
            out = dashboard.resolve(out, slo_ids, missing)
        if missing:
            raise Unresolved("references " + ", ".join(missing) + ", which does not exist")
        return out

    def remember(self, kind: str, key: str, object_id: Any) -> None:
        with self.lock:
            self.ids[kind][key] = str(object_id)

    def forget(self, kind: str, key: str, object_id: str) -> None:
        with self.lock:
            if self.ids[kind].get(key) == object_id:
                del self.ids[kind][key]

    # the executor's questions -------------------------------------------------------------------

    def refusals(self, changes: Sequence[Change]) -> dict[str, str]:
        """Changes whose bodies name an object that exists nowhere and is not being created."""
        coming = {
            (c.resource.kind, c.resource.key) for c in changes if c.action in (CREATE, REPLACE)
        }
        refused: dict[str, str] = {}
        for change in changes:
            if change.after is None:
                continue
            missing = [
                f"{kind} {key}"
                for kind, key in SYMBOL_RE.findall(symbol_text(change.after.body))
                if key not in self.ids[kind] and (kind, key) not in coming
            ]
            if missing:
                refused[change.address] = (
                    "references " + ", ".join(dict.fromkeys(missing)) + ", which does not exist"
                )
        return refused

    def batch_key(self, resource: Resource) -> Hashable:
        return resource.kind

    def error_text(self, exc: BaseException) -> str:
        if isinstance(exc, DatadogError | Unresolved):
            return str(exc)
        return f"{type(exc).__name__}: {exc}"

    # single operations ----------------------------------------------------------------------

    def outcome_unknown(self, exc: BaseException) -> bool:
        """A 5xx or a lost answer: Datadog may have stored the create (re-read first)."""
        return isinstance(exc, DatadogError) and exc.unknown

    def find(self, res: Resource) -> bool:
        """Whether an owned object of ``res``'s kind carries its key now; adopted if so (its id
        remembered, its body sent again so it is exactly what this apply wants)."""
        if res.kind == KIND:
            found_id = dashboard_api.find(self.client, res.key, self.project)
            if found_id is None:
                return False
            dashboard_api.update(self.client, res.key, found_id, self.resolve(res.body))
            self.remember(res.kind, res.key, found_id)
            return True
        if res.kind == "slo":
            items = list_owned_slos(self.client)
        else:
            items = list_owned_monitors(self.client)
        found = [item for item in items if ownership(item.get("tags"), self.project) == res.key]
        if res.kind != "slo":  # the oldest keeps the key, as the read does (SLOs: list order)
            found.sort(key=lambda item: int(item.get("id") or 0))
        if not found:
            return False
        object_id = str(found[0]["id"])
        body = self.resolve(res.body)
        if res.kind == "slo":
            call, params = self.client.slos.update_slo, {"slo_id": object_id}
        else:
            call, params = self.client.monitors.update_monitor, {"monitor_id": int(object_id)}
        self.client.call(f"updating {res.kind} {res.key}", call, body=body, **params)
        self.remember(res.kind, res.key, object_id)
        return True

    def create(self, res: Resource) -> None:
        body = self.resolve(res.body)
        if res.kind == "slo":
            answer = self.client.call(
                f"creating SLO {res.key}",
                self.client.slos.create_slo,
                idempotent=False,
                body=body,
            )
            new_id = str(answer["data"][0]["id"])
        elif res.kind == KIND:  # POST is no upsert: adopt one a short list page hid
            found = dashboard_api.find(self.client, res.key, self.project)
            if found is not None:
                dashboard_api.update(self.client, res.key, found, body)
                new_id = found
            else:
                new_id = dashboard_api.create(self.client, res.key, body)
        else:
            new_id = self._create_monitor(res, body)
        self.remember(res.kind, res.key, new_id)

    def _create_monitor(self, res: Resource, body: dict[str, Any]) -> str:
        try:
            answer = self.client.call(
                f"creating monitor {res.key}",
                self.client.monitors.create_monitor,
                idempotent=False,
                body=body,
            )
            return str(answer["id"])
        except DatadogError as exc:
            # A create whose answer was lost (a 5xx or a timeout after Datadog stored it)
            # is refused on retry as a duplicate of the stored monitor. If that monitor is
            # ours under this very key, adopt it and bring it up to date; anything else is
            # a real error (slogen never takes over a monitor it does not own).
            found = _DUPLICATE_RE.search(exc.message) if exc.status == 400 else None
            if not found:
                raise
            new_id = found.group(1)
            existing = self.client.call(
                f"reading monitor {new_id}",
                self.client.monitors.get_monitor,
                monitor_id=int(new_id),
            )
            if ownership((existing or {}).get("tags"), self.project) != res.key:
                raise
            self.client.call(
                f"updating monitor {res.key}",
                self.client.monitors.update_monitor,
                monitor_id=int(new_id),
                body=body,
            )
            return new_id

    def update(self, change: Change) -> None:
        res = change.after
        assert res is not None and change.before is not None
        object_id = str(change.before.live_id)
        body = self.resolve(res.body)
        if res.kind == KIND:  # a dashboard PUT replaces the whole dashboard
            dashboard_api.update(self.client, res.key, object_id, body)
            return
        if res.kind == "slo":  # an SLO PUT replaces the whole object
            self.client.call(
                f"updating SLO {res.key}",
                self.client.slos.update_slo,
                slo_id=object_id,
                body=body,
            )
            return
        changed = {f.path.split(".")[0].split("[")[0] for f in change.fields}
        if "" in changed:  # the whole body differs: send every managed field
            changed = set(body)
        changed.discard("type")  # only metric alert <-> query alert gets here: not a change
        update = {name: body[name] for name in changed if name in body}
        for name in changed - set(body):
            if name == "priority":
                update["priority"] = None
        if "options" in changed:
            # A PUT replaces the stored options as a whole: keep the options slogen does not
            # manage (mutes, delays...) from the monitor as it is now.
            live = self.client.call(
                f"reading monitor {res.key}",
                self.client.monitors.get_monitor,
                monitor_id=int(object_id),
            )
            options = {
                k: v
                for k, v in (live.get("options") or {}).items()
                if k not in MANAGED_OPTIONS.get(res.body["type"], ())
            }
            options.update(body["options"])
            update["options"] = options
            if "query" not in update and "thresholds" in body["options"]:
                update["query"] = body["query"]  # keep threshold and query consistent
        self.client.call(
            f"updating monitor {res.key}",
            self.client.monitors.update_monitor,
            monitor_id=int(object_id),
            body=update,
        )

    def delete(self, resources: Sequence[Resource]) -> None:
        for res in resources:  # delete_batch is 1: one object per call
            self._delete(res)

    def _delete(self, res: Resource) -> None:
        object_id = str(res.live_id)
        try:
            if res.kind == KIND:
                dashboard_api.delete(self.client, res.key, object_id)
            elif res.kind == "slo":
                self.client.call(
                    f"deleting SLO {res.key}", self.client.slos.delete_slo, slo_id=object_id
                )
            else:
                self.client.call(
                    f"deleting monitor {res.key}",
                    self.client.monitors.delete_monitor,
                    monitor_id=int(object_id),
                )
        except DatadogError as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise
        self.forget(res.kind, res.key, object_id)

    def repoint(self, resource: Resource) -> None:
        """PUT the query of a composite (not itself changing) after a child was replaced."""
        with self.lock:
            object_id = self.ids["monitor"].get(resource.key)
        if object_id is None or resource.kind != "monitor":
            return
        body = self.resolve(resource.body)
        self.client.call(
            f"re-pointing composite {resource.key}",
            self.client.monitors.update_monitor,
            monitor_id=int(object_id),
            body={"query": body["query"]},
        )
