"""Plain-text tables for terminal output (``slogen explain``, ``slogen test``, plans).

Lives outside :mod:`slogen.cli` so that the renderers, which the CLI calls, do not import the CLI.
"""

from __future__ import annotations


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """Columns padded to their widest cell; columns in ``right`` are right-aligned."""
    right = right or set()
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        parts = []
        for index, cell in enumerate(cells):
            text = str(cell)
            parts.append(text.rjust(widths[index]) if index in right else text.ljust(widths[index]))
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in rows)
    return "\n".join(out)
