"""Grafana panel JSON: rows, stats and time series, in the dashboard model Grafana documents.

The shapes follow Grafana's dashboard schema (grafana/grafana kinds/dashboard/dashboard_kind.cue:
``#Panel`` needs ``type``, ``fieldConfig`` ``{defaults, overrides}``, ``options``; ``#RowPanel``
is ``type: row`` with ``collapsed``, ``id`` and ``panels``; ``#GridPos`` has ``h`` > 0, ``w`` in
1..24, ``x`` in 0..23 and ``y`` >= 0; thresholds are ``{mode, steps}`` whose first step's
value is null, i.e. minus infinity). Every query goes to the data source the ``datasource``
variable picks, so one file works with whatever the Prometheus data source is called.
"""

from __future__ import annotations

from typing import Any

DATASOURCE_VAR = "datasource"
# One object shared by every panel and query of every dashboard (as are the fixed option blocks
# below): a dashboard body is written out and compared, never changed in place, and 5,000 SLOs
# made a quarter of a million copies of these few dicts.
DATASOURCE = {"type": "prometheus", "uid": f"${{{DATASOURCE_VAR}}}"}
_STAT_OPTIONS = {
    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    "colorMode": "background",
    "graphMode": "none",
    "justifyMode": "auto",
    "orientation": "auto",
    "textMode": "value",
}
_TIMESERIES_OPTIONS = {
    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
    "tooltip": {"mode": "multi", "sort": "none"},
}
_TIMELINE_OPTIONS = {
    "showValue": "never",
    "mergeValues": True,
    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
    "tooltip": {"mode": "single", "sort": "none"},
}
GREEN, RED, ORANGE = "green", "red", "orange"
WIDTH = 24  # grid columns


def target(ref: str, expr: str, legend: str = "", instant: bool = False) -> dict[str, Any]:
    """One Prometheus query of a panel (``instant``: one value now, for stats)."""
    return {
        "refId": ref,
        "datasource": DATASOURCE,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "instant": instant,
        "range": not instant,
    }


def steps(*pairs: tuple[float | None, str]) -> dict[str, Any]:
    """Absolute thresholds: ``(None, base colour)``, then ``(value, colour)`` ascending."""
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in pairs]}


def grid(x: int, y: int, w: int, h: int) -> dict[str, int]:
    return {"h": h, "w": w, "x": x, "y": y}


def row(panel_id: int, title: str, y: int) -> dict[str, Any]:
    return {
        "type": "row",
        "id": panel_id,
        "title": title,
        "collapsed": False,
        "gridPos": grid(0, y, WIDTH, 1),
        "panels": [],
    }


def stat(
    panel_id: int,
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    pos: dict[str, int],
    unit: str,
    thresholds: dict[str, Any],
    decimals: int | None = None,
) -> dict[str, Any]:
    """A single-value panel coloured by ``thresholds``."""
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": thresholds,
        "mappings": [],
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat",
        "id": panel_id,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": pos,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": _STAT_OPTIONS,
        "transformations": [],
    }


def timeseries(
    panel_id: int,
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    pos: dict[str, int],
    unit: str,
    thresholds: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A graph; with ``thresholds``, each threshold is drawn as a dashed line."""
    custom: dict[str, Any] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0}
    defaults: dict[str, Any] = {"unit": unit, "color": {"mode": "palette-classic"}}
    if thresholds is not None:
        defaults["thresholds"] = thresholds
        custom["thresholdsStyle"] = {"mode": "dashed"}
    defaults["custom"] = custom
    return {
        "type": "timeseries",
        "id": panel_id,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": pos,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": _TIMESERIES_OPTIONS,
        "transformations": [],
    }


def state_timeline(
    panel_id: int, title: str, description: str, targets: list[dict[str, Any]], pos: dict[str, int]
) -> dict[str, Any]:
    """Coloured bands per series over time: here, when each tier's alert was pending/firing."""
    return {
        "type": "state-timeline",
        "id": panel_id,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": pos,
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "thresholds"},
                "thresholds": steps((None, GREEN), (1, RED)),
                "mappings": [],
            },
            "overrides": [],
        },
        "options": _TIMELINE_OPTIONS,
        "transformations": [],
    }
