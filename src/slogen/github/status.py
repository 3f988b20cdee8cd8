"""The action's ``status: true``: ``slogen status`` under the plan in the comment.

The status is a courtesy to the reviewer, not part of the plan: when it cannot be read (no query
URL, no credentials, a backend down) the comment says so in one line, a warning annotation
points at the log, and the step's result stays the plan's alone. In the comment the status
goes after the plan but must not be pushed out by a long one (:func:`build_comment` cuts from
the end), so the plan is cut first to leave the status its room.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from slogen.github.annotations import workflow_command
from slogen.github.comment import COMMENT_BUDGET
from slogen.github.markdown import fit_markdown, utf16_len
from slogen.redact import redact

HEADING = "### SLO status"
FOOTER_ROOM = 512  # what build_comment's footer takes, with room to spare


def capture_slogen(args: list[str], environ: Mapping[str, str]) -> tuple[int, str, str]:
    """Run the slogen CLI keeping its output and its errors apart (the output is markdown to
    quote, the errors are what to say instead), and show both in the log."""
    print(f"$ slogen {shlex.join(args)}", flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "slogen", *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env=dict(environ),
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    sys.stdout.write(proc.stdout + proc.stderr)
    sys.stdout.flush()
    return proc.returncode, proc.stdout, proc.stderr


def history_backends(targets: Sequence[str]) -> list[str]:
    """The targets ``slogen status`` can read: a view backend such as Grafana keeps no
    history of its own, and asking for it by name would be an error."""
    from slogen.backends import registry

    return [t for t in targets if t in registry.NAMES and registry.get(t).capabilities.history]


def failure_line(code: int, errors: str) -> str:
    """Why there is no status, in one line: slogen's ``Error:`` line without its hint (which
    can run to several lines; the log has it)."""
    lines = [line.strip() for line in redact(errors).splitlines() if line.strip()]
    found = next((line for line in lines if line.startswith("Error: ")), None)
    if found is not None:
        why = found.removeprefix("Error: ").rstrip(".")
    elif lines:
        why = lines[-1]
    else:
        why = f"slogen status exited {code}"
    return f"No SLO status: {why}. The workflow log has the details."


def status_section(
    paths: Sequence[str],
    config_args: Sequence[str],
    targets: Sequence[str],
    environ: Mapping[str, str],
    save_dir: Path,
) -> str:
    """``### SLO status`` and ``slogen status``'s markdown (also saved as ``status.md`` in
    ``save_dir``), or one line saying why there is none."""
    backends = history_backends(targets)
    if targets and not backends:
        why = f"No SLO status: none of the targets ({', '.join(targets)}) keeps history."
        return f"{HEADING}\n\n_{why}_\n"
    args = ["status", *paths, *config_args]
    args += [arg for b in backends for arg in ("--backend", b)]
    code, output, errors = capture_slogen([*args, "--format", "markdown"], environ)
    if code != 0 or not output.strip():
        why = failure_line(code, errors)
        print(workflow_command("warning", why, title="slogen status"), flush=True)
        return f"{HEADING}\n\n_{why}_\n"
    text = redact(output).rstrip() + "\n"
    (save_dir / "status.md").write_text(text, encoding="utf-8")
    return f"{HEADING}\n\n{text}"


def under(markdown: str, section: str) -> str:
    """``section`` under ``markdown``, a blank line between."""
    return markdown if not section else markdown.rstrip("\n") + "\n\n" + section


def comment_content(plan: str, section: str, artifact: str) -> str:
    """The plan, cut to leave room, then the status section, itself at most half the comment."""
    status_note = (
        "> **Note:** the SLO status is too long for a pull-request comment, so it was cut "
        "here. All of it is in the job summary."
    )
    section, _ = fit_markdown(section, COMMENT_BUDGET // 2, status_note)
    where = "the job summary" + (f" and the `{artifact}` artifact" if artifact else "")
    plan_note = (
        "> **Note:** the plan is too long for a pull-request comment together with the SLO "
        f"status, so it was cut here. The full plan is in {where}."
    )
    room = COMMENT_BUDGET - FOOTER_ROOM - utf16_len(section)
    plan, _ = fit_markdown(plan, room, plan_note)
    return under(plan, section)
