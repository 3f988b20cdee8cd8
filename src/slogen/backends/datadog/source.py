"""What a Datadog SLI and its notification handles look like in a spec, and how they are read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slogen.spec.checks import Checker, Field

HANDLE_RE = re.compile(r"^@[\w.+\-@/]+$")


@dataclass(frozen=True)
class DatadogSource:
    """Metric queries (whitespace folded, as Datadog stores them); a side given as a list is
    already one summed query here, so every stage after the loader sees one string per side."""

    total: str
    errors: str | None = None
    good: str | None = None


def summed(queries: tuple[str, ...]) -> str:
    """One query adding up ``queries``: ``(a) + (b)``; a single query is kept as written.

    Datadog adds metric queries with ``+`` both in a metric SLO's numerator/denominator (its
    docs' example: good events ``sum:httpservice.hits{code:2xx} + sum:httpservice.hits{code:4xx}``,
    docs: service_level_objectives/metric, "Define queries") and in monitor queries, where with
    ``.as_count()`` each query is summed over the window before the arithmetic (docs:
    monitors/guide/as-count-in-monitor-evaluations), so ``sum(last_1h):(a) + (b)`` is
    sum(a) + sum(b). The parentheses keep a query that is itself arithmetic whole. Unlike
    CloudWatch's FILL, nothing makes a query without a single point in the window count as 0
    (``default_zero()`` has no effect then, docs: dashboards/functions/interpolation), so the
    README asks for queries that report continuously.
    """
    folded = [" ".join(query.split()) for query in queries]
    if len(folded) == 1:
        return folded[0]
    return " + ".join(f"({query})" for query in folded)


def read_source(check: Checker, f: Field) -> DatadogSource | None:
    read = check.sli_query_lists(f, "a Datadog metric query")
    if read is None or not read[2]:
        return None
    queries = {key: summed(parts) for key, parts in read[0].items()}
    return DatadogSource(queries["total"], queries.get("errors"), queries.get("good"))


def read_notify(check: Checker, f: Field) -> tuple[str, ...] | None:
    """Notification handles (``@pagerduty-…``, ``@slack-…``) for one severity."""
    return check.string_list(
        f,
        "a list of Datadog handles",
        lambda s: bool(HANDLE_RE.match(s)),
        "a Datadog notification handle starting with @, such as @pagerduty-checkout",
    )
