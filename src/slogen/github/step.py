"""``python -m slogen.github run``: the work of the composite action's main step.

The action (``action.yml`` at the repository root) keeps its shell steps thin: this step
validates, plans or applies by running the slogen CLI, and writes the outputs, the job summary
and the comment body; ``slogen github-comment FILE`` then creates or updates the comment.

With ``status: true`` a plan run also puts ``slogen status`` under the plan
(:mod:`slogen.github.status`).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slogen.errors import SlogenError
from slogen.github.annotations import check_specs, workflow_command
from slogen.github.comment import MARKER, build_comment, failure_markdown, problems_markdown
from slogen.github.context import Context
from slogen.github.envfiles import set_output, write_step_summary
from slogen.github.markdown import fence
from slogen.github.status import comment_content, status_section, under
from slogen.redact import redact


def target_summary(plan: Any) -> str:
    """One line per backend target, then the total: the ``summary`` output."""
    from slogen.plan.model import Plan

    lines = []
    for state in plan.targets:
        sub = Plan(plan.for_target(state.backend, state.target))
        lines.append(f"{state.backend} ({state.target}): {sub.summary()}")
    lines.append(plan.summary())
    return "\n".join(lines)


@dataclass
class Settings:
    """The action's inputs, as the step's environment passes them."""

    command: str = "plan"
    paths: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    config: str = ""
    args: list[str] = field(default_factory=list)
    plan_file: str = ""
    comment: bool = True
    artifact: str = ""
    out_dir: str = ""
    status: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        command = env.get("SLOGEN_COMMAND", "plan").strip() or "plan"
        if command not in ("validate", "plan", "apply"):
            raise SlogenError(
                f"unknown command '{command}'", hint="the command input is validate, plan or apply"
            )
        comment = env.get("SLOGEN_COMMENT", "true").strip().lower()
        if comment not in ("true", "false"):
            raise SlogenError(f"comment must be true or false, found '{comment}'")
        status = env.get("SLOGEN_STATUS", "false").strip().lower() or "false"
        if status not in ("true", "false"):
            raise SlogenError(f"status must be true or false, found '{status}'")
        try:
            paths = shlex.split(env.get("SLOGEN_PATHS", ""))
            args = shlex.split(env.get("SLOGEN_ARGS", ""))
        except ValueError as exc:
            raise SlogenError(f"cannot split paths or args: {exc}") from exc
        targets = [t for t in re.split(r"[\s,]+", env.get("SLOGEN_TARGETS", "")) if t]
        return cls(
            command=command,
            paths=paths,
            targets=targets,
            config=env.get("SLOGEN_CONFIG", "").strip(),
            args=args,
            plan_file=env.get("SLOGEN_PLAN_FILE", "").strip(),
            comment=comment == "true",
            artifact=env.get("SLOGEN_ARTIFACT", "").strip(),
            out_dir=env.get("SLOGEN_OUT_DIR", "").strip(),
            status=status == "true",
        )

    def config_args(self) -> list[str]:
        return ["--config", self.config] if self.config else []

    def target_args(self) -> list[str]:
        return [arg for t in self.targets for arg in ("--target", t)]


def run_slogen(args: list[str], environ: Mapping[str, str]) -> tuple[int, str]:
    """Run the slogen CLI, streaming its output to the log and keeping a copy."""
    command = [sys.executable, "-m", "slogen", *args]
    print(f"$ slogen {shlex.join(args)}", flush=True)
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=dict(environ),
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    assert proc.stdout is not None
    chunks = []
    for line in proc.stdout:
        sys.stdout.write(line)
        chunks.append(line)
    sys.stdout.flush()
    return proc.wait(), "".join(chunks)


class ActionStep:
    """``python -m slogen.github run``: the work of the action's main step."""

    def __init__(self, environ: Mapping[str, str]):
        self.env = dict(environ)
        self.settings = Settings.from_env(self.env)
        self.ctx = Context.from_env(self.env)
        base = self.settings.out_dir or self.env.get("RUNNER_TEMP") or tempfile.gettempdir()
        Path(base).mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="slogen-", dir=base))
        self.plan_dir = self.work / "plan"  # uploaded as the artifact
        self.plan_dir.mkdir()

    # outputs -------------------------------------------------------------------------------

    def output(self, name: str, value: str) -> None:
        set_output(name, value, self.env)

    def annotate(self, lines: list[str]) -> None:
        for line in lines:
            print(line)
        sys.stdout.flush()

    def finish(
        self, exitcode: int, changes: bool, summary: str, markdown: str, status: str = ""
    ) -> int:
        """Write outputs, the job summary and the comment body; the step's exit status.

        ``status``: the ``### SLO status`` section, shown after the plan."""
        self.output("exitcode", str(exitcode))
        self.output("changes", "true" if changes else "false")
        self.output("summary", summary)
        self.output("plan-dir", str(self.plan_dir))
        heading = f"## slogen {self.settings.command}\n\n"
        content = markdown.split("\n", 1)[1] if markdown.startswith(MARKER) else markdown
        write_step_summary(heading + under(content.lstrip("\n"), status), self.env)
        self.write_comment(markdown, status)
        return 1 if exitcode == 1 else 0

    def write_comment(self, markdown: str, status: str = "") -> None:
        if not self.settings.comment:
            return
        number = self.ctx.pull_request_number
        if number is None:
            print("Not a pull request event: no comment.")
            return
        if self.ctx.from_fork:
            print(
                "::notice title=slogen::No plan comment: pull requests from forks get a "
                "read-only token. The result is in the job summary."
            )
            return
        if status:
            markdown = comment_content(markdown, status, self.settings.artifact)
        body = build_comment(markdown, self.ctx, self.settings.command, self.settings.artifact)
        path = self.work / "comment.md"
        path.write_text(body, encoding="utf-8")
        self.output("comment-file", str(path))

    # commands ------------------------------------------------------------------------------

    def run(self) -> int:
        command = self.settings.command
        if command == "apply" and self.settings.plan_file:
            return self.apply_saved(self.settings.plan_file)
        check = check_specs(self.settings.paths, self.settings.config or None)
        self.annotate(check.annotations(self.env))
        if not check.ok:
            return self.finish(
                1,
                False,
                f"slogen {command} failed: {check.summary()}",
                problems_markdown(check, command),
            )
        if command == "validate":
            print(check.summary())
            return self.finish(0, False, check.summary(), f"{MARKER}\n**{check.summary()}**\n")
        if command == "plan" and self.ctx.from_fork:
            return self.without_secrets(check.summary())
        return self.plan_then(apply=command == "apply")

    def without_secrets(self, validated: str) -> int:
        """A pull request from a fork: build and prove the rules instead of planning.

        GitHub gives such runs neither the repository's secrets nor a writable token, so
        reading the live configuration would only fail; what can be checked without it is.
        """
        s = self.settings
        print(
            "::notice title=slogen::Pull request from a fork: no secrets, so no plan. "
            "Validating, building and testing the specs instead."
        )
        sections = [
            MARKER,
            "**No plan for a pull request from a fork.** Runs for pull requests from forks get "
            "none of this repository's secrets, so slogen cannot read the live configuration. "
            "It checked what can be checked without it; the plan is made when the change is "
            "merged, or when it is pushed to a branch of this repository.",
            "",
            f"- validate: {validated}",
        ]
        failed = False
        build_dir = self.plan_dir / "build"
        code, output = run_slogen(
            ["build", *s.paths, *s.config_args(), "-o", str(build_dir)], self.env
        )
        failed |= code != 0
        sections.append(f"- build: {'passed' if code == 0 else '**failed**'}")
        details = [("build", output)]
        if shutil.which("promtool") or self.env.get("PROMTOOL"):
            code, output = run_slogen(["test", *s.paths, *s.config_args(), "-q"], self.env)
            failed |= code != 0
            sections.append(f"- test (promtool proofs): {'passed' if code == 0 else '**failed**'}")
            details.append(("test", output))
        else:
            sections.append(
                "- test: not run, promtool is not installed on the runner (install Debian's or "
                "Ubuntu's `prometheus` package in a step before this one)"
            )
        for name, text in details:
            sections += ["", f"<details><summary>slogen {name}</summary>", ""]
            sections += [fence(redact(text), "text"), "", "</details>"]
        summary = "slogen: fork pull request, " + ("checks failed" if failed else "checks passed")
        return self.finish(1 if failed else 0, False, summary, "\n".join(sections) + "\n")

    def plan_then(self, apply: bool) -> int:
        s = self.settings
        plan_file = self.plan_dir / "plan.json"
        args = ["plan", *s.paths, *s.config_args(), *s.target_args(), *s.args]
        code, output = run_slogen([*args, "-o", str(plan_file), "--detailed-exitcode"], self.env)
        (self.plan_dir / "plan.txt").write_text(redact(output), encoding="utf-8")
        if code not in (0, 2) or not plan_file.is_file():
            return self.finish(
                1, False, f"slogen {s.command} failed.", failure_markdown("plan", output)
            )
        self.output("plan-file", str(plan_file))
        plan, markdown = self.render_saved(plan_file)
        summary = target_summary(plan)
        if not apply:
            status = ""
            if s.status:
                status = status_section(
                    s.paths, s.config_args(), s.targets, self.env, self.plan_dir
                )
            code = 2 if plan.has_changes else 0
            return self.finish(code, plan.has_changes, summary, markdown, status)
        if not plan.has_changes:
            return self.finish(0, False, summary, markdown)
        return self.apply_plan(plan_file, plan.has_changes, summary, markdown)

    def apply_saved(self, plan_file: str) -> int:
        if not Path(plan_file).is_file():
            raise SlogenError(
                f"no plan file at {plan_file}",
                hint="download the plan job's artifact first (actions/download-artifact); the "
                "path is relative to the working directory",
            )
        self.output("plan-file", plan_file)
        plan, markdown = self.render_saved(Path(plan_file))
        summary = target_summary(plan)
        if not plan.has_changes:
            print("The saved plan has no changes; nothing to apply.")
            return self.finish(0, False, summary, markdown)
        return self.apply_plan(Path(plan_file), True, summary, markdown)

    def apply_plan(self, plan_file: Path, changes: bool, summary: str, markdown: str) -> int:
        code, output = run_slogen(["apply", str(plan_file)], self.env)
        (self.plan_dir / "apply.txt").write_text(redact(output), encoding="utf-8")
        result = "Applied." if code == 0 else "**Apply failed.**"
        markdown = (
            markdown.rstrip()
            + f"\n\n### Apply\n\n{result}\n\n"
            + fence(redact(output), "text")
            + "\n"
        )
        return self.finish(2 if code == 0 else 1, changes, summary, markdown)

    def render_saved(self, plan_file: Path) -> tuple[Any, str]:
        from slogen.plan import planfile, render

        plan, _ = planfile.load(str(plan_file))
        markdown = redact(render.render_markdown(plan))
        for warning in plan.warnings:
            print(workflow_command("warning", redact(warning), title="slogen plan"))
        (self.plan_dir / "plan.md").write_text(markdown, encoding="utf-8")
        return plan, markdown


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["run"]:
        print(
            "usage: python -m slogen.github run   (the GitHub Action's main step)", file=sys.stderr
        )
        return 2
    try:
        return ActionStep(os.environ).run()
    except SlogenError as exc:
        message = exc.message + (f"\nhint: {exc.hint}" if exc.hint else "")
        print(workflow_command("error", redact(message), title="slogen"))
        set_output("exitcode", "1")
        set_output("changes", "false")
        return 1
