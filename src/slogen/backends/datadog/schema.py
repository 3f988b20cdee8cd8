"""The JSON Schema of the Datadog parts of specs and of its target, for ``slogen schema``.

Built from the constants :mod:`.source` reads with, so that an editor's checks and
``slogen validate`` agree; Datadog's own limits are left to validate.
"""

from __future__ import annotations

from slogen.backends.contract import SchemaFragments
from slogen.backends.datadog.source import HANDLE_RE
from slogen.spec.schema_parts import TEXT, matching, one_or_list, sli_source

SCHEMA = SchemaFragments(
    source=sli_source(
        one_or_list(TEXT, "A metric query, or a list of them that is summed."),
        "Datadog metric queries, e.g. sum:checkout.requests{env:prod}.as_count().",
    ),
    notify=one_or_list(
        matching(HANDLE_RE, "A notification handle, e.g. @pagerduty-checkout."),
        "Datadog handles this severity's monitors notify.",
        nonempty=False,
    ),
    types={
        "files": "JSON files of the SLOs, monitors and dashboards, one per service.",
        "api": "Datadog's API (DD_API_KEY and DD_APP_KEY from the environment).",
    },
    options={
        "dir": {"description": "Directory of the files (default out/datadog)."},
        "host": {"description": "API host, e.g. https://api.datadoghq.eu (default from DD_SITE)."},
    },
)
