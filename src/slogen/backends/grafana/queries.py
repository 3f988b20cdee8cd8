"""The PromQL of every panel: only series that slogen's Prometheus rules record.

The dashboard reads what :mod:`slogen.backends.prometheus.render` records for each SLO, never
the spec's raw queries again: ``slogen:sli_errors:<kind><base>`` and
``slogen:sli_total:<kind><base>`` (the SLI at the base range, a per-second rate or a count per
base range), ``slogen:sli_error_ratio:rate<W>`` for every tier window, and the ``ALERTS`` series
Prometheus keeps for its alert rule (``alertname`` = the rule's name, labelled with ``service``,
``slo``, ``tier`` and ``severity``). So the panels show exactly what the alerts evaluate, and a
30-day attainment costs a sum over one recorded series, not a 30-day range over raw ones.

Every selector carries the dashboard variables: ``service="$service"`` and, next to the SLO's
own ``slo="<name>"``, ``slo=~"$slo"`` (PromQL takes two matchers on one label), so unticking an
SLO in the variable empties its row. Grafana replaces ``$service``/``$slo`` before sending a
query (its "All" value is ``.*``); :func:`substitute` does the same for tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from slogen.backends.prometheus.render import alert_name, base_window
from slogen.backends.prometheus.semantics import INCREASE, query_kind
from slogen.backends.prometheus.source import PrometheusSource
from slogen.durations import format_duration
from slogen.engine import TierMath, analyse_slo
from slogen.numbers import fmt
from slogen.spec.model import SLO, Service

SERVICE_VAR = "service"
SLO_VAR = "slo"


def selector(slo: SLO, **extra: str) -> str:
    """The label matchers of one SLO's series, with the dashboard variables."""
    pairs = [
        f'{SERVICE_VAR}="${SERVICE_VAR}"',
        f'slo="{slo.name}"',
        f'slo=~"${SLO_VAR}"',
        *(f'{k}="{v}"' for k, v in extra.items()),
    ]
    return "{" + ",".join(pairs) + "}"


def substitute(expr: str, service: str, slo: str = ".*") -> str:
    """``expr`` as Grafana sends it with the variables set (``slo``: a regex, All is ``.*``)."""
    return expr.replace(f"${SERVICE_VAR}", service).replace(f"${SLO_VAR}", slo)


@dataclass(frozen=True)
class SloQueries:
    """The queries of one SLO's row."""

    errors: str  # the recorded error series (rate or count per base range)
    total: str
    counts: bool  # True: the SLI counts events per base range (increase), not a rate
    base: str  # the base range, e.g. "5m"
    window: str  # the SLO window, e.g. "30d"
    budget: str  # the error budget as a ratio, e.g. "0.001"
    alert: str  # the Prometheus alert rule's name
    selector: str  # the SLO's label matchers (:func:`selector`), made once for all its queries

    @property
    def window_ratio(self) -> str:
        """The error ratio over the whole SLO window: traffic-weighted, as the rules are."""
        return (
            f"sum_over_time({self.errors}[{self.window}])\n/\n"
            f"sum_over_time({self.total}[{self.window}])"
        )

    @property
    def attainment(self) -> str:
        return f"1 - (\n{self.window_ratio}\n)"

    @property
    def budget_remaining(self) -> str:
        """1 at the window's start, 0 when the budget is spent, below 0 past that."""
        return f"1 - (\n{self.window_ratio}\n) / {self.budget}"

    def burn_rate(self, window: str) -> str:
        """The burn rate over ``window`` (a duration, ``1h``): its error ratio over the budget."""
        return f"slogen:sli_error_ratio:rate{window}{self.selector} / {self.budget}"

    def alerts_firing(self, slo: SLO) -> str:
        """How many of the SLO's tiers fire now (0, not nothing, when none does)."""
        sel = selector(slo, alertname=self.alert, alertstate="firing")
        return f"count(ALERTS{sel}) or vector(0)"

    def alert_states(self, slo: SLO) -> str:
        """Per tier, 1 while its alert is pending or firing (nothing while quiet)."""
        return f"max by (tier, alertstate) (ALERTS{selector(slo, alertname=self.alert)})"


def slo_queries(service: Service, slo: SLO) -> SloQueries:
    source = slo.indicator.source("prometheus")
    assert isinstance(source, PrometheusSource)
    kind = query_kind(source)
    base = format_duration(base_window(slo))
    sel = selector(slo)
    return SloQueries(
        errors=f"slogen:sli_errors:{kind}{base}{sel}",
        total=f"slogen:sli_total:{kind}{base}{sel}",
        counts=kind == INCREASE,
        base=base,
        window=format_duration(slo.window),
        budget=fmt(1 - slo.target),
        alert=alert_name(service.name, slo.name),
        selector=sel,
    )


def tiers(slo: SLO) -> list[TierMath]:
    """The SLO's policy tiers, as the Prometheus alerts use them."""
    return analyse_slo(slo)
