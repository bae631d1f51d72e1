"""The official mixpeek SDK (1.3.783) runs the quickstart against the server, both surfaces."""

from __future__ import annotations

import time
import uuid

import pytest

pytestmark = [pytest.mark.sdk, pytest.mark.ray, pytest.mark.slow]


def _poll_task(get, task_id: str) -> str:
    for _ in range(600):
        status = get(task_id)
        if status in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"):
            return status
        time.sleep(0.3)
    raise AssertionError("task did not finish")


def test_wrapper_client_quickstart(live):
    from mixpeek import Mixpeek

    mp = Mixpeek(api_key=live.key, base_url=live.base_url + "/v1")
    ns = mp.namespaces.create(name="sdk-" + uuid.uuid4().hex[:6],
                              feature_extractors=[{"feature_extractor_name": "text_extractor", "version": "v1"}])
    assert ns["feature_extractors"][0]["feature_extractor_id"] == "text_extractor_v1"
    mp = Mixpeek(api_key=live.key, base_url=live.base_url + "/v1", namespace=ns["namespace_id"])
    bucket = mp.buckets.create(bucket_name="docs", bucket_schema={"properties": {"content": {"type": "text"}}})
    obj = mp.buckets.upload(bucket["bucket_id"], data="Espresso is coffee brewed under pressure.",
                            blob_property="content", blob_type="text")
    mp.buckets.upload(bucket["bucket_id"], data="Sailing boats use the wind to move.", blob_property="content",
                      blob_type="text")
    coll = mp.collections.create(collection_name="docs-col", source={"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
                                 feature_extractor={"feature_extractor_name": "text_extractor", "version": "v1",
                                                    "input_mappings": {"text": "content"}})
    trig = mp.collections.trigger(coll["collection_id"])
    assert _poll_task(lambda t: mp.tasks.get(t)["status"], trig["task_id"]) == "COMPLETED"
    uri = mp.collections.get(coll["collection_id"])["vector_indexes"][0]["feature_uri"]
    ret = mp.retrievers.create(retriever_name="sdk-search", collection_identifiers=[coll["collection_id"]],
                               input_schema={"query": {"type": "string", "required": True}},
                               stages=[{"stage_name": "search", "stage_type": "filter", "config": {
                                   "stage_id": "feature_search", "parameters": {"searches": [
                                       {"feature_uri": uri, "query": {"input_mode": "text", "text": "{{INPUT.query}}"}, "top_k": 10}],
                                       "final_top_k": 5, "fusion": "rrf"}}}])
    out = mp.retrievers.execute(ret["retriever_id"], inputs={"query": "a cup of coffee"})
    assert out["documents"][0]["source_object_id"] == obj["object_id"]
    assert mp.retrievers.list()["results"][0]["retriever_name"] == "sdk-search"


def test_generated_client_quickstart(live):
    import mixpeek
    from mixpeek.models import (
        BucketCreateRequest,
        CreateBatchRequest,
        CreateCollectionRequest,
        CreateNamespaceRequest,
        CreateObjectRequest,
        CreateRetrieverRequest,
        ExecuteRetrieverRequest,
        SubmitBatchRequest,
    )

    cfg = mixpeek.Configuration(host=live.base_url, access_token=live.key)
    api = mixpeek.ApiClient(cfg)
    ns = mixpeek.NamespacesApi(api).create_namespace(create_namespace_request=CreateNamespaceRequest.from_dict(
        {"namespace_name": "gen-" + uuid.uuid4().hex[:6],
         "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}]}))
    cfg.api_key["NamespaceHeader"] = ns.namespace_id
    bucket = mixpeek.BucketsApi(api).create_bucket(bucket_create_request=BucketCreateRequest.from_dict(
        {"bucket_name": "gen-bucket", "bucket_schema": {"properties": {"content": {"type": "text", "required": True},
                                                                        "category": {"type": "string"}}}}))
    objects = mixpeek.BucketObjectsApi(api)
    ids = []
    for cat, text in [("audio", "Wireless earbuds with noise cancellation"), ("food", "Fresh sourdough bread")]:
        o = objects.create_object_buckets(bucket_identifier=bucket.bucket_id, create_object_request=CreateObjectRequest.from_dict(
            {"category": cat, "blobs": [{"property": "content", "type": "text", "data": text}]}))
        ids.append(o.object_id)
    coll = mixpeek.CollectionsApi(api).create_collection(create_collection_request=CreateCollectionRequest.from_dict({
        "collection_name": "gen-col", "source": {"type": "bucket", "bucket_ids": [bucket.bucket_id]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}, "field_passthrough": [{"source_path": "category"}]}}))
    batches = mixpeek.BucketBatchesApi(api)
    batch = batches.create_batch_buckets_batches(bucket_identifier=bucket.bucket_id, create_batch_request=CreateBatchRequest(
        object_ids=ids, collection_ids=[coll.collection_id]))
    task = batches.submit_batch_buckets_batches(bucket_identifier=bucket.bucket_id, batch_id=batch.batch_id,
                                                submit_batch_request=SubmitBatchRequest(collection_ids=[coll.collection_id]))
    tasks = mixpeek.TasksApi(api)
    assert _poll_task(lambda t: tasks.get_task(task_id=t).status.value if hasattr(tasks.get_task(task_id=t).status, "value")
                      else tasks.get_task(task_id=t).status, task.task_id) == "COMPLETED"
    got = batches.get_batch_buckets_batches(bucket_identifier=bucket.bucket_id, batch_id=batch.batch_id)
    assert got.documents_written == 2
    uri = mixpeek.CollectionsApi(api).get_collection(collection_identifier=coll.collection_id).vector_indexes[0].feature_uri
    ret = mixpeek.RetrieversApi(api).create_retriever(create_retriever_request=CreateRetrieverRequest.from_dict({
        "retriever_name": "gen-search", "collection_identifiers": [coll.collection_id],
        "input_schema": {"query": {"type": "string", "required": True}},
        "stages": [{"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": uri, "query": {"input_mode": "text", "text": "{{INPUT.query}}"}, "top_k": 10}],
            "final_top_k": 5, "fusion": "rrf"}}}]}))
    out = mixpeek.RetrieversApi(api).execute_retriever(retriever_id=ret.retriever_id,
                                                       execute_retriever_request=ExecuteRetrieverRequest(inputs={"query": "headphones"}))
    assert out.status == "completed"
    assert out.documents[0]["category"] == "audio"
