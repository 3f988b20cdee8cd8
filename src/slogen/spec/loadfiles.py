"""Finding the spec files and the ``slogen.yaml`` of a project, and reading them as YAML."""

from __future__ import annotations

from pathlib import Path

from slogen.errors import Location, Problems
from slogen.spec.yamlsource import generated, load_yaml

CONFIG_NAME = "slogen.yaml"


def discover(paths: list[str], problems: Problems) -> tuple[list[Path], Path | None]:
    """Spec files under ``paths`` (files or directories, searched recursively) and the config.

    ``slogen.yaml`` is the project configuration when it sits at the root of a given directory
    (or is named directly); hidden directories are skipped.
    """
    specs, config, _resolved = discover_resolved(paths, problems)
    return specs, config


def discover_resolved(
    paths: list[str], problems: Problems
) -> tuple[list[Path], Path | None, list[Path]]:
    """:func:`discover`, plus each spec's resolved path: resolving follows every component of
    a path with a system call, so the loader reuses these rather than resolving again."""
    specs: list[Path] = []
    configs: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            problems.error(Location(raw), "", "no such file or directory")
            continue
        if path.is_file():
            if path.name == CONFIG_NAME:
                configs.append(path)
            else:
                specs.append(path)
                # a spec named on its own still belongs to the project it sits in
                beside = path.parent / CONFIG_NAME
                if beside.is_file():
                    configs.append(beside)
            continue
        root_config = path / CONFIG_NAME
        if root_config.is_file():
            configs.append(root_config)
        found = [
            p
            for p in sorted(path.rglob("*"))
            if p.suffix in (".yaml", ".yml")
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
            and p != root_config
            and not generated(p)  # build's out/ kept inside the spec directory
        ]
        for p in found:
            if p.name == CONFIG_NAME:
                problems.error(
                    Location(str(p), 1, 1),
                    "",
                    f"{CONFIG_NAME} is only read at the root of the spec directory",
                    f"move it to {path / CONFIG_NAME} or rename it",
                )
            else:
                specs.append(p)
        if not found and not root_config.is_file():
            problems.error(Location(raw), "", "no spec files (*.yaml, *.yml) in this directory")
    unique_configs = sorted(set(configs))
    if len(unique_configs) > 1:
        problems.error(
            Location(str(unique_configs[1])),
            "",
            f"more than one {CONFIG_NAME} given (also {unique_configs[0]})",
            "pass the spec directories of one project at a time",
        )
    seen: set[Path] = set()
    unique_specs = []
    resolved_specs = []
    for p in specs:
        resolved = p.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique_specs.append(p)
            resolved_specs.append(resolved)
    return unique_specs, (unique_configs[0] if unique_configs else None), resolved_specs


def read_yaml_file(path: Path, problems: Problems) -> object | None:
    """The data of one YAML file; a file that cannot be read or parsed is a problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.error(Location(str(path)), "", f"cannot read the file: {exc}")
        return None
    return load_yaml(text, str(path), problems)
