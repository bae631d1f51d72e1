"""Partitioned Dagster assets (bucket objects, collection documents); built out with the Dagster issue."""
