"""``slogen import sloth``: Sloth specs become slogen specs that validate, build and pass
``slogen test``, with Sloth's alert windows and thresholds, and every lossy step a located
warning. The Sloth files are under tests/interop/sloth (see its README for their sources)."""

from __future__ import annotations

import json
import re
import shutil
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from slogen.interop.sloth_read import split_documents
from slogen.interop.sloth_sli import QueryError, split_ratio, window_query
from tests.cli import Result, run
from tests.conftest import ROOT

DATA = ROOT / "tests" / "interop" / "sloth"
GOOD = [
    DATA / "getting-started.yml",
    DATA / "kubernetes-apiserver.yml",
    DATA / "k8s-services.yml",
    DATA / "raw-ratio.yml",
    DATA / "disabled-ticket.yml",
]
LOCATED = re.compile(r"^(?P<file>\S+\.ya?ml):(?P<line>\d+):(?P<col>\d+): (?P<sev>warning|error): ")

# Sloth's built-in alert windows, the same for its 30d and 28d SLO periods (slok/sloth
# internal/alert/windows/google-30d.yaml, google-28d.yaml): severity, error budget percent,
# long window, short window.
SLOTH_WINDOWS = [
    ("page", 2, "1h", "5m"),
    ("page", 5, "6h", "30m"),
    ("ticket", 10, "1d", "2h"),
    ("ticket", 10, "3d", "6h"),
]
HOURS = {"1h": 1, "6h": 6, "1d": 24, "3d": 72, "30d": 720, "28d": 672}


def sloth_factor(budget_percent: int, period: str, long: str) -> Fraction:
    """Sloth's burn-rate factor (internal/alert/window.go, getBurnRateFactor): the hours that
    consume the budget share over the period, divided by the long window's hours."""
    return Fraction(budget_percent) * HOURS[period] / 100 / HOURS[long]


def sloth_import(*args: str, exit_code: int = 0) -> Result:
    """Run ``slogen import sloth ARGS`` through the command group that holds it."""
    try:
        from slogen.cli.interop import import_group

        command, prefix = import_group, ["sloth"]
    except ImportError:
        from slogen.cli.interop_sloth import sloth

        command, prefix = sloth, []
    result = CliRunner().invoke(command, prefix + list(args), catch_exceptions=False)
    out = Result(result.exit_code, result.stdout, result.stderr)
    assert result.exit_code == exit_code, f"exit {result.exit_code}\n{out.stdout}\n{out.stderr}"
    return out


def problem_lines(text: str) -> list[str]:
    """The first line of each printed problem (hints are indented)."""
    return [line for line in text.splitlines() if re.search(r": (warning|error): ", line)]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("sloth") / "specs"
    return out, sloth_import(*map(str, GOOD), "-o", str(out))


def test_import_writes_specs_that_validate_and_build(imported, tmp_path):
    out, result = imported
    assert sorted(p.name for p in out.iterdir()) == [
        "k8s-apiserver.yaml",
        "myservice-k8s.yaml",
        "myservice.yaml",
        "myservice2-k8s.yaml",
        "payments-api.yaml",
        "search.yaml",
        "slogen.yaml",
    ]
    assert "8 SLOs of 6 services" in result.stdout
    assert "30d" in result.stdout  # says which SLO period it assumed
    validated = run("validate", str(out))
    assert "Valid: 6 services, 8 SLOs." in validated.stdout
    assert "warning" not in validated.output
    built = run("build", str(out), "-o", str(tmp_path / "out"))
    assert "prometheus: wrote 6 files" in built.stdout


def test_every_warning_names_the_sloth_file_and_line(imported):
    _out, result = imported
    lines = problem_lines(result.stderr)
    assert lines, result.stderr
    for line in lines:
        match = LOCATED.match(line)
        assert match and match["sev"] == "warning", line
        assert Path(match["file"]).resolve().parent == DATA, line
        assert int(match["line"]) > 0 and int(match["col"]) > 0, line
    text = "\n".join(lines)
    for expected in (
        r"getting-started\.yml:8:3: warning: labels\.tier: label 'tier: 2' not imported",
        r"getting-started\.yml:19:13: warning: slos\[0\]\.alerting\.name: alert name "
        r"'MyServiceHighErrorRate' not imported",
        r"getting-started\.yml:24:9: warning: slos\[0\]\.alerting\.annotations\.summary",
        r"getting-started\.yml:27:11: warning: slos\[0\]\.alerting\.page_alert\.labels\.severity",
        r"disabled-ticket\.yml:27:18: warning: slos\[0\]\.alerting\.ticket_alert\.disable: "
        r"ticket_alert is disabled: the SLO uses policy 'sloth-page'",
        r"k8s-services\.yml:4:1: warning: skipped v1/Namespace: not a Sloth spec",
        r"k8s-services\.yml:12:3: warning: metadata: .*namespace monitoring",
        r"k8s-services\.yml:35:13: warning: spec\.slos\[0\]\.alerting\.pageAlert\.labels\.severity",
        r"raw-ratio\.yml:13:28: warning: slos\[0\]\.sli\.raw\.error_ratio_query: raw error "
        r"ratio split into errors and total",
    ):
        assert re.search(expected, text), expected


def test_spec_content_follows_sloth(imported):
    out, _result = imported
    spec = yaml.safe_load((out / "myservice.yaml").read_text())
    assert spec["owner"] == "myteam"
    assert spec["labels"] == {"repo": "myorg/myservice"}  # `tier` is slogen's own label
    slo = spec["slos"][0]
    assert slo["window"] == "30d" and slo["objective"] == 99.9
    assert slo["category"] == "availability"
    assert slo["indicator"]["prometheus"] == {
        "errors": 'sum(rate(http_request_duration_seconds_count{job="myservice",'
        'code=~"(5..|429)"}[{{ window }}]))',
        "total": 'sum(rate(http_request_duration_seconds_count{job="myservice"}[{{ window }}]))',
    }
    assert slo["alerting"] == {
        "policy": "sloth",
        "page": {"prometheus": {"category": "availability", "routing_key": "myteam"}},
        "ticket": {"prometheus": {"category": "availability", "slack_channel": "#alerts-myteam"}},
    }
    k8s = yaml.safe_load((out / "myservice2-k8s.yaml").read_text())
    assert k8s["owner"] == "myteam2"  # from the `team` label
    raw = yaml.safe_load((out / "payments-api.yaml").read_text())["slos"][0]
    assert raw["indicator"]["prometheus"] == {
        "errors": 'sum(rate(http_requests_total{job="payments-api",code=~"5.."}[{{ window }}]))',
        "total": 'sum(rate(http_requests_total{job="payments-api"}[{{ window }}]))',
    }
    search = yaml.safe_load((out / "search.yaml").read_text())["slos"]
    assert search[0]["alerting"] == {
        "policy": "sloth-page",
        "runbook": "https://runbooks.example.com/search/latency",
    }
    apiserver = yaml.safe_load((out / "k8s-apiserver.yaml").read_text())["slos"]
    assert apiserver[1]["alerting"]["runbook"].endswith("#alert-name-kubeapilatencyhigh")
    settings = yaml.safe_load((out / "slogen.yaml").read_text())
    assert settings["policies"]["sloth-page"] == [
        {"severity": "page", "budget": "2%", "long": "1h", "short": "5m"},
        {"severity": "page", "budget": "5%", "long": "6h", "short": "30m"},
    ]


def _explain(out: Path, slo: str) -> list[dict]:
    report = json.loads(run("explain", str(out), "--slo", slo, "--format", "json").stdout)
    return report[0]["tiers"]


def _alerts(rule_file: Path, slo: str) -> dict[str, dict]:
    groups = yaml.safe_load(rule_file.read_text())["groups"]
    return {
        rule["labels"]["tier"]: rule
        for group in groups
        for rule in group["rules"]
        if "alert" in rule and rule["labels"].get("slo") == slo
    }


@pytest.mark.parametrize(
    ("service", "slo", "objective"),
    [("myservice", "requests-availability", "99.9"), ("k8s-apiserver", "requests-latency", "99")],
)
def test_alert_windows_and_thresholds_equal_sloths(imported, tmp_path, service, slo, objective):
    out, _result = imported
    error_budget = (100 - Fraction(objective)) / 100
    expected = {
        f"{severity}-{long}": (long, short, sloth_factor(budget, "30d", long) * error_budget)
        for severity, budget, long, short in SLOTH_WINDOWS
    }
    tiers = _explain(out, f"{service}/{slo}")
    assert {
        t["tier"]: (t["long_window"], t["short_window"], Fraction(t["threshold_exact"]))
        for t in tiers
    } == expected
    run("build", str(out), "-o", str(tmp_path / "out"))
    alerts = _alerts(tmp_path / "out" / "prometheus" / f"{service}.rules.yml", slo)
    assert set(alerts) == set(expected)
    for tier, (long, short, threshold) in expected.items():
        found = re.findall(r"rate(\w+)\{[^}]*\} > ([0-9.e-]+)", alerts[tier]["expr"])
        assert sorted((window, Fraction(value)) for window, value in found) == sorted(
            [(long, threshold), (short, threshold)]
        )
        severity = tier.split("-")[0]
        assert alerts[tier]["labels"]["severity"] == severity
    if service == "myservice":
        assert alerts["page-1h"]["labels"]["routing_key"] == "myteam"
        assert alerts["ticket-3d"]["labels"]["slack_channel"] == "#alerts-myteam"


def test_28_day_period_keeps_sloths_factors(tmp_path):
    out = tmp_path / "specs"
    result = sloth_import(str(GOOD[0]), "-o", str(out), "--default-slo-period", "28d")
    assert "28d" in result.stdout
    tiers = {t["tier"]: t for t in _explain(out, "myservice/requests-availability")}
    assert set(tiers) == {f"{s}-{long}" for s, _b, long, _s in SLOTH_WINDOWS}
    for severity, budget, long, short in SLOTH_WINDOWS:
        tier = tiers[f"{severity}-{long}"]
        # 13.44, 5.6, 2.8 and 14/15 (written with 10 significant digits)
        factor = sloth_factor(budget, "28d", long)
        assert abs(Fraction(tier["burn_rate_exact"]) - factor) < Fraction(1, 10**9)
        assert (tier["long_window"], tier["short_window"]) == (long, short)
    lines = problem_lines(result.stderr)
    for line in lines:
        assert LOCATED.match(line), line
    # Sloth's ticket-slow tier fires below a burn rate of 1 over 28 days: slogen says so
    assert any("ticket-3d" in line and ": warning: " in line for line in lines), lines


def test_slogen_test_proves_the_imported_alerts(imported):
    out, _result = imported
    # Every imported SLO, on Sloth's fastest page tier and on the 1d ticket tier slogen's
    # workbook policy lacks (the 3d tiers' proofs are the slow ones: one SLO has them below).
    every = run("test", str(out), "-q", "--tier", "page-1h", "--tier", "ticket-1d")
    assert re.search(r"\b60 scenarios passed, 0 failed", every.stdout), every.stdout
    one = run("test", str(out), "--slo", "myservice/requests-availability", "-q")
    assert re.search(r"\b16 scenarios passed, 0 failed", one.stdout), one.stdout


def _assert_nothing_written(out: Path) -> None:
    assert not out.exists() or not any(out.iterdir())


def test_plugin_sli_is_a_located_error_and_nothing_is_written(tmp_path):
    out = tmp_path / "specs"
    result = sloth_import(
        str(GOOD[0]), str(DATA / "unsupported" / "plugin-sli.yml"), "-o", str(out), exit_code=1
    )
    errors = [line for line in problem_lines(result.stderr) if ": error: " in line]
    assert len(errors) == 1
    assert re.match(
        r"\S+plugin-sli\.yml:13:9: error: slos\[0\]\.sli\.plugin: SLI plugin "
        r"getting_started_availability is not supported",
        errors[0],
    )
    assert "hint: write the query the plugin generates" in result.stderr
    assert "nothing was written" in result.stderr
    assert "Traceback" not in result.output
    _assert_nothing_written(out)


def test_raw_ratio_that_is_not_errors_over_total_explains_why(tmp_path):
    out = tmp_path / "specs"
    result = sloth_import(
        str(DATA / "unsupported" / "raw-average.yml"), "-o", str(out), exit_code=1
    )
    assert re.search(
        r"raw-average\.yml:12:28: error: slos\[0\]\.sli\.raw\.error_ratio_query: a raw SLI is "
        r"an error ratio, and slogen needs the events behind it: .*ratio of sums",
        result.stderr,
    )
    assert "hint: write the SLO as an events SLI (error_query and total_query" in result.stderr
    _assert_nothing_written(out)


def test_what_slogen_validate_refuses_points_at_the_sloth_line(tmp_path):
    out = tmp_path / "specs"
    result = sloth_import(
        str(DATA / "unsupported" / "raw-home-wifi.yml"), "-o", str(out), exit_code=1
    )
    errors = [line for line in problem_lines(result.stderr) if ": error: " in line]
    assert len(errors) == 2
    for line in errors:
        assert re.match(r"\S+raw-home-wifi\.yml:17:28: error: slos\[0\]\.sli\.raw\.", line), line
    assert "range of sum_over_time()" in errors[0] + errors[1]
    assert "when slogen checks the imported specs; nothing was written" in result.stderr
    _assert_nothing_written(out)


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


SIMPLE = """\
version: "prometheus/v1"
service: "svc"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))
"""


def test_both_alerts_disabled_is_an_error(tmp_path):
    spec = SIMPLE + "    alerting:\n      page_alert: {disable: true}\n"
    spec += "      ticket_alert: {disable: true}\n"
    result = sloth_import(_write(tmp_path, "s.yml", spec), "-o", str(tmp_path / "o"), exit_code=1)
    assert re.search(
        r"s\.yml:11:7: error: slos\[0\]\.alerting: both alerts are disabled", result.stderr
    )


def test_unknown_and_misspelt_keys(tmp_path):
    spec = SIMPLE.replace("error_query", "errorQuery") + "    infoLabels: {a: b}\n"
    result = sloth_import(_write(tmp_path, "s.yml", spec), "-o", str(tmp_path / "o"), exit_code=1)
    assert re.search(
        r"s\.yml:8:9: warning: slos\[0\]\.sli\.events\.errorQuery: unknown key 'errorQuery'.*\n"
        r"  hint: did you mean 'error_query'\?",
        result.stderr,
    )
    assert re.search(
        r"s\.yml:8:9: error: slos\[0\]\.sli\.events: missing required key", result.stderr
    )
    assert re.search(r"s\.yml:10:5: warning: slos\[0\]\.infoLabels: not imported", result.stderr)


def test_not_a_sloth_file_and_bad_yaml(tmp_path):
    other = _write(tmp_path, "o.yml", "apiVersion: openslo/v1\nkind: SLO\n")
    result = sloth_import(other, "-o", str(tmp_path / "o"), exit_code=1)
    assert re.search(r"o\.yml:1:1: error: apiVersion: an OpenSLO document", result.stderr)
    assert "slogen import openslo" in result.stderr
    broken = _write(tmp_path, "b.yml", 'version: "prometheus/v1"\nslos: [\n')
    result = sloth_import(broken, "-o", str(tmp_path / "o"), exit_code=1)
    assert re.search(r"b\.yml:\d+:\d+: error: invalid YAML", result.stderr)
    assert "Traceback" not in result.output


def test_second_import_refuses_to_overwrite(imported, tmp_path):
    out, _result = imported
    copy = tmp_path / "specs"
    shutil.copytree(out, copy)
    before = {p.name: p.read_text() for p in copy.iterdir()}
    result = sloth_import(str(GOOD[0]), "-o", str(copy), exit_code=1)
    assert "already has myservice.yaml" in result.stderr
    assert {p.name: p.read_text() for p in copy.iterdir()} == before


def test_existing_settings_with_sloths_policies_are_kept(imported, tmp_path):
    out, _result = imported
    target = tmp_path / "specs"
    target.mkdir()
    shutil.copy(out / "slogen.yaml", target / "slogen.yaml")
    sloth_import(str(GOOD[3]), "-o", str(target))
    assert (target / "slogen.yaml").read_text() == (out / "slogen.yaml").read_text()
    (target / "payments-api.yaml").unlink()
    (target / "slogen.yaml").write_text(
        "policies: {sloth: [{severity: page, budget: 2%, long: 1h}]}\n"
    )
    result = sloth_import(str(GOOD[3]), "-o", str(target), exit_code=1)
    assert "does not define 'sloth' as Sloth's alert windows" in result.stderr
    assert not (target / "payments-api.yaml").exists()


def test_documents_of_one_service_are_merged(tmp_path):
    second = SIMPLE.replace('"availability"', '"latency"')
    path = _write(tmp_path, "multi.yml", SIMPLE + "---\n" + second)
    sloth_import(path, "-o", str(tmp_path / "o"))
    spec = yaml.safe_load((tmp_path / "o" / "svc.yaml").read_text())
    assert [s["name"] for s in spec["slos"]] == ["availability", "latency"]
    clash = _write(tmp_path, "clash.yml", SIMPLE + "---\n" + SIMPLE)
    result = sloth_import(clash, "-o", str(tmp_path / "c"), exit_code=1)
    assert re.search(
        r"clash\.yml:11:1: error: service: service 'svc' was already imported", result.stderr
    )


def test_window_placeholder_and_ratio_splitting():
    assert window_query("sum(rate(x[{{.window}}]))") == "sum(rate(x[{{ window }}]))"
    assert window_query("rate(x[{{ .window }}])") == "rate(x[{{ window }}])"
    with pytest.raises(QueryError, match=r"no \{\{\.window\}\}"):
        window_query("sum(rate(x[5m]))")
    with pytest.raises(QueryError, match="Go template"):
        window_query("sum(rate(x{a='{{.service}}'}[{{.window}}]))")
    split = split_ratio('(sum(rate(e{p="a/b"}[{{ window }}]))\n/\nsum(rate(t[{{ window }}])))')
    assert (split.side, split.numerator, split.total) == (
        "errors",
        'sum(rate(e{p="a/b"}[{{ window }}]))',
        "sum(rate(t[{{ window }}]))",
    )
    good = split_ratio("1 - (sum(rate(g[{{ window }}])) / sum(rate(t[{{ window }}])))")
    assert (good.side, good.numerator) == ("good", "sum(rate(g[{{ window }}]))")
    for refused in (
        "1 - avg_over_time(up[{{ window }}])",
        "sum(rate(e[{{ window }}])) / on() sum(rate(t[{{ window }}]))",
        "sum(rate(e[{{ window }}])) / sum(rate(t[{{ window }}])) > 0",
        "slo:error_ratio / 2",
    ):
        with pytest.raises(QueryError):
            split_ratio(refused)


def test_documents_keep_their_line_numbers():
    text = "# c\n---\na: 1\n---\nb: 2\n...\n--- {c: 3}\n"
    docs = split_documents(text)
    assert [first for first, _body in docs] == [0, 1, 3, 6]
    assert [body.count("\n") for _first, body in docs] == [1, 3, 5, 7]


def test_newer_sloth_fields_and_annotations(tmp_path):
    spec = (
        SIMPLE.replace('service: "svc"\n', 'service: "svc"\nslo_plugins: {chain: []}\n')
        + """    labels: {journey: checkout}
    alerting:
      name: SvcErrors
      annotations:
        summary: "Too many errors on svc"
        dashboard: "https://grafana.example.com/d/svc"
      page_alert:
        for: 5m
        annotations:
          runbook_url: "https://runbooks.example.com/svc"
"""
    )
    path = _write(tmp_path, "n.yml", spec)
    result = sloth_import(path, "-o", str(tmp_path / "o"))
    text = result.stderr
    for expected in (
        r"n\.yml:3:1: warning: slo_plugins: not imported: Sloth SLO plugins",
        r"n\.yml:11:13: warning: slos\[0\]\.labels: SLO labels go on this SLO's alerts only",
        r"n\.yml:15:18: warning: slos\[0\]\.alerting\.annotations\.summary: annotation "
        r"'summary' becomes the SLO's description",
        r"n\.yml:16:9: warning: slos\[0\]\.alerting\.annotations\.dashboard: annotation "
        r"'dashboard' not imported",
        r"n\.yml:18:9: warning: slos\[0\]\.alerting\.page_alert\.for: not imported: a 'for' "
        r"duration",
        r"n\.yml:20:24: warning: slos\[0\]\.alerting\.page_alert\.annotations\.runbook_url: the "
        r"page alert's runbook becomes the SLO's runbook",
    ):
        assert re.search(expected, text), expected
    for line in problem_lines(text):
        assert LOCATED.match(line), line
    slo = yaml.safe_load((tmp_path / "o" / "svc.yaml").read_text())["slos"][0]
    assert slo["description"] == "Too many errors on svc"
    assert slo["alerting"] == {
        "policy": "sloth",
        "runbook": "https://runbooks.example.com/svc",
        "page": {"prometheus": {"journey": "checkout"}},
        "ticket": {"prometheus": {"journey": "checkout"}},
    }
    run("validate", str(tmp_path / "o"))


def test_directories_and_a_good_over_total_ratio(tmp_path):
    sources = tmp_path / "sloth"
    sources.mkdir()
    shutil.copy(GOOD[0], sources / "a.yml")
    ratio = SIMPLE.replace('service: "svc"', 'service: "ratio"').replace(
        """      events:
        error_query: sum(rate(requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))""",
        """      raw:
        error_ratio_query: >-
          1 - (sum(rate(requests_total{code!~"5.."}[{{.window}}]))
          / sum(rate(requests_total[{{.window}}])))""",
    )
    (sources / "b.yaml").write_text(ratio, encoding="utf-8")
    (sources / "notes.txt").write_text("not a spec", encoding="utf-8")
    out = tmp_path / "specs"
    sloth_import(str(sources), "-o", str(out))
    assert sorted(p.name for p in out.iterdir()) == ["myservice.yaml", "ratio.yaml", "slogen.yaml"]
    slo = yaml.safe_load((out / "ratio.yaml").read_text())["slos"][0]
    assert slo["indicator"]["prometheus"] == {
        "good": 'sum(rate(requests_total{code!~"5.."}[{{ window }}]))',
        "total": "sum(rate(requests_total[{{ window }}]))",
    }
    run("validate", str(out))
