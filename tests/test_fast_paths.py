"""Every shortcut taken for speed gives exactly what the slow path it skips gives.

A files target does not parse a live file whose text is exactly what ``build`` writes for the
resources the plan expects there: it takes those resources as the live ones. That is only
right if parsing such a file gives back the very same resources (bodies, keys, kinds,
dependencies and live ids), which these tests check for every backend with files, for
both rule-file formats, and for SLOs with every kind of resource (no-traffic alerts included).
A file that differs in any byte is parsed as before.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest

from slogen.backends import filestore, registry
from slogen.backends.cloudwatch import limits
from slogen.backends.prometheus import files as prometheus_files
from slogen.build import build_files
from slogen.plan.diff import field_changes
from slogen.resources import Resource
from slogen.spec.loader import load_project
from slogen.spec.model import Project, Target

SPECS = Path(__file__).resolve().parents[1] / "specs"


def _project_at(directory: Path, form: str = "rules") -> Project:
    project = load_project([str(SPECS)])
    targets = tuple(
        Target(
            backend.name,
            "files",
            (("dir", str(directory / backend.name)),)
            + ((("format", form),) if backend.name == "prometheus" else ()),
        )
        for backend in registry.backends()
    )
    return replace(project, targets=targets)


def _full(resources: list[Resource]) -> list[tuple]:
    """Every field of every resource, in address order (a JSON file keeps a service's metric
    alarms apart from its composites, and the plan goes by address, not file order)."""
    return sorted(
        (
            (r.address, r.backend, r.target, r.kind, r.key, r.body, r.depends_on, r.live_id)
            for r in resources
        ),
        key=lambda fields: fields[0],
    )


@pytest.mark.parametrize("form", ["rules", "prometheusrule"])
def test_unchanged_files_read_as_rendered_equal_parsed(
    tmp_path: Path, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project_at(tmp_path, form)
    build_files(project, tmp_path, None, {"prometheus": {"format": form}})
    checked = 0

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged file was parsed")

    for backend in registry.used_by(project):
        desired = backend.render(project, None)
        target = backend.target(project.target(backend.name))
        with monkeypatch.context() as patched:  # every file matches: nothing is parsed
            patched.setattr(prometheus_files, "resources_from_file", no_parsing)
            patched.setattr(filestore, "load_json", no_parsing)
            shortcut = target.read_live(desired).resources
        parsed = target.read_live([]).resources  # nothing expected: every file parsed
        assert desired and _full(shortcut) == _full(parsed), backend.name
        assert all(r.live_id for r in shortcut)
        checked += len(shortcut)
    assert checked > 50


def test_a_changed_byte_is_parsed(tmp_path: Path) -> None:
    project = _project_at(tmp_path)
    build_files(project, tmp_path, None)
    backend = registry.get("prometheus")
    desired = backend.render(project, None)
    target = backend.target(project.target("prometheus"))
    path = tmp_path / "prometheus" / "checkout.rules.yml"
    text = path.read_text()
    path.write_text(text.replace("severity: page", "severity: ticket", 1))
    assert path.read_text() != text
    live = target.read_live(desired).resources
    changed = [
        r for r in live for d in desired if d.address == r.address and field_changes(r.body, d.body)
    ]
    assert [c.body["labels"]["severity"] for c in changed] == ["ticket"]


def test_a_changed_json_file_is_parsed(tmp_path: Path) -> None:
    project = _project_at(tmp_path)
    build_files(project, tmp_path, None)
    backend = registry.get("datadog")
    desired = backend.render(project, None)
    target = backend.target(project.target("datadog"))
    path = tmp_path / "datadog" / "checkout.datadog.json"
    text = path.read_text()
    path.write_text(text.replace('"priority": 1', '"priority": 2', 1))
    assert path.read_text() != text
    live = target.read_live(desired).resources
    changed = [
        r for r in live for d in desired if d.address == r.address and field_changes(r.body, d.body)
    ]
    assert len(changed) == 1 and changed[0].body["priority"] == 2


def test_cloudwatch_tag_text_regex_agrees_with_the_character_rule() -> None:
    """limits.tag_text_ok settles ASCII text with a regular expression; for every ASCII
    character it must say what AWS's character rule (letters, digits, spaces, _.:/=+-@) says."""
    for code in range(128):
        char = chr(code)
        by_rule = (
            char.isalnum()
            or char in limits.TAG_SYMBOLS
            or unicodedata.category(char) in limits.TAG_SEPARATORS
        )
        assert limits.tag_text_ok(char) is by_rule, repr(char)
        assert limits.tag_text_ok(f"key-{char}-x") is by_rule, repr(char)


def test_build_rewrites_only_files_that_differ(tmp_path: Path) -> None:
    """A rebuild leaves files that already hold the right text alone and fixes the others."""
    project = _project_at(tmp_path)
    first = build_files(project, tmp_path, None)
    paths = [p for group in first.values() for p in group]
    edited, kept = paths[0], paths[1]
    edited.write_text(edited.read_text() + "# edited by hand\n")
    kept_stat = kept.stat()
    second = build_files(project, tmp_path, None)
    assert second == first
    assert "edited by hand" not in edited.read_text()
    assert (kept.stat().st_mtime_ns, kept.stat().st_ino) == (
        kept_stat.st_mtime_ns,
        kept_stat.st_ino,
    )
