"""JSON Schema (draft 2020-12) of spec files and of ``slogen.yaml``, for editors.

An editor with a YAML language server flags an unknown key or a malformed duration while the
file is typed, long before ``slogen validate`` runs. That only helps while the schema says
what the loader says, so it is generated from the loader's definitions (:mod:`.schema_spec`,
:mod:`.schema_settings`, the backends' :class:`~slogen.backends.contract.SchemaFragments`) and
the repository ships the result under ``schemas/``, checked by the tests to be current.

The schema never refuses a file the loader accepts; what it cannot express (rules across
fields or files, names defined in ``slogen.yaml``, PromQL) stays ``slogen validate``'s.
"""

from __future__ import annotations

import json

from slogen.spec.schema_parts import JSONSchema
from slogen.spec.schema_settings import settings_schema
from slogen.spec.schema_spec import spec_schema

__all__ = ["REGENERATE", "SHIPPED", "render", "settings_schema", "spec_schema"]

# The files the repository ships (relative to its root), by the schema they hold.
SHIPPED = {"spec": "schemas/spec.schema.json", "settings": "schemas/settings.schema.json"}
REGENERATE = (
    f"slogen schema -o {SHIPPED['spec']} && slogen schema --settings -o {SHIPPED['settings']}"
)


def render(schema: JSONSchema) -> str:
    """The schema as the shipped files hold it: indented JSON in a stable key order (the
    order the loader lists keys in, which is also the order editors complete them in)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
