"""The burn-rate engine: pure arithmetic, no I/O, importable on its own.

``from slogen.engine import analyse_tier`` gives, for an objective, a compliance period and a
policy tier, the numbers every backend renders and ``slogen explain`` prints.
"""

from slogen.engine.burnrate import TierMath, analyse_slo, analyse_tier, default_short_window

__all__ = ["TierMath", "analyse_slo", "analyse_tier", "default_short_window"]
