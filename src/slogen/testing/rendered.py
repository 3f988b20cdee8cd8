"""What slogen renders for one SLO, as ``slogen test`` checks it: rule files, alert rules and
the engine's tier math, and the checks that read its recorded series.

Every assertion on an alert is a ``promql_expr_test`` on ``ALERTS{alertname=...,
alertstate="firing",tier=...}``: it names the tier (several tiers of one SLO share an alert
name) and, when the alert must fire, compares the full label set taken from the rendered rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from slogen import yamltext
from slogen.backends.prometheus.rulefiles import GROUP_PREFIX, dump_yaml
from slogen.durations import format_duration
from slogen.engine import TierMath
from slogen.templating import go_template_text
from slogen.testing.testfile import ExprCheck, Sample, number_text, selector


@dataclass(frozen=True)
class RenderedSLO:
    """What slogen renders for one SLO: its service's rule file, alert rules and tier math."""

    service: str
    slo: str
    rule_files: Mapping[str, str]
    alerts: Mapping[str, Mapping[str, Any]]  # tier id → rendered alerting rule
    tiers: Mapping[str, TierMath]
    resolution: int  # seconds; the range of the base rates (the engine's ``resolution``)
    min_events: int | None
    # Labels the SLI queries keep on the recorded series (``sum by (...)``), for exact samples.
    output_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def group_name(self) -> str:
        return f"{GROUP_PREFIX}{self.service}/{self.slo}"

    def only_group(self) -> RenderedSLO:
        """The same SLO reduced to its own rule group (other SLOs of the service dropped)."""
        files: dict[str, str] = {}
        for file_name, text in self.rule_files.items():
            doc = yamltext.load(text) or {}
            groups = [g for g in doc.get("groups", []) if g.get("name") == self.group_name]
            if groups:
                files[file_name] = dump_yaml({"groups": groups})
        if not files:
            raise ValueError(f"no rule group {self.group_name!r}")
        return replace(self, rule_files=files)

    def only_tier(self, tier: str) -> RenderedSLO:
        """The same SLO reduced to the rules ``tier``'s alert needs, unchanged otherwise.

        Rules are pure functions of the series they read, so dropping the recording rules and
        alerts the tier does not reference changes nothing it computes; it only saves promtool
        from evaluating them (each rule costs time at every evaluation of a days-long run).
        """
        group_name = self.group_name
        files: dict[str, str] = {}
        for file_name, text in self.rule_files.items():
            doc = yamltext.load(text) or {}
            for group in doc.get("groups", []):
                if group.get("name") != group_name:
                    continue
                rules = group["rules"]
                alert = [
                    r for r in rules if "alert" in r and r.get("labels", {}).get("tier") == tier
                ]
                if len(alert) != 1:
                    raise ValueError(f"{len(alert)} alert rules for tier {tier!r} in {file_name}")
                records = {r["record"]: r for r in rules if "record" in r}
                needed: set[str] = set()
                pending = [alert[0]["expr"]]
                while pending:
                    for name in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", pending.pop()):
                        if name in records and name not in needed:
                            needed.add(name)
                            pending.append(records[name]["expr"])
                kept = [r for r in rules if r.get("record") in needed] + alert
                doc = {"groups": [{**group, "rules": kept}]}
                files[file_name] = dump_yaml(doc)
        if not files:
            raise ValueError(f"no rule group {group_name!r}")
        return replace(self, rule_files=files, alerts={tier: self.alerts[tier]})

    def alert_selector(self, tier: str) -> dict[str, str]:
        return {
            "alertname": str(self.alerts[tier]["alert"]),
            "alertstate": "firing",
            "service": self.service,
            "slo": self.slo,
            "tier": tier,
        }

    def firing_query(self, tier: str) -> str:
        return selector("ALERTS", self.alert_selector(tier))

    def firing_sample(self, tier: str) -> Sample:
        """The exact ALERTS series of a firing tier: alert name, state and the rule's labels."""
        rule = self.alerts[tier]
        labels = dict(self.output_labels)
        labels.update({"alertname": str(rule["alert"]), "alertstate": "firing"})
        # the rule's label values are Go templates (spec text escaped): ALERTS has them expanded
        labels.update({str(k): go_template_text(str(v)) for k, v in rule["labels"].items()})
        labels["__name__"] = "ALERTS"
        return Sample(labels, 1.0)

    def record_labels(self) -> dict[str, str]:
        """The labels that select this SLO's recorded series."""
        return {"service": self.service, "slo": self.slo}

    def record_sample_labels(self) -> dict[str, str]:
        """The complete label set of one of its recorded series (without the name)."""
        return {**self.output_labels, **self.record_labels()}


def ratio_check(
    slo: RenderedSLO,
    check_id: str,
    window: int,
    value: float | Fraction,
    at: int,
    rel: float = 1e-9,
) -> ExprCheck:
    """The recorded error ratio over ``window`` equals ``value`` (to ``rel``) at ``at``."""
    record = selector(f"slogen:sli_error_ratio:rate{format_duration(window)}", slo.record_labels())
    return _close_check(slo, check_id, record, value, at, rel)


def events_check(
    slo: RenderedSLO, check_id: str, window: int, at: int, *, at_least: float, below: float
) -> ExprCheck:
    """The recorded event count over ``window`` is in ``[at_least, below)`` at ``at``."""
    record = selector(f"slogen:sli_events:count{format_duration(window)}", slo.record_labels())
    expr = f"({record} >= bool {number_text(at_least)}) * ({record} < bool {number_text(below)})"
    return ExprCheck(check_id, expr, at, (Sample(slo.record_sample_labels(), 1.0),))


def _close_check(
    slo: RenderedSLO, check_id: str, record: str, value: float | Fraction, at: int, rel: float
) -> ExprCheck:
    tolerance = number_text(abs(float(value)) * rel or rel)
    expr = f"abs({record} - {number_text(value)}) <= bool {tolerance}"
    return ExprCheck(check_id, expr, at, (Sample(slo.record_sample_labels(), 1.0),))
