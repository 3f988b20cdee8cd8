"""The step's environment files: ``$GITHUB_OUTPUT`` and ``$GITHUB_STEP_SUMMARY``.

* ``$GITHUB_OUTPUT`` takes ``name=value`` lines; a multi-line value is written as
  ``name<<DELIMITER``, the value, then ``DELIMITER`` on a line of its own, and the delimiter must
  not occur in the value ("Multiline strings" in docs.github.com, "Workflow commands for GitHub
  Actions"). The toolkit uses a random ``ghadelimiter_<uuid>`` and refuses a value that
  contains it (actions/toolkit packages/core/src/file-command.ts, ``prepareKeyValueMessage``).
* A step's job summary (``$GITHUB_STEP_SUMMARY``) may be at most 1 MiB; above that its upload
  fails with an error annotation ("Step isolation and limits" in the same page; the runner says
  "supports content up to a size of 1024k").

Both are no-ops outside GitHub Actions (the variables are unset), so the CLI can call them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from slogen.errors import SlogenError
from slogen.github.markdown import fit_markdown, utf8_len

STEP_SUMMARY_LIMIT = 1024 * 1024  # bytes per step summary
STEP_SUMMARY_BUDGET = STEP_SUMMARY_LIMIT - 16 * 1024


def format_output(name: str, value: str) -> str:
    """One ``$GITHUB_OUTPUT`` entry, with a fresh random delimiter for multi-line values."""
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    if delimiter in value or delimiter in name:  # as the toolkit does; practically impossible
        raise SlogenError(f"output {name} contains its own delimiter")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def set_output(name: str, value: str, environ: Mapping[str, str] | None = None) -> None:
    """Append to ``$GITHUB_OUTPUT``; nothing happens outside GitHub Actions."""
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(format_output(name, value))


def write_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> bool:
    """Append to ``$GITHUB_STEP_SUMMARY`` within its 1 MiB; returns whether it was cut."""
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    used = Path(path).stat().st_size if Path(path).exists() else 0
    note = (
        "> **Note:** this summary was cut to stay within GitHub's 1 MiB limit for a step "
        "summary; the full plan is in the run's artifact."
    )
    text, cut = fit_markdown(markdown, STEP_SUMMARY_BUDGET - used, note, utf8_len)
    with open(path, "a", encoding="utf-8", newline="\n") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return cut
