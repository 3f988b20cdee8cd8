"""How CloudWatch expresses each tier, for ``slogen explain`` and the plan's notes.

Per tier: a composite alarm over two metric-math alarms, one per window, each comparing the
ratio of the sums over its whole window with the tier's threshold. A window CloudWatch cannot
take as one ``Period`` (see :func:`~slogen.backends.cloudwatch.limits.window_obstacle`) has no
exact fallback: an alarm over several shorter periods checks each period's ratio separately,
which is not the ratio over the window, so slogen refuses the tier (:mod:`.checks`) and
``explain`` says why.
"""

from __future__ import annotations

from slogen.backends.cloudwatch.limits import HIGH_RESOLUTION_PERIODS, window_obstacle
from slogen.backends.cloudwatch.names import (
    BACKEND,
    actions_of,
    configured_regions,
    source_of,
    window_text,
)
from slogen.engine import TierMath, analyse_slo
from slogen.numbers import fmt
from slogen.spec.model import SLO, Project, Service


def describe_form(slo: SLO, math: TierMath) -> str:
    """One line for ``slogen explain``: which CloudWatch alarms carry the tier."""
    parts = []
    for seconds in (math.long, math.short):
        text = f"{window_text(seconds)} (Period {seconds}"
        if seconds in HIGH_RESOLUTION_PERIODS:
            text += ", high-resolution: needs metrics stored at 1-second resolution"
        parts.append(text + ")")
    guard = ""
    if slo.alerting.min_events:
        guard = f", the long one only with >= {slo.alerting.min_events} events"
    return (
        f"composite alarm ALARM(long) AND ALARM(short) over two metric-math alarms, error "
        f"ratio sum(bad)/sum(total) > {fmt(math.threshold)} over one datapoint of "
        f"{parts[0]} and of {parts[1]}{guard}"
    )


def tier_forms(service: Service, slo: SLO) -> dict[str, str]:
    """How each tier is expressed (shown by ``slogen explain``)."""
    if source_of(slo) is None:
        return {}
    out = {}
    for math in analyse_slo(slo):
        obstacles = [o for o in (window_obstacle(math.long), window_obstacle(math.short)) if o]
        if obstacles:
            out[math.id] = "cannot be expressed in CloudWatch: " + "; ".join(obstacles)
        else:
            out[math.id] = describe_form(slo, math)
    return out


def _list_names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def spec_regions(project: Project) -> tuple[str, ...]:
    """The regions the specs name (what is read without a ``regions`` list)."""
    sources = (source_of(slo) for _, slo in project.slos())
    return tuple(sorted({source.region for source in sources if source is not None}))


def plan_notes(project: Project) -> list[str]:
    """Warnings for the plan: which regions are read, and tiers whose alarm notifies nobody.

    Grouped by tier, so 1,000 SLOs do not print 3,000 lines.
    """
    notes: list[str] = []
    target = project.target(BACKEND)
    if target.type == "api" and not configured_regions(target):
        used = spec_regions(project)
        if used:
            notes.append(
                f"reading alarms in {', '.join(used)} only (the regions the specs name, and "
                "the AWS default region if one is set); alarms slogen made in another region "
                "no spec names any more are not seen and not deleted. "
                "List every region slogen manages in targets.cloudwatch.regions to keep them in "
                "view"
            )
        else:
            notes.append(
                "no SLO has a cloudwatch indicator and targets.cloudwatch.regions is not set, "
                "so no region is read; alarms slogen made earlier stay until their regions are "
                "listed there"
            )
    silent: dict[str, list[str]] = {}
    for service, slo in project.slos():
        if source_of(slo) is None:
            continue
        for math in analyse_slo(slo):
            if not actions_of(slo, math.severity):
                silent.setdefault(math.id, []).append(f"{service.name}/{slo.name}")
    for tier_id, names in sorted(silent.items()):
        notes.append(
            f"{_list_names(names)}: tier {tier_id} has no CloudWatch actions "
            "(alerting.<severity>.cloudwatch), so its composite alarm notifies nobody"
        )
    return notes
