"""The retriever engine: ``pipeline`` (plan and run the stages, with push-downs into one engine query),
``stages`` (the stage registry and the engine's own stages), ``filters``, ``templates``,
``documents`` (index hits as documents), query ``inference`` (in process or on Ray Serve via
``serving``) and the LLM client (``llm``).

No HTTP here. May import: settings, errors, ids, llm, catalog, storage, index, extractors, batch.
Never ``enrichment``: it registers its own stages.
"""
