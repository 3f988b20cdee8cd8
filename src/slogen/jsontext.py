"""Indented JSON text, exactly as ``json.dumps(value, indent=2, ensure_ascii=False)`` writes it.

Given an ``indent``, the standard library leaves its C encoder for a pure-Python generator that
yields every bracket, comma and indentation separately; for the megabytes of JSON files that a
build writes, that was the largest single cost. This writes the same text in fewer steps
(strings still go through the C string encoder), for the plain dicts, lists, strings, numbers,
booleans and None that resources are made of; anything else (other types, subclasses, NaN or
infinite floats, keys that are not strings, cycles) is handed to ``json.dumps`` itself.
"""

from __future__ import annotations

import json
from typing import Any

_encode_str = json.encoder.encode_basestring  # the C implementation where there is one
_INFINITY = float("inf")


class _Unusual(Exception):
    """A value whose exact json.dumps text this module does not reproduce."""


def dumps_indented(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, faster."""
    out: list[str] = []
    try:
        _write(value, "\n", out)
    except (_Unusual, RecursionError):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(out)


def _write(value: Any, newline: str, out: list[str]) -> None:
    cls = value.__class__
    if cls is str:
        out.append(_encode_str(value))
    elif cls is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if key.__class__ is not str:
                raise _Unusual
            out.append(separator)
            out.append(_encode_str(key))
            out.append(": ")
            _write(item, inner, out)
            separator = "," + inner
        out.append(newline + "}")
    elif cls is list or cls is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _write(item, inner, out)
            separator = "," + inner
        out.append(newline + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif cls is int:
        out.append(int.__repr__(value))
    elif cls is float and value == value and value not in (_INFINITY, -_INFINITY):
        out.append(float.__repr__(value))
    else:
        raise _Unusual
