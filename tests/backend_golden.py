"""The golden files of a JSON ``files`` backend (Datadog, CloudWatch): render and regenerate.

Each backend's golden test module (``tests/test_<backend>_golden.py``) makes one
:class:`BackendGolden` and keeps its own assertions; this holds what they share: the files
rendered for the example specs, the rewrite of ``tests/golden/<backend>/`` and the ``--regen``
command line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from slogen.spec.loader import load_project

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


class BackendGolden:
    """The golden files of one backend: ``render_module`` renders, ``files_module`` makes files.

    Without modules, the backend's contract (``registry.get(backend)``) renders and makes the
    files, whose names end in ``suffix``.
    """

    def __init__(
        self,
        backend: str,
        render_module: ModuleType | None = None,
        files_module: ModuleType | None = None,
        suffix: str = "",
    ) -> None:
        self.backend = backend
        self.render_module = render_module
        self.files_module = files_module
        self.suffix = suffix or getattr(files_module, "FILE_SUFFIX", "")
        self.directory = Path(__file__).resolve().parent / "golden" / backend
        self._rendered: dict[str, str] | None = None

    def rendered(self) -> dict[str, str]:
        """File name -> text for the example specs, rendered with the built-in templates."""
        if self._rendered is None:
            project = load_project([str(SPECS)])
            if self.render_module is None or self.files_module is None:
                from slogen.backends import registry

                backend = registry.get(self.backend)
                self._rendered = backend.files(backend.render(project, None), {})
                return self._rendered
            target = project.target(self.backend)
            resources = self.render_module.render(project, target, None)
            self._rendered = self.files_module.files_for(resources)
        return self._rendered

    def regenerate(self) -> list[Path]:
        """Rewrite tests/golden/<backend>/ (stale files removed); return the paths written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        files = self.rendered()
        for stale in self.directory.glob(f"*{self.suffix}"):
            if stale.name not in files:
                stale.unlink()
        written = []
        for name, text in sorted(files.items()):
            path = self.directory / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written

    def main(self) -> None:
        """``python -m tests.test_<backend>_golden --regen``."""
        if "--regen" not in sys.argv[1:]:
            sys.exit(f"usage: python -m tests.test_{self.backend}_golden --regen")
        for path in self.regenerate():
            print(f"wrote {path.relative_to(ROOT)}")
