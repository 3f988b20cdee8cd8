"""Warnings for tiers that alert while the SLO is met, on one failed event, or never."""

from __future__ import annotations

from pathlib import Path

from slogen.spec.advice import alerting_warnings
from slogen.spec.loader import load_project
from tests.cli import run

SPEC = """\
service: shop
slos:
  - name: availability
    objective: 99.9
    window: {window}
{extra}    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{{code=~"5.."}}[{{{{ window }}}}]))
        total: sum(rate(http_requests_total[{{{{ window }}}}]))
"""


def write(directory: Path, window: str = "30d", extra: str = "") -> Path:
    path = directory / "shop.yaml"
    path.write_text(SPEC.format(window=window, extra=extra), encoding="utf-8")
    return path


def warnings(path: Path) -> list[str]:
    return [f"{p.path}: {p.message}" for p in alerting_warnings(load_project([str(path)]))]


def test_the_workbook_policy_on_its_own_30_day_window_is_quiet(tmp_path: Path) -> None:
    # the 3d ticket tier has burn rate exactly 1 there: it fires only above the budget rate
    assert warnings(write(tmp_path)) == []


def test_a_7_day_window_on_the_workbook_policy_is_located_and_explained(in_tmp: Path) -> None:
    write(in_tmp, window="7d")
    result = run("validate", "shop.yaml")
    assert (
        "shop.yaml:3:5: warning: slos[0]: tier ticket-3d of policy 'workbook' has burn rate "
        "0.2333 over this SLO's 1w window: it fires at an error ratio of 0.02333%, below the "
        "0.1% the SLO allows, so it alerts while the SLO is met" in result.stderr
    )
    # 3d/7d = 42.857...%: "above" advice is rounded up so that following it is enough
    assert "hint: give the tier a budget above 42.86% or a long window under 16h48m" in (
        result.stderr
    )
    assert "(1 warning)" in result.stdout
    run("validate", "shop.yaml", "--strict", exit_code=1)


def test_following_the_advice_silences_it(tmp_path: Path) -> None:
    (tmp_path / "slogen.yaml").write_text(
        "policies:\n  weekly:\n"
        "    - {severity: page, budget: 2%, long: 1h, short: 5m}\n"
        "    - {severity: ticket, budget: 42.86%, long: 3d, short: 6h}\n"
        "    - {severity: ticket, budget: 10%, long: 16h48m}\n",
        encoding="utf-8",
    )
    write(tmp_path, window="7d", extra="    alerting: {policy: weekly}\n")
    assert warnings(tmp_path) == []


def test_one_failed_event_tripping_a_tier_is_a_warning(tmp_path: Path) -> None:
    # 2,000 events per 30 days: the 1h window sees about 2.8; one failure is 36% > 1.44%
    found = warnings(write(tmp_path, extra="    traffic: 2000/30d\n"))
    assert any(
        w.startswith("slos[0].traffic: tier page-1h fires on a single failed event") for w in found
    ), found
    # the 3d window sees 200 events: one failure is 0.5%, above the 0.1% threshold too
    assert any(w.startswith("slos[0].traffic: tier ticket-3d fires on a single") for w in found)
    # 30,000,000 events per 30 days: no tier is that fragile
    assert warnings(write(tmp_path, extra="    traffic: 30M/30d\n")) == []


def test_min_events_the_window_never_sees_is_a_warning(tmp_path: Path) -> None:
    extra = "    traffic: 2000/30d\n    alerting: {min_events: 100}\n"
    found = warnings(write(tmp_path, extra=extra))
    assert any(
        w.startswith("slos[0].alerting.min_events: tier page-1h never fires") for w in found
    ), found
    assert any(w.startswith("slos[0].alerting.min_events: tier page-6h never fires") for w in found)
    # 200 events over 3 days reach min_events 100, so that tier can fire, on one failure
    assert not any("ticket-3d never fires" in w for w in found)
    assert any(w.startswith("slos[0].traffic: tier ticket-3d fires on a single") for w in found)


def test_a_min_events_too_small_to_matter_does_not_hide_the_warning(tmp_path: Path) -> None:
    # the 1h window sees ~28 events, more than 20: the guard lets one failure (3.6%) through
    extra = "    traffic: 20000/30d\n    alerting: {min_events: 20}\n"
    found = warnings(write(tmp_path, extra=extra))
    assert any(w.startswith("slos[0].traffic: tier page-1h fires on a single") for w in found)
    assert any("set alerting.min_events to 70 or more" in p.hint for p in _problems(tmp_path))


def test_a_min_events_that_covers_one_failure_is_quiet(tmp_path: Path) -> None:
    # 100,000 events per 30 days: the 1h window sees ~139 ≥ 70 = ceil(1/1.44%)
    extra = "    traffic: 100000/30d\n    alerting: {min_events: 70}\n"
    found = warnings(write(tmp_path, extra=extra))
    assert not any("tier page-1h" in w for w in found), found


def _problems(path: Path):
    return alerting_warnings(load_project([str(path)]))
