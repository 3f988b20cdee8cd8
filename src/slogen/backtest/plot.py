"""``slogen backtest --plot FILE.png``: what the alerts would have done, drawn over the SLI.

One row per outcome (SLO × backend × policy). The error ratio is on a log scale, because the
tiers' thresholds sit decades apart (14.4× and 1× the budget rate) and an outage is orders of
magnitude above the usual noise. Per-step ratios jump between 0 and 1/traffic every minute, so
they are drawn as a light band (the lowest and highest ratio of each pixel-wide bucket) under a
trailing mean over an hour, the same look-back shape as the alerts' windows.

The vertical axis is split in three so that no marking hides data: firings are drawn in one
lane per tier below the lowest plotted ratio (and lightly shaded across the row, to line them up
with the curve), misses in a red strip above 100%, and every label sits outside the axes.

matplotlib is an optional dependency (``pip install 'slogen[plot]'``), imported only when a
plot is drawn, through :mod:`slogen.plot`'s import, which turns its absence into a clear error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from slogen.backtest.report import Outcome, Report, TierOutcome
from slogen.backtest.text import percent
from slogen.backtest.timespec import rfc3339
from slogen.durations import format_duration
from slogen.errors import SlogenError
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_percent
from slogen.plot import _pyplot

MAX_ROWS = 12  # a taller PNG is not read any more; the text and JSON reports list them all
MAX_POINTS = 1200  # per row: about one per horizontal pixel of the axes
SMOOTH = 3600  # seconds of the trailing mean drawn over the per-step ratios
FLOOR_DECADES = 2  # ratios of 0 are drawn this many decades below the lowest threshold
MIN_BAND = 0.002  # of the row's width: a 20-minute firing in 30 days would be under a pixel
LANE = 0.055  # of the axes' height, per tier
MISS_STRIP = 0.07  # of the axes' height, above 100%
LABEL_GAP = 0.075  # of the axes' height, between two threshold labels
ROW_HEIGHT = 3.6  # inches
WIDTH = 15.0  # inches
TOP = 1.3  # inches above the first row's axes: the figure's title, the legend, the row's title
LEFT, RIGHT, BOTTOM = 0.9, 2.0, 0.9  # inches: axis labels; tier labels; the last axis and notes
GAP = 1.0  # inches between two rows' axes: tick labels, axis label, the next row's title
Days = Callable[[Any], Any]  # epoch seconds (numbers or arrays) to matplotlib dates
MISS_COLOUR = "#d7191c"
CURVE_COLOUR = "#222222"
# no red among the tiers': red means a miss
TIER_COLOURS = ["#6a3d9a", "#ff7f00", "#1f78b4", "#33a02c", "#b15928", "#e7298a", "#666666"]


def plot_report(report: Report, path: str | Path) -> Path:
    """Draw ``report`` into one PNG (or any format matplotlib infers from the name)."""
    plt = _pyplot()
    fig = build_figure(report)
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=100)
    except (OSError, ValueError) as exc:
        raise SlogenError(f"cannot write the plot to {out}: {exc}") from exc
    finally:
        plt.close(fig)
    return out


def build_figure(report: Report) -> Any:
    """The matplotlib figure: one row per outcome, the first :data:`MAX_ROWS` of them."""
    plt = _pyplot()
    shown = report.outcomes[:MAX_ROWS]
    days = (report.end - report.start) / 86400
    heading = (
        f"slogen backtest {rfc3339(report.start)} → {rfc3339(report.end)} ({fmt(days, 3)} days):"
        " the error ratio, each tier's threshold, when it fired and what it missed"
    )
    if not shown:
        fig = plt.figure(figsize=(10, 2.5))
        lines = ["No SLO was replayed: nothing to draw."]
        lines += [f"{s}/{o} ({b}): {why}" for s, o, b, why in report.unread[:MAX_ROWS]]
        fig.text(0.02, 0.9, "\n".join(lines), va="top", fontsize=10)
        fig.suptitle(heading, fontsize=11)
        return fig
    height = TOP + ROW_HEIGHT * len(shown) - GAP + BOTTOM
    fig, axes = plt.subplots(len(shown), 1, figsize=(WIDTH, height), squeeze=False)
    rows = [_draw_outcome(ax, o) for ax, o in zip(axes[:, 0], shown, strict=True)]
    fig.suptitle(heading, fontsize=12, y=1 - 0.15 / height, va="top")
    smooth = sorted({r.smooth for r in rows if r.smooth}) or [SMOOTH]
    spans = dict.fromkeys((smooth[0], smooth[-1]))  # a range when spans differ between rows
    _legend(fig, 1 - 0.6 / height, "–".join(format_duration(s) for s in spans))
    notes = []
    if any(r.widened for r in rows):
        notes.append(
            f"Firings and misses shorter than {fmt(MIN_BAND * 100, 2)}% of a row's span are "
            "drawn that wide so that they show; their start is exact."
        )
    left_out = len(report.outcomes) - len(shown)
    if left_out:
        notes.append(
            f"{left_out} more outcome{'s' if left_out > 1 else ''} not drawn (the first "
            f"{MAX_ROWS} are); the text and JSON reports have every one."
        )
    if notes:
        fig.text(LEFT / WIDTH, 0.15 / height, "  ".join(notes), fontsize=9, style="italic")
    # fixed margins, in inches: tight_layout measures every tick label, which costs seconds
    fig.subplots_adjust(
        left=LEFT / WIDTH,
        right=1 - RIGHT / WIDTH,
        top=1 - TOP / height,
        bottom=BOTTOM / height,
        hspace=GAP / (ROW_HEIGHT - GAP),
    )
    return fig


class Row(NamedTuple):
    widened: bool  # some firing or miss was drawn wider than it lasted
    smooth: int  # seconds of the trailing mean (0: no curve)


def _legend(fig: Any, y: float, smooth: str) -> None:
    """One key for every row, above them all: a legend inside a row would cover its data."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    grey = "#666666"
    handles = [
        Patch(color="#999999", alpha=0.3, label="per-step error ratio (low to high per bucket)"),
        Line2D([], [], color=CURVE_COLOUR, lw=1.2, label=f"error ratio over the last {smooth}"),
        Line2D([], [], color=grey, lw=1.3, label="threshold of a page tier"),
        Line2D([], [], color=grey, lw=1.0, ls="--", label="threshold of a ticket tier"),
        Patch(color=grey, alpha=0.95, label="page tier firing (its lane, its colour)"),
        Patch(color=grey, alpha=0.6, label="ticket tier firing"),
        Patch(facecolor="white", edgecolor="#333333", hatch="////", label="noise firing (×)"),
        Patch(color=MISS_COLOUR, alpha=0.85, label="miss (▽): budget burnt, nothing fired"),
    ]
    fig.legend(handles=handles, loc="center", bbox_to_anchor=(0.5, y), ncol=4, fontsize=9)


def _draw_outcome(ax: Any, o: Outcome) -> Row:
    """One row: the axes from the bottom are the tiers' lanes, the ratios from the floor to
    100%, and the misses' strip."""
    import matplotlib.dates as mdates

    origin = mdates.date2num(datetime(1970, 1, 1, tzinfo=UTC))

    def day(t: float) -> float:
        return origin + t / 86400

    until = max(o.end, o.start + 60)
    x0, x1 = day(o.start), day(until)
    tiers = sorted(o.tiers, key=lambda t: -t.threshold)
    lowest = min((t.threshold for t in tiers if t.threshold > 0), default=1e-3)
    floor = 10 ** math.floor(math.log10(lowest) - FLOOR_DECADES + 1e-9)
    bottom = LANE * len(tiers) + 0.02
    # axes fraction = (log10(ratio) - lo) / span, with the floor at ``bottom`` and 100% just
    # under the miss strip
    span = -math.log10(floor) / (1 - bottom - MISS_STRIP - 0.02)
    lo = math.log10(floor) - bottom * span
    ax.set_yscale("log")
    ax.set_ylim(10**lo, 10 ** (lo + span))
    ax.set_xlim(x0, x1)

    def frac(ratio: float) -> float:
        return (math.log10(ratio) - lo) / span

    smooth = 0
    if o.curve is not None and o.curve.times:
        smooth = _draw_curve(ax, o, floor, day)
    else:
        ax.text(0.5, 0.5, "no error ratio in this report", ha="center", transform=ax.transAxes)

    minimum = (until - o.start) * MIN_BAND
    widened = False
    strongest = _strongest(o.severities)
    placed: list[float] = []
    for index, tier in enumerate(tiers):
        colour = TIER_COLOURS[index % len(TIER_COLOURS)]
        strong = tier.math.severity == strongest
        lane = (bottom - 0.02 - LANE * (index + 1), bottom - 0.02 - LANE * index)
        widened |= _draw_firings(ax, tier, lane, frac(floor), colour, strong, minimum, until, day)
        if tier.threshold < 1:
            ax.axhline(
                tier.threshold,
                color=colour,
                lw=1.3 if strong else 1.0,
                ls="-" if strong else "--",
                gid=f"threshold:{tier.math.id}",
            )
        _side_label(ax, sum(lane) / 2, tier.math.id, colour, 7.5)
        y = frac(min(tier.threshold, 1.0))
        if placed and placed[-1] - y < LABEL_GAP:
            y = placed[-1] - LABEL_GAP  # sorted by threshold, highest first: push down
        placed.append(y)
        never = ", never fires" if tier.threshold >= 1 else ""
        text = f"{tier.math.id} ×{fmt(tier.math.burn_rate, HUMAN_DIGITS)}"
        text += f" ({fmt_percent(tier.threshold)}{never})"
        _side_label(ax, y, text, colour, 8, weight="bold" if strong else "normal")
    widened |= _draw_misses(ax, o, minimum, until, day)

    ticks = [10.0**k for k in range(round(math.log10(floor)), 1)]
    ax.set_yticks(ticks, [_percent(t) for t in ticks])
    ax.minorticks_off()
    ax.grid(True, axis="y", alpha=0.25)
    ax.grid(True, axis="x", alpha=0.15)
    low = _percent(floor)
    ax.set_ylabel(f"error ratio, log scale\n(0 and < {low} drawn at {low})", fontsize=8.5)
    locator = mdates.AutoDateLocator(tz=UTC, minticks=5, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    ax.set_xlabel("time (UTC)", fontsize=8.5)
    ax.tick_params(labelsize=8)
    ax.set_title(_title(o), fontsize=10.5, loc="left")
    return Row(widened, smooth)


def _strongest(severities: Sequence[str]) -> str:
    """The severity drawn strongest: ``page``, or else the policy's first of several (policies
    list the urgent one first); with a single other severity, none."""
    if "page" in severities:
        return "page"
    return severities[0] if len(severities) > 1 else ""


def _title(o: Outcome) -> str:
    if o.attainment is None:
        figures = "no events in the span"
    else:
        figures = (
            f"attainment {fmt(o.attainment * 100, 6)}%, budget spent {percent(o.budget_spent)}"
        )
    return f"{o.service}/{o.slo} — {o.backend}, {o.policy} — {figures}"


def _percent(value: float) -> str:
    return fmt_percent(value) if value > 0 else "0"


def _draw_curve(ax: Any, o: Outcome, floor: float, day: Days) -> int:
    """The per-step ratios as a min–max band per bucket, and the trailing ratio as a line.

    The line divides the failed events by the total over the trailing window, as the alerts
    do (a curve built by hand without counts falls back to the mean of the ratios). numpy
    (which matplotlib requires) keeps a 43,200-step month to milliseconds.
    """
    import numpy as np

    assert o.curve is not None
    times = np.asarray(o.curve.times, dtype=float)
    ratios = np.array([np.nan if r is None else r for r in o.curve.ratios], dtype=float)
    n = len(times)
    step = float(times[1] - times[0]) if n > 1 else 60.0
    size = max(1, math.ceil(n / MAX_POINTS))
    buckets = math.ceil(n / size)
    padded = np.full(buckets * size, np.nan)
    padded[:n] = ratios
    grid = padded.reshape(buckets, size)
    valid = ~np.isnan(grid)
    seen = valid.any(axis=1)
    high = np.where(valid, grid, -np.inf).max(axis=1)
    low = np.where(valid, grid, np.inf).min(axis=1)
    high = np.where(seen, np.clip(high, floor, 1.0), np.nan)
    low = np.where(seen, np.clip(low, floor, 1.0), np.nan)
    mids = day(times[np.minimum(np.arange(buckets) * size + size // 2, n - 1)])
    ax.fill_between(mids, low, high, color="#999999", alpha=0.3, lw=0, gid="ratios")
    # the top edge as a line too: a spike one bucket wide is thinner than a pixel as a fill
    ax.plot(mids, high, color="#999999", lw=0.5, alpha=0.6, gid="ratio-peaks")

    # trailing mean over ``width`` steps, from running sums: the values missing (no traffic)
    # count for nothing, and a window without any value has none
    width = max(round(SMOOTH / step), size)
    ends = np.arange(1, n + 1)
    starts = np.maximum(ends - width, 0)
    if len(o.curve.totals) == n:
        failed = np.concatenate(([0.0], np.cumsum(np.asarray(o.curve.errors, dtype=float))))
        seen = np.concatenate(([0.0], np.cumsum(np.asarray(o.curve.totals, dtype=float))))
        have = seen[ends] - seen[starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(have > 0, (failed[ends] - failed[starts]) / have, np.nan)
    else:
        sums = np.concatenate(([0.0], np.cumsum(np.nan_to_num(ratios))))
        counts = np.concatenate(([0], np.cumsum(~np.isnan(ratios))))
        have = counts[ends] - counts[starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(have > 0, (sums[ends] - sums[starts]) / have, np.nan)
    picks = np.arange(min(size - 1, n - 1), n, size)
    ax.plot(
        day(times[picks]),
        np.clip(mean[picks], floor, 1.0),
        color=CURVE_COLOUR,
        lw=1.0,
        gid="mean",
    )
    return int(width * step)


def _bands(
    spans: Sequence[tuple[int, int | None]], minimum: float, until: int, day: Days
) -> tuple[list[tuple[float, float]], bool]:
    """``(x0, x1)`` in matplotlib dates, each at least ``minimum`` seconds wide."""
    out, widened = [], False
    for start, end in spans:
        stop = until if end is None else end
        if stop - start < minimum:
            stop, widened = start + minimum, True
        out.append((day(start), day(stop)))
    return out, widened


def _rects(bands: Sequence[tuple[float, float]], y0: float, y1: float) -> list[list[tuple]]:
    return [[(a, y0), (b, y0), (b, y1), (a, y1)] for a, b in bands]


def _collection(ax: Any, verts: list, gid: str, **style: Any) -> None:
    """One artist for all of a tier's bands: hundreds of flapping firings stay fast."""
    from matplotlib.collections import PolyCollection
    from matplotlib.transforms import blended_transform_factory

    if not verts:
        return
    shapes = PolyCollection(
        verts, transform=blended_transform_factory(ax.transData, ax.transAxes), **style
    )
    shapes.set_gid(gid)
    ax.add_collection(shapes, autolim=False)


def _draw_firings(
    ax: Any,
    tier: TierOutcome,
    lane: tuple[float, float],
    floor_y: float,
    colour: str,
    strong: bool,
    minimum: float,
    until: int,
    day: Days,
) -> bool:
    """The tier's firings: solid in its lane (noise: hatched and marked ×), and a faint shade
    across the data, never hatched: a flapping tier would cross-hatch the whole row."""
    name = tier.math.id
    widened = False
    for noise in (False, True):
        spans = [(f.start, f.end) for f in tier.firings if bool(f.noise) == noise]
        bands, wide = _bands(spans, minimum, until, day)
        widened |= wide
        hatch = "////" if noise else None
        kind = "noise" if noise else "firing"
        _collection(
            ax,
            _rects(bands, lane[0] + 0.005, lane[1] - 0.005),
            f"{kind}:{name}",
            facecolor=colour,
            alpha=(0.95 if strong else 0.6) * (0.6 if noise else 1),
            edgecolor="#333333" if noise else "none",
            linewidth=0.4 if noise else 0,
            hatch=hatch,
        )
        _collection(
            ax,
            _rects(bands, floor_y, 1 - MISS_STRIP),
            f"shade:{name}",
            facecolor=colour,
            alpha=0.12 if strong else 0.06,
            edgecolor="none",
        )
        if noise and bands:
            ax.plot(
                [(a + b) / 2 for a, b in bands],
                [sum(lane) / 2] * len(bands),
                "x",
                color="black",
                markersize=5,
                transform=ax.get_xaxis_transform(),
                gid=f"noise-marks:{name}",
            )
    return widened


def _draw_misses(ax: Any, o: Outcome, minimum: float, until: int, day: Days) -> bool:
    """Misses: red bands in the strip above 100% and a marker at each one's start."""
    bands, widened = _bands([(m.start, m.end) for m in o.misses], minimum, until, day)
    top = (1 - MISS_STRIP + 0.008, 1.0)
    _collection(ax, _rects(bands, *top), "misses", facecolor=MISS_COLOUR, alpha=0.85, lw=0)
    _collection(ax, _rects(bands, 0, top[0]), "miss-shade", facecolor=MISS_COLOUR, alpha=0.06, lw=0)
    if bands:
        ax.plot(
            [a for a, _ in bands],
            [sum(top) / 2] * len(bands),
            "v",
            markerfacecolor="white",
            markersize=7,
            markeredgecolor="black",
            markeredgewidth=0.8,
            transform=ax.get_xaxis_transform(),
            gid="miss-marks",
        )
    _side_label(ax, sum(top) / 2, f"misses ({len(o.misses)})", MISS_COLOUR, 7.5)
    return widened


def _side_label(ax: Any, y: float, text: str, colour: str, size: float, **style: Any) -> None:
    """A label right of the axes, at ``y`` in axes fraction: inside, it would cover data."""
    ax.text(
        1.005, y, text, transform=ax.transAxes, va="center", fontsize=size, color=colour, **style
    )
