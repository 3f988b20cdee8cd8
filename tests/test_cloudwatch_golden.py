"""Golden files: the CloudWatch alarms rendered for the example specs, one JSON file per service.

The files are what the ``files`` target writes (``out/cloudwatch/<service>.cloudwatch.json``):
per alarm its region, the operation and the exact request slogen would send, so a reviewer
sees every alarm as AWS would get it. After an intended change, regenerate them and review the
diff::

    .venv/bin/python -m tests.test_cloudwatch_golden --regen
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import pytest

from slogen.backends import cloudwatch, cloudwatch_files
from slogen.spec.loader import load_project

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden" / "cloudwatch"


@lru_cache(maxsize=1)
def rendered() -> dict[str, str]:
    """File name -> text for the example specs, rendered with the built-in templates."""
    project = load_project([str(SPECS)])
    target = project.target("cloudwatch")
    return cloudwatch_files.files_for(cloudwatch.render(project, target, None))


def regenerate() -> list[Path]:
    """Rewrite tests/golden/cloudwatch/ (stale files removed); return the paths written."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    files = rendered()
    for stale in GOLDEN.glob(f"*{cloudwatch_files.FILE_SUFFIX}"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in sorted(files.items()):
        path = GOLDEN / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def test_golden_files_cover_every_service() -> None:
    assert sorted(p.name for p in GOLDEN.glob(f"*{cloudwatch_files.FILE_SUFFIX}")) == sorted(
        rendered()
    ), "golden files are missing or stale; run: python -m tests.test_cloudwatch_golden --regen"


@pytest.mark.parametrize("name", sorted(rendered()))
def test_rendered_matches_golden(name: str) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert rendered()[name] == expected, (
        f"{name} differs from tests/golden/cloudwatch; if the change is intended, run "
        "python -m tests.test_cloudwatch_golden --regen and review the diff"
    )


if __name__ == "__main__":
    if "--regen" not in sys.argv[1:]:
        sys.exit("usage: python -m tests.test_cloudwatch_golden --regen")
    for path in regenerate():
        print(f"wrote {path.relative_to(ROOT)}")
