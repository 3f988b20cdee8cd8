"""``slogen schema``: print the JSON Schema of spec files, or of ``slogen.yaml``.

Editors that validate YAML against a schema (the YAML language server behind VS Code and
others) point at the printed schema with a ``# yaml-language-server: $schema=...`` line.
"""

from __future__ import annotations

from pathlib import Path

import click

from slogen.cli.common import EXIT_OK, handle_errors
from slogen.errors import SlogenError


@click.command("schema")
@click.option("--settings", is_flag=True, help="The schema of slogen.yaml instead of spec files.")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the schema to FILE instead of standard output.",
)
@handle_errors
def schema(settings: bool, out: str | None) -> int:
    """Print the JSON Schema (draft 2020-12) of spec files (with --settings, of slogen.yaml),
    generated from the definitions slogen validate uses, for editor checks and completion."""
    from slogen.spec.schema import render, settings_schema, spec_schema

    text = render(settings_schema() if settings else spec_schema())
    if out is None:
        click.echo(text, nl=False)
        return EXIT_OK
    path = Path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SlogenError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="give -o a path in a directory you can write to, or leave -o out for stdout",
        ) from None
    click.echo(f"Wrote {out}", err=True)
    return EXIT_OK
