"""The JSON Schema of the Grafana target, for ``slogen schema``.

Grafana is a view: no spec names it, so it has no source or notification schema, only its
target's types and options.
"""

from __future__ import annotations

from slogen.backends.contract import SchemaFragments

SCHEMA = SchemaFragments(
    types={
        "files": "One dashboard JSON per service, for Grafana's file provisioning.",
        "api": "Grafana's HTTP API.",
        "none": "No dashboards: nothing is rendered, planned or written for Grafana.",
    },
    options={
        "dir": {"description": "Directory of the dashboard files (default out/grafana)."},
        "url": {"description": "Grafana's base URL, e.g. https://grafana.example.com."},
        "folder": {"description": "The folder's uid (from its URL /dashboards/f/<uid>/...)."},
        "token": {"description": "A service account token: a ${VARIABLE} reference."},
    },
)
