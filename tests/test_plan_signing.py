"""Saved plans are signed, and apply refuses one that is not exactly what plan wrote (issue 13,
case 10; the format version message is case 11).

Without ``SLOGEN_PLAN_KEY`` the SHA-256 catches hand edits; with it, an HMAC that nobody without
the key can recompute. Every refusal exits 1 and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from slogen.plan import planfile
from tests.cli import run
from tests.conftest import SPECS

KEY = "plan-signing-key-0123456789"
OTHER_KEY = "another-key-9876543210"


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _plan(monkeypatch: pytest.MonkeyPatch, key: str | None) -> Path:
    if key is None:
        monkeypatch.delenv(planfile.KEY_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(planfile.KEY_VARIABLE, key)
    run("plan", str(SPECS), "-o", "plan.json")
    return Path("plan.json")


def _apply_refused(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path, key: str | None, *expected: str
) -> str:
    if key is None:
        monkeypatch.delenv(planfile.KEY_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(planfile.KEY_VARIABLE, key)
    before = snapshot(in_tmp)
    result = run("apply", "plan.json", exit_code=1)
    for text in expected:
        assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert snapshot(in_tmp) == before, "a refused plan must write nothing"
    assert not (in_tmp / "out").exists()
    for secret in (KEY, OTHER_KEY):
        assert secret not in result.output
    return result.stderr


def _tamper(path: Path, old: str, new: str, *, resign: bool = False) -> None:
    """Replace ``old`` with ``new`` everywhere in the plan; with ``resign``, recompute the
    SHA-256 as someone who knows the scheme but not the key would."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    data = json.loads(text.replace(old, new))
    if resign:
        data["signature"]["sha256"] = hashlib.sha256(planfile._canonical(data)).hexdigest()
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_a_plan_edited_by_hand_is_refused(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(monkeypatch, None)
    _tamper(plan, '"target": 99.9', '"target": 12.3')
    _apply_refused(monkeypatch, in_tmp, None, "plan.json was edited or damaged", "SHA-256")


def test_a_plan_whose_digest_was_recomputed_is_refused_with_a_key(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(monkeypatch, KEY)
    assert "@pagerduty-checkout" in plan.read_text()
    _tamper(plan, "@pagerduty-checkout", "@webhook-attacker", resign=True)
    _apply_refused(monkeypatch, in_tmp, KEY, "signed with another key", "SLOGEN_PLAN_KEY")


def test_a_keyed_plan_needs_the_same_key(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _plan(monkeypatch, KEY)
    assert KEY not in Path("plan.json").read_text()
    _apply_refused(monkeypatch, in_tmp, None, "signed with a key", "SLOGEN_PLAN_KEY is not set")
    _apply_refused(monkeypatch, in_tmp, OTHER_KEY, "signed with another key")
    monkeypatch.setenv(planfile.KEY_VARIABLE, f"  {KEY}\n")  # a secret pasted with a newline
    result = run("apply", "plan.json")
    assert "Apply complete" in result.output
    assert (in_tmp / "out" / "prometheus").is_dir()


def test_an_unkeyed_plan_is_refused_where_apply_has_a_key(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropping the HMAC and fixing the SHA-256 is no way round the key."""
    _plan(monkeypatch, None)
    _apply_refused(monkeypatch, in_tmp, KEY, "is not signed with a key, and SLOGEN_PLAN_KEY is set")


def test_a_plan_without_signature_is_refused(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(monkeypatch, None)
    data = json.loads(plan.read_text())
    del data["signature"]
    plan.write_text(json.dumps(data))
    _apply_refused(monkeypatch, in_tmp, None, "plan.json has no signature")


def test_reindenting_a_plan_keeps_it_valid(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(monkeypatch, KEY)
    plan.write_text(json.dumps(json.loads(plan.read_text()), indent=4))
    assert "Apply complete" in run("apply", "plan.json").output


def test_a_plan_of_another_format_version_says_so(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(monkeypatch, None)
    data = json.loads(plan.read_text())
    data["format_version"] = 1
    del data["signature"]
    plan.write_text(json.dumps(data))
    _apply_refused(
        monkeypatch,
        in_tmp,
        None,
        f"was made by another slogen version (format 1, this one reads {planfile.FORMAT_VERSION})",
    )
    assert "not a slogen plan" not in run("apply", "plan.json", exit_code=1).stderr


# -- an object that appeared since the plan, on the Datadog API target ---------------------------

DD_API_KEY = "dd-api-signing-0123456789"
DD_APP_KEY = "dd-app-signing-9876543210"


def test_datadog_creates_colliding_with_an_object_that_appeared_since_are_refused(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between plan and apply someone (another apply, a clone in the UI) creates an object for
    a key the plan would create: apply refuses before its first write, nothing is duplicated."""
    from tests.conftest import example_policies
    from tests.fakes.datadog_api import FakeDatadog

    monkeypatch.setenv("DD_API_KEY", DD_API_KEY)
    monkeypatch.setenv("DD_APP_KEY", DD_APP_KEY)
    monkeypatch.delenv(planfile.KEY_VARIABLE, raising=False)
    specs = in_tmp / "specs"
    shutil.copytree(SPECS, specs)
    with FakeDatadog(api_key=DD_API_KEY, app_key=DD_APP_KEY) as fake:
        (specs / "slogen.yaml").write_text(
            example_policies() + f'targets:\n  datadog: {{type: api, host: "{fake.url}"}}\n'
        )
        run("plan", str(specs), "--target", "datadog", "-o", "plan.json")
        saved = json.loads(Path("plan.json").read_text())
        assert saved["summary"]["add"] > 0 and not fake.monitors
        key = "checkout/availability/no-traffic"
        body = next(r["body"] for r in saved["desired"] if r["key"] == key)
        fake.add_monitor(dict(body))
        start = len(fake.requests)
        result = run("apply", "plan.json", exit_code=1)
        assert "the plan is stale" in result.stderr, result.stderr
        assert "nothing was changed" in result.stderr
        writes = [r for r in fake.requests[start:] if r[0] != "GET"]
        assert not [w for w in writes if "/slo" in w[1]], writes
        keyed = [
            m
            for m in fake.monitors.values()
            if any(str(t).startswith("slogen-key:") for t in m["tags"])
        ]
        assert len(keyed) == 1, keyed


@pytest.mark.parametrize(
    "value",
    [1e-05, 0.1 + 0.2, -0.0, 10**30, "non-ASCII: 99,9 %\u2009\U0001f4df", {"é": 1, "e": [2]}],
    ids=["tiny-float", "float", "negative-zero", "beyond-64-bits", "non-ascii", "keys"],
)
def test_every_kind_of_value_survives_save_and_load(value: object, tmp_path: Path) -> None:
    """The signed bytes are the same at save and at load, whichever writer made them (orjson,
    or the standard library for what orjson refuses)."""
    from slogen.plan.model import Plan
    from slogen.resources import Resource
    from slogen.spec.loader import load_project

    desired = [Resource("prometheus", "files:out", "alert", "a/b/page-1h", {"v": value})]
    path = tmp_path / "plan.json"
    planfile.save(Plan(changes=[], desired=desired), load_project([str(SPECS)]), str(path))
    plan, _ = planfile.load(str(path))
    assert plan.desired == desired
