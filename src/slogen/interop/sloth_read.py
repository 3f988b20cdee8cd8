"""Reading Sloth spec files: which documents are Sloth specs, and located access to their fields.

Sloth has two spellings of one spec (sources in ``tests/interop/sloth/README.md``):

- ``version: "prometheus/v1"`` files, Go structs with snake_case YAML tags
  (slok/sloth ``pkg/prometheus/api/v1/v1.go``: ``error_query``, ``page_alert``...);
- the Kubernetes resource ``apiVersion: sloth.slok.dev/v1``, ``kind: PrometheusServiceLevel``,
  whose ``spec`` holds the same fields with camelCase JSON tags
  (``pkg/kubernetes/api/sloth/v1/types.go``: ``errorQuery``, ``pageAlert``...).

Both may share a file with other documents (``---``); Sloth's own examples do
(``examples/multifile.yml``). Each document is read with slogen's located YAML loader, so every
warning and error names ``file:line:col``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slogen.errors import Location, Problem, Problems, describe, did_you_mean
from slogen.spec.checks import Field
from slogen.spec.yamlsource import LocDict, load_yaml

PROMETHEUS_V1 = "prometheus/v1"
K8S_API_VERSION = "sloth.slok.dev/v1"
K8S_KIND = "PrometheusServiceLevel"

# A line that starts a new YAML document. Document markers are only recognised at column 0,
# also inside what would otherwise be a block scalar, so splitting on them is what YAML does.
_DOC_START = re.compile(r"^---(?:[ \t].*)?$")
_DOC_END = re.compile(r"^\.\.\.[ \t]*$")


@dataclass(frozen=True)
class Dialect:
    """The key names one spelling of the spec uses for the fields that differ."""

    name: str
    error_query: str
    total_query: str
    error_ratio_query: str
    page_alert: str
    ticket_alert: str
    slo_plugins: str


PROMETHEUS = Dialect(
    "prometheus/v1",
    "error_query",
    "total_query",
    "error_ratio_query",
    "page_alert",
    "ticket_alert",
    "slo_plugins",
)
KUBERNETES = Dialect(
    "sloth.slok.dev/v1",
    "errorQuery",
    "totalQuery",
    "errorRatioQuery",
    "pageAlert",
    "ticketAlert",
    "sloPlugins",
)


@dataclass(frozen=True)
class SlothDocument:
    """One Sloth service spec: its fields (the ``spec`` of a Kubernetes resource) and where."""

    root: Field  # a Field over the LocDict holding service, labels, slos
    dialect: Dialect
    envelope: Field | None = None  # the whole Kubernetes resource (for metadata)


def warn(problems: Problems, f: Field | Location, path: str, message: str, hint: str = "") -> None:
    """A located warning: something Sloth did that the imported spec does differently."""
    loc = f.loc if isinstance(f, Field) else f
    problems.add(Problem(loc, path, message, hint, severity="warning"))


def child(f: Field, key: str) -> Field | None:
    """The located value under ``key`` of a mapping field, or None when absent or null (a Go
    zero value to Sloth: ``alerting:`` with nothing under it is no alerting block)."""
    data = f.value
    if not isinstance(data, dict) or data.get(key) is None:
        return None
    locs = getattr(data, "value_locs", None)
    loc = locs.get(key, f.loc) if locs is not None else f.loc
    return Field(data[key], loc, f.child_path(key))


def items(f: Field) -> list[Field]:
    """The located items of a list field."""
    locs = getattr(f.value, "item_locs", None)
    return [
        Field(value, locs[i] if locs is not None else f.loc, f.child_path(i))
        for i, value in enumerate(f.value)
    ]


def key_loc(f: Field, key: str) -> Location:
    """Where ``key`` itself is written in a mapping field (for warnings about the key)."""
    locs = getattr(f.value, "key_locs", None)
    return locs.get(key, f.loc) if locs is not None else f.loc


def check_keys(
    problems: Problems,
    f: Field,
    known: tuple[str, ...],
    ignored: dict[str, str] | None = None,
) -> bool:
    """Whether ``f`` is a mapping; warns about keys the import does not carry over.

    Sloth decodes its specs leniently (``yaml.Unmarshal``, not strict), so an unknown key is
    ignored there too: a warning with a "did you mean" hint, not an error. ``ignored`` names
    keys Sloth does know whose meaning slogen has no place for, with the reason.
    """
    if not isinstance(f.value, dict):
        problems.error(f.loc, f.path, f"expected a mapping, found {describe(f.value)}")
        return False
    ignored = ignored or {}
    for key in f.value:
        if key in known:
            continue
        path = f.child_path(key)
        if key in ignored:
            warn(problems, key_loc(f, key), path, f"not imported: {ignored[key]}")
        else:
            warn(
                problems,
                key_loc(f, key),
                path,
                f"unknown key '{key}', which Sloth ignores; not imported",
                did_you_mean(key, known),
            )
    return True


def split_documents(text: str) -> list[tuple[int, str]]:
    """The documents of a multi-document YAML text as (first line index, text) pairs; each
    text is padded with blank lines so that, parsed alone, its lines keep their numbers."""
    docs: list[tuple[int, list[str]]] = []
    first, current = 0, []
    for index, line in enumerate(text.splitlines(keepends=True)):
        bare = line.rstrip("\r\n")
        if _DOC_START.match(bare):
            docs.append((first, current))
            rest = bare[3:]
            inline = rest.strip() and not rest.lstrip().startswith("#")  # `--- {a: 1}`
            first, current = index, ["   " + rest + "\n" if inline else "\n"]
        elif _DOC_END.match(bare):
            docs.append((first, current))
            first, current = index + 1, []
        else:
            current.append(line)
    docs.append((first, current))
    return [(at, "\n" * at + "".join(body)) for at, body in docs if "".join(body).strip()]


def _has_content(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def read_file(path: Path, problems: Problems) -> list[SlothDocument]:
    """Every Sloth spec document in ``path``; other documents are skipped with a warning."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.error(Location(name), "", f"cannot read the file: {exc}")
        return []
    found: list[SlothDocument] = []
    for first, body in split_documents(text):
        if not _has_content(body):
            continue
        data = load_yaml(body, name, problems)
        if data is None:
            continue
        doc = _document(data, Location(name, first + 1, 1), problems)
        if doc is not None:
            found.append(doc)
    if not found and not problems.errors:
        problems.error(
            Location(name, 1, 1),
            "",
            "no Sloth spec in this file",
            f'expected version: "{PROMETHEUS_V1}", or apiVersion: {K8S_API_VERSION} with '
            f"kind: {K8S_KIND}",
        )
    return found


def _document(data: Any, where: Location, problems: Problems) -> SlothDocument | None:
    if not isinstance(data, LocDict):
        problems.error(where, "", f"expected a mapping (a Sloth spec), found {describe(data)}")
        return None
    root = Field(data, data.loc, "")
    version = data.get("version")
    if version == PROMETHEUS_V1:
        return SlothDocument(root, PROMETHEUS)
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if api_version == K8S_API_VERSION and kind == K8S_KIND:
        spec = child(root, "spec")
        if spec is None or not isinstance(spec.value, dict):
            problems.error(
                data.loc, "spec", f"a {K8S_KIND} needs a 'spec' mapping with service and slos"
            )
            return None
        return SlothDocument(spec, KUBERNETES, root)
    if isinstance(api_version, str) and api_version.startswith("openslo/"):
        problems.error(
            data.loc,
            "apiVersion",
            f"an OpenSLO document ({api_version}), not a Sloth spec",
            "import it with: slogen import openslo",
        )
        return None
    if version is not None:
        problems.error(
            data.value_locs["version"],
            "version",
            f'expected version "{PROMETHEUS_V1}" (the only Sloth spec version), '
            f"found {describe(version)}",
        )
        return None
    what = f"{api_version}/{kind}" if api_version or kind else "a document without version"
    warn(
        problems,
        data.loc,
        "",
        f"skipped {what}: not a Sloth spec",
        f'Sloth specs have version: "{PROMETHEUS_V1}" or kind: {K8S_KIND}',
    )
    return None


def spec_files(paths: list[str], problems: Problems) -> list[Path]:
    """Files named, and the ``.yaml``/``.yml`` files under directories named (sorted)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            inside = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml")
            )
            if not inside:
                problems.error(Location(raw), "", "no .yaml or .yml files in this directory")
            found.extend(inside)
        else:
            problems.error(Location(raw), "", "no such file or directory")
    return found
