"""Benchmark: ``slogen plan`` against CloudWatch holding 9,000 alarms (1,000 SLOs), in moto.

Generates 100 services x 10 SLOs with a ``cloudwatch`` indicator (half in eu-west-1, half in
us-east-1; the workbook policy, so 3 tiers x (2 window alarms + 1 composite) = 9 alarms per
SLO) and a ``slogen.yaml`` whose cloudwatch target is ``type: api`` at a moto server on
127.0.0.1 (tests/fakes/cloudwatch.py, started in this process). Then:

1. Seeds moto with exactly the alarms slogen renders for those specs. Creating 9,000 alarms
   through the API is slow in moto (every request goes through HTTP, botocore and moto's
   dispatcher), so the alarms go straight into moto's CloudWatch backend: the same
   ``CloudWatchBackend.put_metric_alarm`` moto's own PutMetricAlarm handler calls, with the
   same ``MetricDataQuery`` objects, and for composite alarms the fields the fake's
   PutCompositeAlarm sets (rule, children, initial state). Tags go in with the alarm, so the
   tagging API lists them. The plan that follows must say ``No changes.``: that checks the
   seeding as much as it checks slogen.
2. Runs ``slogen plan DIR --target cloudwatch`` once in a subprocess and counts the requests
   the server saw, per operation, against the floor: per region, ceil(alarms / 100)
   DescribeAlarms pages plus ceil(alarms / 100) GetResources pages. Nothing per alarm.
3. Times that command (interpreter start included) against the floor of the same paging done
   by a bare boto3 script, and prints both.

Figures, not assertions: targets are printed as PASS or MISS and the exit status is 0 (2 only
when the plan itself fails or is not "No changes.", as then there is nothing to measure).

    .venv/bin/python bench/cloudwatch_plan.py [--services 100] [--slos 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import CommandFailed, Row, Summary, measure, python_argv, report, run_command

ROOT = Path(__file__).resolve().parents[1]

REGIONS = ("eu-west-1", "us-east-1")
PAGE = 100
# moto answers a DescribeAlarms page over 9,000 alarms in about half a second, so the time is
# mostly the server's; the target is relative to the same paging done by bare boto3.
PLAN_TARGET_RATIO = 2.0

# The floor: the same pages, fetched by a bare boto3 script (its own interpreter, like slogen).
FLOOR_CODE = """\
import sys, boto3
url, regions = sys.argv[1], sys.argv[2:]
for region in regions:
    cw = boto3.client("cloudwatch", region_name=region, endpoint_url=url)
    tagging = boto3.client("resourcegroupstaggingapi", region_name=region, endpoint_url=url)
    kwargs = {"AlarmNamePrefix": "slogen/", "AlarmTypes": ["CompositeAlarm", "MetricAlarm"],
              "MaxRecords": 100}
    while True:
        page = cw.describe_alarms(**kwargs)
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    kwargs = {"ResourceTypeFilters": ["cloudwatch:alarm"], "ResourcesPerPage": 100,
              "TagFilters": [{"Key": "managed-by", "Values": ["slogen"]}]}
    while True:
        page = tagging.get_resources(**kwargs)
        if not page.get("PaginationToken"):
            break
        kwargs["PaginationToken"] = page["PaginationToken"]
"""

SPEC_SLO = """\
  - name: {name}
    objective: {objective}
    window: 30d
    indicator:
      cloudwatch:
        region: {region}
        errors: {{namespace: Bench/{service}, metric: Errors, dimensions: {{Endpoint: {name}}}}}
        total: {{namespace: Bench/{service}, metric: Requests, dimensions: {{Endpoint: {name}}}}}
    alerting:
{min_events}      runbook: https://runbooks.example.com/{service}/{name}
      page:
        cloudwatch: ["arn:aws:sns:{region}:123456789012:{service}-page"]
      ticket:
        cloudwatch: ["arn:aws:sns:{region}:123456789012:{service}-ticket"]
"""


def write_specs(directory: Path, services: int, slos: int, url: str) -> dict[str, int]:
    """The synthetic project; returns the number of SLOs per region."""
    directory.mkdir(parents=True)
    per_region: Counter[str] = Counter()
    objectives = ("99.9", "99.5", "99.95", "99")
    for s in range(services):
        service = f"svc{s:03d}"
        region = REGIONS[s % len(REGIONS)]
        body = [f"service: {service}\nowner: team{s % 7}\nlabels: {{env: prod}}\nslos:\n"]
        for i in range(slos):
            body.append(
                SPEC_SLO.format(
                    name=f"endpoint-{i:02d}",
                    objective=objectives[(s + i) % len(objectives)],
                    region=region,
                    service=service,
                    min_events="      min_events: 50\n" if i % 3 == 0 else "",
                )
            )
            per_region[region] += 1
        (directory / f"{service}.yaml").write_text("".join(body), encoding="utf-8")
    (directory / "slogen.yaml").write_text(
        f'targets:\n  cloudwatch: {{type: api, endpoint_url: "{url}"}}\n', encoding="utf-8"
    )
    return dict(per_region)


def seed(specs: Path, account_id: str) -> dict[str, int]:
    """Put every alarm slogen would create straight into moto's backend; alarms per region."""
    from moto.cloudwatch.models import (
        Dimension,
        Metric,
        MetricDataQuery,
        MetricStat,
        cloudwatch_backends,
    )
    from tests.fakes import cloudwatch as fake_module

    from slogen.backends import registry
    from slogen.backends.cloudwatch.names import COMPOSITE_ALARM, rule_references
    from slogen.backends.cloudwatch.normalise import request_of
    from slogen.spec.loader import load_project

    project = load_project([str(specs)])
    resources = registry.get("cloudwatch").render(project, None)
    counts: Counter[str] = Counter()
    # children first, as PutCompositeAlarm needs them
    for res in sorted(resources, key=lambda r: r.kind == COMPOSITE_ALARM):
        region = res.body["Region"]
        backend = cloudwatch_backends[account_id][region]
        request = request_of(res.body)
        common: dict[str, Any] = {
            "name": request["AlarmName"],
            "namespace": None,
            "metric_name": None,
            "period": None,
            "statistic": None,
            "description": request["AlarmDescription"],
            "dimensions": [],
            "alarm_actions": request["AlarmActions"],
            "ok_actions": request["OKActions"],
            "insufficient_data_actions": request["InsufficientDataActions"],
            "actions_enabled": request["ActionsEnabled"],
            "tags": request["Tags"],
        }
        if res.kind == COMPOSITE_ALARM:
            alarm = backend.put_metric_alarm(
                comparison_operator=None,
                evaluation_periods=None,
                threshold=None,
                rule=request["AlarmRule"],
                **common,
            )
            alarm.slogen_children = [  # what the fake's PutCompositeAlarm records
                name for name in rule_references(request["AlarmRule"])
            ]
        else:
            queries = []
            for m in request["Metrics"]:
                stat = None
                if "MetricStat" in m:
                    raw = m["MetricStat"]
                    stat = MetricStat(
                        metric=Metric(
                            metric_name=raw["Metric"]["MetricName"],
                            namespace=raw["Metric"]["Namespace"],
                            dimensions=[
                                Dimension(name=d["Name"], value=d["Value"])
                                for d in raw["Metric"]["Dimensions"]
                            ],
                        ),
                        period=raw["Period"],
                        stat=raw["Stat"],
                        unit=None,
                    )
                queries.append(
                    MetricDataQuery(
                        query_id=m["Id"],
                        label=m.get("Label"),
                        period=None,
                        return_data=m["ReturnData"],
                        expression=m.get("Expression"),
                        metric_stat=stat,
                    )
                )
            alarm = backend.put_metric_alarm(
                comparison_operator=request["ComparisonOperator"],
                evaluation_periods=request["EvaluationPeriods"],
                threshold=request["Threshold"],
                metric_data_queries=queries,
                datapoints_to_alarm=request["DatapointsToAlarm"],
                treat_missing_data=request["TreatMissingData"],
                **common,
            )
        fake_module._keep_state(alarm, None)  # AWS: a new alarm starts INSUFFICIENT_DATA
        counts[region] += 1
    return dict(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--slos", type=int, default=10, help="SLOs per service")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="write the specs here and keep them")
    args = parser.parse_args(argv)

    from tests.fakes.cloudwatch import DEFAULT_ACCOUNT_ID, MotoCloudWatch

    work = Path(tempfile.mkdtemp(prefix="slogen-cw-bench-"))
    specs = args.keep or work / "specs"
    if args.keep and args.keep.exists():
        shutil.rmtree(args.keep)
    empty = work / "aws-empty"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench-secret",
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONPATH=str(ROOT / "src"),
        NO_COLOR="1",
    )
    summary = Summary("CloudWatch plan benchmark")
    try:
        with MotoCloudWatch(regions=REGIONS) as fake:
            slos = write_specs(specs, args.services, args.slos, fake.url)
            started = time.perf_counter()
            alarms = seed(specs, DEFAULT_ACCOUNT_ID)
            seeded = time.perf_counter() - started
            total = sum(alarms.values())
            split = ", ".join(f"{r}: {n}" for r, n in sorted(slos.items()))
            summary.add("SLOs", f"{sum(slos.values()):,} ({split})")
            summary.add(
                "alarms seeded", f"{total:,} in {seeded:.1f} s, straight into moto's backend"
            )

            plan_argv = python_argv("-m", "slogen", "plan", specs, "--target", "cloudwatch")
            fake.calls.clear()
            try:
                proc = run_command(plan_argv, env=env, cwd=work)
            except CommandFailed as exc:
                print(f"slogen plan failed:\n{exc}", file=sys.stderr)
                return 2
            calls = dict(fake.calls)
            last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            summary.add("plan says", last)
            if last != "No changes.":
                print(proc.stdout[-3000:], file=sys.stderr)
                return 2

            floor_calls = {
                "DescribeAlarms": sum(math.ceil(n / PAGE) for n in alarms.values()),
                "GetResources": sum(math.ceil(n / PAGE) for n in alarms.values()),
            }
            made = sum(calls.values())
            floor = sum(floor_calls.values())
            summary.add("API calls by slogen plan", f"{made} {calls}")
            summary.add("floor (pages of 100)", f"{floor} {floor_calls}")
            summary.add(
                "per-alarm calls",
                "none" if calls == floor_calls else f"{made - floor} above the floor",
            )
            summary.add("calls == floor", "PASS" if calls == floor_calls else "MISS")

            floor_argv = python_argv("-c", FLOOR_CODE, fake.url, *sorted(alarms))
            # No warm-up run: one run takes tens of seconds, and the first one above warmed up.
            subject = measure(plan_argv, repeats=args.repeats, warmup=0, env=env, cwd=work)
            bare = measure(floor_argv, repeats=args.repeats, warmup=0, env=env, cwd=work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    summary.add(
        "CPU of the command (median)",
        f"slogen plan {subject.cpu_median or 0:.1f} s, boto3 paging {bare.cpu_median or 0:.1f} s "
        "(the rest of the wall time is moto answering)",
    )
    summary.print()
    report(
        [
            Row(
                f"slogen plan, {total:,} alarms",
                subject,
                bare,
                max_ratio=PLAN_TARGET_RATIO,
                floor_name="boto3 paging",
                note="floor: the same pages fetched by a bare boto3 script",
            )
        ],
        title="Timings (subprocess, interpreter start included)",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
