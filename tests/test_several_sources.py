"""Several sources per side of an SLI: summed by CloudWatch and Datadog, refused by Prometheus.

A side (``errors``, ``good``, ``total``) may be a list: CloudWatch metric mappings become one
metric math sum per side (within AWS's 10 metrics per alarm), Datadog queries become one query
``(a) + (b)``. One PromQL expression adds series already, so Prometheus takes a string only.
A single mapping or string is read and rendered exactly as before.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from slogen.backends import registry
from slogen.backends.datadog.source import summed
from slogen.resources import Resource
from slogen.spec.loader import load_project
from tests.cli import run
from tests.fakes.cloudwatch import _validate_metrics as validate_metrics
from tests.fakes.datadog_api import FakeDatadog

ELB = "{namespace: AWS/ApplicationELB, metric: %s, dimensions: {LoadBalancer: app/shop/1}}"


def write_spec(tmp_path: Path, indicator: str, window: str = "30d", config: str = "") -> Path:
    specs = tmp_path / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    body = textwrap.indent(textwrap.dedent(indicator).strip(), " " * 6)
    (specs / "shop.yaml").write_text(
        "service: shop\nslos:\n  - name: availability\n    objective: 99.9\n"
        f"    window: {window}\n    indicator:\n{body}\n"
        "    alerting: {min_events: 100}\n",
        encoding="utf-8",
    )
    if config:
        (specs / "slogen.yaml").write_text(config, encoding="utf-8")
    return specs


def rendered(backend: str, specs: Path) -> dict[str, Resource]:
    project = load_project([str(specs)])
    return {r.key: r for r in registry.get(backend).render(project, None)}


def cloudwatch_side(errors: str, total: str, key: str = "errors") -> str:
    return f"""
    cloudwatch:
      region: eu-west-1
      {key}: {errors}
      total: {total}
    """


# -- CloudWatch -------------------------------------------------------------------------------


def test_cloudwatch_list_sums_its_metrics_with_fill(tmp_path: Path) -> None:
    errors = f"[{ELB % 'HTTPCode_Target_5XX_Count'}, {ELB % 'HTTPCode_ELB_5XX_Count'}]"
    specs = write_spec(tmp_path, cloudwatch_side(errors, ELB % "RequestCount"))
    source = load_project([str(specs)]).services[0].slos[0].indicator.cloudwatch
    assert source is not None and source.errors is not None
    assert [m.metric for m in source.errors] == [
        "HTTPCode_Target_5XX_Count",
        "HTTPCode_ELB_5XX_Count",
    ]
    metrics = rendered("cloudwatch", specs)["shop/availability/page-1h/long"].body["Metrics"]
    assert [(m["Id"], m["Label"], m.get("Expression")) for m in metrics] == [
        ("m1_1", "bad events: HTTPCode_Target_5XX_Count", None),
        ("m1_2", "bad events: HTTPCode_ELB_5XX_Count", None),
        ("m1", "bad events", "FILL(m1_1, 0) + FILL(m1_2, 0)"),
        ("m2", "total events", None),
        ("e1", "error ratio over 1h", "IF(m2 >= 100, m1/m2, 0)"),
    ]
    assert [m["ReturnData"] for m in metrics] == [False] * 4 + [True]
    assert {m["MetricStat"]["Period"] for m in metrics if "MetricStat" in m} == {3600}


def test_cloudwatch_good_and_total_lists(tmp_path: Path) -> None:
    good = f"[{ELB % 'HTTPCode_Target_2XX_Count'}, {ELB % 'HTTPCode_Target_3XX_Count'}]"
    total = f"[{ELB % 'RequestCount'}, {ELB % 'HTTPCode_ELB_5XX_Count'}]"
    specs = write_spec(tmp_path, cloudwatch_side(good, total, key="good"))
    metrics = rendered("cloudwatch", specs)["shop/availability/page-1h/short"].body["Metrics"]
    assert [(m["Id"], m.get("Expression")) for m in metrics] == [
        ("m1", "m2 - FILL(g1, 0)"),
        ("m2_1", None),
        ("m2_2", None),
        ("m2", "FILL(m2_1, 0) + FILL(m2_2, 0)"),
        ("g1_1", None),
        ("g1_2", None),
        ("g1", "FILL(g1_1, 0) + FILL(g1_2, 0)"),
        ("e1", "m1/m2"),
    ]


def test_cloudwatch_single_mapping_is_unchanged_and_equals_a_list_of_one(tmp_path: Path) -> None:
    mapping = ELB % "HTTPCode_Target_5XX_Count"
    one = rendered("cloudwatch", write_spec(tmp_path / "a", cloudwatch_side(mapping, ELB % "X")))
    listed = rendered(
        "cloudwatch", write_spec(tmp_path / "b", cloudwatch_side(f"[{mapping}]", f"[{ELB % 'X'}]"))
    )
    assert one == listed
    metrics = one["shop/availability/page-1h/long"].body["Metrics"]
    assert [(m["Id"], m["Label"]) for m in metrics] == [
        ("m1", "bad events"),
        ("m2", "total events"),
        ("e1", "error ratio over 1h"),
    ]


def metrics_list(count: int, name: str) -> str:
    return "[" + ", ".join(ELB % f"{name}{n}" for n in range(count)) + "]"


def test_cloudwatch_ten_metrics_per_alarm(tmp_path: Path) -> None:
    fits = write_spec(tmp_path / "a", cloudwatch_side(metrics_list(5, "E"), metrics_list(5, "T")))
    run("validate", str(fits))
    for alarm in rendered("cloudwatch", fits).values():  # the fake's PutMetricAlarm rules
        if "Metrics" in alarm.body:
            validate_metrics(alarm.body["Metrics"], None)
    too_many = write_spec(
        tmp_path / "b", cloudwatch_side(metrics_list(6, "E"), metrics_list(5, "T"))
    )
    result = run("validate", str(too_many), exit_code=1)
    assert (
        f"{too_many / 'shop.yaml'}:8:9: error: slos[0].indicator.cloudwatch: the alarms would "
        "read 11 metrics (errors: 6, total: 5); AWS allows at most 10 metrics in a metric math "
        "alarm"
    ) in result.stderr
    assert "hint: sum fewer metrics" in result.stderr


def test_cloudwatch_list_problems_are_located_per_item(tmp_path: Path) -> None:
    specs = write_spec(
        tmp_path,
        """
        cloudwatch:
          region: eu-west-1
          errors:
            - {namespace: Shop, metric: Errors}
            - {namespace: Shop, metric: ""}
          total: []
        """,
    )
    result = run("validate", str(specs), exit_code=1)
    shop = specs / "shop.yaml"
    assert (
        f"{shop}:11:39: error: slos[0].indicator.cloudwatch.errors[1].metric: expected a "
        "non-empty string"
    ) in result.stderr
    assert (
        f"{shop}:12:16: error: slos[0].indicator.cloudwatch.total: expected a metric mapping "
        "or a list of them (summed) with at least one entry, found []"
    ) in result.stderr


# -- Prometheus ---------------------------------------------------------------------------------


def test_prometheus_takes_one_expression_not_a_list(tmp_path: Path) -> None:
    specs = write_spec(
        tmp_path,
        """
        prometheus:
          errors: ['sum(rate(a[{{ window }}]))', 'sum(rate(b[{{ window }}]))']
          total: sum(rate(c[{{ window }}]))
        """,
    )
    result = run("validate", str(specs), exit_code=1)
    assert (
        f"{specs / 'shop.yaml'}:8:17: error: slos[0].indicator.prometheus.errors: expected a "
        "PromQL expression (one string), found a list\n"
        "  hint: add the series up inside one expression (e.g. a + b) instead of giving a list "
        "of queries"
    ) in result.stderr


# -- Datadog --------------------------------------------------------------------------------------

E1, E2 = "sum:shop.errors{env:prod}.as_count()", "sum:shop.timeouts{env:prod}.as_count()"
T1, T2 = "sum:shop.requests{env:prod}.as_count()", "sum:shop.rejected{env:prod}.as_count()"
DATADOG = f"""
datadog:
  errors: ["{E1}", "{E2}"]
  total: ["{T1}", "{T2}"]
"""


def test_summed_keeps_one_query_as_written() -> None:
    assert summed(("sum:a{x:y}  .as_count()",)) == "sum:a{x:y} .as_count()"  # whitespace folded
    assert summed(("a", "b - c")) == "(a) + (b - c)"


def test_datadog_lists_become_one_summed_query_everywhere(tmp_path: Path) -> None:
    errors, total = f"({E1}) + ({E2})", f"({T1}) + ({T2})"
    specs = write_spec(tmp_path, DATADOG)
    source = load_project([str(specs)]).services[0].slos[0].indicator.datadog
    assert source is not None and (source.errors, source.total) == (errors, total)
    resources = rendered("datadog", specs)
    slo = resources["shop/availability"].body
    assert slo["query"] == {"numerator": f"{total} - ({errors})", "denominator": total}
    events = resources["shop/availability/page-1h/events"].body
    assert events["query"] == f"sum(last_1h):{total} >= 100"
    # Without an SLO object (a 28d window) every tier is a composite of metric monitors.
    specs = write_spec(tmp_path / "b", DATADOG, window="28d")
    long_ = rendered("datadog", specs)["shop/availability/page-1h/long"].body
    assert long_["query"].startswith(f"sum(last_1h):({errors}) / ({total}) > 0.01")


def test_fake_datadog_takes_the_summed_queries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    monkeypatch.setenv("DD_API_KEY", "k")
    monkeypatch.setenv("DD_APP_KEY", "a")
    monkeypatch.delenv("DD_APPLICATION_KEY", raising=False)
    with FakeDatadog(api_key="k", app_key="a") as fake:
        config = f'targets:\n  datadog: {{type: api, host: "{fake.url}"}}\n'
        for name, window in (("slo", "30d"), ("metrics", "28d")):
            specs = write_spec(tmp_path / name, DATADOG, window=window, config=config)
            run("apply", str(specs), "--target", "datadog", "--auto-approve")
            desired = rendered("datadog", specs)
            live = {m["name"]: m["query"] for m in fake.monitors.values()}
            for resource in desired.values():
                if resource.kind == "monitor" and resource.body["type"] == "query alert":
                    assert live[resource.body["name"]] == resource.body["query"]
            run("plan", str(specs), "--target", "datadog", "--detailed-exitcode")
            if name == "slo":
                (slo,) = fake.slos.values()
                assert slo["query"] == desired["shop/availability"].body["query"]
        with pytest.raises(ValueError, match="unbalanced parentheses"):
            fake.add_monitor(broken_monitor())
        # The last spec applied has no SLO object: its tiers are metric monitors, which the
        # fake evaluates (tests/fakes/datadog_eval.py). The app still reports its error count
        # (as 0) while the second query counts 50 errors a minute out of 100 requests: the sum
        # is what pages. (A query with no point at all in the window would leave the sum
        # without a value, in Datadog as in the fake: see the README on lists.)
        now = 1_800_000_000.0
        minutes = [now - 60 * m for m in range(60)]
        for query, value in ((E1, 0.0), (E2, 50.0), (T1, 100.0), (T2, 0.0)):
            fake.submit_points(query, [(when, value) for when in minutes])
        states = fake.evaluate(now)
        page = [
            mid
            for mid, m in fake.monitors.items()
            if "slogen-key:shop/availability/page-1h" in m["tags"]
        ]
        assert [states[mid] for mid in page] == ["Alert"]


def broken_monitor() -> dict[str, Any]:
    return {
        "name": "broken",
        "type": "query alert",
        "query": f"sum(last_5m):(({E1}) + ({E2}) / ({T1}) > 0.1",
        "message": "",
        "tags": [],
        "options": {"thresholds": {"critical": 0.1}},
    }
