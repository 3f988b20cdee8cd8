"""Which of three forms each tier takes in Datadog, and how that is told to people.

For an SLO with a ``datadog`` indicator, every tier of its policy becomes one of (never a
silently changed window or threshold):

``burn-rate``
    one ``slo alert`` monitor ``<key>/<tier>``:
    ``burn_rate("<slo id>").over("30d").long_window("1h").short_window("5m") > 14.4``.
    Used when Datadog's native burn-rate monitor can express the tier exactly.
``burn-rate+guard``
    the same burn-rate monitor as a silent child ``<tier>/burn``, an event-count child
    ``<tier>/events`` (``sum(last_1h):<total> >= min_events``) and a composite ``<tier>``
    (``burn && events``) that notifies: a burn-rate monitor has no low-traffic guard.
``metric-composite``
    two silent metric monitors ``<tier>/long`` and ``<tier>/short`` on the error ratio
    (``sum(last_72h):<errors> / <total> > 0.001``; with ``.as_count()`` Datadog sums each side
    over the window before dividing, so this is the exact ratio of sums), the event-count child
    with ``min_events``, and a notifying composite ``<tier>``. Used when the burn-rate monitor
    cannot express the tier: no SLO object, a long window outside 1h-48h or not in whole
    hours, a short window not in whole minutes, or a burn rate above 1/(1 - target).

Validation, render, plan notes and ``slogen explain`` all ask :func:`tier_plan`, so they can
never disagree about a tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from slogen.backends import common
from slogen.backends.contract import uses
from slogen.backends.datadog.facts import (
    BACKEND,
    BURN_RATE_MAX_LONG,
    BURN_RATE_MIN_LONG,
    SLO_TIMEFRAMES,
    metric_window,
    window_text,
)
from slogen.durations import humanize_duration
from slogen.engine import TierMath, analyse_slo
from slogen.memo import ByIdentity
from slogen.numbers import HUMAN_DIGITS, fmt
from slogen.spec.model import SLO, Project, Service

BURN_RATE = "burn-rate"
BURN_RATE_GUARD = "burn-rate+guard"
METRIC_COMPOSITE = "metric-composite"


@dataclass(frozen=True)
class TierForm:
    """How one tier of one SLO is expressed in Datadog, and why."""

    math: TierMath
    form: str
    reason: str = ""  # why the native burn-rate monitor could not express it ("" if it can)

    @property
    def long_window(self) -> str:
        return metric_window(self.math.long) or window_text(self.math.long)

    @property
    def short_window(self) -> str:
        return metric_window(self.math.short) or window_text(self.math.short)

    # Rounded numbers, computed once per tier (rendering 1,000 SLOs uses each several times).
    @cached_property
    def burn_rate(self) -> str:
        """The burn rate as written into queries and thresholds (``14.4``)."""
        return fmt(self.math.burn_rate)

    @cached_property
    def threshold(self) -> str:
        """The error-ratio threshold as written into queries and thresholds (``0.001``)."""
        return fmt(self.math.threshold)

    @cached_property
    def numbers(self) -> dict[str, Any]:
        """The tier's figures for templates, rounded for people."""
        math = self.math
        return {
            **common.tier_fields(math),
            "exhaustion": humanize_duration(float(math.period / math.burn_rate)),
        }


def slo_timeframe(slo: SLO) -> str | None:
    """The Datadog SLO timeframe of the SLO's window, or None when it has none."""
    return SLO_TIMEFRAMES.get(slo.window)


def _native_obstacle(slo: SLO, math: TierMath, timeframe: str | None) -> str:
    """Why a burn-rate monitor cannot express this tier exactly ("" when it can)."""
    if timeframe is None:
        return (
            f"the SLO window {window_text(slo.window)} is not a Datadog SLO timeframe "
            "(7d, 30d, 90d), so there is no SLO object to put a burn-rate monitor on"
        )
    if math.long > BURN_RATE_MAX_LONG:
        return (
            f"its long window {window_text(math.long)} is longer than the 48h a Datadog "
            "burn-rate monitor allows"
        )
    if math.long < BURN_RATE_MIN_LONG:
        return (
            f"its long window {window_text(math.long)} is shorter than the 1h minimum of a "
            "Datadog burn-rate monitor"
        )
    if math.long % 3600:
        return (
            f"its long window {window_text(math.long)} is not a whole number of hours, the "
            "unit of a burn-rate monitor's long window"
        )
    if math.short % 60:
        return (
            f"its short window {window_text(math.short)} is not a whole number of minutes, "
            "the unit of a burn-rate monitor's short window"
        )
    ceiling = 1 / (1 - math.target)
    if math.burn_rate > ceiling:
        return (
            f"its burn rate {fmt(math.burn_rate, HUMAN_DIGITS)} is above Datadog's maximum "
            f"1/(1 - target) = {fmt(ceiling, HUMAN_DIGITS)}"
        )
    return ""


# tier_plan results by id(slo); the SLO is kept in the value so its id cannot be reused.
# (Hashing a whole SLO for an lru_cache costs more than the work it would save.)
_FORMS: dict[int, tuple[SLO, tuple[TierForm, ...]]] = {}


def tier_plan(slo: SLO) -> tuple[TierForm, ...]:
    """The form of every tier of the SLO's policy, in policy order (cached: validation, render,
    plan notes and explain all ask)."""
    cached = _FORMS.get(id(slo))
    if cached is not None and cached[0] is slo:
        return cached[1]
    if len(_FORMS) > 100_000:
        _FORMS.clear()
    forms = _tier_plan(slo)
    _FORMS[id(slo)] = (slo, forms)
    return forms


# A TierForm is a function of its TierMath (which engine.analyse_tier shares between SLOs of
# the same objective, window and policy) and of whether the SLO has min_events: the same object
# is handed to all such SLOs, so its rounded numbers are computed once, not once per SLO.
_SHARED: ByIdentity[TierForm] = ByIdentity()


def _tier_plan(slo: SLO) -> tuple[TierForm, ...]:
    timeframe = slo_timeframe(slo)
    guarded = bool(slo.alerting.min_events)
    out = []
    for math in analyse_slo(slo):
        found = _SHARED.get((math,), (guarded,))
        if found is None:
            reason = _native_obstacle(slo, math, timeframe)  # slo.window is math.period
            if reason:
                form = METRIC_COMPOSITE
            elif guarded:
                form = BURN_RATE_GUARD
            else:
                form = BURN_RATE
            found = _SHARED.put((math,), TierForm(math, form, reason), (guarded,))
        out.append(found)
    return tuple(out)


def describe_form(slo: SLO, tf: TierForm) -> str:
    """One line for ``slogen explain`` and the plan: which Datadog objects carry the tier."""
    math = tf.math
    guard = ""
    if slo.alerting.min_events:
        guard = (
            f", guarded by an event-count monitor (>= {slo.alerting.min_events} events over "
            f"{window_text(math.long)})"
        )
    if tf.form == BURN_RATE:
        return (
            f"Datadog burn-rate monitor (slo alert): burn rate > {tf.burn_rate} over "
            f"{window_text(math.long)} and {window_text(math.short)}"
        )
    if tf.form == BURN_RATE_GUARD:
        return (
            f"composite of a Datadog burn-rate monitor (burn rate > {tf.burn_rate} over "
            f"{window_text(math.long)} and {window_text(math.short)}){guard}"
        )
    return (
        f"composite of two metric monitors, error ratio > {tf.threshold} over "
        f"sum({tf.long_window}) "
        f"and sum({tf.short_window}){guard}; not a burn-rate monitor because {tf.reason}"
    )


def tier_forms(service: Service, slo: SLO) -> dict[str, str]:
    """How each tier is expressed (shown by ``slogen explain``)."""
    if not uses(BACKEND, slo):
        return {}
    return {tf.math.id: describe_form(slo, tf) for tf in tier_plan(slo)}


def _list_names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def plan_notes(project: Project) -> list[str]:
    """Warnings for the plan: SLOs without an SLO object, tiers that are not burn-rate monitors.

    Notes are grouped (by window, by tier and reason) so 1,000 SLOs do not print 3,000 lines.
    """
    no_object: dict[str, list[str]] = {}
    fallbacks: dict[tuple[str, str, str], list[str]] = {}
    for service, slo in project.slos():
        if not uses(BACKEND, slo):
            continue
        name = f"{service.name}/{slo.name}"
        if slo_timeframe(slo) is None:
            no_object.setdefault(window_text(slo.window), []).append(name)
        for tf in tier_plan(slo):
            if tf.form == METRIC_COMPOSITE and slo_timeframe(slo) is not None:
                key = (tf.math.id, tf.reason, f"sum({tf.long_window}) and sum({tf.short_window})")
                fallbacks.setdefault(key, []).append(name)
    notes = []
    for window, names in sorted(no_object.items()):
        notes.append(
            f"{_list_names(names)}: window {window} is not a Datadog SLO timeframe (7d, 30d, "
            "90d); no SLO object is created and every tier uses metric monitors joined by a "
            "composite (same windows and thresholds)"
        )
    for (tier_id, reason, windows), names in sorted(fallbacks.items()):
        notes.append(
            f"{_list_names(names)}: tier {tier_id} uses two metric monitors ({windows}) joined "
            f"by a composite, not a burn-rate monitor, because {reason} (same windows and "
            "threshold)"
        )
    return notes
