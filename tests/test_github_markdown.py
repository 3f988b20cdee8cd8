"""Fitting markdown into GitHub's limits, and ``$GITHUB_OUTPUT`` entries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slogen import github
from slogen.errors import SlogenError
from slogen.github import envfiles
from tests.fakes.github_runner import parse_env_file

MARKER = "<!-- slogen-plan -->"
NOTE = "> **Note:** cut."


def balanced(text: str) -> bool:
    """Fences closed and <details> balanced, read as CommonMark would (fences hide HTML)."""
    fence = ""
    depth = 0
    for line in text.splitlines():
        match = re.match(r"^ {0,3}(`{3,}|~{3,})(.*)$", line)
        if fence:
            if (
                match
                and match.group(1)[0] == fence[0]
                and len(match.group(1)) >= len(fence)
                and not match.group(2).strip()
            ):
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        depth += len(re.findall(r"<details[\s>]", line)) - line.count("</details>")
    return fence == "" and depth == 0


def plan_like(blocks: int, lines_per_block: int) -> str:
    out = [MARKER, "**Plan: 9 to add, 0 to change, 0 to destroy.**", ""]
    for b in range(blocks):
        out += [f"<details><summary>backend {b}</summary>", "", "```diff"]
        out += [f'+     rules[{i}].expr: "sum(rate(x[5m]))" é 🚀' for i in range(lines_per_block)]
        out += ["```", "", "</details>", ""]
    return "\n".join(out)


def test_short_text_is_untouched() -> None:
    text = plan_like(1, 3)
    assert github.fit_markdown(text, 10_000, NOTE) == (text, False)


def test_cut_inside_a_fence_closes_fence_and_details_and_keeps_the_marker() -> None:
    text = plan_like(3, 400)
    out, cut = github.fit_markdown(text, 20_000, NOTE)
    assert cut
    assert github.utf16_len(out) <= 20_000
    assert out.startswith(MARKER + "\n**Plan: 9 to add")
    assert out.rstrip().endswith(NOTE)
    assert balanced(out)
    body = out[: out.index("```\n\n</details>\n\n" + NOTE)]
    assert text.startswith(body)  # a prefix of the original ...
    assert body.endswith("\n")  # ... cut at a line boundary


def test_longer_fence_is_closed_with_its_own_length() -> None:
    text = "\n".join([MARKER, "````text", *(["``` not a close"] * 500), "````", "end"])
    out, cut = github.fit_markdown(text, 2_000, NOTE)
    assert cut and balanced(out)
    assert "\n````\n" in out


def test_measures_utf16_units_not_characters() -> None:
    text = MARKER + "\n" + "🚀\n" * 5_000  # 3 UTF-16 units per line, 2 characters
    out, cut = github.fit_markdown(text, 4_000, NOTE)
    assert cut
    assert github.utf16_len(out) <= 4_000
    assert len(out) < 2_800  # counting characters would have kept about 4,000


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "```",
                    "```diff",
                    "~~~",
                    "````",
                    "<details>",
                    "<details><summary>x</summary>",
                    "</details>",
                    "",
                    "- a",
                    "+ b",
                ]
            ),
            st.text(alphabet="ab <>/`~é🚀", max_size=40),
        ),
        max_size=120,
    ),
    limit=st.integers(min_value=200, max_value=3_000),
)
def test_fitting_any_markdown(lines: list[str], limit: int) -> None:
    text = "\n".join([MARKER, *lines]) + "\n"
    out, cut = github.fit_markdown(text, limit, NOTE)
    if not cut:
        assert out == text
        return
    assert github.utf16_len(out) <= limit
    assert out.startswith(MARKER + "\n")
    assert NOTE in out
    kept = out[: out.rindex(NOTE)]
    # what is kept is whole lines of the original, then only closing lines
    original = text.splitlines(keepends=True)
    produced = kept.splitlines(keepends=True)
    prefix = 0
    while prefix < min(len(produced), len(original)) and produced[prefix] == original[prefix]:
        prefix += 1
    assert all(
        line.strip() in ("", "</details>") or set(line.strip()) <= {"`", "~"}
        for line in produced[prefix:]
    )
    if balanced(text):
        assert balanced(out)


def test_fence_is_longer_than_any_backticks_inside() -> None:
    assert github.fence("a ```` b", "text") == "`````text\na ```` b\n`````"
    assert github.fence("plain") == "```\nplain\n```"


def test_single_and_multi_line_outputs_in_githubs_format() -> None:
    assert github.format_output("changes", "true") == "changes=true\n"
    entry = github.format_output("summary", "a: 1\nb<<EOF\nEOF\n")
    first, *_ = entry.split("\n")
    name, delimiter = first.split("<<")
    assert name == "summary" and re.fullmatch(r"ghadelimiter_[0-9a-f-]{36}", delimiter)
    assert entry.endswith(f"\n{delimiter}\n")
    assert github.format_output("summary", "x\ny") != github.format_output("summary", "x\ny")
    parsed = parse_env_file(github.format_output("changes", "true") + entry)
    assert parsed == {"changes": "true", "summary": "a: 1\nb<<EOF\nEOF\n"}


def test_set_output_appends_to_the_file(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.write_text("earlier=1\n")
    env = {"GITHUB_OUTPUT": str(out)}
    github.set_output("exitcode", "2", env)
    github.set_output("summary", "one\ntwo", env)
    assert parse_env_file(out.read_text()) == {
        "earlier": "1",
        "exitcode": "2",
        "summary": "one\ntwo",
    }
    github.set_output("ignored", "x", {})  # outside GitHub Actions: nothing, no error


def test_output_that_contains_its_delimiter_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class FixedUUID:
        def __str__(self) -> str:
            return "00000000-0000-0000-0000-000000000000"

    monkeypatch.setattr(envfiles.uuid, "uuid4", FixedUUID)
    with pytest.raises(SlogenError, match="contains its own delimiter"):
        github.format_output("x", "a\nghadelimiter_00000000-0000-0000-0000-000000000000\n")


def test_step_summary_stays_below_one_mebibyte(tmp_path: Path) -> None:
    summary = tmp_path / "summary"
    summary.write_text("## earlier step content\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    big = plan_like(60, 1_000)  # about 3 MB of UTF-8
    assert len(big.encode()) > 2 * github.STEP_SUMMARY_LIMIT
    assert github.write_step_summary(big, env) is True
    written = summary.read_bytes()
    assert len(written) <= github.STEP_SUMMARY_LIMIT
    text = written.decode()
    assert text.startswith("## earlier step content\n" + MARKER)
    assert "1 MiB" in text and balanced(text)
    small = tmp_path / "small"
    assert github.write_step_summary("short", {"GITHUB_STEP_SUMMARY": str(small)}) is False
    assert small.read_text() == "short\n"
