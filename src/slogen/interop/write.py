"""Spec documents (plain dicts in the spec files' shape) written as spec files, one per service.

The text is what a person would have written: keys in the spec's order, block style, a header
saying where it came from. ``slogen validate`` is run on the result by the callers' tests, not
here: writing never judges the content.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slogen import yamltext
from slogen.errors import SlogenError


def spec_text(document: Mapping[str, Any], header: str = "") -> str:
    """One spec file's text; ``header`` lines become ``#`` comments above it."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + yamltext.dump(dict(document))


def write_specs(
    documents: Mapping[str, Mapping[str, Any]], out: Path, header: str = ""
) -> list[Path]:
    """Write ``{service: document}`` as ``out/<service>.yaml``; returns the paths written.

    Refuses to overwrite a file that is there already: an import must never clobber specs a
    team has edited since.
    """
    out.mkdir(parents=True, exist_ok=True)
    clashes = [name for name in documents if (out / f"{name}.yaml").exists()]
    if clashes:
        raise SlogenError(
            f"{out} already has {', '.join(f'{n}.yaml' for n in sorted(clashes))}",
            hint="import into an empty directory (-o DIR), or move those files away first",
        )
    written = []
    for name, document in documents.items():
        path = out / f"{name}.yaml"
        try:
            path.write_text(spec_text(document, header), encoding="utf-8")
        except OSError as exc:
            raise SlogenError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    return written
