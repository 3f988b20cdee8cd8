"""``slogen build``: write what every renderer produces, without looking at live state."""

from __future__ import annotations

from pathlib import Path

from slogen.backends import prometheus
from slogen.errors import SlogenError
from slogen.spec.model import Project


def build_files(
    project: Project, output: Path, templates: str | None, prometheus_format: str | None
) -> dict[str, list[Path]]:
    written: dict[str, list[Path]] = {}
    target = project.target("prometheus")
    form = prometheus_format or str(target.option("format", "rules"))
    files = prometheus.rule_files(prometheus.render(project, target, templates), form)
    directory = output / "prometheus"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in sorted(files.items()):
            path = directory / name
            path.write_text(text, encoding="utf-8")
            paths.append(path)
    except OSError as exc:
        raise SlogenError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
    written["prometheus"] = paths
    return written
