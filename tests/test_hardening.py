"""Hostile or careless input that must neither break a backend nor be read wrongly (issue 13).

* Free text from a spec (descriptions, runbook, label values) lands in places that are
  templates themselves: Prometheus expands annotations and alert labels as Go templates, and
  Datadog reads ``{{ }}`` in monitor messages. slogen writes it so that each prints it as is.
* The small ones of case 11: template override mistakes, CloudWatch tag values, JSON errors
  from ``plan --format json``, generated files inside the spec directory (plan files of
  another format version: tests/test_plan_signing.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from slogen import templating
from slogen.backends import common
from slogen.engine import analyse_slo
from slogen.spec.loader import load_project
from tests.cli import run
from tests.conftest import SPECS
from tests.promtool import check_rules, need_promtool, promtool_or_none
from tests.vm_server import binary

HOSTILE = "p99 {{ foo }}, {{ and }} alone, {{ .Labels }} and {{ with a brace {"
RUNBOOK = "https://runbooks.example.com/{{x}}/}}"

SPEC = f"""\
service: shop
labels: {{env: "{{{{ .Labels }}}}"}}
slos:
  - name: availability
    description: {json.dumps(HOSTILE)}
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{{code=~"5.."}}[{{{{ window }}}}]))
        total: sum(rate(http_requests_total[{{{{ window }}}}]))
      datadog:
        errors: sum:shop.errors{{env:prod}}.as_count()
        total: sum:shop.requests{{env:prod}}.as_count()
    alerting:
      no_traffic: 15m
      runbook: {json.dumps(RUNBOOK)}
      page:
        datadog: ["@pagerduty-shop"]
        prometheus: {{team_channel: "a{{{{b"}}
      ticket:
        datadog: ["@slack-shop"]
"""


@pytest.fixture
def hostile_specs(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "shop.yaml").write_text(SPEC, encoding="utf-8")
    return specs


def _built(specs: Path, out: Path) -> Path:
    run("build", str(specs), "-o", str(out))
    return out


def test_braces_in_the_spec_text_are_literal_in_go_templates() -> None:
    assert templating.go_template_literal("a {{ b }} c") == 'a {{"{{"}} b }} c'
    assert templating.go_template_literal("ends with {") == 'ends with {{"{"}}'
    assert templating.go_template_literal("plain text") == "plain text"
    assert templating.datadog_literal("plain text") == "plain text"
    assert templating.datadog_literal("a {{ b }}") == "{{{{raw}}}}a {{ b }}{{{{/raw}}}}"
    for text in (HOSTILE, RUNBOOK, '{{"{"}}', "{{{{", "x{"):
        assert templating.go_template_text(templating.go_template_literal(text)) == text


def test_slogen_test_expects_the_labels_prometheus_shows(hostile_specs: Path) -> None:
    """The rule's label values are escaped; ALERTS carries them expanded, as the spec has them."""
    need_promtool(promtool_or_none())
    result = run("test", str(hostile_specs), "--tier", "page-1h", "-q")
    assert "0 failed" in result.output


def test_promtool_rejects_the_raw_text_and_accepts_what_slogen_writes(
    hostile_specs: Path, tmp_path: Path
) -> None:
    promtool = need_promtool(promtool_or_none())
    out = _built(hostile_specs, tmp_path / "out")
    rules = out / "prometheus" / "shop.rules.yml"
    checked = check_rules(rules, promtool=promtool)
    assert checked.ok, checked.output
    # the hazard is real: the same file with the text copied as it is does not load
    document = yaml.safe_load(rules.read_text(encoding="utf-8"))
    alert = next(r for g in document["groups"] for r in g["rules"] if "alert" in r)
    alert["annotations"]["description"] = HOSTILE
    raw = tmp_path / "raw.rules.yml"
    raw.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [alert]}]}))
    assert not check_rules(raw, promtool=promtool).ok
    # vmalert parses annotations with Go's text/template too (-dryRun parses and exits)
    for path, ok in ((rules, True), (raw, False)):
        proc = subprocess.run(
            [binary("vmalert"), "-dryRun", f"-rule={path}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (proc.returncode == 0) is ok, proc.stdout + proc.stderr


def _expected(specs: Path, tier: str, rule: dict) -> tuple[dict[str, str], dict[str, str]]:
    """The annotations and labels a firing alert of ``tier`` must carry: the spec's text as
    written (never escaped), with ``$value`` = 1 as ``vector(1)`` gives. Annotations and labels
    that hold no text from the spec (numbers, names, ownership) are taken as generated."""
    project = load_project([str(specs)])
    service = project.services[0]
    slo = service.slos[0]
    math = next(m for m in analyse_slo(slo) if m.id == tier)
    context = {**common.template_context(service, slo, math), "slo_description": HOSTILE}
    description = templating.render("prometheus/description.txt.j2", None, **context)
    literal = {
        "summary": templating.render("prometheus/summary.txt.j2", None, **context),
        "description": description.replace("{{ $value | humanizePercentage }}", "100%"),
        "runbook_url": RUNBOOK,
        "burn_rate": context["burn_rate"],
        "threshold": context["threshold"],
    }
    labels = {"env": "{{ .Labels }}", "team_channel": "a{{b", "tier": tier}
    for generated, expected in ((rule["annotations"], literal), (rule["labels"], labels)):
        for key, value in generated.items():
            if key not in expected:
                assert "{" not in value, (key, value)
                expected[key] = value
    return literal, labels


def test_a_firing_alert_shows_the_spec_text_as_written(hostile_specs: Path, tmp_path: Path) -> None:
    """promtool test rules: the alert's annotations and labels, as Prometheus expands them,
    are exactly the spec's text."""
    promtool = need_promtool(promtool_or_none())
    out = _built(hostile_specs, tmp_path / "out")
    document = yaml.safe_load((out / "prometheus" / "shop.rules.yml").read_text())
    alert = next(
        r
        for g in document["groups"]
        for r in g["rules"]
        if r.get("labels", {}).get("tier") == "page-1h"
    )
    rule = {**alert, "alert": "Hostile", "expr": "vector(1)"}
    (tmp_path / "hostile.rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "hostile", "rules": [rule]}]})
    )
    annotations, labels = _expected(hostile_specs, "page-1h", alert)
    test = {
        "rule_files": ["hostile.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [],
                "alert_rule_test": [
                    {
                        "eval_time": "1m",
                        "alertname": "Hostile",
                        "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "hostile.test.yml").write_text(yaml.safe_dump(test))
    proc = subprocess.run(
        [promtool, "test", "rules", "hostile.test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_no_traffic_alert_escapes_too(hostile_specs: Path, tmp_path: Path) -> None:
    out = _built(hostile_specs, tmp_path / "out")
    document = yaml.safe_load((out / "prometheus" / "shop.rules.yml").read_text())
    alert = next(r for g in document["groups"] for r in g["rules"] if r.get("for") == "15m")
    assert HOSTILE not in alert["annotations"]["description"]
    assert templating.go_template_literal(HOSTILE) in alert["annotations"]["description"]
    assert alert["annotations"]["runbook_url"] == templating.go_template_literal(RUNBOOK)


def test_datadog_messages_keep_the_literal_in_a_raw_block(
    hostile_specs: Path, tmp_path: Path
) -> None:
    out = _built(hostile_specs, tmp_path / "out")
    document = json.loads((out / "datadog" / "shop.datadog.json").read_text())
    messages = [m["body"]["message"] for m in document["resources"] if "message" in m["body"]]
    notifying = [m for m in messages if "@pagerduty-shop" in m]
    assert len(notifying) >= 3, messages  # two page tiers and the no-traffic monitor
    for message in notifying:
        assert f"{{{{{{{{raw}}}}}}}}{HOSTILE}\u200b{{{{{{{{/raw}}}}}}}}" in message
        assert f"{{{{{{{{raw}}}}}}}}{RUNBOOK}{{{{{{{{/raw}}}}}}}}" in message
        # slogen's own conditionals are still Datadog variables
        assert "{{#is_alert}}" in message
        outside = message.replace(HOSTILE, "").replace(RUNBOOK, "")
        assert "{{ foo }}" not in outside


# -- case 11: the small ones -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("fine\n{{ 1 // 0 }}\n", ":2:1: error:", "ZeroDivisionError: integer division"),
        ('{{ "x" + 1 }}\n', ":1:1: error:", "TypeError: can only concatenate str"),
    ],
)
def test_a_runtime_error_in_an_override_is_located(
    in_tmp: Path, text: str, where: str, message: str
) -> None:
    override = in_tmp / "templates" / "prometheus" / "summary.txt.j2"
    override.parent.mkdir(parents=True)
    override.write_text(text, encoding="utf-8")
    for args in (("validate",), ("build", "-o", "out"), ("plan",)):
        result = run(*args, str(SPECS), "--templates", str(in_tmp / "templates"), exit_code=1)
        assert f"{override}{where} template prometheus/summary.txt.j2: {message}" in result.stderr
        assert "Traceback" not in result.output
    assert not (in_tmp / "out").exists()


def test_a_misspelt_override_is_an_error_naming_it_and_the_known_names(in_tmp: Path) -> None:
    override = in_tmp / "templates" / "prometheus" / "sumary.txt.j2"
    override.parent.mkdir(parents=True)
    override.write_text("{{ service }} burns\n", encoding="utf-8")
    for args in (("validate",), ("build", "-o", "out"), ("plan",)):
        result = run(*args, str(SPECS), "--templates", str(in_tmp / "templates"), exit_code=1)
        assert f"{override}: error: template prometheus/sumary.txt.j2 overrides none" in (
            result.stderr
        )
        assert "did you mean prometheus/summary.txt.j2?" in result.stderr
        assert "datadog/monitor_message.md.j2" in result.stderr  # the names that exist
    assert not (in_tmp / "out").exists()


CLOUDWATCH_SPEC = """\
service: shop
labels: {{env: {value}}}
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      cloudwatch:
        region: eu-west-1
        errors: {{namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count,
                 dimensions: {{LoadBalancer: app/shop/1}}}}
        total: {{namespace: AWS/ApplicationELB, metric: RequestCount,
                dimensions: {{LoadBalancer: app/shop/1}}}}
"""


@pytest.mark.parametrize(
    ("value", "ok"),
    [('"prod\\tblue"', False), ('"prod\\nblue"', False), ('"prod blue + 1/2 @ x=y"', True)],
)
def test_cloudwatch_tag_values_take_no_tab_or_newline(tmp_path: Path, value: str, ok: bool) -> None:
    """AWS's tag pattern ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$: separators (space), not control
    characters; validate used to accept both against its own message."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "shop.yaml").write_text(CLOUDWATCH_SPEC.format(value=value), encoding="utf-8")
    result = run("validate", str(specs), exit_code=0 if ok else 1)
    if not ok:
        assert "shop.yaml:1:1: error: labels:" in result.stderr
        assert "has characters AWS tags do not allow" in result.stderr
        assert "no tab or newline" in result.stderr


def test_plan_json_prints_an_error_document_when_specs_are_invalid(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "shop.yaml").write_text(SPEC.replace("objective: 99.9", "objective: 120"))
    result = run("plan", str(specs), "--format", "json", exit_code=1)
    document = json.loads(result.stdout)
    assert document["has_changes"] is False
    assert "error" in document["error"]
    [problem] = [p for p in document["problems"] if p["severity"] == "error"]
    assert "objective" in problem["path"]
    assert "shop.yaml" in problem["file"]
    assert "objective" in result.stderr  # people still read stderr


def test_build_output_inside_the_spec_directory_is_not_read_as_specs(
    hostile_specs: Path, in_tmp: Path
) -> None:
    run("build", str(hostile_specs), "-o", str(hostile_specs / "out"))
    generated = sorted((hostile_specs / "out").rglob("*.y*ml"))
    assert generated, "build wrote no YAML"
    for path in generated:
        assert path.read_text().splitlines()[0] == "# managed-by: slogen", path
    result = run("validate", str(hostile_specs))
    assert "Valid: 1 service, 1 SLO" in result.stdout
    run("plan", str(hostile_specs), "--format", "json")
