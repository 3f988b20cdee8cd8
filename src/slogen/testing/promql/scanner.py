"""PromQL tokens: identifiers, numbers, string literals, operators and punctuation."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slogen.testing.promql.tree import PromQLError

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
