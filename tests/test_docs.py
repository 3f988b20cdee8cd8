"""``slogen docs``: the SLO documents of the example specs (golden files), the ``document:``
block's review warning, template overrides and the documents' data.

The golden files are rendered with a fixed "today", from the repository root, so that they name
``specs/<service>.md`` and never depend on the day the tests run. After an intended change,
regenerate them and review the diff::

    .venv/bin/python -m tests.test_docs --regen
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from slogen.backends import registry
from slogen.cli.docs import docs as docs_command
from slogen.docs import documents
from slogen.errors import SlogenError
from slogen.spec import document
from slogen.spec.loader import load_project, load_project_with_warnings
from tests.cli import run
from tests.conftest import ROOT, SPECS

GOLDEN = ROOT / "tests" / "golden" / "docs"
TODAY = date(2026, 12, 1)  # the day the golden documents are rendered on
SPEC_HEAD = """service: shop
description: The web shop
owner: web
slos:
"""
SLO = """  - name: {name}
    objective: 99.9
    window: 30d
{extra}    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{{code=~"5.."}}[{{{{ window }}}}]))
        total: sum(rate(http_requests_total[{{{{ window }}}}]))
"""


@contextmanager
def _at_root() -> Iterator[None]:
    saved = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(saved)


def rendered() -> dict[str, str]:
    """The example specs' documents, as ``slogen docs specs`` writes them on :data:`TODAY`."""
    with _at_root():
        return documents(load_project(["specs"]), None, TODAY)


def regenerate() -> list[Path]:
    """Rewrite tests/golden/docs/ (stale files removed); the paths written."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    files = rendered()
    for stale in GOLDEN.glob("*.md"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in sorted(files.items()):
        path = GOLDEN / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def docs(*args: str, exit_code: int = 0) -> tuple[str, str]:
    """Run ``slogen docs ARGS``; stdout and stderr."""
    result = CliRunner().invoke(docs_command, list(args), catch_exceptions=False)
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    return result.stdout, result.stderr


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "specs" / "shop.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document, "today", lambda: TODAY)


# -- golden files ---------------------------------------------------------------------------------


def test_golden_files_cover_every_service() -> None:
    assert sorted(p.name for p in GOLDEN.glob("*.md")) == sorted(rendered()), (
        "golden documents are missing or stale; run: python -m tests.test_docs --regen"
    )


@pytest.mark.parametrize("name", sorted(rendered()))
def test_rendered_matches_golden(name: str) -> None:
    assert rendered()[name] == (GOLDEN / name).read_text(encoding="utf-8"), (
        f"{name} differs from tests/golden/docs; if the change is intended, run "
        "python -m tests.test_docs --regen and review the diff"
    )


def test_the_command_writes_what_the_goldens_hold(
    tmp_path: Path, fixed_today: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "docs"
    stdout, _ = docs("specs", "-o", str(out))
    assert f"docs: wrote 3 documents to {out}" in stdout
    for path in sorted(out.iterdir()):
        assert path.read_text(encoding="utf-8") == (GOLDEN / path.name).read_text(encoding="utf-8")
    docs("specs", "-o", str(tmp_path / "one"), "--slo", "search")
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["search.md"]


def test_the_checkout_document_has_every_section() -> None:
    text = rendered()["checkout.md"]
    for heading in (
        "## 1. Service overview",
        "## 2. SLIs and their implementation",
        "## 3. Objectives",
        "## 4. Error budget",
        "## 5. Alerting policy",
        "## 6. Error budget policy",
        "## 7. Clarifications and caveats",
    ):
        assert heading in text
    # the queries as written, the names slogen generates, explain's numbers
    assert 'errors: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{ window }}]))' in (
        text
    )
    assert "`slogen:sli_error_ratio:rate1h`" in text
    assert "alert rule `CheckoutAvailabilityBudgetBurn` for page-1h, page-6h, ticket-3d" in text
    assert "composite alarm `slogen/checkout/availability/page-1h` for page-1h" in text
    assert "| page-1h | page | 2% | 1h / 5m | 14.4 | 1.44% | 52s | 30m | 1h | 4m 56s |" in text
    assert "| availability | 0.1% of the events | 43m 12s per 30d |" in text
    # the spec's own policy, so no default
    assert "Default policy" not in text
    assert "1. The payments on-call engineer and the team lead decide" in text


def test_without_a_policy_the_default_is_marked() -> None:
    text = rendered()["billing-worker.md"]
    assert "> **Default policy.**" in text
    assert "*(default)* changes and releases stop" in text
    assert "the approvers of this document (Billing Team Lead)" in text


# -- the review date ------------------------------------------------------------------------------


def test_a_passed_review_date_warns_in_validate_and_docs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(document, "today", lambda: date(2027, 5, 10))
    monkeypatch.chdir(ROOT)
    result = run("validate", "specs")
    assert "Valid: 3 services, 5 SLOs (1 warning)." in result.stdout
    lines = (SPECS / "billing-worker.yaml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("  review:"))
    assert (
        f"specs/billing-worker.yaml:{line}:11: warning: document.review: the SLO document's "
        "review date 2027-05-03 has passed (7 days ago)"
    ) in result.stderr
    _, stderr = docs("specs", "-o", str(tmp_path), "--slo", "billing-worker")
    assert "warning: document.review" in stderr
    text = (tmp_path / "billing-worker.md").read_text(encoding="utf-8")
    assert "2027-05-03 (**overdue**: the review date had passed on 2027-05-10)" in text
    strict = run("validate", "specs", "--strict", exit_code=1)
    assert f"specs/billing-worker.yaml:{line}:11: error: document.review" in strict.stderr


def test_the_review_day_itself_does_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document, "today", lambda: date(2027, 5, 3))
    _, problems = load_project_with_warnings([str(SPECS / "billing-worker.yaml")])
    assert not problems.warnings


# -- templates ------------------------------------------------------------------------------------


def test_one_section_can_be_overridden(tmp_path: Path, fixed_today: None) -> None:
    own = tmp_path / "templates" / "docs"
    own.mkdir(parents=True)
    (own / "policy.md.j2").write_text(
        "## 6. Error budget policy\n\nSee the {{ doc.service }} policy on the wiki.\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    docs(str(SPECS), "-o", str(out), "--templates", str(tmp_path / "templates"))
    text = (out / "checkout.md").read_text(encoding="utf-8")
    assert "## 6. Error budget policy\n\nSee the checkout policy on the wiki.\n" in text
    assert "### SLO miss policy" not in text
    assert "## 5. Alerting policy" in text and "## 7. Clarifications and caveats" in text


def test_a_broken_template_is_a_clear_error(tmp_path: Path) -> None:
    own = tmp_path / "docs"
    own.mkdir()
    (own / "budget.md.j2").write_text("{{ doc.no_such_field }}\n", encoding="utf-8")
    _, stderr = docs(
        str(SPECS), "-o", str(tmp_path / "out"), "--templates", str(tmp_path), exit_code=1
    )
    assert f"{own / 'budget.md.j2'}:1:1: error: template docs/budget.md.j2:" in stderr
    assert "no_such_field" in stderr
    assert "Error: the template docs/budget.md.j2 cannot be rendered." in stderr
    assert not (tmp_path / "out").exists()


def test_a_misspelt_template_name_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "polcy.md.j2").write_text("x\n", encoding="utf-8")
    _, stderr = docs(
        str(SPECS), "-o", str(tmp_path / "out"), "--templates", str(tmp_path), exit_code=1
    )
    assert "template docs/polcy.md.j2 overrides none of slogen's templates" in stderr
    assert "did you mean docs/policy.md.j2?" in stderr


def test_an_unknown_service_is_a_clean_error(tmp_path: Path) -> None:
    _, stderr = docs(str(SPECS), "-o", str(tmp_path), "--slo", "chekout", exit_code=1)
    assert "Error: no service named 'chekout'" in stderr
    assert "did you mean 'checkout'?" in stderr


# -- the data -------------------------------------------------------------------------------------


def test_traffic_classes_and_no_slo_entries(tmp_path: Path, fixed_today: None) -> None:
    spec = SPEC_HEAD + SLO.format(name="checkout", extra="    traffic: 3M/30d\n")
    spec += """  - name: search
    class: HIGH_SLOW
    indicator:
      prometheus:
        errors: sum(rate(search_errors_total[{{ window }}]))
        total: sum(rate(search_total[{{ window }}]))
  - name: canary
    class: NO_SLO
    description: Synthetic probe requests
"""
    _spec(tmp_path, spec)
    text = documents(load_project([str(tmp_path / "specs")]), None, TODAY)["shop.md"]
    # the budget in events at the declared traffic, and per tier before it fires
    assert "| checkout | 0.1% of the events | 43m 12s per 30d | 3,000 of 3,000,000 per 30d" in text
    assert "Failed events before it fires |" in text
    assert "| page-1h | page | 2% | 1h / 5m | 14.4 | 1.44% | 52s | 30m | 1h | 4m 56s | 60 |" in text
    assert "| search | 0.1% of the events | 43m 12s per 30d | a ratio only" in text
    assert "- checkout: 8m 38s (of 43m 12s per 30d), or 600 failed events" in text
    # the class, and the entry without an SLO
    assert "`search` is of request class `HIGH_SLOW` (built-in class `HIGH_SLOW`)" in text
    assert "90% of requests within 1000ms and 99% of requests within 5000ms" in text
    assert "- `canary`: no SLO, on purpose. It is of request class `NO_SLO`" in text
    # no document block: the description is the overview, and everything says it is unset
    assert "## 1. Service overview\n\nThe web shop\n" in text
    assert "- **Authors:** not set (document.authors)" in text


def test_a_service_of_no_slo_entries_only(tmp_path: Path, fixed_today: None) -> None:
    spec = SPEC_HEAD + "  - name: canary\n    class: NO_SLO\n    description: Probes | checks\n"
    _spec(tmp_path, spec)
    text = documents(load_project([str(tmp_path / "specs")]), None, TODAY)["shop.md"]
    assert "No SLO of this service builds alerts: section 7 lists its entries." in text
    assert "which builds no alerts (Probes | checks)." in text


def test_the_document_is_content_but_changes_no_backend_output(tmp_path: Path) -> None:
    plain = SPEC_HEAD + SLO.format(name="checkout", extra="")
    _spec(tmp_path, plain)
    without = load_project([str(tmp_path / "specs")])
    _spec(tmp_path, plain + "document:\n  authors: [Ana Souza]\n  approved: 2026-11-16\n")
    with_block = load_project([str(tmp_path / "specs")])
    assert with_block.services[0].document is not None
    assert with_block.services[0].document.authors == ("Ana Souza",)
    assert with_block.services[0].document.approved == date(2026, 11, 16)
    assert with_block.services[0] != without.services[0]
    for backend in registry.used_by(without):
        assert backend.render(with_block, None) == backend.render(without, None)


def test_a_quoted_date_and_a_single_author_read(tmp_path: Path, fixed_today: None) -> None:
    spec = SPEC_HEAD + SLO.format(name="checkout", extra="")
    spec += 'document:\n  authors: Ana Souza\n  review: "2027-06-30"\n  escalation: Ask Ben.\n'
    _spec(tmp_path, spec)
    doc = load_project([str(tmp_path / "specs")]).services[0].document
    assert doc is not None
    assert (doc.authors, doc.review, doc.escalation) == (
        ("Ana Souza",),
        date(2027, 6, 30),
        ("Ask Ben.",),
    )


def test_bad_input_never_reaches_the_renderer(tmp_path: Path) -> None:
    _spec(tmp_path, SPEC_HEAD + SLO.format(name="checkout", extra="") + "document: {review: x}\n")
    with pytest.raises(SlogenError) as caught:
        load_project([str(tmp_path / "specs")])
    (problem,) = caught.value.problems.errors
    assert (problem.location.line, problem.location.column, problem.path) == (
        12,
        20,
        "document.review",
    )


if __name__ == "__main__":
    if "--regen" not in sys.argv[1:]:
        sys.exit("usage: python -m tests.test_docs --regen")
    for written in regenerate():
        print(f"wrote {written.relative_to(ROOT)}")
