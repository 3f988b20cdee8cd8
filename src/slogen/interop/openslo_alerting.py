"""OpenSLO alert policies and conditions read as slogen tiers, policies and routes.

An AlertCondition of kind ``burnrate`` (README "AlertCondition": ``threshold``,
``lookbackWindow``, ``alertAfter``) becomes a tier: the lookback window is the long window and
the budget share is ``threshold × lookbackWindow / period``, since a burn rate B spends B·L/P of
the budget within L. OpenSLO has no short window, so it is the Workbook's ``long/12``, with a
warning. An AlertPolicy holds at most one condition (README "AlertPolicy": "max of one
condition"), so an SLO's tiers are the conditions of all the AlertPolicies it lists, in order.
Notification targets that slogen wrote (``slogen.dev/backend``) become the routes of their
severity; others cannot be mapped to a backend and are reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from slogen.backends.registry import NAMES
from slogen.durations import DurationError, format_duration, parse_duration
from slogen.engine.burnrate import default_short_window
from slogen.interop.openslo_docs import (
    EXPORTED_ALERT_AFTER,
    Document,
    Node,
    Reporter,
    plain_name,
    shorthand_seconds,
    slogen_name,
)
from slogen.numbers import fmt
from slogen.spec.settings import BUILTIN_POLICIES

RUNBOOK_RE = re.compile(r"Runbook: (https?://\S+)")


@dataclass
class ImportedSLO:
    """One slogen SLO gathered from one or more OpenSLO SLO objects (one per backend)."""

    service: str
    doc: Document
    spec: dict[str, Any]
    backends: list[str] = field(default_factory=list)
    tiers: list[dict[str, str]] = field(default_factory=list)
    policy_names: list[str] = field(default_factory=list)
    policy: str | None = None  # the slogen policy, once named
    default_policy: bool = False


class AlertingReader:
    """Reads the alerting of SLOs against every object of the files given."""

    def __init__(self, by_kind: dict[str, dict[str, Document]], report: Reporter):
        self.docs = by_kind
        self.report = report
        self.notify: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def _referenced(self, item: Node, kind: str, ref_key: str) -> Document | None:
        """An object given by name (a string or ``{ref_key: name}``) or inline."""
        value = item.value
        if isinstance(value, dict) and "kind" in value and "metadata" in value:
            meta = item.get("metadata")
            name = meta.get("name") if meta else None
            if name is None or not isinstance(name.value, str):
                self.report.error(item, f"an inline {kind} needs metadata.name")
                return None
            return Document(kind, name.value, Node(value, item.loc, item.path))
        ref = item.get(ref_key) if isinstance(value, dict) else item
        if ref is None or not isinstance(ref.value, str):
            self.report.expected(item, f"a {kind} name, {{{ref_key}: name}} or an inline {kind}")
            return None
        found = self.docs[kind].get(ref.value)
        if found is None:
            self.report.error(
                ref,
                f"{kind} '{ref.value}' is not in the files given",
                f"pass the file that defines it; known: {', '.join(self.docs[kind]) or 'none'}",
            )
        return found

    def _tier(self, cond: Document, window: int) -> dict[str, str] | None:
        report, spec = self.report, cond.spec
        severity_node = spec.get("severity")
        severity = report.string(severity_node, spec, "severity")
        condition = spec.get("condition")
        if condition is None or not isinstance(condition.value, dict):
            report.expected(condition or spec, "condition, a mapping")
            return None
        kind = condition.get("kind")
        if kind is not None and kind.value != "burnrate":
            report.error(
                kind, f"alert condition kind {kind.value!r} is not supported", "use burnrate"
            )
            return None
        op = condition.get("op")
        if op is not None and op.value not in ("gt", "gte"):
            report.error(
                op, f"a burn-rate alert fires above its threshold; op {op.value!r} is not supported"
            )
            return None
        threshold = condition.get("threshold")
        lookback = condition.get("lookbackWindow")
        if (
            threshold is None
            or isinstance(threshold.value, bool)
            or not isinstance(threshold.value, int | float)
            or threshold.value <= 0
        ):
            report.expected(threshold or condition, "threshold, a burn rate above 0")
            return None
        if lookback is None:
            report.error(condition, "missing required key 'lookbackWindow'")
            return None
        long = shorthand_seconds(lookback, report, "lookbackWindow")
        if long is None or severity is None or severity_node is None:
            return None
        severity = slogen_name(severity_node, severity, report, "severity")
        if severity is None:
            return None
        exact = cond.annotation("budget-percent")
        budget = Fraction(exact) / 100 if exact else Fraction(repr(threshold.value)) * long / window
        if not 0 < budget <= 1:
            report.error(
                threshold,
                f"burn rate {threshold.value} over {lookback.value} spends {fmt(budget * 100, 4)}% "
                f"of the error budget of a {format_duration(window)} SLO; slogen needs 0-100%",
                "lower the threshold or shorten the lookbackWindow",
            )
            return None
        text = fmt(budget * 100, 10)
        if Fraction(text) / 100 != budget:
            report.warn(
                threshold,
                f"the budget share {threshold.value}×{lookback.value}/period is rounded to {text}%",
            )
        short_text = cond.annotation("short-window")
        try:
            short = parse_duration(short_text) if short_text else None
        except DurationError:
            short = None
        if short is None:
            short = default_short_window(long)
            report.warn(
                lookback,
                f"OpenSLO has one lookbackWindow; slogen's short window is the default "
                f"long/12 = {format_duration(short)}",
                "set 'short' in the policy in slogen.yaml to choose another",
            )
        after = condition.get("alertAfter")
        if after is not None and not short_text and after.value != EXPORTED_ALERT_AFTER:
            report.warn(
                after,
                f"alertAfter {after.value} is not used: slogen's tiers fire as soon as both "
                "windows exceed the threshold",
            )
        return {
            "severity": severity,
            "budget": f"{text}%",
            "long": format_duration(long),
            "short": format_duration(short),
        }

    def _targets(self, policy: Document, severity: str, key: tuple[str, str]) -> None:
        targets = policy.spec.get("notificationTargets")
        routes = self.notify.setdefault(key, {})
        if targets is not None and not isinstance(targets.value, list):
            self.report.expected(targets, "notificationTargets, a list")
            return
        for item in targets.items() if targets else ():
            target = self._referenced(item, "AlertNotificationTarget", "targetRef")
            if target is None or target.annotation("placeholder") == "true":
                continue
            backend = target.annotation("backend")
            value = target.spec.get("target")
            if backend not in NAMES or value is None:
                self.report.warn(
                    item,
                    f"notification target '{target.name}' is not carried over: slogen routes "
                    f"alerts per backend under alerting.{severity}",
                    "add Datadog handles, SNS topic ARNs or Alertmanager labels there",
                )
                continue
            by_backend = routes.setdefault(severity, {})
            if backend == "prometheus":
                name, _, label = str(value.value).partition("=")
                by_backend.setdefault(backend, {})[name] = label
            elif value.value not in by_backend.setdefault(backend, []):
                by_backend[backend].append(value.value)

    def alerting(self, slo: ImportedSLO, window: int) -> None:
        spec = slo.doc.spec
        policies = spec.get("alertPolicies")
        if policies is None or not policies.value:
            self.report.warn(
                slo.doc.root,
                "the SLO has no alertPolicies: the project's default policy applies",
            )
            return
        if not isinstance(policies.value, list):
            self.report.expected(policies, "alertPolicies, a list of AlertPolicy names")
            return
        key = (slo.service, slo.spec["name"])
        for item in policies.items():
            policy = self._referenced(item, "AlertPolicy", "alertPolicyRef")
            if policy is None:
                continue
            slo.policy_names.append(policy.annotation("policy") or policy.name)
            described = policy.spec.get("description")
            runbook = RUNBOOK_RE.search(described.value) if described else None
            if runbook:
                slo.spec.setdefault("alerting", {})["runbook"] = runbook.group(1)
            no_data = policy.spec.get("alertWhenNoData")
            if no_data is not None and no_data.value is True:
                self.report.warn(
                    no_data,
                    "alertWhenNoData is not carried over: slogen's tiers treat no data as healthy",
                    "set alerting.no_traffic in the spec to alert on a silent SLI",
                )
            conditions = policy.spec.get("conditions")
            if conditions is None or not isinstance(conditions.value, list):
                self.report.expected(conditions or policy.spec, "conditions, a list of one")
                continue
            for cond_item in conditions.items():
                cond = self._referenced(cond_item, "AlertCondition", "conditionRef")
                tier = self._tier(cond, window) if cond is not None else None
                if tier is not None:
                    slo.tiers.append(tier)
                    self._targets(policy, tier["severity"], key)


def name_policies(
    slos: list[ImportedSLO],
) -> tuple[dict[str, list[dict[str, str]]], str | None]:
    """Name each SLO's tiers as a policy: the AlertPolicies' own (or slogen's) name,
    made unique where SLOs of different periods give one AlertPolicy different budgets."""
    chosen: dict[str, list[dict[str, str]]] = {}
    default = None
    for slo in slos:
        if not slo.tiers:
            continue
        names = list(dict.fromkeys(slo.policy_names))
        base = names[0] if len(names) == 1 else "-".join(names)
        if len(base) > 63:
            base = f"{slo.service}-{slo.spec['name']}"
        base = plain_name(base)
        name = base
        if chosen.get(name, slo.tiers) != slo.tiers:
            name = f"{base}-{slo.spec['window']}"
        if chosen.get(name, slo.tiers) != slo.tiers:
            name = f"{base}-{slo.service}-{slo.spec['name']}"
        chosen[name] = slo.tiers
        slo.policy = name
        if slo.default_policy and default is None:
            default = name
        elif slo.default_policy and default != name:
            slo.default_policy = False
    builtin = [
        {
            "severity": t.severity,
            "budget": f"{fmt(t.budget * 100, 10)}%",
            "long": format_duration(t.long),
            "short": format_duration(t.short),
        }
        for t in BUILTIN_POLICIES["workbook"].tiers
    ]
    written = {
        name: tiers for name, tiers in chosen.items() if (name, tiers) != ("workbook", builtin)
    }
    return written, (default if default != "workbook" else None)
