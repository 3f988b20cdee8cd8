"""Jinja2 templates for the text slogen generates (annotations, messages, descriptions).

Templates ship inside the package; a user directory given with ``--templates`` is searched
first, so a team can override one template without copying the rest.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

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


def render(name: str, user_dir: str | None = None, **context: object) -> str:
    """Render one template and tidy it: no trailing spaces, no blank runs, no edge blanks."""
    text = _template(name, user_dir).render(**context)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy)
