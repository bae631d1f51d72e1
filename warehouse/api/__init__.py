"""The HTTP API (FastAPI, the Mixpeek v1 shapes): thin routes over the domain.

Owns the app and its middleware (``app``), request dependencies (``deps``: services, caller, namespace),
the error envelope (``errors``: maps :class:`warehouse.errors.WarehouseError` and validation errors),
request bodies (``schemas``), response shapes (``views``), one route module per resource (``routes``)
and the index owner's internal endpoints (``internal``). A route parses, calls one domain function,
renders. May import everything else; nothing but ``warehouse.cli.up`` (which serves it) imports it.
"""
