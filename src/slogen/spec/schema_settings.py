"""The JSON Schema of ``slogen.yaml``, made from the settings reader's own definitions.

Targets come from each backend's capabilities: its target types, the options each type takes
and needs (:attr:`~slogen.backends.contract.Capabilities.target_options`,
``required_options``), described by its :class:`~slogen.backends.contract.SchemaFragments`.
An option's value is checked by what the option is (:data:`~slogen.spec.settings.OPTION_KINDS`),
as the loader checks it, whichever backend takes it.
"""

from __future__ import annotations

import re

from slogen.alertmanager import settings as alertmanager
from slogen.alertmanager.settings import GROUP_BY_ALL, RECEIVER_RE, ROUTE_KEYS, TIMING_KEYS
from slogen.backends import registry
from slogen.envref import WHOLE_REFERENCE
from slogen.spec.checks import LABEL_NAME_RE, NAME_RE, RESERVED_LABEL_PREFIX
from slogen.spec.classes import CLASS_KEYS, CLASS_NAME_RE, FLAG_KEYS, SILENT_KEYS
from slogen.spec.schema_parts import (
    TEXT,
    JSONSchema,
    after_strip,
    boolean,
    described,
    duration,
    enum,
    label_map,
    mapping,
    matching,
    name,
    one_or_list,
    percent,
    referring,
    text,
)
from slogen.spec.schema_spec import (
    DRAFT,
    EVERY_UNIT,
    min_events,
    objective,
    policy_name,
    window,
)
from slogen.spec.settings import (
    NAMESPACE_RE,
    OPTION_KINDS,
    PROJECT_RE,
    PROMETHEUS_FORMATS,
    REGION_RE,
    SETTINGS_KEYS,
    TIER_KEYS,
    TIER_REQUIRED,
    URL_RE,
)

# What a target option's value is, by its kind (settings.OPTION_KINDS; "text" otherwise).
# Strings are stripped before they are checked, and may hold ${VARIABLE} references, which
# are checked once expanded; credentials must be nothing but one reference.
KINDS: dict[str, JSONSchema] = {
    "format": {"type": "string", "enum": list(PROMETHEUS_FORMATS)},
    "regions": one_or_list(matching(REGION_RE, "An AWS region."), "", nonempty=False),
    "region": referring(REGION_RE, ""),
    "url": referring(URL_RE, ""),
    "name": referring(NAMESPACE_RE, ""),
    "credential": {"type": "string", "pattern": after_strip(WHOLE_REFERENCE)},
    "text": TEXT,
}


def option(key: str, description: str) -> JSONSchema:
    return described(description, KINDS[OPTION_KINDS.get(key, "text")])


def target(backend: str) -> JSONSchema:
    """``targets.<backend>``: a ``type`` and the options that type takes."""
    capabilities = registry.get(backend).capabilities
    fragments = capabilities.schema
    types = capabilities.target_options
    options: dict[str, JSONSchema] = {}
    for keys in types.values():
        for key in keys:
            if key not in options:
                options[key] = option(key, fragments.options[key]["description"])
                options[key].update(
                    {k: v for k, v in fragments.options[key].items() if k != "description"}
                )
    kinds = "; ".join(f"{kind}: {fragments.types[kind].rstrip('.')}" for kind in types)
    cases = []
    for kind, keys in types.items():
        then: JSONSchema = {"propertyNames": {"enum": ["type", *keys]}}
        required = capabilities.required_options.get(kind, ())
        if required:
            then["required"] = list(required)
        case = {"properties": {"type": {"const": kind}}, "required": ["type"]}
        cases.append({"if": case, "then": then})
    return mapping(
        f"Where slogen keeps the {backend} output (default: files under out/{backend}).",
        {"type": enum(types, f"The target type. {kinds}."), **options},
        ["type"],
        allOf=cases,
    )


def _tier() -> JSONSchema:
    parts = {
        "severity": name("The severity its alerts carry, e.g. page or ticket."),
        "budget": percent("The share of the error budget it alerts on, above 0% and up to 100%."),
        "long": duration(EVERY_UNIT, "The long window, e.g. 1h."),
        "short": duration(
            EVERY_UNIT, "The short window, shorter than the long one (default: 1/12 of it)."
        ),
    }
    return mapping(
        "One tier: alert when this share of the budget is spent within the long window.",
        {key: parts[key] for key in TIER_KEYS},
        TIER_REQUIRED,
    )


def _request_class() -> JSONSchema:
    flags = {
        "pages": "false: every tier of the class's policy is delivered as a ticket.",
        "alerts": "false: the class's SLOs build nothing (like NO_SLO).",
    }
    parts = {
        "description": text("What the class is for; free text."),
        "objective": objective("Default objective of its SLOs, in percent."),
        "window": window("Default window of its SLOs: weeks, days or hours."),
        "policy": policy_name("The policy of its SLOs (default: default_policy)."),
        "min_events": min_events("Default min_events of its SLOs."),
        **{key: boolean(flags[key]) for key in FLAG_KEYS},
    }
    return mapping(
        "A request class: defaults for the SLOs that name it. With alerts: false, only "
        + " and ".join(SILENT_KEYS)
        + " are allowed.",
        {key: parts[key] for key in CLASS_KEYS},
        **{
            "if": {"properties": {"alerts": {"const": False}}, "required": ["alerts"]},
            "then": {"propertyNames": {"enum": list(SILENT_KEYS)}},
        },
    )


def _alertmanager() -> JSONSchema:
    label = {
        "type": "string",
        "pattern": LABEL_NAME_RE.pattern,
        "not": {"pattern": "^" + re.escape(RESERVED_LABEL_PREFIX)},
    }
    group_by_item = {"anyOf": [{"const": GROUP_BY_ALL}, label]}
    receiver = matching(RECEIVER_RE, "A receiver of your Alertmanager configuration.")
    parts: dict[str, JSONSchema] = {
        "receivers": described(
            "The receiver of each severity the policies use, e.g. {page: sre-pager}.",
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": NAME_RE.pattern},
                "additionalProperties": receiver,
            },
        ),
        "routes": described(
            "Routes tried first, in order: alerts with every label of match go to receiver.",
            {
                "type": "array",
                "items": mapping(
                    "One route.",
                    {
                        "match": {
                            **label_map((), "Labels an alert must carry, e.g. {team: payments}."),
                            "minProperties": 1,
                        },
                        "receiver": receiver,
                    },
                    ROUTE_KEYS,
                ),
            },
        ),
        "group_by": described(
            f"Labels Alertmanager groups alerts by (default service, slo); '{GROUP_BY_ALL}' "
            "alone: every label.",
            {
                "anyOf": [
                    group_by_item,
                    {
                        "type": "array",
                        "items": group_by_item,
                        "minItems": 1,
                        "uniqueItems": True,
                        "if": {"contains": {"const": GROUP_BY_ALL}},
                        "then": {"maxItems": 1},
                    },
                ]
            },
        ),
        "inhibit_tickets": boolean("Hold a ticket back while its SLO pages (default true)."),
        **{
            key: duration(EVERY_UNIT, f"Alertmanager's {key} for slogen's routes, e.g. 5m.")
            for key in TIMING_KEYS
        },
    }
    return mapping(
        "How Alertmanager delivers slogen's Prometheus alerts (the generated fragment).",
        {key: parts[key] for key in alertmanager.KEYS},
    )


def settings_schema() -> JSONSchema:
    """The schema of ``slogen.yaml``."""
    parts: dict[str, JSONSchema] = {
        "project": matching(
            PROJECT_RE,
            "Whose objects these are, written into every ownership marker: lower-case letters, "
            "digits and '-' (default: the directory's name).",
        ),
        "default_policy": policy_name("The policy of SLOs that name none (default workbook)."),
        "policies": described(
            "Alerting policies by name, each a list of tiers.",
            {
                "type": "object",
                "propertyNames": {"pattern": NAME_RE.pattern},
                "additionalProperties": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/$defs/tier"},
                },
            },
        ),
        "classes": described(
            "Request classes by name (upper case, e.g. HIGH_SLOW): they add to the built-in "
            "ones, or replace one of the same name.",
            {
                "type": "object",
                "propertyNames": {"pattern": CLASS_NAME_RE.pattern},
                "additionalProperties": {"$ref": "#/$defs/class"},
            },
        ),
        "targets": mapping(
            "Where each backend's output lives.",
            {backend: target(backend) for backend in registry.every()},
        ),
        "alertmanager": _alertmanager(),
    }
    return {
        "$schema": DRAFT,
        "title": "slogen project settings (slogen.yaml)",
        **mapping(
            "Policies, request classes, targets and Alertmanager delivery for a spec directory "
            "(generated by `slogen schema --settings`).",
            {key: parts[key] for key in SETTINGS_KEYS},
        ),
        "$defs": {"tier": _tier(), "class": _request_class()},
    }
