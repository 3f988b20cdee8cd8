"""``slogen docs``: one Markdown SLO document per service, in the shape of the SRE Workbook's
example SLO document and error budget policy (appendices A and B).

:mod:`~slogen.docs.compute` gathers what a document says as data (the numbers are explain's),
:mod:`~slogen.docs.implementation` how each backend implements an SLO, and
:mod:`~slogen.docs.render` turns the data into Markdown through ``templates/docs/``.
"""

from __future__ import annotations

from slogen.docs.compute import service_document
from slogen.docs.render import documents, render_document, write_documents

__all__ = ["documents", "render_document", "service_document", "write_documents"]
