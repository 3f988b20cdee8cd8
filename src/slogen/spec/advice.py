"""Warnings about alerting that builds and applies but will not behave as intended.

Three situations, each a warning located at the SLO (``validate`` prints them; ``--strict``
makes them errors):

* **A tier whose burn rate is below 1.** With ``B = b·P/L < 1`` the tier fires at an error
  ratio below the SLO's own budget rate ``1 − o``: it raises alerts while the SLO is being met
  (the Workbook's slowest tier, 10 % over 3 days of a 30-day SLO, has ``B = 1`` exactly, the
  budget rate itself, and is fine). The fix is a larger budget share (above ``L/P``) or a
  shorter long window (below ``b·P``).
* **A tier that one failed event trips** at the SLO's declared ``traffic``: when the long
  window sees fewer than ``1/T`` events, a single failure in both windows exceeds the
  threshold (Workbook §5.3, low-traffic services), unless ``min_events`` holds it back.
* **A ``min_events`` the long window never reaches** at the declared traffic: that tier can
  never fire.

Traffic-based warnings need the spec's ``traffic:`` (expected events per period); without it
slogen cannot know and says nothing.
"""

from __future__ import annotations

import math
from fractions import Fraction

from slogen.durations import format_duration
from slogen.engine import TierMath, analyse_slo
from slogen.errors import Problem
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_above, fmt_below, fmt_percent
from slogen.spec.model import SLO, Project


def _warning(slo: SLO, path: str, message: str, hint: str) -> Problem:
    return Problem(slo.location, path, message, hint, severity="warning")


def _slow_tier(slo: SLO, where: str, m: TierMath) -> Problem:
    budget_floor = Fraction(m.long, slo.window)  # b above this gives B > 1
    window_ceiling = m.budget * slo.window  # L below this gives B > 1
    return _warning(
        slo,
        where,
        f"tier {m.id} of policy '{slo.policy.name}' has burn rate "
        f"{fmt(m.burn_rate, HUMAN_DIGITS)} over this SLO's {format_duration(slo.window)} window: "
        f"it fires at an error ratio of {fmt_percent(m.threshold)}, below the "
        f"{fmt_percent(1 - slo.target)} the SLO allows, so it alerts while the SLO is met",
        f"give the tier a budget above {fmt_above(budget_floor * 100)}% or a long window "
        f"under {format_duration(math.floor(window_ceiling))}, or use another policy",
    )


def _traffic_problems(slo: SLO, index: int, m: TierMath) -> list[Problem]:
    traffic = slo.traffic
    if traffic is None:
        return []
    long_events = traffic.events_in(m.long)
    minimum = slo.alerting.min_events
    if minimum and long_events < minimum:
        return [
            _warning(
                slo,
                f"slos[{index}].alerting.min_events",
                f"tier {m.id} never fires: its {format_duration(m.long)} window sees about "
                f"{fmt_below(long_events)} events at the declared traffic {traffic}, fewer than "
                f"min_events {minimum}",
                f"lower min_events to at most {math.floor(long_events)}, or check 'traffic'",
            )
        ]
    if long_events * m.threshold < 1:
        needed = math.ceil(1 / m.threshold)
        return [
            _warning(
                slo,
                f"slos[{index}].traffic",
                f"tier {m.id} fires on a single failed event: its {format_duration(m.long)} "
                f"window sees about {fmt_below(long_events)} events at {traffic}, and one failure "
                f"is already above its threshold {fmt_percent(m.threshold)}",
                f"set alerting.min_events to {needed} or more (events the long window must see), "
                "or see 'slogen explain' for low-traffic advice",
            )
        ]
    return []


def alerting_warnings(project: Project) -> list[Problem]:
    """Every warning of the kinds above, in spec order."""
    problems: list[Problem] = []
    for service in project.services:
        for index, slo in enumerate(service.slos):
            for m in analyse_slo(slo):
                if m.burn_rate < 1:
                    problems.append(_slow_tier(slo, f"slos[{index}]", m))
                problems.extend(_traffic_problems(slo, index, m))
    return problems
