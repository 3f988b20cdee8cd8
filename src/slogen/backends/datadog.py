"""Datadog: a metric-based SLO object per SLO and one alert per policy tier.

What is generated for an SLO with a ``datadog`` indicator (keys are ``<service>/<slo>[/...]``):

* ``slo <service>/<slo>``: a metric-based SLO (numerator = good events, denominator = total;
  ``good`` is ``total - errors`` when the spec gives errors), only when the SLO's window is one
  of Datadog's SLO timeframes (7d, 30d, 90d). Other windows get no SLO object and a plan note.
* per tier, one of three *forms* (never a silently changed window or threshold):

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

Datadog facts this module relies on (checked against Datadog's documentation):

* SLO timeframes are 7d, 30d and 90d; a metric SLO target has at most three decimals
  (docs: service_level_objectives/metric.md, "Set your SLO targets"; API: SLOTimeframe).
* Burn-rate alerts (``slo alert``): ``1 hour <= long window <= 48 hours``, the long window is
  given in hours and the short one in minutes, the short window must be shorter than the long
  one (settable through the API), and ``0 < burn rate <= 1 / (1 - SLO target)``: Datadog blocks
  higher values (docs: service_level_objectives/burn_rate.md, "Monitor creation" and "Maximum
  burn rate values"). They exist for metric-based SLOs (and some monitor/time-slice SLOs).
* Metric monitor windows are ``last_#m`` (1-10080), ``last_#h`` (1-168), ``last_1d`` or
  ``last_1w``: at most one week, in whole minutes (API reference of "Create a monitor",
  "Metric Alert Query"; the same text is in datadog-api-client's MonitorsApi.create_monitor).
* With arithmetic and ``.as_count()``, a monitor applies the time aggregation to each query
  before the arithmetic: ``sum(last_5m): a.as_count() / b.as_count()`` is sum(a)/sum(b)
  (docs: monitors/guide/as-count-in-monitor-evaluations).
* A composite monitor combines up to 10 monitors, none of which may be a composite; through
  the API its query names monitor ids, e.g. ``1234 && 5678`` (docs: monitors/types/composite).
* Monitor priority is an integer from 1 (high) to 5 (low) (API: Monitor.priority).
* Tags start with a letter, may contain alphanumerics, ``_ - : . /`` (anything else becomes
  ``_``), are lower-cased and at most 200 characters (docs: getting_started/tagging,
  "Defining tags").

Ids are only known after creation, so desired bodies name other objects symbolically:
``${slo:<key>}`` in a burn-rate query and ``${monitor:<key>}`` in a composite query. Reading
live state rewrites ids back into the same symbols (through the ``slogen-key:`` tags of the
live objects) and apply substitutes real ids, including ids created earlier in the same apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any

from slogen import templating
from slogen.backends import common
from slogen.durations import format_duration, humanize_duration
from slogen.engine import TierMath, analyse_slo
from slogen.errors import Problems, SlogenError
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_percent
from slogen.resources import MANAGED_BY, LiveState, Resource
from slogen.spec.model import SLO, Project, Service, Target

BACKEND = "datadog"

# -- Datadog's rules (see the module docstring for the sources) ---------------------------------
SLO_TIMEFRAMES = {7 * 86400: "7d", 30 * 86400: "30d", 90 * 86400: "90d"}
SLO_TARGET_MAX_DECIMALS = 3
BURN_RATE_MIN_LONG = 3600  # 1h
BURN_RATE_MAX_LONG = 48 * 3600  # 48h
METRIC_WINDOW_MAX = 7 * 86400  # last_1w == last_168h == last_10080m
COMPOSITE_MAX_MONITORS = 10
TAG_MAX_LENGTH = 200

# Forms a tier can take (see the module docstring).
BURN_RATE = "burn-rate"
BURN_RATE_GUARD = "burn-rate+guard"
METRIC_COMPOSITE = "metric-composite"

# Monitor types as Datadog stores them. A metric monitor is created as "query alert", the type
# Datadog reports back even for monitors created as "metric alert" (terraform's provider
# suppresses that difference; so does :func:`normalise_monitor`).
METRIC_TYPE = "query alert"
SLO_ALERT_TYPE = "slo alert"
COMPOSITE_TYPE = "composite"

# Severity -> monitor priority (1 = highest, 5 = lowest). ``page`` wakes someone up: P1;
# ``ticket`` is worked on in office hours: P3. Other severity names map by their usual meaning;
# anything unknown gets the middle value P3. Only notifying monitors carry a priority.
PRIORITIES = {
    "page": 1,
    "critical": 1,
    "urgent": 1,
    "high": 2,
    "ticket": 3,
    "medium": 3,
    "warning": 4,
    "low": 4,
    "info": 5,
    "notice": 5,
}
DEFAULT_PRIORITY = 3

# Options slogen manages, per monitor type; every other option (silenced, new_host_delay,
# include_tags and whatever Datadog adds) is left to Datadog and ignored when diffing.
MANAGED_OPTIONS = {
    METRIC_TYPE: ("thresholds", "notify_no_data", "require_full_window"),
    SLO_ALERT_TYPE: ("thresholds", "notify_no_data"),
    COMPOSITE_TYPE: ("notify_no_data",),
}
MONITOR_FIELDS = ("name", "type", "query", "message", "tags", "priority", "options")
SLO_FIELDS = ("name", "description", "type", "query", "thresholds", "tags")

# A monitor cannot change its type in place: that is a replacement.
IMMUTABLE: dict[str, set[str]] = {"monitor": {"type"}}

SYMBOL_RE = re.compile(r"\$\{(slo|monitor):([^}]+)\}")
_TAG_BAD_CHARS = re.compile(r"[^a-z0-9_:./\-]")


# -- numbers, tags and small helpers --------------------------------------------------------------


def number(value: Any) -> Any:
    """A JSON number in one canonical form: integral values as int (Datadog answers ``2.0``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        return value
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def config_number(value: Fraction) -> Any:
    """An exact fraction as the rounded number slogen writes into configs (14.4, 0.001)."""
    return number(float(fmt(value)))


@lru_cache(maxsize=65536)
def tag(text: str) -> str:
    """One tag as Datadog stores it: lower-case, unsupported characters as ``_``."""
    return _TAG_BAD_CHARS.sub("_", text.strip().lower())


def sorted_tags(tags: list[str] | tuple[str, ...]) -> list[str]:
    return sorted({tag(t) for t in tags if t and not t.isspace()})


def symbol(kind: str, key: str) -> str:
    return f"${{{kind}:{key}}}"


def references(body: dict[str, Any]) -> tuple[str, ...]:
    """Keys of the objects a body names symbolically (its dependencies), in order, unique."""
    found: list[str] = []
    for _kind, key in SYMBOL_RE.findall(str(body.get("query", ""))):
        if key not in found:
            found.append(key)
    return tuple(found)


def window_text(seconds: int) -> str:
    return format_duration(seconds)


def metric_window(seconds: int) -> str | None:
    """``last_72h`` / ``last_30m`` for a metric monitor, or None when Datadog cannot take it.

    Datadog documents ``last_#h`` with 1-168 hours, ``last_#m`` with 1-10080 minutes, and only
    ``last_1d`` / ``last_1w`` for days and weeks, so whole hours are written in hours.
    """
    if seconds <= 0 or seconds % 60 or seconds > METRIC_WINDOW_MAX:
        return None
    if seconds % 3600 == 0:
        return f"last_{seconds // 3600}h"
    return f"last_{seconds // 60}m"


def _operand(query: str) -> str:
    """Parenthesise a metric query that is itself arithmetic, so ``a / b`` keeps its meaning."""
    bare = re.sub(r"\{[^{}]*\}", "", query)
    while True:
        stripped = re.sub(r"\([^()]*\)", "", bare)
        if stripped == bare:
            break
        bare = stripped
    return f"({query})" if re.search(r"[\s+\-*/]", bare) else query


def _strip_period(text: str) -> str:
    return text.strip().rstrip(".")


# -- how each tier is expressed ----------------------------------------------------------------


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


def _tier_plan(slo: SLO) -> tuple[TierForm, ...]:
    timeframe = slo_timeframe(slo)
    out = []
    for math in analyse_slo(slo):
        reason = _native_obstacle(slo, math, timeframe)
        if reason:
            form = METRIC_COMPOSITE
        elif slo.alerting.min_events:
            form = BURN_RATE_GUARD
        else:
            form = BURN_RATE
        out.append(TierForm(math, form, reason))
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
    if slo.indicator.datadog is None:
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
        if slo.indicator.datadog is None:
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


# -- validation ---------------------------------------------------------------------------------


def _decimals(value: Fraction) -> int | None:
    """Decimal places of an exact fraction, or None when it has no finite decimal form."""
    for places in range(0, 12):
        if (value * 10**places).denominator == 1:
            return places
    return None


def validate(project: Project) -> None:
    """Check Datadog's rules locally, before any call; raise with every problem found.

    Problems are reported at the SLO's location with a field path such as ``slos[0].window``,
    the same way the spec loader reports its errors.
    """
    problems = Problems()
    for service in project.services:
        for index, slo in enumerate(service.slos):
            if slo.indicator.datadog is None:
                continue
            where = f"slos[{index}]"
            loc = slo.location
            timeframe = slo_timeframe(slo)
            places = _decimals(slo.objective)
            if timeframe is not None and (places is None or places > SLO_TARGET_MAX_DECIMALS):
                problems.error(
                    loc,
                    f"{where}.objective",
                    f"Datadog SLO targets have at most {SLO_TARGET_MAX_DECIMALS} decimal places, "
                    f"found {fmt(slo.objective, 12)}",
                    "round the objective to three decimals (e.g. 99.995), or use a window "
                    "other than 7d/30d/90d to manage only the alerts",
                )
            source = slo.indicator.datadog
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
            for t in _base_tags(service, slo, f"{service.name}/{slo.name}/x"):
                if len(t) > TAG_MAX_LENGTH:
                    problems.error(
                        loc,
                        where,
                        f"the Datadog tag '{t[:40]}...' is longer than {TAG_MAX_LENGTH} characters",
                        "shorten the service or SLO name or the label",
                    )
    if problems:
        raise SlogenError(f"{len(problems.errors)} error(s) for Datadog", problems)


# -- render -------------------------------------------------------------------------------------


def _base_tags(service: Service, slo: SLO, key: str) -> list[str]:
    tags = [
        f"managed-by:{MANAGED_BY}",
        f"slogen-key:{key}",
        f"service:{service.name}",
        f"slo:{slo.name}",
    ]
    if service.owner:
        tags.append(f"team:{service.owner}")
    tags.extend(f"{k}:{v}" for k, v in service.labels)
    return tags


@lru_cache(maxsize=64)
def _template(name: str, templates: str | None) -> Any:
    """A loaded template, looked up once per run instead of once per object (jinja's
    auto-reload check stats the file on every lookup; 1,000 SLOs render ~13,000 texts)."""
    return templating.environment(templates).get_template(name)


def _text_from(name: str, templates: str | None, **context: Any) -> str:
    """Render a template tidied exactly like :func:`slogen.templating.render`."""
    text = _template(name, templates).render(**context)
    tidy: list[str] = []
    for line in text.strip().splitlines():
        line = line.rstrip()
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy)


def _with_key(tags: list[str], key: str) -> list[str]:
    """Normalised shared tags plus this object's ``slogen-key`` tag, sorted."""
    return sorted({*tags, tag(f"slogen-key:{key}")})


def _error_ratio(source: Any) -> str:
    """``<errors> / <total>`` (or ``(<total> - <good>) / <total>``) from the spec's queries."""
    total = _operand(source.total)
    if source.errors is not None:
        return f"{_operand(source.errors)} / {total}"
    return f"({source.total} - {_operand(source.good)}) / {total}"


def _good_events(source: Any) -> str:
    if source.good is not None:
        return source.good
    return f"{source.total} - {_operand(source.errors)}"


def slo_context(service: Service, slo: SLO) -> dict[str, Any]:
    """Names and numbers of the SLO the templates may use, rounded for people."""
    return {
        **common.slo_fields(service, slo),
        "slo_description": _strip_period(slo.description),
        "error_budget": fmt_percent(1 - slo.target),
        "tier_count": len(slo.policy.tiers),
    }


def context(slo: SLO, base: dict[str, Any], tf: TierForm, key: str) -> dict[str, Any]:
    """Everything the notifying monitor's templates may use for one tier."""
    return {
        **base,
        **tf.numbers,
        "handles": list(slo.alerting.for_severity(tf.math.severity).datadog),
        "key": key,
    }


def _monitor(
    name: str,
    mtype: str,
    query: str,
    message: str,
    tags: list[str],
    options: dict[str, Any],
    priority: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "type": mtype,
        "query": query,
        "message": message,
        "tags": tags,
    }
    if priority is not None:
        body["priority"] = priority
    body["options"] = options
    # Built directly in normal form (tidy text, sorted normalised tags, canonical numbers):
    # normalise_monitor_body(body) == body, which the tests check for every example.
    return body


def _metric_options(threshold: Any) -> dict[str, Any]:
    # require_full_window false: Datadog recommends it for sparse (count) metrics, and a
    # just-created 3-day monitor must not stay silent for three days.
    return {
        "thresholds": {"critical": threshold},
        "notify_no_data": False,
        "require_full_window": False,
    }


def render_slo(service: Service, slo: SLO, templates: str | None, tname: str) -> list[Resource]:
    """Every resource of one SLO: the SLO object (when it can exist) and each tier's monitors."""
    source = slo.indicator.datadog
    assert source is not None
    base_key = f"{service.name}/{slo.name}"
    forms = tier_plan(slo)
    timeframe = slo_timeframe(slo)
    resources: list[Resource] = []
    base = slo_context(service, slo)
    shared_tags = [tag(t) for t in _base_tags(service, slo, "") if not t.startswith("slogen-key")]
    if timeframe is not None:
        ctx = {**base, "key": base_key}
        body = {
            "name": _text_from("datadog/slo_name.txt.j2", templates, **ctx),
            "description": _text_from("datadog/slo_description.md.j2", templates, **ctx),
            "type": "metric",
            "query": {"numerator": _good_events(source), "denominator": source.total},
            "thresholds": [{"timeframe": timeframe, "target": number(slo.objective)}],
            "tags": sorted_tags(_base_tags(service, slo, base_key)),
        }
        resources.append(_resource(tname, "slo", base_key, normalise_slo_body(body)))
    ratio = _error_ratio(source)
    for tf in forms:
        math = tf.math
        key = f"{base_key}/{math.id}"
        tier_tags = [*shared_tags, tag(f"tier:{math.id}"), tag(f"severity:{math.severity}")]
        ctx = context(slo, base, tf, key)
        ctx["form_text"] = describe_form(slo, tf)
        name = _text_from("datadog/monitor_name.txt.j2", templates, **ctx)
        message = _text_from("datadog/monitor_message.md.j2", templates, **ctx)
        priority = PRIORITIES.get(math.severity, DEFAULT_PRIORITY)
        burn_rate = number(float(tf.burn_rate))
        threshold = number(float(tf.threshold))
        burn_query = (
            f'burn_rate("{symbol("slo", base_key)}").over("{timeframe}")'
            f'.long_window("{math.long // 3600}h").short_window("{math.short // 60}m")'
            f" > {tf.burn_rate}"
        )
        burn_options = {"thresholds": {"critical": burn_rate}, "notify_no_data": False}
        if tf.form == BURN_RATE:
            body = _monitor(
                name,
                SLO_ALERT_TYPE,
                burn_query,
                message,
                _with_key(tier_tags, key),
                burn_options,
                priority,
            )
            resources.append(_resource(tname, "monitor", key, body))
            continue

        # (role, what it checks, type, query, options) of each silent child of the composite
        parts: list[tuple[str, str, str, str, dict[str, Any]]] = []
        if tf.form == BURN_RATE_GUARD:
            parts.append(
                (
                    "burn",
                    f"burn rate above {ctx['burn_rate']} over {ctx['long']} and {ctx['short']}",
                    SLO_ALERT_TYPE,
                    burn_query,
                    burn_options,
                )
            )
        else:
            for role, seconds in (("long", math.long), ("short", math.short)):
                parts.append(
                    (
                        role,
                        f"error ratio above {ctx['threshold_percent']} over the last "
                        f"{window_text(seconds)}",
                        METRIC_TYPE,
                        f"sum({metric_window(seconds)}):{ratio} > {tf.threshold}",
                        _metric_options(threshold),
                    )
                )
        if slo.alerting.min_events:
            parts.append(
                (
                    "events",
                    f"at least {slo.alerting.min_events} events over the last {ctx['long']}",
                    METRIC_TYPE,
                    f"sum({metric_window(math.long)}):{source.total} >= {slo.alerting.min_events}",
                    _metric_options(slo.alerting.min_events),
                )
            )
        children = []
        for role, role_text, mtype, query, options in parts:
            child_key = f"{key}/{role}"
            cctx = {
                "service": service.name,
                "slo": slo.name,
                "tier_id": math.id,
                "key": child_key,
                "role_text": role_text,
                "parent_name": name,
            }
            body = _monitor(
                _text_from("datadog/child_name.txt.j2", templates, **cctx),
                mtype,
                query,
                _text_from("datadog/child_message.md.j2", templates, **cctx),
                _with_key(tier_tags, child_key),
                options,
            )
            resources.append(_resource(tname, "monitor", child_key, body))
            children.append(child_key)
        query = " && ".join(symbol("monitor", c) for c in children)
        body = _monitor(
            name,
            COMPOSITE_TYPE,
            query,
            message,
            _with_key(tier_tags, key),
            {"notify_no_data": False},
            priority,
        )
        resources.append(_resource(tname, "monitor", key, body))
    return resources


def _resource(
    tname: str, kind: str, key: str, body: dict[str, Any], live_id: str | None = None
) -> Resource:
    return Resource(BACKEND, tname, kind, key, body, references(body), live_id)


target_name = common.target_name


def render(project: Project, target: Target, templates: str | None = None) -> list[Resource]:
    """Desired resources for every SLO with a ``datadog`` indicator (validated first)."""
    validate(project)
    tname = target_name(target)
    resources: list[Resource] = []
    for service in project.services:
        for slo in service.slos:
            if slo.indicator.datadog is not None:
                resources.extend(render_slo(service, slo, templates, tname))
    return resources


# -- normal form (shared by render, the files target and the API target) --------------------------


def _text(value: Any) -> str:
    """Text as compared: line endings unified, trailing spaces and edge blank lines removed."""
    if value is None:
        return ""
    lines = [line.rstrip() for line in str(value).replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def _query_text(value: Any) -> str:
    return " ".join(str(value or "").split())


def normalise_monitor_body(raw: dict[str, Any]) -> dict[str, Any]:
    """Exactly the monitor fields slogen manages, in one canonical form.

    Drops server-set fields (id, created, overall_state...), options slogen does not manage
    and defaults Datadog fills in; ``metric alert`` becomes ``query alert``; tags are sorted
    and lower-cased; numbers are canonical (``2.0`` is ``2``); a null priority is absent.
    """
    mtype = str(raw.get("type") or "")
    if mtype == "metric alert":
        mtype = METRIC_TYPE
    body: dict[str, Any] = {
        "name": _text(raw.get("name")),
        "type": mtype,
        "query": _query_text(raw.get("query")),
        "message": _text(raw.get("message")),
        "tags": sorted_tags(list(raw.get("tags") or [])),
    }
    if raw.get("priority") is not None:
        body["priority"] = number(raw["priority"])
    options = raw.get("options") or {}
    managed: dict[str, Any] = {}
    for name in MANAGED_OPTIONS.get(mtype, ("thresholds", "notify_no_data")):
        if name not in options or options[name] is None:
            continue
        value = options[name]
        if name == "thresholds" and isinstance(value, dict):
            value = {k: number(v) for k, v in sorted(value.items()) if v is not None}
        managed[name] = value
    body["options"] = managed
    return body


def normalise_slo_body(raw: dict[str, Any]) -> dict[str, Any]:
    """Exactly the SLO fields slogen manages (no ids, creators, ``*_display`` or ``type_id``)."""
    query = raw.get("query") or {}
    thresholds = []
    for item in raw.get("thresholds") or []:
        entry = {"timeframe": item.get("timeframe"), "target": number(item.get("target"))}
        if item.get("warning") is not None:
            entry["warning"] = number(item["warning"])
        thresholds.append(entry)
    thresholds.sort(key=lambda t: str(t["timeframe"]))
    body: dict[str, Any] = {
        "name": _text(raw.get("name")),
        "description": _text(raw.get("description")),
        "type": raw.get("type"),
        "query": {
            "numerator": _query_text(query.get("numerator")),
            "denominator": _query_text(query.get("denominator")),
        },
        "thresholds": thresholds,
        "tags": sorted_tags(list(raw.get("tags") or [])),
    }
    if raw.get("type") != "metric" or not query:
        body.pop("query")
        if raw.get("monitor_ids") is not None:
            body["monitor_ids"] = sorted(raw["monitor_ids"])
    return body


def ownership(tags: list[str] | None) -> str | None:
    """The slogen key of an object, or None when slogen does not own it.

    Owned means tagged ``managed-by:slogen`` AND ``slogen-key:<key>``; anything else is never
    updated or deleted, whatever its name or other tags.
    """
    lowered = [str(t).strip().lower() for t in tags or []]
    if f"managed-by:{MANAGED_BY}" not in lowered:
        return None
    keys = [t.split(":", 1)[1] for t in lowered if t.startswith("slogen-key:")]
    keys = [k for k in keys if k]
    return keys[0] if len(keys) == 1 else None


# -- targets --------------------------------------------------------------------------------------


def _target_module(target: Target):
    if target.type == "files":
        from slogen.backends import datadog_files

        return datadog_files
    if target.type == "api":
        from slogen.backends import datadog_api

        return datadog_api
    raise SlogenError(f"datadog target type '{target.type}' is not supported", hint="files or api")


def expected_monitors(project: Project | None) -> int:
    """How many monitors the project renders (a paging hint for reading live state)."""
    if project is None:
        return 0
    count = 0
    for _service, slo in project.slos():
        if slo.indicator.datadog is None:
            continue
        for tf in tier_plan(slo):
            if tf.form == BURN_RATE:
                count += 1
            else:
                count += 3 + (1 if slo.alerting.min_events and tf.form == METRIC_COMPOSITE else 0)
    return count


def read_live(target: Target, project: Project | None = None) -> LiveState:
    if target.type == "api":
        from slogen.backends import datadog_api

        return datadog_api.read_live(target, expected_monitors(project))
    return _target_module(target).read_live(target)


def conflicts(target: Target, desired: list[Resource], live: LiveState) -> list[str]:
    return _target_module(target).conflicts(target, desired, live)


def apply(target: Target, changes, desired, progress, report) -> None:
    _target_module(target).apply(target, changes, desired, progress, report)
