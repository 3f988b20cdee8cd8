"""``slogen backtest`` and ``slogen status``: the commands that read SLIs' history."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import click

from slogen.backends import registry
from slogen.cli.common import config_option, handle_errors, load, paths_argument, slo_option

backend_option = click.option(
    "--backend",
    "backends",
    multiple=True,
    metavar="BACKEND",
    help=f"Read history only from these ({registry.listing()}); repeatable "
    "[default: every one that is set up].",
)
prometheus_option = click.option(
    "--prometheus",
    "prometheus_url",
    metavar="URL",
    help="Prometheus-compatible query API to read from [default: targets.prometheus.query_url].",
)
url_option = click.option(
    "--url",
    "urls",
    multiple=True,
    metavar="BACKEND=URL",
    help="Read BACKEND's history from this endpoint instead of its settings' (e.g. "
    "datadog=https://api.datadoghq.eu, cloudwatch=http://127.0.0.1:5000); repeatable.",
)


def endpoints(prometheus_url: str | None, urls: tuple[str, ...]) -> dict[str, str | None]:
    """``--url BACKEND=URL`` and ``--prometheus URL`` as ``{backend: url}``."""
    from slogen.errors import SlogenError, did_you_mean

    out: dict[str, str | None] = {}
    for item in urls:
        name, sep, url = item.partition("=")
        if not sep or not url.strip():
            raise SlogenError(
                f"--url {item!r} is not BACKEND=URL",
                hint="e.g. --url datadog=https://api.datadoghq.eu",
            )
        if name not in registry.NAMES:
            raise SlogenError(
                f"--url names no backend '{name}'",
                hint=did_you_mean(name, registry.NAMES, "backends"),
            )
        out[name] = url.strip()
    if prometheus_url:
        out["prometheus"] = prometheus_url
    return out


def progress_printer(enabled: bool) -> Callable[[str, int, int], None] | None:
    """A one-line request counter on stderr, only on a terminal (CI logs stay clean)."""
    if not enabled or not sys.stderr.isatty():
        return None
    last = [0.0]

    def show(backend: str, done: int, planned: int) -> None:
        now = time.monotonic()
        if done < planned and now - last[0] < 0.2:
            return
        last[0] = now
        end = "\n" if done >= planned else ""
        click.echo(f"\rreading {backend}: {done}/{planned} requests", err=True, nl=False)
        if end:
            click.echo("", err=True)

    return show


@click.command()
@paths_argument
@config_option
@slo_option
@click.option(
    "--from",
    "since",
    default="-30d",
    show_default=True,
    metavar="TIME",
    help="Start: RFC 3339 (2026-11-01T00:00:00Z), 'now' or an offset such as -30d.",
)
@click.option("--to", "until", default="now", show_default=True, metavar="TIME", help="End.")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="NAME",
    help="Replay under this policy (slogen.yaml's or built in); repeat to compare policies "
    "[default: each SLO's own].",
)
@backend_option
@prometheus_option
@url_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False),
    help="Also draw the error ratio, thresholds and firings to this PNG file.",
)
@handle_errors
def backtest(
    paths: tuple[str, ...],
    config: str | None,
    only: str | None,
    since: str,
    until: str,
    policies: tuple[str, ...],
    backends: tuple[str, ...],
    prometheus_url: str | None,
    urls: tuple[str, ...],
    fmt: str,
    plot_file: str | None,
) -> int:
    """Replay the alerts on the SLIs' real history: when each tier would have fired, what it
    missed and what was noise, per SLO (and per policy, to compare them)."""
    from slogen.backtest import jsonout, text
    from slogen.backtest.run import backtest as run
    from slogen.backtest.sources import narrowed, readers
    from slogen.backtest.timespec import parse_time

    now = time.time()
    start = parse_time(since, "--from", now)
    end = parse_time(until, "--to", now)
    project = narrowed(load(paths, config), only)
    chosen, notes = readers(project, backends, endpoints(prometheus_url, urls))
    for note in notes:
        click.echo(f"note: {note}", err=True)
    report = run(project, chosen, start, end, policies, progress_printer(True))
    if plot_file:
        from slogen.backtest.plot import plot_report

        written = plot_report(report, plot_file)
        click.echo(f"Wrote the plot to {written}", err=True)
    click.echo(jsonout.render(report) if fmt == "json" else text.render(report), nl=False)
    return 0


@click.command()
@paths_argument
@config_option
@slo_option
@backend_option
@prometheus_option
@url_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="markdown: a compact table for a pull-request comment.",
)
@handle_errors
def status(
    paths: tuple[str, ...],
    config: str | None,
    only: str | None,
    backends: tuple[str, ...],
    prometheus_url: str | None,
    urls: tuple[str, ...],
    fmt: str,
) -> int:
    """Where each SLO stands now: attainment and error budget left over its window, and per
    tier the burn rates the alert sees and whether it fires. Informational: exit code 0
    whatever the SLOs' state, 1 only when the status cannot be read."""
    from slogen.backtest.sources import narrowed, readers
    from slogen.backtest.status import status as read_status
    from slogen.backtest.status_render import RENDERERS

    project = narrowed(load(paths, config), only)
    chosen, notes = readers(project, backends, endpoints(prometheus_url, urls))
    found = read_status(project, chosen, time.time(), notes, progress_printer(True))
    click.echo(RENDERERS[fmt](found), nl=False)
    return 0
