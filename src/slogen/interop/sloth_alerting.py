"""A Sloth SLO's ``alerting`` block as slogen's: policy, routing labels, runbook.

Sloth gives every SLO a page and a ticket alert; each carries ``alerting.labels`` merged with
its own ``page_alert``/``ticket_alert`` labels (the latter win), and the same for annotations
(slok/sloth ``internal/prometheus/spec.go``, ``mergeLabels``). ``disable: true`` drops that
alert. slogen's equivalents: per-severity Prometheus routing labels
(``alerting.page.prometheus``), a policy with only the severities kept, one ``runbook`` URL per
SLO. Alert annotations slogen has no place for are reported, and a summary or description
annotation becomes the SLO's description when it has none (slogen shows that on its alerts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from slogen.errors import Location, Problems, describe
from slogen.interop.sloth_policy import SEVERITIES, PolicyChoice, policy_for
from slogen.interop.sloth_read import Dialect, check_keys, child, key_loc, warn
from slogen.spec.checks import LABEL_NAME_RE, Field
from slogen.spec.model import CATEGORIES
from slogen.spec.specreader import RUNBOOK_RE

ROUTING_RESERVED = ("service", "slo", "severity", "tier")  # what slogen's alerts set
_RUNBOOK_KEY = re.compile(r"runbook|playbook", re.IGNORECASE)
_TEXT_KEYS = ("description", "summary", "message", "title")
_ALERT_IGNORED = {
    "for": "a 'for' duration; slogen's tiers fire as soon as both windows exceed the "
    "threshold (the short window already keeps a blip from paging)",
}
_NO_ANNOTATIONS = "slogen writes its own alert annotations (summary, description, runbook)"
_RESERVED_HINTS = {
    "severity": "Alertmanager routes that matched this value must match slogen's "
    'severity="page" or severity="ticket" instead (slogen build also writes an Alertmanager '
    "fragment routing them)",
    "tier": "rename the label (e.g. service_tier) in the imported spec if routes need it; "
    "slogen's 'tier' is the alerting tier (page-1h, ...)",
}


@dataclass
class Converted:
    """A slogen spec document and where each of its fields came from in the Sloth file."""

    service: str
    document: dict[str, Any]
    where: Location
    origins: dict[str, tuple[Location, str]] = field(default_factory=dict)
    policies: list[PolicyChoice] = field(default_factory=list)


def _label_value(value: object) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    return None


def read_labels(
    problems: Problems, f: Field | None, reserved: tuple[str, ...], why: str
) -> dict[str, str]:
    """A Sloth label map, without labels slogen sets itself or cannot write (warned)."""
    if f is None:
        return {}
    if not isinstance(f.value, dict):
        problems.error(f.loc, f.path, f"expected a mapping of labels, found {describe(f.value)}")
        return {}
    labels: dict[str, str] = {}
    for key, raw in f.value.items():
        path, where = f.child_path(key), key_loc(f, key)
        value = _label_value(raw)
        if not LABEL_NAME_RE.match(key) or key.startswith("__"):
            warn(problems, where, path, f"label '{key}' is not a valid label name; not imported")
        elif key in reserved:
            warn(
                problems,
                where,
                path,
                f"label '{key}: {raw}' not imported: slogen sets '{key}' itself{why}",
                _RESERVED_HINTS.get(key, "rename the label, or match on slogen's value instead"),
            )
        elif not value:
            warn(
                problems,
                where,
                path,
                f"label '{key}' has no text value ({describe(raw)}); not imported",
            )
        else:
            labels[key] = value
    return labels


def category_of(labels: dict[str, str]) -> str | None:
    """slogen's ``category`` for a ``category`` label Sloth's examples put on alerts."""
    value = labels.get("category", "").lower()
    return value if value in CATEGORIES else None


class AlertingReader:
    """Reads one SLO's alerting (and its SLO-level labels, which Sloth puts on its alerts)."""

    def __init__(self, problems: Problems, dialect: Dialect):
        self.problems = problems
        self.dialect = dialect

    def read(
        self, slo_f: Field, f: Field | None, slo: dict[str, Any], out: Converted, path: str
    ) -> dict[str, Any] | None:
        """slogen's ``alerting`` block for the SLO (None after an error); may also set the
        SLO's ``description`` and ``category`` in ``slo``."""
        slo_labels = self._slo_labels(child(slo_f, "labels"))
        if f is None:  # Sloth still generates both alerts
            return self._result(SEVERITIES, {s: slo_labels for s in SEVERITIES}, out, path)
        page_key, ticket_key = self.dialect.page_alert, self.dialect.ticket_alert
        if not check_keys(
            self.problems, f, ("name", "labels", "annotations", page_key, ticket_key)
        ):
            return None
        out.origins[f"{path}.alerting"] = (f.loc, f.path)
        name_f = child(f, "name")
        if name_f is not None:
            warn(
                self.problems,
                name_f,
                name_f.path,
                f"alert name {name_f.value!r} not imported: slogen names its alerts after the "
                "service and SLO",
                f"Alertmanager routes, silences and inhibitions matching alertname="
                f'"{name_f.value}" should match the service and slo labels instead',
            )
        common = read_labels(self.problems, child(f, "labels"), ROUTING_RESERVED, "")
        category = category_of(common)
        if category and "category" not in slo:
            slo["category"] = category
        annotations = [("alerting", child(f, "annotations"))]
        severities: list[str] = []
        routes: dict[str, dict[str, str]] = {}
        disabled: list[tuple[str, Field]] = []
        for severity, key in (("page", page_key), ("ticket", ticket_key)):
            alert_f = child(f, key)
            own: dict[str, str] = {}
            if alert_f is not None:
                if not check_keys(
                    self.problems, alert_f, ("disable", "labels", "annotations"), _ALERT_IGNORED
                ):
                    return None
                disable_f = child(alert_f, "disable")
                if disable_f is not None and disable_f.value is True:
                    disabled.append((key, disable_f))
                    continue
                if disable_f is not None and disable_f.value not in (False, None):
                    self.problems.error(
                        disable_f.loc,
                        disable_f.path,
                        f"expected true or false, found {describe(disable_f.value)}",
                    )
                    return None
                why = f" (slogen's {severity} alerts have severity {severity})"
                own = read_labels(self.problems, child(alert_f, "labels"), ROUTING_RESERVED, why)
                annotations.append((severity, child(alert_f, "annotations")))
                out.origins[f"{path}.alerting.{severity}"] = (alert_f.loc, alert_f.path)
            severities.append(severity)
            routes[severity] = {**slo_labels, **common, **own}
        if not severities:
            self.problems.error(
                f.loc,
                f.path,
                "both alerts are disabled, so Sloth generates no alerts for this SLO; slogen "
                "always alerts on an SLO's error budget",
                "enable the ticket alert (disable: false) to import it with ticket alerts only, "
                "or leave this SLO out of the import",
            )
            return None
        result = self._result(tuple(severities), routes, out, path)
        for key, disable_f in disabled:
            warn(
                self.problems,
                disable_f,
                disable_f.path,
                f"{key} is disabled: the SLO uses policy '{result['policy']}', Sloth's windows "
                f"without {'page' if key == page_key else 'ticket'} tiers",
            )
        runbook = self._annotations(annotations, slo, severities, out, path)
        if runbook is not None:
            result = {"policy": result.pop("policy"), "runbook": runbook, **result}
        return result

    def _slo_labels(self, f: Field | None) -> dict[str, str]:
        labels = read_labels(self.problems, f, ROUTING_RESERVED, "")
        if f is not None and labels:
            warn(
                self.problems,
                f,
                f.path,
                "SLO labels go on this SLO's alerts only: slogen has no per-SLO labels on "
                "recording rules",
                "move them to the service's labels if every SLO of the service shares them",
            )
        return labels

    def _result(
        self,
        severities: tuple[str, ...],
        routes: dict[str, dict[str, str]],
        out: Converted,
        path: str,
    ) -> dict[str, Any]:
        choice = policy_for(severities)
        if choice not in out.policies:
            out.policies.append(choice)
        result: dict[str, Any] = {"policy": choice.name}
        out.origins.setdefault(f"{path}.alerting", out.origins[path])
        for severity in severities:
            if routes.get(severity):
                result[severity] = {"prometheus": dict(sorted(routes[severity].items()))}
        return result

    def _annotations(
        self,
        blocks: list[tuple[str, Field | None]],
        slo: dict[str, Any],
        severities: list[str],
        out: Converted,
        path: str,
    ) -> str | None:
        """The SLO's runbook URL from the annotations; warns about the rest."""
        runbook: str | None = None
        for level, f in blocks:
            if f is None:
                continue
            if not isinstance(f.value, dict):
                self.problems.error(
                    f.loc, f.path, f"expected a mapping of annotations, found {describe(f.value)}"
                )
                continue
            for key in f.value:
                vf = child(f, key)
                assert vf is not None
                text = _label_value(vf.value) or ""
                if _RUNBOOK_KEY.search(key) and RUNBOOK_RE.match(text.strip()):
                    if runbook is None:
                        runbook = text.strip()
                        out.origins[f"{path}.alerting.runbook"] = (vf.loc, vf.path)
                        if level != "alerting" and len(severities) > 1:
                            warn(
                                self.problems,
                                vf,
                                vf.path,
                                f"the {level} alert's runbook becomes the SLO's runbook, on "
                                "all its alerts: slogen has one runbook per SLO",
                            )
                    elif text.strip() != runbook:
                        warn(
                            self.problems,
                            vf,
                            vf.path,
                            f"second runbook {text.strip()!r} not imported: slogen has one "
                            f"runbook per SLO ({runbook})",
                        )
                    continue
                if (
                    key.lower() in _TEXT_KEYS
                    and text.strip()
                    and "{{" not in text
                    and "description" not in slo
                ):
                    slo["description"] = " ".join(text.split())
                    out.origins[f"{path}.description"] = (vf.loc, vf.path)
                    warn(
                        self.problems,
                        vf,
                        vf.path,
                        f"annotation '{key}' becomes the SLO's description: {_NO_ANNOTATIONS}",
                    )
                    continue
                templated = "; its Go template would show as text" if "{{" in text else ""
                warn(
                    self.problems,
                    key_loc(f, key),
                    vf.path,
                    f"annotation '{key}' not imported: {_NO_ANNOTATIONS}{templated}",
                    "say it in the SLO's description, or add it to your own alert template "
                    "(slogen --templates)",
                )
        return runbook
