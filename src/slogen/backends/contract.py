"""The Backend contract: what every backend package provides, and nothing more.

A backend turns the one spec model into the resources of one monitoring system and keeps them in
step with one *target* (a directory of files, or an API). The stages are those of the data flow:

    validate(project) -> list[Problem]         every check the backend will ever make
    render(project, templates) -> [Resource]   desired resources (plain data, stable keys)
    files(resources, options) -> {name: text}  what ``slogen build`` writes for them
    target(settings) -> Target                 where the live resources are:
        read_live(known) -> LiveState          owned resources only, normalised like render's
        conflicts(desired, live) -> [str]      reasons the plan may not go ahead
        apply(changes, desired, progress) -> ApplyReport
        lock(holder, timeout) -> context manager  held by ``slogen apply`` around its writes

``validate`` is complete: ``render`` and ``apply`` never reject a project that ``validate``
accepted, so ``slogen validate`` answers "will this build and apply?". The planner, ``build``,
``explain`` and the CLI only ever talk to backends through this protocol, and find them through
:mod:`slogen.backends.registry`; optional behaviour is declared in :class:`Capabilities` rather
than probed for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from slogen.backtest.history import History
    from slogen.errors import Problem
    from slogen.plan.model import Change
    from slogen.plan.outcome import ApplyReport
    from slogen.plan.progress import Progress
    from slogen.resources import LiveState, Resource
    from slogen.spec.checks import Checker, Field
    from slogen.spec.model import SLO, Project, Service
    from slogen.spec.model import Target as TargetSettings


@dataclass(frozen=True)
class SchemaFragments:
    """JSON Schema (draft 2020-12) of a backend's parts of the files, for ``slogen schema``.

    Editors validate and complete specs with the generated schema, so each backend describes
    what its :meth:`Backend.read_source` and :meth:`Backend.read_notify` accept next to them,
    built from the same constants. ``source`` is the schema of ``indicator.<backend>`` and
    ``notify`` that of ``alerting.<severity>.<backend>`` (both empty for a view backend, which
    no spec names). ``types`` describes each target type, ``options`` each target option (a
    ``description``, and any constraint beyond what the loader checks for the option's kind,
    :data:`slogen.spec.settings.OPTION_KINDS`): every type and option of ``target_options``
    needs one, so a new option cannot reach the schema undescribed.
    """

    source: Mapping[str, Any] = field(default_factory=dict)
    notify: Mapping[str, Any] = field(default_factory=dict)
    types: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    """What a backend offers beyond the required stages, as data.

    ``target_options`` maps each target type the backend supports to the settings keys that
    type accepts in ``slogen.yaml`` (the loader checks them); ``required_options`` names those
    a type cannot do without. ``immutable`` maps a resource kind to
    the body fields that cannot change in place: a change there is planned as a replacement.
    ``build_options`` names the ``build`` options that reach :meth:`Backend.files`.
    ``needs_recipients``: alerts reach people only through the spec's notification block
    (Datadog handles, SNS actions), so a severity without one is worth a warning; Prometheus
    routes by labels in Alertmanager instead.
    ``shows``: set by a *view* backend (no spec names it; see :mod:`slogen.backends.registry`),
    the source backend whose SLOs it shows: it is used whenever that source is.
    ``openslo_source``: the ``metricSource.type`` OpenSLO documents give this backend's SLIs
    (``slogen import/export openslo``).
    ``history``: the backend can read its SLIs' past samples (:meth:`Backend.history`), for
    ``slogen backtest`` and ``slogen status``; only such backends have that method.
    ``schema``: what the backend reads from the files, as JSON Schema fragments, for ``slogen
    schema`` (see :class:`SchemaFragments`).
    """

    target_options: Mapping[str, tuple[str, ...]]
    required_options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    immutable: Mapping[str, frozenset[str]] = field(default_factory=dict)
    build_options: tuple[str, ...] = ()
    needs_recipients: bool = False
    shows: str | None = None
    history: bool = False
    openslo_source: str | None = None
    schema: SchemaFragments = field(default_factory=SchemaFragments)


class Target(Protocol):
    """One place a backend's resources live, made from the target's settings."""

    name: str  # as plans show it: ``files:<dir>`` or the target type

    def read_live(self, known: Sequence[Resource]) -> LiveState:
        """The owned resources found at the target.

        ``known`` are the resources the caller expects here (the desired ones while planning;
        the desired and the planned-against live ones when a saved plan is checked), so a
        target can tell where to look (e.g. which AWS regions) and how much to expect.
        """
        ...

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        """Reasons a plan cannot be made (e.g. a file slogen does not own is in the way)."""
        ...

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        """Carry out ``changes`` (in the planner's order); report every change's outcome.

        Raises :class:`~slogen.errors.SlogenError` only when nothing could be attempted.
        """
        ...

    def lock(self, holder: str, timeout: float) -> AbstractContextManager[None]:
        """Exclusive use of the target by one ``slogen apply``, held while the context is open.

        ``slogen apply`` takes it before re-checking that the plan is fresh and keeps it until
        its last write, so two applies at once cannot both create what is missing. ``holder``
        (``user@host pid N``, and the CI run) is what another apply is told; it waits up to
        ``timeout`` seconds, then raises :class:`~slogen.errors.SlogenError` saying who holds
        the lock since when. A lock must not outlive a crashed apply for long: an OS lock dies
        with the process, a lock object in an API is a lease that expires unless renewed (see
        :mod:`slogen.plan.lock`). Lock objects are never read as owned resources.
        """
        ...


class HistoryReader(Protocol):
    """Reads SLIs' past samples from one backend's live service (see :mod:`slogen.backtest`)."""

    def read(
        self,
        wanted: Sequence[tuple[Service, SLO]],
        start: int,
        end: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[tuple[str, str], History | str]:
        """Per ``(service, slo)`` name pair, its samples at ``start, start + step, ... end``
        (epoch seconds, multiples of the step), or why that SLO could not be read (a problem
        with its query, said for people). Raises :class:`~slogen.errors.SlogenError` when
        nothing can be read (unreachable, refused credentials), naming the setting to fix.
        """
        ...


class Backend(Protocol):
    """One monitoring system. Instances are stateless and cheap to import (no SDK loaded)."""

    name: str
    capabilities: Capabilities

    def read_source(self, check: Checker, f: Field) -> object | None:
        """The SLI source at ``indicator.<name>`` of an SLO (None after reporting errors)."""
        ...

    def read_notify(self, check: Checker, f: Field) -> object | None:
        """Where a severity's alerts go, at ``alerting.<severity>.<name>`` (None after errors)."""
        ...

    def validate(self, project: Project, templates: str | None = None) -> list[Problem]:
        """Every problem render or apply would hit, located in the spec files (``templates``:
        the user's template overrides, whose output may run into a length limit)."""
        ...

    def render(self, project: Project, templates: str | None) -> list[Resource]:
        """Desired resources for every SLO whose indicator names this backend."""
        ...

    def files(self, resources: Sequence[Resource], options: Mapping[str, object]) -> dict[str, str]:
        """File name -> text for ``slogen build`` and the files target."""
        ...

    def target(self, settings: TargetSettings) -> Target:
        """The target described by ``settings`` (its type is one of ``target_options``)."""
        ...

    def tier_forms(self, service: Service, slo: SLO) -> dict[str, str]:
        """Tier id -> how this backend expresses the tier, for ``slogen explain``."""
        ...

    def plan_notes(self, project: Project) -> list[str]:
        """Remarks worth showing with a plan (e.g. tiers expressed in a fallback form)."""
        ...

    # Only backends whose capabilities declare ``history``:
    #
    # def history(self, project: Project, url: str | None) -> HistoryReader | str:
    #     """Where this backend's history is read from (``url``: a command-line override of
    #     the query endpoint), or why it cannot be read (what to set), for people."""


def uses(backend: str, slo: SLO) -> bool:
    """Whether the SLO's indicator names ``backend``."""
    return slo.indicator.source(backend) is not None


def target_label(settings: TargetSettings) -> str:
    """The name plans show for a target: ``files:<dir>`` or the target type."""
    if settings.type == "files":
        return f"files:{settings.option('dir', '')}"
    return settings.type
