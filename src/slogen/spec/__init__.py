"""Spec files → typed model. All validation of user input happens here (or in the engine)."""

from slogen.spec.loader import load_project
from slogen.spec.model import SLO, Alerting, Indicator, Policy, Project, Service, Tier

__all__ = ["SLO", "Alerting", "Indicator", "Policy", "Project", "Service", "Tier", "load_project"]
