"""The ``warehouse`` command: ``app`` composes ``up`` (process supervision: the API server, ``dagster`` beside
it, the demo corpus), ``commands`` (everyday work through ``client``) and the offline plugin tools.

May import everything; nothing imports it (``up`` is the one module outside ``api`` that serves the app).
"""

from warehouse.cli.app import app, main

__all__ = ["app", "main"]
