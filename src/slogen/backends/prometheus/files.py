"""The Prometheus ``files`` target: rule files in a directory, optionally reloaded.

Live state is what is on disk. slogen owns a file only if it carries the header marker, and it
never writes over, or deletes, a file that does not. After writing it can ask Prometheus to
reload (``POST /-/reload``) and confirm through ``GET /api/v1/rules`` that every generated group
loaded and evaluates without error. Files Prometheus refuses, and the files of services whose
new rules fail evaluation, are put back as they were (:func:`undo_failing` says why).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import yaml

from slogen import envref, yamltext
from slogen.backends import filestore, scope
from slogen.backends.contract import target_label
from slogen.backends.prometheus import rulefiles as render_mod
from slogen.plan.model import Change
from slogen.plan.outcome import DONE, FAILED, ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import LiveState, Resource
from slogen.spec.model import Target

HTTP_TIMEOUT = 10.0


def _form(target: Target) -> str:
    return str(target.option("format", "rules"))


def _suffix(form: str) -> str:
    return render_mod.K8S_FILE_SUFFIX if form == "prometheusrule" else render_mod.RULE_FILE_SUFFIX


def is_owned(text: str, project: str | None = None) -> bool:
    """Owned files start with slogen's marker within their first comment lines; with
    ``project``, a file marked with another slogen project is not owned either."""
    for line in text.splitlines()[:5]:
        if line.strip() == render_mod.HEADER_MARKER:
            return scope.belongs(project, marked_project(text))
        if line.strip() and not line.startswith("#"):
            return False
    return False


def marked_project(text: str) -> str | None:
    """The project named by the header line ``# slogen-project: <name>`` (None: no such line,
    a file written before projects)."""
    for line in text.splitlines()[:6]:
        if line.startswith(render_mod.PROJECT_HEADER):
            return line[len(render_mod.PROJECT_HEADER) :].strip() or None
        if line.strip() and not line.startswith("#"):
            break
    return None


def _groups(doc: Any, form: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise ValueError("not a mapping")
    if form == "prometheusrule":
        doc = doc.get("spec") or {}
    groups = doc.get("groups") or []
    if not isinstance(groups, list):
        raise ValueError("'groups' is not a list")
    return groups


def resources_from_file(text: str, path: str, target_name: str, form: str) -> list[Resource]:
    """Turn an owned rule file back into resources of the same shape :func:`render` makes."""
    try:
        groups = _groups(yamltext.load(text), form)
    except (yaml.YAMLError, ValueError) as exc:
        raise filestore.damaged(path, str(exc), "rule file") from exc
    return render_mod.resources_from_groups(groups, target_name, path)


def _read_live(target: Target, known: Sequence[Resource] = ()) -> LiveState:
    name = target_label(target)
    form = _form(target)
    resources: list[Resource] = []
    warnings: list[str] = []
    unowned: list[str] = []
    foreign: dict[str, str | None] = {}  # file name -> the other project (see scope.note)

    def file_of(res: Resource) -> str:
        return render_mod.file_name(filestore.service_of(res.key), form)

    def text_of(mine: list[Resource]) -> str:  # one service's resources: one file
        return next(iter(render_mod.rule_files(mine, form).values()))

    wanted = {file_of(r) for r in known}
    expected = filestore.by_file(known, "prometheus", name, file_of)
    for path in filestore.files_in(filestore.target_dir(target), "prometheus", (".yml", ".yaml")):
        text = filestore.read_text(path)
        if not is_owned(text):
            unowned.append(path.name)
            continue
        marked = marked_project(text)
        if not scope.claims(scope.project_of(target), marked, path.name, wanted):
            foreign[path.name] = marked  # another project's, or from before projects: left alone
            continue
        if not path.name.endswith(_suffix(form)):
            warnings.append(
                f"{path} is managed by slogen but in the other format than '{form}'; "
                "delete it if you switched formats"
            )
            continue
        same = filestore.as_written(path, text, expected.get(path.name), text_of)
        if same is None:
            same = resources_from_file(text, str(path), name, form)
        resources.extend(same)
    filestore.check_unique(resources)
    return scope.note(LiveState(resources, warnings, {"unowned": unowned}), foreign, "rule file")


def _conflicts(target: Target, desired: Sequence[Resource], live: LiveState) -> list[str]:
    """Files slogen would have to write but does not own."""
    form = _form(target)
    return filestore.conflicts_in(
        filestore.target_dir(target),
        desired,
        live,
        lambda service: render_mod.file_name(service, form),
        "'# managed-by: slogen' header",
    ) + scope.unit_conflicts(
        [render_mod.file_name(filestore.service_of(r.key), form) for r in desired],
        live,
        "the rule file",
    )


# What each written file held before (None: it did not exist) and the changes written to it.
Previous = dict[Path, tuple[str | None, list[Change]]]


def write_rule_files(
    target: Target,
    changes: Sequence[Change],
    desired: Sequence[Resource],
    progress: Progress,
    report: ApplyReport,
) -> tuple[bool, Previous]:
    """Rewrite (or remove) the rule file of every service with a change; unowned files stay.

    Returns whether any file was written and what each file held before, so that a server
    which refuses the new files (Prometheus, vmalert) can be given its previous rules back.
    """
    directory = filestore.target_dir(target)
    form = _form(target)
    previous: Previous = {}

    def write(service: str, wanted: list[Resource], service_changes: list[Change]) -> None:
        path = directory / render_mod.file_name(service, form)
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old is not None and not is_owned(old, scope.project_of(target)):
            raise filestore.not_owned(path)
        previous[path] = (old, service_changes)
        text = render_mod.rule_files(wanted, form)[path.name] if wanted else None
        filestore.write_or_remove(path, text)

    changed = filestore.apply_per_service(list(changes), list(desired), progress, report, write)
    return changed, previous


def group_names(
    desired: Sequence[Resource], changes: Sequence[Change]
) -> tuple[list[str], list[str]]:
    """The rule groups the desired resources make, and those the changes remove entirely."""
    expected = sorted({render_mod.GROUP_PREFIX + "/".join(r.key.split("/")[:2]) for r in desired})
    removed = sorted(
        {render_mod.GROUP_PREFIX + "/".join(c.resource.key.split("/")[:2]) for c in changes}
        - set(expected)
    )
    return expected, removed


def undo_refused(previous: Previous, report: ApplyReport, refused: str) -> None:
    """The server refused the new files and kept its previous rules: put the previous files
    back, so that disk, server and the next plan agree that these changes were not made."""
    undone = _restore(previous)
    for outcome in report.outcomes:
        if outcome.status == DONE and outcome.change.address in undone:
            outcome.status, outcome.error = FAILED, refused
    report.errors.append(refused + "; the previous rule files were restored")


def service_of_group(name: str) -> str | None:
    """The service whose rule file holds a generated group (``slogen/<service>/<slo>``)."""
    generated = name.startswith(render_mod.GROUP_PREFIX)
    return name[len(render_mod.GROUP_PREFIX) :].split("/")[0] if generated else None


def undo_failing(
    previous: Previous, report: ApplyReport, failing: dict[str, list[str]], form: str
) -> Previous:
    """Put back the previous files of the services whose new rules load but fail evaluation.

    Such rules are as good as refused (nothing is recorded, no alert can fire); left running,
    a broken change would count as made and vanish from the next plan. Only the failing
    services' files go back: a file holds one service, the others' new rules are live and
    healthy, and undoing them would fail good changes. All changes written to a restored file
    become failed. Returns what was restored, for the caller to reload.
    """
    by_file: dict[str, list[str]] = {}
    for group in sorted(failing):
        service = service_of_group(group)
        if service is not None:
            by_file.setdefault(render_mod.file_name(service, form), []).append(group)
    restored: Previous = {}
    for path, entry in previous.items():
        groups = by_file.get(path.name)
        if groups is None or not _restore({path: entry}):
            continue
        restored[path] = entry
        why = f"rule group(s) {', '.join(groups)} fail evaluation; {path.name} was put back"
        addresses = {c.address for c in entry[1]}
        for outcome in report.outcomes:
            if outcome.status == DONE and outcome.change.address in addresses:
                outcome.status, outcome.error = FAILED, why
    return restored


def _apply(
    target: Target,
    changes: Sequence[Change],
    desired: Sequence[Resource],
    progress: Progress,
    report: ApplyReport,
) -> None:
    files_changed, previous = write_rule_files(target, changes, desired, progress, report)
    reload_url = envref.option(target, "reload_url")
    if reload_url and files_changed:
        expected, removed = group_names(desired, changes)
        refused = reload(str(reload_url))
        if refused is not None:
            undo_refused(previous, report, refused)
            return
        problems, pending, failing = reload_and_verify(
            str(reload_url), expected, removed, reloaded=True
        )
        report.errors.extend(problems)
        if failing:
            _roll_back_failing(str(reload_url), previous, report, failing, _form(target))
        elif pending and not problems:
            report.notes.append(
                f"Prometheus at {reload_url} reloaded, but some rules had not been evaluated "
                "before the deadline; check their health in Prometheus."
            )
        elif not problems:
            report.notes.append(
                f"Prometheus at {reload_url} reloaded; {len(expected)} rule group(s) loaded "
                "and healthy."
            )


def _roll_back_failing(
    url: str, previous: Previous, report: ApplyReport, failing: dict[str, list[str]], form: str
) -> None:
    """Restore the files whose rules fail evaluation and reload Prometheus with them."""
    restored = undo_failing(previous, report, failing, form)
    if not restored:
        return  # the failing groups were not written by this apply: only reported
    names, problem = ", ".join(sorted(p.name for p in restored)), reload(url)
    report.errors.append(
        f"rules that fail evaluation are not left running: {names} put back as they were "
        f"and Prometheus at {url} reloaded with them"
        if problem is None
        else f"{names} put back as they were, but reloading Prometheus with them failed: "
        f"{problem}; it runs the failing rules until its next reload"
    )


class RuleFilesTarget:
    """The ``files`` target of the Prometheus backend (see the module docstring)."""

    def __init__(self, settings: Target):
        self.settings = settings
        self.name = target_label(settings)

    def read_live(self, known: Sequence[Resource] = ()) -> LiveState:
        return _read_live(self.settings, known)

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        return _conflicts(self.settings, desired, live)

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        report = ApplyReport()
        _apply(self.settings, changes, desired, progress, report)
        return report

    def lock(self, holder: str, timeout: float) -> AbstractContextManager[None]:
        """``flock`` on ``.slogen.lock`` in the rules directory (not a rule file: never read)."""
        return filestore.lock(self.settings, holder, timeout)


def _restore(previous: Previous) -> set[str]:
    """Write back what the files held before; the addresses of the changes undone."""
    undone: set[str] = set()
    for path, (text, changes) in previous.items():
        try:
            if text is None:
                path.unlink(missing_ok=True)
            else:
                filestore.write_atomic(path, text)
        except OSError:
            continue  # still counted as done: the file holds the new content
        undone.update(c.address for c in changes)
    return undone


def reload(base_url: str) -> str | None:
    """``POST /-/reload``; the problem, or None when Prometheus accepted the rule files."""
    try:
        status, body = _http("POST", f"{base_url}/-/reload")
    except (urllib.error.URLError, OSError) as exc:
        return f"cannot reach Prometheus at {base_url} to reload it: {exc}"
    if status != 200:
        text = body.decode(errors="replace").strip()
        return f"Prometheus refused to reload (HTTP {status}): {text}"
    return None


def _http(method: str, url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def reload_and_verify(
    base_url: str,
    expected_groups: list[str],
    removed_groups: list[str],
    timeout: float = 120.0,
    reloaded: bool = False,
) -> tuple[list[str], bool, dict[str, list[str]]]:
    """Reload Prometheus and wait until every expected group has evaluated; list the problems.

    Prometheus reloads synchronously and answers an error when a rule file does not parse. The
    rules' health is only known after their group's first evaluation, so this polls (with a
    deadline of twice the group interval, at most ``timeout`` seconds). Returns the problems,
    whether some rules were still unevaluated at the deadline, and the groups with a failing
    rule (name -> their problems), which the caller rolls back.
    """
    problem = None if reloaded else reload(base_url)
    if problem is not None:
        return [problem], False, {}
    start = time.monotonic()
    deadline = start + timeout
    problems: list[str] = []
    while True:
        try:
            _status, body = _http("GET", f"{base_url}/api/v1/rules")
            data = json.loads(body)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return [f"cannot read rules from {base_url}/api/v1/rules: {exc}"], False, {}
        groups = {g["name"]: g for g in data.get("data", {}).get("groups", [])}
        problems = []
        failing: dict[str, list[str]] = {}
        pending = False
        longest_interval = 0.0
        for name in expected_groups:
            group = groups.get(name)
            if group is None:
                problems.append(
                    f"rule group {name} is not loaded; is the target directory in "
                    "Prometheus's rule_files?"
                )
                continue
            longest_interval = max(longest_interval, float(group.get("interval", 0) or 0))
            for rule in group.get("rules", []):
                health = rule.get("health")
                if health == "err":
                    problem = (
                        f"rule {rule.get('name')} in group {name} fails: {rule.get('lastError')}"
                    )
                    problems.append(problem)
                    failing.setdefault(name, []).append(problem)
                elif health != "ok":
                    pending = True
        problems.extend(
            f"rule group {name} is still loaded after it was removed"
            for name in removed_groups
            if name in groups
        )
        group_deadline = start + 2 * longest_interval + 5 if longest_interval else deadline
        if not pending or time.monotonic() > min(deadline, group_deadline):
            return problems, pending, failing
        time.sleep(0.25)
