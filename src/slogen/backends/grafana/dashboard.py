"""One Grafana dashboard per service: per SLO a row of attainment, budget, alerts and burn.

Layout of an SLO's row (24 grid columns):

* three stats: attainment over the SLO window (red below the objective), error budget remaining
  over the window (red once spent), and how many of its alert tiers fire now;
* one graph per policy tier: the burn rate over the tier's long and short windows, with the
  tier's burn-rate threshold as a dashed line (the alert fires while both are above it);
* the alert state of each tier over time, and the SLI's error and total rates (or counts per
  base range, for ``increase()`` SLIs) from which everything above is computed.

Variables: ``datasource`` (the Prometheus data source), ``service`` (this dashboard's one
service) and ``slo`` (multi-select, All by default) - see :mod:`.queries`.

The body of the ``dashboard`` resource is the dashboard JSON as the files target writes it and
the API target sends it; Grafana adds ``id`` and ``version`` of its own, which are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from slogen.backends.contract import target_label
from slogen.backends.grafana import names, panels
from slogen.backends.grafana.queries import SERVICE_VAR, SLO_VAR, SloQueries, slo_queries, tiers
from slogen.durations import format_duration
from slogen.engine import TierMath
from slogen.memo import ByIdentity
from slogen.numbers import fmt, fmt_percent
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service

BACKEND = "grafana"
SHOWS = "prometheus"  # the backend whose SLOs the dashboards show
# Grafana's dashboard schema version. Grafana migrates a dashboard of an older version when it
# loads it, and leaves a newer one as it is; 41 is among the versions Grafana's migrations
# know (grafana/grafana apps/dashboard/pkg/migration/schemaversion, v41.go; LATEST_VERSION 42).
SCHEMA_VERSION = 41
# The dashboard fields slogen sets: a live dashboard is compared on these only.
MANAGED_KEYS = (
    "uid",
    "title",
    "description",
    "tags",
    "editable",
    "graphTooltip",
    "timezone",
    "time",
    "refresh",
    "schemaVersion",
    "fiscalYearStartMonth",
    "liveNow",
    "links",
    "annotations",
    "templating",
    "panels",
)
STAT_H, GRAPH_H = 4, 8
PER_LINE = 3  # burn-rate graphs side by side


def _variables(service: Service, slos: list[SLO]) -> list[dict[str, Any]]:
    def custom(name: str, label: str, values: list[str], multi: bool) -> dict[str, Any]:
        options = [{"text": v, "value": v, "selected": not multi} for v in values]
        current = (
            {"text": ["All"], "value": ["$__all"]}
            if multi
            else {"text": values[0], "value": values[0]}
        )
        variable: dict[str, Any] = {
            "type": "custom",
            "name": name,
            "label": label,
            "query": ",".join(values),
            "options": options,
            "current": current,
            "multi": multi,
            "includeAll": multi,
            "hide": 0,
            "skipUrlSync": False,
        }
        if multi:
            variable["allValue"] = ".*"
        return variable

    return [
        {
            "type": "datasource",
            "name": panels.DATASOURCE_VAR,
            "label": "Data source",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "includeAll": False,
            "multi": False,
            "options": [],
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
        },
        custom(SERVICE_VAR, "Service", [service.name], multi=False),
        custom(SLO_VAR, "SLO", [slo.name for slo in slos], multi=True),
    ]


class _Ids:
    """Panel ids, unique within the dashboard and stable for the same specs."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last += 1
        return self.last


# The blocks and texts below depend on far fewer things than there are SLOs (a policy tier and
# the SLO window; the objective and window), so they are made once per distinct value and
# shared by every panel that shows them (bodies are never changed in place: see .panels).
_FIRING_FIELDS = panels.stat_fields("none", panels.steps((None, panels.GREEN), (1, panels.RED)))
_BUDGET_FIELDS = panels.stat_fields(
    "percentunit",
    panels.steps((None, panels.RED), (0, panels.ORANGE), (0.25, panels.GREEN)),
    decimals=1,
)
_EVENTS_FIELDS = {unit: panels.timeseries_fields(unit) for unit in ("short", "reqps")}


@dataclass(frozen=True)
class _Objective:
    """The texts and thresholds of an SLO's stats, which only its objective and window set."""

    objective: str  # "99.9%"
    window: str  # "30d"
    attainment_title: str
    attainment_text: str
    attainment_fields: dict[str, Any]
    budget_title: str
    budget_text: str


@lru_cache(maxsize=1024)
def _objective(window: int, numerator: int, denominator: int) -> _Objective:
    """The stats of SLOs with this window and objective (as the percentage's numerator and
    denominator: ints hash cheaply, a Fraction's hash is a modular inverse)."""
    target = Fraction(numerator, denominator) / 100
    objective, text = fmt_percent(target), format_duration(window)
    return _Objective(
        objective=objective,
        window=text,
        attainment_title=f"Attainment ({text})",
        attainment_text=f"Share of good events over the last {text}; the objective is {objective}.",
        attainment_fields=panels.stat_fields(
            "percentunit",
            panels.steps((None, panels.RED), (float(target), panels.GREEN)),
            decimals=3,
        ),
        budget_title=f"Error budget remaining ({text})",
        budget_text=f"What is left of the {text} error budget ({fmt_percent(1 - target)} of "
        "events); below 0 the objective is missed.",
    )


@dataclass(frozen=True)
class _Tier:
    """What a tier's burn-rate graph shows apart from the SLO's own queries: set by the policy
    tier and the SLO window alone."""

    title: str
    description: str
    long: str  # the windows, as durations and legends
    short: str
    fields: dict[str, Any]


_tiers: ByIdentity[_Tier] = ByIdentity(limit=10_000)


def _tier(math: TierMath) -> _Tier:
    found = _tiers.get((math.tier,), (math.period,))
    if found is not None:
        return found
    long, short = format_duration(math.long), format_duration(math.short)
    burn = fmt(math.burn_rate, 4)
    made = _Tier(
        title=f"Burn rate, {math.id} ({math.severity})",
        description=f"Error ratio over {long} and {short} divided by the budget; the "
        f"{math.severity} alert fires while both are above {burn} ({fmt_percent(math.budget)} "
        f"of the budget in {long}).",
        long=long,
        short=short,
        fields=panels.timeseries_fields(
            "none", panels.steps((None, panels.GREEN), (float(math.burn_rate), panels.RED))
        ),
    )
    return _tiers.put((math.tier,), made, (math.period,))


def _slo_panels(service: Service, slo: SLO, y: int, ids: _Ids) -> tuple[list[dict[str, Any]], int]:
    """The row of one SLO starting at grid line ``y``; returns its panels and the next free y."""
    q: SloQueries = slo_queries(service, slo)
    shared = _objective(slo.window, slo.objective.numerator, slo.objective.denominator)
    out = [panels.row(ids.next(), f"{slo.name}: {shared.objective} over {shared.window}", y)]
    y += 1
    out.append(
        panels.stat(
            ids.next(),
            shared.attainment_title,
            shared.attainment_text,
            [panels.target("A", q.attainment, "attainment", instant=True)],
            panels.grid(0, y, 8, STAT_H),
            shared.attainment_fields,
        )
    )
    out.append(
        panels.stat(
            ids.next(),
            shared.budget_title,
            shared.budget_text,
            [panels.target("A", q.budget_remaining, "budget remaining", instant=True)],
            panels.grid(8, y, 8, STAT_H),
            _BUDGET_FIELDS,
        )
    )
    out.append(
        panels.stat(
            ids.next(),
            "Alerts firing",
            f"Tiers of the Prometheus alert {q.alert} firing now.",
            [panels.target("A", q.alerts_firing(slo), "firing", instant=True)],
            panels.grid(16, y, 8, STAT_H),
            _FIRING_FIELDS,
        )
    )
    y += STAT_H
    maths = tiers(slo)
    width = panels.WIDTH // min(PER_LINE, len(maths))
    for index, math in enumerate(maths):
        x = (index % PER_LINE) * width
        if index and index % PER_LINE == 0:
            y += GRAPH_H
        tier = _tier(math)
        out.append(
            panels.timeseries(
                ids.next(),
                tier.title,
                tier.description,
                [
                    panels.target("A", q.burn_rate(tier.long), tier.long),
                    panels.target("B", q.burn_rate(tier.short), tier.short),
                ],
                panels.grid(x, y, width, GRAPH_H),
                tier.fields,
            )
        )
    y += GRAPH_H
    out.append(
        panels.state_timeline(
            ids.next(),
            "Alert state by tier",
            f"When each tier of {q.alert} was pending or firing.",
            [panels.target("A", q.alert_states(slo), "{{tier}} {{alertstate}}")],
            panels.grid(0, y, 12, GRAPH_H),
        )
    )
    per = f"per {q.base}" if q.counts else "per second"
    out.append(
        panels.timeseries(
            ids.next(),
            f"SLI events ({per})",
            f"The SLI as Prometheus records it: bad and all events, {per}.",
            [panels.target("A", q.errors, "errors"), panels.target("B", q.total, "total")],
            panels.grid(12, y, 12, GRAPH_H),
            _EVENTS_FIELDS["short" if q.counts else "reqps"],
        )
    )
    return out, y + GRAPH_H


def dashboard_json(project: str | None, service: Service) -> dict[str, Any]:
    """The dashboard of one service (only its SLOs with a Prometheus indicator)."""
    slos = [slo for slo in service.slos if slo.indicator.source(SHOWS) is not None]
    ids = _Ids()
    body: list[dict[str, Any]] = []
    y = 0
    for slo in slos:
        rows, y = _slo_panels(service, slo, y, ids)
        body.extend(rows)
    description = service.description or f"Service level objectives of {service.name}"
    return {
        "uid": names.uid(project, service.name),
        "title": names.title(service.name),
        "description": f"{description}. Generated by slogen; edits are overwritten on apply.",
        "tags": names.tags(project, service.name),
        "editable": False,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": "now-7d", "to": "now"},
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": _variables(service, slos)},
        "panels": body,
    }


def render(project: Project) -> list[Resource]:
    """A ``dashboard`` resource per service with at least one Prometheus SLO (key: the
    service's name)."""
    tname = target_label(project.target(BACKEND))
    return [
        Resource(BACKEND, tname, names.KIND, service.name, dashboard_json(project.project, service))
        for service in project.services
        if any(slo.indicator.source(SHOWS) is not None for slo in service.slos)
    ]
