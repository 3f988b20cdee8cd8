"""``slogen backtest --plot``: a PNG that shows what the report says, and fails clearly.

The report comes from the real replay (:func:`slogen.backtest.run.outcome`) over a synthetic
history: constant traffic with a 20-minute outage, which every tier of the workbook policy
catches. Noise firings and misses are hard to provoke from a clean history, so the tests that
need them add them to that outcome by hand. matplotlib is in the ``test`` extra: these tests
fail, never skip, without it.
"""

from __future__ import annotations

import dataclasses
import re
import struct
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from slogen.backtest import plot
from slogen.backtest.history import History, Semantics, Series
from slogen.backtest.plot import build_figure, plot_report
from slogen.backtest.report import Curve, Firing, Miss, Outcome, Report
from slogen.backtest.run import outcome
from slogen.errors import SlogenError
from slogen.plot import INSTALL_HINT
from slogen.spec.loader import load_project
from tests.conftest import SPECS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DAY = 86400
START = 1_790_000_000 // DAY * DAY  # 2026-09-21T00:00:00Z
LOOKBACK = 3 * DAY  # the workbook policy's longest window
OUTAGE = START + DAY + 6 * 3600  # 20 minutes at 50% errors


@pytest.fixture(scope="module")
def checkout() -> Outcome:
    """checkout/availability (99.9%, workbook policy) replayed over two days of counts."""
    project = load_project([str(SPECS)])
    service, slo = next(
        (s, o) for s, o in project.slos() if (s.name, o.name) == ("checkout", "availability")
    )
    minutes = (LOOKBACK + 2 * DAY) // 60 + 1  # both ends
    first = START - LOOKBACK
    total = [1000.0] * minutes
    errors = [
        500.0 if OUTAGE <= first + 60 * k < OUTAGE + 1200 else float(k % 7 == 0)
        for k in range(minutes)
    ]
    history = History("datadog", Semantics("counts"), first, (Series((), errors, total),))
    return outcome(service, slo, history, START, START + 2 * DAY, None)


def decorated(o: Outcome) -> Outcome:
    """``o`` with its page-1h firing turned to noise and two misses, one still open."""
    tiers = list(o.tiers)
    tiers[0] = dataclasses.replace(
        tiers[0], firings=tuple(dataclasses.replace(f, noise=True) for f in tiers[0].firings)
    )
    misses = (
        Miss("page", "page-1h", START + 6 * 3600, START + 7 * 3600, 0.03, Fraction(1, 50)),
        Miss("ticket", "ticket-3d", START + 40 * 3600, None, 0.12, Fraction(1, 10)),
    )
    return dataclasses.replace(o, tiers=tuple(tiers), misses=misses)


def report_of(*outcomes: Outcome) -> Report:
    return Report(START, START + 2 * DAY, (), outcomes)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, "not a PNG file"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def collections(ax: Any, prefix: str) -> dict[str, int]:
    """``{tier: bands}`` of the band collections whose gid is ``prefix:tier``."""
    found: dict[str, int] = {}
    for c in ax.collections:
        gid = c.get_gid() or ""
        if gid.startswith(prefix + ":"):
            found[gid.split(":", 1)[1]] = len(c.get_paths())
    return found


def test_the_outage_fires_every_tier(checkout: Outcome) -> None:
    # the premise of the tests below: something to draw in every lane
    assert [len(t.firings) for t in checkout.tiers] == [1, 1, 1]
    assert checkout.curve is not None and len(checkout.curve.times) == 2 * 1440 + 1


def test_plot_report_writes_a_png_of_one_row_per_outcome(checkout: Outcome, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "backtest.png"
    written = plot_report(report_of(checkout, decorated(checkout)), str(path))
    assert written == path
    width, height = png_size(path)
    assert width == 1500
    assert 2 * 300 < height < 2 * 400 + 250
    assert path.stat().st_size > 40_000


def test_bands_and_threshold_lines_match_the_report(checkout: Outcome) -> None:
    shown = decorated(checkout)
    fig = build_figure(report_of(checkout, shown))
    try:
        plain, marked = fig.axes
        for ax, o in ((plain, checkout), (marked, shown)):
            firing, noise = collections(ax, "firing"), collections(ax, "noise")
            for tier in o.tiers:
                name = tier.math.id
                assert firing.get(name, 0) == sum(1 for f in tier.firings if not f.noise)
                assert noise.get(name, 0) == sum(1 for f in tier.firings if f.noise)
            lines = {
                line.get_gid().split(":", 1)[1]: line.get_ydata()[0]
                for line in ax.get_lines()
                if (line.get_gid() or "").startswith("threshold:")
            }
            assert lines == {t.math.id: t.threshold for t in o.tiers}
        assert collections(plain, "firing") == {"page-1h": 1, "page-6h": 1, "ticket-3d": 1}
        assert "misses" not in [c.get_gid() for c in plain.collections]
        [misses] = [c for c in marked.collections if c.get_gid() == "misses"]
        assert len(misses.get_paths()) == 2
        [marks] = [line for line in marked.get_lines() if line.get_gid() == "miss-marks"]
        assert len(marks.get_xdata()) == 2
        [crosses] = [line for line in marked.get_lines() if line.get_gid() == "noise-marks:page-1h"]
        assert len(crosses.get_xdata()) == 1
    finally:
        close(fig)


def test_row_title_axes_and_log_floor(checkout: Outcome) -> None:
    fig = build_figure(report_of(checkout))
    try:
        [ax] = fig.axes
        title = ax.get_title(loc="left")
        assert re.fullmatch(
            r"checkout/availability — datadog, workbook — attainment 99\.\d+%, "
            r"budget spent \d+(\.\d+)?%",
            title,
        ), title
        assert ax.get_yscale() == "log"
        assert ax.get_xlabel() == "time (UTC)"
        # the lowest threshold is 0.1%: zeros are drawn two decades below it, and said so
        assert ax.get_ylabel().endswith("(0 and < 0.001% drawn at 0.001%)")
        [mean] = [line for line in ax.get_lines() if line.get_gid() == "mean"]
        assert min(mean.get_ydata()) >= 1e-5
        assert max(mean.get_ydata()) > 0.1  # the outage, averaged over the hour
        left, right = ax.get_xlim()
        assert (right - left) == pytest.approx(2.0, abs=0.01)  # days, not shared with others
    finally:
        close(fig)


def test_legend_and_labels_cover_no_data_and_stay_in_the_figure(checkout: Outcome) -> None:
    fig = build_figure(report_of(decorated(checkout), checkout))
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        page = fig.bbox
        legend = fig.legends[0].get_window_extent(renderer)
        for ax in fig.axes:
            assert ax.get_legend() is None
            assert legend.y0 > ax.get_window_extent(renderer).y1
            assert legend.y0 > ax.title.get_window_extent(renderer).y1
        texts = [t for ax in fig.axes for t in (*ax.texts, ax.xaxis.label, ax.yaxis.label)]
        texts += [*fig.texts, fig.legends[0].get_frame()]
        for text in texts:
            box = text.get_window_extent(renderer)
            assert page.x0 <= box.x0 and box.x1 <= page.x1, text
            assert page.y0 <= box.y0 and box.y1 <= page.y1, text
    finally:
        close(fig)


def month(o: Outcome, labels: int = 3) -> Outcome:
    """``o`` stretched to 30 days of minutes (43,200 steps), with a flapping firing per hour."""
    start, steps = START, 30 * 1440
    times = tuple(start + 60 * k for k in range(steps))
    ratios = tuple(None if k % 1000 == 0 else (k % 13) / 10_000 for k in range(steps))
    flaps = tuple(
        Firing(
            start + h * 3600,
            start + h * 3600 + 300,
            (("pod", str(h % labels)),),
            0.001,
            0.001,
            60,
            h % 4 == 0,
        )
        for h in range(0, 30 * 24, 2)
    )
    tiers = (dataclasses.replace(o.tiers[0], firings=flaps), *o.tiers[1:])
    return dataclasses.replace(
        o, start=start, end=start + 30 * DAY, tiers=tiers, curve=Curve(times, ratios)
    )


def test_a_month_of_minutes_renders_in_seconds(checkout: Outcome, tmp_path: Path) -> None:
    long = month(checkout)
    report = Report(START, START + 30 * DAY, (), (long,))
    began = time.monotonic()
    path = plot_report(report, tmp_path / "month.png")
    elapsed = time.monotonic() - began
    assert png_size(path)[0] == 1500
    assert elapsed < 15, f"{elapsed:.1f} s"  # about 1 s on an idle laptop
    fig = build_figure(report)
    try:
        [ax] = fig.axes
        for line in ax.get_lines():
            assert len(line.get_xdata()) <= plot.MAX_POINTS
        assert collections(ax, "firing")["page-1h"] + collections(ax, "noise")["page-1h"] == 360
    finally:
        close(fig)


def test_rows_are_capped_with_a_note(checkout: Outcome) -> None:
    light = dataclasses.replace(checkout, curve=None)
    fig = build_figure(report_of(*[light] * (plot.MAX_ROWS + 3)))
    try:
        assert len(fig.axes) == plot.MAX_ROWS
        notes = " ".join(t.get_text() for t in fig.texts)
        assert f"3 more outcomes not drawn (the first {plot.MAX_ROWS} are)" in notes
        assert "no error ratio in this report" in [t.get_text() for t in fig.axes[0].texts]
    finally:
        close(fig)


def test_no_events_and_no_outcomes_still_draw(checkout: Outcome, tmp_path: Path) -> None:
    assert checkout.curve is not None
    silent = dataclasses.replace(
        checkout,
        attainment=None,
        budget_spent=None,
        curve=Curve(checkout.curve.times, (None,) * len(checkout.curve.times)),
    )
    png_size(plot_report(report_of(silent), tmp_path / "silent.png"))
    empty = Report(START, START + DAY, (), (), (("checkout", "latency", "datadog", "no series"),))
    png_size(plot_report(empty, tmp_path / "empty.png"))
    fig = build_figure(report_of(silent))
    try:
        assert fig.axes[0].get_title(loc="left").endswith("— no events in the span")
    finally:
        close(fig)


def test_unwritable_path_is_a_clear_error(checkout: Outcome, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a directory", encoding="utf-8")
    with pytest.raises(SlogenError, match="cannot write the plot to"):
        plot_report(report_of(checkout), tmp_path / "taken" / "x.png")


def test_without_matplotlib_plot_is_a_clear_error(
    checkout: Outcome, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(SlogenError, match="needs matplotlib, which is not installed") as caught:
        plot_report(report_of(checkout), tmp_path / "x.png")
    assert caught.value.hint == INSTALL_HINT
    assert "pip install 'slogen[plot]'" in caught.value.hint
    assert not (tmp_path / "x.png").exists()


def test_a_threshold_above_100_percent_is_labelled_not_drawn(checkout: Outcome) -> None:
    # a loose objective (90%) with a 14.4× tier: the alert can never fire
    tiers = (dataclasses.replace(checkout.tiers[0], threshold=1.44), *checkout.tiers[1:])
    fig = build_figure(report_of(dataclasses.replace(checkout, tiers=tiers)))
    try:
        [ax] = fig.axes
        gids = [line.get_gid() or "" for line in ax.get_lines()]
        drawn = [gid for gid in gids if gid.startswith("threshold:")]
        assert sorted(drawn) == ["threshold:page-6h", "threshold:ticket-3d"]
        assert "page-1h ×14.4 (144%, never fires)" in [t.get_text() for t in ax.texts]
    finally:
        close(fig)
