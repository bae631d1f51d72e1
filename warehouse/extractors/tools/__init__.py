"""Tools for plugin authors and for the host's gate: the linter (``lint``), the security scanner
(``scanner``) and the batch-contract checks (``batchlint``). Running a plugin through the real engine
(the harness) needs the batch engine, so it lives in ``warehouse.batch.harness``."""
