"""``slogen import openslo`` and ``slogen export openslo``.

* Importing the test data (tests/interop/openslo/web-shop, OpenSLO's own examples reshaped, see
  the README there) gives specs that validate, build and pass ``slogen test`` with promtool;
  every lossy step is a warning with the file:line it comes from.
* A Timeslices budget or a missing referenced SLI is a located error, exit 1, nothing written.
* Exported documents validate against OpenSLO's v1 JSON schema (vendored in
  tests/interop/openslo/schema), and export → import gives back the same model, for the
  example specs and for generated ones (hypothesis; strategies in
  tests/interop/openslo/helpers.py).
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings

from slogen.cli.interop import export_group, import_group
from slogen.cli.main import cli as slogen_cli
from slogen.errors import Location, SlogenError
from slogen.interop.openslo_docs import Node, Reporter
from slogen.interop.openslo_export import export_openslo, write_openslo
from slogen.interop.openslo_import import ANNOTATIONS, import_openslo
from slogen.interop.openslo_sources import convert_promql
from slogen.interop.write import write_specs
from slogen.spec.model import Service
from slogen.validation import load_valid
from tests import promtool as pt
from tests.interop.openslo.helpers import VALIDATOR, projects, schema_errors

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "interop" / "openslo"
WHERE = Location("x.yaml", 3, 5)  # where a query under test was written


@click.group()
def app() -> None:
    """The two groups on their own (the main CLI registers them elsewhere)."""


app.add_command(import_group)
app.add_command(export_group)


def run(*args: str, exit_code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == exit_code, f"{args}: {result.exit_code}\n{result.output}"
    return result.stdout, result.stderr


def slogen(*args: str, exit_code: int = 0) -> str:
    result = CliRunner().invoke(slogen_cli, list(args), catch_exceptions=False)
    assert result.exit_code == exit_code, f"{args}: {result.exit_code}\n{result.output}"
    return result.output


# --- import ---------------------------------------------------------------------------------


def test_imported_web_shop_validates_builds_and_passes_slogen_test(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    stdout, _ = run("import", "openslo", str(DATA / "web-shop"), "-o", str(out))
    assert "Wrote 2 files" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["slogen.yaml", "web-shop.yaml"]
    project, _warnings = load_valid([str(out)])
    (service,) = project.services
    slos = {slo.name: slo for slo in service.slos}
    assert sorted(slos) == ["availability", "checkout-errors", "search-errors", "search-latency"]
    availability = slos["availability"]
    assert availability.description == "Storefront requests that do not fail with a server error"
    assert availability.alerting.runbook == "https://runbooks.example.com/web-shop/availability"
    # 13.44 × 1h / 4w = 2 %, the Workbook's page tier for a 28-day window
    fast = availability.policy.tiers[0]
    assert (fast.severity, fast.budget, fast.long, fast.short) == (
        "page",
        Fraction(2, 100),
        3600,
        300,
    )
    assert availability.indicator.prometheus.errors == (
        'sum(rate(http_requests_total{job="web-shop",code=~"5.."}[{{ window }}]))'
    )
    assert slos["search-errors"].description == "Search without errors"  # the displayName
    assert slos["checkout-errors"].indicator.cloudwatch.region == "eu-central-1"  # DataSource
    slogen("build", str(out), "-o", str(tmp_path / "out"))
    assert (tmp_path / "out" / "prometheus").is_dir()


@pytest.mark.promtool
def test_imported_web_shop_passes_promtool_proofs(tmp_path: Path) -> None:
    pt.need_promtool(pt.promtool_or_none())
    out = tmp_path / "specs"
    run("import", "openslo", str(DATA / "web-shop"), "-o", str(out))
    output = slogen("test", str(out), "-q")
    assert re.search(r"\d+ scenarios passed, 0 failed", output), output


def test_import_warnings_are_located(tmp_path: Path) -> None:
    _, stderr = run("import", "openslo", str(DATA / "web-shop"), "-o", str(tmp_path / "o"))
    warnings = [line for line in stderr.splitlines() if ": warning: " in line]
    assert warnings
    for line in warnings:  # every one at file:line:col in the test data
        assert re.match(r"^\S+/web-shop/\w+\.yaml:\d+:\d+: warning: ", line), line
    text = "\n".join(warnings)
    assert re.search(
        r"availability\.yaml:16:18: warning: SLI\[web-availability\]\.spec\.ratioMetric\.bad"
        r"\.metricSource\.spec\.query: the counter became a rate over slogen's window",
        text,
    )
    assert re.search(r"search\.yaml:57:22: warning: .*the range \[5m\] became", text)
    assert re.search(r"availability\.yaml:56:21: .*slogen's short window is the default", text)
    assert "long/12 = 5m" in text
    assert re.search(r"availability\.yaml:57:17: .*alertAfter 5m is not used", text)
    assert "notification target 'OnCallDevopsMailNotification' is not carried over" in text
    assert "alertWhenNoData is not carried over" in text
    assert len(warnings) == len(set(warnings))  # a shared object warns once


def test_timeslices_budget_is_a_located_error_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "o"
    _, stderr = run(
        "import", "openslo", str(DATA / "errors" / "timeslices.yaml"), "-o", str(out), exit_code=1
    )
    assert re.search(
        r"timeslices\.yaml:32:20: error: SLO\[service-availability\]\.spec\.budgetingMethod: "
        r"budgetingMethod 'Timeslices' is not supported",
        stderr,
    ), stderr
    assert "hint: slogen's burn-rate alerts count events" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def test_missing_referenced_sli_is_a_located_error(tmp_path: Path) -> None:
    out = tmp_path / "o"
    _, stderr = run(
        "import", "openslo", str(DATA / "errors" / "missing-sli.yaml"), "-o", str(out), exit_code=1
    )
    assert re.search(
        r"missing-sli\.yaml:10:17: error: SLO\[foo-slo\]\.spec\.indicatorRef: SLI 'foo-sli' is "
        r"not in the files given",
        stderr,
    ), stderr
    assert not out.exists()


SLO_DOC = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api
spec:
  service: api
  indicator:
    metadata: {name: api}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'errors_total'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'requests_total'}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "budgetingMethod: Occurrences",
            "budgetingMethod: RatioTimeslices",
            "'RatioTimeslices' is not supported",
        ),
        ("duration: 28d, isRolling: true", "duration: 1M, isRolling: true", "calendar months"),
        ("isRolling: true", "isRolling: false", "calendar-aligned time windows are not supported"),
        (
            "type: Prometheus, spec: {query: 'errors_total'}",
            "type: Redshift, spec: {query: x}",
            "metric source type 'Redshift' is not supported",
        ),
        (
            "[{target: 0.99}]",
            "[{target: 0.99}, {target: 0.9}]",
            "expected exactly one objective, found 2",
        ),
        (
            "ratioMetric:",
            "thresholdMetric: {metricSource: {type: Prometheus, spec: {}}}\n      ratio:",
            "thresholdMetric SLIs are not supported",
        ),
        (
            "query: 'errors_total'",
            "query: 'histogram_quantile(0.9, x)'",
            "cannot turn the Prometheus query",
        ),
        (
            "apiVersion: openslo/v1",
            "apiVersion: openslo/v1alpha",
            "expected apiVersion 'openslo/v1'",
        ),
        ("  service: api\n", "", "missing required key 'service'"),
    ],
)
def test_unsupported_input_is_a_located_error(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in SLO_DOC
    path = tmp_path / "slo.yaml"
    path.write_text(SLO_DOC.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SlogenError) as raised:
        import_openslo([path])
    errors = raised.value.problems.errors
    assert any(message in p.message for p in errors), [p.render() for p in errors]
    assert all(p.location.file == str(path) and p.location.line > 0 for p in errors)


def test_multi_document_locations_are_real_lines(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    second = SLO_DOC.replace("name: api\nspec", "name: api2\nspec").replace(
        "target: 0.99", "target: 2"
    )
    path.write_text(SLO_DOC + "---\n" + second, encoding="utf-8")
    with pytest.raises(SlogenError) as raised:
        import_openslo([path])
    (error,) = raised.value.problems.errors
    assert error.location.line == SLO_DOC.count("\n") + 1 + 16  # the second document's target
    assert error.path == "SLO[api2].spec.objectives[0].target"


def test_malformed_files_are_located_errors(tmp_path: Path) -> None:
    (tmp_path / "syntax.yaml").write_text("a: [1,\n", encoding="utf-8")
    (tmp_path / "scalars.yaml").write_text("- 1\n", encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(
        SLO_DOC + "  alertPolicies: [{kind: AlertPolicy, metadata: {name: p}, spec: {}}]\n",
        encoding="utf-8",
    )
    _, stderr = run("import", "openslo", str(tmp_path), "-o", str(tmp_path / "o"), exit_code=1)
    assert re.search(r"syntax\.yaml:2:1: error: invalid YAML", stderr), stderr
    assert re.search(r"scalars\.yaml:1:3: error: \[0\]: expected an OpenSLO object", stderr)
    assert re.search(r"policy\.yaml:17:\d+: error: .*expected conditions, a list", stderr)
    assert "Traceback" not in stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("query", "counter", "converted"),
    [
        (
            'http_requests_total{code=~"5.."}',
            True,
            'sum(rate(http_requests_total{code=~"5.."}[{{ window }}]))',
        ),
        ("sum(requests_total)", True, "sum(rate(requests_total[{{ window }}]))"),
        (
            "sum by (zone) (requests_total)",
            True,
            "sum by (zone) (rate(requests_total[{{ window }}]))",
        ),
        ("sum(rate(x_total[5m]))", False, "sum(rate(x_total[{{ window }}]))"),
        ("rate(x_total[1h])", True, "sum(rate(x_total[{{ window }}]))"),
        ("sum(increase(x_total[{{ window }}]))", True, "sum(increase(x_total[{{ window }}]))"),
    ],
)
def test_prometheus_queries_get_the_window_placeholder(
    query: str, counter: bool, converted: str
) -> None:
    report = Reporter()
    node = Node(query, WHERE, "q")
    assert convert_promql(node, counter, None, report) == converted
    assert len(report.problems.warnings) == (0 if "{{" in query else 1)


def test_a_gauge_without_a_range_is_an_error() -> None:
    report = Reporter()
    assert convert_promql(Node("requests_total", WHERE, "q"), False, None, report) is None
    assert "counter: false" in report.problems.errors[0].message


# --- export ---------------------------------------------------------------------------------


def test_exported_examples_validate_against_the_openslo_schema(tmp_path: Path) -> None:
    out = tmp_path / "openslo"
    stdout, stderr = run("export", "openslo", str(ROOT / "specs"), "-o", str(out))
    assert "Wrote 3 files" in stdout
    assert schema_errors(out) == []
    kinds = [d["kind"] for p in out.glob("*.yaml") for d in yaml.safe_load_all(p.read_text()) if d]
    assert {"Service", "SLO", "AlertPolicy", "AlertCondition", "AlertNotificationTarget"} <= set(
        kinds
    )
    # one OpenSLO SLO per slogen SLO and backend
    project, _ = load_valid([str(ROOT / "specs")])
    assert kinds.count("SLO") == sum(len(slo.indicator.backends) for _, slo in project.slos())
    for service in project.services:  # what has no OpenSLO field is named, with its place
        if getattr(service, "document", None) is not None:
            assert f"{service.document.location}: warning: document: the document: block" in stderr
    run("export", "openslo", str(ROOT / "specs"), "-o", str(out), exit_code=1)  # no clobbering


def test_export_warns_where_openslo_has_no_room(tmp_path: Path) -> None:
    spec = (ROOT / "specs" / "checkout.yaml").read_text(encoding="utf-8")
    (tmp_path / "checkout.yaml").write_text(
        spec.replace("labels: {env: prod}", "labels: {env: prod, site: 'EU west'}"),
        encoding="utf-8",
    )
    _, stderr = run("export", "openslo", str(tmp_path / "checkout.yaml"), "-o", str(tmp_path / "o"))
    assert re.search(
        r"checkout\.yaml:1:1: warning: labels\.site: the value does not fit an OpenSLO label",
        stderr,
    ), stderr
    assert schema_errors(tmp_path / "o") == []


def test_the_schema_catches_what_it_should(tmp_path: Path) -> None:
    """The vendored schema is wired up: broken documents fail it."""
    good = yaml.safe_load(SLO_DOC)
    assert list(VALIDATOR.iter_errors(good)) == []
    for broken in (
        {**good, "apiVersion": "openslo/v2"},
        {**good, "spec": {**good["spec"], "budgetingMethod": "Sometimes"}},
        {**good, "metadata": {"name": "x", "annotations": {"slogen.dev/runbook": "https://x/y"}}},
    ):
        assert list(VALIDATOR.iter_errors(broken)), broken


def test_every_annotation_written_is_documented(tmp_path: Path) -> None:
    run("export", "openslo", str(ROOT / "specs"), "-o", str(tmp_path))
    written = {
        key.removeprefix("slogen.dev/")
        for p in tmp_path.glob("*.yaml")
        for d in yaml.safe_load_all(p.read_text())
        if d
        for key in d["metadata"].get("annotations", {})
    }
    assert written <= set(ANNOTATIONS), written - set(ANNOTATIONS)


def round_trip(spec_dir: Path, work: Path) -> None:
    """export → import → load gives the model ``spec_dir`` loads to, and the documents in
    between are valid OpenSLO."""
    project, _ = load_valid([str(spec_dir)])
    files, _problems = export_openslo(project)
    write_openslo(files, work / "openslo")
    assert schema_errors(work / "openslo") == []
    imported = import_openslo([work / "openslo"])
    assert imported.problems.warnings == []  # nothing lost on slogen's own documents
    documents: dict[str, Any] = dict(imported.services)
    if imported.config:
        documents["slogen"] = imported.config
    write_specs(documents, work / "specs")
    again, _ = load_valid([str(work / "specs")])
    assert [comparable(s) for s in again.services] == [comparable(s) for s in project.services]


def comparable(service: Service) -> Service:
    """The service without what OpenSLO cannot carry (export warns about each): the
    ``document:`` block of ``slogen docs`` and entries whose class builds no alerts."""
    return dataclasses.replace(service, document=None, exempt=())


def test_example_specs_round_trip(tmp_path: Path) -> None:
    round_trip(ROOT / "specs", tmp_path)


# --- generated specs ------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects())
def test_generated_specs_round_trip(documents: dict[str, dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_specs(documents, work / "source")
        try:
            load_valid([str(work / "source")])
        except SlogenError as exc:  # e.g. a tier longer than a 7-day window
            assume(not exc.problems.errors)
        round_trip(work / "source", work)


def test_an_output_that_cannot_be_a_directory_is_an_error(tmp_path: Path) -> None:
    """-o naming a file: exit 1 with the path, never a traceback (import and export alike)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _, stderr = run(
        "export", "openslo", str(ROOT / "specs"), "-o", str(blocker / "out"), exit_code=1
    )
    assert f"cannot write into {blocker / 'out'}" in stderr
    assert "export into a directory you can write to" in stderr
    sloth = ROOT / "tests" / "interop" / "sloth" / "getting-started.yml"
    _, stderr = run("import", "sloth", str(sloth), "-o", str(blocker / "specs"), exit_code=1)
    assert f"cannot write into {blocker / 'specs'}" in stderr
