"""``slogen import FORMAT`` and ``slogen export FORMAT``: other tools' SLO files in and out.

The two groups are defined here, each format a subcommand of them: a new format adds
``@import_group.command("name")`` (or ``@export_group.command``) and needs nothing else, since
the main CLI registers the groups, not their commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from slogen.cli.common import config_option, handle_errors, load, paths_argument, print_problems
from slogen.errors import SlogenError
from slogen.plural import plural


@click.group("import")
def import_group() -> None:
    """Turn other tools' SLO definitions into slogen spec files (warnings say what was lost)."""


@click.group("export")
def export_group() -> None:
    """Write the specs in other tools' SLO formats."""


out_option = click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Directory to write into (files already there are never overwritten).",
)


@import_group.command("openslo")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@out_option
@handle_errors
def import_openslo_command(files: tuple[str, ...], out: str) -> int:
    """Read OpenSLO v1 FILES (or directories of them) into spec files and a slogen.yaml
    with the alert policies; every lossy step is a warning with its file:line."""
    from slogen.interop.openslo_import import import_openslo
    from slogen.interop.write import write_specs

    imported = import_openslo([Path(f) for f in files])
    print_problems(imported.problems)
    documents = dict(imported.services)
    if imported.config is not None:
        documents["slogen"] = imported.config
    sources = ", ".join(Path(f).name for f in files)
    header = f"Imported from OpenSLO ({sources}) by `slogen import openslo`."
    written = write_specs(documents, Path(out), header)
    warnings = len(imported.problems.warnings)
    click.echo(
        f"Wrote {plural(len(written), 'file')} to {out}"
        + (f" ({plural(warnings, 'warning')} above)" if warnings else "")
    )
    return 0


@import_group.command("sloth")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@out_option
@click.option(
    "--default-slo-period",
    "period",
    type=click.Choice(["30d", "28d"]),
    default="30d",
    show_default=True,
    help="The SLO period Sloth ran with (its own --default-slo-period): a Sloth spec cannot "
    "set one, and Sloth's built-in alert windows cover 30d and 28d.",
)
@handle_errors
def import_sloth_command(files: tuple[str, ...], out: str, period: str) -> int:
    """Read Sloth FILES (prometheus/v1 specs and PrometheusServiceLevel resources, or
    directories of them) into spec files and a slogen.yaml with Sloth's alert windows; every
    lossy step is a warning with its file:line. Nothing is written if anything is an error."""
    from slogen.interop.sloth_import import import_sloth

    imported = import_sloth(list(files), Path(out), period)
    print_problems(imported.problems)
    warnings = len(imported.problems.warnings)
    click.echo(
        f"Imported {plural(imported.slos, 'SLO')} of {plural(imported.services, 'service')}: "
        f"wrote {plural(len(imported.written), 'file')} to {out}"
        + (f" ({plural(warnings, 'warning')} above)" if warnings else "")
    )
    click.echo(
        f"Every SLO has window: {period}, the SLO period Sloth used unless it ran with "
        "another --default-slo-period."
    )
    return 0


@export_group.command("openslo")
@paths_argument
@config_option
@out_option
@handle_errors
def export_openslo_command(paths: tuple[str, ...], config: str | None, out: str) -> int:
    """Write every SLO in PATHS as OpenSLO v1 documents, one file per service; what OpenSLO
    has no field for is kept in slogen.dev/ annotations, so importing them gives the same specs."""
    from slogen.interop.openslo_export import export_openslo, write_openslo

    project = load(paths, config)
    files, problems = export_openslo(project)
    print_problems(problems)
    if not files:
        raise SlogenError("no services to export")
    written = write_openslo(files, Path(out), "OpenSLO v1, written by `slogen export openslo`.")
    click.echo(f"Wrote {plural(len(written), 'file')} to {out}")
    return 0
