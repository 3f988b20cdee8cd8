"""Other tools' SLO formats, in and out: OpenSLO v1 and Sloth.

Importers read the other format into slogen spec documents (plain dicts in the spec files'
shape), reporting every lossy step as a located warning; :mod:`.write` writes those documents as
spec files. Exporters render from the one spec model, like a backend does.
"""
