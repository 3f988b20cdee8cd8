"""What every command shares: loading specs, the common options, and turning errors into a
clean message and exit code 1."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from slogen.errors import Problems, SlogenError
from slogen.redact import redact

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def print_problems(problems: Problems, fmt: str = "text") -> None:
    if fmt == "json":
        return
    for problem in problems:
        click.echo(problem.render(), err=True)


def handle_errors(func: Callable[..., int | None]) -> Callable[..., None]:
    """Turn :class:`SlogenError` into a clean message and exit code 1 (never a traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            code = func(*args, **kwargs)
        except SlogenError as exc:
            print_problems(exc.problems)
            if exc.problems.errors:
                click.echo(f"Error: {exc.message}.", err=True)
            else:
                click.echo(redact(f"Error: {exc.message}"), err=True)
                if exc.hint:
                    click.echo(redact(f"  hint: {exc.hint}"), err=True)
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        sys.exit(code or EXIT_OK)

    return wrapper


paths_argument = click.argument("paths", nargs=-1, type=click.Path())
config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="Project settings file (default: slogen.yaml at the root of a spec directory).",
)
templates_option = click.option(
    "--templates",
    type=click.Path(file_okay=False, exists=True),
    help="Directory of templates that override the built-in ones.",
)


def load(paths: tuple[str, ...], config: str | None, templates: str | None = None):
    """Load and validate exactly as ``slogen validate`` does; print warnings, raise on errors."""
    from slogen.validation import load_valid

    project, problems = load_valid(list(paths) or ["specs"], config, templates=templates)
    print_problems(problems)
    return project


def no_match(project, only: str) -> SlogenError:
    known = ", ".join(f"{s.name}/{o.name}" for s, o in project.slos())
    return SlogenError(f"no SLO matches '{only}'", hint=f"known SLOs: {known}")


slo_option = click.option(
    "--slo", "only", metavar="SERVICE[/SLO]", help="Only this service or SLO."
)
