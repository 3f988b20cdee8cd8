"""Backends: one package each, behind one contract (:mod:`.contract`), listed once
(:mod:`.registry`). Shared pieces used by several backends live beside them: the files-target
store (:mod:`.filestore`) and the template fields every backend formats alike (:mod:`.common`).
"""
