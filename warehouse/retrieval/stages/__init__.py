"""Retriever stages: typed, serialisable components with one ``run()`` contract.

Importing this package registers the engine's own stages in ``STAGES``; other packages register
theirs on import (``warehouse.enrichment`` adds ``taxonomy_enrich`` and ``document_enrich``).
"""

from warehouse.retrieval.stages import apply, llm, mmr, reduce, rerank, sort  # noqa: F401 - registers their stages
from warehouse.retrieval.stages.attribute_filter import AttributeFilterStage
from warehouse.retrieval.stages.base import STAGES, Stage, StageContext
from warehouse.retrieval.stages.feature_search import FeatureSearchStage
from warehouse.retrieval.stages.limit import LimitStage

__all__ = ["STAGES", "AttributeFilterStage", "FeatureSearchStage", "LimitStage", "Stage", "StageContext"]
