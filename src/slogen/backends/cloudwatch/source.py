"""What a CloudWatch SLI and its alarm actions look like in a spec, and how they are read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slogen.backends.cloudwatch.limits import MAX_METRIC_STATS
from slogen.spec.checks import SLI_KEYS, Checker, Field

REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$")
STATISTIC_RE = re.compile(r"^(Sum|SampleCount|Average|Minimum|Maximum|p\d{1,2}(\.\d+)?)$")
MAX_DIMENSIONS = 30  # AWS: "You can assign up to 30 dimensions to a metric"
METRIC_KEYS = ("namespace", "metric", "dimensions", "stat")
METRIC_REQUIRED = ("namespace", "metric")
SOURCE_EXTRA = ("region",)  # required next to the SLI's sides
ACTION_PREFIX = "arn:"  # every alarm action is an ARN (SNS topics, Systems Manager, ...)


@dataclass(frozen=True)
class CloudWatchMetric:
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...] = ()
    stat: str = "Sum"


# Each side of the ratio: one metric, or several whose sum counts the events (e.g. the 5XX a
# load balancer's targets answer plus those it answers itself when no target can).
Side = tuple[CloudWatchMetric, ...]


@dataclass(frozen=True)
class CloudWatchSource:
    region: str
    total: Side
    errors: Side | None = None
    good: Side | None = None

    def metric_count(self) -> int:
        """Metrics one window alarm reads (AWS caps a metric math alarm at 10)."""
        return len(self.total) + len(self.errors or ()) + len(self.good or ())


def read_metric(check: Checker, f: Field) -> CloudWatchMetric | None:
    fields = check.mapping(
        f,
        METRIC_KEYS,
        METRIC_REQUIRED,
        what="a mapping with namespace, metric and optional dimensions and stat",
    )
    if fields is None:
        return None
    namespace = check.string(fields["namespace"]) if "namespace" in fields else None
    metric = check.string(fields["metric"]) if "metric" in fields else None
    dimensions: tuple[tuple[str, str], ...] = ()
    ok = namespace is not None and metric is not None
    if "dimensions" in fields:
        df = fields["dimensions"]
        if isinstance(df.value, dict):
            pairs = []
            for key, value in df.value.items():
                if isinstance(value, str) and value:
                    pairs.append((str(key), value))
                else:
                    ok = False
                    check.fail(
                        Field(value, df.value.value_locs[key], df.child_path(key)),
                        "a non-empty string dimension value",
                    )
            dimensions = tuple(sorted(pairs))
            if len(pairs) > MAX_DIMENSIONS:
                ok = False
                check.problems.error(
                    df.loc,
                    df.path,
                    f"CloudWatch allows at most {MAX_DIMENSIONS} dimensions, found {len(pairs)}",
                )
        else:
            ok = False
            check.fail(df, "a mapping of dimension names to values")
    stat: str | None = "Sum"
    if "stat" in fields:
        stat = check.pattern(
            fields["stat"],
            STATISTIC_RE,
            "a statistic: Sum, SampleCount, Average, Minimum, Maximum or pNN",
        )
    if not ok or stat is None:
        return None
    return CloudWatchMetric(namespace, metric, dimensions, stat)  # type: ignore[arg-type]


def read_source(check: Checker, f: Field) -> CloudWatchSource | None:
    read = check.sli_fields(f, *SOURCE_EXTRA)
    if read is None:
        return None
    fields, ok = read
    region = None
    if "region" in fields:
        region = check.pattern(fields["region"], REGION_RE, "an AWS region such as eu-west-1")
    sides: dict[str, Side | None] = {}
    for key in SLI_KEYS:
        if key in fields:
            side = check.one_or_more(
                fields[key],
                lambda m: read_metric(check, m),
                "a metric mapping or a list of them (summed)",
            )
            if side is None:
                ok = False
            sides[key] = side
    total = sides.get("total")
    if not ok or region is None or total is None:
        return None
    source = CloudWatchSource(region, total, sides.get("errors"), sides.get("good"))
    if source.metric_count() > MAX_METRIC_STATS:
        check.problems.error(
            f.loc,
            f.path,
            f"the alarms would read {source.metric_count()} metrics "
            f"({', '.join(f'{k}: {len(v)}' for k, v in sides.items() if v)}); "
            f"AWS allows at most {MAX_METRIC_STATS} metrics in a metric math alarm",
            "sum fewer metrics: use a dimension that covers several (e.g. LoadBalancer rather "
            "than one metric per AvailabilityZone), or publish one metric that already adds "
            "them up",
        )
        return None
    return source


def read_notify(check: Checker, f: Field) -> tuple[str, ...] | None:
    """Alarm action ARNs (SNS topics...) for one severity."""
    return check.string_list(
        f,
        "a list of action ARNs",
        lambda s: s.startswith(ACTION_PREFIX),
        "an action ARN such as arn:aws:sns:eu-west-1:123456789012:checkout-page",
    )
