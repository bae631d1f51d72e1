"""Warehouse: a self-hosted multimodal data warehouse that speaks the Mixpeek v1 API.

The packages, in the order imports may point (docs/architecture.md has the map; tests/test_layout.py
checks it): ``settings``/``errors``/``ids``/``llm`` → ``catalog``, ``storage``, ``index``,
``orchestration`` → ``extractors`` → ``batch`` → ``retrieval`` → ``enrichment`` → ``services`` →
``api``, ``assets``, ``sensors``, ``resources``, ``cli``.
"""

__version__ = "0.1.0"
