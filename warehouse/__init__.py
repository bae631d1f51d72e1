"""Warehouse: a self-hosted multimodal data warehouse that speaks the Mixpeek v1 API."""

__version__ = "0.1.0"
