"""OpenSLO v1 files read with slogen's located YAML loader, and what import and export share.

OpenSLO files are multi-document YAML (one object per document, ``---`` between them), while
:func:`slogen.spec.yamlsource.load_yaml` reads one document. Each document is therefore cut
out of the text and padded with the lines before it, so every location it reports is a real
``file:line:col`` in the user's file.

The facts about OpenSLO v1 used here come from the specification, README.md of
https://github.com/OpenSLO/OpenSLO, and its JSON schemas under schemas/v1/ (see
tests/interop/openslo/README.md for the exact files):

- every object has ``apiVersion: openslo/v1``, ``kind``, ``metadata.name`` and ``spec``
  (schemas/v1/parts/header.schema.json);
- the kinds are AlertCondition, AlertNotificationTarget, AlertPolicy, DataSource, Service, SLI
  and SLO (same file);
- a duration-shorthand is a positive integer and one of the postfixes m, h, d, w, M, Q, Y
  (README "duration-shorthand", schemas/v1/parts/duration-shorthand.schema.json);
- annotation keys are ``prefix/name`` with a DNS-subdomain prefix, and the schema allows
  annotation values of at most 63 letters, digits, ``.``, ``_`` and ``-``
  (schemas/v1/parts/metadata.schema.json).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from slogen.errors import Location, Problem, Problems, describe
from slogen.spec.located import LocDict, LocList
from slogen.spec.yamlsource import load_yaml

API_VERSION = "openslo/v1"
KINDS = (
    "AlertCondition",
    "AlertNotificationTarget",
    "AlertPolicy",
    "DataSource",
    "Service",
    "SLI",
    "SLO",
)
# The prefix of every annotation slogen writes: what OpenSLO has no field for.
PREFIX = "slogen.dev/"
# OpenSLO's duration-shorthand: M, Q and Y (calendar months, quarters, years) have no fixed
# length, so slogen, which counts windows in seconds, accepts only the fixed units.
SHORTHAND_RE = re.compile(r"^([1-9][0-9]*)([mhdwMQY])$")
FIXED_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
# alertAfter of exported conditions: the schema requires a positive duration-shorthand for a
# burnrate condition and slogen's tiers have none (they fire as soon as both windows exceed).
EXPORTED_ALERT_AFTER = "1m"
# metadata.schema.json's pattern for annotation and label values.
ANNOTATION_VALUE_RE = re.compile(r"^[a-z0-9A-Z][a-z0-9A-Z._-]*[a-z0-9A-Z]*$")
SLOGEN_NAME_RE = re.compile(r"^[a-z0-9-]+$")


@dataclass(frozen=True)
class Node:
    """A value of an OpenSLO document with where it was written and its field path."""

    value: Any
    loc: Location
    path: str

    def get(self, key: str) -> Node | None:
        """The child under ``key`` of a mapping, or None when absent (or not a mapping)."""
        if not isinstance(self.value, dict) or key not in self.value:
            return None
        locs = getattr(self.value, "value_locs", {})
        path = f"{self.path}.{key}" if self.path else key
        return Node(self.value[key], locs.get(key, self.loc), path)

    def items(self) -> Iterator[Node]:
        """The items of a list, each with its own location."""
        if not isinstance(self.value, list):
            return
        locs = self.value.item_locs if isinstance(self.value, LocList) else None
        for index, item in enumerate(self.value):
            yield Node(item, locs[index] if locs else self.loc, f"{self.path}[{index}]")


@dataclass(frozen=True)
class Document:
    """One OpenSLO object: its kind, ``metadata.name`` and the whole document."""

    kind: str
    name: str
    root: Node

    @property
    def spec(self) -> Node:
        return self.root.get("spec") or Node({}, self.root.loc, f"{self.root.path}.spec")

    def annotation(self, key: str) -> str | None:
        """A ``slogen.dev/`` annotation's value, when the document has it."""
        metadata = self.root.get("metadata")
        annotations = metadata.get("annotations") if metadata else None
        if annotations is None or not isinstance(annotations.value, dict):
            return None
        value = annotations.value.get(PREFIX + key)
        return str(value) if value is not None else None

    @property
    def display_name(self) -> str:
        metadata = self.root.get("metadata")
        shown = metadata.get("displayName") if metadata else None
        return shown.value if shown is not None and isinstance(shown.value, str) else ""


class Reporter:
    """Problems of one import: errors stop it, warnings describe what was lost or changed."""

    def __init__(self, problems: Problems | None = None):
        self.problems = problems if problems is not None else Problems()

    def error(self, node: Node, message: str, hint: str = "") -> None:
        self.problems.error(node.loc, node.path, message, hint)

    def warn(self, node: Node, message: str, hint: str = "") -> None:
        """A warning, once: an object several SLOs share would otherwise repeat it."""
        problem = Problem(node.loc, node.path, message, hint, severity="warning")
        if problem not in self.problems.items:
            self.problems.add(problem)

    def expected(self, node: Node, what: str, hint: str = "") -> None:
        self.error(node, f"expected {what}, found {describe(node.value)}", hint)

    def string(self, node: Node | None, parent: Node, key: str) -> str | None:
        """A required non-empty string under ``key`` of ``parent``."""
        if node is None:
            self.error(parent, f"missing required key '{key}'")
            return None
        if not isinstance(node.value, str) or not node.value.strip():
            self.expected(node, "a non-empty string")
            return None
        return node.value.strip()


def shorthand_seconds(node: Node, report: Reporter, what: str) -> int | None:
    """An OpenSLO duration-shorthand in seconds; the calendar units are reported."""
    text = node.value if isinstance(node.value, str) else None
    match = SHORTHAND_RE.match(text.strip()) if text else None
    if match is None:
        report.expected(node, f"{what} as an OpenSLO duration-shorthand such as 1h, 28d or 4w")
        return None
    number, unit = match.groups()
    if unit not in FIXED_UNITS:
        report.error(
            node,
            f"the duration {text!r} is in calendar "
            f"{'months' if unit == 'M' else 'quarters or years'}, which have no fixed length: "
            "slogen's windows are fixed durations",
            "use days or weeks instead, e.g. 30d or 4w",
        )
        return None
    return int(number) * FIXED_UNITS[unit]


def shorthand(seconds: int) -> str | None:
    """``seconds`` as an OpenSLO duration-shorthand in its largest exact unit; None when it is
    not a whole number of minutes (OpenSLO has no seconds)."""
    for unit in ("w", "d", "h", "m"):
        size = FIXED_UNITS[unit]
        if seconds % size == 0 and seconds > 0:
            return f"{seconds // size}{unit}"
    return None


def plain_name(name: str) -> str:
    """``name`` in slogen's name alphabet: lower case, other characters as single dashes."""
    if SLOGEN_NAME_RE.match(name):
        return name
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")


def slogen_name(node: Node, name: str, report: Reporter, what: str) -> str | None:
    """An OpenSLO name as a slogen name (``[a-z0-9-]+``): other characters become ``-``, with
    a warning, since OpenSLO also allows upper case, ``.``, ``|``, ``/`` and ``\\``."""
    if SLOGEN_NAME_RE.match(name):
        return name
    converted = plain_name(name)
    if not converted:
        report.error(node, f"{what} {name!r} has no letters or digits slogen can use as a name")
        return None
    report.warn(
        node,
        f"{what} {name!r} is not a slogen name ([a-z0-9-]+); it becomes '{converted}'",
    )
    return converted


def _documents(text: str, filename: str, report: Reporter) -> Iterator[object]:
    """Each YAML document of ``text``, read by the located loader at its real line."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spans: list[tuple[int, int, int]] = []  # (line, start index of that line, end index)
    start: yaml.Mark | None = None
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.DocumentStartEvent):
                start = event.start_mark
            elif isinstance(event, yaml.DocumentEndEvent) and start is not None:
                line_start = text.rfind("\n", 0, start.index) + 1
                spans.append((start.line, line_start, event.end_mark.index))
                start = None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(filename, mark.line + 1, mark.column + 1) if mark else Location(filename)
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        report.problems.error(where, "", f"invalid YAML: {what}", "fix the YAML syntax here")
        return
    for line, begin, end in spans:
        data = load_yaml("\n" * line + text[begin:end], filename, report.problems)
        if data is not None:
            yield data


def read_documents(paths: list[Path], report: Reporter) -> list[Document]:
    """Every OpenSLO object in ``paths`` (files, or directories of ``*.yaml``/``*.yml``).

    A document may also be a list of objects, as some OpenSLO examples are written.
    """
    found: list[Document] = []
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*")) if p.suffix in (".yaml", ".yml") and p.is_file()
            )
        elif path.exists():
            files.append(path)
        else:
            report.problems.error(Location(str(path)), "", "no such file or directory")
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.problems.error(Location(str(path)), "", f"cannot read the file: {exc}")
            continue
        for data in _documents(text, str(path), report):
            at = getattr(data, "loc", Location(str(path), 1, 1))
            objects = (
                list(Node(data, at, "").items()) if isinstance(data, list) else [Node(data, at, "")]
            )
            for node in objects:
                document = _document(node, report)
                if document is not None:
                    found.append(document)
    return found


def _document(node: Node, report: Reporter) -> Document | None:
    if not isinstance(node.value, LocDict):
        report.expected(node, "an OpenSLO object (a mapping with apiVersion, kind, metadata)")
        return None
    version = node.get("apiVersion")
    if version is None or version.value != API_VERSION:
        report.error(
            version or node,
            f"expected apiVersion '{API_VERSION}', found "
            + (describe(version.value) if version else "none"),
            "slogen reads OpenSLO v1; other versions are not supported",
        )
        return None
    kind = node.get("kind")
    if kind is None or kind.value not in KINDS:
        report.error(
            kind or node,
            f"expected kind one of {', '.join(KINDS)}, found "
            + (describe(kind.value) if kind else "none"),
        )
        return None
    metadata = node.get("metadata")
    name_node = metadata.get("name") if metadata else None
    name = report.string(name_node, metadata or node, "name")
    if name is None:
        return None
    root = Node(node.value, node.loc, f"{kind.value}[{name}]")
    return Document(kind.value, name, root)


def index(documents: list[Document], report: Reporter) -> dict[str, dict[str, Document]]:
    """Documents by kind and name; a name used twice for one kind is an error."""
    by_kind: dict[str, dict[str, Document]] = {kind: {} for kind in KINDS}
    for document in documents:
        seen = by_kind[document.kind]
        if document.name in seen:
            first = seen[document.name].root.loc
            report.error(
                document.root,
                f"{document.kind} '{document.name}' is defined twice (also at {first})",
                "names are unique per kind; rename one of them",
            )
            continue
        seen[document.name] = document
    return by_kind
