"""What every ``files`` target shares: one file per service in a directory slogen partly owns.

A file belongs to slogen only if it carries slogen's marker; slogen reads back only those and
never writes over, or deletes, any other file. Files are written atomically, one service at a
time; after a failure the remaining services are not attempted and the next plan shows them.

:class:`JsonFiles` is the whole target for the JSON formats (Datadog, CloudWatch), parametrised
by the backend, the file suffix and how a file's text is made from resources and parsed back.
The Prometheus target uses the pieces (its files are YAML, and it reloads Prometheus).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slogen import envref
from slogen.backends import scope
from slogen.backends.contract import target_label
from slogen.errors import SlogenError
from slogen.jsontext import dumps_indented
from slogen.plan.model import Change
from slogen.plan.outcome import DONE, FAILED, SKIPPED, ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import MANAGED_BY, LiveState, Resource
from slogen.spec.model import Target

FORMAT_VERSION = 1
# How a conflict names the missing marker, per file format.
JSON_MARKER = '"managed-by": "slogen" marker'


def service_of(key: str) -> str:
    """The service a resource key belongs to: the file it lives in."""
    return key.split("/")[0]


def target_dir(target: Target) -> Path:
    return Path(envref.option(target, "dir") or "")


# -- reading ----------------------------------------------------------------------------------


def files_in(directory: Path, backend: str, suffixes: tuple[str, ...]) -> list[Path]:
    """The files with one of ``suffixes`` in the target directory (none when it is missing)."""
    if directory.exists() and not directory.is_dir():
        raise SlogenError(f"{directory} is not a directory", hint=f"set targets.{backend}.dir")
    if not directory.is_dir():
        return []
    return [p for p in sorted(directory.iterdir()) if p.suffix in suffixes and p.is_file()]


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SlogenError(f"cannot read {path}: {exc}") from exc


def by_file(
    known: Sequence[Resource], backend: str, target: str, file_of: Callable[[Resource], str]
) -> dict[str, list[Resource]]:
    """File name -> the ``known`` resources of ``backend`` at ``target`` that go in it."""
    found: dict[str, list[Resource]] = {}
    for res in known:
        if res.backend == backend and res.target == target:
            found.setdefault(file_of(res), []).append(res)
    return found


def as_written(
    path: Path, text: str, mine: list[Resource] | None, text_of: Callable[[list[Resource]], str]
) -> list[Resource] | None:
    """``mine`` as read from ``path`` when ``text`` is exactly what build writes for them (the
    common case: a plan with nothing to change); None otherwise, and the file is parsed. The
    text is a function of the resources and reading it back gives the same ones
    (tests/test_fast_paths.py), so such a file need not be parsed."""
    if not mine or text != text_of(mine):
        return None
    where = str(path)
    # the constructor, not dataclasses.replace: under half the time, for every resource of a
    # no-change plan
    return [Resource(r.backend, r.target, r.kind, r.key, r.body, r.depends_on, where) for r in mine]


def load_json(path: Path, text: str | None = None) -> Any:
    """The file's JSON (``text``: already read), or None when it is not JSON (then it is not
    ours)."""
    text = read_text(path) if text is None else text
    try:
        return json.loads(text)
    except ValueError:
        return None


def is_owned(data: Any, project: str | None = None) -> bool:
    """Whether a loaded JSON document carries slogen's marker (with ``project``: and is not
    marked with another slogen project's name)."""
    return (
        isinstance(data, dict)
        and data.get("managed-by") == MANAGED_BY
        and scope.belongs(project, data.get(scope.PROJECT_TAG))
    )


def damaged(path: Path | str, problem: str, what: str = "file") -> SlogenError:
    """The error for a file slogen owns but cannot read back."""
    return SlogenError(
        f"cannot read {path}, a {what} slogen manages: {problem}",
        hint="fix the file or delete it; the next apply writes it again",
    )


def check_unique(resources: Iterable[Resource]) -> None:
    """Refuse live state in which two files define the same resource."""
    seen: dict[str, str] = {}
    for res in resources:
        if res.address in seen:
            raise SlogenError(
                f"{res.key} is defined in both {seen[res.address]} and {res.live_id}",
                hint="delete one of the two files",
            )
        seen[res.address] = str(res.live_id)


def conflicts_in(
    directory: Path,
    desired: list[Resource],
    live: LiveState,
    file_name: Callable[[str], str],
    marker: str,
) -> list[str]:
    """Files slogen would have to write but does not own (``marker`` names what they lack)."""
    unowned = set(live.extra.get("unowned", ()))
    services = sorted({service_of(r.key) for r in desired})
    return [
        f"{directory / file_name(s)} exists and is not managed by slogen (no {marker}); "
        "move it away or choose another target dir"
        for s in services
        if file_name(s) in unowned
    ]


# -- writing ----------------------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def not_owned(path: Path) -> OSError:
    """The error of an apply that would touch a file slogen does not own."""
    return OSError(f"{path} is not managed by slogen; refusing to touch it")


def write_or_remove(path: Path, text: str | None) -> None:
    """Write the file, or with no text (the service has no resources left) remove it."""
    if text is not None:
        write_atomic(path, text)
    elif path.exists():
        path.unlink()


def apply_per_service(
    changes: list[Change],
    desired: list[Resource],
    progress: Progress,
    report: ApplyReport,
    write: Callable[[str, list[Resource], list[Change]], None],
) -> bool:
    """Call ``write(service, its desired resources, its changes)`` for every service with a
    change, in name order, and report the outcome of each change.

    ``write`` fails with OSError or SlogenError; the service's changes fail with it and the
    remaining services are skipped. Returns whether any service was written.
    """
    by_service: dict[str, list[Change]] = {}
    for change in changes:
        by_service.setdefault(service_of(change.resource.key), []).append(change)
    written = False
    failed = False
    for service in sorted(by_service):
        service_changes = by_service[service]
        if failed:
            for change in service_changes:
                report.add(change, SKIPPED)
            continue
        wanted = [r for r in desired if service_of(r.key) == service]
        try:
            write(service, wanted, service_changes)
        except (OSError, SlogenError) as exc:
            failed = True
            for change in service_changes:
                report.add(change, FAILED, str(exc))
            continue
        written = True
        for change in service_changes:
            report.add(change, DONE)
            progress.step(f"{change.action} {change.address}")
    return written


def lock(target: Target, holder: str, timeout: float) -> contextlib.AbstractContextManager[None]:
    """The ``files`` targets' lock: ``flock`` on ``.slogen.lock`` in the target directory (the
    readers take only ``.json``/``.yml``/``.yaml`` files, so it is never read as one)."""
    from slogen.plan.lock import file_lock

    label = f"{target.backend} ({target_label(target)})"
    return file_lock(target_dir(target), label, holder, timeout)


# -- the JSON files targets -------------------------------------------------------------------


def json_text(service: str, field: str, entries: list[Any]) -> str:
    """A service's JSON document: marker first, then ``entries`` under ``field``. The marker
    names the project the entries' tags name (see slogen.backends.scope), so the two agree."""
    return dumps_indented(json_document(service, field, entries)) + "\n"


def json_document(service: str, field: str, entries: list[Any]) -> dict[str, Any]:
    """The data of :func:`json_text`, for a backend that adds more after ``field``."""
    project = scope.project_in_bodies(
        e.get("body") or e.get("request") or {} for e in entries if isinstance(e, dict)
    )
    doc = {
        "managed-by": MANAGED_BY,
        "slogen-key": service,
        **({scope.PROJECT_TAG: project} if project else {}),
        "format_version": FORMAT_VERSION,
        "comment": f"Generated by slogen for service '{service}'. Edits are overwritten on apply.",
        field: entries,
    }
    return doc


@dataclass(frozen=True)
class JsonFiles:
    """A ``files`` target writing one JSON file per service (``<service><suffix>``)."""

    backend: str
    suffix: str
    # A service's resources -> the file's text.
    text_of: Callable[[str, list[Resource]], str]
    # An owned file's loaded JSON, its path and the target name -> its resources; raises
    # SlogenError (see :func:`damaged`) when the file is damaged.
    resources_of: Callable[[dict[str, Any], Path, str], list[Resource]]

    def file_name(self, service: str) -> str:
        return service + self.suffix

    def files_for(self, resources: Sequence[Resource]) -> dict[str, str]:
        """File name -> content for a set of resources (in render order per service)."""
        by_service: dict[str, list[Resource]] = {}
        for res in resources:
            by_service.setdefault(service_of(res.key), []).append(res)
        return {self.file_name(s): self.text_of(s, rs) for s, rs in by_service.items()}

    def read_live(self, target: Target, known: Sequence[Resource] = ()) -> LiveState:
        tname = target_label(target)
        resources: list[Resource] = []
        unowned: list[str] = []
        foreign: dict[str, str | None] = {}  # file name -> the other project (see scope.note)
        wanted = {self.file_name(service_of(r.key)) for r in known}
        expected = by_file(known, self.backend, tname, lambda r: self.file_name(service_of(r.key)))
        for path in files_in(target_dir(target), self.backend, (".json",)):
            text = read_text(path)
            mine = expected.get(path.name)
            same = as_written(path, text, mine, lambda rs: self.text_of(service_of(rs[0].key), rs))
            if same is not None:
                resources.extend(same)
                continue
            data = load_json(path, text)
            if not is_owned(data):
                unowned.append(path.name)
                continue
            marked = data.get(scope.PROJECT_TAG)
            if not scope.claims(scope.project_of(target), marked, path.name, wanted):
                foreign[path.name] = marked  # another project's, or before projects: left alone
                continue
            resources.extend(self.resources_of(data, path, tname))
        check_unique(resources)
        return scope.note(LiveState(resources, [], {"unowned": unowned}), foreign, "file")

    def conflicts(self, target: Target, desired: list[Resource], live: LiveState) -> list[str]:
        """Files slogen would have to write but does not own."""
        return conflicts_in(
            target_dir(target), desired, live, self.file_name, JSON_MARKER
        ) + scope.unit_conflicts(
            [self.file_name(service_of(r.key)) for r in desired], live, "the file"
        )

    def apply(
        self,
        target: Target,
        changes: list[Change],
        desired: list[Resource],
        progress: Progress,
        report: ApplyReport,
    ) -> None:
        """Rewrite (or remove) the file of every service with a change; other files stay."""
        directory = target_dir(target)

        def write(service: str, wanted: list[Resource], _changes: list[Change]) -> None:
            path = directory / self.file_name(service)
            if path.exists() and not is_owned(load_json(path), scope.project_of(target)):
                raise not_owned(path)
            write_or_remove(path, self.text_of(service, wanted) if wanted else None)

        apply_per_service(changes, desired, progress, report, write)

    def target(self, settings: Target) -> JsonFilesTarget:
        """This store at the directory ``settings`` name: the backend's ``files`` target."""
        return JsonFilesTarget(self, settings)


class JsonFilesTarget:
    """A :class:`JsonFiles` store at one target's directory: the whole ``files`` target of a
    JSON backend (a :class:`slogen.backends.contract.Target`), so no backend writes it again."""

    def __init__(self, store: JsonFiles, settings: Target) -> None:
        self.store = store
        self.settings = settings
        self.name = target_label(settings)

    def read_live(self, known: Sequence[Resource]) -> LiveState:
        """Every owned file of the directory (``known`` does not narrow a directory read)."""
        return self.store.read_live(self.settings, known)

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        return self.store.conflicts(self.settings, list(desired), live)

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        report = ApplyReport()
        self.store.apply(self.settings, list(changes), list(desired), progress, report)
        return report

    def lock(self, holder: str, timeout: float) -> contextlib.AbstractContextManager[None]:
        return lock(self.settings, holder, timeout)
