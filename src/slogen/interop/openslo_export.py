"""The spec model as OpenSLO v1 documents: one file per service, one object per document.

Choices, and the OpenSLO facts behind them (README.md and schemas/v1 of
https://github.com/OpenSLO/OpenSLO; see tests/interop/openslo/README.md):

- An OpenSLO SLO has one ``indicator``, whose ``ratioMetric`` sides each read one metric
  source, so a slogen SLO with several backends becomes one OpenSLO SLO per backend, the
  backend and the slogen SLO's name kept in ``slogen.dev/`` annotations. Its objective,
  window and alert policies are the same in each.
- Every tier is an AlertCondition (``kind: burnrate``, ``threshold`` = the tier's burn rate,
  ``lookbackWindow`` = its long window) inside an AlertPolicy of its own, because an
  AlertPolicy holds at most one condition (README "AlertPolicy"; alertpolicy-spec.schema.json
  ``maxItems: 1``). The short window and the exact budget share have no OpenSLO field and are
  annotations; ``alertAfter``, which the schema requires as a positive duration-shorthand, is
  ``1m`` (slogen's tiers fire as soon as both windows exceed the threshold).
- Where a severity's alerts go (Datadog handles, SNS topic ARNs, Alertmanager labels) is an
  AlertNotificationTarget per recipient, since an AlertPolicy needs at least one target
  (``notificationTargets`` ``minItems: 1``); a severity that notifies nobody gets a placeholder.
- Annotation values may only be up to 63 letters, digits, ``.``, ``_`` and ``-``
  (metadata.schema.json), so a runbook URL goes into the AlertPolicies' ``description`` as
  ``Runbook: URL`` and expected traffic ``3000000/30d`` is written ``3000000-per-30d``.
- Prometheus queries are written with a literal range (``[5m]``) in place of ``{{ window }}``,
  which an OpenSLO consumer can run as is; ``slogen.dev/query-range`` says which range that was.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from slogen import yamltext
from slogen.backends import registry
from slogen.backends.prometheus.source import WINDOW_PLACEHOLDER
from slogen.durations import format_duration
from slogen.engine.burnrate import analyse_tier
from slogen.errors import Problem, Problems, SlogenError
from slogen.interop.openslo_docs import (
    ANNOTATION_VALUE_RE,
    API_VERSION,
    EXPORTED_ALERT_AFTER,
    PREFIX,
    shorthand,
)
from slogen.interop.write import write_new_files
from slogen.numbers import fmt
from slogen.spec.model import SLO, Project, Service, Tier
from slogen.spec.yamlsource import GENERATED_MARKER

# Ranges tried in turn in place of {{ window }}: the first that the SLO's queries do not
# already use, so that import can turn exactly these back into the placeholder.
QUERY_RANGES = ("5m", "10m", "15m", "30m", "1h", "2h", "3h", "6h")
DESCRIPTION_MAX = 1050  # description.schema.json
# backend -> OpenSLO metricSource.type, as each backend declares it
SOURCE_TYPES = {
    b.name: b.capabilities.openslo_source
    for b in registry.backends()
    if b.capabilities.openslo_source
}


class _Exporter:
    def __init__(self) -> None:
        self.problems = Problems()

    def warn(self, slo_or_service: SLO | Service, path: str, message: str) -> None:
        self.problems.add(Problem(slo_or_service.location, path, message, severity="warning"))

    def _object(
        self, kind: str, name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": name}
        if annotations:
            metadata["annotations"] = {PREFIX + k: v for k, v in annotations.items()}
        return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}

    def _description(self, owner: SLO | Service, path: str, text: str) -> str:
        if len(text) <= DESCRIPTION_MAX:
            return text
        self.warn(owner, path, f"the description is cut to OpenSLO's {DESCRIPTION_MAX} characters")
        return text[: DESCRIPTION_MAX - 1] + "…"

    def service(self, service: Service) -> list[dict[str, Any]]:
        metadata_annotations: dict[str, str] = {}
        if service.owner:
            if ANNOTATION_VALUE_RE.match(service.owner) and len(service.owner) <= 63:
                metadata_annotations["owner"] = service.owner
            else:
                self.warn(service, "owner", "the owner does not fit an OpenSLO annotation value")
        spec: dict[str, Any] = {}
        if service.description:
            spec["description"] = self._description(service, "description", service.description)
        document = self._object("Service", service.name, spec, metadata_annotations)
        labels = {}
        for key, value in service.labels:
            if ANNOTATION_VALUE_RE.match(value) and len(value) <= 63:
                labels[key] = value
            else:
                self.warn(service, f"labels.{key}", "the value does not fit an OpenSLO label")
        if labels:
            document["metadata"]["labels"] = labels
        documents = [document]
        for index, slo in enumerate(service.slos):
            documents.extend(self.slo(service, index, slo))
        self._unexported(service)
        return documents

    def _unexported(self, service: Service) -> None:
        """Warn about what a service spec holds that OpenSLO has nowhere to put."""
        block = getattr(service, "document", None)  # `slogen docs`: free text, dates, people
        if block is not None:
            self.problems.add(
                Problem(
                    block.location,
                    "document",
                    "the document: block (authors, reviews, error budget policy) has no "
                    "OpenSLO field and is not exported",
                    severity="warning",
                )
            )
        for exempt in getattr(service, "exempt", ()):  # entries whose class builds no alerts
            self.problems.add(
                Problem(
                    exempt.location,
                    "slos",
                    f"SLO '{exempt.name}' builds no alerts (class {exempt.request_class}) and "
                    "is not exported",
                    severity="warning",
                )
            )

    def _targets(self, base: str, slo: SLO, severity: str) -> list[dict[str, Any]]:
        targets = []
        for backend, route in slo.alerting.for_severity(severity).entries:
            values = [f"{k}={v}" for k, v in route] if backend == "prometheus" else list(route)
            for number, value in enumerate(values, 1):
                targets.append(
                    self._object(
                        "AlertNotificationTarget",
                        f"{base}-{severity}-{backend}-{number}",
                        {"target": value, "description": f"{severity} alerts in {backend}"},
                        {"backend": backend, "severity": severity},
                    )
                )
        if not targets:
            targets.append(
                self._object(
                    "AlertNotificationTarget",
                    f"{base}-{severity}",
                    {"target": severity, "description": f"{severity} alerts notify nobody"},
                    {"severity": severity, "placeholder": "true"},
                )
            )
        return targets

    def _tier(self, base: str, slo: SLO, tier: Tier, targets: list[str]) -> list[dict[str, Any]]:
        lookback = shorthand(tier.long)
        if lookback is None:
            raise SlogenError(
                f"tier '{tier.id}' of policy '{slo.policy.name}' has a long window of "
                f"{format_duration(tier.long)}: OpenSLO durations are whole minutes",
            )
        math = analyse_tier(slo.objective, slo.window, tier)
        name = f"{base}-{tier.id}"
        condition = self._object(
            "AlertCondition",
            name,
            {
                "description": f"{fmt(tier.budget * 100, 10)}% of the error budget spent within "
                f"{format_duration(tier.long)} (burn rate {fmt(math.burn_rate, 10)})",
                "severity": tier.severity,
                "condition": {
                    "kind": "burnrate",
                    "op": "gt",
                    "threshold": _number(math.burn_rate),
                    "lookbackWindow": lookback,
                    "alertAfter": EXPORTED_ALERT_AFTER,
                },
            },
            {
                "short-window": format_duration(tier.short),
                "budget-percent": fmt(tier.budget * 100, 20),
            },
        )
        spec: dict[str, Any] = {}
        if slo.alerting.runbook:
            spec["description"] = f"Runbook: {slo.alerting.runbook}"
        spec.update(
            {
                "alertWhenNoData": False,
                "alertWhenResolved": False,
                "alertWhenBreaching": True,
                "conditions": [{"conditionRef": name}],
                "notificationTargets": [{"targetRef": t} for t in targets],
            }
        )
        policy = self._object("AlertPolicy", name, spec, {"policy": slo.policy.name})
        return [condition, policy]

    def _query_range(self, slo: SLO) -> str:
        source = slo.indicator.source("prometheus")
        queries = [getattr(source, key) or "" for key in ("total", "errors", "good")]
        for candidate in QUERY_RANGES:
            used = re.compile(r"\[\s*" + re.escape(candidate) + r"\s*\]")
            if not any(used.search(q) for q in queries):
                return candidate
        raise SlogenError(f"SLO '{slo.name}': its queries use every range slogen could write")

    def _indicator(self, backend: str, source: Any, query_range: str) -> dict[str, Any]:
        ratio: dict[str, Any] = {"counter": False}
        for key, side in (("errors", "bad"), ("good", "good"), ("total", "total")):
            value = getattr(source, key)
            if value is None:
                continue
            if backend == "prometheus":
                spec: dict[str, Any] = {"query": WINDOW_PLACEHOLDER.sub(query_range, value)}
            elif backend == "datadog":
                spec = {"query": value}
            else:
                metrics = [_cloudwatch_metric(metric) for metric in value]
                spec = {"region": source.region}
                if len(metrics) == 1:
                    spec.update(metrics[0])
                else:
                    spec["metrics"] = metrics
            ratio[side] = {"metricSource": {"type": SOURCE_TYPES[backend], "spec": spec}}
        return ratio

    def slo(self, service: Service, index: int, slo: SLO) -> list[dict[str, Any]]:
        base = f"{service.name}-{slo.name}"
        documents: list[dict[str, Any]] = []
        for severity in slo.policy.severities:
            targets = self._targets(base, slo, severity)
            documents.extend(targets)
            names = [t["metadata"]["name"] for t in targets]
            for tier in slo.policy.tiers:
                if tier.severity == severity:
                    documents.extend(self._tier(base, slo, tier, names))
        policies = [f"{base}-{tier.id}" for tier in slo.policy.tiers]
        annotations = {"slo": slo.name}
        if slo.category:
            annotations["category"] = slo.category
        if slo.traffic is not None:
            annotations["traffic"] = str(slo.traffic).replace("/", "-per-")
        alerting = slo.alerting
        if alerting.min_events:
            annotations["min-events"] = str(alerting.min_events)
        if alerting.no_traffic is not None:
            annotations["no-traffic"] = format_duration(alerting.no_traffic.duration)
            annotations["no-traffic-severity"] = alerting.no_traffic.severity
        if alerting.policy:
            annotations["policy"] = alerting.policy
        else:
            annotations["default-policy"] = slo.policy.name
        window = shorthand(slo.window)
        several = len(slo.indicator.backends) > 1
        for backend, source in slo.indicator.entries:
            own = dict(annotations, backend=backend)
            query_range = ""
            if backend == "prometheus":
                query_range = own["query-range"] = self._query_range(slo)
            spec: dict[str, Any] = {}
            if slo.description:
                spec["description"] = self._description(
                    slo, f"slos[{index}].description", slo.description
                )
            spec.update(
                {
                    "service": service.name,
                    "indicator": {
                        "metadata": {"name": f"{base}-{backend}"},
                        "spec": {"ratioMetric": self._indicator(backend, source, query_range)},
                    },
                    "timeWindow": [{"duration": window, "isRolling": True}],
                    "budgetingMethod": "Occurrences",
                    "objectives": [{"target": _number(slo.target)}],
                    "alertPolicies": policies,
                }
            )
            name = f"{base}-{backend}" if several else base
            documents.append(self._object("SLO", name, spec, own))
        return documents


def _number(value: Fraction) -> int | float:
    """A number as YAML shows it best: 6 rather than 6.0."""
    return int(value) if value.denominator == 1 else float(value)


def _cloudwatch_metric(metric: Any) -> dict[str, Any]:
    """One CloudWatch metric in the field names of CloudWatch's own API."""
    spec: dict[str, Any] = {"namespace": metric.namespace, "metricName": metric.metric}
    spec["stat"] = metric.stat
    if metric.dimensions:
        spec["dimensions"] = [{"name": k, "value": v} for k, v in metric.dimensions]
    return spec


def export_openslo(project: Project) -> tuple[dict[str, list[dict[str, Any]]], Problems]:
    """OpenSLO documents per service (in the order they are written) and the warnings."""
    exporter = _Exporter()
    files = {service.name: exporter.service(service) for service in project.services}
    return files, exporter.problems


def openslo_text(documents: list[dict[str, Any]], header: str = "") -> str:
    """One multi-document OpenSLO file, marked as written by slogen."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = "---\n".join(yamltext.dump(document) for document in documents)
    return f"{GENERATED_MARKER}\n{comment}---\n{body}"


def write_openslo(
    files: dict[str, list[dict[str, Any]]], out: Path, header: str = ""
) -> list[Path]:
    """Write ``out/<service>.yaml`` for each service; never over a file that is there."""
    texts = {f"{name}.yaml": openslo_text(documents, header) for name, documents in files.items()}
    return write_new_files(texts, out, "export")
