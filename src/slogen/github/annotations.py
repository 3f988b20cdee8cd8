"""Workflow commands: the ``::error`` and ``::warning`` annotations of spec problems.

Annotations are workflow commands on stdout, ``::error file=F,line=L,col=C,title=T::message``
(also ``::warning``). The toolkit escapes ``%``, CR and LF in the message as ``%25``, ``%0D``,
``%0A``, and in property values also ``:`` and ``,`` as ``%3A`` and ``%2C`` (docs.github.com,
"Workflow commands for GitHub Actions"; actions/toolkit packages/core/src/command.ts,
``escapeData`` and ``escapeProperty``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from slogen.errors import Problem, SlogenError
from slogen.plural import plural
from slogen.redact import redact


def escape_data(text: str) -> str:
    """Escape a workflow command's message (toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (toolkit ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: object) -> str:
    """``::command key=value,...::message`` with empty properties left out."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value not in (None, "", 0)
    )
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def workspace_path(file: str, environ: Mapping[str, str] | None = None) -> str:
    """A path as GitHub wants it in an annotation: relative to the repository checkout.

    slogen reports paths as given on the command line, which are relative to the step's
    working directory; annotations are matched against the pull request's files, which are
    relative to ``GITHUB_WORKSPACE``.
    """
    env = os.environ if environ is None else environ
    workspace = env.get("GITHUB_WORKSPACE")
    if not workspace:
        return file
    try:
        relative = os.path.relpath(os.path.abspath(file), os.path.abspath(workspace))
    except ValueError:  # another drive on Windows
        return file
    if relative == ".." or relative.startswith(".." + os.sep):
        return file
    return relative.replace(os.sep, "/")


def problem_annotation(problem: Problem, environ: Mapping[str, str] | None = None) -> str:
    loc = problem.location
    command = {"warning": "warning", "note": "notice"}.get(problem.severity, "error")
    message = f"{problem.path}: {problem.message}" if problem.path else problem.message
    if problem.hint:
        message += f"\nhint: {problem.hint}"
    return workflow_command(
        command,
        message,
        file=workspace_path(loc.file, environ),
        line=loc.line,
        col=loc.column,
        title=f"slogen: {problem.path}" if problem.path else "slogen",
    )


@dataclass
class SpecCheck:
    """The outcome of loading the specs: every problem, or the project's size."""

    problems: list[Problem] = field(default_factory=list)
    error: str = ""  # a failure that is not tied to a place in a file
    hint: str = ""
    services: int = 0
    slos: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.error

    def annotations(self, environ: Mapping[str, str] | None = None) -> list[str]:
        lines = [problem_annotation(p, environ) for p in self.problems]
        if self.error and not self.errors:
            message = self.error + (f"\nhint: {self.hint}" if self.hint else "")
            lines.append(workflow_command("error", redact(message), title="slogen"))
        return lines

    def summary(self) -> str:
        if self.ok:
            return f"Valid: {plural(self.services, 'service')}, {plural(self.slos, 'SLO')}."
        count = len(self.errors) or 1
        return f"{count} error{'s' if count != 1 else ''} in the specs."

    def text(self) -> str:
        """The problems as the CLI prints them."""
        lines = [p.render() for p in self.problems]
        if self.error and not self.errors:
            lines.append(f"error: {self.error}" + (f"\n  hint: {self.hint}" if self.hint else ""))
        return redact("\n".join(lines))


def check_specs(
    paths: list[str] | tuple[str, ...],
    config: str | None = None,
    strict: bool = False,
    templates: str | None = None,
) -> SpecCheck:
    """What ``slogen validate`` checks (the loader and every backend); ``strict``: warnings fail."""
    from slogen.validation import load_valid

    try:
        project, problems = load_valid(
            list(paths) or ["specs"], config, strict=strict, templates=templates
        )
    except SlogenError as exc:
        return SpecCheck(list(exc.problems), exc.message, exc.hint)
    slos = sum(len(s.slos) for s in project.services)
    return SpecCheck(list(problems), services=len(project.services), slos=slos)
