"""Batch processing: objects → rows → Ray Data ``map_batches`` over extractor steps → documents.

``runner`` schedules a batch's collection parts and writes validated documents with lineage; ``engine``
drives Ray Data; ``rows`` builds the rows of the batch contract; ``harness`` runs a plugin through the
real engine for its author. May import: settings, errors, ids, catalog, storage, index, extractors.
"""
