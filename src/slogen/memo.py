"""Answers kept per model object, by identity.

Rendering asks the same questions of the same SLOs and tiers several times over (validate
renders CloudWatch to measure it, every backend formats each tier's figures). The model is
frozen, so an answer holds as long as the very same objects are asked about; keying by
identity avoids hashing them (an SLO's hash walks the whole spec, a Fraction's is a modular
inverse). The objects are kept with the answer, so an id cannot be reused while it is stored.
"""

from __future__ import annotations

from collections.abc import Hashable
from operator import is_
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
        # Asked ~16,000 times per 1,000 SLOs: the key is built inline and the objects compared
        # with map(is_) rather than a generator, which halves the cost of a lookup.
        found = self._items.get((*map(id, objects), *extra))
        if found is None:
            return None
        stored, value = found
        if len(stored) != len(objects) or not all(map(is_, stored, objects)):
            return None
        return value

    def put(self, objects: tuple[object, ...], value: V, extra: tuple[Hashable, ...] = ()) -> V:
        if len(self._items) >= self.limit:
            self._items.clear()
        self._items[self._key(objects, extra)] = (objects, value)
        return value

    def discard(self, objects: tuple[object, ...], extra: tuple[Hashable, ...] = ()) -> None:
        self._items.pop(self._key(objects, extra), None)
