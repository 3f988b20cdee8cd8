"""``slogen import sloth``: Sloth specs in, slogen spec files (and a ``slogen.yaml``) out.

The import is all or nothing. Every Sloth file is read and converted first; then the result is
written to a scratch directory and put through exactly what ``slogen validate`` runs, because
a Sloth query slogen's PromQL checks refuse (a subquery instead of ``rate``, say) or an
objective whose tiers could never fire is better reported now, at the Sloth line it came
from, than after the files are in place. Only when nothing is an error are the files written.
Every step that loses something is a warning located in the Sloth file.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from slogen.durations import parse_duration
from slogen.errors import Location, Problem, Problems, SlogenError
from slogen.interop.sloth_alerting import Converted
from slogen.interop.sloth_convert import Converter
from slogen.interop.sloth_policy import (
    CATALOG_PERIODS,
    DEFAULT_PERIOD,
    PolicyChoice,
    same_tiers,
    settings_text,
)
from slogen.interop.sloth_read import read_file, spec_files
from slogen.interop.write import spec_text, write_new_files, write_specs
from slogen.plural import plural
from slogen.spec.loadfiles import CONFIG_NAME

_INDEX = re.compile(r"^slos\[(\d+)\]")


@dataclass
class ImportResult:
    """What an import wrote, and the warnings about what did not carry over."""

    written: list[Path]
    services: int
    slos: int
    period: str
    problems: Problems = field(default_factory=Problems)


def import_sloth(paths: list[str], out: Path, period: str = DEFAULT_PERIOD) -> ImportResult:
    """Import the Sloth specs in ``paths`` (files or directories) into ``out``.

    Raises :class:`SlogenError` carrying every located problem when anything is an error, and
    then writes nothing.
    """
    if period not in CATALOG_PERIODS:
        raise SlogenError(
            f"Sloth's built-in alert windows cover SLO periods {' and '.join(CATALOG_PERIODS)}, "
            f"not {period}",
            hint="a custom Sloth window catalog (--slo-period-windows-path) is not imported; "
            "import with --default-slo-period 30d and write a policy for your windows in "
            "slogen.yaml",
        )
    problems = Problems()
    services: dict[str, Converted] = {}
    converter = Converter(problems, period)
    for path in spec_files(paths, problems):
        for doc in read_file(path, problems):
            converted = converter.service(doc)
            if converted is not None:
                _add(services, converted, problems)
    if not problems.errors and not services:
        problems.error(Location(", ".join(paths) or "."), "", "no Sloth specs to import")
    _fail_on_errors(problems, "in the Sloth specs")
    policies = [p for c in services.values() for p in c.policies]
    policies = [p for i, p in enumerate(policies) if p not in policies[:i]]
    settings = ""
    if any(p.tiers is not None for p in policies):
        settings = settings_text(policies, parse_duration(period))
    try:
        existing = _existing_settings(out, policies, period) if settings else None
        # validated with the settings the specs will be used with: the file already there
        _validate(services, existing or settings, problems)
        _fail_on_errors(problems, "when slogen checks the imported specs")
        written = _write(services, "" if existing else settings, out, period)
    except SlogenError as exc:
        if exc.problems.items:
            raise
        raise SlogenError(exc.message, problems, exc.hint) from None  # keep the warnings
    slos = sum(len(c.document["slos"]) for c in services.values())
    return ImportResult(written, len(services), slos, period, problems)


def _write(services: dict[str, Converted], settings: str, out: Path, period: str) -> list[Path]:
    """Write the specs and ``settings`` (when given) as ``slogen.yaml``; refuses before
    writing anything when a file would be overwritten."""
    texts = {f"{n}.yaml": spec_text(c.document, _header(c, period)) for n, c in services.items()}
    if settings:
        texts[CONFIG_NAME] = settings
    return write_new_files(texts, out, "import")


def _fail_on_errors(problems: Problems, where: str) -> None:
    if problems.errors:
        count = plural(len(problems.errors), "error")
        raise SlogenError(f"{count} {where}; nothing was written", problems)


def _add(services: dict[str, Converted], new: Converted, problems: Problems) -> None:
    """Add one converted document; a second document of the same service adds its SLOs when
    the service-level fields agree (slogen wants one file per service)."""
    old = services.get(new.service)
    if old is None:
        services[new.service] = new
        return
    same = {k: v for k, v in old.document.items() if k != "slos"} == {
        k: v for k, v in new.document.items() if k != "slos"
    }
    names = {slo["name"] for slo in old.document["slos"]}
    clash = next((s["name"] for s in new.document["slos"] if s["name"] in names), None)
    if not same or clash:
        reason = f"SLO '{clash}' is in both" if clash else "their labels differ"
        problems.error(
            new.where,
            "service",
            f"service '{new.service}' was already imported from {old.where}, and {reason}",
            "slogen has one spec per service: rename one service, or give both documents the "
            "same labels and different SLO names",
        )
        return
    offset = len(old.document["slos"])
    old.document["slos"] = old.document["slos"] + new.document["slos"]
    for key, origin in new.origins.items():
        match = _INDEX.match(key)
        if match:
            shifted = f"slos[{int(match.group(1)) + offset}]{key[match.end() :]}"
            old.origins[shifted] = origin
    old.policies += [p for p in new.policies if p not in old.policies]


def _header(converted: Converted, period: str) -> str:
    return (
        f"Imported from the Sloth spec {converted.where} by `slogen import sloth`.\n"
        f"window: {period}: a Sloth spec cannot set its SLO period; Sloth uses its "
        "--default-slo-period (30d unless changed).\n"
        "Review the warnings the import printed: they name what did not carry over."
    )


def _origin(converted: Converted, path: str) -> tuple[Location, str]:
    """Where the field at ``path`` of the written spec came from (the closest known parent)."""
    best = ""
    for key in converted.origins:
        if len(key) > len(best) and (path == key or path.startswith((key + ".", key + "["))):
            best = key
    return converted.origins.get(best, (converted.where, ""))


def _validate(services: dict[str, Converted], settings: str, problems: Problems) -> None:
    """Run ``slogen validate`` on the converted specs in a scratch directory; its problems are
    added to ``problems``, located at the Sloth fields they came from."""
    from slogen.validation import load_valid

    with tempfile.TemporaryDirectory(prefix="slogen-sloth-") as scratch:
        root = Path(scratch) / "specs"
        write_specs({n: c.document for n, c in services.items()}, root)
        if settings:
            (root / CONFIG_NAME).write_text(settings, encoding="utf-8")
        try:
            _project, found = load_valid([str(root)])
        except SlogenError as exc:
            found = exc.problems
        for problem in found.items:
            converted = services.get(Path(problem.location.file).stem)
            if converted is None:
                converted = next(iter(services.values()))
            where, sloth_path = _origin(converted, problem.path)
            shown = f" (the imported spec's {problem.path})" if problem.path else ""
            problems.add(
                Problem(
                    where,
                    sloth_path,
                    f"{problem.message}{shown}",
                    problem.hint,
                    problem.severity,
                )
            )


def _existing_settings(out: Path, policies: list[PolicyChoice], period: str) -> str | None:
    """The text of ``out/slogen.yaml`` when it is there and defines the needed policies (a
    previous import's, or one written by hand to match); one that lacks them, or defines them
    differently, is an error: the imported specs name those policies."""
    path = out / CONFIG_NAME
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SlogenError(f"cannot read {path}: {exc}") from None
    defined = data.get("policies") if isinstance(data, dict) else None
    defined = defined if isinstance(defined, dict) else {}
    missing = [
        p.name
        for p in policies
        if p.tiers is not None and not same_tiers(defined.get(p.name), p.tiers)
    ]
    if missing:
        raise SlogenError(
            f"{path} exists and does not define {', '.join(repr(m) for m in missing)} as "
            "Sloth's alert windows; nothing was written",
            hint="import into a new directory, or add these policies to it:\n"
            + settings_text(
                [p for p in policies if p.name in missing], parse_duration(period)
            ).split("policies:\n", 1)[1],
        )
    return text
