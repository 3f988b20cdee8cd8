"""Jinja2 templates for the text slogen generates (annotations, messages, descriptions).

Templates ship inside the package; a user directory given with ``--templates`` is searched
first, so a team can override one template without copying the rest.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

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


def _template_error(name: str, user_dir: str | None, exc: jinja2.TemplateError) -> SlogenError:
    """A broken or mistaken template (a user's override, usually) as a located problem."""
    filename = getattr(exc, "filename", None)
    if filename is None:
        try:
            filename = _template(name, user_dir).filename
        except jinja2.TemplateError:
            filename = None
    line = getattr(exc, "lineno", None) or 0
    where = Location(filename or name, line, 1 if line else 0)
    message = exc.message or type(exc).__name__
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


def render(name: str, user_dir: str | None = None, **context: object) -> str:
    """Render one template and tidy it: no trailing spaces, no blank runs, no edge blanks.

    A template that does not parse or uses a variable slogen does not provide is a
    :class:`SlogenError` naming the file (and the line, where jinja knows it).
    """
    try:
        text = _template(name, user_dir).render(**context)
    except jinja2.TemplateError as exc:
        raise _template_error(name, user_dir, exc) from None
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy)
