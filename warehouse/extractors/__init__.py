"""Feature extractors: the plugin SDK and the host side that loads plugins.

``sdk`` is what plugins import (a facade over ``steps``, ``helpers`` and ``models``); ``manifest``,
``loader``, ``registry`` and ``compat`` load plugin folders (Mixpeek's import paths included);
``chunking`` splits text; ``tools`` lint and scan plugins; ``builtin`` holds the extractors that ship,
written with the same SDK. May import: settings, errors, ids, llm, storage. Never batch or above.
"""
