"""Just enough PromQL to synthesise input series for an SLI query.

An SLI query is arbitrary PromQL. To feed it synthetic counters, slogen needs two things from
it: the vector selectors it reads (metric name and label matchers ``=``, ``!=``, ``=~``, ``!~``)
and how its value depends on those counters. :func:`parse` reads the query into a small syntax
tree; :func:`evaluate` then computes, for a concrete set of series, each output series of the
query as a *linear combination of the counters' per-second rates* (:class:`Lin`).

That works for the shapes SLIs are written in: ``rate``, ``irate`` and ``increase`` of counters
(all linear in a counter's rate while it grows steadily), ``sum`` with or without ``by`` /
``without``, ``+ - * /`` with scalars, ``+ -`` between vectors with identical labels, ``or``,
``vector(N)`` and parentheses. Anything else (``histogram_quantile``, ``avg``, vector ``/``
vector, ``offset``, ...) is :class:`Unsupported`, with the reason: slogen never guesses.

Modules: :mod:`.tree` (the syntax tree and what a query reads), :mod:`.scanner` (tokens),
:mod:`.parser` (:func:`parse`), :mod:`.linear` (:func:`evaluate`). The names are re-exported
here for :mod:`slogen.testing.synth` and the tests.
"""

from __future__ import annotations

from slogen.testing.promql.linear import Lin, Series, Vector, evaluate
from slogen.testing.promql.parser import parse
from slogen.testing.promql.tree import (
    Matcher,
    Node,
    PromQLError,
    Unsupported,
    VectorSelector,
    grouping_labels,
    range_functions,
    selectors,
)

__all__ = [
    "Lin",
    "Matcher",
    "Node",
    "PromQLError",
    "Series",
    "Unsupported",
    "Vector",
    "VectorSelector",
    "evaluate",
    "grouping_labels",
    "parse",
    "range_functions",
    "selectors",
]
