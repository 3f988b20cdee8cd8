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


@lru_cache(maxsize=8)
def environment(user_dir: str | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dirs(user_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env


def render(name: str, user_dir: str | None = None, **context: object) -> str:
    """Render one template and tidy it: no trailing spaces, no blank runs, no edge blanks."""
    text = environment(user_dir).get_template(name).render(**context)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy)
