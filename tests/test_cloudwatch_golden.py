"""Golden files: the CloudWatch alarms rendered for the example specs, one JSON file per service.

The files are what the ``files`` target writes (``out/cloudwatch/<service>.cloudwatch.json``):
per alarm its region, the operation and the exact request slogen would send, so a reviewer
sees every alarm as AWS would get it. After an intended change, regenerate them and review the
diff::

    .venv/bin/python -m tests.test_cloudwatch_golden --regen
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from slogen.backends import registry
from slogen.backends.cloudwatch import files as cloudwatch_files
from tests.backend_golden import BackendGolden

BACKEND = registry.get("cloudwatch")
# The shared helper renders with ``render(project, target, templates)`` and writes with
# ``files_for(resources)``: the backend's contract methods, in that shape.
GOLDEN_FILES = BackendGolden(
    "cloudwatch",
    SimpleNamespace(render=lambda project, _target, templates: BACKEND.render(project, templates)),
    SimpleNamespace(
        files_for=lambda resources: BACKEND.files(resources, {}),
        FILE_SUFFIX=cloudwatch_files.FILE_SUFFIX,
    ),
)
GOLDEN = GOLDEN_FILES.directory
rendered = GOLDEN_FILES.rendered
regenerate = GOLDEN_FILES.regenerate


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
    GOLDEN_FILES.main()
