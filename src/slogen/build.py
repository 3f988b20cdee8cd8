"""``slogen build``: write what every renderer produces, without looking at live state.

The files are the same ones the ``files`` targets manage, so ``build`` output can be reviewed,
committed or fed to other tooling (a Kubernetes PrometheusRule, for example).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from slogen.backends import registry
from slogen.errors import SlogenError
from slogen.spec.model import Project


def build_files(
    project: Project,
    output: Path,
    templates: str | None,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> dict[str, list[Path]]:
    """Render every backend some SLO uses (all before writing anything, so a render error
    writes nothing). ``overrides`` maps a backend to build options that replace its target's
    settings (e.g. ``{"prometheus": {"format": "prometheusrule"}}``). With Prometheus, the
    Alertmanager fragment for its alerts is written too, to ``alertmanager/alertmanager.yml``.

    A file whose text differs from the output's is written at once, under a staging directory
    inside ``output``, and moved into place only once every backend has rendered; a failure
    removes the staging directory. So the texts of 5,000 SLOs (some 200 MB) are never all held
    at once, and what the output held is changed only by a build that succeeds.
    """
    staging = _Staging(output)
    try:
        for backend in registry.used_by(project):
            settings = project.target(backend.name)
            options = {
                name: settings.option(name)
                for name in backend.capabilities.build_options
                if settings.option(name) is not None
            }
            options.update({k: v for k, v in (overrides or {}).get(backend.name, {}).items() if v})
            staging.add(backend.name, backend.files(backend.render(project, templates), options))
        if "prometheus" in staging.files:  # the Alertmanager side of its alerts
            from slogen.alertmanager import text as alertmanager

            staging.add(alertmanager.DIRECTORY, alertmanager.files(project))
    except BaseException:
        staging.discard(failed=True)
        raise
    return staging.commit()


def _holds(path: Path, text: str) -> bool:
    """Whether ``path`` already holds exactly ``text``. Such a file is left alone: reading is
    several times cheaper than writing, a rebuild mostly changes few files, and tools that
    watch the output see only the files that changed."""
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


class _Staging:
    """Files written under a hidden directory of ``output`` until :meth:`commit` moves them."""

    def __init__(self, output: Path) -> None:
        self.output = output
        # the directories this build would create (output and missing parents), deepest first
        self.created = [d for d in (output, *output.parents) if not d.exists()]
        self.root: Path | None = None
        self.files: dict[str, list[tuple[Path, Path | None]]] = {}  # name -> (final, staged)

    def add(self, name: str, files: Mapping[str, str]) -> None:
        directory = self.output / name
        entries: list[tuple[Path, Path | None]] = []
        staging: Path | None = None  # made when the first file differs
        for file_name in sorted(files):
            path, text = directory / file_name, files[file_name]
            staged = None
            if not _holds(path, text):
                staging = staging or self._directory(directory)
                staged = staging / file_name
                try:
                    staged.write_text(text, encoding="utf-8")
                except OSError as exc:
                    raise _cannot_write(directory, exc) from exc
            entries.append((path, staged))
        self.files[name] = entries

    def _directory(self, directory: Path) -> Path:
        if self.root is None:
            try:
                self.output.mkdir(parents=True, exist_ok=True)
                self.root = Path(tempfile.mkdtemp(prefix=".slogen-build-", dir=self.output))
            except OSError as exc:
                raise _cannot_write(directory, exc) from exc
        staged = self.root / directory.name
        staged.mkdir(exist_ok=True)
        return staged

    def commit(self) -> dict[str, list[Path]]:
        written: dict[str, list[Path]] = {}
        try:
            for name, entries in self.files.items():
                directory = self.output / name
                try:
                    directory.mkdir(parents=True, exist_ok=True)
                    for path, staged in entries:
                        if staged is not None:
                            os.replace(staged, path)
                except OSError as exc:
                    raise _cannot_write(directory, exc) from exc
                written[name] = [path for path, _ in entries]
        finally:
            self.discard(failed=False)
        return written

    def discard(self, failed: bool) -> None:
        """Remove the staging directory; after a failure also the (empty) directories this
        build created, so that it leaves nothing behind."""
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        if failed:
            for directory in self.created:
                with contextlib.suppress(OSError):
                    directory.rmdir()  # only ever an empty one


def _cannot_write(directory: Path, exc: OSError) -> SlogenError:
    return SlogenError(f"cannot write to {directory}: {exc.strerror or exc}")
