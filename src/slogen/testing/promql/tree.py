"""The syntax tree of the PromQL subset: selectors, nodes, and what a query reads."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

RANGE_FUNCTIONS = {"rate": "rate", "irate": "irate", "increase": "increase"}


class PromQLError(ValueError):
    """A query slogen cannot turn into synthetic series; the message says why."""


class Unsupported(PromQLError):
    """Valid PromQL that is outside the subset slogen can synthesise."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str

    def matches(self, value: str) -> bool:
        """Whether a label value matches ("" is an absent label, as in Prometheus)."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{self.op}"{escaped}"'


@dataclass(frozen=True)
class VectorSelector:
    name: str
    matchers: tuple[Matcher, ...]

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        return name == self.name and all(m.matches(labels.get(m.label, "")) for m in self.matchers)

    def __str__(self) -> str:
        inner = ",".join(str(m) for m in self.matchers)
        return f"{self.name}{{{inner}}}" if inner else self.name


@dataclass(frozen=True)
class Node:
    pass


@dataclass(frozen=True)
class Number(Node):
    value: Fraction


@dataclass(frozen=True)
class StringLiteral(Node):
    value: str


@dataclass(frozen=True)
class Selector(Node):
    selector: VectorSelector
    range: int | None = None  # seconds, for a range selector


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Aggregate(Node):
    op: str
    expr: Node
    grouping: tuple[str, ...] | None = None  # labels in by (...) / without (...)
    without: bool = False


@dataclass(frozen=True)
class Binary(Node):
    op: str
    lhs: Node
    rhs: Node


@dataclass(frozen=True)
class Negate(Node):
    expr: Node


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, Aggregate | Negate):
        yield from walk(node.expr)
    elif isinstance(node, Binary):
        yield from walk(node.lhs)
        yield from walk(node.rhs)


def selectors(node: Node) -> list[VectorSelector]:
    out: list[VectorSelector] = []
    for n in walk(node):
        if isinstance(n, Selector) and n.selector not in out:
            out.append(n.selector)
    return out


def grouping_labels(node: Node) -> list[str]:
    """Labels named in ``by (...)`` clauses (they must agree across series to aggregate)."""
    out: list[str] = []
    for n in walk(node):
        if isinstance(n, Aggregate) and n.grouping and not n.without:
            out.extend(label for label in n.grouping if label not in out)
    return out


def range_functions(node: Node) -> set[str]:
    return {n.func for n in walk(node) if isinstance(n, Call) and n.func in RANGE_FUNCTIONS}
