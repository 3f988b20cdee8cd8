"""A recursive-descent parser for the PromQL subset (:func:`parse`).

Valid PromQL outside the subset is refused with :class:`~slogen.testing.promql.tree.Unsupported`
and the reason, never approximated.
"""

from __future__ import annotations

import re
from fractions import Fraction

from slogen.durations import DurationError, parse_duration
from slogen.testing.promql.scanner import AGGREGATIONS, KEYWORDS, Scanner, Token
from slogen.testing.promql.tree import (
    Aggregate,
    Binary,
    Call,
    Matcher,
    Negate,
    Node,
    Number,
    PromQLError,
    Selector,
    StringLiteral,
    Unsupported,
    VectorSelector,
)

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
