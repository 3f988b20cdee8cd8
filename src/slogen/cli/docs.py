"""``slogen docs``: write one Markdown SLO document per service.

Registered on the ``slogen`` group by :mod:`slogen.cli.main`; kept here so that the command's
options and output stay next to each other and out of the main module.
"""

from __future__ import annotations

from pathlib import Path

import click

from slogen.cli.common import (
    EXIT_OK,
    config_option,
    handle_errors,
    load,
    paths_argument,
    templates_option,
)
from slogen.plural import plural


@click.command("docs")
@paths_argument
@config_option
@templates_option
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(file_okay=False),
    default="out/docs",
    show_default=True,
    help="Directory to write the documents into (<service>.md each).",
)
@click.option("--slo", "only", metavar="SERVICE", help="Only this service's document.")
@handle_errors
def docs(
    paths: tuple[str, ...],
    config: str | None,
    templates: str | None,
    output: str,
    only: str | None,
) -> int:
    """Write each service's SLO document in Markdown, shaped after the SRE Workbook's example
    SLO document and error budget policy: the SLIs and their queries per backend, the
    objectives, the error budget, the alerting policy with explain's numbers, the error budget
    policy from the spec's `document:` block, and the clarifications."""
    from slogen.docs import documents, write_documents
    from slogen.spec import document

    project = load(paths, config, templates)
    files = documents(project, templates, document.today(), only)
    written = write_documents(files, Path(output))
    click.echo(f"docs: wrote {plural(len(written), 'document')} to {output}")
    return EXIT_OK
