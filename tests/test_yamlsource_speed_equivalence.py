"""The located YAML loader gives the data PyYAML's SafeLoader gives, and true locations.

``slogen.spec.yamlsource`` builds its values from the composed node tree itself rather than
through PyYAML's constructor, so these properties pin it to ``yaml.load(..., SafeLoader)`` over
the YAML features specs use: plain scalars of every implicit type, quoted and multi-line
strings, anchors, aliases and ``<<:`` merges.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slogen.errors import Problems
from slogen.spec.yamlsource import LocDict, LocList, load_yaml

PLAIN = [
    "name", "x y", "0", "-17", "+3", "0x1F", "0o17", "017", "1_000", "190:20:30", "1.5", "-2.5e+3",
    "6.8523015e+5", ".inf", "-.Inf", ".NaN", "true", "False", "yes", "No", "on", "OFF", "y",
    "null", "Null", "~", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10",
    "12:30", "http://example.com/a?b=c", "sum(rate(x[5m]))", "99.9", "30d",
]  # fmt: skip
QUOTED = ["'quoted'", "'it''s'", '"double"', '"tab\\tand\\nnewline"', "'1'", '"true"', "''"]
# no "1": as a Python key it is True, and the two would collide in SafeLoader's dict
KEYS = ["a", "b", "name", "7", "true", "null", "2.5", "2020-01-02", "'q'", '"r s"', "~x"]

# libyaml reads "\uXXXX" escapes one at a time, so a surrogate pair is refused: keep to the BMP
strings = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=12)


class _Doc:
    """Builds YAML text, remembering the anchors defined so far (aliases point back only)."""

    def __init__(self, draw: st.DrawFn):
        self.draw = draw
        self.anchors: list[str] = []
        self.mapping_anchors: list[str] = []
        self.count = 0

    def scalar(self, indent: int) -> str:
        kind = self.draw(st.integers(0, 4))
        if kind == 0:
            return json.dumps(self.draw(strings))  # any text, as a double-quoted scalar
        if kind == 1:
            lines = self.draw(st.lists(st.sampled_from(["one", "two words", "", "3"]), min_size=1))
            pad = " " * (indent + 2)
            style = self.draw(st.sampled_from(["|", "|-", ">", ">+"]))
            return style + "".join(f"\n{pad}{line}" if line else "\n" for line in lines)
        return self.draw(st.sampled_from(QUOTED if kind == 2 else PLAIN))

    def value(self, depth: int, indent: int) -> str:
        kind = self.draw(st.integers(0, 5 if depth < 3 else 1))
        if kind == 0 and self.anchors:
            return "*" + self.draw(st.sampled_from(self.anchors))
        if kind <= 1:
            return self.scalar(indent)
        anchor = ""
        if self.draw(st.booleans()):
            self.count += 1
            anchor = f"a{self.count}"
        text = self.mapping(depth, indent) if kind <= 3 else self.sequence(depth, indent)
        if anchor:
            self.anchors.append(anchor)  # after the node: an alias inside it would recurse
            if kind <= 3:
                self.mapping_anchors.append(anchor)
            return f"&{anchor} {text}" if text[0] in "{[" else f"&{anchor}{text}"
        return text

    def mapping(self, depth: int, indent: int) -> str:
        keys = self.draw(st.lists(st.sampled_from(KEYS), max_size=4, unique=True))
        pad = " " * (indent + 2)
        lines = []
        if self.mapping_anchors and self.draw(st.booleans()):
            merged = self.draw(st.lists(st.sampled_from(self.mapping_anchors), min_size=1))
            one = len(merged) == 1
            lines.append(f"{pad}<<: " + ("*" + merged[0] if one else f"[*{', *'.join(merged)}]"))
        for key in keys:
            lines.append(f"{pad}{key}: {self.value(depth + 1, indent + 2)}")
        return "\n" + "\n".join(lines) if lines else "{}"

    def sequence(self, depth: int, indent: int) -> str:
        items = [self.value(depth + 1, indent + 2) for _ in range(self.draw(st.integers(0, 3)))]
        pad = " " * (indent + 2)
        return "".join(f"\n{pad}- {item}" for item in items) if items else "[]"


@st.composite
def documents(draw: st.DrawFn) -> str:
    doc = _Doc(draw)
    parts = [f"k{i}: {doc.value(0, 0)}" for i in range(draw(st.integers(1, 4)))]
    return "\n".join(parts) + "\n"


def _plain(value: Any) -> Any:
    """SafeLoader's data as the located loader gives it: plain containers, keys as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _same(ours: Any, theirs: Any) -> bool:
    """Equal, with NaN equal to itself and types compared too (1 is not True is not 1.0)."""
    if type(theirs) is dict:
        return (
            isinstance(ours, LocDict)
            and list(ours) == list(theirs)
            and all(_same(ours[k], theirs[k]) for k in theirs)
        )
    if type(theirs) is list:
        return (
            isinstance(ours, LocList)
            and len(ours) == len(theirs)
            and all(_same(a, b) for a, b in zip(ours, theirs, strict=True))
        )
    if isinstance(theirs, float) and theirs != theirs:
        return isinstance(ours, float) and ours != ours
    return type(ours) is type(theirs) and ours == theirs


def _check_locations(value: Any, node: yaml.Node, seen: set[int]) -> None:
    """Every location the loader gives is where the composed node starts (merge-free maps)."""
    if id(value) in seen:
        return
    seen.add(id(value))
    assert (value.loc.line, value.loc.column) == (
        node.start_mark.line + 1,
        node.start_mark.column + 1,
    )
    children: list[tuple[Any, yaml.Node]] = []
    if isinstance(value, LocDict):
        assert len(value.key_locs) == len(value.value_locs) == len(value)
        for (key_node, value_node), key in zip(node.value, value, strict=True):
            for loc, at in (
                (value.key_locs[key], key_node),
                (value.value_locs.get(key), value_node),
            ):
                assert (loc.file, loc.line, loc.column) == (
                    "t.yaml",
                    at.start_mark.line + 1,
                    at.start_mark.column + 1,
                )
            children.append((value[key], value_node))
    else:
        assert len(value.item_locs) == len(value)
        for index, item_node in enumerate(node.value):
            assert value.item_locs[index].line == item_node.start_mark.line + 1
            children.append((value[index], item_node))
    for child, child_node in children:
        if isinstance(child, LocDict | LocList):
            _check_locations(child, child_node, seen)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents())
def test_same_data_as_safe_loader(text: str) -> None:
    problems = Problems()
    ours = load_yaml(text, "t.yaml", problems)
    theirs = _plain(yaml.load(text, Loader=yaml.SafeLoader))
    assert not problems.items, [p.render() for p in problems.items]
    assert _same(ours, theirs), (ours, theirs)
    if "<<" not in text:
        _check_locations(ours, yaml.compose(text, Loader=yaml.SafeLoader), set())


def test_aliases_give_the_same_object_and_merges_keep_own_keys() -> None:
    text = "base: &b {x: 1, y: [2]}\nuse: *b\nmore: {<<: *b, x: 3}\n"
    data = load_yaml(text, "t.yaml", Problems())
    assert isinstance(data, LocDict)
    assert data["use"] is data["base"]
    assert data["more"] == {"x": 3, "y": [2]}
    assert data["more"]["y"] is data["base"]["y"]
    assert str(data["more"].value_locs["x"]) == "t.yaml:3:19"
    assert str(data["more"].key_locs["y"]) == "t.yaml:1:17"  # merged: where it was written


def test_duplicate_keys_are_reported_with_their_path_also_after_a_merge() -> None:
    text = "a: &a {x: 1}\nb:\n  - {<<: *a, x: 2, y: 3, y: 4}\nc: {k: 1, k: 2}\n"
    problems = Problems()
    data = load_yaml(text, "t.yaml", problems)
    assert [(str(p.location), p.path, p.message) for p in problems.items] == [
        ("t.yaml:3:26", "b[0].y", "duplicate key 'y' (first defined at line 3)"),
        ("t.yaml:4:11", "c.k", "duplicate key 'k' (first defined at line 4)"),
    ]
    assert data == {"a": {"x": 1}, "b": [{"x": 2, "y": 3}], "c": {"k": 1}}


def test_explicitly_tagged_merge_keys_are_merged() -> None:
    text = "a: &a {x: 1}\nb: {? !!merge m : *a, y: 2}\n"
    data = load_yaml(text, "t.yaml", Problems())
    assert data == yaml.safe_load(text) == {"a": {"x": 1}, "b": {"x": 1, "y": 2}}


def test_recursive_aliases_and_unknown_tags_are_yaml_errors() -> None:
    for text, message in (
        ("a: &x [*x]\n", "t.yaml:1:4: error: invalid YAML: found unconstructable recursive node"),
        ("a: !foo b\n", "t.yaml:1:4: error: invalid YAML: could not determine a constructor"),
    ):
        problems = Problems()
        assert load_yaml(text, "t.yaml", problems) is None
        assert problems.items[0].render().startswith(message)
