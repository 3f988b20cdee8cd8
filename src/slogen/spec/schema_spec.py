"""The JSON Schema of a service spec file, made from the spec reader's own definitions.

Every mapping takes exactly the keys its reader takes (the key tuples of
:mod:`slogen.spec.specreader` and friends); each backend's part comes from its
:class:`~slogen.backends.contract.SchemaFragments`, for the backends the registry lists. A key's
description is looked up by the key, so a key added to the loader without one fails here, in
the tests, rather than reaching editors undescribed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from slogen.backends import registry
from slogen.backends.contract import SchemaFragments
from slogen.durations import UNITS
from slogen.spec import document, no_traffic
from slogen.spec.checks import MIN_EVENTS_AT_LEAST, OBJECTIVE_ABOVE, OBJECTIVE_BELOW, WINDOW_UNITS
from slogen.spec.classes import BUILTIN_CLASSES, CLASS_NAME_RE
from slogen.spec.model import CATEGORIES
from slogen.spec.resolve import NEEDED
from slogen.spec.schema_parts import (
    TEXT,
    JSONSchema,
    described,
    duration,
    enum,
    integer,
    label_map,
    mapping,
    matching,
    name,
    one_or_list,
    text,
)
from slogen.spec.settings import BUILTIN_POLICIES, CLASS_POLICIES
from slogen.spec.specreader import (
    ALERTING_KEYS,
    OWNER_RE,
    RESERVED_LABELS,
    RUNBOOK_RE,
    SERVICE_KEYS,
    SERVICE_REQUIRED,
    SEVERITY_RE,
    SLO_KEYS,
    SLO_REQUIRED,
)
from slogen.spec.traffic import TRAFFIC_RE

DRAFT = "https://json-schema.org/draft/2020-12/schema"
EVERY_UNIT = "".join(UNITS)  # what check.duration takes when no units are named


def ref(name_: str, description: str) -> JSONSchema:
    return {"description": description, "$ref": f"#/$defs/{name_}"}


def objective(description: str) -> JSONSchema:
    return described(
        description,
        {
            "type": "number",
            "exclusiveMinimum": OBJECTIVE_ABOVE,
            "exclusiveMaximum": OBJECTIVE_BELOW,
        },
    )


def window(description: str) -> JSONSchema:
    return duration(WINDOW_UNITS, description)


def min_events(description: str) -> JSONSchema:
    return integer(MIN_EVENTS_AT_LEAST, description)


def policy_name(description: str) -> JSONSchema:
    """A policy's name; the built-in ones as examples, for completion."""
    return {**name(description), "examples": [*BUILTIN_POLICIES, *CLASS_POLICIES]}


def class_name(description: str) -> JSONSchema:
    return {**matching(CLASS_NAME_RE, description), "examples": list(BUILTIN_CLASSES)}


def _service_parts() -> dict[str, JSONSchema]:
    return {
        "service": name("The service's name, unique across all specs ([a-z0-9-]+)."),
        "description": text("What the service is; free text."),
        "owner": matching(OWNER_RE, "The owning team; becomes the team label or tag."),
        "labels": label_map(
            RESERVED_LABELS,
            "Labels (tags) added to everything generated for the service; "
            + ", ".join(RESERVED_LABELS)
            + " are slogen's own.",
        ),
        "slos": described(
            "The service's SLOs (at least one).",
            {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/slo"}},
        ),
        "document": ref(
            "document",
            "The SLO document beyond the numbers: authors, approvers, review dates, the error "
            "budget policy.",
        ),
    }


def _slo_parts() -> dict[str, JSONSchema]:
    return {
        "name": name("The SLO's name, unique within the service ([a-z0-9-]+)."),
        "description": text("What the SLO measures; free text."),
        "category": enum(CATEGORIES, "What kind of SLI it is (groups dashboards)."),
        "class": class_name(
            "A request class (built in, or from slogen.yaml's classes): defaults for objective, "
            "window, policy, min_events and paging."
        ),
        "objective": objective("Percent of good events, strictly between 0 and 100, e.g. 99.9."),
        "window": window("The compliance period, in weeks, days or hours: 30d, 4w or 720h."),
        "traffic": matching(
            TRAFFIC_RE,
            "Expected events per period, e.g. 3M/30d or 100/s; slogen explain counts the budget "
            "in events with it.",
        ),
        "indicator": ref("indicator", "The SLI's source, per backend (at least one)."),
        "alerting": ref("alerting", "The policy and where each severity's alerts go; optional."),
    }


def _alerting_parts() -> dict[str, JSONSchema]:
    no_traffic_parts = {
        "for": duration(EVERY_UNIT, "How long the total counts no events: whole minutes."),
        "severity": name("The severity to alert at: one the policy uses (default: its first)."),
    }
    return {
        "policy": policy_name("The alerting policy (default: slogen.yaml's default_policy)."),
        "min_events": min_events("A tier fires only if its long window saw this many events."),
        "runbook": matching(RUNBOOK_RE, "An http(s) URL linked from every alert."),
        "no_traffic": described(
            "Alert when the SLI's total counts no events for this long (whole minutes): 15m, "
            "or {for: 15m, severity: ticket}.",
            {
                "anyOf": [
                    duration(EVERY_UNIT, "How long the total counts no events."),
                    mapping(
                        "The duration and the severity to alert at.",
                        {key: no_traffic_parts[key] for key in no_traffic.KEYS},
                        no_traffic.REQUIRED,
                    ),
                ]
            },
        ),
    }


def severity_key() -> str:
    """The pattern of a severity's key in ``alerting``: a severity name that is none of the
    block's own keys (a pattern property applies to every key it matches)."""
    own = "|".join(re.escape(key) for key in ALERTING_KEYS)
    return f"^(?!(?:{own})$)" + SEVERITY_RE.pattern.removeprefix("^")


def _document() -> JSONSchema:
    texts: dict[str, JSONSchema] = {
        "overview": text("The service overview: what it does and for whom."),
    }
    lists = {
        "authors": "Who wrote the SLOs: a name or a list of names.",
        "reviewers": "Who reviewed the SLOs: a name or a list of names.",
        "approvers": "Who approved the SLOs: a name or a list of names.",
        "escalation": "Who decides once the budget is spent, in order: one step or a list.",
        "budget_exhausted": "What the team does once the error budget is spent.",
        "satisfaction": "Where user satisfaction is measured, to check the SLOs against.",
    }
    dates = {
        "approved": "The day the SLOs were approved (YYYY-MM-DD).",
        "review": "The day of the next review (YYYY-MM-DD); a passed one is a warning.",
    }
    parts = {
        **texts,
        **{key: one_or_list(TEXT, lists[key]) for key in document.TEXT_LIST_KEYS},
        **{
            key: described(dates[key], {"type": "string", "format": "date"})
            for key in document.DATE_KEYS
        },
    }
    return mapping(
        "The SLO document and error budget policy, as the SRE Workbook's example has them.",
        {key: parts[key] for key in document.DOCUMENT_KEYS},
    )


def _backend_parts(part: Callable[[SchemaFragments], Mapping[str, Any]]) -> dict[str, Any]:
    """Each source backend's fragment: ``part`` picks its source or its notify schema."""
    out = {}
    for backend in registry.NAMES:
        fragment = part(registry.get(backend).capabilities.schema)
        if not fragment:
            raise ValueError(f"backend {backend} declares no schema for a part of specs")
        out[backend] = dict(fragment)
    return out


def spec_schema() -> JSONSchema:
    """The schema of one service spec file."""
    service = _service_parts()
    slo = _slo_parts()
    alerting = _alerting_parts()
    return {
        "$schema": DRAFT,
        "title": "slogen service spec",
        **mapping(
            "One service's SLOs, compiled into alerts by slogen (generated by `slogen schema`; "
            "`slogen validate` also checks what a schema cannot).",
            {key: service[key] for key in SERVICE_KEYS},
            SERVICE_REQUIRED,
        ),
        "$defs": {
            "slo": mapping(
                "One SLO. objective, window and indicator are required unless a class gives them.",
                {key: slo[key] for key in SLO_KEYS},
                SLO_REQUIRED,
                **{"if": {"required": ["class"]}, "else": {"required": list(NEEDED)}},
            ),
            "indicator": mapping(
                "The SLI, per backend: each backend gets only the SLOs that name it.",
                _backend_parts(lambda fragments: fragments.source),
                minProperties=1,
            ),
            "alerting": mapping(
                "The alerting policy, and one notification block per severity the policy uses "
                "(page, ticket...).",
                {key: alerting[key] for key in ALERTING_KEYS},
                patternProperties={
                    severity_key(): ref("notify", "Where this severity's alerts go, per backend.")
                },
            ),
            "notify": mapping(
                "Where one severity's alerts go, per backend.",
                _backend_parts(lambda fragments: fragments.notify),
            ),
            "document": _document(),
        },
    }
