"""slogen: SLO specs in, multiwindow multi-burn-rate alerts out."""

__version__ = "0.1.0"
