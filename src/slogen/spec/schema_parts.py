"""JSON Schema pieces made from the loader's own definitions, for ``slogen schema``.

An editor that validates a spec against a schema is only useful if the schema and ``slogen
validate`` agree, so nothing here restates a rule: names, durations, percentages, label maps
and SLI sources are built from the regular expressions and key tuples the readers in
:mod:`slogen.spec` use. The schema may accept what the loader refuses (rules that span
fields or files, such as a tier's short window being shorter than its long one), never the
other way round: an editor must not flag a file that slogen takes.

Patterns are written for the ECMAScript dialect JSON Schema uses; every loader expression is
anchored with ``^``/``$`` and uses only syntax the two dialects share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from slogen.durations import UNITS
from slogen.envref import REFERENCE
from slogen.spec.checks import (
    LABEL_NAME_RE,
    NAME_RE,
    PERCENT_RE,
    RESERVED_LABEL_PREFIX,
    SLI_EITHER,
    SLI_KEYS,
    SLI_REQUIRED,
)

JSONSchema = dict[str, Any]

# Checker.string: a string with something besides blanks in it.
TEXT: JSONSchema = {"type": "string", "pattern": r"\S"}

# What each side of an SLI source counts (the keys are checks.SLI_KEYS).
SIDES = {
    "errors": "Bad events (give errors or good, not both).",
    "good": "Good events, such as requests under the latency threshold (errors or good).",
    "total": "All events: the denominator of the ratio.",
}


def described(description: str, schema: Mapping[str, Any]) -> JSONSchema:
    """``schema`` with a ``description`` first, the text editors show on hover (none when
    ``description`` is empty: a piece that is described where it is used)."""
    return {"description": description, **schema} if description else dict(schema)


def text(description: str) -> JSONSchema:
    return described(description, TEXT)


def matching(regex: re.Pattern[str], description: str) -> JSONSchema:
    """A string the loader's ``regex`` accepts."""
    return described(description, {"type": "string", "pattern": regex.pattern})


def name(description: str) -> JSONSchema:
    """A name as :meth:`~slogen.spec.checks.Checker.name` reads it: ``[a-z0-9-]+``."""
    return matching(NAME_RE, description)


def after_strip(regex: re.Pattern[str]) -> str:
    """The pattern of text that ``regex`` accepts once leading and trailing blanks are
    stripped, as the settings reader strips target options before checking them."""
    body = regex.pattern.removeprefix("^")
    if body.endswith("$"):
        return rf"^\s*(?:{body.removesuffix('$')})\s*$"
    return rf"^\s*(?:{body})"


def referring(regex: re.Pattern[str], description: str) -> JSONSchema:
    """A target option matching ``regex`` (stripped), or any text holding a ``${VARIABLE}``:
    references are checked only once expanded, when the target is used."""
    return described(
        description,
        {
            "type": "string",
            "pattern": r"\S",
            "anyOf": [{"pattern": after_strip(regex)}, {"pattern": REFERENCE.pattern}],
        },
    )


def duration(units: str, description: str) -> JSONSchema:
    """A duration :func:`~slogen.durations.parse_duration` accepts with ``units``: numbers with
    a unit each, largest unit first and each once, adding up to more than zero (some digit is
    not 0)."""
    parts = "".join(rf"(?:\d+{unit})?" for unit in UNITS if unit in units)
    return described(description, {"type": "string", "pattern": f"^(?=.*[1-9]){parts}$"})


def percent(description: str) -> JSONSchema:
    """A percentage as :meth:`~slogen.spec.checks.Checker.percent` reads it (``"2%"``); its
    range, above 0 and at most 100, is left to ``slogen validate``."""
    return matching(PERCENT_RE, description)


def enum(options: Iterable[str], description: str) -> JSONSchema:
    return described(description, {"type": "string", "enum": list(options)})


def boolean(description: str) -> JSONSchema:
    return described(description, {"type": "boolean"})


def integer(minimum: int, description: str) -> JSONSchema:
    return described(description, {"type": "integer", "minimum": minimum})


def label_map(reserved: Iterable[str], description: str) -> JSONSchema:
    """Labels as :meth:`~slogen.spec.checks.Checker.label_map` reads them: Prometheus label
    names, none starting with ``__`` or in ``reserved``, each with a non-empty string."""
    refused: list[JSONSchema] = [{"pattern": "^" + re.escape(RESERVED_LABEL_PREFIX)}]
    reserved = list(reserved)
    if reserved:
        refused.append({"enum": reserved})
    return described(
        description,
        {
            "type": "object",
            "propertyNames": {"pattern": LABEL_NAME_RE.pattern, "not": {"anyOf": refused}},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
    )


def one_or_list(item: Mapping[str, Any], description: str, nonempty: bool = True) -> JSONSchema:
    """One item, or a list of them: a side summing several sources (never empty), or a list of
    recipients (where a single one may stand alone, and an empty list says "nobody")."""
    many: JSONSchema = {"type": "array", "items": dict(item)}
    if nonempty:
        many["minItems"] = 1
    return described(description, {"anyOf": [dict(item), many]})


def mapping(
    description: str,
    properties: Mapping[str, Mapping[str, Any]],
    required: Iterable[str] = (),
    **extra: Any,
) -> JSONSchema:
    """A mapping that takes only ``properties`` (the loader refuses unknown keys)."""
    schema: JSONSchema = {
        "type": "object",
        "properties": {key: dict(value) for key, value in properties.items()},
        "additionalProperties": False,
    }
    required = list(required)
    if required:
        schema["required"] = required
    return described(description, {**schema, **extra})


def sli_source(
    side: Mapping[str, Any],
    description: str,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    extra_required: Iterable[str] = (),
) -> JSONSchema:
    """An SLI source as :meth:`~slogen.spec.checks.Checker.sli_fields` reads it: ``total`` and
    exactly one of ``errors`` and ``good``, each a ``side``; ``extra`` keys come first."""
    properties = {**(extra or {}), **{key: described(SIDES[key], side) for key in SLI_KEYS}}
    return mapping(
        description,
        properties,
        (*extra_required, *SLI_REQUIRED),
        oneOf=[{"required": [key]} for key in SLI_EITHER],
    )
