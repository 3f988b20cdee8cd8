"""Spec files → typed model. All validation of user input happens here (or in the engine).

The loader lives in :mod:`slogen.spec.loader`; this package import stays light so the engine can
use the model without pulling in YAML parsing.
"""
