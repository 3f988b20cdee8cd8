"""The project's identity: the name written into every ownership marker slogen leaves.

Two projects (two repositories, or two spec directories) may point at the same Datadog account,
AWS account, ruler or directory. Each object slogen writes carries its project's name next to
``managed-by: slogen``, and a project reads, updates and deletes only its own objects (and
adopts objects written before projects existed).

The name is ``project:`` in ``slogen.yaml``. Without it, it is derived from where the specs are,
never from the working directory or from how a path is spelt (``specs``, ``./specs/``,
``/abs/specs`` and a symlink to it give the same name), since a name that changed between two
runs would make every object look like another project's:

* the directory holding ``slogen.yaml``, when one is in use (found at the root of the spec
  directory, beside a spec file given alone, or named with ``--config``);
* else the spec directory given (a spec file given alone: the directory holding it; several
  paths: the deepest directory holding all of them).

That name, lower-cased, with every run of other characters turned into ``-`` and cut at 63
characters; ``default`` when nothing is left (the file system root).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from slogen.spec.model import Target

FALLBACK = "default"
MAX_LENGTH = 63
PROJECT_OPTION = "project"  # the target option holding the name (set here, never by users)


def slug(text: str) -> str:
    """``text`` as a project name: lower-case letters, digits and single dashes."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:MAX_LENGTH].strip("-")
    return name or FALLBACK


def default_name(config: Path | None, paths: list[str]) -> str:
    """The project name when ``slogen.yaml`` gives none (see the module docstring)."""
    if config is not None:
        return slug(config.resolve().parent.name)
    dirs = []
    for raw in paths:
        path = Path(raw).resolve()
        dirs.append(path if path.is_dir() else path.parent)
    if not dirs:
        return FALLBACK
    return slug(Path(os.path.commonpath([str(d) for d in dirs])).name)


def scoped_targets(targets: tuple[Target, ...], name: str) -> tuple[Target, ...]:
    """Every target with the project's name as its ``project`` option.

    The name travels with the target settings, so each target knows whose objects it manages
    and a saved plan (which stores the settings) is applied for the same project.
    """
    return tuple(
        replace(t, options=tuple(sorted({**dict(t.options), PROJECT_OPTION: name}.items())))
        for t in targets
    )
