"""Desired and live resources: the plain data that backends produce and the diff compares.

A resource is what one backend manages at one target under one stable key. Its ``body`` holds
exactly the fields slogen manages, as JSON-compatible data (dicts, lists, strings, numbers), so
the diff, plan files and golden tests all work on the same representation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency; the standard library still works
    orjson = None  # type: ignore[assignment]

MANAGED_BY = "slogen"


@dataclass(frozen=True)
class Resource:
    backend: str  # "prometheus", "datadog", "cloudwatch"
    target: str  # human-readable target name, e.g. "files:out/prometheus"
    kind: str  # e.g. "recording-rules", "alert", "monitor", "slo", "composite-alarm"
    key: str  # stable key "<service>/<slo>[/<tier>]"
    body: dict[str, Any] = field(hash=False, compare=True)
    # Keys of resources (same backend and target) that must exist before this one.
    depends_on: tuple[str, ...] = ()
    # Server-assigned identity of a live resource (monitor id, file name...); not diffed.
    live_id: str | None = field(default=None, compare=False)

    @property
    def address(self) -> str:
        """Unique within a plan: ``<backend>.<kind>.<key>``."""
        return f"{self.backend}.{self.kind}.{self.key}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "backend": self.backend,
            "target": self.target,
            "kind": self.kind,
            "key": self.key,
            "body": self.body,
        }
        if self.depends_on:
            data["depends_on"] = list(self.depends_on)
        if self.live_id is not None:
            data["live_id"] = self.live_id
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Resource:
        return cls(
            backend=data["backend"],
            target=data["target"],
            kind=data["kind"],
            key=data["key"],
            body=data["body"],
            depends_on=tuple(data.get("depends_on", ())),
            live_id=data.get("live_id"),
        )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical_bytes(value: Any) -> bytes:
    """Deterministic JSON of ``value`` (sorted keys, no spaces), written in C by orjson: the
    digest below serialises every live resource of a plan. What orjson refuses (integers
    beyond 64 bits, keys that are not strings) takes :func:`canonical_json`; a given value
    always takes the same path, so the digest of the same resources is always the same."""
    if orjson is not None:
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    return canonical_json(value).encode()


def fingerprint(resources: list[Resource]) -> str:
    """A digest of a set of resources, independent of order (used to detect stale plans)."""
    digest = hashlib.sha256()
    for line in sorted(_canonical_bytes(r.to_json()) for r in resources):
        digest.update(line)
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass
class LiveState:
    """What a backend read from one target: the owned resources, plus notes for the plan."""

    resources: list[Resource]
    warnings: list[str] = field(default_factory=list)
    # Anything extra a backend needs at apply time (e.g. names of unowned files to avoid).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.resources)
