"""Batch processing: objects → rows → Ray Data ``map_batches`` over extractor steps → documents."""
