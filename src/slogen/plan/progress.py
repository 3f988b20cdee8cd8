"""Progress for long applies: one line per step on stderr, or a single updating line on a TTY."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, quiet: bool = False):
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        if self.quiet:
            return
        text = f"[{self.done}/{self.total}] {label}"
        if self.tty:
            self.stream.write("\r\033[K" + text)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and not self.quiet and 0 < self.done < self.total:
            self.stream.write("\n")
            self.stream.flush()
