"""Shared fixtures: the repository layout and the one helper every CLI test goes through."""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


GOLDEN = ROOT / "tests" / "golden"


def example_policies() -> str:
    """The ``policies:`` block of specs/slogen.yaml, for tests that write their own settings
    (other targets) around the example specs."""
    text = (SPECS / "slogen.yaml").read_text(encoding="utf-8")
    start = text.index("\npolicies:\n") + 1
    end = text.index("\ntargets:", start) + 1
    return text[start:end]


REGEN_SCRIPT = ROOT / "scripts" / "regen_golden.py"


@lru_cache(maxsize=1)
def regen_script() -> ModuleType:
    """scripts/regen_golden.py as a module: golden tests build their expectations with it."""
    spec = importlib.util.spec_from_file_location("regen_golden", REGEN_SCRIPT)
    assert spec is not None and spec.loader is not None, REGEN_SCRIPT
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests compare plain text; colour is tested explicitly where it matters."""
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("DD_API_KEY", "DD_APP_KEY", "DD_SITE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty working directory (relative output dirs such as out/ land here)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pytest_report_header(config: pytest.Config) -> str:
    return f"slogen tests; PATH has promtool: {bool(_which('promtool'))}"


def _which(name: str) -> str | None:
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


@pytest.fixture(autouse=True)
def fixed_review_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees the same "today" for the SLO documents' review dates, so the example
    specs' dates (in 2027) do not start raising warnings, and failing tests, when they pass.
    Tests of the review warning set their own day."""
    import datetime

    monkeypatch.setattr("slogen.spec.document.today", lambda: datetime.date(2026, 12, 1))


def _snapshot(body: object) -> bytes:
    import json

    import orjson

    try:
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(body, sort_keys=True, default=repr).encode()


@pytest.fixture(autouse=True)
def rendered_bodies_stay_unchanged(monkeypatch: pytest.MonkeyPatch):
    """No code may change a rendered resource's body in place, in any test.

    Renderers share the blocks that are the same across panels, tiers and SLOs (one object
    for thousands of uses keeps a large plan's memory down), so a change made in place to one
    body would silently change others. Every body rendered during a test is serialised when
    it is made and again when the test ends; any difference fails the test with its address.
    """
    from slogen.backends import registry

    seen: list[tuple[str, object, bytes]] = []  # the bodies, not the resources: see below
    for backend in registry.backends():
        cls = type(backend)

        def render(self, *args, _original=cls.render, **kwargs):
            resources = _original(self, *args, **kwargs)
            # keeping the resources themselves would defeat tests that they are let go of
            seen.extend((r.address, r.body, _snapshot(r.body)) for r in resources)
            return resources

        monkeypatch.setattr(cls, "render", render)
    yield
    changed = [address for address, body, before in seen if _snapshot(body) != before]
    assert not changed, f"rendered bodies changed in place: {changed[:5]}"
