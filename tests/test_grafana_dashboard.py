"""The Grafana dashboards of the example specs: golden files, Grafana's schema, layout rules.

The golden files are what the ``files`` target writes (``out/grafana/<service>.json``, the
dashboard JSON Grafana's file provisioning reads). After an intended change, regenerate them
and review the diff::

    .venv/bin/python -m tests.test_grafana_dashboard --regen

Grafana publishes its dashboard schema in CUE (grafana/grafana kinds/dashboard/
dashboard_kind.cue), not as JSON Schema; :data:`DASHBOARD_SCHEMA` is that schema's rules for
the parts slogen writes, transcribed (field names, required fields, enums and bounds as the CUE
gives them), and every golden dashboard must pass it. Rules the schema cannot say (unique
panel ids, panels that do not overlap) are checked by hand.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from slogen.backends.grafana import names
from slogen.backends.grafana.dashboard import MANAGED_KEYS, SCHEMA_VERSION
from tests.backend_golden import BackendGolden

GOLDEN_FILES = BackendGolden("grafana", suffix=".json")
GOLDEN = GOLDEN_FILES.directory
rendered = GOLDEN_FILES.rendered
regenerate = GOLDEN_FILES.regenerate  # scripts/regen_golden.py calls it

_GRID = {  # #GridPos
    "type": "object",
    "required": ["h", "w", "x", "y"],
    "properties": {
        "h": {"type": "integer", "exclusiveMinimum": 0},
        "w": {"type": "integer", "minimum": 1, "maximum": 24},
        "x": {"type": "integer", "minimum": 0, "maximum": 23},
        "y": {"type": "integer", "minimum": 0},
        "static": {"type": "boolean"},
    },
}
_DATASOURCE = {  # #DataSourceRef
    "type": "object",
    "properties": {"type": {"type": "string"}, "uid": {"type": "string"}},
}
_THRESHOLDS = {  # #ThresholdsConfig: steps sorted, the first one's value -Infinity (null)
    "type": "object",
    "required": ["mode", "steps"],
    "properties": {
        "mode": {"enum": ["absolute", "percentage"]},
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["color"],
                "properties": {
                    "value": {"type": ["number", "null"]},
                    "color": {"type": "string"},
                },
            },
        },
    },
}
_FIELD_CONFIG = {  # #FieldConfigSource
    "type": "object",
    "required": ["defaults", "overrides"],
    "properties": {
        "defaults": {
            "type": "object",
            "properties": {
                "unit": {"type": "string"},
                "decimals": {"type": "number"},
                "thresholds": _THRESHOLDS,
                "color": {
                    "type": "object",
                    "required": ["mode"],
                    "properties": {"mode": {"type": "string"}},
                },
                "mappings": {"type": "array"},
                "custom": {"type": "object"},
            },
        },
        "overrides": {"type": "array"},
    },
}
_PANEL = {  # #Panel
    "type": "object",
    "required": ["type", "fieldConfig", "options", "transformations"],
    "properties": {
        "type": {"type": "string", "minLength": 1, "not": {"const": "row"}},
        "id": {"type": "integer", "minimum": 0},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "datasource": _DATASOURCE,
        "gridPos": _GRID,
        "targets": {"type": "array", "items": {"type": "object"}},
        "transparent": {"type": "boolean"},
        "transformations": {"type": "array"},
        "options": {"type": "object"},
        "fieldConfig": _FIELD_CONFIG,
    },
}
_ROW = {  # #RowPanel
    "type": "object",
    "required": ["type", "id", "panels"],
    "properties": {
        "type": {"const": "row"},
        "collapsed": {"type": "boolean"},
        "title": {"type": "string"},
        "datasource": _DATASOURCE,
        "gridPos": _GRID,
        "id": {"type": "integer", "minimum": 0},
        "panels": {"type": "array", "items": _PANEL},
    },
}
_VARIABLE = {  # #VariableModel
    "type": "object",
    "required": ["type", "name"],
    "properties": {
        "type": {
            "enum": [
                "query",
                "adhoc",
                "constant",
                "datasource",
                "interval",
                "textbox",
                "custom",
                "system",
            ]
        },
        "name": {"type": "string"},
        "label": {"type": "string"},
        "hide": {"enum": [0, 1, 2]},
        "skipUrlSync": {"type": "boolean"},
        "description": {"type": "string"},
        "query": {"type": ["string", "object"]},
        "datasource": _DATASOURCE,
    },
}
DASHBOARD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["editable", "graphTooltip", "schemaVersion"],
    "properties": {
        "id": {"type": ["integer", "null"]},
        "uid": {"type": "string", "maxLength": 40, "pattern": "^[A-Za-z0-9_-]+$"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "timezone": {"type": "string"},
        "editable": {"type": "boolean"},
        "graphTooltip": {"enum": [0, 1, 2]},
        "time": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
        },
        "fiscalYearStartMonth": {"type": "integer", "minimum": 0, "maximum": 11},
        "liveNow": {"type": "boolean"},
        "refresh": {"type": ["string", "boolean"]},
        "schemaVersion": {"type": "integer", "minimum": 0, "maximum": 65535},
        "version": {"type": "integer", "minimum": 0},
        "panels": {"type": "array", "items": {"anyOf": [_PANEL, _ROW]}},
        "templating": {
            "type": "object",
            "properties": {"list": {"type": "array", "items": _VARIABLE}},
        },
        "annotations": {
            "type": "object",
            "properties": {"list": {"type": "array", "items": {"type": "object"}}},
        },
        "links": {"type": "array"},
    },
}


def dashboards() -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in rendered().items()}


def test_golden_files_cover_every_service() -> None:
    assert sorted(p.name for p in GOLDEN.glob("*.json")) == sorted(rendered()), (
        "golden files are missing or stale; run: python -m tests.test_grafana_dashboard --regen"
    )
    assert sorted(rendered()) == ["billing-worker.json", "checkout.json", "search.json"]


@pytest.mark.parametrize("name", sorted(rendered()))
def test_rendered_matches_golden(name: str) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert rendered()[name] == expected, (
        f"{name} differs from tests/golden/grafana; if the change is intended, run "
        "python -m tests.test_grafana_dashboard --regen and review the diff"
    )


def test_the_schema_itself_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(DASHBOARD_SCHEMA)


@pytest.mark.parametrize("name", sorted(rendered()))
def test_dashboard_passes_grafanas_schema(name: str) -> None:
    validator = jsonschema.Draft202012Validator(DASHBOARD_SCHEMA)
    errors = sorted(validator.iter_errors(dashboards()[name]), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_refuses_what_grafana_would() -> None:
    """The transcription has teeth: each of these breaks one rule of the CUE schema."""
    good = dashboards()["checkout.json"]
    validator = jsonschema.Draft202012Validator(DASHBOARD_SCHEMA)
    breakages = [
        lambda d: d.update(uid="x" * 41),
        lambda d: d.update(graphTooltip=3),
        lambda d: d.pop("schemaVersion"),
        lambda d: d["panels"][1]["gridPos"].update(w=25),
        lambda d: d["panels"][1].pop("fieldConfig"),
        lambda d: d["panels"][1]["fieldConfig"]["defaults"]["thresholds"].update(mode="x"),
        lambda d: d["templating"]["list"][0].update(type="dropdown"),
        lambda d: d["panels"][0].pop("panels"),
    ]
    for index, breakage in enumerate(breakages):
        broken = json.loads(json.dumps(good))
        breakage(broken)
        assert not validator.is_valid(broken), f"breakage {index} passed the schema"


@pytest.mark.parametrize("name", sorted(rendered()))
def test_layout_ids_and_ownership(name: str) -> None:
    dashboard = dashboards()[name]
    service = name.removesuffix(".json")
    assert dashboard["schemaVersion"] == SCHEMA_VERSION
    assert tuple(dashboard) == MANAGED_KEYS  # the fields the API target compares
    assert len(dashboard["uid"]) <= names.MAX_UID
    assert dashboard["uid"] == names.uid("specs", service)
    assert dashboard["tags"][:3] == [
        "managed-by:slogen",
        "slogen-project:specs",
        f"slogen-service:{service}",
    ]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert set(target) >= {"refId", "expr"}
    variables = [v["name"] for v in dashboard["templating"]["list"]]
    assert variables == ["datasource", "service", "slo"]


def test_one_row_per_slo_with_a_burn_rate_graph_per_tier() -> None:
    checkout = dashboards()["checkout.json"]
    rows = [p["title"] for p in checkout["panels"] if p["type"] == "row"]
    assert rows == ["availability: 99.9% over 30d", "latency: 99% over 30d"]
    burn = [p for p in checkout["panels"] if p["title"].startswith("Burn rate")]
    assert [p["title"] for p in burn[:3]] == [
        "Burn rate, page-1h (page)",
        "Burn rate, page-6h (page)",
        "Burn rate, ticket-3d (ticket)",
    ]
    page = burn[0]
    assert [t["expr"] for t in page["targets"]] == [
        'slogen:sli_error_ratio:rate1h{service="$service",slo="availability",slo=~"$slo"} / 0.001',
        'slogen:sli_error_ratio:rate5m{service="$service",slo="availability",slo=~"$slo"} / 0.001',
    ]
    steps = page["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"value": None, "color": "green"}, {"value": 14.4, "color": "red"}]
    assert page["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == {"mode": "dashed"}


if __name__ == "__main__":
    GOLDEN_FILES.main()
