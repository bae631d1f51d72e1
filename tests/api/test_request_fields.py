"""Every documented request field changes the outcome or is refused (issue 17: no silent drops).

The test enumerates the OpenAPI document's request schemas and probes each top-level field of each against the live
server (``request_probes.py``): a valid call twice, then with the field set (or, where the call needs it, left out).
What each field did must match what this module declares of it:

- ``changed`` — the default: the response or the resource read back differs beyond the field's own echo;
- ``REFUSED`` — a 4xx that names the field (what the server cannot honour, or a mode that excludes it);
- ``STORED`` — kept on the resource and returned: names, descriptions, metadata, provenance the caller supplies;
- ``HOLDS_ALWAYS`` — asks for what the server does anyway (the reason says what);
- ``ALIASES`` — another spelling: sent instead of its canonical field, the outcome is the same;
- ``EFFECTS`` — its effect shows later (a batch, run, notification or request): the named test shows it, and the
  test must exist and send the field.

A new field, or one whose behaviour changed, fails here until it is declared: nothing accepted is dropped unseen.
"""

from __future__ import annotations

import ast
from collections import Counter
from functools import cache

import pytest

from tests.api import request_probes as probes
from tests.api.seeding import seed_namespace
from tests.conftest import ROOT

pytestmark = [pytest.mark.ray, pytest.mark.slow]

#: field names stored on their resource and returned by it (what they are for)
STORED_NAMES = {"description", "metadata", "tags", "name", "alert_name", "bucket_name", "collection_name",
                "retriever_name", "namespace_name", "taxonomy_name", "cluster_name", "webhook_name", "batch_name"}
#: per field: stored and returned, the whole of what the field does
STORED = {
    # provenance a caller writing its own documents supplies: kept in the document's lineage and payload
    **dict.fromkeys([f"CreateDocumentRequest.{f}" for f in (
        "content_hash", "lineage_chain", "lineage_path", "root_bucket_id", "root_object_id", "source_collection_id",
        "source_document_id", "source_object_id", "source_type")], "the document's provenance, as the caller gives it"),
    "CreateObjectRequest.key_prefix": "the object's key prefix", "UpdateObjectRequest.key_prefix": "the object's key prefix",
    "BatchDeleteDocumentsRequest.reason": "returned with the deletion and written to the server log",
    "CreateNamespaceRequest.namespace_id": "the namespace's id, chosen by the caller",
    "CreateUploadRequest.file_hash": "the upload's checksum (a second upload of the same hash is a duplicate)",
    "CreateNamespaceRequest.feature_extractors": "the namespace's extractors (GET shows them)",
    "UpdateNamespaceRequest.feature_extractors": "extractors added to the namespace's list (GET shows them)",
}
#: asks for what the server always does
HOLDS_ALWAYS = {
    "include_total": "every listing returns its total",
    "consistency": "reads are always strong: 'eventual' is met by a strong read",
    "skip_cache": "retriever executions are not cached: every execution reads the index",
    "SubmitBatchRequest.include_processing_history": "a batch's history is always kept (stats, logs)",
    "BatchExecuteRequest.concurrency": "how many queries run at once; the answers are the same",
    "PluginUploadRequest.file_name": "the archive's own name: any .zip is taken, another suffix refused",
    "batch_size": "how a materialization pages through the documents; what it writes is the same",
    "InferRequest.parameters": "handed as given to the plugin's realtime run_inference(inputs, parameters); the "
                               "probe's plugin (the docs' text_embed) takes none",
}
#: alternative spellings of a canonical field
ALIASES = set(probes.ALIASES) | {"AlertRequest.threshold", "ClusterRequest.feature_uri"}
#: fields whose effect shows after the call, and the test that shows it
_FX = "tests/api/test_field_effects.py::"
_DOCS = "tests/api/test_documents.py::"
_KEYS = "tests/api/test_api_keys.py::"
_UPL = "tests/api/test_uploads.py::"
_APPS = "tests/enrichment/test_applications.py::test_applications_enrich_each_new_document_and_fire_the_alert"
_CLU = "tests/enrichment/test_clusters.py::"
_TAX = "tests/enrichment/test_taxonomies.py::"
_VER = "tests/retrieval/test_retriever_versions.py::"
_HOOK = "tests/enrichment/test_webhooks.py::"
_BATCHING = _FX + "test_collection_ids_pick_which_collections_a_batch_runs_and_limit_how_many_objects"
_AFTER = _FX + "test_a_cluster_runs_after_batches_only_past_its_document_minimum_and_cooldown"
_AGAIN = _FX + "test_an_upload_url_expires_when_asked_and_skip_duplicates_false_uploads_the_same_file_again"
_CLONE = _FX + "test_a_clone_runs_with_the_collections_inputs_and_stages_it_was_given"
_FILTERED = _TAX + "test_execute_materializes_into_the_named_collections_only_the_documents_its_filters_match"
EFFECTS = {
    "AdhocExecuteRequest.input_schema": "tests/retrieval/test_execution.py::test_execute_checks_inputs_and_both_spellings",
    "AdhocExecuteRequest.limit": "tests/retrieval/test_hybrid.py::test_a_following_limit_is_pushed_into_the_engine_query",
    "AddObjectsRequest.object_ids": "tests/api/test_batch_housekeeping.py::"
                                    "test_rename_resubmit_delete_documents_and_delete_count_before_and_after",
    "AlertRequest.collection_id": _HOOK + "test_alert_fires_on_new_documents_and_respects_cooldown",
    "AlertRequest.collection_ids": _FX + "test_an_alert_reports_at_most_max_matches_and_leaves_documents_out_"
                                         "without_include_matches",
    "AlertRequest.condition": _HOOK + "test_alert_fires_on_new_documents_and_respects_cooldown",
    "AlertRequest.cooldown_seconds": _HOOK + "test_alert_fires_on_new_documents_and_respects_cooldown",
    "AlertRequest.enabled": _FX + "test_a_disabled_alert_is_not_evaluated_after_batches",
    "AlertRequest.inputs": _APPS, "AlertRequest.min_count": _APPS, "AlertRequest.trigger_on": _APPS,
    "AlertRequest.notification_config": _FX + "test_an_alert_reports_at_most_max_matches_and_leaves_documents_out_"
                                              "without_include_matches",
    "AlertRequest.max_matches": _FX + "test_an_alert_reports_at_most_max_matches_and_leaves_documents_out_without_"
                                      "include_matches",
    "AlertRequest.notification": _HOOK + "test_alert_fires_on_new_documents_and_respects_cooldown",
    "AlertRequest.retriever_id": _APPS, "AlertRequest.source": _APPS,
    # apply-taxonomy and execute share the materialization (routes/taxonomies.py: _materialize_task)
    "ApplyTaxonomyRequest.scroll_filters": _FILTERED,
    "TaxonomyExecuteRequest #materialize.collection_ids": _FILTERED,
    "TaxonomyExecuteRequest #materialize.scroll_filters": _FILTERED,
    "AdhocExecuteRequest.stages": _VER + "test_a_time_budget_stops_the_stages_it_leaves_no_time_for",
    "ApplyTaxonomyRequest.taxonomy_id": _TAX + "test_flat_taxonomy_materializes_topics_into_documents",
    "BatchDeleteDocumentsRequest.document_ids": _DOCS + "test_delete_by_id_and_by_filter_counts_before_and_after",
    "BatchUpdateDocumentsRequest.updates": _DOCS + "test_batch_update_by_ids_and_by_filter",
    "BulkSubmitRequest.chunk_size": "tests/api/test_batch_housekeeping.py::"
                                    "test_diagnose_groups_failures_and_bulk_submit_chunks_the_bucket",
    "BulkSubmitRequest.max_objects": "tests/api/test_batch_housekeeping.py::"
                                     "test_diagnose_groups_failures_and_bulk_submit_chunks_the_bucket",
    "BulkSubmitRequest.collection_ids": _BATCHING,
    "CloneCollectionRequest.enabled": "tests/api/test_updates.py::test_a_collection_changes_what_it_may_and_refuses_"
                                      "its_extractor",
    "CloneCollectionRequest.feature_extractor": "tests/api/test_namespace_reads.py::test_a_cloned_collection_is_"
                                                "empty_with_the_same_extractor_and_overrides_are_checked",
    "CloneCollectionRequest.source": "tests/api/test_namespace_reads.py::test_a_cloned_collection_is_empty_with_the_"
                                     "same_extractor_and_overrides_are_checked",
    "CloneRetrieverRequest.budget_limits": _VER + "test_a_time_budget_stops_the_stages_it_leaves_no_time_for",
    "CloneRetrieverRequest.collection_identifiers": _CLONE, "CloneRetrieverRequest.input_schema": _CLONE,
    "CloneRetrieverRequest.stages": _CLONE,
    "ClusterExecuteRequest.assignment_threshold": _FX + "test_a_cluster_labels_its_groups_from_text_field_with_num_"
                                                        "keywords",
    "ClusterExecuteRequest.filters": _CLU + "test_execute_overrides_apply_to_one_run_and_unsupported_ones_are_refused",
    "ClusterExecuteRequest.llm_labeling": _CLU + "test_llm_labels",
    "ClusterExecuteRequest.sample_size": _CLU + "test_execute_overrides_apply_to_one_run_and_unsupported_ones_are_"
                                                "refused",
    "ClusterExecuteRequest.vis_n_components": _CLU + "test_execute_overrides_apply_to_one_run_and_unsupported_ones_"
                                                     "are_refused",
    "ClusterRequest.algorithm": _CLU + "test_hdbscan_with_umap_and_noise",
    "ClusterRequest.auto_execute_cooldown_seconds": _AFTER, "ClusterRequest.auto_execute_min_documents": _AFTER,
    "ClusterRequest.auto_execute_on_batch": "tests/assets/test_enrichment.py::test_taxonomy_and_cluster_partitions_"
                                            "run_after_batches",
    "ClusterRequest.collection_id": _CLU + "test_hdbscan_with_umap_and_noise",
    "ClusterRequest.collection_ids": _CLU + "test_kmeans_groups_news_by_topic",
    "ClusterRequest.dimension_reduction": _CLU + "test_hdbscan_with_umap_and_noise",
    "ClusterRequest.filters": _CLU + "test_execute_overrides_apply_to_one_run_and_unsupported_ones_are_refused",
    "ClusterRequest.llm_labeling": _CLU + "test_llm_labels",
    "ClusterRequest.num_keywords": _FX + "test_a_cluster_labels_its_groups_from_text_field_with_num_keywords",
    "ClusterRequest.sample_size": _CLU + "test_execute_overrides_apply_to_one_run_and_unsupported_ones_are_refused",
    "ClusterRequest.text_field": _FX + "test_a_cluster_labels_its_groups_from_text_field_with_num_keywords",
    "ClusterRequest.vector_config": _CLU + "test_kmeans_groups_news_by_topic",
    "CreateApiKeyRequest.allowed_origins": _FX + "test_a_key_with_allowed_origins_is_refused_from_another_origin",
    "CreateApiKeyRequest.expires_at": _KEYS + "test_an_expired_key_stops_working",
    "CreateApiKeyRequest.permissions": _KEYS + "test_a_read_only_key_scoped_to_one_namespace",
    "CreateApiKeyRequest.scopes": _KEYS + "test_a_read_only_key_scoped_to_one_namespace",
    "CreateBatchRequest.collection_ids": "tests/batch/test_multi_tier.py::test_a_downstream_collection_runs_on_what_"
                                         "its_upstream_wrote_with_lineage_through_both",
    "CreateBatchRequest.limit": _BATCHING,
    "CreateBucketRequest.bucket_schema": "tests/api/test_updates.py::test_a_bucket_is_renamed_and_its_schema_only_grows",
    "CreateBucketRequest.unique_key": "tests/api/test_unique_keys.py::test_upsert_under_a_unique_key_replaces_the_"
                                      "object_and_its_documents",
    "CreateCollectionRequest.alert_applications": _APPS,
    "CreateCollectionRequest.cluster_applications": _CLU + "test_a_collection_created_with_cluster_applications_is_"
                                                           "clustered_after_its_batches",
    "CreateCollectionRequest.enabled": "tests/api/test_updates.py::test_a_collection_changes_what_it_may_and_refuses_"
                                       "its_extractor",
    "CreateCollectionRequest.feature_extractor": "tests/api/test_spellings.py::test_create_spellings_land_in_the_"
                                                 "canonical_fields",
    "CreateCollectionRequest.retriever_enrichments": _APPS,
    "CreateCollectionRequest.schedule": "tests/sensors/test_schedules.py::test_a_due_schedule_becomes_a_queued_batch_"
                                        "and_a_run_request",
    "CreateCollectionRequest.source": "tests/batch/test_multi_tier.py::test_a_downstream_collection_runs_on_what_its_"
                                      "upstream_wrote_with_lineage_through_both",
    "CreateCollectionRequest.taxonomy_applications": _TAX + "test_a_collection_created_with_taxonomy_applications_is_"
                                                            "enriched_after_its_batches",
    "CreateDocumentRequest.vectors": _DOCS + "test_a_created_document_is_stored_searchable_and_counted",
    "CreateNamespaceRequest.payload_indexes": "tests/retrieval/test_payload_indexes.py::test_namespace_and_"
                                              "passthrough_fields_are_indexed",
    "CreateObjectRequest.canonicalize_source": "tests/catalog/test_mirroring.py::test_mirrored_blobs_are_copied_"
                                               "checked_and_failures_named",
    "CreateObjectRequest.idempotency_key": "tests/api/test_unique_keys.py::test_an_idempotency_key_returns_the_"
                                           "first_object",
    "CreateRetrieverRequest.budget_limits": _VER + "test_a_time_budget_stops_the_stages_it_leaves_no_time_for",
    "CreateRetrieverRequest.collection_identifiers": "tests/retrieval/test_hybrid.py::test_a_following_limit_is_"
                                                     "pushed_into_the_engine_query",
    "CreateRetrieverRequest.input_schema": "tests/retrieval/test_execution.py::test_execute_checks_inputs_and_both_"
                                           "spellings",
    "CreateRetrieverRequest.stages": _VER + "test_a_time_budget_stops_the_stages_it_leaves_no_time_for",
    "CreateUploadRequest.blob_property": _UPL + "test_a_photo_goes_from_presigned_url_to_an_object_and_a_batch",
    "CreateUploadRequest.blob_type": _UPL + "test_a_photo_goes_from_presigned_url_to_an_object_and_a_batch",
    "CreateUploadRequest.content_type": _UPL + "test_upload_mistakes_each_get_a_precise_error",
    "CreateUploadRequest.create_object_on_confirm": _FX + "test_create_object_on_confirm_false_stores_the_file_"
                                                          "without_an_object",
    "CreateUploadRequest.file_size_bytes": _UPL + "test_upload_mistakes_each_get_a_precise_error",
    "CreateUploadRequest.filename": _UPL + "test_upload_mistakes_each_get_a_precise_error",
    "CreateUploadRequest.object_metadata": _UPL + "test_a_photo_goes_from_presigned_url_to_an_object_and_a_batch",
    "CreateUploadRequest.presigned_url_expiration": _AGAIN, "CreateUploadRequest.skip_duplicates": _AGAIN,
    "PatchRetrieverRequest.collection_identifiers": _VER + "test_every_edit_is_a_version_that_executions_name_and_a_"
                                                           "rollback_restores",
    "PatchRetrieverRequest.input_schema": _VER + "test_a_non_breaking_schema_change_and_a_rename_are_versions_and_a_"
                                                 "taken_name_is_a_conflict",
    "PatchRetrieverRequest.stages": _VER + "test_every_edit_is_a_version_that_executions_name_and_a_rollback_restores",
    "PluginUploadRequest.file_size_bytes": "tests/api/test_plugins.py::test_an_archive_past_the_size_limit_is_"
                                           "refused_before_it_is_stored",
    "PluginUploadRequest.presigned_url_expiration": "tests/api/test_plugins.py::test_an_expired_upload_url_is_refused",
    "PluginUploadRequest.version": "tests/api/test_plugins.py::test_the_docs_082_sequence_and_the_sdk_submission_routes",
    "RetryBatchRequest.max_retry_count": "tests/api/test_unique_keys.py::test_retry_takes_the_failed_objects_only_"
                                         "and_counts_documents",
    "RetryBatchRequest.retry_mode": "tests/api/test_unique_keys.py::test_retry_takes_the_failed_objects_only_and_"
                                    "counts_documents",
    "SubmitBatchRequest.collection_ids": _BATCHING,
    "TaxonomyExecuteRequest #materialize.collection_id": _TAX + "test_flat_taxonomy_materializes_topics_into_documents",
    "TaxonomyRequest.collection_id": _TAX + "test_flat_taxonomy_materializes_topics_into_documents",
    "TaxonomyRequest.enrichment_fields": _TAX + "test_flat_taxonomy_materializes_topics_into_documents",
    "TaxonomyRequest.execution_mode": _TAX + "test_execution_mode_decides_whether_a_taxonomy_runs_after_batches",
    "TaxonomyRequest.feature_uri": _TAX + "test_linear_probe_and_on_demand_stage",
    "TaxonomyRequest.inference_strategy": _TAX + "test_linear_probe_and_on_demand_stage",
    "TaxonomyRequest.input_mappings": _TAX + "test_flat_taxonomy_materializes_topics_into_documents",
    "TaxonomyRequest.reference_collection_id": _FILTERED,
    "TaxonomyRequest.retriever_id": _TAX + "test_flat_taxonomy_materializes_topics_into_documents",
    "TaxonomyRequest.source_collection": "tests/assets/test_enrichment.py::test_taxonomy_and_cluster_partitions_run_"
                                         "after_batches",
    "TaxonomyRequest.target_collection_ids": "tests/assets/test_enrichment.py::test_taxonomy_and_cluster_partitions_"
                                             "run_after_batches",
    "TaxonomyRequest.taxonomy_type": _TAX + "test_hierarchical_paths_are_consistent",
    "TaxonomyRequest.threshold": _TAX + "test_flat_taxonomy_materializes_topics_into_documents",
    "TaxonomyRequest.top_k": _TAX + "test_linear_probe_and_on_demand_stage",
    "TriggerCollectionRequest.include_buckets": _FX + "test_a_trigger_with_include_buckets_takes_only_those_buckets_"
                                                      "objects",
    "UpdateApiKeyRequest.allowed_origins": _FX + "test_a_key_with_allowed_origins_is_refused_from_another_origin",
    "UpdateApiKeyRequest.expires_at": _KEYS + "test_an_expired_key_stops_working",
    "UpdateApiKeyRequest.permissions": _KEYS + "test_a_read_only_key_scoped_to_one_namespace",
    "UpdateApiKeyRequest.scopes": _KEYS + "test_a_read_only_key_scoped_to_one_namespace",
    "UpdateBucketRequest.bucket_schema": "tests/api/test_updates.py::test_a_bucket_is_renamed_and_its_schema_only_grows",
    "UpdateCollectionRequest.alert_applications": _APPS,
    "UpdateCollectionRequest.enabled": "tests/api/test_updates.py::test_a_collection_changes_what_it_may_and_refuses_"
                                       "its_extractor",
    "UpdateCollectionRequest.feature_extractor": "tests/api/test_updates.py::test_a_collection_changes_what_it_may_"
                                                 "and_refuses_its_extractor",
    "UpdateCollectionRequest.retriever_enrichments": _APPS,
    "UpdateDocumentRequest.vectors": _DOCS + "test_patch_merges_put_replaces_and_system_fields_stay",
    "UpdateNamespaceRequest.payload_indexes": "tests/api/test_updates.py::test_a_namespace_is_renamed_described_and_"
                                              "reindexed",
    "WebhookRequest.channels": _HOOK + "test_failing_receiver_gives_up_and_never_blocks_a_batch",
    "WebhookRequest.event_types": _HOOK + "test_signed_retried_deliveries",
    "WebhookRequest.headers": _HOOK + "test_signed_retried_deliveries",
    "WebhookRequest.is_active": _FX + "test_an_inactive_webhook_gets_no_deliveries_and_namespace_ids_keep_other_"
                                      "namespaces_out",
    "WebhookRequest.namespace_ids": _FX + "test_an_inactive_webhook_gets_no_deliveries_and_namespace_ids_keep_other_"
                                          "namespaces_out",
    "WebhookRequest.signing_secret": _HOOK + "test_signed_retried_deliveries",
    "WebhookRequest.timeout": _HOOK + "test_failing_receiver_gives_up_and_never_blocks_a_batch",
    "WebhookRequest.url": _HOOK + "test_signed_retried_deliveries",
}
#: what each listing honours beyond paging (limit, offset, page, page_size, include_total); the rest is refused
LISTINGS = {
    "/v1/namespaces/list": {"search"}, "/v1/buckets/list": {"search"}, "/v1/collections/list": {"search"},
    "/v1/retrievers/list": {"search"},
    "/v1/buckets/{bucket}/objects/list": {"filters", "search", "sort", "sorts", "select"},
    "/v1/buckets/{bucket}/batches/list": set(), "/v1/buckets/{bucket}/uploads/list": {"search", "filters"},
    "/v1/collections/{collection}/documents/list": {"filters", "cursor", "return_vectors"},
}
PAGING = {"limit", "offset", "page", "page_size"}
#: refused by design: what this server cannot honour, or a mode of the call that excludes the field
REFUSED = {
    *(f"{s}.{f}" for s in ("AdhocExecuteRequest", "ExecuteRetrieverRequest")
      for f in ("expand", "return_presigned_urls", "return_vectors", "target_collection_id", "write_token")),
    "AlertRequest.namespace_selector", "AlertRequest.system_condition", "AlertRequest.renotify_interval_seconds",
    "ApplyTaxonomyRequest.budget_limits", "ApplyTaxonomyRequest.parallelism",
    "BatchExecuteRequest.return_presigned_urls", "BatchExecuteRequest.return_vectors", "BatchExecuteRequest.stream",
    "BatchGetDocumentsRequest.return_presigned_urls", "ExportRequest.destination",
    "BulkSubmitRequest.dedup_strategy", "BulkSubmitRequest.filters", "CreateBatchRequest.dedup_strategy",
    "CreateBatchRequest.filters", "TriggerCollectionRequest.dedup_strategy",
    "TriggerCollectionRequest.include_collections", "TriggerCollectionRequest.reembed",
    "TriggerCollectionRequest.source_filters",
    *(f"{s}.{f}" for s in ("CreateRetrieverRequest", "PatchRetrieverRequest")
      for f in ("display_config", "marketplace_listing_id", "requires_subscription", "visibility")),
    "CloneRetrieverRequest.display_config", "PatchRetrieverRequest.budget_limits",
    "ClusterExecuteRequest.defer_visualization", "ClusterExecuteRequest.layout_stability",
    "ClusterExecuteRequest.mode", "ClusterExecuteRequest.source_execution_ids",
    "ClusterRequest.attribute_config", "ClusterRequest.cluster_type", "ClusterRequest.enrich_source_collection",
    "ClusterRequest.source_cluster_ids", "ClusterRequest.source_enrichment_config",
    # checks of what was uploaded: a value that does not match is refused
    "ConfirmBlobUploadRequest.etag", "ConfirmBlobUploadRequest.file_size_bytes", "ConfirmUploadRequest.etag",
    "ConfirmUploadRequest.file_size_bytes",
    "CreateApiKeyRequest.principal_id", "CreateApiKeyRequest.rate_limit_override",
    "UpdateApiKeyRequest.rate_limit_override",
    *(f"CreateBucketRequest.{f}" for f in ("destination", "ingest_filter", "source_adapter", "storage_class")),
    *(f"UpdateBucketRequest.{f}" for f in ("destination", "ingest_filter", "storage_class", "unique_key")),
    "CreateCollectionRequest.embedding_task", "CreateCollectionRequest.features", "CreateCollectionRequest.input_schema",
    "CreateCollectionRequest.retriever_transform", "UpdateCollectionRequest.source",
    "CreateDocumentRequest.collection_id", "CreateDocumentRequest.document_schema_version",
    "CreateDocumentRequest.features",
    "CreateNamespaceRequest.auto_create_indexes", "CreateNamespaceRequest.mode", "CreateNamespaceRequest.ttl_seconds",
    "CreateNamespaceRequest.vector_configs",
    *(f"UpdateNamespaceRequest.{f}" for f in (
        "adaptive_indexing", "auto_create_indexes", "cost_cap_override", "expires_at", "infrastructure", "pinned",
        "repair_vectors", "spend_budget", "tiering", "trusted_issuers", "ttl_seconds")),
    "CreateObjectRequest.edges", "CreateObjectRequest.force_remirror", "CreateObjectRequest.skip_duplicates",
    "UpdateObjectRequest.skip_duplicates",
    *(f"NamespaceDocumentsRequest.{f}" for f in (
        "expand", "group_by", "partition", "return_presigned_urls", "return_vector_names", "search", "select", "sort",
        "sorts")),
    "RetryBatchRequest.tier_nums", "SubmitBatchRequest.webhook_url",
    # classifying documents (the baseline) excludes the materializing options, and the other way round
    *(f"TaxonomyExecuteRequest.{f}" for f in (
        "batch_size", "budget_limits", "collection_id", "collection_ids", "parallelism", "scroll_filters")),
    *(f"TaxonomyExecuteRequest #materialize.{f}" for f in (
        "budget_limits", "parallelism", "documents", "document_ids", "inputs")),
    "TaxonomyRequest.config", "TaxonomyRequest.hierarchical_nodes", "TaxonomyRequest.path_field",
    "TaxonomyRequest.path_separator", "WebhookRequest.resource_types",
}


def expected(key: str) -> set[str]:
    """What the probe of ``key`` (``Schema[ #variant].field`` or ``ListRequest /path.field``) may say."""
    schema, field = key.rsplit(".", 1)
    if schema.startswith("ListRequest "):
        path = schema.split(" ", 1)[1]
        if field == "include_total":
            return {"none"}
        if field in PAGING or field in LISTINGS[path]:
            return {"changed", "echoed"}
        return {"refused"}
    if key in REFUSED:
        return {"refused"}
    if key in ALIASES:
        return {"none"}
    if key in HOLDS_ALWAYS or field in HOLDS_ALWAYS:
        return {"none", "echoed"}
    if key in EFFECTS:
        return {"changed", "echoed", "none", "refused"}
    if key in STORED or field in STORED_NAMES:
        return {"echoed", "changed"}
    return {"changed"}


@cache
def _test_source(node_id: str) -> str | None:
    """The test function's source, with its module's fixtures that it asks for (where a shared setup sends it)."""
    path, name = node_id.split("::")
    source = (ROOT / path).read_text()
    functions = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    test = functions.get(name)
    if test is None:
        return None
    fixtures = [functions[a.arg] for a in test.args.args if a.arg in functions]
    return "\n".join(ast.get_source_segment(source, n) for n in [test, *fixtures])


def test_every_effect_is_shown_by_a_test_that_sends_the_field():
    missing = {k: t for k, t in EFFECTS.items() if _test_source(t) is None}
    assert not missing, f"no such test: {missing}"
    silent = {k: t for k, t in EFFECTS.items()
              if not any(form.format(k.rsplit(".", 1)[1]) in _test_source(t) for form in ('"{}"', "{}="))}
    assert not silent, f"these tests never send the field they are named for: {silent}"


def test_every_documented_request_field_changes_the_outcome_or_is_refused(live):
    ns, client = live.new_namespace()
    openapi = client.get("/openapi.json").json()
    components = openapi["components"]["schemas"]
    bodies = set()
    for methods in openapi["paths"].values():
        for op in methods.values():
            media = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if media:
                schema = media["schema"]
                bodies |= {o["$ref"].rsplit("/", 1)[-1] for o in schema.get("anyOf", [schema]) if "$ref" in o}
    without = bodies - {key.split(" ", 1)[0] for key in probes.BASELINES}
    assert not without, f"request schemas without a baseline call in request_probes.BASELINES: {sorted(without)}"

    ctx = probes.Ctx(client, seed_namespace(client, "fields"), ns)
    for _ in range(3):  # limits, offsets and cursors need a few documents to page through
        ctx.document()
    results = {}
    try:
        for key in sorted(probes.BASELINES):
            for field_name, prop in components[key.split(" ", 1)[0]].get("properties", {}).items():
                results[f"{key}.{field_name}"] = probes.probe(ctx, key, field_name, prop, components)
    finally:
        ctx.remove_webhooks()

    print(f"\n{len(results)} request fields probed in {len(bodies)} request schemas "
          f"({len(probes.BASELINES)} baseline calls): {dict(Counter(kind for kind, _ in results.values()))}")
    wrong = {k: (kind, why[:200]) for k, (kind, why) in results.items() if kind not in expected(k)}
    assert not wrong, "\n".join(f"{k}: {kind} (declared {sorted(expected(k))}) {why}" for k, (kind, why) in
                                sorted(wrong.items()))
    declared = set(REFUSED) | set(EFFECTS) | set(STORED) | ALIASES | {k for k in HOLDS_ALWAYS if "." in k}
    stale = sorted(declared - set(results))
    assert not stale, f"declared, but no such request field: {stale}"
