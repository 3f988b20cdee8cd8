"""Answers kept per model object, by identity.

Rendering asks the same questions of the same SLOs and tiers several times over (validate
renders CloudWatch to measure it, every backend formats each tier's figures). The model is
frozen, so an answer holds as long as the very same objects are asked about; keying by
identity avoids hashing them (an SLO's hash walks the whole spec, a Fraction's is a modular
inverse). The objects are kept with the answer, so an id cannot be reused while it is stored.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ByIdentity(Generic[V]):
    """Values stored under a tuple of objects (compared by identity) and plain extra keys;
    a long-lived process starts over once ``limit`` entries are held."""

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._items: dict[tuple, tuple[tuple[object, ...], V]] = {}

    def _key(self, objects: tuple[object, ...], extra: tuple[Hashable, ...]) -> tuple:
        return (*map(id, objects), *extra)

    def get(self, objects: tuple[object, ...], extra: tuple[Hashable, ...] = ()) -> V | None:
        found = self._items.get(self._key(objects, extra))
        if found is None or any(a is not b for a, b in zip(found[0], objects, strict=True)):
            return None
        return found[1]

    def put(self, objects: tuple[object, ...], value: V, extra: tuple[Hashable, ...] = ()) -> V:
        if len(self._items) >= self.limit:
            self._items.clear()
        self._items[self._key(objects, extra)] = (objects, value)
        return value

    def discard(self, objects: tuple[object, ...], extra: tuple[Hashable, ...] = ()) -> None:
        self._items.pop(self._key(objects, extra), None)
