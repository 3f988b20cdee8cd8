"""Values read from YAML that know where they were written.

:class:`LocDict` and :class:`LocList` are what :mod:`slogen.spec.yamlsource` builds; their
``loc``, ``key_locs``, ``value_locs`` and ``item_locs`` give ``file:line:col`` locations for
error messages. The builder fills the private slots directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from slogen.errors import Location

if TYPE_CHECKING:
    from yaml.nodes import Node

# Positions are kept as 0-based (line, column) ints rather than the parser's nodes or Location
# objects: holding nodes would keep each file's whole node tree alive, and every object kept
# makes the garbage collector's passes slower.
Position = tuple[int, int]
# For each key of a LocDict: (key line, key column, value line, value column).
PairPositions = tuple[int, int, int, int]


def position(node: Node) -> Position:
    """Where ``node`` starts, 0-based."""
    mark = node.start_mark
    return mark.line, mark.column


class _PairLocations(Mapping[str, Location]):
    """Where each key (``side`` 0) or value (``side`` 2) of a :class:`LocDict` starts, made
    on demand: checks ask for a fraction of them."""

    __slots__ = ("_filename", "_pairs", "_side")

    def __init__(self, filename: str, pairs: dict[str, PairPositions], side: int):
        self._filename = filename
        self._pairs = pairs
        self._side = side

    def __getitem__(self, key: str) -> Location:
        at = self._pairs[key]
        side = self._side
        return Location(self._filename, at[side] + 1, at[side + 1] + 1)

    def get(self, key: str, default: Any = None) -> Any:
        at = self._pairs.get(key)
        if at is None:
            return default
        side = self._side
        return Location(self._filename, at[side] + 1, at[side + 1] + 1)

    def __contains__(self, key: object) -> bool:
        return key in self._pairs

    def __iter__(self) -> Iterator[str]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)


class _ItemLocations(Sequence[Location]):
    """Where each item of a :class:`LocList` starts, made on demand."""

    __slots__ = ("_filename", "_items")

    def __init__(self, filename: str, items: list[Position]):
        self._filename = filename
        self._items = items

    @overload
    def __getitem__(self, index: int) -> Location: ...
    @overload
    def __getitem__(self, index: slice) -> list[Location]: ...
    def __getitem__(self, index: int | slice) -> Location | list[Location]:
        if isinstance(index, slice):
            return [Location(self._filename, ln + 1, col + 1) for ln, col in self._items[index]]
        line, column = self._items[index]
        return Location(self._filename, line + 1, column + 1)

    def __len__(self) -> int:
        return len(self._items)


class LocDict(dict):
    """A mapping with the location of itself, of each key and of each value."""

    __slots__ = ("_at", "_filename", "_pairs", "duplicates")
    _at: Position
    _filename: str
    _pairs: dict[str, PairPositions]
    # (key, location, line of the first one) for each repeated key; reported with their path
    duplicates: Sequence[tuple[str, Location, int]]

    @property
    def loc(self) -> Location:
        return Location(self._filename, self._at[0] + 1, self._at[1] + 1)

    @property
    def key_locs(self) -> Mapping[str, Location]:
        return _PairLocations(self._filename, self._pairs, 0)

    @property
    def value_locs(self) -> Mapping[str, Location]:
        return _PairLocations(self._filename, self._pairs, 2)


class LocList(list):
    """A sequence with the location of itself and of each item."""

    __slots__ = ("_at", "_filename", "_items")
    _at: Position
    _filename: str
    _items: list[Position]

    @property
    def loc(self) -> Location:
        return Location(self._filename, self._at[0] + 1, self._at[1] + 1)

    @property
    def item_locs(self) -> Sequence[Location]:
        return _ItemLocations(self._filename, self._items)
