"""GitHub Actions: annotations, step outputs, job summaries and the one pull-request comment.

The composite action (``action.yml`` at the repository root) keeps its shell steps thin and calls
this package: ``python -m slogen.github run`` (:mod:`slogen.github.step`) validates, plans or
applies and writes the outputs, the job summary and the comment body; ``slogen github-comment
FILE`` (:mod:`slogen.github.comment`) creates or updates the comment. Everything here runs
without GitHub too (files and environment variables only), which is how the tests drive it.

* :mod:`~slogen.github.annotations`: workflow commands (``::error``) for spec problems;
* :mod:`~slogen.github.envfiles`: ``$GITHUB_OUTPUT`` and ``$GITHUB_STEP_SUMMARY``;
* :mod:`~slogen.github.markdown`: markdown cut to GitHub's size limits;
* :mod:`~slogen.github.context`: the run's pull request, from the default variables;
* :mod:`~slogen.github.api`: the REST client (issue comments, pagination, retries);
* :mod:`~slogen.github.comment`: slogen's comment, built and upserted;
* :mod:`~slogen.github.step`: the action's main step.

The names below are re-exported for the CLI (``check_specs``, ``comment_from_env``) and the
tests, which use ``from slogen import github``; everything else is imported from its module.
"""

from __future__ import annotations

from slogen.github.annotations import (
    check_specs,
    escape_data,
    escape_property,
    problem_annotation,
    workflow_command,
    workspace_path,
)
from slogen.github.api import GitHubAPI, GitHubError
from slogen.github.comment import comment_from_env, upsert_comment
from slogen.github.context import Context
from slogen.github.envfiles import (
    STEP_SUMMARY_LIMIT,
    format_output,
    set_output,
    write_step_summary,
)
from slogen.github.markdown import fence, fit_markdown, utf16_len
from slogen.github.step import main

__all__ = [
    "STEP_SUMMARY_LIMIT",
    "Context",
    "GitHubAPI",
    "GitHubError",
    "check_specs",
    "comment_from_env",
    "escape_data",
    "escape_property",
    "fence",
    "fit_markdown",
    "format_output",
    "main",
    "problem_annotation",
    "set_output",
    "upsert_comment",
    "utf16_len",
    "workflow_command",
    "workspace_path",
    "write_step_summary",
]
