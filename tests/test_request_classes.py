"""Request classes (SRE Workbook ch. 5, "Alerting at Scale"): built-in and slogen.yaml classes,
the precedence spec > class > project default, NO_SLO building nothing, and explain's record
of where each value came from."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from slogen.engine.burnrate import analyse_tier
from slogen.errors import SlogenError
from slogen.spec.classes import BUILTIN_CLASSES, ticket_variant
from slogen.spec.loader import load_project, load_project_with_warnings
from slogen.spec.model import FROM_BUILTIN_CLASS, FROM_CLASS, FROM_DEFAULT, FROM_SPEC, Policy, Tier
from slogen.spec.settings import BUILTIN_POLICIES, CLASS_POLICIES
from tests.cli import run
from tests.conftest import SPECS

DAY = 86400
SOURCES = {
    "prometheus": {
        "errors": 'sum(rate(http_requests_total{code=~"5.."}[{{ window }}]))',
        "total": "sum(rate(http_requests_total[{{ window }}]))",
    },
    "datadog": {
        "errors": "sum:shop.requests.errors{env:prod}.as_count()",
        "total": "sum:shop.requests{env:prod}.as_count()",
    },
    "cloudwatch": {
        "region": "eu-west-1",
        "errors": {"namespace": "Shop", "metric": "Errors"},
        "total": {"namespace": "Shop", "metric": "Requests"},
    },
}


def slo(name: str, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "indicator": {"prometheus": SOURCES["prometheus"]}}
    entry.update(fields)
    return entry


def project_dir(tmp_path: Path, slos: list[dict[str, Any]], config: Any = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "shop.yaml").write_text(
        yaml.safe_dump({"service": "shop", "slos": slos}, sort_keys=False), encoding="utf-8"
    )
    if config is not None:
        text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
        (tmp_path / "slogen.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def load_slos(tmp_path: Path, slos: list[dict[str, Any]], config: Any = None) -> dict[str, Any]:
    project = load_project([str(project_dir(tmp_path, slos, config))])
    return {o.name: o for _s, o in project.slos()}


def origins(slo_: Any) -> dict[str, tuple[str, str | None]]:
    return {k: (o.source, o.request_class) for k, o in slo_.origins}


def errors(tmp_path: Path, slos: list[dict[str, Any]], config: Any = None) -> list[str]:
    with pytest.raises(SlogenError) as raised:
        load_project([str(project_dir(tmp_path, slos, config))])
    return [p.render() for p in raised.value.problems]


# -- the built-in classes ---------------------------------------------------------------------


def test_builtin_classes_are_the_workbooks_table() -> None:
    table = {
        name: (c.objective, c.window, c.policy, c.pages, c.alerts, dict(c.latency))
        for name, c in BUILTIN_CLASSES.items()
    }
    fast = {"p90": "100ms", "p99": "200ms"}
    assert table == {
        "CRITICAL": (Fraction(9999, 100), 30 * DAY, "workbook", True, True, fast),
        "HIGH_FAST": (Fraction(999, 10), 30 * DAY, "workbook", True, True, fast),
        "HIGH_SLOW": (
            Fraction(999, 10),
            30 * DAY,
            "workbook",
            True,
            True,
            {"p90": "1000ms", "p99": "5000ms"},
        ),
        "LOW": (Fraction(99), 30 * DAY, "tickets-only", False, True, {}),
        "NO_SLO": (None, None, None, True, False, {}),
    }


def test_tickets_only_never_fires_while_the_slo_is_met() -> None:
    """Every tier's burn rate is at least 1 over the 30 days it is made for (as the batch
    policy of specs/slogen.yaml reasons for 7 days), and every tier can fire at 99%."""
    policy = CLASS_POLICIES["tickets-only"]
    assert policy.severities == ("ticket",)
    for tier in policy.tiers:
        math = analyse_tier(Fraction(99), 30 * DAY, tier)
        assert math.burn_rate >= 1 and math.can_fire, tier.id
    assert [analyse_tier(Fraction(99), 30 * DAY, t).burn_rate for t in policy.tiers] == [6, 1]


def test_builtin_classes_resolve(tmp_path: Path) -> None:
    slos = load_slos(
        tmp_path,
        [slo(name.lower().replace("_", "-"), **{"class": name}) for name in BUILTIN_CLASSES],
    )
    assert sorted(slos) == ["critical", "high-fast", "high-slow", "low"]
    critical = slos["critical"]
    assert (critical.objective, critical.window) == (Fraction(9999, 100), 30 * DAY)
    assert critical.policy == BUILTIN_POLICIES["workbook"]
    assert critical.request_class == "CRITICAL"
    assert origins(critical) == {
        "class": (FROM_BUILTIN_CLASS, "CRITICAL"),
        "objective": (FROM_BUILTIN_CLASS, "CRITICAL"),
        "window": (FROM_BUILTIN_CLASS, "CRITICAL"),
        "policy": (FROM_BUILTIN_CLASS, "CRITICAL"),
        "min_events": (FROM_DEFAULT, None),
    }
    low = slos["low"]
    assert low.policy == CLASS_POLICIES["tickets-only"]
    assert {t.severity for t in low.policy.tiers} == {"ticket"}


def test_a_class_changes_nothing_but_its_values(tmp_path: Path) -> None:
    """An SLO of a class equals the SLO that spells the same values out (a policy the class
    chose counts as named, as it is not the project default): nothing after the loader can
    tell them apart, as the origins are outside equality, like locations."""
    by_class = load_slos(tmp_path / "a", [slo("x", **{"class": "HIGH_FAST"})])["x"]
    spelt = load_slos(
        tmp_path / "b",
        [slo("x", objective=99.9, window="30d", alerting={"policy": "workbook"})],
    )["x"]
    assert by_class == spelt
    assert by_class.request_class == "HIGH_FAST" and spelt.request_class is None


def test_default_policy_may_be_a_class_policy(tmp_path: Path) -> None:
    x = load_slos(
        tmp_path, [slo("x", objective=99, window="30d")], {"default_policy": "tickets-only"}
    )
    assert x["x"].policy == CLASS_POLICIES["tickets-only"] and x["x"].alerting.policy is None


def test_used_class_policies_are_listed_unused_are_not(tmp_path: Path) -> None:
    project = load_project([str(project_dir(tmp_path, [slo("x", **{"class": "LOW"})]))])
    assert [p.name for p in project.policies] == ["tickets-only", "workbook"]
    project = load_project([str(project_dir(tmp_path, [slo("x", **{"class": "CRITICAL"})]))])
    assert [p.name for p in project.policies] == ["workbook"]


# -- classes in slogen.yaml and precedence ----------------------------------------------------

CONFIG = {
    "policies": {
        "batch": [
            {"severity": "ticket", "budget": "5%", "long": "6h", "short": "30m"},
            {"severity": "ticket", "budget": "12.5%", "long": "21h"},
        ]
    },
    "classes": {
        "BATCH": {
            "description": "nightly exports",
            "objective": 99.5,
            "window": "7d",
            "policy": "batch",
            "min_events": 50,
        },
        "PLAIN": {"objective": 98},
        "LOW": {"objective": 97, "window": "30d", "policy": "workbook"},
    },
}


def test_a_user_class(tmp_path: Path) -> None:
    x = load_slos(tmp_path, [slo("x", **{"class": "BATCH"})], CONFIG)["x"]
    assert (x.objective, x.window, x.policy.name) == (Fraction(995, 10), 7 * DAY, "batch")
    assert (x.alerting.policy, x.alerting.min_events) == ("batch", 50)
    found = dict(x.origins)
    assert {k: o.source for k, o in found.items()} == dict.fromkeys(
        ("class", "objective", "window", "policy", "min_events"), FROM_CLASS
    )
    config = tmp_path / "slogen.yaml"
    line = config.read_text().splitlines().index("    objective: 99.5") + 1
    assert (found["objective"].location.file, found["objective"].location.line) == (
        str(config),
        line,
    )
    assert found["objective"].describe() == "class `BATCH` from slogen.yaml"


def test_explicit_field_beats_class_beats_project_default(tmp_path: Path) -> None:
    slos = load_slos(
        tmp_path,
        [
            # objective from the spec, window and min_events from the class, policy too
            slo("a", **{"class": "BATCH"}, objective=99.9),
            # the spec's own policy and min_events win over the class's
            slo("b", **{"class": "BATCH"}, alerting={"policy": "workbook", "min_events": 5}),
            # PLAIN sets no policy: the project default; no min_events anywhere
            slo("c", **{"class": "PLAIN"}, window="30d"),
        ],
        {**CONFIG, "default_policy": "batch"},
    )
    a, b, c = slos["a"], slos["b"], slos["c"]
    assert (a.objective, a.window, a.policy.name, a.alerting.min_events) == (
        Fraction(999, 10),
        7 * DAY,
        "batch",
        50,
    )
    assert origins(a)["objective"] == (FROM_SPEC, None)
    assert origins(a)["window"] == (FROM_CLASS, "BATCH")
    assert (b.policy.name, b.alerting.policy, b.alerting.min_events) == ("workbook", "workbook", 5)
    assert origins(b)["policy"] == origins(b)["min_events"] == (FROM_SPEC, None)
    assert (c.objective, c.window, c.policy.name) == (Fraction(98), 30 * DAY, "batch")
    assert c.alerting.policy is None and c.alerting.min_events is None
    assert origins(c)["policy"] == origins(c)["min_events"] == (FROM_DEFAULT, None)
    assert origins(c)["window"] == (FROM_SPEC, None)


def test_a_user_class_replaces_the_builtin_one(tmp_path: Path) -> None:
    low = load_slos(tmp_path, [slo("x", **{"class": "LOW"})], CONFIG)["x"]
    assert (low.objective, low.policy.name) == (Fraction(97), "workbook")
    assert origins(low)["class"] == (FROM_CLASS, "LOW")
    # what the replacing class leaves out is not taken from the built-in LOW
    config = {"classes": {"LOW": {"objective": 97}}}
    problems = errors(tmp_path, [slo("x", **{"class": "LOW"})], config)
    assert any(
        "slos[0].window: missing required key 'window'" in p and "class 'LOW' does not set" in p
        for p in problems
    ), problems


def test_an_slo_without_class_needs_what_it_always_needed(tmp_path: Path) -> None:
    problems = errors(tmp_path, [{"name": "x"}])
    assert [p.split(": ", 2)[2] for p in problems] == [
        "slos[0].indicator: missing required key 'indicator'\n  hint: add 'indicator:' to this "
        "mapping",
        "slos[0].objective: missing required key 'objective'\n  hint: add 'objective:' to this "
        "mapping",
        "slos[0].window: missing required key 'window'\n  hint: add 'window:' to this mapping",
    ]


# -- pages ------------------------------------------------------------------------------------


def test_pages_false_delivers_every_tier_as_a_ticket(tmp_path: Path) -> None:
    config = {"classes": {"QUIET": {"objective": 99.9, "window": "30d", "pages": False}}}
    x = load_slos(tmp_path, [slo("x", **{"class": "QUIET"})], config)["x"]
    workbook = BUILTIN_POLICIES["workbook"]
    assert x.policy.name == "workbook (tickets only)"
    assert [t.id for t in x.policy.tiers] == ["ticket-1h", "ticket-6h", "ticket-3d"]
    assert [(t.budget, t.long, t.short) for t in x.policy.tiers] == [
        (t.budget, t.long, t.short) for t in workbook.tiers
    ]
    assert origins(x)["policy"] == (FROM_CLASS, "QUIET")
    # a page block is now one that would never be used
    problems = errors(
        tmp_path,
        [slo("x", **{"class": "QUIET"}, alerting={"page": {"datadog": ["@pager"]}})],
        config,
    )
    assert any("policy 'workbook (tickets only)' has no 'page' tier" in p for p in problems)


def test_ticket_variant_refuses_a_clash() -> None:
    mixed = Policy(
        "mixed", (Tier("page", Fraction(2, 100), 3600, 300), Tier("ticket", 1, 3600, 300))
    )
    variant, why = ticket_variant(mixed)
    assert variant is None and "tier 'ticket-1h' twice" in why
    assert ticket_variant(CLASS_POLICIES["tickets-only"]) == (CLASS_POLICIES["tickets-only"], "")


# -- NO_SLO -----------------------------------------------------------------------------------


def test_no_slo_builds_nothing_and_says_so(tmp_path: Path) -> None:
    specs = project_dir(
        tmp_path / "specs",
        [
            {"name": "availability", "objective": 99.9, "window": "30d", "indicator": SOURCES},
            {"name": "canary", "class": "NO_SLO", "indicator": SOURCES},
            {"name": "probe", "class": "NO_SLO", "description": "synthetic"},
        ],
    )
    out = tmp_path / "out"
    validated = run("validate", str(specs))
    assert validated.stdout.startswith("Valid: 1 service, 1 SLO")
    assert "note: slos[1].class: SLO 'canary' is of class 'NO_SLO'" in validated.stderr
    assert "no alerts are built for it" in validated.stderr
    run("build", str(specs), "-o", str(out))
    written = {p.relative_to(out).parts[0]: p.read_text() for p in out.rglob("*") if p.is_file()}
    assert {"prometheus", "datadog", "cloudwatch"} <= set(written)
    everything = "\n".join(written.values())
    assert "availability" in everything
    assert "canary" not in everything and "probe" not in everything
    project = load_project([str(specs)])
    (service,) = project.services
    assert [o.name for o in service.slos] == ["availability"]
    assert [(e.name, e.request_class, e.objective) for e in service.exempt] == [
        ("canary", "NO_SLO", None),
        ("probe", "NO_SLO", None),
    ]
    text = run("explain", str(specs), "--slo", "shop/canary").stdout
    assert "shop/canary: class NO_SLO (built in) builds no alerts" in text
    (report,) = json.loads(
        run("explain", str(specs), "--slo", "shop/probe", "--format", "json").stdout
    )
    assert (report["class"], report["alerts"], report["tiers"]) == ("NO_SLO", False, [])


def test_a_service_of_no_slo_entries_only_loads_and_renders_nothing(tmp_path: Path) -> None:
    specs = project_dir(tmp_path / "specs", [{"name": "probe", "class": "NO_SLO"}])
    project, problems = load_project_with_warnings([str(specs)])
    assert [s.name for s in project.services] == ["shop"] and not list(project.slos())
    assert [p.severity for p in problems] == ["note"]
    run("build", str(specs), "-o", str(tmp_path / "out"))
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file() and "shop" in p.name]


def test_no_slo_still_checks_what_it_gives(tmp_path: Path) -> None:
    problems = errors(
        tmp_path,
        [
            {"name": "a", "class": "NO_SLO", "alerting": {"policy": "workbook"}},
            {"name": "b", "class": "NO_SLO", "objective": 100},
            {"name": "c", "class": "NO_SLO", "indicator": {"prometheus": {"total": "x"}}},
        ],
    )
    text = "\n".join(problems)
    assert "slos[0].alerting: class 'NO_SLO' builds no alerts, so this block would never" in text
    assert "slos[1].objective: expected a percentage between 0 and 100 (exclusive)" in text
    assert "slos[2].indicator.prometheus" in text


def test_a_user_class_without_alerts(tmp_path: Path) -> None:
    config = {"classes": {"DRAFT": {"alerts": False, "description": "not yet agreed"}}}
    specs = project_dir(tmp_path, [slo("x", **{"class": "DRAFT"}, objective=99)], config)
    project = load_project([str(specs)])
    (entry,) = project.services[0].exempt
    assert (entry.request_class, entry.objective) == ("DRAFT", Fraction(99))
    assert entry.origin is not None and entry.origin.source == FROM_CLASS


# -- bad input --------------------------------------------------------------------------------


def test_unknown_class_is_a_located_error_with_a_hint(tmp_path: Path) -> None:
    specs = project_dir(
        tmp_path,
        [
            slo("a", **{"class": "HIGH_SLO"}),
            slo("b", **{"class": "high_slow"}),
            slo("c", **{"class": "ZZZ"}),
            slo("d", **{"class": 42}),
        ],
    )
    result = run("validate", str(specs), exit_code=1)
    assert "Traceback" not in result.output
    file = str(specs / "shop.yaml")
    assert f"{file}:" in result.stderr
    lines = result.stderr
    assert "slos[0].class: unknown class 'HIGH_SLO'\n  hint: did you mean 'HIGH_SLOW'?" in lines
    assert (
        "slos[1].class: unknown class 'high_slow'\n  hint: did you mean 'HIGH_SLOW'? (class"
        in lines
    )
    assert "slos[2].class: unknown class 'ZZZ'\n  hint: known classes: CRITICAL, HIGH_FAST" in lines
    assert (
        "slos[3].class: expected a request class name such as HIGH_SLOW, found number 42" in lines
    )
    # a class that is unknown may have set objective and window: they are not reported missing
    assert "missing required key" not in lines


def test_bad_classes_in_slogen_yaml(tmp_path: Path) -> None:
    config = """classes:
  low_prio: {objective: 99}
  BAD: {objective: 100, policy: workbok, colour: red}
  SILENT: {alerts: false, policy: workbook}
  PAGER: {pages: "no"}
"""
    result = run(
        "validate", str(project_dir(tmp_path, [slo("x", **{"class": "BAD"})], config)), exit_code=1
    )
    err = result.stderr
    yml = str(tmp_path / "slogen.yaml")
    assert f"{yml}:2:3: error: classes.low_prio: expected a class name of upper-case" in err
    assert "classes.BAD.objective: expected a percentage between 0 and 100" in err
    assert "classes.BAD.policy: unknown policy 'workbok'\n  hint: did you mean 'workbook'?" in err
    assert "classes.BAD.colour: unknown key 'colour'" in err
    assert "classes.SILENT.policy: class 'SILENT' has 'alerts: false'" in err
    assert "classes.PAGER.pages: expected true or false, found string 'no'" in err
    # the SLO of the broken class is not reported again
    assert "slos[0]" not in err


def test_a_class_window_the_policy_does_not_fit_is_reported_at_class(tmp_path: Path) -> None:
    config = {"classes": {"SHORT": {"objective": 99.9, "window": "1d", "policy": "workbook"}}}
    problems = errors(tmp_path, [slo("x", **{"class": "SHORT"})], config)
    assert len(problems) == 1
    assert (
        "slos[0].class: policy 'workbook' tier 'ticket-3d' has a long window of 3d" in problems[0]
    )


def test_validate_passing_means_build_passes(tmp_path: Path) -> None:
    config = {"classes": {"BATCH": {"objective": 99, "window": "30d", "pages": False}}}
    specs = project_dir(
        tmp_path / "specs",
        [
            {"name": "a", "class": "CRITICAL", "indicator": SOURCES},
            {
                "name": "b",
                "class": "LOW",
                "indicator": SOURCES,
                "alerting": {
                    "ticket": {
                        "datadog": ["@t"],
                        "cloudwatch": ["arn:aws:sns:eu-west-1:123456789012:t"],
                    }
                },
            },
            {"name": "c", "class": "BATCH", "indicator": SOURCES},
        ],
        config,
    )
    run("validate", str(specs))
    run("build", str(specs), "-o", str(tmp_path / "out"))


# -- explain ----------------------------------------------------------------------------------


def test_explain_shows_where_each_value_came_from(tmp_path: Path) -> None:
    specs = project_dir(
        tmp_path,
        [
            slo("search", **{"class": "HIGH_SLOW"}, objective=99.5),
            slo("export", **{"class": "BATCH"}),
        ],
        CONFIG,
    )
    text = run("explain", str(specs)).stdout
    assert (
        "class HIGH_SLOW (built in); values from: objective 99.5% (spec), window 30d (built-in "
        "class `HIGH_SLOW`), policy workbook (built-in class `HIGH_SLOW`), min_events not set "
        "(project default)"
    ) in text
    assert "the Workbook's latency thresholds for HIGH_SLOW: 90% of requests within 1000ms" in text
    config = str(tmp_path / "slogen.yaml")
    assert f"class BATCH (defined in {config}:" in text
    assert "policy batch (class `BATCH` from slogen.yaml)" in text
    reports = json.loads(run("explain", str(specs), "--format", "json").stdout)
    search, export = reports
    assert (search["class"], search["alerts"]) == ("HIGH_SLOW", True)
    assert search["sources"]["objective"]["source"] == "spec"
    assert search["sources"]["objective"]["location"].startswith(str(specs / "shop.yaml") + ":")
    assert search["sources"]["window"] == {
        "source": "built-in class",
        "class": "HIGH_SLOW",
        "location": "<built-in>",
        "from": "built-in class `HIGH_SLOW`",
    }
    assert search["sources"]["min_events"]["source"] == "project default"
    assert search["latency_guidance"]["p99"] == "5000ms"
    assert export["sources"]["min_events"]["location"].startswith(config + ":")
    assert "latency_guidance" not in export  # a class of slogen.yaml has no Workbook thresholds


def test_specs_without_classes_are_unchanged() -> None:
    """The example specs name no class: no origins of a class, no notes, no new policies, and
    explain reports without class fields (the goldens pin the rest)."""
    project, problems = load_project_with_warnings([str(SPECS)])
    assert not [p for p in problems if p.severity == "note"]
    assert all(o.request_class is None for _s, o in project.slos())
    assert all(not s.exempt for s in project.services)
    assert [p.name for p in project.policies] == ["batch", "four-weeks", "workbook"]
    reports = json.loads(run("explain", str(SPECS), "--format", "json").stdout)
    assert all("class" not in r and "sources" not in r for r in reports)
