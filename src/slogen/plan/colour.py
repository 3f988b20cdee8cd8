"""Whether the terminal plan is coloured.

Colour helps a person scan a plan and corrupts everything else: a CI log that keeps escape
codes, a file, a pipe into ``less`` without ``-R``. So it is on only for a terminal, off
whenever ``NO_COLOR`` is set to anything non-empty (https://no-color.org), and ``--color`` /
``--no-color`` decide over both when given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Stream(Protocol):
    def isatty(self) -> bool: ...


def use_colour(stream: Stream, environ: Mapping[str, str], override: bool | None = None) -> bool:
    """``override`` (from ``--color``/``--no-color``) if given; else a terminal without
    ``NO_COLOR``. An empty ``NO_COLOR`` counts as unset, as no-color.org specifies."""
    if override is not None:
        return override
    if environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
