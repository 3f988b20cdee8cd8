"""What a service's SLO document says, as data: one JSON-ready dict per service.

The numbers come from where ``slogen explain`` takes them (:func:`slogen.explain.compute.
slo_report`), rounded for people here; the templates under ``templates/docs/`` only arrange
and word them. Keeping the numbers out of the templates means a team that rewrites a template
cannot get a burn rate wrong, and the document cannot disagree with ``explain``.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

from slogen.durations import format_duration, humanize_duration
from slogen.explain.compute import slo_report
from slogen.explain.provenance import class_fields
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_percent
from slogen.spec.model import SLO, ExemptSLO, Service
from slogen.spec.traffic import ExpectedTraffic

from .implementation import Rendered, implementations

# The Workbook's example outage policy asks for a postmortem once one incident spends more
# than this share of the budget; the document says how long a full outage that takes.
OUTAGE_SHARE = Fraction(1, 5)


def _when(seconds: float | None) -> str:
    return "never" if seconds is None else humanize_duration(seconds)


def count(value: Fraction | str) -> str:
    """Events for people: 3000 → ``3,000``; fewer than 100 keep up to four digits (2.5)."""
    number = Fraction(value)
    return f"{round(number):,}" if number >= 100 else fmt(number, HUMAN_DIGITS)


def _percent(value: str | Fraction) -> str:
    return fmt_percent(Fraction(value))


def tier_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The alerting table: explain's numbers per tier, rounded for people."""
    traffic = (report.get("quality") or {}).get("traffic")
    rows = []
    for t in report["tiers"]:
        d = t["detection_seconds"]
        row = {
            "tier": t["tier"],
            "severity": t["severity"],
            "budget": _percent(t["budget"]),
            "long_window": t["long_window"],
            "short_window": t["short_window"],
            "burn_rate": fmt(Fraction(t["burn_rate"]), HUMAN_DIGITS),
            "threshold": _percent(t["threshold"]),
            "detect_full": _when(d["error_ratio_1"]),
            "detect_double": _when(d["threshold_x2"]),
            # Just above the threshold the long window's average needs the whole window to get
            # there (exactly at it the tier never fires: the comparison is strict).
            "detect_edge": t["long_window"],
            "reset": _when(t["reset_seconds"]),
            "events_before_firing": None,
        }
        if traffic is not None:
            row["events_before_firing"] = count(
                traffic["tiers"][t["tier"]]["budget_events_before_firing"]
            )
        rows.append(row)
    return rows


def ranges(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Which burns raise which severity, and which go unnoticed (explain's policy ranges)."""
    out = []
    for r in report["quality"]["policy"]:
        out.append(
            {
                "severity": r["severity"],
                "tiers": r["tiers"],
                "burn_rate_above": None
                if r["burn_rate_above"] is None
                else fmt(Fraction(r["burn_rate_above"]), HUMAN_DIGITS),
                "burn_rate_up_to": None
                if r["burn_rate_up_to"] is None
                else fmt(Fraction(r["burn_rate_up_to"]), HUMAN_DIGITS),
                "error_ratio_above": None
                if r["error_ratio_above"] is None
                else _percent(r["error_ratio_above"]),
                "error_ratio_up_to": None
                if r["error_ratio_up_to"] is None
                else _percent(r["error_ratio_up_to"]),
                # below every tier: how much of the budget such a burn spends per window
                "budget_spent_unnoticed": None
                if r.get("budget_spent_unnoticed") is None
                else _percent(r["budget_spent_unnoticed"]),
            }
        )
    return out


def budget(slo: SLO, expected: ExpectedTraffic | None) -> dict[str, Any]:
    """The error budget of one period: as a ratio, as time at a full outage and, with
    expected traffic, in failed events."""
    share = 1 - slo.target
    outage = slo.window * share
    found: dict[str, Any] = {
        "ratio": fmt_percent(share),
        "full_outage": humanize_duration(float(outage)),
        "outage_policy": humanize_duration(float(outage * OUTAGE_SHARE)),
        "traffic": None,
    }
    if expected is not None:
        events = expected.events_in(slo.window)
        found["traffic"] = {
            "expected": str(expected),
            "events_per_period": count(events),
            "error_budget_events": count(events * share),
            "outage_policy_events": count(events * share * OUTAGE_SHARE),
        }
    return found


def notify(slo: SLO) -> list[dict[str, Any]]:
    """Where each severity's alerts go, per backend, as the spec routes them."""
    out = []
    for severity in slo.policy.severities:
        routes = []
        for backend, route in slo.alerting.for_severity(severity).entries:
            if isinstance(route, tuple) and route and isinstance(route[0], tuple):
                text = ", ".join(f"{k}={v}" for k, v in route)  # routing labels
            else:
                text = ", ".join(str(r) for r in route)  # type: ignore[union-attr]
            routes.append({"backend": backend, "to": text})
        out.append({"severity": severity, "routes": routes})
    return out


def slo_document(service: Service, slo: SLO, resources: Rendered) -> dict[str, Any]:
    """One SLO's part of the document."""
    report = slo_report(service, slo)
    no_traffic = report["no_traffic"]
    return {
        "name": slo.name,
        "description": slo.description,
        "category": slo.category,
        "objective": f"{fmt(slo.objective)}%",
        "window": format_duration(slo.window),
        "implementations": implementations(service, slo, resources),
        "budget": budget(slo, slo.traffic),
        "policy": slo.policy.name,
        "min_events": slo.alerting.min_events,
        "runbook": slo.alerting.runbook,
        "tiers": tier_rows(report),
        "ranges": ranges(report),
        "no_traffic": None
        if no_traffic is None
        else {"severity": no_traffic["severity"], "for": no_traffic["for"]},
        "notify": notify(slo),
        "request_class": _class_note(slo),
    }


def _class_note(slo: SLO) -> dict[str, Any] | None:
    """The SLO's request class and which of its values came from where (explain's data)."""
    fields = class_fields(slo)
    if not fields:
        return None
    defined = fields.get("class_defined") or {}
    return {
        "name": fields["class"],
        "defined": defined.get("from", ""),
        "sources": [{"value": key, "from": s["from"]} for key, s in fields["sources"].items()],
        "latency": [
            {"percentile": key[1:], "within": value}
            for key, value in (fields.get("latency_guidance") or {}).items()
            if key != "note"
        ],
    }


def exempt_document(entry: ExemptSLO) -> dict[str, Any]:
    """An entry of a class that builds nothing: listed as no SLO, on purpose."""
    return {
        "name": entry.name,
        "description": entry.description,
        "category": entry.category,
        "class": entry.request_class,
        "objective": None if entry.objective is None else f"{fmt(entry.objective)}%",
        "window": None if entry.window is None else format_duration(entry.window),
    }


def service_document(service: Service, resources: Rendered, today: date) -> dict[str, Any]:
    """Everything one service's document shows. ``today`` decides whether the review date
    has passed; ``resources`` are the backends' rendered resources (for the names)."""
    doc = service.document
    review = doc.review if doc else None
    return {
        "service": service.name,
        "source": service.location.file,
        "description": service.description,
        "overview": (doc.overview if doc and doc.overview else service.description),
        "owner": service.owner,
        "authors": list(doc.authors) if doc else [],
        "reviewers": list(doc.reviewers) if doc else [],
        "approvers": list(doc.approvers) if doc else [],
        "approved": doc.approved.isoformat() if doc and doc.approved else None,
        "review": review.isoformat() if review else None,
        "review_overdue": review is not None and review < today,
        "today": today.isoformat(),
        "outage_share": fmt_percent(OUTAGE_SHARE),
        "windows": sorted({format_duration(s.window) for s in service.slos}),
        "slos": [slo_document(service, slo, resources) for slo in service.slos],
        "exempt": [exempt_document(e) for e in service.exempt],
        "satisfaction": list(doc.satisfaction) if doc else [],
        "error_budget_policy": {
            "budget_exhausted": list(doc.budget_exhausted) if doc else [],
            "escalation": list(doc.escalation) if doc else [],
        },
    }
