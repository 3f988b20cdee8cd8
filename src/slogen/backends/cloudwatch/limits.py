"""AWS's rules for CloudWatch alarms and its API, as constants with their sources.

Sources: the CloudWatch API reference as shipped in botocore's
``cloudwatch/2010-08-01/service-2.json``, unless noted.

* ``Period``: "Valid values are 10, 20, 30, and any multiple of 60"; "Period multiplied by
  EvaluationPeriods can't be more than 604,800 seconds. For alarms with a period of less than
  one hour (3,600 seconds), the total evaluation period can't be longer than one day".
* A ``PutMetricAlarm`` takes at most 10 ``MetricStat`` and 10 expressions (MetricDataQuery);
  "Alarms based on metric math expressions can have up to 10 metrics" (CloudWatch service
  quotas); an expression is at most 2,048 characters.
* ``AlarmName`` 1-255 characters; ``AlarmDescription`` at most 1,024; ``AlarmRule`` at most
  10,240; at most 5 actions per list; ``Namespace``/``MetricName`` at most 255, dimension names
  255 and values 1,024 characters.
* At most 50 tags per alarm; tag keys 1-128 and values at most 256 characters, of letters,
  digits, spaces and ``_ . : / = + - @`` (AWS "Tag naming limits and requirements").
* An alarm's actions must be in the alarm's Region: AWS answers ``Invalid region ca-central-1
  specified. Only us-west-2 is supported.`` otherwise (cds-snc/notification-terraform#128).
* Paging and batches: ``DescribeAlarms`` ``MaxRecords`` 1-100, ``GetResources``
  ``ResourcesPerPage`` 1-100; ``DeleteAlarms``: "You can delete up to 100 alarms in one
  operation", and at most one composite alarm per call.

They are checked by :mod:`.checks` before any call, so ``slogen validate`` finds every problem
AWS would otherwise answer with during ``apply``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from slogen.backends.cloudwatch.names import window_text

HIGH_RESOLUTION_PERIODS = (10, 20, 30)
MAX_EVALUATION_RANGE = 604_800  # Period x EvaluationPeriods, seconds (7 days)
MAX_EVALUATION_RANGE_SHORT_PERIOD = 86_400  # ... when Period < 1 h
SHORT_PERIOD = 3_600
MAX_METRIC_STATS = 10
MAX_EXPRESSIONS = 10
MAX_EXPRESSION_LENGTH = 2_048
MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 1_024
MAX_RULE_LENGTH = 10_240
MAX_ACTIONS = 5
MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
MAX_NAMESPACE_LENGTH = 255
MAX_METRIC_NAME_LENGTH = 255
MAX_DIMENSION_NAME_LENGTH = 255
MAX_DIMENSION_VALUE_LENGTH = 1_024
# AWS's tag pattern, ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$ (the Tag shape of the Resource Groups
# Tagging and other APIs; "Tag naming limits and requirements" in AWS's tagging guide): letters,
# separators (space; not tab or newline, which are control characters), numbers and _.:/=+-@.
TAG_SYMBOLS = frozenset("_.:/=+-@")
TAG_SEPARATORS = ("Zs", "Zl", "Zp")
# ASCII letters and digits, TAG_SYMBOLS and the space (the one ASCII character in Zs)
_ASCII_TAG_TEXT = re.compile(r"[A-Za-z0-9_.:/=+\-@ ]*")

PAGE_SIZE = 100  # DescribeAlarms MaxRecords, GetResources ResourcesPerPage, names per check
DELETE_BATCH = 100  # alarms per DeleteAlarms call (metric alarms; composites go one per call)

# Requests per second per region and operation. AWS's CloudWatch service quotas: PutMetricAlarm
# "3 TPS per Region" (adjustable), DeleteAlarms "3 TPS per Region for each of these operations"
# (not adjustable), DescribeAlarms 9 TPS (docs: AmazonCloudWatch/latest/monitoring/
# cloudwatch_limits.html, "CloudWatch service quotas"). PutCompositeAlarm, TagResource and
# UntagResource have no published figure: ASSUMPTION: the PutMetricAlarm quota applies; the
# same ASSUMPTION for the dashboard writes PutDashboard and DeleteDashboards.
# Reads are not paced here: they go one page at a time per region, and botocore's adaptive
# mode slows them down if AWS throttles.
TPS: dict[str, float] = {
    "PutMetricAlarm": 3.0,
    "PutCompositeAlarm": 3.0,
    "DeleteAlarms": 3.0,
    "TagResource": 3.0,
    "UntagResource": 3.0,
    "PutDashboard": 3.0,
    "DeleteDashboards": 3.0,
}


@lru_cache(maxsize=4096)
def tag_text_ok(text: str) -> bool:
    """Whether AWS takes ``text`` as a tag key or value (:data:`TAG_SYMBOLS`). Cached: the
    same few tag texts repeat on every alarm of a service; the ASCII ones (nearly all, and
    unique per alarm in the key tag) are settled by one regular expression."""
    if _ASCII_TAG_TEXT.fullmatch(text):
        return True
    return all(
        c.isalnum() or c in TAG_SYMBOLS or unicodedata.category(c) in TAG_SEPARATORS for c in text
    )


def window_obstacle(seconds: int) -> str:
    """Why an alarm cannot have ``Period`` = this window ("" when it can)."""
    if not (seconds in HIGH_RESOLUTION_PERIODS or (seconds >= 60 and seconds % 60 == 0)):
        return (
            f"{window_text(seconds)} ({seconds} s) is not a valid CloudWatch alarm Period, "
            "which must be 10, 20 or 30 seconds or a whole number of minutes"
        )
    limit = MAX_EVALUATION_RANGE_SHORT_PERIOD if seconds < SHORT_PERIOD else MAX_EVALUATION_RANGE
    if seconds > limit:
        days = f"{limit // 86400} day" + ("s" if limit > 86400 else "")
        return (
            f"{window_text(seconds)} ({seconds} s) is longer than the {days} ({limit:,} s) "
            "CloudWatch allows for Period x EvaluationPeriods"
        )
    return ""
