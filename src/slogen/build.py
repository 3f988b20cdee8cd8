"""``slogen build``: write what every renderer produces, without looking at live state.

The files are the same ones the ``files`` targets manage, so ``build`` output can be reviewed,
committed or fed to other tooling (a Kubernetes PrometheusRule, for example).
"""

from __future__ import annotations

from pathlib import Path

from slogen.backends import backend_module
from slogen.errors import SlogenError
from slogen.spec.model import Project


def _files(backend: str, project: Project, templates: str | None, form: str | None) -> dict:
    module = backend_module(backend)
    target = project.target(backend)
    resources = module.render(project, target, templates)
    if backend == "prometheus":
        return module.rule_files(resources, form or str(target.option("format", "rules")))
    files_module = backend_module(f"{backend}_files")
    return files_module.files_for(resources)


def build_files(
    project: Project, output: Path, templates: str | None, prometheus_format: str | None
) -> dict[str, list[Path]]:
    """Render every backend (all before writing anything, so a render error writes nothing)."""
    rendered = {
        backend: _files(backend, project, templates, prometheus_format)
        for backend in ("prometheus", "datadog", "cloudwatch")
        if any(getattr(slo.indicator, backend) for _, slo in project.slos())
    }
    written: dict[str, list[Path]] = {}
    for backend, files in rendered.items():
        directory = output / backend
        try:
            directory.mkdir(parents=True, exist_ok=True)
            paths = []
            for name, text in sorted(files.items()):
                path = directory / name
                path.write_text(text, encoding="utf-8")
                paths.append(path)
        except OSError as exc:
            raise SlogenError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
        written[backend] = paths
    return written
