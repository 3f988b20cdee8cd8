"""Every check the Datadog backend makes, done once, before anything is rendered or sent.

``slogen validate`` (and plan, build, apply before them) runs :func:`validate`; render and the
API target then never reject a project for what its specs say. Problems are located at the
SLO's position with a field path such as ``slos[0].objective``, as the spec loader reports its
own errors, and carry a hint where there is an obvious fix.
"""

from __future__ import annotations

from fractions import Fraction

from slogen.backends.contract import uses
from slogen.backends.datadog.facts import (
    BACKEND,
    COMPOSITE_MAX_MONITORS,
    SLO_TARGET_MAX_DECIMALS,
    SYMBOL_RE,
    TAG_MAX_LENGTH,
    base_tags,
    metric_window,
    window_text,
)
from slogen.backends.datadog.forms import BURN_RATE, BURN_RATE_GUARD, slo_timeframe, tier_plan
from slogen.errors import Problem, Problems
from slogen.numbers import fmt
from slogen.spec.model import SLO, Project, Service


def _decimals(value: Fraction) -> int | None:
    """Decimal places of an exact fraction, or None when it has no finite decimal form."""
    for places in range(0, 12):
        if (value * 10**places).denominator == 1:
            return places
    return None


def validate(project: Project) -> list[Problem]:
    """Datadog's rules (see :mod:`.facts`) checked for every SLO with a ``datadog`` indicator."""
    problems = Problems()
    for service in project.services:
        for index, slo in enumerate(service.slos):
            if uses(BACKEND, slo):
                _check_slo(problems, service, slo, f"slos[{index}]")
    return problems.items


def _check_slo(problems: Problems, service: Service, slo: SLO, where: str) -> None:
    loc = slo.location
    places = _decimals(slo.objective)
    if slo_timeframe(slo) is not None and (places is None or places > SLO_TARGET_MAX_DECIMALS):
        problems.error(
            loc,
            f"{where}.objective",
            f"Datadog SLO targets have at most {SLO_TARGET_MAX_DECIMALS} decimal places, "
            f"found {fmt(slo.objective, 12)}",
            "round the objective to three decimals (e.g. 99.995), or use a window "
            "other than 7d/30d/90d to manage only the alerts",
        )
    source = slo.indicator.source(BACKEND)
    for name in ("total", "errors", "good"):
        query = getattr(source, name)
        if query is not None and SYMBOL_RE.search(query):
            problems.error(
                loc,
                f"{where}.indicator.datadog.{name}",
                "a Datadog query may not contain '${...}', which slogen uses for ids",
            )
    for tf in tier_plan(slo):
        math = tf.math
        windows = [("long", math.long), ("short", math.short)]
        if tf.form == BURN_RATE:
            windows = []
        elif tf.form == BURN_RATE_GUARD:
            windows = [("long", math.long)]
        for label, seconds in windows:
            if metric_window(seconds) is None:
                problems.error(
                    loc,
                    f"{where}.alerting.policy",
                    f"policy '{slo.policy.name}' tier '{math.id}' needs a Datadog metric "
                    f"monitor over its {label} window {window_text(seconds)}, but metric "
                    "monitor windows are whole minutes up to one week (last_#m up to "
                    "10080, last_#h up to 168)",
                    "use windows of whole minutes of at most 1w for Datadog SLOs",
                )
        children = 2 + (1 if slo.alerting.min_events else 0)
        if tf.form != BURN_RATE and children > COMPOSITE_MAX_MONITORS:
            problems.error(
                loc,
                where,
                f"a composite monitor combines at most {COMPOSITE_MAX_MONITORS} monitors",
            )
    for t in base_tags(service, slo, f"{service.name}/{slo.name}/x"):
        if len(t) > TAG_MAX_LENGTH:
            problems.error(
                loc,
                where,
                f"the Datadog tag '{t[:40]}...' is longer than {TAG_MAX_LENGTH} characters",
                "shorten the service or SLO name or the label",
            )
