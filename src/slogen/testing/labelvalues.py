"""Label values for synthetic series: one that a matcher accepts and one that it rejects.

For a regex, the shortest string it matches is found by walking the parsed pattern (the
standard library's own regex parser), and a plain word it does not match is picked from a short
list; :func:`values_for` gives both for any of ``=``, ``!=``, ``=~`` and ``!~``.
"""

from __future__ import annotations

import re

from slogen.testing.promql import Matcher

try:  # Python ≥ 3.11 keeps the regex parser here (sre_parse is deprecated)
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

OTHER_VALUES = ("other", "x", "0", "none", "")


_REPEATS = tuple(
    getattr(sre_c, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(sre_c, name)
)
_ATOMIC = tuple(getattr(sre_c, name) for name in ("ATOMIC_GROUP",) if hasattr(sre_c, name))


def _class_char(items: list, negate: bool = False) -> str | None:
    """A character inside (or, negated, outside) a parsed character class."""
    members: list[str] = []

    def member(ch: str) -> bool:
        for op, av in items:
            if op is sre_c.LITERAL and ord(ch) == av:
                return True
            if op is sre_c.RANGE and av[0] <= ord(ch) <= av[1]:
                return True
            if op is sre_c.CATEGORY:
                pattern = {
                    sre_c.CATEGORY_DIGIT: r"\d",
                    sre_c.CATEGORY_NOT_DIGIT: r"\D",
                    sre_c.CATEGORY_WORD: r"\w",
                    sre_c.CATEGORY_NOT_WORD: r"\W",
                    sre_c.CATEGORY_SPACE: r"\s",
                    sre_c.CATEGORY_NOT_SPACE: r"\S",
                }.get(av)
                if pattern and re.fullmatch(pattern, ch):
                    return True
        return False

    for op, av in items:
        if op is sre_c.LITERAL:
            members.append(chr(av))
        elif op is sre_c.RANGE:
            members.append(chr(av[0]))
    pool = [*members, *"0aA_x-. 9zZ"]
    for ch in pool:
        if member(ch) != negate:
            return ch
    return None


def shortest_match(pattern: str) -> str | None:
    """A shortest string the (fully anchored) regex matches, or None if none is found."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None
    groups: dict[int, str] = {}

    def gen(items) -> str:
        out: list[str] = []
        for op, av in items:
            if op is sre_c.LITERAL:
                out.append(chr(av))
            elif op is sre_c.NOT_LITERAL:
                out.append(next(c for c in "0ax" if ord(c) != av))
            elif op is sre_c.ANY:
                out.append("0")
            elif op is sre_c.IN:
                negate = bool(av) and av[0][0] is sre_c.NEGATE
                ch = _class_char(av[1:] if negate else av, negate)
                if ch is None:
                    raise ValueError("empty character class")
                out.append(ch)
            elif op is sre_c.BRANCH:
                alternatives = [gen(branch) for branch in av[1]]
                out.append(min(alternatives, key=len))
            elif op is sre_c.SUBPATTERN:
                group, _add, _del, sub = av
                text = gen(sub)
                if group is not None:
                    groups[group] = text
                out.append(text)
            elif op in _REPEATS:
                low, _high, sub = av
                out.append(gen(sub) * low)
            elif op in _ATOMIC:
                out.append(gen(av))
            elif op is sre_c.GROUPREF:
                out.append(groups.get(av, ""))
            elif op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
                continue  # anchors and lookarounds: checked by the final fullmatch
            else:
                raise ValueError(f"regex construct {op} is not supported")
        return "".join(out)

    try:
        text = gen(parsed)
    except (ValueError, StopIteration):
        return None
    return text if re.fullmatch(pattern, text) else None


def non_match(pattern: str) -> str | None:
    for candidate in OTHER_VALUES:
        if not re.fullmatch(pattern, candidate):
            return candidate
    return None


def values_for(matcher: Matcher) -> list[str]:
    """A value that satisfies the matcher and one that violates it (when they exist)."""
    if matcher.op == "=":
        other = next(v for v in (*OTHER_VALUES[:-1], "other2") if v != matcher.value)
        return [matcher.value, other]
    if matcher.op == "!=":
        other = next(v for v in (*OTHER_VALUES[:-1], "other2") if v != matcher.value)
        return [other, matcher.value]
    hit, miss = shortest_match(matcher.value), non_match(matcher.value)
    if hit is None and matcher.op == "=~":
        raise ValueError(f"no label value found that matches the regex {matcher.value!r}")
    values = [hit, miss] if matcher.op == "=~" else [miss, hit]
    return [v for v in values if v is not None]
