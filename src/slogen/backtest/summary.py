"""Policies side by side on the same history: what a team compares before changing one."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from slogen.backtest.report import Report


@dataclass(frozen=True)
class PolicyRow:
    """One policy's totals over one SLO (or, with ``slo`` empty, over every SLO)."""

    service: str
    slo: str
    backend: str
    policy: str
    firings: tuple[tuple[str, int], ...]  # (severity, firings)
    misses: int
    noise: int
    median_detection: float | None

    def as_dict(self) -> dict:
        return {
            "service": self.service,
            "slo": self.slo,
            "backend": self.backend,
            "policy": self.policy,
            "firings": dict(self.firings),
            "misses": self.misses,
            "noise": self.noise,
            "median_detection_seconds": self.median_detection,
        }


def policy_rows(report: Report) -> list[PolicyRow]:
    """Per SLO and backend, one row per policy; then one total row per policy."""
    rows: list[PolicyRow] = []
    totals: dict[str, tuple[dict[str, int], list[int], list[int]]] = {}
    for o in report.outcomes:
        firings = {sev: len(o.firings(sev)) for sev in o.severities}
        detections = [f.detection for f in o.firings() if f.detection is not None]
        rows.append(
            PolicyRow(
                o.service,
                o.slo,
                o.backend,
                o.policy,
                tuple(firings.items()),
                len(o.misses),
                o.noise,
                statistics.median(detections) if detections else None,
            )
        )
        counts, det, misc = totals.setdefault(o.policy, ({}, [], [0, 0]))
        for sev, n in firings.items():
            counts[sev] = counts.get(sev, 0) + n
        det.extend(detections)
        misc[0] += len(o.misses)
        misc[1] += o.noise
    if len({(o.service, o.slo, o.backend) for o in report.outcomes}) > 1:
        for policy, (counts, det, misc) in totals.items():
            rows.append(
                PolicyRow(
                    "",
                    "",
                    "",
                    policy,
                    tuple(counts.items()),
                    misc[0],
                    misc[1],
                    statistics.median(det) if det else None,
                )
            )
    return rows
