"""The ``warehouse`` command: ``app`` composes ``up`` (process supervision), ``commands`` (everyday
work through ``client``) and ``dagster`` (the Dagster processes beside the API). Nothing here is imported
by the rest of the package."""
