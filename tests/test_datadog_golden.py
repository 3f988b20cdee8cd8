"""Golden files: the Datadog resources rendered for the example specs, one JSON file per service.

The files are what the ``files`` target writes (``out/datadog/<service>.datadog.json``), so a
reviewer sees every monitor and SLO exactly as slogen would send it. After an intended change,
regenerate them and review the diff::

    .venv/bin/python -m tests.test_datadog_golden --regen
"""

from __future__ import annotations

import pytest

from slogen.backends.datadog.files import FILE_SUFFIX
from tests.backend_golden import BackendGolden

GOLDEN_FILES = BackendGolden("datadog", suffix=FILE_SUFFIX)
GOLDEN = GOLDEN_FILES.directory
rendered = GOLDEN_FILES.rendered
regenerate = GOLDEN_FILES.regenerate


def test_golden_files_cover_every_service() -> None:
    assert sorted(p.name for p in GOLDEN.glob(f"*{FILE_SUFFIX}")) == sorted(rendered()), (
        "golden files are missing or stale; run: python -m tests.test_datadog_golden --regen"
    )


@pytest.mark.parametrize("name", sorted(rendered()))
def test_rendered_matches_golden(name: str) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert rendered()[name] == expected, (
        f"{name} differs from tests/golden/datadog; if the change is intended, run "
        "python -m tests.test_datadog_golden --regen and review the diff"
    )


if __name__ == "__main__":
    GOLDEN_FILES.main()
