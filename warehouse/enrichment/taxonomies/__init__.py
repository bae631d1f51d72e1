"""Taxonomies: matching documents to labelled reference documents (flat) or to a tree of node
collections (hierarchical), and copying the match's fields into the documents.

A **flat** taxonomy's nodes are the documents of a reference collection; each carries its label in a
payload field (``enrichment_fields[].field_path``). A target document gets the best matching
reference (above ``threshold``) and the configured fields are copied into it (``replace`` or
``append``). Two ways to match:

* ``inference_strategy: "retriever"`` (default) — the taxonomy's retriever, with inputs mapped from
  the target document. When the retriever is one dense ``feature_search`` (the usual case) every
  page of documents becomes one batched engine query, and a target indexed with the same feature
  searches with its stored vector (no re-embedding); any other retriever runs per document.
* ``inference_strategy: "linear_probe"`` — a logistic-regression classifier fitted on the reference
  documents' vectors (few-shot: ~10 references per label are enough); the score is its probability.

A **hierarchical** taxonomy's nodes are collections (``hierarchical_nodes[]`` with
``parent_collection_id``); a document descends from the roots, and a child is only considered under
the node chosen at the level above, so the path is always consistent. The path goes into
``path_field`` joined by ``path_separator``.

Every assignment is also recorded under ``taxonomies.<taxonomy_id>`` in the document's payload:
label, score, node, path, taxonomy version.
"""

from warehouse.enrichment.taxonomies.config import (
    MERGE_MODES,
    STRATEGIES,
    Plan,
    after_batch_targets,
    normalize_config,
    parse_request,
    resolve,
)
from warehouse.enrichment.taxonomies.engine import Match, classify, match_documents, match_view
from warehouse.enrichment.taxonomies.materialize import materialize, updates_for

__all__ = ["MERGE_MODES", "STRATEGIES", "Match", "Plan", "after_batch_targets", "classify", "match_documents", "match_view", "materialize",
           "normalize_config", "parse_request", "resolve", "updates_for"]
