"""Plan and apply across backends: render desired, read live, diff, execute.

This is the only module that drives backends; the CLI calls it and renders what it returns.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

from slogen.backends import backend_module
from slogen.errors import SlogenError
from slogen.plan.diff import diff
from slogen.plan.model import DELETE, REPLACE, Change, Plan, TargetState
from slogen.plan.outcome import FAILED, SKIPPED, ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import Resource
from slogen.spec.model import Project, Target


def implemented(backend: str) -> bool:
    """Whether this installation has the backend's module (render/read_live/apply)."""
    return importlib.util.find_spec(f"slogen.backends.{backend}") is not None


def target_name(target: Target) -> str:
    return f"{target.type}:{target.option('dir', '')}" if target.type == "files" else target.type


def select_backends(project: Project, only: Iterable[str] = ()) -> list[str]:
    only = list(only)
    unknown = [b for b in only if b not in ("prometheus", "datadog", "cloudwatch")]
    if unknown:
        raise SlogenError(
            f"unknown backend '{unknown[0]}'",
            hint="--target takes prometheus, datadog or cloudwatch",
        )
    return [b for b in ("prometheus", "datadog", "cloudwatch") if not only or b in only]


def make_plan(project: Project, only: Iterable[str] = (), templates: str | None = None) -> Plan:
    desired: list[Resource] = []
    live: list[Resource] = []
    states: list[TargetState] = []
    warnings: list[str] = []
    immutable: dict[str, set[str]] = {}
    for backend in select_backends(project, only):
        users = [f"{s.name}/{o.name}" for s, o in project.slos() if getattr(o.indicator, backend)]
        if not implemented(backend):
            if users:
                warnings.append(f"{backend}: this version cannot manage {backend} yet; skipped")
            continue
        module = backend_module(backend)
        target = project.target(backend)
        if hasattr(module, "plan_notes"):
            warnings.extend(f"{backend}: {note}" for note in module.plan_notes(project))
        wanted = module.render(project, target, templates)
        state = module.read_live(target, project)
        problems = module.conflicts(target, wanted, state)
        if problems:
            raise SlogenError(f"cannot plan {backend}: " + "; ".join(problems))
        warnings.extend(f"{backend}: {w}" for w in state.warnings)
        desired.extend(wanted)
        live.extend(state.resources)
        states.append(TargetState(backend, target_name(target), state.fingerprint))
        immutable.update(getattr(module, "IMMUTABLE", {}))
    return diff(desired, live, immutable, states, warnings)


def ordered(changes: list[Change]) -> list[Change]:
    """Dependencies first for creates and updates; deletes afterwards, dependants first.

    A replacement is a delete followed by a create, so it is ordered with the creates (the
    backend deletes the old object right before creating the new one).
    """
    upserts = [c for c in changes if c.action != DELETE]
    deletes = [c for c in changes if c.action == DELETE]
    keys = {c.resource.key: c for c in upserts}
    done: set[str] = set()
    result: list[Change] = []

    def visit(change: Change, trail: tuple[str, ...] = ()) -> None:
        key = change.resource.key
        if key in done or key in trail:
            return
        for dep in change.resource.depends_on:
            if dep in keys:
                visit(keys[dep], (*trail, key))
        done.add(key)
        result.append(change)

    for change in upserts:
        visit(change)
    # Deletes: dependants before what they depend on, i.e. the reverse of a
    # dependencies-first order of the deletes.
    delete_keys = {c.resource.key: c for c in deletes}
    deleted: set[str] = set()
    dependencies_first: list[Change] = []

    def visit_delete(change: Change, trail: tuple[str, ...] = ()) -> None:
        key = change.resource.key
        if key in deleted or key in trail:
            return
        for dep in change.resource.depends_on:
            if dep in delete_keys:
                visit_delete(delete_keys[dep], (*trail, key))
        deleted.add(key)
        dependencies_first.append(change)

    for change in reversed(deletes):
        visit_delete(change)
    result.extend(reversed(dependencies_first))
    return result


def check_fresh(plan: Plan, targets: dict[str, Target], project: Project | None) -> None:
    """Refuse a saved plan whose targets changed since it was made."""
    stale = []
    for state in plan.targets:
        module = backend_module(state.backend)
        target = targets[state.backend]
        if project is None and hasattr(module, "read_live_for_plan"):
            # Without the specs, a backend may need the plan to know what to read (CloudWatch:
            # the regions of the plan's alarms).
            live = module.read_live_for_plan(target, plan)
        else:
            live = module.read_live(target, project)
        if live.fingerprint != state.fingerprint:
            stale.append(f"{state.backend} ({state.target})")
    if stale:
        raise SlogenError(
            "the plan is stale: live state changed since it was made for " + ", ".join(stale),
            hint="nothing was changed; run 'slogen plan -o PLANFILE' again and review the new plan",
        )


def execute(
    plan: Plan,
    targets: dict[str, Target],
    progress: Progress,
) -> ApplyReport:
    """Apply every change of the plan through its backend; never raises for one failure."""
    report = ApplyReport()
    for state in plan.targets:
        changes = ordered(plan.for_target(state.backend, state.target))
        if not changes:
            continue
        desired = [
            r for r in plan.desired if (r.backend, r.target) == (state.backend, state.target)
        ]
        module = backend_module(state.backend)
        try:
            module.apply(targets[state.backend], changes, desired, progress, report)
        except SlogenError as exc:
            attempted = {o.change.address for o in report.outcomes}
            for change in changes:
                if change.address not in attempted:
                    report.add(change, FAILED if not report.outcomes else SKIPPED, exc.message)
            report.errors.append(f"{state.backend}: {exc.message}")
    progress.finish()
    return report


__all__ = ["REPLACE", "check_fresh", "execute", "make_plan", "ordered"]
