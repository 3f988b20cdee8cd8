"""Grafana panel JSON: rows, stats and time series, in the dashboard model Grafana documents.

The shapes follow Grafana's dashboard schema (grafana/grafana kinds/dashboard/dashboard_kind.cue:
``#Panel`` needs ``type``, ``fieldConfig`` ``{defaults, overrides}``, ``options``; ``#RowPanel``
is ``type: row`` with ``collapsed``, ``id`` and ``panels``; ``#GridPos`` has ``h`` > 0, ``w`` in
1..24, ``x`` in 0..23 and ``y`` >= 0; thresholds are ``{mode, steps}`` whose first step's
value is null, i.e. minus infinity). Every query goes to the data source the ``datasource``
variable picks, so one file works with whatever the Prometheus data source is called.

Sharing. A dashboard body is written out and compared, never changed in place, so panels share
every block that does not differ between them: the data source, the option blocks, the empty
lists, grid positions and whole ``fieldConfig`` blocks (made once by :func:`stat_fields` and
:func:`timeseries_fields` for each distinct unit and thresholds; see :mod:`.dashboard`). At
5,000 SLOs that is some 400,000 fewer dicts and lists to build, hold and garbage-collect.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

DATASOURCE_VAR = "datasource"
DATASOURCE = {"type": "prometheus", "uid": f"${{{DATASOURCE_VAR}}}"}
NOTHING: list[Any] = []  # every empty list of every panel (overrides, transformations...)
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
_CUSTOM = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0}
_CUSTOM_DASHED = {**_CUSTOM, "thresholdsStyle": {"mode": "dashed"}}
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


@lru_cache(maxsize=4096)
def grid(x: int, y: int, w: int, h: int) -> dict[str, int]:
    """A grid position, shared by every panel at the same place (all ints: no ``1.0`` is
    ever served for a ``1``)."""
    return {"h": h, "w": w, "x": x, "y": y}


def stat_fields(
    unit: str, thresholds: dict[str, Any], decimals: int | None = None
) -> dict[str, Any]:
    """The ``fieldConfig`` of a single-value panel coloured by ``thresholds``."""
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": thresholds,
        "mappings": NOTHING,
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {"defaults": defaults, "overrides": NOTHING}


def timeseries_fields(unit: str, thresholds: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``fieldConfig`` of a graph; with ``thresholds``, each is drawn as a dashed line."""
    defaults: dict[str, Any] = {"unit": unit, "color": {"mode": "palette-classic"}}
    if thresholds is not None:
        defaults["thresholds"] = thresholds
    defaults["custom"] = _CUSTOM if thresholds is None else _CUSTOM_DASHED
    return {"defaults": defaults, "overrides": NOTHING}


_TIMELINE_FIELDS = {
    "defaults": {
        "color": {"mode": "thresholds"},
        "thresholds": steps((None, GREEN), (1, RED)),
        "mappings": NOTHING,
    },
    "overrides": NOTHING,
}


def row(panel_id: int, title: str, y: int) -> dict[str, Any]:
    return {
        "type": "row",
        "id": panel_id,
        "title": title,
        "collapsed": False,
        "gridPos": grid(0, y, WIDTH, 1),
        "panels": NOTHING,
    }


def _panel(
    kind: str,
    panel_id: int,
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    pos: dict[str, int],
    fields: dict[str, Any],
    options: dict[str, Any],
) -> dict[str, Any]:
    return {
        "type": kind,
        "id": panel_id,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": pos,
        "targets": targets,
        "fieldConfig": fields,
        "options": options,
        "transformations": NOTHING,
    }


def stat(
    panel_id: int,
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    pos: dict[str, int],
    fields: dict[str, Any],
) -> dict[str, Any]:
    """A single-value panel (``fields`` from :func:`stat_fields`)."""
    return _panel("stat", panel_id, title, description, targets, pos, fields, _STAT_OPTIONS)


def timeseries(
    panel_id: int,
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    pos: dict[str, int],
    fields: dict[str, Any],
) -> dict[str, Any]:
    """A graph (``fields`` from :func:`timeseries_fields`)."""
    return _panel(
        "timeseries", panel_id, title, description, targets, pos, fields, _TIMESERIES_OPTIONS
    )


def state_timeline(
    panel_id: int, title: str, description: str, targets: list[dict[str, Any]], pos: dict[str, int]
) -> dict[str, Any]:
    """Coloured bands per series over time: here, when each tier's alert was pending/firing."""
    return _panel(
        "state-timeline",
        panel_id,
        title,
        description,
        targets,
        pos,
        _TIMELINE_FIELDS,
        _TIMELINE_OPTIONS,
    )
