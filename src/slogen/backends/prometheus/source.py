"""What a Prometheus SLI and its routing look like in a spec, and how they are read.

The queries are kept as written (whitespace trimmed); their PromQL is checked by
:mod:`slogen.backends.prometheus.checks`, once the window placeholder is known to be there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slogen.errors import Location
from slogen.spec.checks import Checker, Field

WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*window\s*\}\}")
# Routing labels may set `team` (to route to another team than the owner); the rest are how
# slogen identifies its alerts.
RESERVED_ROUTING_LABELS = ("service", "slo", "severity", "tier")


@dataclass(frozen=True)
class PrometheusSource:
    """PromQL whose ``{{ window }}`` placeholder takes each range slogen needs."""

    total: str
    errors: str | None = None
    good: str | None = None
    # where each query was written (``total``/``errors``/``good``), for precise problems
    locations: tuple[tuple[str, Location], ...] = field(default=(), compare=False)

    def location_of(self, name: str, default: Location) -> Location:
        return dict(self.locations).get(name, default)


def read_source(check: Checker, f: Field) -> PrometheusSource | None:
    read = check.sli_queries(f, "a PromQL expression")
    if read is None:
        return None
    queries, fields, ok = read
    missing = [key for key, query in queries.items() if not WINDOW_PLACEHOLDER.search(query)]
    for key in missing:
        check.problems.error(
            fields[key].loc,
            fields[key].path,
            "expected a PromQL expression with a {{ window }} range placeholder, "
            f"found {queries[key]!r}",
            "write the range as [{{ window }}], e.g. sum(rate(http_requests_total[{{ window }}]))",
        )
    if missing or not ok:
        return None
    locations = tuple((key, value.loc) for key, value in fields.items())
    return PrometheusSource(queries["total"], queries.get("errors"), queries.get("good"), locations)


def read_notify(check: Checker, f: Field) -> tuple[tuple[str, str], ...] | None:
    """Extra labels on the alerts of one severity, for Alertmanager routing."""
    labels = check.label_map(f, RESERVED_ROUTING_LABELS)
    return labels if labels or isinstance(f.value, dict) else None
