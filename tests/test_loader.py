"""The loader on valid input: defaults, project settings, discovery, exact values.

Plus property tests: random valid specs load and round-trip; a single random mistake in one of
them is reported once, at exactly its location (found independently with ``yaml.compose``).
"""

from __future__ import annotations

import math
import tempfile
import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from slogen.durations import format_duration
from slogen.engine import default_short_window
from slogen.errors import SlogenError
from slogen.numbers import fmt
from slogen.spec.loader import BUILTIN_POLICIES, load_project
from slogen.spec.model import Tier
from tests.conftest import SPECS

PROMETHEUS = {
    "errors": 'sum(rate(http_requests_total{code=~"5.."}[{{ window }}]))',
    "total": "sum(rate(http_requests_total[{{ window }}]))",
}


def spec(**slo_overrides: Any) -> dict[str, Any]:
    slo: dict[str, Any] = {
        "name": "availability",
        "objective": 99.9,
        "window": "30d",
        "indicator": {"prometheus": dict(PROMETHEUS)},
    }
    slo.update(slo_overrides)
    return {"service": "shop", "slos": [slo]}


def write(directory: Path, name: str, data: Any) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


# -- defaults -------------------------------------------------------------------------------------


def test_defaults_without_config(tmp_path: Path) -> None:
    write(tmp_path, "shop.yaml", spec())
    project = load_project([str(tmp_path)])
    assert project.config_file is None
    assert project.default_policy == "workbook"
    assert [p.name for p in project.policies] == ["workbook"]
    (service,) = project.services
    (slo,) = service.slos
    assert slo.policy == BUILTIN_POLICIES["workbook"]
    assert slo.alerting.policy is None  # "the project default", not a named choice
    assert slo.alerting.min_events is None
    assert slo.objective == Fraction(999, 10)
    assert slo.target == Fraction(999, 1000)
    assert slo.window == 30 * 86400
    assert slo.indicator.prometheus is not None
    assert slo.indicator.datadog is None and slo.indicator.cloudwatch is None


def test_workbook_policy_is_the_one_in_the_design() -> None:
    tiers = BUILTIN_POLICIES["workbook"].tiers
    assert [(t.severity, t.budget, t.long, t.short) for t in tiers] == [
        ("page", Fraction(2, 100), 3600, 300),
        ("page", Fraction(5, 100), 6 * 3600, 30 * 60),
        ("ticket", Fraction(10, 100), 3 * 86400, 6 * 3600),
    ]
    assert [t.id for t in tiers] == ["page-1h", "page-6h", "ticket-3d"]


def test_targets_default_to_files_under_out(tmp_path: Path) -> None:
    write(tmp_path, "shop.yaml", spec())
    project = load_project([str(tmp_path)])
    project_option = ("project", "test-targets-default-to-files-0")  # the directory's name
    assert [(t.backend, t.type, t.options) for t in project.targets] == [
        ("prometheus", "files", (("dir", "out/prometheus"), project_option)),
        ("datadog", "files", (("dir", "out/datadog"), project_option)),
        ("cloudwatch", "files", (("dir", "out/cloudwatch"), project_option)),
        ("grafana", "files", (("dir", "out/grafana"), project_option)),
    ]
    assert project.target("datadog").option("dir") == "out/datadog"


def test_short_window_defaults_to_a_twelfth_of_the_long_one(tmp_path: Path) -> None:
    write(
        tmp_path,
        "slogen.yaml",
        textwrap.dedent(
            """\
            policies:
              odd:
                - {severity: page, budget: 2%, long: 1h30m}
                - {severity: ticket, budget: 10%, long: 2d, short: 1h}
            default_policy: odd
            """
        ),
    )
    write(tmp_path, "shop.yaml", spec())
    project = load_project([str(tmp_path)])
    (slo,) = project.services[0].slos
    assert slo.policy.name == "odd"
    first, second = slo.policy.tiers
    assert (first.long, first.short) == (5400, 450)  # 1h30m / 12 = 7m30s
    assert first.short == default_short_window(first.long)
    assert (second.long, second.short) == (2 * 86400, 3600)
    assert [t.id for t in slo.policy.tiers] == ["page-1h30m", "ticket-2d"]


@pytest.mark.parametrize(
    ("long", "short"), [(3600, 300), (21600, 1800), (259200, 21600), (5400, 450), (60, 5)]
)
def test_default_short_window(long: int, short: int) -> None:
    assert default_short_window(long) == short


# -- project settings -----------------------------------------------------------------------------


def test_custom_policy_and_targets_from_slogen_yaml(tmp_path: Path) -> None:
    write(
        tmp_path,
        "slogen.yaml",
        textwrap.dedent(
            """\
            default_policy: batch
            policies:
              batch:
                - {severity: ticket, budget: 5%, long: 6h, short: 30m}
                - {severity: ticket, budget: 10%, long: 3d}
            targets:
              prometheus: {type: files, dir: rules, reload_url: "http://127.0.0.1:9090/"}
              datadog: {type: api}
              cloudwatch: {type: api, endpoint_url: "http://127.0.0.1:5000"}
            """
        ),
    )
    write(tmp_path, "a.yaml", spec())
    custom = spec(alerting={"policy": "workbook"})
    custom["service"] = "cart"
    write(tmp_path, "b.yaml", custom)
    project = load_project([str(tmp_path)])
    assert project.config_file == str(tmp_path / "slogen.yaml")
    assert project.default_policy == "batch"
    assert [p.name for p in project.policies] == ["batch", "workbook"]
    by_name = {s.name: s for s in project.services}
    assert [s.name for s in project.services] == ["cart", "shop"]  # sorted
    assert by_name["shop"].slos[0].policy.name == "batch"
    assert by_name["shop"].slos[0].alerting.policy is None
    assert by_name["cart"].slos[0].policy.name == "workbook"
    assert by_name["cart"].slos[0].alerting.policy == "workbook"
    batch = by_name["shop"].slos[0].policy
    assert [(t.severity, t.budget, t.long, t.short) for t in batch.tiers] == [
        ("ticket", Fraction(1, 20), 21600, 1800),
        ("ticket", Fraction(1, 10), 259200, 21600),
    ]
    prometheus = project.target("prometheus")
    assert prometheus.type == "files"
    assert prometheus.option("dir") == "rules"
    assert prometheus.option("reload_url") == "http://127.0.0.1:9090"  # trailing / dropped
    assert project.target("datadog").type == "api"
    assert project.target("cloudwatch").option("endpoint_url") == "http://127.0.0.1:5000"


def test_files_target_without_dir_gets_the_default(tmp_path: Path) -> None:
    write(
        tmp_path, "slogen.yaml", "targets:\n  prometheus: {type: files, format: prometheusrule}\n"
    )
    write(tmp_path, "shop.yaml", spec())
    target = load_project([str(tmp_path)]).target("prometheus")
    assert dict(target.options) == {
        "dir": "out/prometheus",
        "format": "prometheusrule",
        "project": tmp_path.name.lower().replace("_", "-"),
    }


def test_config_discovered_at_the_root_of_the_example_specs() -> None:
    project = load_project([str(SPECS)])
    assert project.config_file == str(SPECS / "slogen.yaml")
    assert [s.name for s in project.services] == ["billing-worker", "checkout", "search"]
    billing = project.services[0]
    assert billing.slos[0].policy.name == "batch"
    assert billing.slos[0].window == 7 * 86400


def test_config_option_names_the_settings_file(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    write(specs, "shop.yaml", spec())
    write(specs, "slogen.yaml", "default_policy: workbook\n")
    other = write(
        tmp_path,
        "settings/project.yaml",
        "policies:\n  p:\n    - {severity: page, budget: 2%, long: 1h}\ndefault_policy: p\n",
    )
    project = load_project([str(specs)], config=str(other))
    assert project.config_file == str(other)
    assert project.default_policy == "p"
    assert project.services[0].slos[0].policy.name == "p"


def test_config_option_inside_the_spec_directory_is_not_also_a_spec(tmp_path: Path) -> None:
    """``--config specs/project.yaml`` must not also be loaded as a service spec."""
    write(tmp_path, "shop.yaml", spec())
    config = write(tmp_path, "project.yaml", "default_policy: workbook\n")
    project = load_project([str(tmp_path)], config=str(config))
    assert [s.name for s in project.services] == ["shop"]


def test_missing_config_option_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "shop.yaml", spec())
    with pytest.raises(SlogenError) as info:
        load_project([str(tmp_path)], config=str(tmp_path / "nope.yaml"))
    (problem,) = info.value.problems.errors
    assert problem.location.file == str(tmp_path / "nope.yaml")
    assert "no such file" in problem.message


def test_discovery_recurses_takes_yml_and_skips_hidden_directories(tmp_path: Path) -> None:
    write(tmp_path, "team-a/shop.yml", spec())
    cart = spec()
    cart["service"] = "cart"
    write(tmp_path, "team-b/deeper/cart.yaml", cart)
    write(tmp_path, ".git/ignored.yaml", "not: a spec\n")
    write(tmp_path, "README.md", "# not YAML\n")
    project = load_project([str(tmp_path)])
    assert [s.name for s in project.services] == ["cart", "shop"]


def test_same_file_given_twice_is_loaded_once(tmp_path: Path) -> None:
    path = write(tmp_path, "shop.yaml", spec())
    project = load_project([str(path), str(tmp_path)])
    assert [s.name for s in project.services] == ["shop"]


# -- values ---------------------------------------------------------------------------------------


def test_sources_are_read_exactly(tmp_path: Path) -> None:
    data = spec(
        indicator={
            "prometheus": {
                "good": "  sum(rate(ok[{{window}}]))\n",
                "total": "sum(rate(all[{{ window }}]))",
            },
            "datadog": {
                "errors": "sum:a.errors{env:prod}\n  .as_count()",
                "total": "sum:a{*}.as_count()",
            },
            "cloudwatch": {
                "region": "us-gov-west-1",
                "errors": {
                    "namespace": "AWS/ApplicationELB",
                    "metric": "HTTPCode_Target_5XX_Count",
                    "dimensions": {
                        "TargetGroup": "tg",
                        "LoadBalancer": "lb",
                        "AvailabilityZone": "a",
                    },
                },
                "total": {
                    "namespace": "AWS/ApplicationELB",
                    "metric": "RequestCount",
                    "stat": "p99.9",
                },
            },
        }
    )
    write(tmp_path, "shop.yaml", data)
    indicator = load_project([str(tmp_path)]).services[0].slos[0].indicator
    assert indicator.prometheus is not None
    assert indicator.prometheus.good == "sum(rate(ok[{{window}}]))"
    assert indicator.prometheus.errors is None
    assert indicator.datadog is not None
    assert indicator.datadog.errors == "sum:a.errors{env:prod} .as_count()"  # whitespace collapsed
    cloudwatch = indicator.cloudwatch
    assert cloudwatch is not None
    assert cloudwatch.region == "us-gov-west-1"
    assert cloudwatch.errors is not None and cloudwatch.good is None
    (errors,) = cloudwatch.errors  # a single mapping is a side of one metric
    (total,) = cloudwatch.total
    assert errors.dimensions == (
        ("AvailabilityZone", "a"),
        ("LoadBalancer", "lb"),
        ("TargetGroup", "tg"),
    )
    assert errors.stat == "Sum"  # the default
    assert total.stat == "p99.9"
    assert total.dimensions == ()


def test_alerting_labels_and_owner(tmp_path: Path) -> None:
    data = spec(
        category="latency",
        description="Fast enough",
        alerting={
            "min_events": 50,
            "runbook": "https://runbooks.example.com/shop",
            "page": {
                "datadog": "@pagerduty-shop",  # a single handle is accepted as a list of one
                "cloudwatch": ["arn:aws:sns:eu-west-1:123456789012:page"],
                "prometheus": {"team_channel": "shop", "priority": "p1"},
            },
        },
    )
    data.update(owner="payments", labels={"zone": "eu", "env": "prod", "cost_center": "42"})
    write(tmp_path, "shop.yaml", data)
    service = load_project([str(tmp_path)]).services[0]
    assert service.owner == "payments"
    assert service.labels == (("cost_center", "42"), ("env", "prod"), ("zone", "eu"))  # sorted
    slo = service.slos[0]
    assert slo.category == "latency"
    assert slo.description == "Fast enough"
    assert slo.alerting.min_events == 50
    assert slo.alerting.runbook == "https://runbooks.example.com/shop"
    page = slo.alerting.for_severity("page")
    assert page.datadog == ("@pagerduty-shop",)
    assert page.cloudwatch == ("arn:aws:sns:eu-west-1:123456789012:page",)
    assert page.prometheus == (("priority", "p1"), ("team_channel", "shop"))
    assert slo.alerting.for_severity("ticket").datadog == ()


LOW_OBJECTIVE_POLICY = """\
default_policy: low
policies:
  low:
    - {severity: ticket, budget: 100%, long: 90d}
"""


@pytest.mark.parametrize(
    ("written", "fraction"),
    [
        ("99.9", Fraction(999, 10)),
        ("99", Fraction(99)),
        ("99.95", Fraction(9995, 100)),
        ("99.999", Fraction(99999, 1000)),
        ("0.1", Fraction(1, 10)),
        ("50", Fraction(50)),
    ],
)
def test_objectives_are_exact(tmp_path: Path, written: str, fraction: Fraction) -> None:
    text = yaml.safe_dump(spec(window="90d"), sort_keys=False).replace("99.9", written)
    if fraction < 95:
        # The workbook's page tiers could not fire that low. Burn rate 1 (all of the budget over
        # the whole window) has the threshold 1 − o, below 1 for any objective above 0.
        write(tmp_path, "slogen.yaml", LOW_OBJECTIVE_POLICY)
    write(tmp_path, "shop.yaml", text)
    assert load_project([str(tmp_path)]).services[0].slos[0].objective == fraction


@pytest.mark.parametrize(
    ("text", "seconds"), [("4w", 2419200), ("720h", 2592000), ("1w2d", 777600)]
)
def test_windows_in_weeks_days_and_hours(tmp_path: Path, text: str, seconds: int) -> None:
    write(tmp_path, "shop.yaml", spec(window=text))
    assert load_project([str(tmp_path)]).services[0].slos[0].window == seconds


def test_durations_with_several_units_in_tiers(tmp_path: Path) -> None:
    write(
        tmp_path,
        "slogen.yaml",
        "default_policy: p\npolicies:\n  p:\n"
        "    - {severity: page, budget: 2.5%, long: 1h30m, short: 7m30s}\n",
    )
    write(tmp_path, "shop.yaml", spec())
    (tier,) = load_project([str(tmp_path)]).services[0].slos[0].policy.tiers
    assert tier == Tier("page", Fraction(1, 40), 5400, 450)


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        service: shop
        slos:
          - &base
            name: availability
            objective: 99.9
            window: 30d
            indicator:
              prometheus:
                errors: sum(rate(e[{{ window }}]))
                total: sum(rate(t[{{ window }}]))
          - <<: *base
            name: availability-strict
            objective: 99.99
        """
    )
    write(tmp_path, "shop.yaml", text)
    slos = load_project([str(tmp_path)]).services[0].slos
    assert [(s.name, s.objective) for s in slos] == [
        ("availability", Fraction(999, 10)),
        ("availability-strict", Fraction(9999, 100)),
    ]


# -- property tests -------------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z0-9][a-z0-9-]{0,11}", fullmatch=True)
# No shrinking: these strategies are nested deeply enough that shrinking a failure can take
# minutes. The failure messages below show the generated YAML instead.
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


@st.composite
def policies(draw: st.DrawFn) -> dict[str, list[dict[str, str]]]:
    names = draw(
        st.lists(NAMES.filter(lambda n: n != "workbook"), min_size=1, max_size=2, unique=True)
    )
    result = {}
    for name in names:
        tiers = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["page", "ticket", "warn"]),
                    st.integers(1, 10000),  # budget in hundredths of a percent
                    st.integers(1, 7 * 24),  # long window in hours
                    st.one_of(st.none(), st.integers(1, 59)),  # short window in minutes
                ),
                min_size=1,
                max_size=3,
                unique_by=lambda t: (t[0], t[2]),
            )
        )
        result[name] = [
            {"severity": sev, "budget": fmt(Fraction(b, 100)) + "%", "long": f"{long}h"}
            | ({} if short is None else {"short": f"{short}m"})
            for sev, b, long, short in tiers
        ]
    return result


def _tiers(policy: list[dict[str, str]]) -> list[tuple[str, Fraction, int, int]]:
    out = []
    for t in policy:
        long = int(t["long"][:-1]) * 3600
        short = int(t["short"][:-1]) * 60 if "short" in t else default_short_window(long)
        out.append((t["severity"], Fraction(t["budget"][:-1]) / 100, long, short))
    return out


WORKBOOK_TIERS = [
    (t.severity, t.budget, t.long, t.short) for t in BUILTIN_POLICIES["workbook"].tiers
]


@st.composite
def projects(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid (slogen.yaml, service spec) pair, as plain data."""
    custom = draw(policies())
    known = {name: _tiers(p) for name, p in custom.items()} | {"workbook": WORKBOOK_TIERS}
    slos = []
    for name in draw(st.lists(NAMES, min_size=1, max_size=3, unique=True)):
        policy = draw(st.sampled_from(sorted(known)))
        tiers = known[policy]
        longest = max(t[2] for t in tiers)
        days = draw(st.integers(max(1, math.ceil(longest / 86400)), 90))
        period = days * 86400
        # Every tier must be able to fire: objective o (a fraction) > 1 - L / (b·P).
        bound = max(1 - Fraction(long) / (budget * period) for _, budget, long, _ in tiers)
        lowest = max(1, math.floor(bound * 100000) + 1)  # thousandths of a percent
        thousandths = draw(st.integers(lowest, 99999))
        slo: dict[str, Any] = {
            "name": name,
            "objective": thousandths / 1000,
            "window": f"{days}d",
            "indicator": {"prometheus": dict(PROMETHEUS)},
        }
        if draw(st.booleans()):
            slo["description"] = draw(st.text("abc xyz", min_size=1, max_size=20).filter(str.strip))
        alerting: dict[str, Any] = {"policy": policy}
        if draw(st.booleans()):
            alerting["min_events"] = draw(st.integers(1, 10**6))
        for severity in sorted({t[0] for t in tiers}):
            alerting[severity] = {"datadog": [f"@{severity}-{name}"]}
        slo["alerting"] = alerting
        slos.append(slo)
    service = {
        "service": draw(NAMES),
        "labels": draw(
            st.dictionaries(
                st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(
                    lambda k: k not in ("service", "slo", "severity", "tier", "team")
                ),
                NAMES,
                max_size=3,
            )
        ),
        "slos": slos,
    }
    config = {
        "policies": custom,
        "targets": {"prometheus": {"type": "files", "dir": "out/prom"}},
    }
    return config, service


def _load(config: dict[str, Any], service: dict[str, Any]) -> tuple[Any, str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config_text = yaml.safe_dump(config, sort_keys=False)
        service_text = yaml.safe_dump(service, sort_keys=False)
        write(root, "slogen.yaml", config_text)
        write(root, "service.yaml", service_text)
        try:
            result: Any = load_project([tmp])
        except SlogenError as exc:
            result = [
                (Path(p.location.file).name, p.location.line, p.location.column, p.path)
                for p in exc.problems.errors
            ]
        return result, config_text, service_text


@SETTINGS
@given(projects())
def test_random_valid_specs_load_and_round_trip(data: tuple[dict, dict]) -> None:
    config, service = data
    project, config_text, service_text = _load(config, service)
    assert not isinstance(project, list), (
        f"valid spec rejected: {project}\n--- slogen.yaml\n{config_text}--- service.yaml\n"
        f"{service_text}"
    )
    (loaded,) = project.services
    assert loaded.name == service["service"]
    assert loaded.labels == tuple(sorted(service["labels"].items()))
    assert {p.name for p in project.policies} == set(config["policies"]) | {"workbook"}
    assert project.target("prometheus").option("dir") == "out/prom"
    assert [s.name for s in loaded.slos] == [s["name"] for s in service["slos"]]
    for slo, raw in zip(loaded.slos, service["slos"], strict=True):
        assert slo.objective == Fraction(str(raw["objective"]))
        assert slo.window == int(raw["window"][:-1]) * 86400
        assert format_duration(slo.window) in (raw["window"], f"{int(raw['window'][:-1]) // 7}w")
        assert slo.description == raw.get("description", "")
        policy_name = raw["alerting"]["policy"]
        assert slo.policy.name == policy_name
        expected = (
            WORKBOOK_TIERS if policy_name == "workbook" else _tiers(config["policies"][policy_name])
        )
        assert [(t.severity, t.budget, t.long, t.short) for t in slo.policy.tiers] == expected
        assert slo.alerting.min_events == raw["alerting"].get("min_events")
        for severity in slo.policy.severities:
            assert slo.alerting.for_severity(severity).datadog == (f"@{severity}-{raw['name']}",)


# Mutation sites: (file, path to a mapping or value, kind). Paths index into the plain data.
def _sites(config: dict, service: dict) -> list[tuple[str, tuple, str]]:
    sites: list[tuple[str, tuple, str]] = [
        ("service.yaml", (), "key"),
        ("service.yaml", ("service",), "type"),
        ("slogen.yaml", (), "key"),
        ("slogen.yaml", ("targets", "prometheus"), "key"),
    ]
    if service["labels"]:
        sites.append(("service.yaml", ("labels", sorted(service["labels"])[0]), "type"))
    for i, slo in enumerate(service["slos"]):
        base = ("slos", i)
        sites += [
            ("service.yaml", base, "key"),
            ("service.yaml", (*base, "name"), "type"),
            ("service.yaml", (*base, "objective"), "type"),
            ("service.yaml", (*base, "window"), "type"),
            ("service.yaml", (*base, "indicator"), "key"),
            ("service.yaml", (*base, "indicator", "prometheus"), "key"),
            ("service.yaml", (*base, "alerting"), "key"),
        ]
        for key in slo["alerting"]:
            if key not in ("policy", "min_events"):
                sites.append(("service.yaml", (*base, "alerting", key), "key"))
        if "min_events" in slo["alerting"]:
            sites.append(("service.yaml", (*base, "alerting", "min_events"), "type"))
    for name, tiers in config["policies"].items():
        for j in range(len(tiers)):
            tier = ("policies", name, j)
            sites += [
                ("slogen.yaml", tier, "key"),
                ("slogen.yaml", (*tier, "budget"), "type"),
                ("slogen.yaml", (*tier, "long"), "type"),
            ]
    return sites


WRONG_VALUES = {
    "service": ["x"],
    "name": 123,
    "objective": "high",
    "window": 30,
    "budget": 5,
    "long": 3600,
    "min_events": "many",
}


def _field_path(path: tuple) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _node(root: yaml.Node, path: tuple) -> yaml.Node:
    node = root
    for part in path:
        if isinstance(part, int):
            node = node.value[part]
        else:
            node = next(v for k, v in node.value if k.value == part)
    return node


@SETTINGS
@given(projects(), st.data())
def test_a_single_mistake_is_reported_once_at_its_location(
    data: tuple[dict, dict], choice: st.DataObject
) -> None:
    config, service = data
    file, path, kind = choice.draw(st.sampled_from(_sites(config, service)), label="site")
    target = config if file == "slogen.yaml" else service
    if kind == "key":
        key = choice.draw(st.from_regex(r"zz[a-z_]{0,6}", fullmatch=True), label="key")
        container = target
        for part in path:
            container = container[part]
        container[key] = "x"
        error_path = _field_path((*path, key))
    else:
        container = target
        for part in path[:-1]:
            container = container[part]
        container[path[-1]] = WRONG_VALUES.get(path[-1], 7)
        error_path = _field_path(path)
    result, config_text, service_text = _load(config, service)
    assert isinstance(result, list), f"mistake at {error_path} ({kind}) not reported"
    root = yaml.compose(config_text if file == "slogen.yaml" else service_text)
    if kind == "key":
        mapping = _node(root, path)
        node = next(k for k, _ in mapping.value if k.value == key)
    else:
        node = _node(root, path)
    where = (file, node.start_mark.line + 1, node.start_mark.column + 1, error_path)
    assert result == [where], (
        f"one mistake ({kind} at {error_path}) should give exactly one problem, at {where}\n"
        f"--- slogen.yaml\n{config_text}--- service.yaml\n{service_text}"
    )
