"""One Sloth service spec as one slogen spec document, reporting every lossy step.

Field by field, following Sloth's own mapping (slok/sloth ``internal/prometheus/spec.go``,
``mapSpecToModel``): the service's ``labels`` go on every rule (slogen's spec ``labels``, or
``owner`` for an ``owner``/``team`` label); an SLO's alerts carry ``alerting.labels`` merged with
``page_alert.labels`` or ``ticket_alert.labels`` (slogen's per-severity Prometheus routing
labels); ``disable`` drops that alert (a slogen policy without that severity); annotations
merge the same way (slogen keeps a runbook URL and a description, nothing else).

The result keeps, for each field path of the written spec, where in the Sloth file it came
from, so problems ``slogen validate`` finds in the written spec point at the Sloth source.
"""

from __future__ import annotations

import re
from typing import Any

from slogen.errors import Problems, describe
from slogen.interop.sloth_alerting import AlertingReader, Converted, read_labels
from slogen.interop.sloth_read import (
    SlothDocument,
    check_keys,
    child,
    items,
    key_loc,
    warn,
)
from slogen.interop.sloth_sli import QueryError, split_ratio, window_query
from slogen.spec.checks import Field
from slogen.spec.specreader import OWNER_RE, RESERVED_LABELS

_SLO_IGNORED = {
    "infoLabels": "labels of Sloth's sloth_slo_info series; slogen records no info series",
    "interval": "rule group evaluation intervals; slogen's rule groups use Prometheus's "
    "global evaluation interval",
    "plugins": "Sloth SLO plugins change the rules Sloth generates; slogen has no plugins",
}


def _name(problems: Problems, f: Field, what: str) -> str | None:
    """A slogen name ([a-z0-9-]+) for a Sloth name; a changed name is a warning."""
    if not isinstance(f.value, str) or not f.value.strip():
        problems.error(f.loc, f.path, f"expected {what} (a string), found {describe(f.value)}")
        return None
    name = re.sub(r"[^a-z0-9-]+", "-", f.value.strip().lower()).strip("-")
    if not name:
        problems.error(f.loc, f.path, f"cannot make a slogen name of {f.value!r}")
        return None
    if name != f.value:
        warn(
            problems,
            f,
            f.path,
            f"{what} {f.value!r} becomes {name!r}: slogen names are lower-case letters, "
            "digits and dashes",
            "queries and Alertmanager routes that match the old name need the new one",
        )
    return name


class Converter:
    """Converts Sloth documents; problems go to one list for the whole import."""

    def __init__(self, problems: Problems, period: str):
        self.problems = problems
        self.period = period

    def service(self, doc: SlothDocument) -> Converted | None:
        root, dialect = doc.root, doc.dialect
        known = ("service", "labels", "slos") + (("version",) if doc.envelope is None else ())
        ignored = {dialect.slo_plugins: "Sloth SLO plugins; slogen has no plugins"}
        if not check_keys(self.problems, root, known, ignored):
            return None
        if doc.envelope is not None:
            self._envelope(doc.envelope)
        service_f = child(root, "service")
        if service_f is None:
            self.problems.error(root.loc, root.path, "missing required key 'service'")
            return None
        name = _name(self.problems, service_f, "service name")
        slos_f = child(root, "slos")
        if slos_f is None or not isinstance(slos_f.value, list) or not slos_f.value:
            where = slos_f or Field(None, root.loc, root.child_path("slos"))
            self.problems.error(where.loc, where.path, "expected a non-empty list of SLOs")
            return None
        out = Converted(name or "", {"service": name}, root.loc)
        out.origins[""] = (root.loc, root.path)
        out.origins["service"] = (service_f.loc, service_f.path)
        self._service_labels(child(root, "labels"), out)
        slos = []
        for index, slo_f in enumerate(items(slos_f)):
            slo = self.slo(slo_f, doc, out, f"slos[{index}]")
            if slo is not None:
                slos.append(slo)
        out.document["slos"] = slos
        return out if name is not None and len(slos) == len(slos_f.value) else None

    def _envelope(self, envelope: Field) -> None:
        metadata = child(envelope, "metadata")
        if metadata is not None and isinstance(metadata.value, dict):
            shown = ", ".join(
                f"{k} {metadata.value[k]}" for k in ("namespace", "name") if k in metadata.value
            )
            warn(
                self.problems,
                metadata,
                metadata.path,
                f"the resource's metadata ({shown or 'none'}) is not imported: slogen writes its "
                "rules where slogen.yaml's prometheus target says",
                "for a Kubernetes PrometheusRule, use a prometheus target with "
                "format: prometheusrule",
            )

    def _service_labels(self, f: Field | None, out: Converted) -> None:
        if f is None:
            return
        reserved = tuple(r for r in RESERVED_LABELS if r != "team")
        labels = read_labels(self.problems, f, reserved, " on every rule")
        for key in ("owner", "team"):
            value = labels.get(key)
            if value is None:
                continue
            if "owner" not in out.document and OWNER_RE.match(value):
                out.document["owner"] = labels.pop(key)
                out.origins["owner"] = (key_loc(f, key), f.child_path(key))
            elif key == "team":  # slogen's own label; an `owner` label stays a label
                labels.pop(key)
                invalid = "" if OWNER_RE.match(value) else ", and this is no valid owner name"
                warn(
                    self.problems,
                    key_loc(f, key),
                    f.child_path(key),
                    f"label 'team: {value}' not imported: slogen sets 'team' from the spec's "
                    f"owner{invalid}",
                    "set owner: to a team name of letters, digits, '.', '_' or '-' and match "
                    "it in Alertmanager routes",
                )
        if labels:
            out.document["labels"] = labels
            out.origins["labels"] = (f.loc, f.path)

    def slo(self, f: Field, doc: SlothDocument, out: Converted, path: str) -> dict | None:
        known = ("name", "description", "objective", "labels", "sli", "alerting")
        if not check_keys(self.problems, f, known, _SLO_IGNORED):
            return None
        out.origins[path] = (f.loc, f.path)
        name_f, objective_f, sli_f = child(f, "name"), child(f, "objective"), child(f, "sli")
        given = {"name": name_f, "objective": objective_f, "sli": sli_f}
        missing = [key for key, value in given.items() if value is None]
        for key in missing:
            self.problems.error(f.loc, f.path, f"missing required key '{key}'")
        if name_f is None or objective_f is None or sli_f is None:
            return None
        name = _name(self.problems, name_f, "SLO name")
        objective = self._objective(objective_f)
        slo: dict[str, Any] = {"name": name}
        out.origins[f"{path}.name"] = (name_f.loc, name_f.path)
        description_f = child(f, "description")
        if description_f is not None:
            if isinstance(description_f.value, str) and description_f.value.strip():
                slo["description"] = description_f.value.strip()
            elif description_f.value not in (None, ""):
                self.problems.error(
                    description_f.loc,
                    description_f.path,
                    f"expected a string, found {describe(description_f.value)}",
                )
        slo["objective"] = objective
        slo["window"] = self.period
        out.origins[f"{path}.objective"] = (objective_f.loc, objective_f.path)
        out.origins[f"{path}.window"] = (f.loc, f.path)
        indicator = self._sli(sli_f, doc, out, f"{path}.indicator.prometheus")
        slo["indicator"] = {"prometheus": indicator}
        out.origins[f"{path}.indicator"] = (sli_f.loc, sli_f.path)
        alerting = AlertingReader(self.problems, doc.dialect).read(
            f, child(f, "alerting"), slo, out, path
        )
        if None in (name, objective, indicator, alerting):
            return None
        slo["alerting"] = alerting
        return _ordered(slo)

    def _objective(self, f: Field) -> int | float | None:
        value = f.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.error(
                f.loc, f.path, f"expected a percentage such as 99.9, found {describe(value)}"
            )
            return None
        if not 0 < value < 100:
            self.problems.error(
                f.loc,
                f.path,
                f"objective {value} leaves no error budget to alert on"
                if value >= 100
                else f"expected a percentage between 0 and 100, found {value}",
                "slogen's objectives are strictly between 0 and 100 (e.g. 99.9)",
            )
            return None
        return value

    def _sli(self, f: Field, doc: SlothDocument, out: Converted, path: str) -> dict | None:
        dialect = doc.dialect
        if not check_keys(self.problems, f, ("events", "raw", "plugin")):
            return None
        given = [k for k in ("events", "raw", "plugin") if k in f.value]
        if len(given) != 1:
            self.problems.error(
                f.loc,
                f.path,
                f"expected exactly one SLI type (events, raw or plugin), found "
                f"{', '.join(given) or 'none'}",
            )
            return None
        kind = child(f, given[0])
        assert kind is not None
        if given[0] == "plugin":
            plugin_id = kind.value.get("id") if isinstance(kind.value, dict) else None
            self.problems.error(
                kind.loc,
                kind.path,
                f"SLI plugin {plugin_id or ''} is not supported: a Sloth SLI plugin is Go code "
                "that builds the query when Sloth runs, and the import cannot run it".replace(
                    "  ", " "
                ),
                "write the query the plugin generates (see its source or Sloth's generated "
                "rules) as an events SLI with error_query and total_query, and import again",
            )
            return None
        if given[0] == "events":
            if not check_keys(self.problems, kind, (dialect.error_query, dialect.total_query)):
                return None
            errors = self._query(kind, dialect.error_query, out, f"{path}.errors")
            total = self._query(kind, dialect.total_query, out, f"{path}.total")
            return None if errors is None or total is None else {"errors": errors, "total": total}
        if not check_keys(self.problems, kind, (dialect.error_ratio_query,)):
            return None
        ratio_f = child(kind, dialect.error_ratio_query)
        ratio = self._query(kind, dialect.error_ratio_query, out, path)
        if ratio is None or ratio_f is None:
            return None
        try:
            split = split_ratio(ratio)
        except QueryError as exc:
            self.problems.error(ratio_f.loc, ratio_f.path, str(exc), exc.hint)
            return None
        warn(
            self.problems,
            ratio_f,
            ratio_f.path,
            f"raw error ratio split into {split.side} and total queries: slogen divides their "
            "sums over each window, where Sloth evaluated the ratio as written",
            "check that both parts count events (requests, not ratios or averages)",
        )
        return {split.side: split.numerator, "total": split.total}

    def _query(self, parent: Field, key: str, out: Converted, path: str) -> str | None:
        f = child(parent, key)
        if f is None:
            self.problems.error(parent.loc, parent.path, f"missing required key '{key}'")
            return None
        if not isinstance(f.value, str) or not f.value.strip():
            self.problems.error(
                f.loc, f.path, f"expected a PromQL query, found {describe(f.value)}"
            )
            return None
        out.origins[path] = (f.loc, f.path)
        try:
            return window_query(f.value)
        except QueryError as exc:
            self.problems.error(f.loc, f.path, str(exc), exc.hint)
            return None


_ORDER = ("name", "description", "category", "objective", "window", "indicator", "alerting")


def _ordered(slo: dict[str, Any]) -> dict[str, Any]:
    """The SLO's keys in the order the spec reference lists them."""
    return {k: slo[k] for k in _ORDER if k in slo}
