"""Plan and apply across backends: render desired, read live, diff, execute.

This is the only module that drives backends; the CLI calls it and renders what it returns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from slogen.backends import registry
from slogen.backends.contract import Backend
from slogen.errors import SlogenError
from slogen.plan.diff import diff
from slogen.plan.model import DELETE, REPLACE, Change, Plan, TargetState
from slogen.plan.outcome import FAILED, SKIPPED, ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import LiveState, Resource
from slogen.spec.model import Project, Target


def select_backends(project: Project, only: Iterable[str] = ()) -> list[Backend]:
    """The backends to plan, in registry order (``only``: the ``--target`` choices)."""
    only = list(only)
    names = registry.every()
    unknown = [b for b in only if b not in names]
    if unknown:
        raise SlogenError(
            f"unknown backend '{unknown[0]}'",
            hint=f"--target takes {registry.listing(names=names)}",
        )
    return [registry.get(b) for b in names if not only or b in only]


def make_plan(
    project: Project,
    only: Iterable[str] = (),
    templates: str | None = None,
    keep: bool = True,
) -> Plan:
    """Render, read live and diff every selected backend. The project must have passed
    :func:`slogen.validation.validate` (the CLI runs it first).

    Backends are diffed one at a time (the diff of one backend never looks at another's
    resources, and the plan lists backends in registry order either way). ``keep`` keeps what
    saving, applying or printing the plan as JSON needs: every desired resource and each
    target's live state for its fingerprint. A plan only shown (``keep=False``) lets go of a
    backend's rendered and live resources once its changes are known, so the peak memory is
    that of the largest backend, not of all of them together (at 5,000 SLOs, the Grafana
    dashboards alone hold about 100 MiB).
    """
    parts: list[Plan] = []
    warnings: list[str] = []
    for backend in select_backends(project, only):
        target = backend.target(project.target(backend.name))
        warnings.extend(f"{backend.name}: {note}" for note in backend.plan_notes(project))
        wanted = backend.render(project, templates)
        state = target.read_live(wanted)
        problems = target.conflicts(wanted, state)
        if problems:
            raise SlogenError(f"cannot plan {backend.name}: " + "; ".join(problems))
        warnings.extend(f"{backend.name}: {w}" for w in state.warnings)
        digest = _fingerprint_of(state) if keep else _not_kept
        part = diff(
            wanted,
            state.resources,
            backend.capabilities.immutable,
            [TargetState(backend.name, target.name, digest)],
        )
        if not keep:
            part.desired = []
        parts.append(part)
        del wanted, state  # before the next backend renders
    return Plan(
        changes=[c for part in parts for c in part.changes],
        unchanged=sum(part.unchanged for part in parts),
        targets=[t for part in parts for t in part.targets],
        warnings=warnings,
        desired=[r for part in parts for r in part.desired],
    )


def _dependencies_first(changes: list[Change]) -> list[Change]:
    """``changes`` reordered so each comes after those (among them) it depends on; stable."""
    by_key = {c.resource.key: c for c in changes}
    done: set[str] = set()
    result: list[Change] = []

    def visit(change: Change, trail: tuple[str, ...] = ()) -> None:
        key = change.resource.key
        if key in done or key in trail:
            return
        for dep in change.resource.depends_on:
            if dep in by_key:
                visit(by_key[dep], (*trail, key))
        done.add(key)
        result.append(change)

    for change in changes:
        visit(change)
    return result


def ordered(changes: list[Change]) -> list[Change]:
    """Dependencies first for creates and updates; deletes afterwards, dependants first.

    A replacement is a delete followed by a create, so it is ordered with the creates (the
    backend deletes the old object right before creating the new one).
    """
    upserts = [c for c in changes if c.action != DELETE]
    deletes = [c for c in changes if c.action == DELETE]
    # Deletes: the reverse of a dependencies-first order of the deletes (taken in reverse, so
    # that independent deletes keep the plan's order).
    return _dependencies_first(upserts) + list(reversed(_dependencies_first(deletes[::-1])))


def _known(plan: Plan, state: TargetState) -> list[Resource]:
    """What a saved plan expects at a target: its desired resources and the live ones it saw."""
    here = (state.backend, state.target)
    known = [r for r in plan.desired if (r.backend, r.target) == here]
    for change in plan.changes:
        if change.before is not None and (change.before.backend, change.before.target) == here:
            known.append(change.before)
    return known


def check_fresh(plan: Plan, targets: dict[str, Target]) -> None:
    """Refuse a saved plan whose targets changed since it was made."""
    stale = []
    for state in plan.targets:
        target = registry.get(state.backend).target(targets[state.backend])
        live = target.read_live(_known(plan, state))
        if live.fingerprint != state.fingerprint:
            stale.append(f"{state.backend} ({state.target})")
            continue
        # what slogen owns is unchanged, but something it does not own may have appeared where
        # the plan would write (a hand-made rule group or file of the same name)
        here = (state.backend, state.target)
        desired = [r for r in plan.desired if (r.backend, r.target) == here]
        problems = target.conflicts(desired, live)
        if problems:
            raise SlogenError(
                f"cannot apply to {state.backend}: " + "; ".join(problems),
                hint="nothing was changed; resolve the conflict, then plan again",
            )
    if stale:
        raise SlogenError(
            "the plan is stale: live state changed since it was made for " + ", ".join(stale),
            hint="nothing was changed; run 'slogen plan -o PLANFILE' again and review the new plan",
        )


@contextlib.contextmanager
def locked(
    plan: Plan,
    targets: dict[str, Target],
    timeout: float,
) -> Iterator[None]:
    """Hold the lock of every target the plan changes, in plan order (the same order for every
    apply, so two applies never wait on each other crosswise); all are released on the way
    out, also after a failure or an interrupt. ``slogen apply`` re-checks freshness and
    executes inside: another apply of the same plan then finds nothing left to do."""
    from slogen.plan.lock import holder, terminate_as_interrupt

    who = holder()
    with terminate_as_interrupt(), contextlib.ExitStack() as stack:
        for state in plan.targets:
            if not plan.for_target(state.backend, state.target):
                continue
            target = registry.get(state.backend).target(targets[state.backend])
            stack.enter_context(target.lock(who, timeout))
        yield


def apply_plan(plan: Plan, targets: dict[str, Target], lock_timeout: float | None) -> ApplyReport:
    """What ``slogen apply`` does once a plan is approved: lock its targets (waiting up to
    ``lock_timeout`` seconds; None: no lock), check again under the lock that the plan is still
    fresh - from then on no other apply changes these targets - and execute it."""
    if lock_timeout is None:
        return execute(plan, targets, Progress(len(plan.changes)))
    with locked(plan, targets, lock_timeout):
        check_fresh(plan, targets)
        return execute(plan, targets, Progress(len(plan.changes)))


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
        target = registry.get(state.backend).target(targets[state.backend])
        try:
            report.merge(target.apply(changes, desired, progress))
        except SlogenError as exc:
            attempted = {o.change.address for o in report.outcomes}
            for change in changes:
                if change.address not in attempted:
                    report.add(change, FAILED if not report.outcomes else SKIPPED, exc.message)
            hint = f" (hint: {exc.hint})" if exc.hint else ""
            report.errors.append(f"{state.backend}: {exc.message}{hint}")
    progress.finish()
    return report


__all__ = ["REPLACE", "apply_plan", "check_fresh", "execute", "locked", "make_plan", "ordered"]


def _not_kept() -> str:
    raise RuntimeError("the plan was made with keep=False: it has no live fingerprints")


def _fingerprint_of(state: LiveState) -> Callable[[], str]:
    """The live state's fingerprint, computed when first asked for (see TargetState)."""
    return lambda: state.fingerprint
