"""YAML that remembers where every key and value came from.

PyYAML's C parser does the parsing (fast); a small constructor builds dicts and lists that also
carry the start mark of each key and value, so validation errors can point at ``file:line:col``.
Duplicate keys, which PyYAML silently overwrites, are reported instead.
"""

from __future__ import annotations

import yaml

from slogen.errors import Location, Problems

try:  # the C parser is much faster; fall back to the pure-Python one where it is missing
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


class LocDict(dict):
    """A mapping with the location of itself, of each key and of each value."""

    __slots__ = ("key_locs", "loc", "value_locs")


class LocList(list):
    """A sequence with the location of itself and of each item."""

    __slots__ = ("item_locs", "loc")


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    filename = "<string>"
    problems: Problems

    def _loc(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.filename, mark.line + 1, mark.column + 1)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LocDict:
    loader.flatten_mapping(node)
    result = LocDict()
    result.loc = loader._loc(node)
    result.key_locs = {}
    result.value_locs = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key_loc = loader._loc(key_node)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            first = result.key_locs[key]
            loader.problems.error(
                key_loc,
                key,
                f"duplicate key '{key}' (first defined at line {first.line})",
                "remove one of them; YAML keeps only the last and the other would be lost",
            )
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locs[key] = key_loc
        result.value_locs[key] = loader._loc(value_node)
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> LocList:
    result = LocList(loader.construct_object(child, deep=True) for child in node.value)
    result.loc = loader._loc(node)
    result.item_locs = [loader._loc(child) for child in node.value]
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(text: str, filename: str, problems: Problems) -> object | None:
    """Parse one YAML document; syntax errors become problems and return ``None``."""
    loader = _Loader(text)
    loader.filename = filename
    loader.problems = problems
    try:
        return loader.get_single_data()
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
