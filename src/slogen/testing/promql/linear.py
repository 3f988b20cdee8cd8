"""Evaluating a parsed query over concrete series, linear in the series' per-second rates.

:func:`evaluate` computes each output series of the query as a :class:`Lin`, a linear
combination of the counters' rates, which is what synthesising series needs to solve for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from slogen.testing.promql import tree
from slogen.testing.promql.tree import PromQLError, Unsupported

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Lin:
    """``const + Σ coeffs[i] · rate_i``: a value as a function of the series' per-second rates."""

    coeffs: Mapping[int, Fraction] = field(default_factory=dict)
    const: Fraction = Fraction(0)

    def __add__(self, other: Lin) -> Lin:
        coeffs = dict(self.coeffs)
        for key, value in other.coeffs.items():
            coeffs[key] = coeffs.get(key, Fraction(0)) + value
        return Lin({k: v for k, v in coeffs.items() if v}, self.const + other.const)

    def scale(self, factor: Fraction) -> Lin:
        return Lin(
            {k: v * factor for k, v in self.coeffs.items() if v * factor}, self.const * factor
        )

    def __sub__(self, other: Lin) -> Lin:
        return self + other.scale(Fraction(-1))

    def at(self, rates: Sequence[Fraction]) -> Fraction:
        return self.const + sum((c * rates[i] for i, c in self.coeffs.items()), Fraction(0))


@dataclass(frozen=True)
class Series:
    """A concrete input series: metric name and labels."""

    name: str
    labels: Labels

    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def __str__(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels)
        return f"{self.name}{{{inner}}}"


@dataclass(frozen=True)
class Vector:
    elements: Mapping[Labels, Lin]


@dataclass(frozen=True)
class Scalar:
    value: Fraction


@dataclass(frozen=True)
class RangeValue:
    selector: tree.VectorSelector
    seconds: int


def _drop(labels: Mapping[str, str], names: Sequence[str]) -> Labels:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in names))


def evaluate(node: tree.Node, series: Sequence[Series]) -> Vector | Scalar | RangeValue:
    """The value of ``node`` over ``series``, linear in their per-second rates."""
    if isinstance(node, tree.Number):
        return Scalar(node.value)
    if isinstance(node, tree.StringLiteral):
        raise Unsupported("string literals are not numbers")
    if isinstance(node, tree.Selector):
        if node.range is None:
            raise Unsupported(
                f"{node.selector} is read as a raw counter value; an SLI needs its rate "
                "(rate, irate or increase over [{{ window }}])"
            )
        return RangeValue(node.selector, node.range)
    if isinstance(node, tree.Call):
        return _call(node, series)
    if isinstance(node, tree.Aggregate):
        inner = evaluate(node.expr, series)
        if not isinstance(inner, Vector):
            raise PromQLError("sum needs an instant vector")
        groups: dict[Labels, Lin] = {}
        for labels, lin in inner.elements.items():
            as_map = dict(labels)
            if node.grouping is None:
                key: Labels = ()
            elif node.without:
                key = _drop(as_map, node.grouping)
            else:
                key = tuple(sorted((k, v) for k, v in as_map.items() if k in node.grouping))
            groups[key] = groups.get(key, Lin()) + lin
        return Vector(groups)
    if isinstance(node, tree.Negate):
        inner = evaluate(node.expr, series)
        if isinstance(inner, Scalar):
            return Scalar(-inner.value)
        if isinstance(inner, Vector):
            return Vector({k: v.scale(Fraction(-1)) for k, v in inner.elements.items()})
        raise PromQLError("cannot negate a range")
    if isinstance(node, tree.Binary):
        return _binary(node, evaluate(node.lhs, series), evaluate(node.rhs, series))
    raise PromQLError(f"unexpected {type(node).__name__}")


def _call(node: tree.Call, series: Sequence[Series]) -> Vector | Scalar:
    if node.func in tree.RANGE_FUNCTIONS:
        if len(node.args) != 1:
            raise PromQLError(f"{node.func} takes one range vector")
        arg = evaluate(node.args[0], series)
        if not isinstance(arg, RangeValue):
            raise PromQLError(f"{node.func} needs a range vector such as x[{{{{ window }}}}]")
        factor = Fraction(arg.seconds) if node.func == "increase" else Fraction(1)
        out: dict[Labels, Lin] = {}
        for index, s in enumerate(series):
            if arg.selector.matches(s.name, s.label_map()):
                key = s.labels  # the function drops the metric name
                if key in out:
                    raise PromQLError(f"two series with the same labels {key} after {node.func}")
                out[key] = Lin({index: factor})
        return Vector(out)
    if node.func == "vector" and len(node.args) == 1:
        arg = evaluate(node.args[0], series)
        if isinstance(arg, Scalar):
            return Vector({(): Lin({}, arg.value)})
    raise Unsupported(
        f"function {node.func}() is not supported (only rate, irate, increase, sum, vector)"
    )


def _binary(node: tree.Binary, lhs: object, rhs: object) -> Vector | Scalar:
    op = node.op
    if op == "or":
        if not (isinstance(lhs, Vector) and isinstance(rhs, Vector)):
            raise PromQLError("'or' needs vectors on both sides")
        merged = dict(lhs.elements)
        for labels, lin in rhs.elements.items():
            merged.setdefault(labels, lin)
        return Vector(merged)
    if op not in ("+", "-", "*", "/"):
        raise Unsupported(f"operator '{op}' is not linear in the counters' rates")
    if isinstance(lhs, RangeValue) or isinstance(rhs, RangeValue):
        raise PromQLError(f"operator '{op}' needs instant vectors or numbers, not a range")
    if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
        a, b = lhs.value, rhs.value
        if op == "/" and b == 0:
            raise PromQLError("division by zero")
        return Scalar({"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else a}[op])
    if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
        s = rhs.value
        if op == "/" and s == 0:
            raise PromQLError("division by zero")
        return Vector({k: _with_scalar(v, op, s) for k, v in lhs.elements.items()})
    if isinstance(lhs, Scalar) and isinstance(rhs, Vector):
        s = lhs.value
        if op == "/":
            raise Unsupported("a number divided by a vector is not linear in the counters' rates")
        if op == "-":
            return Vector({k: Lin({}, s) - v for k, v in rhs.elements.items()})
        return Vector({k: _with_scalar(v, op, s) for k, v in rhs.elements.items()})
    assert isinstance(lhs, Vector) and isinstance(rhs, Vector)
    if op in ("*", "/"):
        raise Unsupported(
            f"vector {op} vector is not linear in the counters' rates (a ratio belongs in "
            "slogen's rules, not in the errors, good or total query)"
        )
    out = {}
    for labels, lin in lhs.elements.items():
        if labels in rhs.elements:
            out[labels] = lin + rhs.elements[labels] if op == "+" else lin - rhs.elements[labels]
    return Vector(out)


def _with_scalar(lin: Lin, op: str, s: Fraction) -> Lin:
    if op == "+":
        return lin + Lin({}, s)
    if op == "-":
        return lin - Lin({}, s)
    if op == "*":
        return lin.scale(s)
    return lin.scale(1 / s)
