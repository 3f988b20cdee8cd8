"""``slogen`` commands. Each one loads, runs a stage, renders the result, picks an exit code.

Heavy modules (backends, SDKs) are imported inside the commands that need them so that
``slogen --help`` stays fast.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import Any

import click

from slogen import __version__
from slogen.backends import registry
from slogen.cli.common import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    config_option,
    handle_errors,
    load,
    no_match,
    paths_argument,
    print_problems,
    slo_option,
    templates_option,
)
from slogen.cli.options import colour_option, show_plan
from slogen.errors import SlogenError
from slogen.plural import plural
from slogen.redact import redact


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="slogen")
def cli() -> None:
    """Compile SLO specs into multiwindow, multi-burn-rate alerts and manage them like code.

    PATHS are spec files or directories of them (default: ./specs).
    """


@cli.command()
@paths_argument
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    help="github: GitHub Actions annotations (::error file=...,line=...::...).",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1 on any).")
@templates_option
@handle_errors
def validate(
    paths: tuple[str, ...], config: str | None, fmt: str, strict: bool, templates: str | None
) -> int:
    """Check spec files and slogen.yaml against everything build and apply would reject;
    print every problem with its file:line:column. Warnings alone exit 0 (unless --strict)."""
    from slogen.validation import load_valid

    if fmt == "github":
        from slogen import github

        check = github.check_specs(paths, config, strict=strict, templates=templates)
        for line in check.annotations():
            click.echo(line)
        click.echo(check.summary())
        return EXIT_OK if check.ok else EXIT_ERROR
    try:
        project, problems = load_valid(
            list(paths) or ["specs"], config, strict=strict, templates=templates
        )
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
        warned = f" ({plural(len(problems.warnings), 'warning')})" if problems.warnings else ""
        click.echo(
            f"Valid: {plural(len(project.services), 'service')}, {plural(slos, 'SLO')}{warned}."
        )
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

    project = load(paths, config, templates)
    overrides = {"prometheus": {"format": prometheus_format}}
    written = build_files(project, Path(output), templates, overrides)
    for backend, files in written.items():
        click.echo(f"{backend}: wrote {plural(len(files), 'file')} to {Path(output) / backend}")
    return EXIT_OK


def _traffic(value: str | None):
    if value is None:
        return None
    from slogen.spec.traffic import parse_traffic

    try:
        return parse_traffic(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--traffic") from None


@cli.command()
@paths_argument
@config_option
@slo_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--traffic",
    metavar="N/PERIOD",
    help="Expected traffic, e.g. 3000000/30d: counts the budget in events and flags tiers that "
    "one failed event trips (overrides the specs' 'traffic').",
)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False),
    metavar="FILE.png",
    help="Also draw detection time and budget spent against error ratio (needs slogen[plot]).",
)
@handle_errors
def explain(
    paths: tuple[str, ...],
    config: str | None,
    only: str | None,
    fmt: str,
    traffic: str | None,
    plot_file: str | None,
) -> int:
    """Show why each alert has its numbers: burn rates, thresholds, detection and reset times,
    and the alerts' quality (detection, reset, precision, recall) in the SRE Workbook's terms."""
    from slogen import explain as explaining

    expected = _traffic(traffic)
    project = load(paths, config)
    reports = explaining.explain(project, only, expected)
    if only and not reports:
        raise no_match(project, only)
    if plot_file:
        from slogen.plot import plot_slos

        written = plot_slos(explaining.selected(project, only), plot_file, expected)
        click.echo(f"Wrote the plot to {written}", err=True)
    if fmt == "json":
        click.echo(explaining.render_json(reports))
    else:
        click.echo(explaining.render_text(reports))
    return EXIT_OK


@cli.command("test")
@paths_argument
@config_option
@templates_option
@slo_option
@click.option(
    "--rules",
    "rules",
    multiple=True,
    type=click.Path(exists=True),
    metavar="PATH",
    help="Test these rule files (or directories of them; plain or PrometheusRule) instead of "
    "the rules slogen renders, e.g. what is deployed. Repeatable.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write the rule files and promtool test files here, for your own CI.",
)
@click.option(
    "--run/--no-run",
    default=True,
    show_default=True,
    help="Run the tests with promtool (--no-run needs --out).",
)
@click.option(
    "--tier",
    "tiers",
    multiple=True,
    metavar="TIER",
    help="Only this tier, e.g. page-1h (repeatable): days-long tiers cost the most CPU.",
)
@click.option("--jobs", type=click.IntRange(min=1), help="Parallel promtool processes [CPUs].")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures and the summary.")
@handle_errors
def test_command(
    paths: tuple[str, ...],
    config: str | None,
    templates: str | None,
    only: str | None,
    rules: tuple[str, ...],
    out: str | None,
    run: bool,
    tiers: tuple[str, ...],
    jobs: int | None,
    quiet: bool,
) -> int:
    """Prove with promtool that each SLO's alerts fire, stay quiet and reset when the engine
    says: synthetic series from the specs' own queries, in rule unit tests."""
    from slogen.testing import suite

    if not run and not out:
        raise click.UsageError("--no-run only makes sense with --out DIR")
    project = load(paths, config, templates)
    try:
        files = suite.load_rule_files(rules) if rules else None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SlogenError(f"cannot read the rule files: {exc}") from exc
    plan = suite.plan_tests(project, only, files, templates, tiers)
    if only and not plan.slos and not plan.skipped:
        raise no_match(project, only)
    if tiers and not plan.slos:
        known = sorted({t.id for _s, o in project.slos() for t in o.policy.tiers})
        raise SlogenError(
            f"no SLO has tier {' or '.join(tiers)}", hint=f"tiers: {', '.join(known)}"
        )
    promtool = suite.require_promtool() if run else None
    if out:
        written = suite.write_out(plan, Path(out))
        click.echo(
            f"Wrote {plural(len(written), 'file')} to {out} "
            f"(run: promtool test rules {out}/*.test.yml)"
        )
    if not run:
        click.echo(suite.render_plan(plan))
        return EXIT_ERROR if plan.problems else EXIT_OK
    if plan.groups and not quiet:
        click.echo(suite.progress_line(plan, jobs), err=True)
    results = suite.run_plan(plan, jobs=jobs, promtool=promtool)
    click.echo(suite.render_text(results, verbose=not quiet))
    return EXIT_OK if results.ok else EXIT_ERROR


target_option = click.option(
    "--target",
    "only",
    multiple=True,
    metavar="BACKEND",
    help=f"Limit to these backends ({registry.listing()}); repeatable.",
)


@cli.command()
@paths_argument
@config_option
@templates_option
@target_option
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False), help="Save the plan here.")
@colour_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are, 1 on errors.",
)
@handle_errors
def plan(
    paths: tuple[str, ...],
    config: str | None,
    templates: str | None,
    only: tuple[str, ...],
    fmt: str,
    out: str | None,
    color: bool | None,
    detailed_exitcode: bool,
) -> int:
    """Show what apply would change in each backend's live configuration."""
    from slogen.plan import planfile, render
    from slogen.plan.planner import make_plan

    try:
        project = load(paths, config, templates)
        # only a saved or JSON plan needs the desired resources and live fingerprints
        result = make_plan(project, only, templates, keep=bool(out) or fmt == "json")
    except SlogenError as exc:
        if fmt == "json":  # a program reading stdout gets a document, not nothing
            click.echo(redact(render.render_json_error(exc)))
        raise
    if out:
        planfile.save(result, project, out)
    if fmt == "json":
        click.echo(redact(render.render_json(result)))
    elif fmt == "markdown":
        click.echo(redact(render.render_markdown(result)), nl=False)
    else:
        show_plan(result, color)
        if out:
            click.echo(f"Saved the plan to {out}. Apply exactly this plan with: slogen apply {out}")
    if detailed_exitcode and result.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PLANFILE | PATHS...]")
@config_option
@templates_option
@target_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="Wait this long for a target another apply has locked [0: fail at once; CI: e.g. 600].",
)
@click.option(
    "--lock/--no-lock",
    default=True,
    help="Lock each target changed [lock]; --no-lock only if nothing else applies meanwhile.",
)
@colour_option
@handle_errors
def apply(
    paths: tuple[str, ...],
    config: str | None,
    templates: str | None,
    only: tuple[str, ...],
    auto_approve: bool,
    lock_timeout: float,
    lock: bool,
    color: bool | None,
) -> int:
    """Make live configuration match the specs (or exactly a saved PLANFILE)."""
    from slogen.plan import planfile
    from slogen.plan.planner import apply_plan, check_fresh, make_plan

    saved = len(paths) == 1 and planfile.is_plan_file(paths[0])
    if saved:
        result, targets = planfile.load(paths[0])
        check_fresh(result, targets)  # a stale plan is refused before anything is locked
        show_plan(result, color)
    else:
        if not auto_approve and not sys.stdin.isatty():
            raise SlogenError(
                "refusing to apply without confirmation: standard input is not a terminal",
                hint="review with 'slogen plan' and pass --auto-approve, or apply a saved plan",
            )
        project = load(paths, config, templates)
        result = make_plan(project, only, templates)
        targets = {t.backend: t for t in project.targets}
        show_plan(result, color)
        if not result.has_changes:
            return EXIT_OK
        if not auto_approve:
            answer = click.prompt(
                "\nApply these changes? Only 'yes' is accepted", default="", show_default=False
            )
            if answer.strip() != "yes":
                click.echo("Apply cancelled; nothing was changed.")
                return EXIT_ERROR
    if not result.has_changes:
        return EXIT_OK
    report = apply_plan(result, targets, lock_timeout if lock else None)
    click.echo(redact(report.render()), err=not report.ok)
    return EXIT_OK if report.ok else EXIT_ERROR


@cli.command("github-comment")
@click.argument("body_file", type=click.File("r", encoding="utf-8"), metavar="BODY_FILE")
@click.option("--pr", "number", type=click.IntRange(min=1), help="Default: the event's PR.")
@click.option("--repo", metavar="OWNER/NAME", help="Default: $GITHUB_REPOSITORY.")
@handle_errors
def github_comment(body_file: Any, number: int | None, repo: str | None) -> int:
    """Create or update slogen's one comment on a pull request (GitHub Actions).

    BODY_FILE ('-' for stdin) is markdown; the comment is found again by its hidden first line
    <!-- slogen-plan -->. Uses GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY and the
    pull request in GITHUB_EVENT_PATH.
    """
    from slogen import github

    result = github.comment_from_env(body_file.read(), number, repo)
    if result is None:
        click.echo("Not a pull request: no comment.")
    else:
        click.echo(f"{result.action.capitalize()} comment {result.url or result.id}")
    return EXIT_OK


from slogen.cli.docs import docs  # noqa: E402
from slogen.cli.history import backtest, status  # noqa: E402  (registered after the group exists)
from slogen.cli.interop import export_group, import_group  # noqa: E402
from slogen.cli.schema import schema  # noqa: E402

cli.add_command(backtest)
cli.add_command(docs)
cli.add_command(import_group)
cli.add_command(export_group)
cli.add_command(schema)
cli.add_command(status)


def collect_rarely() -> None:
    """A command builds hundreds of thousands of small objects that mostly live until it
    exits; with CPython's default thresholds the collector walks them again and again (about
    15% of a 5,000-SLO build, and what made it grow faster than the SLO count). Collect rarely,
    and never walk what start-up imported."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def main() -> None:
    collect_rarely()
    cli(prog_name="slogen")
