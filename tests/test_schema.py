"""The JSON Schemas of spec files and slogen.yaml (``slogen schema``) say what the loader says.

Files are checked with the real ``check-jsonschema`` CLI (ECMAScript patterns, as editors use
them): the examples and a spec using every key pass; the malformed corpus is split into the
cases the schema rejects and those only ``slogen validate`` can (each with the reason), and
the two lists must cover the corpus. The key sets of the schema are compared with the loader's
constants, and with what the loader itself says when it meets an unknown key.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import strategies as st

from slogen.alertmanager import settings as alertmanager
from slogen.backends import registry
from slogen.backends.cloudwatch.source import METRIC_KEYS, METRIC_REQUIRED, SOURCE_EXTRA
from slogen.cli.schema import schema as schema_command
from slogen.durations import DurationError, parse_duration
from slogen.errors import Location, Problems, SlogenError
from slogen.spec import document, no_traffic, specreader
from slogen.spec.checks import SLI_KEYS, SLI_REQUIRED, Checker, Field
from slogen.spec.classes import CLASS_KEYS
from slogen.spec.loader import load_project
from slogen.spec.schema import REGENERATE, SHIPPED, render, settings_schema, spec_schema
from slogen.spec.schema_parts import duration, percent
from slogen.spec.settings import OPTION_KINDS, SETTINGS_KEYS, TIER_KEYS, TIER_REQUIRED
from tests.test_malformed import CASES, CORPUS, EXPECTED

ROOT = Path(__file__).resolve().parents[1]
CHECK = Path(sys.executable).parent / "check-jsonschema"
SPEC_SCHEMA, SETTINGS_SCHEMA = (ROOT / SHIPPED[k] for k in ("spec", "settings"))

# A spec and a slogen.yaml using every key (every target type is tried in a test below).
FULL_SPEC = yaml.safe_load("""
service: full-house
description: Every key a spec may hold
owner: team.a
labels: {env: prod}
document:
  overview: The shop.
  authors: Ana
  reviewers: [Ben]
  approvers: [Cleo]
  approved: 2026-01-05
  review: 2099-01-05
  escalation: [The team lead, The CTO]
  budget_exhausted: Releases stop.
  satisfaction: [Support tickets]
slos:
  - name: availability
    description: Requests that succeed
    category: availability
    objective: 99.9
    window: 30d
    traffic: 3M/30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{code=~"5.."}[{{ window }}]))
        total: sum(rate(http_requests_total[{{ window }}]))
      datadog:
        good: ["sum:shop.ok{*}.as_count()", "sum:shop.cached{*}.as_count()"]
        total: sum:shop.requests{*}.as_count()
      cloudwatch:
        region: eu-west-1
        errors: {namespace: Shop, metric: Errors, dimensions: {Stage: prod}, stat: Sum}
        total: [{namespace: Shop, metric: Requests}]
    alerting:
      policy: workbook
      min_events: 10
      runbook: https://runbooks.example.com/shop
      no_traffic: {for: 15m, severity: page}
      page:
        prometheus: {team_channel: shop}
        datadog: "@pagerduty-shop"
        cloudwatch: ["arn:aws:sns:eu-west-1:123456789012:shop-page"]
      ticket: {datadog: []}
  - name: login
    class: BATCH
    indicator:
      prometheus: {good: "sum(rate(ok[{{ window }}]))", total: "sum(rate(all[{{ window }}]))"}
  - {name: canary, class: QUIET}
""")
FULL_SETTINGS = yaml.safe_load("""
project: full-house
default_policy: workbook
policies:
  batch:
    - {severity: ticket, budget: 5%, long: 6h, short: 30m}
    - {severity: ticket, budget: 12.5%, long: 21h}
classes:
  BATCH: {description: nightly, objective: 99.5, window: 30d, policy: batch, min_events: 5,
          pages: false}
  QUIET: {description: probes, alerts: false}
targets:
  prometheus: {type: files, dir: out/prometheus, reload_url: "http://127.0.0.1:9090",
               format: rules, query_url: "${PROM_URL}"}
alertmanager:
  receivers: {page: sre-pager, ticket: sre-tickets}
  routes: [{match: {team: payments}, receiver: payments-pager}]
  group_by: [service, slo]
  inhibit_tickets: true
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
""")
# A value the loader accepts for each kind of target option (settings.OPTION_KINDS).
KIND_SAMPLES = {
    "format": "prometheusrule",
    "regions": ["eu-west-1", "us-east-1"],
    "region": "eu-west-1",
    "url": "https://example.com",
    "name": "slogen",
    "credential": "${SECRET}",
    "text": "something",
}

# -- the malformed corpus, split in two ------------------------------------------------------

# Cases whose problem is an unknown key, a wrong type, a value outside an enum, a pattern or a
# missing key: the schema rejects them (with an error at or above an expected problem's path).
SCHEMA_REJECTS = {
    # unknown keys (additionalProperties: false)
    *["unknown-key-top.yaml", "unknown-key-slo.yaml", "unknown-key-indicator.yaml"],
    *["unknown-key-prometheus.yaml", "unknown-key-cloudwatch-metric.yaml"],
    *["unknown-key-alerting.yaml", "unknown-key-notify.yaml", "unknown-key-policy-tier"],
    *["unknown-key-target", "unknown-target-backend", "unknown-key-config"],
    *["no-traffic-unknown-key.yaml", "document-unknown-key.yaml", "three-mistakes.yaml"],
    # wrong types, and values outside a range the loader names
    *["objective-string.yaml", "indicator-list.yaml", "slos-mapping.yaml", "label-number.yaml"],
    *["cloudwatch-dimension-number.yaml", "min-events-zero.yaml", "min-events-string.yaml"],
    *["top-level-list.yaml", "config-list", "empty.yaml", "comment-only.yaml", "empty-slos.yaml"],
    *["objective-zero.yaml", "objective-100.yaml", "objective-above-100.yaml"],
    *["objective-negative.yaml", "no-traffic-boolean.yaml", "document-not-a-mapping.yaml"],
    *["errors-in-two-files", "document-bad-values.yaml", "indicator-empty.yaml"],
    "bad-budget",  # the budget written as a number; 0% and 150% only validate catches
    # enums and patterns: names, durations, regions, statistics, handles, ARNs, URLs
    *["bad-category.yaml", "service-name.yaml", "slo-name.yaml", "policy-name", "severity-name"],
    *["duration-with-space.yaml", "duration-repeated-unit.yaml", "window-in-minutes.yaml"],
    *["duration-bad-unit", "prometheus-no-window.yaml", "cloudwatch-bad-region.yaml"],
    *["cloudwatch-bad-stat.yaml", "invalid-policy-used", "reserved-labels.yaml"],
    *["datadog-handle.yaml", "sns-not-arn.yaml", "runbook-not-url.yaml", "bad-target-type"],
    "config-option",
    # missing keys, and errors or good (exactly one, next to total)
    *["missing-required.yaml", "no-traffic-missing-for.yaml"],
    *["indicator-errors-and-good.yaml", "indicator-neither.yaml"],
}

SPANS_FILES = "names or values defined in another file (slogen.yaml) or in other spec files"
ACROSS = "a rule between two values (JSON Schema compares a value with constants only)"
PROMQL = "what a PromQL query means: validate parses it with a full PromQL grammar"
# Cases a schema cannot express, and why; `slogen validate` reports them.
BEYOND_SCHEMA = {
    "duplicate-slo.yaml": "unique names across list items (uniqueItems compares whole items)",
    "duplicate-services": SPANS_FILES,
    "duplicate-tier": "tiers unique by severity and long window, a key made of two values",
    "threshold-unreachable.yaml": "arithmetic over objective, window and the policy's tiers",
    "threshold-exactly-one": "arithmetic over objective, window and the policy's tiers",
    "unknown-policy.yaml": SPANS_FILES,
    "unknown-policy-no-match.yaml": SPANS_FILES,
    "unknown-default-policy": "a reference to a key defined elsewhere in the same file",
    "notify-unused-severity": SPANS_FILES,
    "no-traffic-unknown-severity.yaml": SPANS_FILES,
    "long-window-exceeds-slo-window.yaml": SPANS_FILES,
    "tier-short-not-shorter": ACROSS,
    "document-review-before-approval.yaml": ACROSS,
    "no-traffic-seconds.yaml": "whole minutes: 120s is, 90s is not (no pattern says that)",
    "nested-config": "where a file is, not what it holds",
    "datadog-objective-decimals.yaml": "a backend's limit on a value, for SLOs naming it",
    "no-traffic-too-long.yaml": "a backend's limit on a value, for SLOs naming it",
    "prometheus-promql-syntax.yaml": PROMQL,
    "prometheus-range-vector.yaml": PROMQL,
    "prometheus-unknown-function.yaml": PROMQL,
    "prometheus-unaggregated.yaml": PROMQL,
    "prometheus-irate.yaml": PROMQL,
    "prometheus-by-rule-label.yaml": PROMQL,
}
# Of those, the files that are not valid YAML (for PyYAML): the editor's parser reports them
# before any schema applies, so what a schema says about them does not matter.
NOT_YAML = {
    "invalid-yaml-tab.yaml": "not YAML",
    "invalid-yaml-indent.yaml": "not YAML",
    "invalid-yaml-unclosed.yaml": "not YAML",
    "invalid-yaml-date.yaml": "a timestamp PyYAML refuses (other parsers read a string)",
    "duplicate-yaml-key.yaml": "a duplicate key: YAML parsers refuse or keep one silently",
    "duplicate-label-key.yaml": "a duplicate key: YAML parsers refuse or keep one silently",
}
BEYOND_SCHEMA.update(NOT_YAML)


def check_files(schema: Path, files: list[Path]) -> dict[Path, list[tuple[str, str]]]:
    """check-jsonschema's verdict per file: (path, message) of each error, ("", "parse") when
    the file does not parse; files without errors are left out."""
    assert CHECK.exists(), "check-jsonschema is a test dependency: pip install -e '.[test]'"
    result = subprocess.run(
        [str(CHECK), "--schemafile", str(schema), "-o", "json", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    found: dict[Path, list[tuple[str, str]]] = {}
    for error in report.get("errors", []):
        found.setdefault(Path(error["filename"]), []).append((error["path"], error["message"]))
    for error in report.get("parse_errors", []):
        found.setdefault(Path(error["filename"]), []).append(("", "parse"))
    return found


def case_files(case: str) -> list[tuple[Path, Path]]:
    """Each YAML file of a case with the schema it is written for: slogen.yaml (or the
    --config file) against the settings schema, anything else against the spec schema."""
    spec = EXPECTED[case]
    args = spec["args"] if isinstance(spec, dict) else []
    config = CORPUS / args[args.index("--config") + 1] if "--config" in args else None
    root = CORPUS / case
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))
    files = files if root.is_dir() else [root]
    return [
        (f, SETTINGS_SCHEMA if f.name == "slogen.yaml" or f == config else SPEC_SCHEMA)
        for f in files
    ]


@pytest.fixture(scope="module")
def corpus_verdicts() -> dict[Path, list[tuple[str, str]]]:
    files = [pair for case in CASES for pair in case_files(case)]
    verdicts: dict[Path, list[tuple[str, str]]] = {}
    for schema in (SPEC_SCHEMA, SETTINGS_SCHEMA):
        verdicts.update(check_files(schema, [f for f, s in files if s == schema]))
    return verdicts


def test_the_two_lists_cover_the_corpus() -> None:
    both = SCHEMA_REJECTS & set(BEYOND_SCHEMA)
    assert not both, f"cases in both lists: {sorted(both)}"
    missing = set(CASES) - SCHEMA_REJECTS - set(BEYOND_SCHEMA)
    assert not missing, (
        f"malformed cases in neither list: {sorted(missing)}; add each to SCHEMA_REJECTS if "
        "the schema can express its problem (and make it), else to BEYOND_SCHEMA with the reason"
    )
    stale = (SCHEMA_REJECTS | set(BEYOND_SCHEMA)) - set(CASES)
    assert not stale, f"cases listed here but not in the corpus: {sorted(stale)}"


def _covers(schema_path: str, expected_path: str) -> bool:
    """Whether a schema error at ``schema_path`` ($.slos[0]) is about the problem at
    ``expected_path`` (slos[0].categroy): the same place or one of its parents."""
    target = "$" + ("." + expected_path if expected_path else "")
    return target == schema_path or target.startswith((schema_path + ".", schema_path + "["))


@pytest.mark.parametrize("case", sorted(SCHEMA_REJECTS))
def test_the_schema_rejects(case: str, corpus_verdicts: dict) -> None:
    expected = EXPECTED[case]
    errors = expected["errors"] if isinstance(expected, dict) else expected
    places = [(CORPUS / e.get("file", case), e["path"]) for e in errors]
    found = [
        (file, path)
        for file, _schema in case_files(case)
        for path, message in corpus_verdicts.get(file, [])
        if message != "parse"
    ]
    assert found, f"{case}: the schema accepts it"
    assert any(f == file and _covers(path, where) for f, path in found for file, where in places), (
        f"{case}: the schema rejects it for another reason: {corpus_verdicts}"
    )


@pytest.mark.parametrize("case", sorted(set(BEYOND_SCHEMA) - set(NOT_YAML)))
def test_what_the_schema_cannot_express_it_accepts(case: str, corpus_verdicts: dict) -> None:
    """Keeps BEYOND_SCHEMA honest: a case the schema learns to reject moves to the other list."""
    rejected = {f: corpus_verdicts[f] for f, _ in case_files(case) if f in corpus_verdicts}
    assert not rejected, f"{case} is rejected by the schema: move it to SCHEMA_REJECTS"


# -- good files ---------------------------------------------------------------------------


def test_the_examples_are_accepted() -> None:
    specs = [p for p in sorted((ROOT / "specs").glob("*.yaml")) if p.name != "slogen.yaml"]
    configs = [ROOT / "specs" / "slogen.yaml", ROOT / "examples" / "deploy" / "slogen.yaml"]
    assert len(specs) >= 3
    assert check_files(SPEC_SCHEMA, specs) == {}
    assert check_files(SETTINGS_SCHEMA, configs) == {}


def _write(directory: Path, spec: dict, settings: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in (("full.yaml", spec), ("slogen.yaml", settings)):
        (directory / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _load_problems(directory: Path) -> list[Any]:
    try:
        load_project([str(directory)])
    except SlogenError as exc:
        return list(exc.problems)
    return []


def test_a_spec_with_every_key_passes_both(tmp_path: Path) -> None:
    _write(tmp_path, FULL_SPEC, FULL_SETTINGS)
    assert [p.render() for p in _load_problems(tmp_path) if p.severity == "error"] == []
    assert check_files(SPEC_SCHEMA, [tmp_path / "full.yaml"]) == {}
    assert check_files(SETTINGS_SCHEMA, [tmp_path / "slogen.yaml"]) == {}


def test_every_target_type_with_every_option_passes_both(tmp_path: Path) -> None:
    files = []
    for backend in registry.every():
        capabilities = registry.get(backend).capabilities
        for kind, keys in capabilities.target_options.items():
            samples = {key: KIND_SAMPLES[OPTION_KINDS.get(key, "text")] for key in keys}
            target = {"type": kind, **samples}
            config = {**FULL_SETTINGS, "targets": {backend: target}}
            directory = tmp_path / f"{backend}-{kind}"
            _write(directory, FULL_SPEC, config)
            assert [p.render() for p in _load_problems(directory)] == [], (backend, kind)
            files.append(directory / "slogen.yaml")
    assert check_files(SETTINGS_SCHEMA, files) == {}


# -- the keys -----------------------------------------------------------------------------


def _key_sets() -> Any:
    """(where, the schema's keys, the loader's keys) of every fixed-key mapping: properties
    or required ones, in order."""
    spec, settings = spec_schema(), settings_schema()
    d, s = spec["$defs"], settings["properties"]

    def props(node: dict) -> list[str]:
        return list(node["properties"])

    yield "service", props(spec), specreader.SERVICE_KEYS
    yield "service required", spec["required"], specreader.SERVICE_REQUIRED
    yield "slo", props(d["slo"]), specreader.SLO_KEYS
    yield "slo required", d["slo"]["required"], specreader.SLO_REQUIRED
    yield "indicator", props(d["indicator"]), registry.NAMES
    yield "notify", props(d["notify"]), registry.NAMES
    yield "alerting", props(d["alerting"]), specreader.ALERTING_KEYS
    mapping_form = d["alerting"]["properties"]["no_traffic"]["anyOf"][1]
    yield "no_traffic", props(mapping_form), no_traffic.KEYS
    yield "no_traffic required", mapping_form["required"], no_traffic.REQUIRED
    yield "document", props(d["document"]), document.DOCUMENT_KEYS
    for backend in registry.NAMES:
        source = d["indicator"]["properties"][backend]
        yield f"{backend} sides", props(source)[-len(SLI_KEYS) :], SLI_KEYS
        yield f"{backend} required", source["required"][-len(SLI_REQUIRED) :], SLI_REQUIRED
    cloudwatch = d["indicator"]["properties"]["cloudwatch"]
    yield "cloudwatch", props(cloudwatch), (*SOURCE_EXTRA, *SLI_KEYS)
    metric = cloudwatch["properties"]["total"]["anyOf"][0]
    yield "cloudwatch metric", props(metric), METRIC_KEYS
    yield "cloudwatch metric required", metric["required"], METRIC_REQUIRED
    yield "settings", props(settings), SETTINGS_KEYS
    yield "tier", props(settings["$defs"]["tier"]), TIER_KEYS
    yield "tier required", settings["$defs"]["tier"]["required"], TIER_REQUIRED
    yield "class", props(settings["$defs"]["class"]), CLASS_KEYS
    yield "alertmanager", props(s["alertmanager"]), alertmanager.KEYS
    route = s["alertmanager"]["properties"]["routes"]["items"]
    yield "route", props(route), alertmanager.ROUTE_KEYS
    yield "targets", props(s["targets"]), registry.every()
    for backend in registry.every():
        capabilities = registry.get(backend).capabilities
        target = s["targets"]["properties"][backend]
        types = capabilities.target_options
        yield f"{backend} types", target["properties"]["type"]["enum"], tuple(types)
        every_option = dict.fromkeys(k for keys in types.values() for k in keys)
        yield f"{backend} options", props(target)[1:], tuple(every_option)
        for case, (kind, keys) in zip(target["allOf"], types.items(), strict=True):
            then = case["then"]
            yield f"{backend} {kind}", then["propertyNames"]["enum"], ("type", *keys)
            required = capabilities.required_options.get(kind, ())
            yield f"{backend} {kind} required", then.get("required", []), required


def test_the_schema_has_exactly_the_loaders_keys() -> None:
    """Every mapping of the schema takes the keys the loader's constants name, no others:
    keys of SLOs, of each backend's source, every target option of every backend..."""
    for where, in_schema, in_loader in _key_sets():
        assert list(in_schema) == list(in_loader), where


def _fixed_mappings(node: dict, value: Any, path: tuple, root: dict) -> Any:
    """(path, schema, value) of every mapping in ``value`` whose schema refuses unknown keys."""
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
    for branch in node.get("anyOf", []):
        if branch.get("type") == ("object" if isinstance(value, dict) else "array"):
            node = branch
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _fixed_mappings(node.get("items", {}), item, (*path, i), root)
        return
    if not isinstance(value, dict):
        return
    if node.get("additionalProperties") is False:
        yield path, node, value
    for key, item in value.items():
        sub = node.get("properties", {}).get(key)
        for pattern, schema in node.get("patternProperties", {}).items():
            sub = sub or (schema if re.search(pattern, key) else None)
        if sub is None and isinstance(node.get("additionalProperties"), dict):
            sub = node["additionalProperties"]
        yield from _fixed_mappings(sub or {}, item, (*path, key), root)


def _allowed_by_schema(node: dict, value: dict) -> set[str]:
    for case in node.get("allOf", []):  # a target: the keys of its type
        if value.get("type") == case["if"]["properties"]["type"]["const"]:
            return set(case["then"]["propertyNames"]["enum"])
    return set(node["properties"])


@pytest.mark.parametrize("which", ["spec", "settings"])
def test_an_unknown_key_gets_the_same_allowed_keys_from_both(which: str, tmp_path: Path) -> None:
    """At each mapping of the full files, the loader's "allowed keys" hint for an unknown key
    lists what the schema takes there (plus severities, which the schema takes by pattern)."""
    schema = spec_schema() if which == "spec" else settings_schema()
    original = FULL_SPEC if which == "spec" else FULL_SETTINGS
    checked = []
    for path, node, value in _fixed_mappings(schema, original, (), schema):
        changed = copy.deepcopy(original)
        at = changed
        for part in path:
            at = at[part]
        at["zz_unknown"] = "x"
        directory = tmp_path / f"{which}-{len(checked)}"
        if which == "spec":
            _write(directory, changed, FULL_SETTINGS)
        else:
            _write(directory, FULL_SPEC, changed)
        hints = [p.hint for p in _load_problems(directory) if "'zz_unknown'" in p.message]
        assert len(hints) == 1 and hints[0].startswith("allowed keys: "), (path, hints)
        loader = set(hints[0].removeprefix("allowed keys: ").split(", "))
        in_schema = _allowed_by_schema(node, value)
        assert in_schema <= loader, (path, in_schema - loader)
        for key in loader - in_schema:  # a severity's block in `alerting`
            patterns = node.get("patternProperties", {})
            assert any(re.search(p, key) for p in patterns), (path, key)
        checked.append(path)
    assert len(checked) >= (14 if which == "spec" else 8), checked


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.text(alphabet="0123456789wdhms x", max_size=9))
def test_durations_read_alike(text: str) -> None:
    for units in ("wdh", "wdhms"):
        try:
            parsed = parse_duration(text, allowed_units=units) > 0
        except DurationError:
            parsed = False
        assert bool(re.search(duration(units, "")["pattern"], text)) == parsed, (text, units)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.text(alphabet="0123456789.% ", max_size=8))
def test_every_percentage_the_loader_takes_the_schema_takes(text: str) -> None:
    taken = Checker(Problems()).percent(Field(text, Location("x"), "budget")) is not None
    assert not taken or re.search(percent("")["pattern"], text), text


# -- the shipped files and the command ----------------------------------------------------


@pytest.mark.parametrize("which", ["spec", "settings"])
def test_the_shipped_schema_is_current(which: str) -> None:
    generated = render(spec_schema() if which == "spec" else settings_schema())
    shipped = (ROOT / SHIPPED[which]).read_text(encoding="utf-8")
    assert shipped == generated, f"{SHIPPED[which]} is stale; regenerate it: {REGENERATE}"


def test_the_schemas_are_valid_draft_2020_12() -> None:
    """Against the metaschema, every pattern included (as an ECMAScript regex)."""
    result = subprocess.run(
        [str(CHECK), "--check-metaschema", str(SPEC_SCHEMA), str(SETTINGS_SCHEMA)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_property_is_described() -> None:
    def walk(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    yield f"{where}.{key}"
            for key, sub in node.items():
                if key != "if":  # a condition's properties are no keys of their own
                    yield from walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                yield from walk(sub, f"{where}[{i}]")

    assert list(walk(spec_schema(), "spec")) == []
    assert list(walk(settings_schema(), "settings")) == []


def test_the_command_prints_and_writes(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(schema_command, [], catch_exceptions=False)
    assert printed.exit_code == 0 and printed.stdout == render(spec_schema())
    out = tmp_path / "nested" / "settings.schema.json"
    written = runner.invoke(schema_command, ["--settings", "-o", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8") == render(settings_schema())
    assert json.loads(out.read_text(encoding="utf-8"))["$schema"].endswith("2020-12/schema")


def test_an_unwritable_output_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(schema_command, ["-o", str(blocker / "x.json")])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"cannot write {blocker / 'x.json'}" in result.output
    assert "Traceback" not in result.output
