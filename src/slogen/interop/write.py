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
    texts = {f"{name}.yaml": spec_text(document, header) for name, document in documents.items()}
    return write_new_files(texts, out, "import")


def write_new_files(texts: Mapping[str, str], out: Path, verb: str) -> list[Path]:
    """Write ``{file name: text}`` into ``out``, all or none of them over nothing that exists
    (``verb``, "import" or "export", says in the hint what to redo)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SlogenError(
            f"cannot write into {out}: {exc.strerror or exc}",
            hint=f"{verb} into a directory you can write to (-o DIR)",
        ) from None
    clashes = sorted(name for name in texts if (out / name).exists())
    if clashes:
        raise SlogenError(
            f"{out} already has {', '.join(clashes)}; nothing was written",
            hint=f"{verb} into an empty directory (-o DIR), or move those files away first",
        )
    written = []
    for name, text in texts.items():
        path = out / name
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SlogenError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    return written
