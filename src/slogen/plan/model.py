"""The data a plan is made of. No I/O here: plans are built by :mod:`diff` and consumed by the
renderers and by :mod:`apply`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slogen.resources import Resource

CREATE, UPDATE, DELETE, REPLACE, NOOP = "create", "update", "delete", "replace", "noop"
SYMBOLS = {CREATE: "+", UPDATE: "~", DELETE: "-", REPLACE: "-/+", NOOP: " "}


class _Missing:
    """Marks a field that does not exist on one side of a change."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<absent>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldChange:
    path: str  # "labels.severity", "rules[3].expr"; "" for the whole body
    before: Any
    after: Any
    forces_replacement: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path}
        if self.before is not MISSING:
            data["before"] = self.before
        if self.after is not MISSING:
            data["after"] = self.after
        if self.forces_replacement:
            data["forces_replacement"] = True
        return data


@dataclass(frozen=True)
class Change:
    action: str
    before: Resource | None  # live
    after: Resource | None  # desired
    fields: tuple[FieldChange, ...] = ()

    @property
    def resource(self) -> Resource:
        res = self.after or self.before
        assert res is not None
        return res

    @property
    def address(self) -> str:
        return self.resource.address

    def to_json(self) -> dict[str, Any]:
        res = self.resource
        data: dict[str, Any] = {
            "action": self.action,
            "address": res.address,
            "backend": res.backend,
            "target": res.target,
            "kind": res.kind,
            "key": res.key,
        }
        if self.fields:
            data["fields"] = [f.to_json() for f in self.fields]
        data["before"] = self.before.to_json() if self.before else None
        data["after"] = self.after.to_json() if self.after else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        fields = tuple(
            FieldChange(
                f["path"],
                f.get("before", MISSING),
                f.get("after", MISSING),
                bool(f.get("forces_replacement")),
            )
            for f in data.get("fields", ())
        )
        before = Resource.from_json(data["before"]) if data.get("before") else None
        after = Resource.from_json(data["after"]) if data.get("after") else None
        return cls(data["action"], before, after, fields)


@dataclass(frozen=True)
class TargetState:
    """One backend target as seen when planning: its name and live-state fingerprint.

    The fingerprint may be given as a function that computes it: it digests every live
    resource (a tenth of a no-change plan of 5,000 SLOs), and only a saved or JSON plan
    needs it, so a plan that is only shown never computes it.
    """

    backend: str
    target: str
    digest: str | Callable[[], str] = field(repr=False)

    @property
    def fingerprint(self) -> str:
        if callable(self.digest):
            object.__setattr__(self, "digest", self.digest())  # computed once, then kept
        return self.digest  # type: ignore[return-value]


@dataclass
class Plan:
    changes: list[Change]  # every change except no-ops, in display order
    unchanged: int = 0
    targets: list[TargetState] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    desired: list[Resource] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        add = sum(1 for c in self.changes if c.action in (CREATE, REPLACE))
        change = sum(1 for c in self.changes if c.action == UPDATE)
        destroy = sum(1 for c in self.changes if c.action in (DELETE, REPLACE))
        return {"add": add, "change": change, "destroy": destroy}

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def summary(self) -> str:
        if not self.changes:
            return "No changes."
        c = self.counts
        return f"Plan: {c['add']} to add, {c['change']} to change, {c['destroy']} to destroy."

    def for_target(self, backend: str, target: str) -> list[Change]:
        return [
            c for c in self.changes if (c.resource.backend, c.resource.target) == (backend, target)
        ]
