"""Dagster sensors (new objects, queued batches, run status); built out with the Dagster issue."""
