"""Enrichment: what is added to documents after they are written, and what is told about them.

Owns taxonomies (classifying documents against labelled references or a tree of collections), clusters
(grouping a collection's documents, with labels and a 2-D layout), alerts (conditions on new
documents), webhooks (signed event delivery) and the runs that record each execution. It registers
its retriever stages (``taxonomy_enrich``, ``document_enrich``) in the stage registry on import.

May import: settings, errors, ids, catalog, storage, index, extractors, batch, retrieval. Never the API.
"""

from warehouse.enrichment import stages  # noqa: F401 - registers taxonomy_enrich and document_enrich
