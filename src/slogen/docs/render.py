"""The SLO documents as Markdown, through the templates under ``templates/docs/``.

``docs/service.md.j2`` is the document and includes one template per section, so a team can
replace one section (its own error budget policy, say) with ``--templates DIR`` and keep the
rest. The templates get the data of :func:`slogen.docs.compute.service_document` and two
helpers for Markdown that text from a spec would otherwise break.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from slogen import templating
from slogen.errors import Location, Problems, SlogenError, did_you_mean
from slogen.spec.model import Project, Service

from .compute import service_document
from .implementation import rendered

TEMPLATE = "docs/service.md.j2"
_URL = re.compile(r"^https?://\S+$")


def cell(text: object) -> str:
    """Text for a Markdown table cell: one line, with ``|`` escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: object) -> str:
    """Inline code that survives backticks inside it (a fence longer than any run of them)."""
    value = str(text)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def link(text: object) -> str:
    """A bare URL as a Markdown autolink; any other text as it is."""
    value = str(text).strip()
    return f"<{value}>" if _URL.match(value) else value


def _included(exc: SlogenError, templates: str | None) -> SlogenError:
    """The error of a section's template located in that template, not at the line of
    ``service.md.j2`` that includes it: an override of one section is what a user edits."""
    cause = exc.__context__
    if cause is None or exc.problems.errors == []:
        return exc
    frames = []
    tb = cause.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    for filename, line in reversed(frames):
        for base in templating.template_dirs(templates):
            root = Path(base).resolve()
            path = Path(filename).resolve()
            if path.suffix == ".j2" and path.is_relative_to(root):
                name = path.relative_to(root).as_posix()
                if name == TEMPLATE:
                    return exc
                first = exc.problems.errors[0]
                problems = Problems()
                problems.add(
                    replace(
                        first,
                        location=Location(filename, line, 1),
                        message=first.message.replace(f"template {TEMPLATE}:", f"template {name}:"),
                        hint=first.hint.replace(TEMPLATE, name),
                    )
                )
                return SlogenError(f"the template {name} cannot be rendered", problems)
    return exc


def render_document(document: dict[str, Any], templates: str | None = None) -> str:
    """One service's document. A template that does not parse or names a variable the data
    does not have is a :class:`SlogenError` naming the template (the section's own, when
    the mistake is in one that ``service.md.j2`` includes)."""
    try:
        text = templating.render(TEMPLATE, templates, doc=document, cell=cell, code=code, link=link)
    except SlogenError as exc:
        raise _included(exc, templates) from None
    return text + "\n"


def select(project: Project, only: str | None) -> list[Service]:
    """The services to document: every one, or the one ``only`` names."""
    if only is None:
        return list(project.services)
    for service in project.services:
        if service.name == only:
            return [service]
    names = [s.name for s in project.services]
    raise SlogenError(
        f"no service named '{only}'",
        hint=did_you_mean(only, names, listing="services") or "services: " + ", ".join(names),
    )


def documents(
    project: Project, templates: str | None, today: date, only: str | None = None
) -> dict[str, str]:
    """File name (``<service>.md``) -> Markdown, for the selected services."""
    services = select(project, only)
    resources = rendered(project, templates)
    return {
        f"{service.name}.md": render_document(
            service_document(service, resources, today), templates
        )
        for service in services
    }


def write_documents(files: dict[str, str], out: Path) -> list[Path]:
    """Write the documents under ``out`` (created when missing); the paths written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in sorted(files.items()):
            path = out / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise SlogenError(f"cannot write the documents to {out}: {exc.strerror or exc}") from exc
    return written
