"""What CloudWatch alarms are called and how slogen recognises its own.

Every module of the backend names alarms, kinds and ownership tags the same way, so they live
here, below everything else: render makes names, the readers turn names back into keys, the
checks and the API target read the ``regions`` setting. Nothing here imports another module of
the backend.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from slogen.backends import scope
from slogen.durations import format_duration
from slogen.spec.model import SLO
from slogen.spec.model import Target as TargetSettings

if TYPE_CHECKING:
    from slogen.backends.cloudwatch.source import CloudWatchSource

BACKEND = "cloudwatch"
METRIC_ALARM = "metric-alarm"
COMPOSITE_ALARM = "composite-alarm"
NAME_PREFIX = "slogen/"

# Ownership tags: an alarm is slogen's only with both, and the key must match its name.
OWNER_TAG = "managed-by"
KEY_TAG = "slogen-key"
# Which slogen project the alarm belongs to (see slogen.backends.scope).
PROJECT_TAG = scope.PROJECT_TAG
CATEGORY_TAG = "slogen-category"  # the SLO's category, when the spec gives one

_ARN_REGION_RE = re.compile(r"^arn:[^:]+:[^:]+:([a-z0-9-]*):")
_RULE_REF_RE = re.compile(r'\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)')


def alarm_name(key: str) -> str:
    return NAME_PREFIX + key


def key_of(name: str) -> str | None:
    """The slogen key an alarm name stands for, or None for names outside ``slogen/``."""
    if not name.startswith(NAME_PREFIX) or len(name) == len(NAME_PREFIX):
        return None
    return name[len(NAME_PREFIX) :]


def window_text(seconds: int) -> str:
    return format_duration(seconds)


def action_region(arn: str) -> str | None:
    """The region an action ARN lives in (None for ARNs without one)."""
    match = _ARN_REGION_RE.match(arn)
    return match.group(1) if match and match.group(1) else None


def rule_references(rule: str) -> list[str]:
    """Alarm names an ``AlarmRule`` refers to (ARNs reduced to names), in order, unique."""
    found: list[str] = []
    for ref in _RULE_REF_RE.findall(rule or ""):
        name = ref.split(":alarm:", 1)[1] if ref.startswith("arn:") and ":alarm:" in ref else ref
        if name not in found:
            found.append(name)
    return found


def configured_regions(settings: TargetSettings) -> tuple[str, ...]:
    """``targets.cloudwatch.regions``: the full list of regions slogen manages, if given."""
    value = settings.option("regions")
    if not value:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(sorted({str(v) for v in value}))  # type: ignore[union-attr]


def source_of(slo: SLO) -> CloudWatchSource | None:
    """The SLO's ``indicator.cloudwatch`` (None when the SLO does not use CloudWatch)."""
    return cast("CloudWatchSource | None", slo.indicator.source(BACKEND))


def actions_of(slo: SLO, severity: str) -> tuple[str, ...]:
    """The alarm actions (``alerting.<severity>.cloudwatch``) of one severity."""
    return tuple(slo.alerting.for_severity(severity).route(BACKEND))
