"""Options and output helpers shared by the plan-showing commands (``plan``, ``apply``).

Kept out of :mod:`slogen.cli.main` so the command definitions stay short; the colour rules
themselves are in :mod:`slogen.plan.colour`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from slogen.plan.colour import use_colour
from slogen.redact import redact

colour_option = click.option(
    "--color/--no-color",
    "color",
    default=None,
    help="Colour the plan, or not [default: only on a terminal, and not if NO_COLOR is set].",
)


def colour(override: bool | None = None) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org),
    unless ``--color``/``--no-color`` (``override``) says otherwise."""
    return use_colour(sys.stdout, os.environ, override)


def show_plan(result: Any, color: bool | None) -> None:
    """The text plan, coloured as :func:`colour` decides. ``click.echo`` is told the same
    decision: by itself it strips colour from anything but a terminal, which would make
    ``--color`` do nothing in a pipe (``slogen plan --color | less -R``)."""
    from slogen.plan import render

    coloured = colour(color)
    click.echo(redact(render.render_text(result, coloured, click.style)), color=coloured)
