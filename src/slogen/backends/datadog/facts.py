"""Datadog's rules, as constants, and the small helpers every stage of the backend shares.

Kept in one place so that validation (:mod:`.checks`), the choice of forms (:mod:`.forms`),
rendering and normalising all apply the same limits. The facts, checked against Datadog's
documentation:

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
* Metric monitors take ``on_missing_data`` (``default``, ``show_no_data``,
  ``show_and_notify_no_data``, ``resolve``) in place of the legacy ``notify_no_data``
  (docs: monitors/guide/on_missing_data); terraform's provider declares the two conflicting.
* Tags start with a letter, may contain alphanumerics, ``_ - : . /`` (anything else becomes
  ``_``), are lower-cased and at most 200 characters (docs: getting_started/tagging,
  "Defining tags").

Ids are only known after creation, so desired bodies name other objects symbolically:
``${slo:<key>}`` in a burn-rate query and in a dashboard's SLO widgets, ``${monitor:<key>}``
in a composite query. Reading
live state rewrites ids back into the same symbols (through the ``slogen-key:`` tags of the
live objects) and apply substitutes real ids, including ids created earlier in the same apply.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

import orjson

from slogen.backends.scope import PROJECT_TAG
from slogen.durations import format_duration
from slogen.resources import MANAGED_BY
from slogen.spec.model import SLO, Service

BACKEND = "datadog"

SLO_TIMEFRAMES = {7 * 86400: "7d", 30 * 86400: "30d", 90 * 86400: "90d"}
SLO_TARGET_MAX_DECIMALS = 3
BURN_RATE_MIN_LONG = 3600  # 1h
BURN_RATE_MAX_LONG = 48 * 3600  # 48h
METRIC_WINDOW_MAX = 7 * 86400  # last_1w == last_168h == last_10080m
COMPOSITE_MAX_MONITORS = 10
TAG_MAX_LENGTH = 200

# Monitor types as Datadog stores them. A metric monitor is created as "query alert", the type
# Datadog reports back even for monitors created as "metric alert" (terraform's provider
# suppresses that difference; so does normalise.normalise_monitor_body).
METRIC_TYPE = "query alert"
SLO_ALERT_TYPE = "slo alert"
COMPOSITE_TYPE = "composite"

# Options slogen manages, per monitor type; every other option (silenced, new_host_delay,
# include_tags and whatever Datadog adds) is left to Datadog and ignored when diffing.
MANAGED_OPTIONS = {
    METRIC_TYPE: ("thresholds", "notify_no_data", "on_missing_data", "require_full_window"),
    SLO_ALERT_TYPE: ("thresholds", "notify_no_data"),
    COMPOSITE_TYPE: ("notify_no_data",),
}

SYMBOL_RE = re.compile(r"\$\{(slo|monitor):([^}]+)\}")
_TAG_BAD_CHARS = re.compile(r"[^a-z0-9_:./\-]")


def number(value: Any) -> Any:
    """A JSON number in one canonical form: integral values as int (Datadog answers ``2.0``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        return value
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def key_tag(key: str) -> str:
    """The ``slogen-key`` tag of one object, as :func:`tag` writes it (not through its cache:
    every object has a key of its own, so caching these would only fill the cache)."""
    return tag.__wrapped__(f"slogen-key:{key}")


@lru_cache(maxsize=65536)
def tag(text: str) -> str:
    """One tag as Datadog stores it: lower-case, unsupported characters as ``_``."""
    return _TAG_BAD_CHARS.sub("_", text.strip().lower())


def sorted_tags(tags: list[str] | tuple[str, ...]) -> list[str]:
    """Tags as compared: normalised, unique, sorted (Datadog keeps neither order nor case)."""
    return sorted({tag(t) for t in tags if t and not t.isspace()})


def base_tags(service: Service, slo: SLO, key: str) -> list[str]:
    """The tags of every object of an SLO (before normalising); ``key`` is the object's key.

    Shared by render and by the tag-length check, so both see exactly the same tags.
    """
    tags = [
        f"managed-by:{MANAGED_BY}",
        f"slogen-key:{key}",
        f"service:{service.name}",
        f"slo:{slo.name}",
    ]
    if service.owner:
        tags.append(f"team:{service.owner}")
    if slo.category:  # the SLO's kind (availability, latency...), to filter and group by
        tags.append(f"category:{slo.category}")
    tags.extend(f"{k}:{v}" for k, v in service.labels)
    return tags


def project_tag(project: str) -> str:
    """The tag that scopes an object to its slogen project (see :mod:`slogen.backends.scope`)."""
    return tag(f"{PROJECT_TAG}:{project}")


def symbol(kind: str, key: str) -> str:
    """How a desired body names another object whose id is not known yet."""
    return f"${{{kind}:{key}}}"


def references(body: dict[str, Any]) -> tuple[str, ...]:
    """Keys of the objects a body names symbolically (its dependencies), in order, unique."""
    found: list[str] = []
    for _kind, key in SYMBOL_RE.findall(symbol_text(body)):
        if key not in found:
            found.append(key)
    return tuple(found)


def symbol_text(body: dict[str, Any]) -> str:
    """The part of a body that may name other objects: a monitor's query, or a dashboard's
    widgets (as JSON text; see :mod:`.dashboard`).

    The widgets are written by orjson, in a quarter of json.dumps' time (every dashboard of a
    plan is scanned). For ASCII text both write every string alike, so the names found are the
    same; text with other characters takes json.dumps, whose escapes (``\u00e9``) the names
    have always been found in."""
    if "widgets" in body:
        text = orjson.dumps(body["widgets"])
        return text.decode() if text.isascii() else json.dumps(body["widgets"])
    return str(body.get("query", ""))


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
