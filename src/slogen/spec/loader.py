"""Load spec files and the optional ``slogen.yaml`` into a :class:`Project`.

Validation is strict and complete: every file is read, every problem recorded with its
location, and a :class:`SlogenError` carrying all of them is raised at the end if any was an
error. Nothing is half-loaded: callers either get a valid project or the full list of problems.
Finding and parsing the files is in :mod:`slogen.spec.loadfiles`, reading a service spec in
:mod:`slogen.spec.specreader`.
"""

from __future__ import annotations

from pathlib import Path

from slogen.errors import Location, Problems, SlogenError
from slogen.plural import plural
from slogen.spec.checks import Checker, Field
from slogen.spec.classes import BUILTIN_CLASSES
from slogen.spec.loadfiles import CONFIG_NAME, discover, discover_resolved, read_yaml_file
from slogen.spec.model import Policy, Project, Service
from slogen.spec.project import default_name, scoped_targets
from slogen.spec.settings import (
    BUILTIN_POLICIES,
    CLASS_POLICIES,
    SettingsReader,
    default_targets,
)
from slogen.spec.specreader import RESERVED_LABELS, SpecReader

__all__ = [
    "BUILTIN_POLICIES",
    "CONFIG_NAME",
    "RESERVED_LABELS",
    "discover",
    "load_project",
    "load_project_with_warnings",
]


def listed_policies(policies: dict[str, Policy], services: list[Service]) -> list[Policy]:
    """The project's policies: the built-in and defined ones, and those of the built-in classes
    that some SLO uses (see :data:`~slogen.spec.settings.CLASS_POLICIES`)."""
    used = {slo.policy.name for service in services for slo in service.slos}
    extra = [p for name, p in CLASS_POLICIES.items() if name in used and name not in policies]
    return [*policies.values(), *extra]


def load_project(paths: list[str] | tuple[str, ...], config: str | None = None) -> Project:
    """Read every spec under ``paths`` and the project configuration; raise on any error.

    Warnings (problems of severity ``warning``) do not stop loading; they are returned on the
    raised error or can be retrieved with :func:`load_project_with_warnings`.
    """
    project, _problems = load_project_with_warnings(paths, config)
    return project


def load_project_with_warnings(
    paths: list[str] | tuple[str, ...], config: str | None = None
) -> tuple[Project, Problems]:
    """:func:`load_project` that also returns the problems of severity ``warning``."""
    problems = Problems()
    check = Checker(problems)
    spec_paths, found_config, resolved_paths = discover_resolved(list(paths), problems)
    config_path = Path(config) if config else found_config
    policies = dict(BUILTIN_POLICIES)
    default_policy = "workbook"
    targets = default_targets()
    broken: frozenset[str] = frozenset()
    classes = dict(BUILTIN_CLASSES)  # request classes, slogen.yaml's replacing built-in ones
    broken_classes: frozenset[str] = frozenset()
    alertmanager = None  # slogen.yaml's `alertmanager:` block, passed through
    project_name: str | None = None  # slogen.yaml's `project:`, else from the directory
    if config_path is not None:
        data = read_yaml_file(config_path, problems) if config_path.exists() else None
        if not config_path.exists():
            problems.error(Location(str(config_path)), "", "no such file")
        elif data is not None or problems.errors == []:
            root_loc = getattr(data, "loc", Location(str(config_path), 1, 1))
            config_reader = SettingsReader(check)
            policies, default_policy, targets = config_reader.read(
                Field(data if data is not None else {}, root_loc, "")
            )
            broken = frozenset(config_reader.broken)
            alertmanager = config_reader.alertmanager
            classes = config_reader.classes
            broken_classes = frozenset(config_reader.broken_classes)
            project_name = config_reader.project
        config_resolved = config_path.resolve()
        spec_paths = [
            path
            for path, resolved in zip(spec_paths, resolved_paths, strict=True)
            if resolved != config_resolved
        ]
    reader = SpecReader(check, policies, default_policy, broken, classes, broken_classes)
    services: list[Service] = []
    by_name: dict[str, Service] = {}
    for path in spec_paths:
        data = read_yaml_file(path, problems)
        if data is None:
            if not any(p.location.file == str(path) for p in problems.errors):
                problems.error(
                    Location(str(path), 1, 1), "", "the file is empty; expected a service spec"
                )
            continue
        root = Field(data, getattr(data, "loc", Location(str(path), 1, 1)), "")
        service = reader.service(root)
        if service is None:
            continue
        if service.name in by_name:
            first = by_name[service.name].location
            name_loc = data.value_locs.get("service", root.loc)  # type: ignore[union-attr]
            problems.error(
                name_loc,
                "service",
                f"service '{service.name}' is already defined in {first.file}:{first.line}",
                "service names must be unique across all spec files; rename one or merge them",
            )
            continue
        by_name[service.name] = service
        services.append(service)
    if problems:
        raise SlogenError(f"{plural(len(problems.errors), 'error')} in the specs", problems)
    project_name = project_name or default_name(config_path, list(paths))
    project = Project(
        services=tuple(sorted(services, key=lambda s: s.name)),
        policies=tuple(sorted(listed_policies(policies, services), key=lambda p: p.name)),
        default_policy=default_policy,
        targets=scoped_targets(targets, project_name),
        config_file=str(config_path) if config_path else None,
        alertmanager=alertmanager,
        project=project_name,
    )
    return project, problems
