"""Jinja2 templates for the text slogen generates (annotations, messages, descriptions).

Templates ship inside the package; a user directory given with ``--templates`` is searched
first, so a team can override one template without copying the rest.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2.runtime import Context

from slogen.errors import Location, Problem, Problems, SlogenError

_PACKAGE_DIR = Path(__file__).parent / "templates"  # in an installed wheel
_SOURCE_DIR = Path(__file__).resolve().parents[2] / "templates"  # in a source checkout


def template_dirs(user_dir: str | None = None) -> list[str]:
    dirs = []
    if user_dir:
        dirs.append(user_dir)
    for candidate in (_PACKAGE_DIR, _SOURCE_DIR):
        if candidate.is_dir():
            dirs.append(str(candidate))
            break
    return dirs


class _Environment(jinja2.Environment):
    def make_globals(self, d: dict | None) -> dict:  # type: ignore[override]
        # Jinja gives each template ChainMap(d, env.globals) and copies it into the context of
        # every render, key by key through ChainMap's Python methods; ~16,000 renders per 1,000
        # SLOs. slogen never changes globals after loading, so a plain dict is equivalent.
        return {**self.globals, **(d or {})}


@lru_cache(maxsize=8)
def environment(user_dir: str | None = None) -> jinja2.Environment:
    env = _Environment(
        loader=jinja2.FileSystemLoader(template_dirs(user_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # Templates do not change during a run: skip the stat() per render that checks.
        auto_reload=False,
    )
    return env


@lru_cache(maxsize=64)
def _template(name: str, user_dir: str | None) -> jinja2.Template:
    return environment(user_dir).get_template(name)


def _runtime_line(exc: BaseException, filename: str | None) -> int:
    """The template line a runtime error (``{{ 1 // 0 }}``, ``{{ "x" + 1 }}``) happened on:
    jinja rewrites the traceback so that the template's own frames carry its file and line."""
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if filename and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _template_error(name: str, user_dir: str | None, exc: Exception) -> SlogenError:
    """A broken or mistaken template (a user's override, usually) as a located problem."""
    filename = getattr(exc, "filename", None)
    if filename is None:
        try:
            filename = _template(name, user_dir).filename
        except jinja2.TemplateError:
            filename = None
    line = getattr(exc, "lineno", None) or _runtime_line(exc, filename)
    where = Location(filename or name, line, 1 if line else 0)
    if isinstance(exc, jinja2.TemplateError):
        message = exc.message or type(exc).__name__
    else:  # a runtime error in the template's own expressions
        message = f"{type(exc).__name__}: {exc}"
    problems = Problems()
    problems.add(
        Problem(
            where,
            "",
            f"template {name}: {message}",
            f"compare it with slogen's own templates/{name}, which uses only the variables "
            "slogen provides",
        )
    )
    return SlogenError(f"the template {name} cannot be rendered", problems)


def known_names() -> list[str]:
    """The names of slogen's own templates (``prometheus/description.txt.j2``, ...)."""
    for base in template_dirs():
        root = Path(base)
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.j2"))
    return []


def override_problems(user_dir: str) -> list[Problem]:
    """A file in the ``--templates`` directory that overrides nothing (a misspelt name) is an
    error naming it and the names that exist: ignored, it would leave the built-in template in
    use while its author believes theirs is."""
    known = known_names()
    root = Path(user_dir)
    problems: list[Problem] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if name in known or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        close = difflib.get_close_matches(name, known, n=1)
        problems.append(
            Problem(
                Location(str(path), 0, 0),
                "",
                f"template {name} overrides none of slogen's templates",
                (f"did you mean {close[0]}? " if close else "")
                + "slogen's templates are: "
                + ", ".join(known),
            )
        )
    return problems


def _render(template: jinja2.Template, context: dict[str, object]) -> str:
    """``template.render(**context)`` without the overhead that was 40% of a short render.

    Jinja's ``Template.render`` copies the keyword arguments into a dict, and ``new_context``
    merges that with the globals through ``dict(globals, **vars)``; this builds the same
    :class:`~jinja2.runtime.Context` (not async, not shared, no locals) with a single merge.
    A failure goes through ``handle_exception`` as in ``Template.render``: it puts the
    template's file and line on the traceback, which :func:`_runtime_line` reads.
    """
    env = template.environment
    ctx = Context(
        env, {**template.globals, **context}, template.name, template.blocks, template.globals
    )
    try:
        return env.concat(template.root_render_func(ctx))
    except Exception:
        env.handle_exception()


def render(name: str, user_dir: str | None = None, **context: object) -> str:
    """Render one template and tidy it: no trailing spaces, no blank runs, no edge blanks.

    A template that does not parse or uses a variable slogen does not provide is a
    :class:`SlogenError` naming the file (and the line, where jinja knows it).
    """
    try:
        text = _render(_template(name, user_dir), context)
    except Exception as exc:  # any error of a (user's) template is a located problem
        raise _template_error(name, user_dir, exc) from None
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy)


def go_template_literal(text: str) -> str:
    """``text`` written so that Go's text/template (Prometheus, Mimir, vmalert annotations and
    alert labels) prints it unchanged.

    Prometheus expands every annotation and alert label as a template, so a description with
    ``{{ foo }}`` made the rule file fail to load. Only ``{{`` starts an action; each becomes an
    action printing the string ``"{{"``. A trailing ``{`` is written the same way, because the
    text slogen's own template puts after it could start with ``{`` and complete a ``{{``.
    """
    escaped = text.replace("{{", '{{"{{"}}')
    if escaped.endswith("{"):
        escaped = escaped[:-1] + '{{"{"}}'
    return escaped


_DATADOG_RAW_OPEN, _DATADOG_RAW_CLOSE = "{{{{raw}}}}", "{{{{/raw}}}}"


def datadog_literal(text: str) -> str:
    """``text`` written so that a Datadog monitor message shows it unchanged.

    Datadog reads ``{{ }}`` in a message as its template variables; its documented way to send
    double braces is a raw block, ``{{{{raw}}}}…{{{{/raw}}}}``
    (docs.datadoghq.com/monitors/notify/variables, "Raw format"). Text without ``{{`` or ``}}``
    is left as it is, so ordinary descriptions read the same in the API and the UI. Inside a
    raw block ``{{{{`` would open a nested block and a final ``{`` would join the closing
    ``{{{{``, so such braces are separated by a zero-width space (U+200B), which shows nothing.
    """
    if "{{" not in text and "}}" not in text:
        return text
    while "{{{{" in text:
        text = text.replace("{{{{", "{{\u200b{{")
    if text.endswith("{"):
        text += "\u200b"
    return f"{_DATADOG_RAW_OPEN}{text}{_DATADOG_RAW_CLOSE}"


def go_template_text(escaped: str) -> str:
    """What Prometheus shows for a value :func:`go_template_literal` wrote (its inverse): the
    label values ``slogen test`` expects on the ALERTS series."""
    return _GO_ESCAPE.sub(lambda m: m.group(1), escaped)  # one pass, left to right


_GO_ESCAPE = re.compile(r'\{\{"(\{\{?)"\}\}')
