"""The diff: a pure function from (desired, live) resources to a :class:`Plan`.

It reads nothing and prints nothing, so it can be tested exhaustively and a plan can be shown,
saved and applied by different code. Live resources are assumed to be only those slogen owns:
every live resource that is not desired is deleted, and nothing else ever is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from slogen.backends.registry import order
from slogen.plan.model import (
    CREATE,
    DELETE,
    MISSING,
    REPLACE,
    UPDATE,
    Change,
    FieldChange,
    Plan,
    TargetState,
)
from slogen.resources import Resource


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Leaf-level differences between two JSON-like values, with nested paths.

    Mappings recurse key by key; lists of equal length recurse item by item; anything else that
    differs (including a list that grew or shrank) is one change at ``path``.
    """
    if before is after:  # e.g. a live file that holds exactly what was rendered
        return []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: list[FieldChange] = []
        for key in sorted(set(before) | set(after), key=str):
            out.extend(
                field_changes(before.get(key, MISSING), after.get(key, MISSING), _join(path, key))
            )
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            out.extend(field_changes(b, a, _join(path, index)))
        return out
    if before is MISSING and after is MISSING:
        return []
    if before == after and type(before) is type(after):
        return []
    return [FieldChange(path, before, after)]


def _sort_key(res: Resource) -> tuple:
    return (order(res.backend), res.backend, res.target, res.key, res.kind)


def diff(
    desired: Iterable[Resource],
    live: Iterable[Resource],
    immutable: Mapping[str, Iterable[str]] | None = None,
    targets: Iterable[TargetState] = (),
    warnings: Iterable[str] = (),
) -> Plan:
    """Compare desired with live resources.

    ``immutable`` maps a resource kind to body paths that cannot change in place; a change to
    one of them turns an update into a replacement (delete then create).
    """
    immutable = {kind: set(paths) for kind, paths in (immutable or {}).items()}
    desired_list = list(desired)
    by_address_live = {r.address: r for r in live}
    by_address_desired: dict[str, Resource] = {}
    for res in desired_list:
        if res.address in by_address_desired:
            raise ValueError(f"two desired resources share the address {res.address}")
        by_address_desired[res.address] = res
    changes: list[Change] = []
    unchanged = 0
    for address in sorted(
        set(by_address_live) | set(by_address_desired),
        key=lambda a: _sort_key(by_address_desired.get(a) or by_address_live[a]),
    ):
        want = by_address_desired.get(address)
        have = by_address_live.get(address)
        if have is None:
            changes.append(Change(CREATE, None, want))
            continue
        if want is None:
            changes.append(Change(DELETE, have, None))
            continue
        fields = field_changes(have.body, want.body)
        if not fields:
            unchanged += 1
            continue
        fixed = immutable.get(want.kind, set())
        marked = tuple(
            FieldChange(f.path, f.before, f.after, forces_replacement=f.path in fixed)
            for f in fields
        )
        action = REPLACE if any(f.forces_replacement for f in marked) else UPDATE
        changes.append(Change(action, have, want, marked))
    return Plan(
        changes=changes,
        unchanged=unchanged,
        targets=list(targets),
        warnings=list(warnings),
        desired=desired_list,
    )


def apply_to(live: Iterable[Resource], changes: Iterable[Change]) -> list[Resource]:
    """The live state after a plan's changes succeed (pure; used by file targets and tests)."""
    state = {r.address: r for r in live}
    for change in changes:
        if change.action == DELETE:
            state.pop(change.address, None)
        else:
            assert change.after is not None
            state[change.address] = change.after
    return sorted(state.values(), key=_sort_key)
