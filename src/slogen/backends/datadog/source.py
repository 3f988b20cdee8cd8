"""What a Datadog SLI and its notification handles look like in a spec, and how they are read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slogen.spec.checks import Checker, Field

HANDLE_RE = re.compile(r"^@[\w.+\-@/]+$")


@dataclass(frozen=True)
class DatadogSource:
    """Metric queries (whitespace folded, as Datadog stores them)."""

    total: str
    errors: str | None = None
    good: str | None = None


def read_source(check: Checker, f: Field) -> DatadogSource | None:
    read = check.sli_queries(f, "a Datadog metric query")
    if read is None or not read[2]:
        return None
    queries = {key: " ".join(query.split()) for key, query in read[0].items()}
    return DatadogSource(queries["total"], queries.get("errors"), queries.get("good"))


def read_notify(check: Checker, f: Field) -> tuple[str, ...] | None:
    """Notification handles (``@pagerduty-…``, ``@slack-…``) for one severity."""
    return check.string_list(
        f,
        "a list of Datadog handles",
        lambda s: bool(HANDLE_RE.match(s)),
        "a Datadog notification handle starting with @, such as @pagerduty-checkout",
    )
