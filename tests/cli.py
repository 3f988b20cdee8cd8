"""The one way tests run the CLI: in-process, asserting the exit code every time."""

from __future__ import annotations

from dataclasses import dataclass

from click.testing import CliRunner

from slogen.cli.main import cli


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(*args: str, exit_code: int | None = 0, input: str | None = None) -> Result:
    """Run ``slogen ARGS``; fail the test with the full output if the exit code differs
    (``exit_code=None``: any exit code, for tests that compare several commands)."""
    runner = CliRunner()
    result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    out = Result(result.exit_code, result.stdout, result.stderr)
    assert exit_code is None or result.exit_code == exit_code, (
        f"slogen {' '.join(args)} exited {result.exit_code}, expected {exit_code}\n"
        f"--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
    )
    return out
