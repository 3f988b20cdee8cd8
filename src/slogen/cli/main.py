"""``slogen`` commands. Each one loads, runs a stage, renders the result, picks an exit code.

Heavy modules (backends, SDKs) are imported inside the commands that need them so that
``slogen --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from slogen import __version__
from slogen.errors import Problems, SlogenError

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
                click.echo(f"Error: {exc.message}", err=True)
                if exc.hint:
                    click.echo(f"  hint: {exc.hint}", err=True)
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


def load(paths: tuple[str, ...], config: str | None):
    from slogen.spec.loader import load_project_with_warnings

    project, problems = load_project_with_warnings(list(paths) or ["specs"], config)
    print_problems(problems)
    return project


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="slogen")
def cli() -> None:
    """Compile SLO specs into multiwindow, multi-burn-rate alerts and manage them like code.

    PATHS are spec files or directories of them (default: ./specs).
    """


@cli.command()
@paths_argument
@config_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@handle_errors
def validate(paths: tuple[str, ...], config: str | None, fmt: str) -> int:
    """Check spec files and slogen.yaml; print every problem with its file:line:column."""
    from slogen.spec.loader import load_project_with_warnings

    try:
        project, problems = load_project_with_warnings(list(paths) or ["specs"], config)
    except SlogenError as exc:
        if fmt == "json":
            click.echo(
                json.dumps(
                    {"valid": False, "problems": [p.as_dict() for p in exc.problems]}, indent=2
                )
            )
            return EXIT_ERROR
        raise
    slos = sum(len(s.slos) for s in project.services)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "valid": True,
                    "services": len(project.services),
                    "slos": slos,
                    "problems": [p.as_dict() for p in problems],
                },
                indent=2,
            )
        )
    else:
        print_problems(problems)
        click.echo(f"Valid: {len(project.services)} services, {slos} SLOs.")
    return EXIT_OK


@cli.command()
@paths_argument
@config_option
@templates_option
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(file_okay=False),
    default="out",
    show_default=True,
    help="Directory to write into; each backend gets a subdirectory.",
)
@click.option(
    "--prometheus-format",
    type=click.Choice(["rules", "prometheusrule"]),
    default=None,
    help="Plain rule files, or Kubernetes PrometheusRule resources "
    "(default: the prometheus target's 'format', else rules).",
)
@handle_errors
def build(
    paths: tuple[str, ...],
    config: str | None,
    templates: str | None,
    output: str,
    prometheus_format: str | None,
) -> int:
    """Render every backend's output into files (no live state is read or changed)."""
    from slogen.build import build_files

    project = load(paths, config)
    written = build_files(project, Path(output), templates, prometheus_format)
    for backend, files in written.items():
        click.echo(f"{backend}: wrote {len(files)} file(s) to {Path(output) / backend}")
    return EXIT_OK


@cli.command()
@paths_argument
@config_option
@click.option("--slo", "only", metavar="SERVICE[/SLO]", help="Only this service or SLO.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@handle_errors
def explain(paths: tuple[str, ...], config: str | None, only: str | None, fmt: str) -> int:
    """Show why each alert has its numbers: burn rates, thresholds, detection and reset times."""
    from slogen import explain as explaining

    project = load(paths, config)
    reports = explaining.explain(project, only)
    if only and not reports:
        known = ", ".join(f"{s.name}/{o.name}" for s, o in project.slos())
        raise SlogenError(f"no SLO matches '{only}'", hint=f"known SLOs: {known}")
    if fmt == "json":
        click.echo(json.dumps(reports, indent=2))
    else:
        click.echo(explaining.render_text(reports))
    return EXIT_OK


def main() -> None:
    cli(prog_name="slogen")
