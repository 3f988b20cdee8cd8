"""YAML that remembers where every key and value came from.

PyYAML's C parser composes the node tree (fast); one tight recursive walk then turns it into
dicts and lists that keep where each key and value starts, so validation errors can point at
``file:line:col``. PyYAML's generic constructor (per-node bookkeeping, generators, a tag
lookup for every plain string) cost as much as the parse itself, so the walk only hands it the
rare nodes it does not build itself. Positions become :class:`Location` objects only when
asked for, because most of them never are. Duplicate keys, which PyYAML silently overwrites, are
reported instead.
"""

from __future__ import annotations

from pathlib import Path
from sys import intern
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from slogen.errors import Location, Problems
from slogen.spec.located import LocDict, LocList, PairPositions, position

__all__ = ["GENERATED_MARKER", "LocDict", "LocList", "generated", "load_yaml"]

try:  # the C parser is much faster; fall back to the pure-Python one where it is missing
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


GENERATED_MARKER = "# managed-by: slogen"  # the first line of every YAML file slogen writes

# The very objects the resolver returns, so most tag comparisons are identity checks.
_STR = BaseResolver.DEFAULT_SCALAR_TAG
_MAP = BaseResolver.DEFAULT_MAPPING_TAG
_SEQ = BaseResolver.DEFAULT_SEQUENCE_TAG
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"  # a `=` key; flatten_mapping turns it into a string key
# Scalar tags whose SafeConstructor function returns the value outright (no generator), so the
# walk may call it directly and get exactly what yaml.safe_load gives.
_SCALARS = {
    tag: SafeConstructor.yaml_constructors[tag]
    for tag in (
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:binary",
        "tag:yaml.org,2002:timestamp",
    )
}


def generated(path: Path) -> bool:
    """Whether ``path`` is a file slogen wrote (its first line is :data:`GENERATED_MARKER`):
    never a spec, though it sits among them (``build -o specs/out``); read as specs, a build's
    rule files gave dozens of errors."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline().strip() == GENERATED_MARKER
    except OSError:
        return False


# Implicit resolvers by the first character of a plain scalar, with the wildcard ones appended,
# as BaseResolver.resolve looks them up (it rebuilds that list for every scalar).
_IMPLICIT: dict[str | None, tuple[tuple[str, Any], ...]] = {
    first: tuple(resolvers + _BaseLoader.yaml_implicit_resolvers.get(None, []))
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_WILDCARD = _IMPLICIT.get(None, ())


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The C composer with a quicker tag resolver; it calls ``resolve`` for every node."""

    special_keys = False  # a plain `<<` or `=` was seen: mappings may need flattening
    builder: _Builder

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if self.yaml_path_resolvers:  # pragma: no cover - nothing registers them for SafeLoader
            return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], _WILDCARD):  # type: ignore[index]
                    if regexp.match(value):
                        if tag in (_MERGE, _VALUE):
                            self.special_keys = True
                        return tag
            return _STR
        return _MAP if kind is MappingNode else _SEQ


class _Restart(Exception):
    """An explicitly tagged merge key turned up after the walk had assumed there were none."""


class _Builder:
    """Turns one composed document into LocDicts, LocLists and plain scalars.

    It shares ``constructed_objects`` (aliases give the same object) and ``recursive_objects``
    (a node inside itself is an error) with the loader, so nodes handed to PyYAML's constructor
    and nodes built here agree. Strings are interned: specs repeat the same keys and values
    (backend names, regions, categories) thousands of times and the model keeps many of them,
    so one object per distinct string makes the loaded model of 5,000 SLOs a fifth smaller.
    """

    def __init__(self, loader: _Loader, filename: str):
        self.loader = loader
        self.filename = filename
        self.flatten = loader.special_keys  # whether each mapping must be checked for `<<`
        self.duplicated = False  # whether any mapping has a duplicate key

    def build(self, node: Node) -> Any:
        """The value of any node: the common cases here, everything else by PyYAML."""
        cls = node.__class__
        if cls is ScalarNode:
            if node.tag == _STR:
                return intern(node.value)
            scalar = _SCALARS.get(node.tag)
            if scalar is not None:
                try:
                    return scalar(self.loader, node)
                except (ValueError, TypeError, OverflowError) as exc:
                    raise _unreadable(node, exc) from None
        elif cls is MappingNode:
            if node.tag == _MAP:
                return self.mapping(node)
        elif cls is SequenceNode and node.tag == _SEQ:
            return self.sequence(node)
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _unreadable(node, exc) from None

    def _enter(self, node: Node) -> Any:
        """The object already built for an aliased node, else None (after marking it busy)."""
        done = self.loader.constructed_objects.get(node)
        if done is not None:
            return done
        if node in self.loader.recursive_objects:
            raise ConstructorError(
                None, None, "found unconstructable recursive node", node.start_mark
            )
        self.loader.recursive_objects[node] = None
        return None

    def _leave(self, node: Node, data: object) -> None:
        del self.loader.recursive_objects[node]
        self.loader.constructed_objects[node] = data

    def mapping(self, node: MappingNode) -> LocDict:
        done = self._enter(node)
        if done is None:
            done = self.mapping_body(node)
            self._leave(node, done)
        return done  # type: ignore[no-any-return]

    def sequence(self, node: SequenceNode) -> LocList:
        done = self._enter(node)
        if done is None:
            done = self.sequence_body(node)
            self._leave(node, done)
        return done  # type: ignore[no-any-return]

    def _key(self, node: Node) -> str:
        if node.tag in (_MERGE, _VALUE) and not self.flatten:
            raise _Restart
        key = self.build(node)
        return key if isinstance(key, str) else str(key)

    def mapping_body(self, node: MappingNode) -> LocDict:
        """Keys are strings (others are converted); a repeated key keeps its first value and is
        recorded in ``duplicates``. Keys merged in with ``<<:`` come first and may be
        overridden by keys written in the mapping, which is what ``<<:`` is for."""
        if self.flatten and any(key.tag in (_MERGE, _VALUE) for key, _ in node.value):
            return self._merged_mapping_body(node)
        result = LocDict()
        result._filename = self.filename
        result._at = position(node)
        result.duplicates = ()
        pairs: dict[str, PairPositions] = {}
        result._pairs = pairs
        for key_node, value_node in node.value:
            if key_node.tag == _STR and key_node.__class__ is ScalarNode:
                key = intern(key_node.value)
            else:
                key = self._key(key_node)
            if key in pairs:
                self._duplicate(result, key, key_node)
                continue
            if value_node.tag == _STR and value_node.__class__ is ScalarNode:
                result[key] = intern(value_node.value)
            else:
                result[key] = self.build(value_node)
            at, value_at = key_node.start_mark, value_node.start_mark
            pairs[key] = (at.line, at.column, value_at.line, value_at.column)
        return result

    def _merged_mapping_body(self, node: MappingNode) -> LocDict:
        # Keys written in this mapping; flatten_mapping puts keys merged in before them.
        own = {id(key) for key, _ in node.value if key.tag != _MERGE}
        self.loader.flatten_mapping(node)
        result = LocDict()
        result._filename = self.filename
        result._at = position(node)
        result.duplicates = ()
        pairs: dict[str, PairPositions] = {}
        result._pairs = pairs
        written: set[str] = set()
        for key_node, value_node in node.value:
            key = self._key(key_node)
            mine = id(key_node) in own
            if mine and key in written:
                self._duplicate(result, key, key_node)
                continue
            result[key] = self.build(value_node)
            at, value_at = key_node.start_mark, value_node.start_mark
            pairs[key] = (at.line, at.column, value_at.line, value_at.column)
            if mine:
                written.add(key)
        return result

    def _duplicate(self, result: LocDict, key: str, key_node: Node) -> None:
        if not result.duplicates:
            result.duplicates = []
        line, column = position(key_node)
        where = Location(self.filename, line + 1, column + 1)
        result.duplicates.append((key, where, result._pairs[key][0] + 1))  # type: ignore[attr-defined]
        self.duplicated = True

    def sequence_body(self, node: SequenceNode) -> LocList:
        build = self.build
        result = LocList(
            [
                intern(item.value)
                if item.tag == _STR and item.__class__ is ScalarNode
                else build(item)
                for item in node.value
            ]
        )
        result._filename = self.filename
        result._at = position(node)
        result._items = [position(item) for item in node.value]
        return result


def _unreadable(node: Node, exc: Exception) -> ConstructorError:
    """A scalar PyYAML's safe constructors fail on with a plain Python error (the date
    ``2020-13-45``, ``!!int abc``): a located YAML problem, not a traceback."""
    kind = str(node.tag).rsplit(":", 1)[-1]
    return ConstructorError(
        None, None, f"{node.value!r} is not a valid {kind} ({exc})", node.start_mark
    )


def _construct_map(loader: _Loader, node: MappingNode) -> LocDict:
    """Mappings that PyYAML's constructor reaches (inside a ``!!set``, say) are built alike."""
    return loader.builder.mapping_body(node)  # type: ignore[no-any-return]


def _construct_seq(loader: _Loader, node: SequenceNode) -> LocList:
    return loader.builder.sequence_body(node)  # type: ignore[no-any-return]


_Loader.add_constructor(_MAP, _construct_map)
_Loader.add_constructor(_SEQ, _construct_seq)


def _report_duplicates(
    value: object, path: str, problems: Problems, seen: set[int] | None = None
) -> None:
    seen = set() if seen is None else seen
    if id(value) in seen:  # an alias of a node already walked
        return
    if isinstance(value, LocDict | LocList):
        seen.add(id(value))
    if isinstance(value, LocDict):
        for key, loc, first_line in value.duplicates:
            problems.error(
                loc,
                f"{path}.{key}" if path else key,
                f"duplicate key '{key}' (first defined at line {first_line})",
                "remove one of them; YAML keeps only the last and the other would be lost",
            )
        for key, child in value.items():
            _report_duplicates(child, f"{path}.{key}" if path else key, problems, seen)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _report_duplicates(child, f"{path}[{index}]", problems, seen)


def _build_document(loader: _Loader, node: Node, filename: str) -> tuple[object, bool]:
    """The document's data and whether it has duplicate keys. An explicit ``!!merge`` key,
    which the resolver does not see, restarts the walk once with merge checks on, so that
    mappings are flattened in the same order as when they are always checked."""
    try:
        while True:  # at most twice: a restart turns the checks on for good
            loader.builder = builder = _Builder(loader, filename)
            try:
                return builder.build(node), builder.duplicated
            except _Restart:
                loader.constructed_objects = {}
                loader.recursive_objects = {}
                loader.special_keys = True
    finally:
        # As construct_document does: the node table would keep the whole node tree alive, and
        # the builder points back at the loader; left as a cycle, both wait for the collector.
        loader.constructed_objects = {}
        loader.recursive_objects = {}
        del loader.builder


def load_yaml(text: str, filename: str, problems: Problems) -> object | None:
    """Parse one YAML document; syntax errors become problems and return ``None``."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        data, duplicated = _build_document(loader, node, filename)
        if duplicated:  # paths are only worked out when there is something to report
            _report_duplicates(data, "", problems)
        return data
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(filename, mark.line + 1, mark.column + 1) if mark else Location(filename)
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        problems.error(loc, "", f"invalid YAML: {what}", "fix the YAML syntax at this position")
    except yaml.YAMLError as exc:
        problems.error(Location(filename), "", f"invalid YAML: {exc}")
    finally:
        loader.dispose()
    return None
