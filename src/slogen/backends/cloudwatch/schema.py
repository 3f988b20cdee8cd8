"""The JSON Schema of the CloudWatch parts of specs and of its target, for ``slogen schema``.

Built from the constants :mod:`.source` reads with, so that an editor's checks and
``slogen validate`` agree; limits that span an SLO (metrics per alarm) are left to validate.
"""

from __future__ import annotations

import re

from slogen.backends.cloudwatch.source import (
    ACTION_PREFIX,
    MAX_DIMENSIONS,
    METRIC_REQUIRED,
    REGION_RE,
    SOURCE_EXTRA,
    STATISTIC_RE,
)
from slogen.backends.contract import SchemaFragments
from slogen.spec.schema_parts import described, mapping, matching, one_or_list, sli_source, text

METRIC = mapping(
    "A CloudWatch metric.",
    {
        "namespace": text("The metric's namespace, e.g. AWS/ApplicationELB."),
        "metric": text("The metric name, e.g. RequestCount."),
        "dimensions": described(
            "Dimension names and values, e.g. {LoadBalancer: app/checkout/50dc6c495c0c9188}.",
            {
                "type": "object",
                "additionalProperties": {"type": "string", "minLength": 1},
                "maxProperties": MAX_DIMENSIONS,
            },
        ),
        "stat": matching(
            STATISTIC_RE, "Statistic: Sum (default), SampleCount, Average, Minimum, Maximum or pNN."
        ),
    },
    METRIC_REQUIRED,
)

SCHEMA = SchemaFragments(
    source=sli_source(
        one_or_list(METRIC, "A metric, or a list of them that is summed (missing points as 0)."),
        "CloudWatch metrics in one region.",
        dict(
            zip(SOURCE_EXTRA, [matching(REGION_RE, "The AWS region, e.g. eu-west-1.")], strict=True)
        ),
        SOURCE_EXTRA,
    ),
    notify=one_or_list(
        described(
            "An alarm action ARN, e.g. arn:aws:sns:eu-west-1:123456789012:checkout-page.",
            {"type": "string", "pattern": "^" + re.escape(ACTION_PREFIX)},
        ),
        "Actions (SNS topics...) this severity's alarms trigger.",
        nonempty=False,
    ),
    types={
        "files": "The exact AWS requests as JSON, one file per service.",
        "api": "CloudWatch itself, through the standard AWS credential chain.",
    },
    options={
        "dir": {"description": "Directory of the files (default out/cloudwatch)."},
        "endpoint_url": {"description": "Another AWS endpoint (LocalStack, moto)."},
        "regions": {
            "description": "Every region slogen manages, so alarms in a region no spec names "
            "any more are still deleted."
        },
    },
)
