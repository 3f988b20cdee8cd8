"""The comparison form of Datadog objects, and who owns them.

Live monitors and SLOs come back from Datadog with server-set fields, defaults, reordered tags
and ``2.0`` for ``2``. The diff must see only what slogen manages, in one canonical form, or
every plan would show drift nobody made. Render builds desired bodies directly in this form
(the tests check ``normalise(desired) == desired``), so only live objects pass through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slogen.backends.datadog.facts import MANAGED_OPTIONS, METRIC_TYPE, number, sorted_tags
from slogen.backends.scope import PROJECT_TAG, belongs
from slogen.resources import MANAGED_BY, Resource


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
    if "on_missing_data" in managed:
        # on_missing_data replaces notify_no_data (facts); a server may still echo its default
        managed.pop("notify_no_data", None)
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


def ownership(tags: list[str] | None, project: str | None = None) -> str | None:
    """The slogen key of an object, or None when slogen does not own it.

    Owned means tagged ``managed-by:slogen`` AND ``slogen-key:<key>``; anything else is never
    updated or deleted, whatever its name or other tags. With ``project``, an object tagged
    with another slogen project is not owned either (:mod:`slogen.backends.scope`).
    """
    lowered = [str(t).strip().lower() for t in tags or []]
    if f"managed-by:{MANAGED_BY}" not in lowered:
        return None
    keys = [t.split(":", 1)[1] for t in lowered if t.startswith("slogen-key:")]
    keys = [k for k in keys if k]
    if len(keys) != 1 or not belongs(project, project_in(tags)):
        return None
    return keys[0]


def project_in(tags: list[str] | None) -> str | None:
    """The slogen project an object is tagged with (None: none, or not exactly one)."""
    prefix = f"{PROJECT_TAG}:"
    lowered = [str(t).strip().lower() for t in tags or []]
    names = {t[len(prefix) :] for t in lowered if t.startswith(prefix) and len(t) > len(prefix)}
    return names.pop() if len(names) == 1 else None


def settle_duplicates(
    resources: list[Resource], desired: Mapping[tuple[str, str], dict[str, Any]]
) -> tuple[list[Resource], list[str]]:
    """Owned objects that share a key with an older one (read as ``<key>#<id>``): which to
    delete and which to leave alone.

    An exact copy (its body equals the kept object's, or what slogen wants there: what an
    interrupted or retried create leaves) stays in the live state, so the plan deletes it. A
    copy whose content differs, e.g. a monitor cloned in the Datadog UI (which keeps every tag)
    and then edited, is someone's work: it is dropped from the live state (never updated or
    deleted) and the plan warns about it. ``desired`` maps (kind, key) to desired bodies.
    """
    by_key = {(r.kind, r.key): r for r in resources}
    kept: list[Resource] = []
    warnings: list[str] = []
    for res in resources:
        base = res.key.split("#", 1)[0]
        original = by_key.get((res.kind, base))
        if base == res.key or original is None:
            kept.append(res)
            continue
        if res.body in (original.body, desired.get((res.kind, base))):
            kept.append(res)
            continue
        warnings.append(
            f"{res.kind} {res.live_id} carries the tags of {base} (managed-by:{MANAGED_BY}, "
            f"slogen-key:{base}) but differs from it, like a copy made in the Datadog UI; "
            "slogen leaves it alone: remove its slogen-key tag, or delete it"
        )
    return kept, warnings
