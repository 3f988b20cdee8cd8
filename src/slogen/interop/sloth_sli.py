"""Sloth SLI queries as slogen indicator queries.

Sloth renders each query as a Go template whose only variable is ``{{.window}}`` (slok/sloth
``pkg/prometheus/api/v1/v1.go``: "Requires the usage of `{{.window}}` template variable";
``pkg/common/conventions``: ``PromQueryTPLKeyWindow = "window"``); slogen's placeholder is
``{{ window }}``.

An ``events`` SLI is already what slogen needs: bad events and all events. A ``raw`` SLI is an
error *ratio*, and slogen cannot use a ratio: its rules divide sums of events over each window
(a ratio of sums weighs every moment by its traffic; averaging ratios does not), and
``min_events`` and ``slogen explain`` count events. So a raw query is converted only when its
text visibly is ``errors / total`` (or ``1 - good / total``) of two windowed queries; anything
else is an error that says what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WINDOW = re.compile(r"\{\{-?\s*\.window\s*-?\}\}")
SLOGEN_WINDOW = "{{ window }}"
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_OPERATOR_CHARS = set("+-*/%^<>=!")


class QueryError(ValueError):
    """A query that cannot be imported; ``hint`` says what to write instead."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def window_query(text: str) -> str:
    """``text`` with Sloth's ``{{.window}}`` as slogen's ``{{ window }}``; refuses queries
    without it (Sloth refuses them too) and other template actions slogen would not expand."""
    query = _WINDOW.sub(SLOGEN_WINDOW, text.strip())
    if SLOGEN_WINDOW not in query:
        raise QueryError(
            "the query has no {{.window}}, so every alert window would read the same range",
            "use {{.window}} as the range of rate() or increase(), e.g. "
            "sum(rate(http_requests_total[{{.window}}]))",
        )
    leftover = query.replace(SLOGEN_WINDOW, "")
    if "{{" in leftover:
        raise QueryError(
            "the query uses a Go template action other than {{.window}}, which slogen does "
            "not expand",
            "write the value the template would produce into the query",
        )
    return query


@dataclass(frozen=True)
class SplitRatio:
    """A raw error ratio split into the two event queries it divides."""

    side: str  # "errors" or "good": what the numerator counts
    numerator: str
    total: str


def _top_level(text: str) -> list[tuple[int, str]]:
    """Positions and characters of operator characters outside brackets and strings."""
    found: list[tuple[int, str]] = []
    stack: list[str] = []
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote != "`":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char == "#":  # a PromQL comment runs to the end of the line
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif char in _OPENERS:
            stack.append(_OPENERS[char])
        elif stack and char == stack[-1]:
            stack.pop()
        elif not stack and char in _OPERATOR_CHARS:
            found.append((index, char))
        index += 1
    return found


def _unwrap(text: str) -> str:
    """``text`` without parentheses that enclose all of it."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for index, char in enumerate(text):
            depth += char == "("
            depth -= char == ")"
            if depth == 0 and index < len(text) - 1:
                return text  # `(a) / (b)`: the first parenthesis closes early
        text = text[1:-1].strip()
    return text


def _words(text: str) -> set[str]:
    """Bare words outside brackets and strings (to spot ``on``, ``ignoring``, ``and``...)."""
    stripped = []
    depth = 0
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            stripped.append(char)
            continue
        stripped.append(" ")
    return set(re.findall(r"[A-Za-z_]\w*", "".join(stripped)))


_MODIFIERS = {"on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}


def _division(text: str) -> tuple[str, str] | None:
    """``(a, b)`` when ``text`` is exactly ``a / b`` with no other top-level operator."""
    text = _unwrap(text)
    operators = _top_level(text)
    if len(operators) != 1 or operators[0][1] != "/":
        return None
    at = operators[0][0]
    lhs, rhs = text[:at].strip(), text[at + 1 :].strip()
    if _MODIFIERS & (_words(lhs) | _words(rhs)) or not lhs or not rhs:
        return None
    return lhs, rhs


def split_ratio(query: str) -> SplitRatio:
    """The event queries behind a raw error-ratio query (already in slogen's window syntax).

    Accepts ``E / T`` (errors over total) and ``1 - G / T`` (one minus good over total), with
    any enclosing parentheses, where each side reads ``{{ window }}``; raises
    :class:`QueryError` otherwise.
    """
    split: SplitRatio | None = None
    division = _division(query)
    if division is not None:
        split = SplitRatio("errors", *division)
    else:
        body = _unwrap(query)
        operators = _top_level(body)
        if operators and operators[0][1] == "-" and body[: operators[0][0]].strip() in ("1", "1.0"):
            rest = body[operators[0][0] + 1 :]
            division = _division(rest)  # every other top-level operator lies in `rest`
            if division is not None:
                split = SplitRatio("good", *division)
    if split is None:
        raise QueryError(
            "a raw SLI is an error ratio, and slogen needs the events behind it: its alerts "
            "divide the sum of bad events by the sum of all events over each window (a ratio of "
            "sums, which weighs each moment by its traffic) and min_events counts events; this "
            "query is not visibly errors / total, so it cannot be split",
            "write the SLO as an events SLI (error_query and total_query, both with "
            "{{.window}}) and import again, or write indicator.prometheus errors and total "
            "by hand in the imported spec",
        )
    for name, part in (("numerator", split.numerator), ("denominator", split.total)):
        if SLOGEN_WINDOW not in part:
            raise QueryError(
                f"the ratio's {name} does not read {{{{.window}}}}, so it is not a count of "
                "events over the alert window",
                "write the SLO as an events SLI (error_query and total_query, both with "
                "{{.window}})",
            )
    return SplitRatio(split.side, _unwrap(split.numerator), _unwrap(split.total))
