"""Block-style YAML text, byte for byte what :func:`reference` (PyYAML) writes, faster.

Rule files and the Alertmanager config are YAML a person reviews in a pull request, written
with PyYAML's block style, keys in insertion order and multi-line strings as literal blocks
(``|-``). PyYAML builds a node graph, resolves and analyses every scalar and emits it event by
event in Python even with its C dumper: for 1,000 SLOs that was the largest single cost of
``slogen build``. The documents slogen writes repeat a few thousand distinct strings (labels,
durations, expressions) many times over, so this writes the layout itself and asks PyYAML only
once per distinct scalar (and per distinct key) how that scalar is written: quoting, escaping
and literal-block headers stay PyYAML's own decisions, and the text is identical.

Anything whose layout is not reproduced here (a non-mapping document, nested sequences, a
block scalar as a sequence item, an object that appears twice and would get an anchor, a key
PyYAML writes as an explicit ``?`` key, a type other than dict, list, str, int, float, bool
and None) hands the whole document to PyYAML, so the result is always :func:`reference`'s.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# PyYAML's C parser: yaml.safe_load is its pure-Python one, ~10x slower; reading 200 live rule
# files back was 83% of a no-change plan of 1,000 SLOs.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line strings (PromQL, descriptions) as literal blocks: readable in a diff.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)

_SCALARS = (str, int, float, bool, type(None))
_OTHER_BREAKS = ("\x85", "\u2028", "\u2029")  # line breaks to YAML besides "\n"
_CACHE_LIMIT = 200_000  # distinct scalars kept; a long-lived process starts over beyond it


def reference(data: Any) -> str:
    """The text PyYAML writes for ``data`` (the definition :func:`dump` reproduces)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=10_000, allow_unicode=True)


def load(text: str | bytes) -> Any:
    """``yaml.safe_load(text)`` through PyYAML's C parser (the same data, errors as
    :class:`yaml.YAMLError` with marks)."""
    return yaml.load(text, Loader=_Loader)


class _Unusual(Exception):
    """Something whose exact PyYAML text this module does not reproduce."""


# value -> (what follows "key: " on its line, the lines of a block scalar or None). Strings, by
# far the most common scalars, are kept by themselves: no key tuple to build for each lookup.
_Written = tuple[str, tuple[str, ...] | None]
_strings: dict[str, _Written] = {}
_values: dict[tuple[type, object], _Written] = {}
_keys: dict[str, str] = {}


# Strings PyYAML writes plain in block context without asking: a letter first, printable ASCII
# after it, none of the sequences that end a plain scalar (": ", " #", a final ":" or space),
# and not one of the words YAML 1.1 reads as a boolean or null (PyYAML's resolver).
_PLAIN = re.compile(r"[A-Za-z][ -~]*")
_RESERVED = frozenset(
    f(word)
    for word in ("yes", "no", "true", "false", "on", "off", "null")
    for f in (str.lower, str.capitalize, str.upper)
)
# Multi-line strings PyYAML writes as a ``|-`` literal block without asking: printable ASCII
# and line breaks, not starting with a space or a break (that needs an indentation indicator),
# no space before a break or at the end, no break at the end (other chomping indicators).
_PRINTABLE = re.compile(r"[ -~]+")
_NOT_PLAIN = frozenset(" #,[]{}&*!|>'\"%@`")  # first characters a plain scalar cannot have
_QUICK_LENGTH = 4_000
_LITERAL = re.compile(r"[!-~][ -~\n]*")


def _quick(value: str) -> _Written | None:
    if len(value) > _QUICK_LENGTH:  # PyYAML folds scalars longer than its width
        return None
    if "\n" not in value:
        if not _PRINTABLE.fullmatch(value):
            return None
        if (
            _PLAIN.fullmatch(value)
            and ": " not in value
            and " #" not in value
            and value[-1] not in ": "
            and value not in _RESERVED
        ):
            return (value, None)
        if ": " in value or " #" in value or value[:1] in _NOT_PLAIN or value[-1] in " :":
            # Surely not plain, and a printable one-line string can always be single-quoted.
            return ("'" + value.replace("'", "''") + "'", None)
        return None
    if _LITERAL.fullmatch(value) and " \n" not in value and value[-1] not in " \n":
        return ("|-", tuple(value.split("\n")))
    return None


def _scalar(value: object) -> _Written:
    if value.__class__ is str:
        found = _strings.get(value)  # type: ignore[call-overload]
        if found is None:
            found = _quick(value)  # type: ignore[arg-type]
            if found is None:
                found = _remember(_strings, value, _written(value))
            elif found[1] is None:
                # One-line strings repeat (labels, windows, severities); a literal block is an
                # expression or a description, written once, and not copied into the cache.
                _remember(_strings, value, found)
        return found
    if value.__class__ not in _SCALARS:
        raise _Unusual
    # -0.0 == 0.0 (and True == 1, told apart by the class): floats are keyed by their repr
    cache_key = (float, repr(value)) if value.__class__ is float else (value.__class__, value)
    found = _values.get(cache_key)
    if found is None:
        found = _remember(_values, cache_key, _written(value))
    return found


def _remember(cache: dict[Any, _Written], key: object, found: _Written) -> _Written:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = found
    return found


def _written(value: object) -> _Written:
    """How PyYAML writes the scalar ``value`` (asked of PyYAML itself)."""
    first, _, rest = reference({"k": value}).partition("\n")
    head = first[3:]
    if any(mark in head for mark in _OTHER_BREAKS):  # a scalar folded over lines at an indent
        raise _Unusual
    if rest == "":
        return (head, None)
    if head[:1] in ("|", ">") and rest.endswith("\n"):
        lines = rest[:-1].split("\n")
        if any(line and not line.startswith("  ") for line in lines):
            raise _Unusual
        return (head, tuple(line[2:] for line in lines))
    raise _Unusual  # e.g. a quoted scalar PyYAML folds over several lines


def _key(key: object) -> str:
    if key.__class__ is not str:
        raise _Unusual
    found = _keys.get(key)  # type: ignore[call-overload]
    if found is None:
        text = reference({key: 0})
        if not text.endswith(": 0\n") or "\n" in text[:-4] or text.startswith("? "):
            raise _Unusual
        found = text[:-4]
        if len(_keys) >= _CACHE_LIMIT:
            _keys.clear()
        _keys[key] = found  # type: ignore[index]
    return found


def dump(data: Any) -> str:
    """``reference(data)``, faster for the mappings of plain values slogen writes."""
    if data.__class__ is not dict or not data:
        return reference(data)
    out: list[str] = []
    try:
        _mapping(data, "", "", out, set())
    except (_Unusual, RecursionError, TypeError):  # TypeError: an unhashable scalar
        return reference(data)
    return "".join(out)


def _mapping(value: dict, indent: str, first: str, out: list[str], seen: set[int]) -> None:
    """The keys of a non-empty mapping at ``indent``; the first line starts with ``first``
    instead (``- `` when the mapping is a sequence item)."""
    prefix = first or indent
    for key, item in value.items():
        # the cache lookups inline: this loop runs for every key of every rule
        text = _keys.get(key) if key.__class__ is str else None
        start = prefix + (text or _key(key))
        prefix = indent
        cls = item.__class__
        if cls is dict or cls is list:
            if id(item) in seen:  # PyYAML would write an anchor and an alias
                raise _Unusual
            seen.add(id(item))
            if not item:
                out.append(start + (": {}\n" if cls is dict else ": []\n"))
            elif cls is dict:
                out.append(start + ":\n")
                _mapping(item, indent + "  ", "", out, seen)
            else:
                out.append(start + ":\n")
                _sequence(item, indent, out, seen)  # PyYAML's sequences in mappings: no indent
            continue
        head, lines = (_strings.get(item) if cls is str else None) or _scalar(item)
        out.append(f"{start}: {head}\n")
        if lines is not None:
            inner = indent + "  "
            out.extend(inner + line + "\n" if line else "\n" for line in lines)


def _sequence(value: list, indent: str, out: list[str], seen: set[int]) -> None:
    for item in value:
        cls = item.__class__
        if cls is dict or cls is list:
            if id(item) in seen or cls is list:  # anchors, or a sequence in a sequence
                raise _Unusual
            seen.add(id(item))
            if item:
                _mapping(item, indent + "  ", indent + "- ", out, seen)
            else:
                out.append(indent + "- {}\n")
            continue
        head, lines = _scalar(item)
        if lines is not None:  # a block scalar as an item: not reproduced here
            raise _Unusual
        out.append(indent + "- " + head + "\n")
