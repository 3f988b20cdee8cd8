"""Datadog rendering, local validation, normal form and the offline ``files`` target.

No network here: these tests exercise what slogen decides before it talks to Datadog.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from slogen.backends.datadog import BACKEND, normalise
from slogen.backends.datadog import forms as dd_forms
from slogen.backends.datadog import render as dd_render
from slogen.backends.datadog.api import client as dd_client
from slogen.backends.datadog.api import read as dd_read
from slogen.backends.datadog.dashboard import normalise_dashboard
from slogen.spec.loader import load_project
from tests.cli import run
from tests.conftest import SPECS


def example_resources() -> dict[str, dict]:
    project = load_project([str(SPECS)])
    return {f"{r.kind} {r.key}": r for r in BACKEND.render(project, None)}


def write_spec(directory: Path, body: str, config: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "svc.yaml").write_text(textwrap.dedent(body), encoding="utf-8")
    if config:
        (directory / "slogen.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    return directory


SPEC = """\
service: shop
owner: Web-Team
labels: {{env: prod, Region: eu west}}
slos:
  - name: availability
    objective: {objective}
    window: {window}
    indicator:
      datadog:
        errors: sum:shop.errors{{env:prod}}.as_count()
        total: sum:shop.requests{{env:prod}}.as_count()
    alerting:
      page:
        datadog: ["@pagerduty-shop"]
      ticket:
        datadog: ["@slack-shop"]
"""


def shop(tmp_path: Path, objective: str = "99.9", window: str = "30d", config: str = "") -> Path:
    return write_spec(tmp_path / "specs", SPEC.format(objective=objective, window=window), config)


# -- forms ----------------------------------------------------------------------------------------


def test_forms_of_the_example_specs() -> None:
    project = load_project([str(SPECS)])
    forms = {
        (s.name, o.name): {tf.math.id: tf.form for tf in dd_forms.tier_plan(o)}
        for s, o in project.slos()
    }
    # min_events needs a guard a burn-rate monitor cannot carry: composite of burn + events
    assert forms[("checkout", "availability")] == {
        "page-1h": dd_forms.BURN_RATE_GUARD,
        "page-6h": dd_forms.BURN_RATE_GUARD,
        "ticket-3d": dd_forms.METRIC_COMPOSITE,  # 3d > 48h
    }
    assert forms[("checkout", "latency")] == {
        "page-1h": dd_forms.BURN_RATE,
        "page-6h": dd_forms.BURN_RATE,
        "ticket-3d": dd_forms.METRIC_COMPOSITE,
    }
    # 28d is not a Datadog SLO timeframe: no SLO object, metric monitors for every tier
    assert set(forms[("search", "availability")].values()) == {dd_forms.METRIC_COMPOSITE}
    assert forms[("billing-worker", "freshness")] == {
        "ticket-6h": dd_forms.BURN_RATE_GUARD,
        "ticket-21h": dd_forms.BURN_RATE_GUARD,  # 21h is within a burn-rate monitor's 1h-48h
    }


def test_burn_rate_monitor_body() -> None:
    res = example_resources()["monitor checkout/latency/page-1h"]
    body = res.body
    assert body["type"] == "slo alert"
    assert body["query"] == (
        'burn_rate("${slo:checkout/latency}").over("30d").long_window("1h")'
        '.short_window("5m") > 14.4'
    )
    assert body["options"] == {"thresholds": {"critical": 14.4}, "notify_no_data": False}
    assert body["priority"] == 1  # page
    assert res.depends_on == ("checkout/latency",)
    assert body["tags"] == sorted(body["tags"])
    assert {
        "managed-by:slogen",
        "slogen-key:checkout/latency/page-1h",
        "slogen-project:specs",  # the project: the spec directory's name
        "service:checkout",
        "category:latency",  # the SLO's category
        "slo:latency",
        "team:payments",
        "tier:page-1h",
        "severity:page",
        "env:prod",
    } == set(body["tags"])


def test_message_has_handles_in_alert_and_recovery_blocks() -> None:
    message = example_resources()["monitor checkout/latency/page-1h"].body["message"]
    alert = message.split("{{#is_alert}}")[1].split("{{/is_alert}}")[0]
    recovery = message.split("{{#is_recovery}}")[1].split("{{/is_recovery}}")[0]
    assert "@pagerduty-checkout" in alert and "@pagerduty-checkout" in recovery
    assert "Runbook: https://runbooks.example.com/checkout/latency" in alert
    assert "14.4x" in alert and "2% of the 30d error budget" in alert
    assert "{{ " not in message and "{%" not in message


def _recovery(message: str) -> str:
    return message.split("{{#is_recovery}}")[1].split("{{/is_recovery}}")[0]


def test_recovery_names_every_condition_that_may_have_cleared(tmp_path: Path) -> None:
    # a composite cannot tell its message which part cleared: all of them are listed
    message = example_resources()["monitor checkout/availability/ticket-3d"].body["message"]
    assert (
        "At least one of these holds now (Datadog does not say which): the error ratio over "
        "the last 6h is at most 0.1%; over the last 3d it is at most 0.1%; the last 3d saw "
        "fewer than 100 events.\n"
    ) in _recovery(message)
    assert "back below" not in message
    # without min_events only the two windows can clear a burn-rate monitor
    project = load_project([str(shop(tmp_path))])
    bodies = {r.key: r.body for r in BACKEND.render(project, None)}
    recovery = _recovery(bodies["shop/availability/page-1h"]["message"])
    assert recovery.split("\n")[1].endswith(
        "the error ratio over the last 5m is at most 1.44%; over the last 1h it is at most 1.44%."
    )
    assert "events" not in recovery


def test_three_day_tier_is_a_composite_of_metric_monitors_with_the_same_numbers() -> None:
    res = example_resources()
    long = res["monitor checkout/availability/ticket-3d/long"].body
    short = res["monitor checkout/availability/ticket-3d/short"].body
    events = res["monitor checkout/availability/ticket-3d/events"].body
    composite = res["monitor checkout/availability/ticket-3d"]
    assert long["query"] == (
        "sum(last_72h):sum:checkout.requests.errors{env:prod}.as_count() / "
        "sum:checkout.requests{env:prod}.as_count() > 0.001"
    )
    assert short["query"].startswith("sum(last_6h):") and short["query"].endswith("> 0.001")
    assert long["options"] == {
        "thresholds": {"critical": 0.001},
        "on_missing_data": "resolve",
        "require_full_window": False,
    }
    assert events["query"] == "sum(last_72h):sum:checkout.requests{env:prod}.as_count() >= 100"
    assert composite.body["type"] == "composite"
    assert composite.body["query"] == (
        "${monitor:checkout/availability/ticket-3d/long} && "
        "${monitor:checkout/availability/ticket-3d/short} && "
        "${monitor:checkout/availability/ticket-3d/events}"
    )
    assert composite.depends_on == (
        "checkout/availability/ticket-3d/long",
        "checkout/availability/ticket-3d/short",
        "checkout/availability/ticket-3d/events",
    )
    # only the composite notifies and has a priority
    assert composite.body["priority"] == 3 and "@slack-payments-alerts" in composite.body["message"]
    for child in (long, short, events):
        assert "priority" not in child
        assert "@slack" not in child["message"] and "@pagerduty" not in child["message"]


def test_good_events_spec_uses_total_minus_good() -> None:
    res = example_resources()
    query = res["monitor checkout/latency/ticket-3d/long"].body["query"]
    assert query == (
        "sum(last_72h):(sum:checkout.requests{env:prod}.as_count() - "
        "sum:checkout.requests.fast{env:prod}.as_count()) / "
        "sum:checkout.requests{env:prod}.as_count() > 0.01"
    )
    slo = res["slo checkout/latency"].body
    assert slo["query"] == {
        "numerator": "sum:checkout.requests.fast{env:prod}.as_count()",
        "denominator": "sum:checkout.requests{env:prod}.as_count()",
    }
    availability = res["slo checkout/availability"].body
    assert availability["query"]["numerator"] == (
        "sum:checkout.requests{env:prod}.as_count() - sum:checkout.requests.errors{env:prod}"
        ".as_count()"
    )
    assert availability["thresholds"] == [{"timeframe": "30d", "target": 99.9}]


def test_no_slo_object_for_other_windows_and_a_plan_note() -> None:
    res = example_resources()
    assert "slo search/availability" not in res
    project = load_project([str(SPECS)])
    notes = BACKEND.plan_notes(project)
    assert any("search/query-latency, search/availability: window 4w" in n for n in notes)
    assert any(
        "tier ticket-3d uses two metric monitors (sum(last_72h) and sum(last_6h))" in n
        for n in notes
    )


def test_tags_are_lower_case_and_datadog_safe(tmp_path: Path) -> None:
    project = load_project([str(shop(tmp_path))])
    tags = BACKEND.render(project, None)[0].body["tags"]
    assert "team:web-team" in tags and "region:eu_west" in tags
    assert tags == sorted(tags)


def test_other_long_windows_fall_back_and_say_why(tmp_path: Path) -> None:
    config = """\
    default_policy: odd
    policies:
      odd:
        - {severity: page, budget: 2%, long: 90m, short: 5m}
        - {severity: ticket, budget: 1%, long: 30m, short: 150s}
    """
    project = load_project([str(shop(tmp_path, config=config))])
    service, slo = next(project.slos())
    forms = {tf.math.id: tf for tf in dd_forms.tier_plan(slo)}
    assert forms["page-1h30m"].form == dd_forms.METRIC_COMPOSITE
    assert "not a whole number of hours" in forms["page-1h30m"].reason
    assert "shorter than the 1h minimum" in forms["ticket-30m"].reason
    texts = BACKEND.tier_forms(service, slo)
    assert "last_90m" in texts["page-1h30m"] and "not a burn-rate monitor" in texts["page-1h30m"]


# -- validation -----------------------------------------------------------------------------------


def test_too_many_target_decimals_is_a_located_error(tmp_path: Path, in_tmp: Path) -> None:
    specs = shop(tmp_path, objective="99.9995")
    result = run("plan", str(specs), "--target", "datadog", exit_code=1)
    assert "svc.yaml:5:5: error: slos[0].objective: Datadog SLO targets have at most 3" in (
        result.stderr
    )
    assert "hint:" in result.stderr and "Traceback" not in result.output


def test_windows_a_metric_monitor_cannot_take_are_errors(tmp_path: Path) -> None:
    config = """\
    policies:
      slow:
        - {severity: page, budget: 2%, long: 1h, short: 5m}
        - {severity: ticket, budget: 30%, long: 2w, short: 1d}
    default_policy: slow
    """
    project = load_project([str(shop(tmp_path, window="90d", config=config))])
    (problem,) = BACKEND.validate(project)
    assert problem.severity == "error"
    assert problem.path == "slos[0].alerting.policy"
    assert "long window 2w" in problem.message and "up to one week" in problem.message
    assert problem.location.line == 5


def test_decimals_only_matter_when_there_is_an_slo_object(tmp_path: Path) -> None:
    project = load_project([str(shop(tmp_path, objective="99.9995", window="28d"))])
    assert BACKEND.validate(project) == []
    kinds = {r.kind for r in BACKEND.render(project, None)}
    assert kinds == {"monitor", "dashboard"}


def test_render_rejects_nothing_that_validate_reports(tmp_path: Path) -> None:
    """validate is complete: render of an invalid project still renders (the CLI stops first)."""
    project = load_project([str(shop(tmp_path, objective="99.9995"))])
    (problem,) = BACKEND.validate(project)
    assert problem.path == "slos[0].objective"
    assert "at most 3 decimal places, found 99.9995" in problem.message
    assert "round the objective" in problem.hint
    assert {r.kind for r in BACKEND.render(project, None)} == {"slo", "monitor", "dashboard"}


def test_queries_may_not_contain_symbols(tmp_path: Path) -> None:
    specs = write_spec(
        tmp_path / "specs",
        SPEC.format(objective="99.9", window="30d").replace(
            "sum:shop.errors{env:prod}", "sum:shop.errors{env:${monitor:x}}"
        ),
    )
    project = load_project([str(specs)])
    (problem,) = BACKEND.validate(project)
    assert problem.path == "slos[0].indicator.datadog.errors"
    assert "may not contain '${...}'" in problem.message


def test_long_tags_are_errors(tmp_path: Path) -> None:
    specs = write_spec(tmp_path / "specs", SPEC.format(objective="99.9", window="30d"))
    text = (specs / "svc.yaml").read_text().replace("Region: eu west", "Region: " + "x" * 200)
    (specs / "svc.yaml").write_text(text)
    (problem,) = BACKEND.validate(load_project([str(specs)]))
    assert problem.path == "slos[0]" and "longer than 200 characters" in problem.message


# -- normal form ----------------------------------------------------------------------------------


def test_normalise_monitor_drops_server_fields_and_defaults() -> None:
    desired = example_resources()["monitor checkout/availability/ticket-3d/long"].body
    live = {
        **desired,
        "id": 1,
        "org_id": 2,
        "type": "metric alert",
        "created": "x",
        "overall_state": "OK",
        "priority": None,
        "multi": False,
        "tags": list(reversed(desired["tags"])),
        "message": desired["message"] + "\n\n",
        "query": desired["query"].replace(" / ", "  /  "),
        "options": {
            "thresholds": {"critical": 0.001, "warning": None},
            "notify_no_data": False,  # the server's default, not compared next to on_missing_data
            "on_missing_data": "resolve",
            "require_full_window": False,
            "notify_audit": False,
            "include_tags": True,
            "new_host_delay": 300,
            "silenced": {"*": None},
        },
    }
    assert normalise.normalise_monitor_body(live) == desired


def test_normalise_slo_keeps_managed_fields_only() -> None:
    desired = example_resources()["slo checkout/latency"].body
    live = {
        **desired,
        "id": "abc",
        "type_id": 1,
        "monitor_tags": [],
        "creator": {},
        "created_at": 1,
        "modified_at": 2,
        "timeframe": "30d",
        "target_threshold": 99.0,
        "thresholds": [{"timeframe": "30d", "target": 99.0, "target_display": "99."}],
    }
    assert normalise.normalise_slo_body(live) == desired


@pytest.mark.parametrize(
    ("tags", "key"),
    [
        (["managed-by:slogen", "slogen-key:a/b"], "a/b"),
        (["Managed-By:Slogen", "slogen-key:a/b"], "a/b"),
        (["managed-by:terraform", "slogen-key:a/b"], None),
        (["managed-by:slogen"], None),
        (["managed-by:slogen", "slogen-key:a", "slogen-key:b"], None),
        ([], None),
    ],
)
def test_ownership_needs_both_tags(tags: list[str], key: str | None) -> None:
    assert normalise.ownership(tags) == key


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"X-RateLimit-Reset": "3"}, 3.0),
        ({"X-RateLimit-Reset": "3, 3"}, 3.0),  # sent twice, joined by urllib3
        ({"x-ratelimit-reset": "2, 5"}, 5.0),
        ({"X-RateLimit-Reset": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_parse_reset(headers: dict | None, seconds: float | None) -> None:
    assert dd_client.parse_reset(headers) == seconds


def test_retry_delay_honours_reset_and_is_capped() -> None:
    policy = dd_client.RetryPolicy(max_sleep=10, backoff=0.5)
    assert 3 <= policy.delay(429, {"X-RateLimit-Reset": "3, 3"}, 0) <= 3.2
    assert policy.delay(429, {"X-RateLimit-Reset": "3600"}, 0) == 10
    assert 2 <= policy.delay(503, {}, 2) <= 2.2  # 0.5 * 2**2, plus a little jitter


def test_retry_delay_gives_up_on_other_answers_and_after_the_attempts() -> None:
    policy = dd_client.RetryPolicy(attempts=3, max_sleep=10, backoff=0.5)
    assert policy.retry_delay(400, {"X-RateLimit-Reset": "1"}, 0) is None
    assert policy.retry_delay(404, {}, 0) is None
    assert 1 <= (policy.retry_delay(429, {"X-RateLimit-Reset": "1"}, 1) or 0) <= 1.2
    assert policy.retry_delay(503, {}, 2) is None  # the third call was the last


def test_naming_the_backend_loads_no_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from slogen.backends.datadog import BACKEND\n"
        "from slogen.spec.model import Target\n"
        "BACKEND.target(Target('datadog', 'files', (('dir', 'out'),)))\n"
        "import slogen.backends.datadog.api\n"
        "print(sorted(m for m in sys.modules if m.startswith(('datadog_api_client', 'urllib3'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the files target -----------------------------------------------------------------------------


def test_files_target_plans_offline_and_converges(in_tmp: Path) -> None:
    out = in_tmp / "out" / "datadog"
    out.mkdir(parents=True)
    (out / "someone-else.json").write_text('{"mine": true}\n')
    (out / "notes.txt").write_text("keep me\n")
    first = run("plan", str(SPECS), "--target", "datadog")
    assert "datadog (files:out/datadog):" in first.stdout
    assert "+ monitor checkout/latency/page-1h" in first.stdout
    run("apply", str(SPECS), "--target", "datadog", "--auto-approve")
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "billing-worker.datadog.json",
        "checkout.datadog.json",
        "notes.txt",
        "search.datadog.json",
        "someone-else.json",
    ]
    doc = json.loads((out / "checkout.datadog.json").read_text())
    assert doc["managed-by"] == "slogen"
    again = run("plan", str(SPECS), "--target", "datadog", "--detailed-exitcode")
    assert "No changes." in again.stdout
    assert (out / "someone-else.json").read_text() == '{"mine": true}\n'


def test_files_target_refuses_to_overwrite_an_unowned_file(in_tmp: Path) -> None:
    out = in_tmp / "out" / "datadog"
    out.mkdir(parents=True)
    (out / "checkout.datadog.json").write_text('{"hand": "made"}\n')
    result = run("plan", str(SPECS), "--target", "datadog", exit_code=1)
    assert "checkout.datadog.json exists and is not managed by slogen" in result.stderr
    assert (out / "checkout.datadog.json").read_text() == '{"hand": "made"}\n'


def test_explain_names_each_datadog_form() -> None:
    result = run("explain", str(SPECS), "--slo", "checkout/latency")
    assert "datadog page-1h: Datadog burn-rate monitor (slo alert)" in result.stdout
    assert "datadog ticket-3d: composite of two metric monitors" in result.stdout


def test_rendered_bodies_are_already_in_normal_form() -> None:
    """Live objects are normalised before diffing; desired ones must need no normalising."""
    for res in example_resources().values():
        if res.kind == "monitor":
            assert normalise.normalise_monitor_body(res.body) == res.body, res.key
        elif res.kind == "dashboard":
            assert normalise_dashboard(res.body, {}) == res.body, res.key
        else:
            assert normalise.normalise_slo_body(res.body) == res.body, res.key


def test_cached_templates_tidy_like_the_shared_renderer() -> None:
    from slogen import templating

    context = dict(dd_render.slo_context(*next(iter(load_project([str(SPECS)]).slos()))), key="k")
    for name in ("datadog/slo_description.md.j2", "datadog/slo_name.txt.j2"):
        assert dd_render.text_from(name, None, **context) == templating.render(
            name, None, **context
        )


def test_expected_monitors_matches_what_render_makes() -> None:
    project = load_project([str(SPECS)])
    resources = BACKEND.render(project, None)
    monitors = [r for r in resources if r.kind == "monitor"]
    assert dd_read.expected_monitors(resources) == len(monitors)
    # a saved plan is checked with desired and live copies: each key counts once
    assert dd_read.expected_monitors(resources + monitors) == len(monitors)


def test_endpoint_and_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from slogen.spec.model import Target

    monkeypatch.setenv("DD_API_KEY", "a" * 32)
    monkeypatch.setenv("DD_APPLICATION_KEY", "b" * 40)  # the other accepted name
    monkeypatch.setenv("DD_SITE", "datadoghq.eu")
    assert dd_client.settings(Target("datadog", "api")).host == "https://api.datadoghq.eu"
    monkeypatch.setenv("DD_SITE", "https://api.us5.datadoghq.com/")
    assert dd_client.settings(Target("datadog", "api")).host == "https://api.us5.datadoghq.com"
    monkeypatch.delenv("DD_SITE")
    assert dd_client.settings(Target("datadog", "api")).host == "https://api.datadoghq.com"
    with_host = Target("datadog", "api", (("host", "http://127.0.0.1:1234"),))
    assert dd_client.settings(with_host).host == "http://127.0.0.1:1234"
    assert dd_client.settings(with_host).app_key == "b" * 40
