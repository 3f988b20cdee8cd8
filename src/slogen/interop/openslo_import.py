"""OpenSLO v1 documents read into slogen spec documents (one per service) and a slogen.yaml.

What maps how, and why (OpenSLO facts from its README.md and schemas/v1, see
tests/interop/openslo/README.md):

- An SLO's ``spec.service`` names the slogen service; a Service object gives its description.
- ``budgetingMethod`` must be ``Occurrences``: slogen's burn rates count events, and
  ``Timeslices``/``RatioTimeslices`` budgets count good minutes, which no slogen alert measures.
- ``timeWindow`` must be one rolling window of fixed length; ``objectives`` one ``target``
  (or ``targetPercent``), since a slogen SLO has one objective.
- The SLI (inline ``indicator`` or ``indicatorRef`` to an SLI object) must be a ``ratioMetric``;
  see :mod:`.openslo_sources`.
- Its alert policies become one slogen policy, written into slogen.yaml; see
  :mod:`.openslo_alerting`.

Anything slogen wrote itself (``slogen export openslo``) carries ``slogen.dev/`` annotations
(:data:`ANNOTATIONS`) that restore exactly what OpenSLO has no field for, so nothing is
reported as lost then.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from slogen.durations import format_duration
from slogen.errors import Location, Problems, SlogenError
from slogen.interop.openslo_alerting import AlertingReader, ImportedSLO, name_policies
from slogen.interop.openslo_docs import (
    Document,
    Node,
    Reporter,
    index,
    plain_name,
    read_documents,
    shorthand_seconds,
    slogen_name,
)
from slogen.interop.openslo_sources import ratio_source
from slogen.plural import plural

# Every annotation slogen writes and reads, under the ``slogen.dev/`` prefix.
ANNOTATIONS = {
    "slo": "SLO: the slogen SLO's name (one OpenSLO SLO is written per backend)",
    "backend": "SLO, AlertNotificationTarget: the slogen backend it belongs to",
    "query-range": "SLO: the range written in place of {{ window }} in Prometheus queries",
    "category": "SLO: the SLO's category",
    "traffic": "SLO: expected traffic, '3000000-per-30d' for 3000000/30d",
    "min-events": "SLO: alerting.min_events",
    "no-traffic": "SLO: alerting.no_traffic duration",
    "no-traffic-severity": "SLO: alerting.no_traffic severity",
    "policy": "SLO: alerting.policy when the spec names it; AlertPolicy: its slogen policy",
    "default-policy": "SLO: the project's default policy, when the spec names none",
    "short-window": "AlertCondition: the tier's short window",
    "budget-percent": "AlertCondition: the tier's exact budget share in percent",
    "severity": "AlertNotificationTarget: the severity it routes",
    "placeholder": "AlertNotificationTarget: 'true' when a severity notifies nobody",
    "owner": "Service: the owning team",
}


class _Importer(AlertingReader):
    """Gathers the slogen SLOs, merging the per-backend SLO objects slogen exports."""

    def __init__(self, by_kind: dict[str, dict[str, Document]], report: Reporter):
        super().__init__(by_kind, report)
        self.slos: dict[tuple[str, str], ImportedSLO] = {}

    def _window(self, spec: Node) -> int | None:
        windows = spec.get("timeWindow")
        items = list(windows.items()) if windows else []
        if len(items) != 1:
            self.report.error(windows or spec, "expected timeWindow, a list of exactly one window")
            return None
        window = items[0]
        rolling = window.get("isRolling")
        if window.get("calendar") is not None or (
            rolling is not None and rolling.value is not True
        ):
            self.report.error(
                window,
                "calendar-aligned time windows are not supported",
                "slogen's SLO windows are rolling: set isRolling: true",
            )
            return None
        duration = window.get("duration")
        if duration is None:
            self.report.error(window, "missing required key 'duration'")
            return None
        seconds = shorthand_seconds(duration, self.report, "the window")
        if seconds is not None and seconds % 3600:
            self.report.error(duration, "slogen's SLO windows are whole hours", "e.g. 28d or 4w")
            return None
        return seconds

    def _objective(self, spec: Node) -> Fraction | None:
        objectives = spec.get("objectives")
        items = list(objectives.items()) if objectives else []
        if len(items) != 1:
            self.report.error(
                objectives or spec,
                f"expected exactly one objective, found {len(items)}",
                "a slogen SLO has one objective: write one OpenSLO SLO per objective",
            )
            return None
        target, percent = items[0].get("target"), items[0].get("targetPercent")
        node = target or percent
        if node is None or isinstance(node.value, bool) or not isinstance(node.value, int | float):
            self.report.expected(node or items[0], "target, a number between 0 and 1")
            return None
        value = Fraction(repr(node.value)) * (100 if target is not None else 1)
        if not 0 < value < 100:
            self.report.expected(node, "a target strictly between 0 and 1 (0% and 100%)")
            return None
        return value

    def _slo(self, doc: Document) -> None:
        report, spec = self.report, doc.spec
        service_node = spec.get("service")
        service_text = report.string(service_node, spec, "service")
        method = spec.get("budgetingMethod")
        if method is None or method.value != "Occurrences":
            report.error(
                method or spec,
                f"budgetingMethod {method.value!r} is not supported"
                if method
                else "missing required key 'budgetingMethod'",
                "slogen's burn-rate alerts count events: budgetingMethod: Occurrences",
            )
            return
        window, objective = self._window(spec), self._objective(spec)
        read = self._indicator(doc)
        name = doc.annotation("slo") or slogen_name(doc.root, doc.name, report, "SLO name")
        service = None
        if service_node is not None and service_text is not None:
            service = slogen_name(service_node, service_text, report, "service")
        if read is None or window is None or objective is None or not name or not service:
            return
        backend, source = read
        slo = self.slos.get((service, name))
        if slo is None:
            slo = self._new_slo(doc, service, name, objective, window)
        elif (
            backend in slo.backends
            or slo.spec["window"] != format_duration(window)
            or (slo.spec["objective"] != _number(objective))
        ):
            report.error(
                doc.root,
                f"SLO '{name}' of service '{service}' is defined twice (also at "
                f"{slo.doc.root.loc})",
                "an SLO written once per backend must agree on objective and window",
            )
            return
        slo.backends.append(backend)
        slo.spec["indicator"][backend] = source

    def _indicator(self, doc: Document) -> tuple[str, dict[str, Any]] | None:
        """The SLO's inline ``indicator`` or the SLI its ``indicatorRef`` names, read."""
        spec = doc.spec
        indicator = spec.get("indicator")
        if indicator is not None:
            sli_spec = indicator.get("spec") or Node({}, indicator.loc, f"{indicator.path}.spec")
        else:
            ref = spec.get("indicatorRef")
            if ref is None:
                self.report.error(spec, "the SLO needs an indicator or an indicatorRef")
                return None
            sli = self._referenced(ref, "SLI", "indicatorRef")
            if sli is None:
                return None
            sli_spec = sli.spec
        return ratio_source(
            sli_spec, self.docs["DataSource"], self.report, doc.annotation("query-range")
        )

    def _new_slo(
        self, doc: Document, service: str, name: str, objective: Fraction, window: int
    ) -> ImportedSLO:
        """The spec entry of an SLO seen first, with what slogen's annotations restore."""
        entry: dict[str, Any] = {"name": name}
        described = doc.spec.get("description")
        text = described.value if described and isinstance(described.value, str) else None
        if text or doc.display_name:
            entry["description"] = text or doc.display_name
        if doc.annotation("category"):
            entry["category"] = doc.annotation("category")
        entry["objective"] = _number(objective)
        entry["window"] = format_duration(window)
        traffic = doc.annotation("traffic")
        if traffic:
            entry["traffic"] = traffic.replace("-per-", "/")
        entry["indicator"] = {}
        metadata = doc.root.get("metadata")
        labels = metadata.get("labels") if metadata else None
        if labels is not None:
            self.report.warn(labels, "labels of an SLO are not carried over")
        alerting: dict[str, Any] = {}
        min_events = doc.annotation("min-events")
        if min_events and min_events.isdigit():
            alerting["min_events"] = int(min_events)
        no_traffic = doc.annotation("no-traffic")
        if no_traffic:
            alerting["no_traffic"] = {"for": no_traffic}
            severity = doc.annotation("no-traffic-severity")
            if severity:
                alerting["no_traffic"]["severity"] = severity
        if alerting:
            entry["alerting"] = alerting
        slo = ImportedSLO(service, doc, entry)
        slo.default_policy = doc.annotation("default-policy") is not None
        self.slos[(service, name)] = slo
        self.alerting(slo, window)
        return slo

    def run(self) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
        for doc in self.docs["SLO"].values():
            self._slo(doc)
        policies, default = name_policies(list(self.slos.values()))
        services: dict[str, dict[str, Any]] = {}
        for (service, _name), slo in self.slos.items():
            document = services.setdefault(service, self._service(service))
            alerting = slo.spec.pop("alerting", {})
            if slo.policy and not slo.default_policy:
                alerting = {"policy": slo.policy, **alerting}
            for severity, routes in self.notify.get((service, slo.spec["name"]), {}).items():
                alerting[severity] = routes
            if alerting:
                slo.spec["alerting"] = alerting
            document["slos"].append(slo.spec)
        config: dict[str, Any] = {}
        if default:
            config["default_policy"] = default
        if policies:
            config["policies"] = policies
        return services, config or None

    def _service(self, name: str) -> dict[str, Any]:
        document: dict[str, Any] = {"service": name}
        found = next((d for d in self.docs["Service"].values() if plain_name(d.name) == name), None)
        if found is not None:
            described = found.spec.get("description")
            text = (
                described.value
                if described and isinstance(described.value, str)
                else found.display_name
            )
            if text:
                document["description"] = text
            if found.annotation("owner"):
                document["owner"] = found.annotation("owner")
            meta = found.root.get("metadata")
            labels = meta.get("labels") if meta else None
            if labels is not None and isinstance(labels.value, dict):
                document["labels"] = {}
                for key, value in labels.value.items():
                    if isinstance(value, str):
                        document["labels"][str(key)] = value
                    else:
                        self.report.warn(
                            labels.get(str(key)) or labels,
                            f"label '{key}' is not carried over: slogen labels are strings",
                        )
        document["slos"] = []
        return document


def _number(value: Fraction) -> int | float:
    """An objective as the spec writes it: 99 or 99.9."""
    return int(value) if value.denominator == 1 else float(value)


@dataclass
class Imported:
    """Spec documents by service, the slogen.yaml document (None: not needed), warnings."""

    services: dict[str, dict[str, Any]]
    config: dict[str, Any] | None
    problems: Problems


def import_openslo(paths: list[Path]) -> Imported:
    """Read OpenSLO files into spec documents; raise :class:`SlogenError` with every located
    problem when any is an error (nothing is to be written then)."""
    report = Reporter()
    documents = read_documents(paths, report)
    by_kind = index(documents, report)
    importer = _Importer(by_kind, report)
    services, config = importer.run()
    if not report.problems.errors and not services:
        where = Location(str(paths[0])) if paths else Location("<none>")
        report.problems.error(where, "", "no OpenSLO SLO objects in the files given")
    if "slogen" in services:  # its spec file would be slogen.yaml
        slo = next(s for (service, _), s in importer.slos.items() if service == "slogen")
        report.error(slo.doc.spec, "a service cannot be named 'slogen' (that is slogen.yaml)")
    if report.problems.errors:
        count = len(report.problems.errors)
        raise SlogenError(f"{plural(count, 'error')} in the OpenSLO files", report.problems)
    for document in by_kind["Service"].values():
        if plain_name(document.name) not in services:
            report.warn(
                document.root, f"Service '{document.name}' has no SLO; nothing is written for it"
            )
    return Imported(services, config, report.problems)
