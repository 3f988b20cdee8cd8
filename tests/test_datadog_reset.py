"""A Datadog metric-composite page clears once errors stop, within the tier's short window.

The fake Datadog evaluates the monitors slogen renders (rules and their sources in
tests/fakes/datadog_eval.py) against a full outage: every request fails for two hours, then
the service recovers and its error counter, like most ``.as_count()`` counters, sends nothing.
With the legacy ``notify_no_data: false`` the children skip every evaluation without data and
the page never clears; ``on_missing_data: resolve`` clears it as the last error leaves the
short window.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from slogen.backends.datadog import BACKEND
from slogen.resources import Resource
from slogen.spec.loader import load_project
from tests.fakes.datadog_api import FakeDatadog
from tests.fakes.datadog_eval import evaluate_metric, metric_key

ERRORS = "sum:shop.errors{env:prod}.as_count()"
TOTAL = "sum:shop.requests{env:prod}.as_count()"
STEP = 10  # seconds between counter flushes
OUTAGE_END = 2 * 3600
TIER = "shop/availability/page-1h"  # long 1h, short 5m; 28d is no Datadog SLO timeframe
SHORT = 300

SPEC = f"""\
service: shop
slos:
  - name: availability
    objective: 99.9
    window: 28d
    indicator:
      datadog:
        errors: {ERRORS}
        total: {TOTAL}
    alerting:
      min_events: 100
      page:
        datadog: ["@pagerduty-shop"]
      ticket:
        datadog: ["@slack-shop"]
"""


def _resources(tmp_path: Path) -> list[Resource]:
    (tmp_path / "shop.yaml").write_text(textwrap.dedent(SPEC), encoding="utf-8")
    return BACKEND.render(load_project([str(tmp_path)]), None)


def _legacy(body: dict[str, Any]) -> dict[str, Any]:
    """The options slogen sent before: no ``on_missing_data``, ``notify_no_data: false``."""
    options = {k: v for k, v in body["options"].items() if k != "on_missing_data"}
    return {**body, "options": {**options, "notify_no_data": False}}


def _default_zero(body: dict[str, Any]) -> dict[str, Any]:
    """The legacy options with the error query wrapped in ``default_zero()``."""
    legacy = _legacy(body)
    return {**legacy, "query": legacy["query"].replace(ERRORS, f"default_zero({ERRORS})")}


def _create(fake: FakeDatadog, resources: list[Resource], variant: Any) -> dict[str, int]:
    """Create the monitors of the tier in the fake, children first; key -> id."""
    ids: dict[str, int] = {}
    for res in resources:
        if res.kind != "monitor" or not res.key.startswith(TIER):
            continue
        body = dict(res.body)
        if body["type"] == "query alert":
            body = variant(body)
        body["query"] = re.sub(
            r"\$\{monitor:([^}]+)\}", lambda m: str(ids[m.group(1)]), body["query"]
        )
        ids[res.key] = fake.add_monitor(body)
    return ids


def _outage(fake: FakeDatadog, until: int) -> None:
    """10 requests per flush throughout; every one fails until OUTAGE_END, then none does (and
    the error counter sends no points)."""
    flushes = range(STEP, until + 1, STEP)
    fake.submit_points(TOTAL, [(t, 10.0) for t in flushes])
    fake.submit_points(ERRORS, [(t, 10.0) for t in flushes if t <= OUTAGE_END])


def _page_states(variant: Any, tmp_path: Path, until: int) -> dict[int, str]:
    """The notifying composite's state after each once-a-minute evaluation, by time."""
    fake = FakeDatadog()  # never started: only its store and evaluator are used
    ids = _create(fake, _resources(tmp_path), variant)
    _outage(fake, until)
    return {t: fake.evaluate(t)[ids[TIER]] for t in range(60, until + 1, 60)}


def test_the_page_clears_within_the_short_window_after_errors_stop(tmp_path: Path) -> None:
    states = _page_states(lambda body: body, tmp_path, OUTAGE_END + 3600)
    assert states[OUTAGE_END] == "Alert"
    # the last minute with an error point in the short window still reads 20 % > 1.344 %
    assert states[OUTAGE_END + SHORT - 60] == "Alert"
    cleared = [t for t, s in states.items() if t > OUTAGE_END and s == "OK"]
    assert cleared, "the page never cleared"
    assert cleared[0] == OUTAGE_END + SHORT
    assert all(s == "OK" for t, s in states.items() if t >= cleared[0])


@pytest.mark.parametrize("variant", [_legacy, _default_zero], ids=["legacy", "default_zero"])
def test_with_the_legacy_options_the_page_never_clears(variant: Any, tmp_path: Path) -> None:
    states = _page_states(variant, tmp_path, OUTAGE_END + 3 * 3600)
    assert states[OUTAGE_END] == "Alert"
    assert all(s == "Alert" for t, s in states.items() if t >= OUTAGE_END)


def test_rendered_metric_children_resolve_on_missing_data(tmp_path: Path) -> None:
    children = [
        r.body
        for r in _resources(tmp_path)
        if r.kind == "monitor" and r.body["type"] == "query alert"
    ]
    assert children
    for body in children:
        assert body["options"]["on_missing_data"] == "resolve"
        assert "notify_no_data" not in body["options"]  # conflicts with on_missing_data


def _ratio_monitor(**options: Any) -> dict[str, Any]:
    query = f"sum(last_5m):{ERRORS} / {TOTAL} > 0.5"
    return {"type": "query alert", "query": query, "overall_state": "Alert", "options": options}


@pytest.mark.parametrize(
    ("options", "state"),
    [
        ({"notify_no_data": False}, "Alert"),  # evaluation skipped: the last state stays
        ({"notify_no_data": True}, "No Data"),
        ({"on_missing_data": "resolve"}, "OK"),
        ({"on_missing_data": "default"}, "OK"),  # sum aggregation: evaluated as 0
        ({"on_missing_data": "show_no_data"}, "No Data"),
    ],
)
def test_the_fake_follows_the_missing_data_options(options: dict[str, Any], state: str) -> None:
    points = {metric_key(TOTAL): [(100.0, 10.0)]}  # traffic, but no error point in the window
    assert evaluate_metric(_ratio_monitor(**options), points, now=200) == state
    points[metric_key(ERRORS)] = [(150.0, 6.0)]  # 6 / 10 > 0.5, whatever the options
    assert evaluate_metric(_ratio_monitor(**options), points, now=200) == "Alert"
    # evaluation_delay moves the window back: at 200 with 60 s delay it ends at 140
    delayed = _ratio_monitor(**options, evaluation_delay=60)
    assert evaluate_metric(delayed, points, now=200) == state
