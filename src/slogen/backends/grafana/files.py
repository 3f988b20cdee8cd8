"""The Grafana ``files`` target: one dashboard JSON file per service, for file provisioning.

Grafana's dashboard provisioning reads every ``*.json`` file of a directory as one dashboard
("Provision Grafana", section Dashboards: https://grafana.com/docs/grafana/latest/administration/
provisioning/#dashboards - a provider of ``type: file`` whose ``options.path`` is the
directory, re-read every ``updateIntervalSeconds``). So each file here is the dashboard JSON
itself, exactly the body the API target sends, with no envelope around it; what marks it as
slogen's is inside the dashboard, in its tags (``managed-by:slogen``, ``slogen-project:<name>``;
see :mod:`.names`). slogen reads back only files with that marker and never writes over, or
deletes, any other file; the directory handling (atomic writes, the lock, one service at a
time) is the shared :mod:`slogen.backends.filestore`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slogen.backends import filestore, scope
from slogen.backends.contract import target_label
from slogen.backends.grafana import names
from slogen.backends.grafana.dashboard import BACKEND
from slogen.jsontext import dumps_indented
from slogen.plan.model import Change
from slogen.plan.outcome import ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import LiveState, Resource
from slogen.spec.model import Target

MARKER = f'"{names.MANAGED_TAG}" tag'  # how a conflict names what a file lacks


def file_text(body: dict[str, Any]) -> str:
    return dumps_indented(body) + "\n"


def files_for(resources: Sequence[Resource]) -> dict[str, str]:
    """File name -> dashboard JSON, one file per service."""
    return {names.file_name(r.key): file_text(r.body) for r in resources}


def _owned(data: Any, project: str | None = None) -> bool:
    """Whether a loaded file is a dashboard slogen marked (and not another project's)."""
    if not isinstance(data, dict) or not names.is_marked(data.get("tags")):
        return False
    return scope.belongs(project, names.tag_value(data.get("tags"), scope.PROJECT_TAG))


class FilesTarget:
    """A directory of dashboard files (a :class:`~slogen.backends.contract.Target`)."""

    def __init__(self, settings: Target) -> None:
        self.settings = settings
        self.name = target_label(settings)

    @property
    def directory(self) -> Path:
        return filestore.target_dir(self.settings)

    def read_live(self, known: Sequence[Resource]) -> LiveState:
        resources: list[Resource] = []
        unowned: list[str] = []
        foreign: dict[str, str | None] = {}
        wanted = {names.file_name(r.key) for r in known}
        mine = scope.project_of(self.settings)
        expected = filestore.by_file(known, BACKEND, self.name, lambda r: names.file_name(r.key))
        for path in filestore.files_in(self.directory, BACKEND, (".json",)):
            text = filestore.read_text(path)
            same = filestore.as_written(
                path, text, expected.get(path.name), lambda rs: file_text(rs[0].body)
            )
            if same is not None:
                resources.extend(same)
                continue
            data = filestore.load_json(path, text)
            if not _owned(data):
                unowned.append(path.name)
                continue
            tags = data.get("tags")
            marked = names.tag_value(tags, scope.PROJECT_TAG)
            if not scope.claims(mine, marked, path.name, wanted):
                foreign[path.name] = marked
                continue
            key = names.tag_value(tags, names.SERVICE_TAG) or path.stem
            resources.append(Resource(BACKEND, self.name, names.KIND, key, data, live_id=str(path)))
        filestore.check_unique(resources)
        return scope.note(LiveState(resources, [], {"unowned": unowned}), foreign, "file")

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        """Files slogen would have to write but does not own."""
        return filestore.conflicts_in(
            self.directory, list(desired), live, names.file_name, MARKER
        ) + scope.unit_conflicts([names.file_name(r.key) for r in desired], live, "the file")

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        """Rewrite (or remove) the file of every service with a change; other files stay."""
        report = ApplyReport()
        mine = scope.project_of(self.settings)

        def write(service: str, wanted: list[Resource], _changes: list[Change]) -> None:
            path = self.directory / names.file_name(service)
            if path.exists() and not _owned(filestore.load_json(path), mine):
                raise filestore.not_owned(path)
            filestore.write_or_remove(path, file_text(wanted[0].body) if wanted else None)

        filestore.apply_per_service(list(changes), list(desired), progress, report, write)
        return report

    def lock(self, holder: str, timeout: float) -> contextlib.AbstractContextManager[None]:
        return filestore.lock(self.settings, holder, timeout)
