"""``slogen build``: write what every renderer produces, without looking at live state.

The files are the same ones the ``files`` targets manage, so ``build`` output can be reviewed,
committed or fed to other tooling (a Kubernetes PrometheusRule, for example).
"""

from __future__ import annotations

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
    Alertmanager fragment for its alerts is written too, to ``alertmanager/alertmanager.yml``."""
    # Each file's text is compared with what the output already holds as soon as it is made,
    # and only the texts that differ are kept until everything has rendered: a rebuild holds
    # little more than one backend's resources at a time.
    pending: dict[str, list[tuple[Path, str | None]]] = {}
    for backend in registry.used_by(project):
        settings = project.target(backend.name)
        options = {
            name: settings.option(name)
            for name in backend.capabilities.build_options
            if settings.option(name) is not None
        }
        options.update({k: v for k, v in (overrides or {}).get(backend.name, {}).items() if v})
        pending[backend.name] = _to_write(
            output / backend.name, backend.files(backend.render(project, templates), options)
        )
    if "prometheus" in pending:  # the Alertmanager side of its alerts (slogen.alertmanager)
        from slogen.alertmanager import text as alertmanager

        directory = alertmanager.DIRECTORY
        pending[directory] = _to_write(output / directory, alertmanager.files(project))
    written: dict[str, list[Path]] = {}
    for name, files in pending.items():
        directory = output / name
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for path, text in files:
                if text is not None:
                    path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SlogenError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
        written[name] = [path for path, _ in files]
    return written


def _to_write(directory: Path, files: Mapping[str, str]) -> list[tuple[Path, str | None]]:
    """Each file's path, in name order, with its text, or None where it already holds it."""
    return [
        (path, None if _holds(path, text) else text)
        for path, text in ((directory / name, files[name]) for name in sorted(files))
    ]


def _holds(path: Path, text: str) -> bool:
    """Whether ``path`` already holds exactly ``text``. Such a file is left alone: reading is
    several times cheaper than writing, a rebuild mostly changes few files, and tools that
    watch the output see only the files that changed."""
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False
