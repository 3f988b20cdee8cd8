"""The JSON Schema of the Prometheus parts of specs and of its target, for ``slogen schema``.

Built from the constants :mod:`.source` reads with, so that an editor's checks and
``slogen validate`` agree; what a query means (PromQL syntax, aggregation) is left to validate.
"""

from __future__ import annotations

from slogen.backends.contract import SchemaFragments
from slogen.backends.prometheus.source import RESERVED_ROUTING_LABELS, WINDOW_PLACEHOLDER
from slogen.spec.schema_parts import label_map, sli_source

# One PromQL expression (a list is refused: one expression adds series up) holding the range
# placeholder slogen fills in with each window.
QUERY = {"type": "string", "pattern": WINDOW_PLACEHOLDER.pattern}

SCHEMA = SchemaFragments(
    source=sli_source(
        QUERY,
        "PromQL, one expression per side; [{{ window }}] is replaced by each range slogen "
        "needs, e.g. sum(rate(http_requests_total[{{ window }}])).",
    ),
    notify=label_map(
        RESERVED_ROUTING_LABELS,
        "Extra labels on this severity's alerts, for Alertmanager routing ("
        + ", ".join(RESERVED_ROUTING_LABELS)
        + " are slogen's own).",
    ),
    types={
        "files": "Rule files in a directory that Prometheus reads, one per service.",
        "ruler": "The ruler API of Grafana Mimir or Cortex.",
        "vmalert": "Rule files for vmalert over VictoriaMetrics, reloaded through its API.",
        "amp": "Amazon Managed Service for Prometheus: one rule groups namespace per service.",
    },
    options={
        "dir": {"description": "Directory of the rule files (files: default out/prometheus)."},
        "reload_url": {
            "description": "Prometheus to reload after writing, e.g. http://127.0.0.1:9090."
        },
        "format": {
            "description": "rules (a Prometheus rule file) or prometheusrule (a Kubernetes "
            "resource)."
        },
        "query_url": {
            "description": "Prometheus query API that slogen backtest and status read history from."
        },
        "url": {"description": "Base URL of the ruler (Mimir) or of vmalert."},
        "namespace": {"description": "The ruler namespace slogen owns (default slogen)."},
        "tenant": {"description": "Tenant sent as X-Scope-OrgID."},
        "username": {"description": "Basic-auth user: a ${VARIABLE} reference."},
        "password": {"description": "Basic-auth password: a ${VARIABLE} reference."},
        "token": {"description": "Bearer token: a ${VARIABLE} reference."},
        "workspace_id": {
            "description": "The AMP workspace id, e.g. ws-0123abcd-4567-89ef-0123-456789abcdef."
        },
        "region": {"description": "The AWS region of the AMP workspace, e.g. eu-west-1."},
        "endpoint_url": {"description": "Another AWS endpoint (LocalStack, moto)."},
    },
)
