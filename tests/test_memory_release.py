"""Build and plan let go of what they no longer need, and still change nothing on an error.

A plan that is only shown lets go of each backend's resources once that backend is diffed.
``make_plan(keep=False)`` (``slogen plan`` without ``-o`` or ``--format json``) must show exactly
the plan ``keep=True`` makes, and must not hold a backend's rendered or live resources after
its diff: that is what keeps the peak memory of a large plan to that of its largest backend.
``build`` keeps only the texts of files that differ from the output's until every backend has
rendered, and a later backend's failure still writes nothing.
"""

from __future__ import annotations

import gc
import weakref
from dataclasses import replace
from pathlib import Path

import pytest

from slogen.backends import registry
from slogen.build import build_files
from slogen.errors import SlogenError
from slogen.plan.planner import make_plan
from slogen.resources import Resource
from slogen.spec.loader import load_project
from slogen.spec.model import Project, Target

SPECS = Path(__file__).resolve().parents[1] / "specs"


def _project_at(directory: Path) -> Project:
    project = load_project([str(SPECS)])
    targets = tuple(
        Target(backend.name, "files", (("dir", str(directory / backend.name)),))
        for backend in registry.backends()
    )
    return replace(project, targets=targets)


def _shown(plan) -> list[tuple]:
    return [
        (c.action, c.address, c.resource.target, [(f.path, f.before, f.after) for f in c.fields])
        for c in plan.changes
    ]


def _half_applied(tmp_path: Path) -> Project:
    """Every backend built, then one file of each changed by hand and one removed: the plan
    has creates, updates and unchanged resources in every backend."""
    project = _project_at(tmp_path)
    build_files(project, tmp_path, None)
    for backend in registry.used_by(project):
        files = sorted(p for p in (tmp_path / backend.name).iterdir() if p.is_file())
        assert len(files) >= 2, backend.name
        files[0].unlink()
        text = files[1].read_text()
        files[1].write_text(text.replace("checkout", "checkout-renamed", 1))
    return project


def test_a_shown_plan_is_the_plan_that_is_kept(tmp_path: Path) -> None:
    project = _half_applied(tmp_path)
    kept = make_plan(project, keep=True)
    shown = make_plan(project, keep=False)
    assert kept.has_changes
    assert {c.action for c in kept.changes} >= {"create", "update"}
    assert _shown(shown) == _shown(kept)
    assert shown.unchanged == kept.unchanged > 0
    assert [(t.backend, t.target) for t in shown.targets] == [
        (t.backend, t.target) for t in kept.targets
    ]
    assert shown.warnings == kept.warnings
    assert shown.summary() == kept.summary()
    assert kept.desired and not shown.desired
    for state in kept.targets:
        assert len(state.fingerprint) == 64
    with pytest.raises(RuntimeError, match="keep=False"):
        _ = shown.targets[0].fingerprint


def test_a_shown_plan_holds_no_resource_it_does_not_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _half_applied(tmp_path)
    refs: list[weakref.ref[Resource]] = []
    for backend in registry.used_by(project):
        cls = type(backend)
        original = cls.render

        def render(self, *args, _original=original, **kwargs):
            resources = _original(self, *args, **kwargs)
            refs.extend(weakref.ref(r) for r in resources)
            return resources

        monkeypatch.setattr(cls, "render", render)
    plan = make_plan(project, keep=False)
    gc.collect()
    alive = {id(r) for r in (ref() for ref in refs) if r is not None}
    in_plan = {id(c.after) for c in plan.changes if c.after is not None}
    assert len(refs) > 100
    assert alive <= in_plan, f"{len(alive - in_plan)} rendered resources outlive the plan"
    assert in_plan  # the creates and updates are shown, so those are kept


def test_a_build_that_fails_in_its_last_backend_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project_at(tmp_path / "live")
    out = tmp_path / "out"
    build_files(project, out, None)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for path in list(before)[::3]:  # every backend now has files that differ
        path.write_text(path.read_text() + "\n")
    changed = {p: p.read_bytes() for p in before}
    last = registry.used_by(project)[-1]

    def broken(self, *args, **kwargs):
        raise SlogenError("rendering failed")

    monkeypatch.setattr(type(last), "render", broken)
    with pytest.raises(SlogenError, match="rendering failed"):
        build_files(project, out, None)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == changed
    monkeypatch.undo()
    build_files(project, out, None)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_failed_build_leaves_no_staging_and_no_new_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project_at(tmp_path / "live")
    out = tmp_path / "new" / "out"
    last = registry.used_by(project)[-1]

    def broken(self, *args, **kwargs):
        raise SlogenError("rendering failed")

    monkeypatch.setattr(type(last), "render", broken)
    with pytest.raises(SlogenError):
        build_files(project, out, None)
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()
    written = build_files(project, out, None)
    assert sorted(p.name for p in out.iterdir()) == sorted(written)  # nothing hidden left
    assert all(path.is_file() for paths in written.values() for path in paths)


def test_an_output_that_is_a_file_is_a_clean_error(tmp_path: Path) -> None:
    project = _project_at(tmp_path / "live")
    out = tmp_path / "out"
    out.write_text("not a directory")
    with pytest.raises(SlogenError, match="cannot write to"):
        build_files(project, out, None)
    assert out.read_text() == "not a directory"
