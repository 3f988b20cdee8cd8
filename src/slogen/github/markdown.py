"""Markdown that GitHub shows: cut to a size limit without breaking the rest of the page.

Comments and job summaries have hard size limits; a cut in the middle of a code fence or a
``<details>`` element would swallow everything after it, so the cut closes what is open.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what JavaScript counts); never less than len(text)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_DETAILS_OPEN = re.compile(r"<details(?:\s[^>]*)?>", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class _BlockState:
    fence: str = ""  # the open code fence ("```", "~~~~"...), or "" outside code
    details: int = 0  # <details> elements open

    def after(self, line: str) -> _BlockState:
        body = line.rstrip("\r\n")
        match = _FENCE.match(body)
        if self.fence:
            if (
                match
                and match.group(1)[0] == self.fence[0]
                and len(match.group(1)) >= len(self.fence)
                and not match.group(2).strip()
            ):
                return _BlockState("", self.details)
            return self
        if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
            return _BlockState(match.group(1), self.details)
        opened = len(_DETAILS_OPEN.findall(body))
        closed = len(_DETAILS_CLOSE.findall(body))
        return _BlockState("", max(0, self.details + opened - closed))

    def closing(self) -> str:
        text = f"{self.fence}\n" if self.fence else ""
        if self.details:
            text += "\n" + "</details>\n" * self.details
        return text


def fit_markdown(
    text: str, limit: int, note: str, measure: Callable[[str], int] = utf16_len
) -> tuple[str, bool]:
    """Cut ``text`` at a line boundary so that it, plus what closes it, fits in ``limit``.

    Open code fences and ``<details>`` elements at the cut are closed so the rest of the page
    still renders, and ``note`` says that (and where the full text is). The first line (the
    hidden marker of a comment) is always kept. Returns the text and whether it was cut.
    """
    if measure(text) <= limit:
        return text, False
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    tail = f"\n{note}\n"
    state = _BlockState()
    kept = 0
    size = 0
    best = (0, _BlockState())
    for index, line in enumerate(lines):
        size += measure(line)
        state = state.after(line)
        if size + measure(state.closing()) + measure(tail) > limit:
            break
        kept = index + 1
        best = (kept, state)
    kept, state = best
    if kept == 0 and lines:  # not even the first line fits with the note: keep it regardless
        kept, state = 1, _BlockState().after(lines[0])
    out = "".join(lines[:kept]) + state.closing() + tail
    return out, True


def fence(text: str, info: str = "") -> str:
    """A fenced code block that ``text`` cannot close early."""
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}"
