"""A new backend is one package and one registry line.

tests/fourth_backend is a small backend written only against the contract. Added to the
registry (the one line a real backend would add), it is accepted by the loader in indicators,
notification blocks and targets, validated, built, planned, applied and explained, with no
other change anywhere in slogen.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slogen.backends import registry
from tests.cli import run

SPEC = """\
service: shop
slos:
  - name: availability
    objective: 99.9
    window: {window}
    indicator:
      webhook:
        errors: shop.errors
        total: shop.requests
    alerting:
      page:
        webhook: ["https://hooks.example.com/page"]
      ticket:
        webhook: ["https://hooks.example.com/ticket"]
"""


@pytest.fixture
def fourth(monkeypatch: pytest.MonkeyPatch, in_tmp: Path) -> Path:
    packages = {**registry._PACKAGES, "webhook": "tests.fourth_backend"}
    monkeypatch.setattr(registry, "_PACKAGES", packages)
    monkeypatch.setattr(registry, "NAMES", tuple(packages))
    registry.get.cache_clear()
    yield in_tmp
    registry.get.cache_clear()


def test_a_registered_backend_works_end_to_end(fourth: Path) -> None:
    (fourth / "shop.yaml").write_text(SPEC.format(window="30d"), encoding="utf-8")
    assert "Valid: 1 service, 1 SLO." in run("validate", "shop.yaml").stdout
    built = run("build", "shop.yaml", "-o", "built")
    assert "webhook: wrote 1 file" in built.stdout
    doc = json.loads((fourth / "built" / "webhook" / "shop.webhook.json").read_text())
    assert [h["key"] for h in doc["hooks"]] == [
        "shop/availability/page-1h",
        "shop/availability/page-6h",
        "shop/availability/ticket-3d",
    ]
    assert doc["hooks"][0]["body"] == {
        "threshold": "0.0144",
        "urls": ["https://hooks.example.com/page"],
    }
    plan = run("plan", "shop.yaml", "--target", "webhook")
    assert "webhook (files:out/webhook)" in plan.stdout
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in plan.stdout
    run("apply", "shop.yaml", "--target", "webhook", "--auto-approve")
    again = run("plan", "shop.yaml", "--detailed-exitcode")
    assert "No changes." in again.stdout
    explained = run("explain", "shop.yaml")
    assert "webhook page-1h: a webhook above 0.0144" in explained.stdout


def test_its_checks_and_spec_keys_join_validate(fourth: Path) -> None:
    (fourth / "shop.yaml").write_text(SPEC.format(window="90d"), encoding="utf-8")
    result = run("validate", "shop.yaml", exit_code=1)
    assert "shop.yaml:3:5: error: slos[0].window: webhooks keep 30d at most" in result.stderr
    bad = SPEC.format(window="30d").replace("https://hooks.example.com/page", "pager")
    (fourth / "shop.yaml").write_text(bad, encoding="utf-8")
    result = run("validate", "shop.yaml", exit_code=1)
    assert "slos[0].alerting.page.webhook[0]: expected a URL" in result.stderr
    (fourth / "shop.yaml").write_text(SPEC.format(window="30d"), encoding="utf-8")
    result = run("plan", "--target", "nope", "shop.yaml", exit_code=1)
    assert "--target takes prometheus, datadog, cloudwatch, webhook or grafana" in result.stderr
