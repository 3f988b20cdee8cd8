"""YAML that remembers where every key and value came from.

PyYAML's C parser does the parsing (fast); a small constructor builds dicts and lists that also
carry the start mark of each key and value, so validation errors can point at ``file:line:col``.
Duplicate keys, which PyYAML silently overwrites, are reported instead.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from slogen.errors import Location, Problems

try:  # the C parser is much faster; fall back to the pure-Python one where it is missing
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


GENERATED_MARKER = "# managed-by: slogen"  # the first line of every YAML file slogen writes


def generated(path: Path) -> bool:
    """Whether ``path`` is a file slogen wrote (its first line is :data:`GENERATED_MARKER`):
    never a spec, though it sits among them (``build -o specs/out``); read as specs, a build's
    rule files gave dozens of errors."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline().strip() == GENERATED_MARKER
    except OSError:
        return False


class LocDict(dict):
    """A mapping with the location of itself, of each key and of each value."""

    __slots__ = ("duplicates", "key_locs", "loc", "value_locs")


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
    # Keys written in this mapping; flatten_mapping puts keys merged in with `<<:` before them.
    own = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
    loader.flatten_mapping(node)
    result = LocDict()
    result.loc = loader._loc(node)
    result.key_locs = {}
    result.value_locs = {}
    result.duplicates = []  # (key, location, line of the first one); reported with their path
    written: set[str] = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key_loc = loader._loc(key_node)
        if not isinstance(key, str):
            key = str(key)
        if key in written and id(key_node) in own:
            result.duplicates.append((key, key_loc, result.key_locs[key].line))
            continue
        # A key written here overrides one merged in; that is what `<<:` is for.
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locs[key] = key_loc
        result.value_locs[key] = loader._loc(value_node)
        if id(key_node) in own:
            written.add(key)
    return result


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
        data = loader.get_single_data()
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
