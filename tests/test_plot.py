"""``slogen explain --plot``: PNG files that people can read.

matplotlib is in the ``test`` extra, so these tests run (and fail, never skip, without it).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from slogen.explain import selected
from slogen.plot import build_figure
from slogen.spec.loader import load_project
from slogen.spec.traffic import parse_traffic
from tests.cli import run
from tests.conftest import SPECS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, "not a PNG file"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plot_of_every_example_slo(tmp_path: Path) -> None:
    path = tmp_path / "quality.png"
    result = run("explain", str(SPECS), "--plot", str(path))
    assert f"Wrote the plot to {path}" in result.stderr
    assert "Alert quality" in result.stdout  # the text report is still printed
    width, height = _png_size(path)
    assert path.stat().st_size > 50_000
    assert width > 1200 and height > 5 * 400  # one row of two panels per SLO


def test_plot_of_one_slo_with_traffic(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "billing.png"
    run(
        "explain",
        str(SPECS),
        "--slo",
        "billing-worker",
        "--traffic",
        "1000/7d",
        "--plot",
        str(path),
    )
    width, height = _png_size(path)
    assert path.stat().st_size > 20_000
    assert width > 1200 and 300 < height < 800


def test_figure_has_titles_axis_labels_with_units_and_legends() -> None:
    project = load_project([str(SPECS)])
    slos = selected(project, "checkout/availability")
    fig = build_figure(slos, parse_traffic("3000000/30d"))
    try:
        left, right = fig.axes[:2]
        assert left.get_title().startswith("checkout/availability: 99.9% over 30d")
        assert "Time to detect" in left.get_title()
        assert "Error budget spent" in right.get_title()
        assert left.get_xscale() == "log" and left.get_yscale() == "log"
        assert left.get_xlabel().startswith("error ratio (%")
        assert left.get_ylabel() == "detection time (log scale)"
        assert [t.get_text() for t in left.get_yticklabels()][:2] == ["1m", "10m"]
        assert right.get_ylabel() == "budget spent before firing (% of error budget)"
        legend = [t.get_text() for t in left.get_legend().get_texts()]
        assert legend[0] == ("page-1h: 2% of budget in 1h (burn rate 14.4, threshold 1.44%)")
        assert "page-1h, Prometheus rules (5m rates)" in legend
        every = [a for ax in fig.axes for a in (ax, *ax.child_axes)]  # secondary axes too
        labels = {ax.get_xlabel() for ax in every} | {ax.get_ylabel() for ax in every}
        assert "failed events (at 3000000/30d)" in labels
        assert any(label.startswith("burn rate") for label in labels)
        # thresholds are marked: one dotted vertical line per tier on each panel
        dotted = [line for line in left.get_lines() if line.get_linestyle() == ":"]
        assert sorted(round(line.get_xdata()[0], 6) for line in dotted) == [0.001, 0.006, 0.0144]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_without_matplotlib_plot_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    result = run("explain", str(SPECS), "--plot", str(tmp_path / "x.png"), exit_code=1)
    assert "Error: --plot needs matplotlib, which is not installed" in result.stderr
    assert "pip install 'slogen[plot]'" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_unwritable_plot_path_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a directory", encoding="utf-8")
    where = str(tmp_path / "taken" / "x.png")
    result = run("explain", str(SPECS), "--slo", "billing-worker", "--plot", where, exit_code=1)
    assert "Error: cannot write the plot to" in result.stderr
