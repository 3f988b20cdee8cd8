"""The ``ruler`` target: the Prometheus backend's rule groups in a Mimir/Cortex ruler namespace.

One rule group per SLO, named ``slogen/<service>/<slo>``, in the configured namespace (default
``slogen``); nothing outside that namespace, and nothing in it without slogen's marker (see
:mod:`.groups`), is ever read into the plan or written.

Requests, for any number of SLOs: reading is ONE ``GET`` of the tenant's whole rule
configuration; applying is one request per rule group with a change: ``POST`` of the full
desired group (the ruler replaces a group as a whole), or ``DELETE`` when none of the SLO's
resources is left. A plan with no changes makes no write request. Groups are written on a few
threads; a failure fails that group's changes only, except that refused credentials (401/403)
stop the groups not yet started (they are reported as not attempted).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager

from slogen.backends import scope
from slogen.backends.contract import target_label
from slogen.backends.prometheus import rulefiles
from slogen.backends.prometheus.ruler import groups as groups_mod
from slogen.backends.prometheus.ruler.client import Connection, RulerClient, RulerError
from slogen.backends.prometheus.ruler.options import connection
from slogen.errors import SlogenError
from slogen.plan.model import Change
from slogen.plan.outcome import DONE, FAILED, SKIPPED, ApplyReport
from slogen.plan.progress import Progress
from slogen.redact import redact
from slogen.resources import LiveState, Resource
from slogen.spec.model import Target

WORKERS = 4  # concurrent group writes


def _read_error(exc: RulerError, conn: Connection) -> SlogenError:
    """A failed list request as an error the user can act on."""
    url = conn.url + "/prometheus/config/v1/rules"
    if exc.status in (401, 403):
        hint = "check targets.prometheus.username/password or token" + (
            "" if conn.tenant else ", and set targets.prometheus.tenant (X-Scope-OrgID)"
        )
    elif exc.status == 404:
        hint = (
            "set targets.prometheus.url to the base URL of Mimir (slogen adds "
            "/prometheus/config/v1/rules), and check the ruler API is enabled (-ruler.enable-api)"
        )
    elif exc.status == 0:
        hint = "check targets.prometheus.url and that the ruler is reachable from here"
    elif exc.status == 429 or exc.status >= 500:
        hint = "the ruler is unavailable or overloaded; try again later (nothing was changed)"
    else:
        hint = "check the targets.prometheus settings; nothing was changed"
    return SlogenError(f"cannot read the rule groups at {url}: {exc.message}", hint=hint)


class RulerTarget:
    """The ruler target of the Prometheus backend (see the module docstring)."""

    def __init__(self, settings: Target) -> None:
        self.settings = settings
        self.name = target_label(settings)
        self._client: RulerClient | None = None

    @property
    def client(self) -> RulerClient:
        """Made on first use, so ${VARIABLE}s are read only when the ruler is talked to."""
        if self._client is None:
            self._client = RulerClient(connection(self.settings))
        return self._client

    # -- reading ----------------------------------------------------------------------------

    def read_live(self, known: Sequence[Resource] = ()) -> LiveState:
        """slogen's groups in the namespace, from one list request (``known`` is not needed:
        the list holds every group of the tenant)."""
        client = self.client
        conn = client.conn
        try:
            text = client.list_rules()
        except RulerError as exc:
            raise _read_error(exc, conn) from None
        found = groups_mod.parse_listing(text, client.rules_url, conn.namespace)
        resources: list[Resource] = []
        unowned: list[str] = []
        warnings: list[str] = []
        foreign: dict[str, str | None] = {}  # group name -> the other project (see scope.note)
        wanted = {rulefiles.GROUP_PREFIX + "/".join(r.key.split("/")[:2]) for r in known}
        for group in found:
            if not groups_mod.is_marked(group):
                unowned.append(group["name"])
                if groups_mod.slo_of(group["name"]) is not None:
                    warnings.append(
                        f"rule group '{group['name']}' in ruler namespace '{conn.namespace}' has "
                        "slogen's name but not its service/slo labels on every rule; "
                        "slogen leaves it alone"
                    )
                continue
            marked = groups_mod.project_of(group)
            if not scope.claims(scope.project_of(self.settings), marked, group["name"], wanted):
                foreign[group["name"]] = marked  # another project's, or before projects
                continue
            live_id = f"{conn.namespace}/{group['name']}"
            resources.extend(
                rulefiles.resources_from_groups([groups_mod.normalise(group)], self.name, live_id)
            )
        state = LiveState(resources, warnings, {"unowned": sorted(unowned)})
        return scope.note(state, foreign, "rule group")

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        """Desired groups whose name an unmarked group of the namespace already has."""
        namespace = self.client.conn.namespace
        unowned = set(live.extra.get("unowned", ()))
        problems = []
        for slo_key, group in sorted(rulefiles.slo_groups(list(desired)).items()):
            name = group["name"]
            service, slo = slo_key.split("/")
            if name in unowned:
                problems.append(
                    f"rule group '{name}' in ruler namespace '{namespace}' exists and is not "
                    f"managed by slogen (not all of its rules carry the labels service={service} "
                    f"and slo={slo}); rename or delete it, or set targets.prometheus.namespace "
                    "to another namespace"
                )
            elif not groups_mod.is_marked(group):  # render always labels every rule
                problems.append(f"rule group '{name}' would not carry slogen's labels")
        names = [g["name"] for g in rulefiles.slo_groups(list(desired)).values()]
        return problems + scope.unit_conflicts(names, live, "rule group")

    def lock(self, holder: str, timeout: float) -> AbstractContextManager[None]:
        """A lease kept as a rule group in the namespace ``<namespace>-lock`` (see :mod:`.lock`)."""
        from slogen.backends.prometheus.ruler.lock import ruler_lock

        return ruler_lock(self.client, f"prometheus ({self.name})", holder, timeout)

    # -- writing ----------------------------------------------------------------------------

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        """One request per changed group; every change reported DONE, FAILED or SKIPPED."""
        report = ApplyReport()
        by_group: dict[str, list[Change]] = {}
        for change in changes:
            slo_key = "/".join(change.resource.key.split("/")[:2])
            by_group.setdefault(slo_key, []).append(change)
        if not by_group:
            return report
        client = self.client  # a missing ${VAR} fails here, before any request
        wanted = rulefiles.slo_groups(list(desired))
        results: dict[str, RulerError | None] = {}
        fatal: list[RulerError] = []

        def write(slo_key: str) -> None:
            if fatal:
                raise _NotAttempted
            group = wanted.get(slo_key)
            try:
                if group is not None:
                    client.set_group(rulefiles.dump_yaml(group))
                else:
                    client.delete_group(rulefiles.GROUP_PREFIX + slo_key)
            except RulerError as exc:
                if exc.fatal:  # noted here, so that no worker starts another group
                    fatal.append(exc)
                raise

        pool = ThreadPoolExecutor(max_workers=min(WORKERS, len(by_group)))
        try:
            futures: dict[Future[None], str] = {
                pool.submit(write, key): key for key in sorted(by_group)
            }
            for future in as_completed(futures):
                key = futures[future]
                exc = future.exception()
                if isinstance(exc, _NotAttempted):
                    continue
                if exc is not None and not isinstance(exc, RulerError):
                    raise exc
                results[key] = exc
                for change in by_group[key]:
                    progress.step(f"{change.action} {change.address}")
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

        for key in sorted(by_group):
            name = rulefiles.GROUP_PREFIX + key
            for change in by_group[key]:
                if key not in results:
                    report.add(change, SKIPPED)
                elif results[key] is None:
                    report.add(change, DONE)
                else:
                    report.add(change, FAILED, redact(f"rule group {name}: {results[key]}"))
        if fatal:
            report.errors.append(
                redact(f"prometheus: the ruler refused the credentials: {fatal[0].message}")
            )
        return report


class _NotAttempted(Exception):
    """A group not written because the ruler had refused the credentials for another."""
