"""Run a composite action's steps locally, the way GitHub's runner does, for the action's tests.

What it does like GitHub's runner (docs.github.com: "Metadata syntax for GitHub Actions",
"Workflow commands for GitHub Actions", "Evaluate expressions in workflows and actions",
"Variables"):

* inputs: only declared inputs are accepted, values are strings, defaults may be expressions
  (``${{ github.token }}``); composite actions get no ``INPUT_*`` variables.
* ``${{ ... }}`` in ``env``, ``with``, ``working-directory``, ``run`` and the action's output
  values is evaluated with the contexts ``inputs``, ``github``, ``runner``, ``env`` and ``steps``;
  an ``if:`` without a status function means ``success() && (...)``; ``==`` compares strings
  case-insensitively; ``&&``/``||`` return an operand; falsy are ``false``, ``0``, ``''`` and
  ``null`` (so the string ``'false'`` is truthy).
* ``shell: bash`` runs ``bash --noprofile --norc -eo pipefail SCRIPT`` in
  ``$GITHUB_WORKSPACE/<working-directory>``, with ``GITHUB_ACTION_PATH``, a fresh
  ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, ``GITHUB_ENV`` and ``GITHUB_PATH`` per step.
* After each step, ``GITHUB_OUTPUT`` and ``GITHUB_ENV`` are parsed (``name=value`` and
  ``name<<DELIMITER`` ... ``DELIMITER``; a missing delimiter or a line in neither form fails the
  step, as the runner's "Invalid format" / "Matching delimiter not found" errors do), and
  workflow commands on stdout (``::error file=...::...``) are parsed and unescaped.
* A failing step skips the following steps unless their ``if`` says ``always()`` or
  ``failure()``; the action fails when a step failed.

What it does not do: ``uses:`` steps (actions/setup-python, actions/upload-artifact) are not
run; they are recorded, with their evaluated ``with``, as skipped, so tests can check how they
are called. Other shells, ``continue-on-error`` expressions, masks and matrix contexts are not
supported and raise.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# --------------------------------------------------------------------------- expressions


class ExpressionError(Exception):
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,])"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_-]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read expression at {text[pos:]!r}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def truthy(value: Any) -> bool:
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return not (value == 0 or math.isnan(value))
    return True


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if type(a) is type(b) or (a is None and b is None):
        return a == b
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return a is b
    return _number(a) == _number(b)


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return str(value)


def _lookup(container: Any, key: Any) -> Any:
    if isinstance(container, dict):
        if key in container:
            return container[key]
        lowered = {str(k).casefold(): v for k, v in container.items()}
        return lowered.get(str(key).casefold())
    if isinstance(container, list):
        try:
            return container[int(_number(key))]
        except (IndexError, ValueError):
            return None
    return None


class Evaluator:
    STATUS = ("success", "always", "failure", "cancelled")

    def __init__(self, contexts: dict[str, Any], status: str = "success"):
        self.contexts = contexts
        self.status = status  # of the steps so far: success or failure

    def evaluate(self, text: str) -> Any:
        self.toks = _tokens(text)
        self.pos = 0
        value = self._or()
        if self.pos != len(self.toks):
            raise ExpressionError(f"unexpected {self.toks[self.pos][1]!r} in {text!r}")
        return value

    def _peek(self) -> str | None:
        return self.toks[self.pos][1] if self.pos < len(self.toks) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.toks):
            raise ExpressionError("unexpected end of expression")
        tok = self.toks[self.pos]
        if expected is not None and tok[1] != expected:
            raise ExpressionError(f"expected {expected!r}, found {tok[1]!r}")
        self.pos += 1
        return tok

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            value = value if truthy(value) else right
        return value

    def _and(self) -> Any:
        value = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            value = right if truthy(value) else value
        return value

    def _compare(self) -> Any:
        left = self._unary()
        op = self._peek()
        if op in ("==", "!=", "<", ">", "<=", ">="):
            self._take()
            right = self._unary()
            if op == "==":
                return _equal(left, right)
            if op == "!=":
                return not _equal(left, right)
            a, b = _number(left), _number(right)
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._postfix()

    def _postfix(self) -> Any:
        value = self._primary()
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                kind, name = self._take()
                if kind != "ident":
                    raise ExpressionError(f"expected a property name, found {name!r}")
                value = _lookup(value, name)
            else:
                key = self._or()
                self._take("]")
                value = _lookup(value, key)
        return value

    def _primary(self) -> Any:
        kind, text = self._take()
        if kind == "num":
            return float(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if text == "(":
            value = self._or()
            self._take(")")
            return value
        if kind != "ident":
            raise ExpressionError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self._peek() == "(":
            self._take()
            args = []
            while self._peek() != ")":
                args.append(self._or())
                if self._peek() == ",":
                    self._take()
            self._take(")")
            return self._call(text, args)
        if text not in self.contexts:
            raise ExpressionError(f"Unrecognized named-value: '{text}'")
        return self.contexts[text]

    def _call(self, name: str, args: list[Any]) -> Any:
        lowered = name.lower()
        if lowered in self.STATUS:
            return {
                "success": self.status == "success",
                "always": True,
                "failure": self.status == "failure",
                "cancelled": False,
            }[lowered]
        text = [to_string(a) for a in args]
        if lowered == "contains":
            if isinstance(args[0], list):
                return any(_equal(item, args[1]) for item in args[0])
            return text[1].casefold() in text[0].casefold()
        if lowered == "startswith":
            return text[0].casefold().startswith(text[1].casefold())
        if lowered == "endswith":
            return text[0].casefold().endswith(text[1].casefold())
        if lowered == "format":
            return re.sub(r"\{(\d+)\}", lambda m: text[1 + int(m.group(1))], text[0])
        if lowered == "tojson":
            return json.dumps(args[0], indent=2)
        if lowered == "fromjson":
            return json.loads(text[0])
        raise ExpressionError(f"Unrecognized function: '{name}'")

    def uses_status_function(self, text: str) -> bool:
        return any(kind == "ident" and tok.lower() in self.STATUS for kind, tok in _tokens(text))


def interpolate(text: str, evaluator: Evaluator) -> str:
    """Replace every ``${{ expr }}`` in ``text`` (quotes inside expressions respected)."""
    out, pos = [], 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:start])
        i, quoted = start + 3, False
        while i < len(text):
            if text[i] == "'":
                quoted = not quoted
            elif not quoted and text.startswith("}}", i):
                break
            i += 1
        else:
            raise ExpressionError(f"unclosed expression in {text!r}")
        out.append(to_string(evaluator.evaluate(text[start + 3 : i])))
        pos = i + 2


def condition(text: Any, evaluator: Evaluator) -> bool:
    if text is None:
        return evaluator.status == "success"
    expr = str(text).strip()
    if isinstance(text, bool):
        expr = "true" if text else "false"
    if expr.startswith("${{") and expr.endswith("}}"):
        expr = expr[3:-2]
    if not evaluator.uses_status_function(expr):
        expr = f"success() && ({expr})"
    return truthy(evaluator.evaluate(expr))


# --------------------------------------------------------------------------- file commands


class FileCommandError(Exception):
    pass


def parse_env_file(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` / ``$GITHUB_ENV`` as the runner reads them."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc > 0 and (eq < 0 or heredoc < eq):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            if not name or not delimiter:
                raise FileCommandError(f"Invalid format '{line}'")
            body = []
            while i < len(lines) and lines[i].rstrip("\r") != delimiter:
                body.append(lines[i].rstrip("\r"))
                i += 1
            if i >= len(lines):
                raise FileCommandError(f"Invalid value. Matching delimiter not found '{delimiter}'")
            i += 1
            values[name] = "\n".join(body)
        elif eq > 0:
            values[line[:eq]] = line[eq + 1 :]
        else:
            raise FileCommandError(f"Invalid format '{line}'")
    return values


@dataclass
class Annotation:
    level: str
    message: str
    properties: dict[str, str]


def _unescape(text: str, prop: bool) -> str:
    text = text.replace("%0D", "\r").replace("%0A", "\n")
    if prop:
        text = text.replace("%3A", ":").replace("%2C", ",")
    return text.replace("%25", "%")


_COMMAND = re.compile(r"^::([A-Za-z][A-Za-z0-9-]*)(?: ([^\n]*?))?::(.*)$")


def parse_commands(stdout: str) -> list[Annotation]:
    found = []
    for line in stdout.splitlines():
        match = _COMMAND.match(line)
        if not match or match.group(1) not in ("error", "warning", "notice", "debug"):
            continue
        props = {}
        for part in (match.group(2) or "").split(","):
            if "=" in part:
                key, value = part.split("=", 1)
                props[key.strip()] = _unescape(value, prop=True)
        found.append(Annotation(match.group(1), _unescape(match.group(3), prop=False), props))
    return found


# --------------------------------------------------------------------------- the runner


@dataclass
class StepRun:
    index: int
    id: str
    name: str
    kind: str  # run or uses
    outcome: str  # success, failure, skipped
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    script: str = ""
    env: dict[str, str] = field(default_factory=dict)
    uses: str = ""
    with_: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    annotations: list[Annotation] = field(default_factory=list)
    raw_output_file: str = ""


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]

    @property
    def success(self) -> bool:
        return all(s.outcome != "failure" for s in self.steps)

    def step(self, key: str) -> StepRun:
        for s in self.steps:
            if key in (s.id, s.name, s.uses.split("@")[0]):
                return s
        raise KeyError(key)

    @property
    def annotations(self) -> list[Annotation]:
        return [a for s in self.steps for a in s.annotations]

    @property
    def summary(self) -> str:
        return "".join(s.summary for s in self.steps)

    @property
    def log(self) -> str:
        return "".join(s.stdout + s.stderr for s in self.steps)


STEP_KEYS = {"name", "id", "if", "run", "shell", "uses", "with", "env", "working-directory"}


class CompositeAction:
    """A composite ``action.yml`` and the machine state of one job around it."""

    def __init__(
        self,
        action_dir: Path,
        workspace: Path,
        runner_temp: Path,
        env: dict[str, str],
        token: str,
        timeout: float = 120.0,
    ):
        self.action_dir = action_dir
        self.meta = yaml.safe_load((action_dir / "action.yml").read_text(encoding="utf-8"))
        if self.meta.get("runs", {}).get("using") != "composite":
            raise ValueError("not a composite action")
        self.workspace = workspace
        self.runner_temp = runner_temp
        self.env = dict(env)  # the job's environment (GitHub's default variables)
        self.token = token
        self.timeout = timeout

    def _github(self) -> dict[str, Any]:
        event = {}
        if self.env.get("GITHUB_EVENT_PATH"):
            event = json.loads(Path(self.env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        return {
            "token": self.token,
            "action_path": str(self.action_dir),
            "workspace": str(self.workspace),
            "repository": self.env.get("GITHUB_REPOSITORY", ""),
            "event_name": self.env.get("GITHUB_EVENT_NAME", ""),
            "event": event,
            "sha": self.env.get("GITHUB_SHA", ""),
            "run_id": self.env.get("GITHUB_RUN_ID", ""),
            "api_url": self.env.get("GITHUB_API_URL", ""),
            "server_url": self.env.get("GITHUB_SERVER_URL", ""),
        }

    def _inputs(self, given: dict[str, Any], evaluator: Evaluator) -> dict[str, str]:
        declared = self.meta.get("inputs") or {}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise ValueError(f"Unexpected input(s) {unknown}, valid inputs are {sorted(declared)}")
        values = {}
        for name, spec in declared.items():
            if name in given:
                values[name] = to_string(given[name])
            elif (spec or {}).get("required") and "default" not in (spec or {}):
                raise ValueError(f"Input required and not supplied: {name}")
            else:
                values[name] = interpolate(to_string((spec or {}).get("default", "")), evaluator)
        return values

    def run(
        self,
        inputs: dict[str, Any] | None = None,
        step_env: dict[str, str] | None = None,
        stop_after: str | None = None,
    ) -> ActionRun:
        contexts: dict[str, Any] = {
            "github": self._github(),
            "runner": {"temp": str(self.runner_temp), "os": "Linux", "arch": "X64"},
            "env": dict(step_env or {}),
            "steps": {},
            "job": {"status": "success"},
            "inputs": {},
        }
        evaluator = Evaluator(contexts)
        contexts["inputs"] = self._inputs(inputs or {}, evaluator)
        job_env = {**self.env, **(step_env or {})}  # env: on the `uses:` step reaches the steps
        path_prepend: list[str] = []
        runs: list[StepRun] = []
        for index, step in enumerate(self.meta["runs"]["steps"]):
            extra = set(step) - STEP_KEYS
            if extra:
                raise ValueError(f"step {index}: unsupported keys {sorted(extra)}")
            evaluator.status = (
                "failure" if any(r.outcome == "failure" for r in runs) else ("success")
            )
            step_id = step.get("id", f"__{index}")
            name = str(step.get("name", step.get("uses", f"step {index}")))
            kind = "uses" if "uses" in step else "run"
            record = StepRun(index, step_id, name, kind, "skipped", uses=step.get("uses", ""))
            runs.append(record)
            if not condition(step.get("if"), evaluator):
                contexts["steps"][step_id] = {
                    "outputs": {},
                    "outcome": "skipped",
                    "conclusion": "skipped",
                }
                continue
            env = {
                k: interpolate(to_string(v), evaluator) for k, v in (step.get("env") or {}).items()
            }
            if kind == "uses":
                record.with_ = {
                    k: interpolate(to_string(v), evaluator)
                    for k, v in (step.get("with") or {}).items()
                }
                record.env = env
                contexts["steps"][step_id] = {
                    "outputs": {},
                    "outcome": "success",
                    "conclusion": "success",
                }
                record.outcome = "skipped"  # recorded, not run: see the module docstring
                continue
            if step.get("shell") != "bash":
                raise ValueError(f"step {name}: composite run steps need shell: bash here")
            self._run_step(record, step, env, job_env, path_prepend, evaluator)
            contexts["steps"][step_id] = {
                "outputs": record.outputs,
                "outcome": record.outcome,
                "conclusion": record.outcome,
            }
            if stop_after is not None and stop_after in (step_id, name):
                break
        evaluator.status = "success"
        outputs = {
            name: interpolate(to_string((spec or {}).get("value", "")), evaluator)
            for name, spec in (self.meta.get("outputs") or {}).items()
        }
        return ActionRun(runs, outputs)

    def _run_step(
        self,
        record: StepRun,
        step: dict[str, Any],
        env: dict[str, str],
        job_env: dict[str, str],
        path_prepend: list[str],
        evaluator: Evaluator,
    ) -> None:
        files = self.runner_temp / "_runner_file_commands"
        files.mkdir(parents=True, exist_ok=True)
        paths = {
            name: files / f"{name.lower()}_{record.index}"
            for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH")
        }
        for path in paths.values():
            path.write_text("")
        script = interpolate(str(step["run"]), evaluator)
        script_path = self.runner_temp / f"_step_{record.index}.sh"
        script_path.write_text(script, encoding="utf-8")
        workdir = self.workspace / interpolate(
            to_string(step.get("working-directory", ".")), evaluator
        )
        full_env = {
            **job_env,
            **env,
            **{k: str(v) for k, v in paths.items()},
            "GITHUB_ACTION_PATH": str(self.action_dir),
        }
        if path_prepend:
            full_env["PATH"] = os.pathsep.join([*path_prepend, full_env.get("PATH", "")])
        record.script, record.env = script, env
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_path)],
            cwd=workdir,
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.timeout,
        )
        record.returncode, record.stdout, record.stderr = proc.returncode, proc.stdout, proc.stderr
        record.outcome = "success" if proc.returncode == 0 else "failure"
        record.annotations = parse_commands(proc.stdout)
        record.raw_output_file = paths["GITHUB_OUTPUT"].read_text(encoding="utf-8")
        record.summary = paths["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        try:
            record.outputs = parse_env_file(record.raw_output_file)
            job_env.update(parse_env_file(paths["GITHUB_ENV"].read_text(encoding="utf-8")))
        except FileCommandError as exc:
            record.outcome = "failure"
            record.stderr += f"\nError: Unable to process file command successfully. {exc}\n"
        added = [p for p in paths["GITHUB_PATH"].read_text().splitlines() if p.strip()]
        path_prepend[:0] = list(reversed(added))
