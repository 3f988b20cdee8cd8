"""Just enough PromQL to synthesise input series for an SLI query.

An SLI query is arbitrary PromQL. To feed it synthetic counters, slogen needs two things from
it: the vector selectors it reads (metric name and label matchers ``=``, ``!=``, ``=~``, ``!~``)
and how its value depends on those counters. :func:`parse` reads the query into a small syntax
tree; :func:`evaluate` then computes, for a concrete set of series, each output series of the
query as a *linear combination of the counters' per-second rates* (:class:`Lin`).

That works for the shapes SLIs are written in: ``rate``, ``irate`` and ``increase`` of counters
(all linear in a counter's rate while it grows steadily), ``sum`` with or without ``by`` /
``without``, ``+ - * /`` with scalars, ``+ -`` between vectors with identical labels, ``or``,
``vector(N)`` and parentheses. Anything else (``histogram_quantile``, ``avg``, vector ``/``
vector, ``offset``, ...) is :class:`Unsupported`, with the reason: slogen never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from slogen.durations import DurationError, parse_duration


class PromQLError(ValueError):
    """A query slogen cannot turn into synthetic series; the message says why."""


class Unsupported(PromQLError):
    """Valid PromQL that is outside the subset slogen can synthesise."""


# -- tokens -----------------------------------------------------------------------------------

KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "atan2",
}
AGGREGATIONS = {
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
}
RANGE_FUNCTIONS = {"rate": "rate", "irate": "irate", "increase": "increase"}
_OPERATORS = ("==", "!=", "=~", "!~", "<=", ">=", "<", ">", "=", "+", "-", "*", "/", "%", "^", "@")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class Token:
    kind: str  # ident, number, string, op, punct, eof
    text: str
    pos: int
    value: str = ""  # decoded string literal


class Scanner:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self._peeked: Token | None = None

    def _skip(self) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch.isspace():
                self.pos += 1
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def _read(self) -> Token:
        self._skip()
        text, pos = self.text, self.pos
        if pos >= len(text):
            return Token("eof", "", pos)
        ch = text[pos]
        if ch in "\"'`":
            return self._string(ch)
        m = _NUMBER.match(text, pos)
        if m and (ch.isdigit() or ch == "."):
            self.pos = m.end()
            return Token("number", m.group(0), pos)
        m = _IDENT.match(text, pos)
        if m:
            self.pos = m.end()
            return Token("ident", m.group(0), pos)
        if ch in "(){}[],":
            self.pos += 1
            return Token("punct", ch, pos)
        for op in _OPERATORS:
            if text.startswith(op, pos):
                self.pos += len(op)
                return Token("op", op, pos)
        raise PromQLError(f"unexpected character {ch!r} at position {pos + 1}")

    def _string(self, quote: str) -> Token:
        start = self.pos
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == quote:
                self.pos += 1
                return Token("string", self.text[start : self.pos], start, "".join(out))
            if ch == "\\" and quote != "`":
                nxt = self.text[self.pos + 1 : self.pos + 2]
                out.append(_ESCAPES.get(nxt, nxt))
                self.pos += 2
                continue
            out.append(ch)
            self.pos += 1
        raise PromQLError(f"unterminated string starting at position {start + 1}")

    def peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self._read()
        return self._peeked

    def next(self) -> Token:
        token = self.peek()
        self._peeked = None
        return token

    def raw_until(self, closing: str) -> str:
        """The raw text up to ``closing`` (consumed), for ranges such as ``[5m]``."""
        if self._peeked is not None:
            self.pos = self._peeked.pos
            self._peeked = None
        end = self.text.find(closing, self.pos)
        if end < 0:
            raise PromQLError(f"missing {closing!r} after position {self.pos}")
        raw = self.text[self.pos : end]
        self.pos = end + 1
        return raw.strip()


# -- syntax tree ------------------------------------------------------------------------------


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


# -- parser -----------------------------------------------------------------------------------

_PRECEDENCE = [
    ("or",),
    ("and", "unless"),
    ("==", "!=", "<=", ">=", "<", ">"),
    ("+", "-"),
    ("*", "/", "%", "atan2"),
]


class _Parser:
    def __init__(self, text: str):
        self.scan = Scanner(text)

    def parse(self) -> Node:
        node = self.expr(0)
        token = self.scan.peek()
        if token.kind != "eof":
            raise PromQLError(f"unexpected {token.text!r} at position {token.pos + 1}")
        return node

    def _is_binop(self, token: Token, level: int) -> bool:
        if token.kind == "op" or (token.kind == "ident" and token.text in KEYWORDS):
            return token.text in _PRECEDENCE[level]
        return False

    def expr(self, level: int) -> Node:
        if level == len(_PRECEDENCE):
            return self.power()
        node = self.expr(level + 1)
        while self._is_binop(self.scan.peek(), level):
            op = self.scan.next().text
            self._modifiers(op)
            node = Binary(op, node, self.expr(level + 1))
        return node

    def _modifiers(self, op: str) -> None:
        token = self.scan.peek()
        if token.kind == "ident" and token.text == "bool":
            raise Unsupported(f"comparison '{op} bool' is not a sum of rates")
        if token.kind == "ident" and token.text in ("on", "ignoring", "group_left", "group_right"):
            raise Unsupported(
                f"vector matching with '{token.text}(...)' is not supported; write both sides "
                "with the same labels (e.g. sum by (...) on both)"
            )

    def power(self) -> Node:
        node = self.unary()
        if self.scan.peek().kind == "op" and self.scan.peek().text == "^":
            self.scan.next()
            return Binary("^", node, self.power())
        return node

    def unary(self) -> Node:
        token = self.scan.peek()
        if token.kind == "op" and token.text in ("+", "-"):
            self.scan.next()
            inner = self.unary()
            return Negate(inner) if token.text == "-" else inner
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        token = self.scan.peek()
        if token.kind == "punct" and token.text == "[":
            self.scan.next()
            raw = self.scan.raw_until("]")
            if ":" in raw:
                raise Unsupported(f"subquery [{raw}] is not supported")
            if not isinstance(node, Selector) or node.range is not None:
                raise PromQLError(f"a range [{raw}] needs a vector selector before it")
            try:
                seconds = parse_duration(raw)
            except DurationError as exc:
                raise PromQLError(f"range [{raw}]: {exc}") from exc
            node = Selector(node.selector, seconds)
            token = self.scan.peek()
        if (token.kind == "ident" and token.text == "offset") or (
            token.kind == "op" and token.text == "@"
        ):
            raise Unsupported(f"'{token.text}' modifiers are not supported")
        return node

    def _labels(self) -> tuple[str, ...]:
        self._expect("(")
        names: list[str] = []
        while True:
            token = self.scan.next()
            if token.kind == "punct" and token.text == ")":
                return tuple(names)
            if token.kind != "ident":
                raise PromQLError(f"expected a label name at position {token.pos + 1}")
            names.append(token.text)
            token = self.scan.next()
            if token.kind == "punct" and token.text == ")":
                return tuple(names)
            if not (token.kind == "punct" and token.text == ","):
                raise PromQLError(f"expected ',' or ')' at position {token.pos + 1}")

    def _expect(self, text: str) -> Token:
        token = self.scan.next()
        if token.text != text or token.kind not in ("punct", "op"):
            raise PromQLError(
                f"expected {text!r} at position {token.pos + 1}, found {token.text!r}"
            )
        return token

    def _args(self) -> tuple[Node, ...]:
        self._expect("(")
        args: list[Node] = []
        if self.scan.peek().kind == "punct" and self.scan.peek().text == ")":
            self.scan.next()
            return ()
        while True:
            args.append(self.expr(0))
            token = self.scan.next()
            if token.kind == "punct" and token.text == ")":
                return tuple(args)
            if not (token.kind == "punct" and token.text == ","):
                raise PromQLError(f"expected ',' or ')' at position {token.pos + 1}")

    def primary(self) -> Node:
        token = self.scan.next()
        if token.kind == "number":
            text = token.text
            value = Fraction(int(text, 16)) if text.lower().startswith("0x") else Fraction(text)
            return Number(value)
        if token.kind == "string":
            return StringLiteral(token.value)
        if token.kind == "punct" and token.text == "(":
            node = self.expr(0)
            self._expect(")")
            return node
        if token.kind == "punct" and token.text == "{":
            return Selector(self._selector(None))
        if token.kind == "ident":
            name = token.text
            if name.lower() in ("inf", "nan"):
                raise Unsupported(f"{name} is not a usable constant in an SLI")
            nxt = self.scan.peek()
            if name in AGGREGATIONS:
                return self._aggregate(name)
            if nxt.kind == "punct" and nxt.text == "(":
                return Call(name, self._args())
            if name in KEYWORDS:
                raise PromQLError(f"unexpected {name!r} at position {token.pos + 1}")
            if nxt.kind == "punct" and nxt.text == "{":
                self.scan.next()
                return Selector(self._selector(name))
            return Selector(VectorSelector(name, ()))
        raise PromQLError(
            f"unexpected {token.text or 'end of query'!r} at position {token.pos + 1}"
        )

    def _aggregate(self, op: str) -> Node:
        grouping: tuple[str, ...] | None = None
        without = False
        token = self.scan.peek()
        if token.kind == "ident" and token.text in ("by", "without"):
            self.scan.next()
            without = token.text == "without"
            grouping = self._labels()
        args = self._args()
        token = self.scan.peek()
        if token.kind == "ident" and token.text in ("by", "without"):
            if grouping is not None:
                raise PromQLError(f"{op} has two grouping clauses")
            self.scan.next()
            without = token.text == "without"
            grouping = self._labels()
        if op != "sum":
            raise Unsupported(
                f"aggregation '{op}' is not a sum of rates (only sum, with or without by/without)"
            )
        if len(args) != 1:
            raise PromQLError(f"sum takes one argument, found {len(args)}")
        return Aggregate(op, args[0], grouping, without)

    def _selector(self, name: str | None) -> VectorSelector:
        matchers: list[Matcher] = []
        while True:
            token = self.scan.next()
            if token.kind == "punct" and token.text == "}":
                break
            if token.kind != "ident":
                raise PromQLError(f"expected a label name at position {token.pos + 1}")
            op = self.scan.next()
            if op.kind != "op" or op.text not in ("=", "!=", "=~", "!~"):
                raise PromQLError(f"expected a label matcher operator at position {op.pos + 1}")
            value = self.scan.next()
            if value.kind != "string":
                raise PromQLError(f"expected a quoted label value at position {value.pos + 1}")
            if op.text in ("=~", "!~"):
                try:
                    re.compile(value.value)
                except re.error as exc:
                    raise Unsupported(
                        f"regular expression {value.value!r} ({exc}); slogen checks label "
                        "values with Python's re, which must understand it"
                    ) from exc
            matchers.append(Matcher(token.text, op.text, value.value))
            sep = self.scan.next()
            if sep.kind == "punct" and sep.text == "}":
                break
            if not (sep.kind == "punct" and sep.text == ","):
                raise PromQLError(f"expected ',' or '}}' at position {sep.pos + 1}")
        names = [m for m in matchers if m.label == "__name__"]
        rest = tuple(m for m in matchers if m.label != "__name__")
        if names:
            if name is not None or len(names) != 1 or names[0].op != "=":
                raise Unsupported("a metric name must be given once, literally (not as a regex)")
            name = names[0].value
        if not name:
            raise Unsupported("every selector needs a metric name")
        return VectorSelector(name, rest)


def parse(text: str) -> Node:
    """The syntax tree of a PromQL expression (with concrete ranges, no ``{{ window }}``)."""
    return _Parser(text).parse()


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


# -- linear evaluation ------------------------------------------------------------------------

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
    selector: VectorSelector
    seconds: int


def _drop(labels: Mapping[str, str], names: Sequence[str]) -> Labels:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in names))


def evaluate(node: Node, series: Sequence[Series]) -> Vector | Scalar | RangeValue:
    """The value of ``node`` over ``series``, linear in their per-second rates."""
    if isinstance(node, Number):
        return Scalar(node.value)
    if isinstance(node, StringLiteral):
        raise Unsupported("string literals are not numbers")
    if isinstance(node, Selector):
        if node.range is None:
            raise Unsupported(
                f"{node.selector} is read as a raw counter value; an SLI needs its rate "
                "(rate, irate or increase over [{{ window }}])"
            )
        return RangeValue(node.selector, node.range)
    if isinstance(node, Call):
        return _call(node, series)
    if isinstance(node, Aggregate):
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
    if isinstance(node, Negate):
        inner = evaluate(node.expr, series)
        if isinstance(inner, Scalar):
            return Scalar(-inner.value)
        if isinstance(inner, Vector):
            return Vector({k: v.scale(Fraction(-1)) for k, v in inner.elements.items()})
        raise PromQLError("cannot negate a range")
    if isinstance(node, Binary):
        return _binary(node, evaluate(node.lhs, series), evaluate(node.rhs, series))
    raise PromQLError(f"unexpected {type(node).__name__}")


def _call(node: Call, series: Sequence[Series]) -> Vector | Scalar:
    if node.func in RANGE_FUNCTIONS:
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


def _binary(node: Binary, lhs: object, rhs: object) -> Vector | Scalar:
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
