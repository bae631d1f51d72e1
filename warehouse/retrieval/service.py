"""The components one API process holds: catalog, object store, index, extractors, batch runner."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from warehouse.batch.runner import BatchRunner
from warehouse.catalog import Catalog
from warehouse.extractors.registry import ExtractorRegistry
from warehouse.index import IndexStore, make_index_store
from warehouse.retrieval.inference import QueryInference
from warehouse.settings import Settings
from warehouse.storage import ObjectStore, make_object_store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    objects: ObjectStore
    index: IndexStore
    registry: ExtractorRegistry
    runner: BatchRunner
    inference: QueryInference

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        catalog = Catalog(settings.catalog_url)
        index = make_index_store(settings)
        registry = ExtractorRegistry([settings.home_dir / "extractors"])
        for folder, error in registry.errors.items():
            log.error("extractor at %s was not loaded: %s", folder, error)
        runner = BatchRunner(catalog, registry, index, settings)
        return cls(settings, catalog, make_object_store(settings), index, registry, runner, QueryInference(registry))

    def close(self) -> None:
        self.runner.shutdown()
        self.index.close()
        self.catalog.dispose()
