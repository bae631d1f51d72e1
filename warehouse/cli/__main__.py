"""``python -m warehouse.cli``: the ``warehouse`` command without its console script."""

from warehouse.cli.app import main

main()
