"""``slogen explain --plot FILE.png``: the alert-quality curves, one row per SLO.

Left: detection time against error ratio for each tier (log-log), the Workbook's ideal as a
solid line and, for SLOs with a Prometheus indicator, the generated rules' prediction (windows
built from base-range rates) dashed; each tier's threshold is a dotted vertical line, left of
which it never fires. Right: the share of the error budget spent before each tier fires (and,
with expected traffic, the failed events that is). The top axis gives the burn rate.

matplotlib is an optional dependency (``pip install 'slogen[plot]'``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from slogen.backends.contract import uses
from slogen.backends.prometheus import base_window
from slogen.durations import format_duration
from slogen.engine import analyse_slo
from slogen.errors import SlogenError
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_percent
from slogen.spec.model import SLO, Service
from slogen.spec.traffic import ExpectedTraffic

INSTALL_HINT = "install the plot extra: pip install 'slogen[plot]' (or pip install matplotlib)"
POINTS = 120
TIME_TICKS = [
    (1, "1s"),
    (10, "10s"),
    (60, "1m"),
    (600, "10m"),
    (3600, "1h"),
    (6 * 3600, "6h"),
    (86400, "1d"),
    (3 * 86400, "3d"),
    (7 * 86400, "1w"),
    (30 * 86400, "30d"),
]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SlogenError(
            "--plot needs matplotlib, which is not installed", hint=INSTALL_HINT
        ) from exc
    return plt


def _ratios(low: float) -> list[float]:
    """Error ratios from just above ``low`` to 1, evenly on a log scale."""
    start = math.log10(low)
    return [10 ** (start + (0 - start) * i / (POINTS - 1)) for i in range(POINTS)]


def _percent(value: float, _pos: object = None) -> str:
    return fmt_percent(value) if value > 0 else "0"


def plot_slos(
    slos: Sequence[tuple[Service, SLO]],
    path: str | Path,
    traffic: ExpectedTraffic | None = None,
) -> Path:
    """Draw the curves of ``slos`` into one PNG (or any format matplotlib infers from the name)."""
    plt = _pyplot()
    fig = build_figure(slos, traffic)
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=100, bbox_inches="tight")
    except (OSError, ValueError) as exc:
        raise SlogenError(f"cannot write the plot to {out}: {exc}") from exc
    finally:
        plt.close(fig)
    return out


def build_figure(slos: Sequence[tuple[Service, SLO]], traffic: ExpectedTraffic | None = None):
    """The matplotlib figure: one row per SLO, detection time left, budget spent right."""
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter

    if not slos:
        raise SlogenError("nothing to plot: no SLO selected")
    rows = len(slos)
    fig, axes = plt.subplots(rows, 2, figsize=(14, 4.6 * rows), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for row, (service, slo) in enumerate(slos):
        tiers = analyse_slo(slo)
        budget = float(1 - slo.target)
        resolution = base_window(slo) if uses("prometheus", slo) else None
        expected = traffic or slo.traffic
        lowest = min(float(m.threshold) for m in tiers)
        ratios = _ratios(lowest / 2)
        left, right = axes[row]
        for index, m in enumerate(tiers):
            colour = colours[index % len(colours)]
            t = float(m.threshold)
            xs = [e for e in ratios if e > t * (1 + 1e-9)]
            label = (
                f"{m.id}: {fmt_percent(m.budget)} of budget in {format_duration(m.long)} "
                f"(burn rate {fmt(m.burn_rate, HUMAN_DIGITS)}, threshold {fmt_percent(t)})"
            )
            left.plot(xs, [m.detection_time(e) for e in xs], color=colour, lw=2, label=label)
            right.plot(xs, [100 * m.budget_spent(e) for e in xs], color=colour, lw=2, label=m.id)
            if resolution is not None:
                left.plot(
                    xs,
                    [m.detection_time(e, resolution) for e in xs],
                    color=colour,
                    lw=1.2,
                    ls="--",
                    label=f"{m.id}, Prometheus rules ({format_duration(resolution)} rates)",
                )
                right.plot(
                    xs,
                    [100 * m.budget_spent(e, resolution) for e in xs],
                    color=colour,
                    lw=1.2,
                    ls="--",
                )
            for ax in (left, right):
                ax.axvline(t, color=colour, ls=":", lw=1.2)
        title = (
            f"{service.name}/{slo.name}: {fmt(slo.objective, 6)}% over "
            f"{format_duration(slo.window)}, policy {slo.policy.name}"
        )
        left.set_title(f"{title}\nTime to detect a constant error ratio", fontsize=10)
        left.set_xscale("log")
        left.set_yscale("log")
        left.set_xlabel("error ratio (% of events failing; dotted: tier threshold)")
        left.set_ylabel("detection time (log scale)")
        shortest = min(m.detection_time(1.0) for m in tiers)
        longest = max(m.long for m in tiers)
        ticks = [(s, text) for s, text in TIME_TICKS if shortest / 3 <= s <= 2 * longest]
        left.set_yticks([s for s, _ in ticks], [text for _, text in ticks])
        left.set_ylim(shortest / 2, 1.5 * longest)

        right.set_title(f"{title}\nError budget spent before the alert fires", fontsize=10)
        right.set_xscale("log")
        right.set_xlabel("error ratio (% of events failing; dotted: tier threshold)")
        right.set_ylabel("budget spent before firing (% of error budget)")
        right.set_ylim(bottom=0)
        right.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}%"))
        if expected is not None:
            budget_events = float(expected.events_in(slo.window)) * budget / 100

            def to_events(v, k=budget_events):
                return v * k

            def from_events(v, k=budget_events):
                return v / k

            events = right.secondary_yaxis("right", functions=(to_events, from_events))
            events.set_ylabel(f"failed events (at {expected})")
        for ax in (left, right):
            ax.set_xlim(lowest / 2, 1)
            ax.xaxis.set_major_formatter(FuncFormatter(_percent))
            ax.grid(True, which="major", alpha=0.3)

            def to_burn(e, b=budget):
                return e / b

            def from_burn(x, b=budget):
                return x * b

            top = ax.secondary_xaxis("top", functions=(to_burn, from_burn))
            top.set_xlabel("burn rate (× the rate that spends the budget in exactly the period)")
            top.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
            # minor ticks on log axes cost seconds to lay out and add nothing to read
            top.minorticks_off()
            ax.minorticks_off()
        left.legend(fontsize=7.5, loc="lower left")
        right.legend(
            fontsize=7.5,
            title_fontsize=7.5,
            loc="lower left",
            title="solid: Workbook ideal; dashed: Prometheus rules",
        )
    fig.suptitle(
        "slogen explain: alert quality (SRE Workbook ch. 5, multiwindow, multi-burn-rate)",
        fontsize=12,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return fig
