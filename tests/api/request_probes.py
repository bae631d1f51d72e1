"""Probing one documented request field at a time against a live server (``test_request_fields.py``).

For each request schema of the OpenAPI document there is a *baseline*: a valid call of one of its operations,
made on resources created for that call (so a probe never changes what another probe sees). A field is probed by
making the baseline call twice as it is (what differs between those two is noise: ids, times) and once with the
field set to a valid value that is not its default; the outcome is the response plus, where the call makes or
changes a resource, that resource read back. The probe says what the field did:

- ``refused``: a 4xx whose error names the field;
- ``changed``: the outcome differs beyond noise and beyond the field's own value being echoed back;
- ``echoed``: the only difference is the field's own value, stored and shown;
- ``none``: no difference at all;
- ``error``: a 4xx that does not name the field, or a 5xx (a bad probe or a bug: the test fails on it).
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.conftest import ROOT

TEXT_EMBED = ROOT / "examples" / "extractors" / "text_embed"
TEXT_SCHEMA = {"properties": {"content": {"type": "text"}, "title": {"type": "string"}}}


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any]
    #: the GET that reads back what the call made or changed (given its response), or None: the response is all
    read_back: Callable[[dict[str, Any]], str | None] | None = None
    #: ids of the resources made for this call, for probe values that must belong to them
    res: dict[str, str] = field(default_factory=dict)
    #: the baseline's key in BASELINES (set by ``probe``)
    key: str = ""


@dataclass
class Ctx:
    """A seeded namespace (``tests.api.seeding.seed_namespace``) and factories for fresh resources in it."""

    client: httpx.Client
    seeded: dict[str, dict]
    namespace: str
    made: dict[str, Any] = field(default_factory=dict)

    def post(self, path: str, body: dict | None = None, **kwargs) -> dict:
        resp = self.client.post(path, json=body if body is not None else {}, **kwargs)
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:500])
        return resp.json()

    @staticmethod
    def name(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def namespace_id(self) -> str:
        if "namespace_id" not in self.made:
            self.made["namespace_id"] = self.client.get(f"/v1/namespaces/{self.namespace}").json()["namespace_id"]
        return self.made["namespace_id"]

    def remove_webhooks(self) -> None:
        """Webhooks belong to the organisation, not the namespace: the probes' own are deleted when they are done
        (left behind, every later test's events would be delivered to them too)."""
        hooks, offset = [], 0
        while page := self.client.post("/v1/organizations/webhooks/list",
                                       json={"limit": 100, "offset": offset}).json()["results"]:
            hooks, offset = hooks + page, offset + len(page)
        for hook in hooks:
            if _GENERATED.fullmatch(hook["webhook_name"] or ""):
                assert self.client.delete(f"/v1/organizations/webhooks/{hook['webhook_id']}").status_code < 300

    def bucket(self) -> dict:
        return self.post("/v1/buckets", {"bucket_name": self.name("pb"), "bucket_schema": TEXT_SCHEMA})

    def obj(self, bucket_id: str, text: str = "Probes check one field at a time.") -> dict:
        return self.post(f"/v1/buckets/{bucket_id}/objects", {"title": "t", "blobs": [
            {"property": "content", "type": "text", "data": text}]})

    def collection(self, bucket_id: str) -> dict:
        return self.post("/v1/collections", {
            "collection_name": self.name("pc"), "source": {"type": "bucket", "bucket_ids": [bucket_id]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "content"}}})

    def retriever(self) -> dict:
        return self.post("/v1/retrievers", {"retriever_name": self.name("pr"), **self.search_stages()})

    def search_stages(self) -> dict:
        coll = self.seeded["collection"]
        return {"collection_identifiers": [coll["collection_id"]], "input_schema": {"query": {"type": "string"}},
                "stages": [{"stage_name": "s", "stage_type": "filter", "config": {
                    "stage_id": "feature_search", "parameters": {"searches": [{
                        "feature_uri": coll["vector_indexes"][0]["feature_uri"],
                        "query": {"input_mode": "text", "text": "{{INPUT.query}}"}, "top_k": 5}],
                        "final_top_k": 5}}}]}

    def draft_batch(self) -> tuple[dict, dict]:
        bucket = self.bucket()
        self.collection(bucket["bucket_id"])
        obj = self.obj(bucket["bucket_id"])
        batch = self.post(f"/v1/buckets/{bucket['bucket_id']}/batches", {"object_ids": [obj["object_id"]]})
        return bucket, batch

    def document(self) -> tuple[str, str]:
        coll = self.seeded["collection"]["collection_id"]
        doc = self.post(f"/v1/collections/{coll}/documents", {"text": "a probe document", "source_type": "direct_upsert"})
        return coll, doc["document_id"]

    def taxonomy(self, mode: str = "on_demand", target: str | None = None) -> dict:
        i = _ids(self)
        return self.post("/v1/taxonomies", {
            "taxonomy_name": self.name("pt"), "taxonomy_type": "flat", "retriever_id": i["retriever"],
            "collection_id": target or i["collection"], "input_mappings": [{"source": "payload.text", "target": "query"}],
            "enrichment_fields": [{"source": "payload.text", "target": "other_text"}], "execution_mode": mode})

    def empty_collection(self) -> dict:
        """A text_extractor collection (same feature URI as the seeded one) over an empty bucket."""
        if "empty_collection" not in self.made:
            self.made["empty_collection"] = self.collection(self.bucket()["bucket_id"])
        return self.made["empty_collection"]

    def empty_taxonomy(self) -> str:
        """A taxonomy whose target is the empty collection."""
        if "empty_taxonomy" not in self.made:
            self.made["empty_taxonomy"] = self.taxonomy(target=self.empty_collection()["collection_id"])["taxonomy_id"]
        return self.made["empty_taxonomy"]

    def failed_batch(self, fresh: bool = True) -> tuple[str, str]:
        """A processed batch with one failed object (flaky_embed raises on EXPLODE): bucket id, batch id (the same
        one each time unless ``fresh``)."""
        if not fresh and "failed_batch" in self.made:
            return self.made["failed_batch"]
        bucket = self.bucket()["bucket_id"]
        self.post("/v1/collections", {"collection_name": self.name("pf"), "source": {"type": "bucket",
                                      "bucket_ids": [bucket]}, "feature_extractor": {
            "feature_extractor_name": "flaky_embed", "version": "1.0.0", "input_mappings": {"text": "content"}}})
        self.obj(bucket, "fine text")
        self.obj(bucket, "EXPLODE here")
        batch = self.post(f"/v1/buckets/{bucket}/batches", {}, params={"auto_submit": True})
        for _ in range(600):
            state = self.client.get(f"/v1/batches/{batch['batch_id']}").json()
            if state["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"):
                break
            time.sleep(0.1)
        assert state["status"] == "COMPLETED_WITH_ERRORS", state
        self.made["failed_batch"] = bucket, batch["batch_id"]
        return bucket, batch["batch_id"]

    def realtime_plugin(self) -> str:
        """An uploaded copy of the docs' text_embed plugin, deployed for realtime inference: its plugin id."""
        if "plugin" not in self.made:
            name = "probe_" + uuid.uuid4().hex[:6]
            up = self.post("/v1/plugins/uploads", {"name": name, "version": "1.0.0"})
            assert httpx.put(up["presigned_url"], content=plugin_zip(name)).status_code == 200
            plugin_id = self.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm", {})["plugin_id"]
            self.post(f"/v1/plugins/{plugin_id}/deploy", params={"deployment_type": "realtime"})
            for _ in range(600):
                if self.client.get(f"/v1/plugins/{plugin_id}/status").json()["status"] == "DEPLOYED":
                    break
                time.sleep(0.1)
            self.made["plugin"] = plugin_id
        return self.made["plugin"]

    def upload_bucket(self) -> str:
        """A bucket with two uploads (``notes-….txt`` and ``memo-….txt``), for the uploads listing."""
        if "upload_bucket" not in self.made:
            bucket = self.bucket()["bucket_id"]
            for name in ("notes", "memo"):
                self.post(f"/v1/buckets/{bucket}/uploads", {"filename": f"{name}.txt", "content_type": "text/plain"})
            self.made["upload_bucket"] = bucket
        return self.made["upload_bucket"]

    def object_bucket(self) -> str:
        """A bucket with two objects (titled ``notes`` and ``memo``, in that order), for the objects listing."""
        if "object_bucket" not in self.made:
            bucket = self.bucket()["bucket_id"]
            for title in ("notes", "memo"):
                self.post(f"/v1/buckets/{bucket}/objects", {"title": title, "blobs": [
                    {"property": "content", "type": "text", "data": f"The {title} of a probe."}]})
            self.made["object_bucket"] = bucket
        return self.made["object_bucket"]

    def aggregate_collection(self) -> str:
        """A collection with two documents written directly (``notes``: 3 pages, tags a and b; ``memo``: 5 pages,
        tag b), for the documents' aggregation."""
        if "aggregate_collection" not in self.made:
            coll = self.collection(self.bucket()["bucket_id"])["collection_id"]
            for title, pages, tags in (("notes", 3, ["a", "b"]), ("memo", 5, ["b"])):
                self.post(f"/v1/collections/{coll}/documents", {"text": title, "title": title, "pages": pages,
                                                                 "tags": tags})
            self.made["aggregate_collection"] = coll
        return self.made["aggregate_collection"]

    def retriever_alert(self) -> str:
        if "retriever_alert" not in self.made:
            self.made["retriever_alert"] = self.post("/v1/alerts", {
                "alert_name": self.name("pra"), "source": "retriever", "retriever_id": _ids(self)["retriever"],
                "collection_id": _ids(self)["collection"], "trigger_on": "results"})["alert_id"]
        return self.made["retriever_alert"]

    def upload(self, bucket_id: str) -> dict:
        up = self.post(f"/v1/buckets/{bucket_id}/uploads", {"filename": self.name("u") + ".txt",
                                                             "content_type": "text/plain"})
        put = self.client.put(up["presigned_url"].replace(str(self.client.base_url).rstrip("/"), ""),
                              content=b"uploaded text for a probe")
        assert put.status_code == 200, put.text
        return up


def plugin_zip(name: str) -> bytes:
    """The docs' ``text_embed`` example plugin renamed ``name``, as an upload archive."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(TEXT_EMBED.glob("*.py")):
            zf.writestr(f"{name}/{path.name}", path.read_text().replace("text_embed", name))
    return buf.getvalue()


def _ids(c: Ctx) -> dict[str, str]:
    s = c.seeded
    return {"bucket": s["bucket"]["bucket_id"], "collection": s["collection"]["collection_id"],
            "retriever": s["retriever"]["retriever_id"], "taxonomy": s["taxonomy"]["taxonomy_id"],
            "cluster": s["cluster"]["cluster_id"], "alert": s["alert"]["alert_id"], "batch": s["batch"]["batch_id"],
            "document": s["document"]["document_id"], "object": s["object"]["object_id"]}


def _created(path: str, key: str) -> Callable[[dict], str | None]:
    return lambda resp: f"{path}/{resp[key]}" if resp.get(key) else None


def _baselines() -> dict[str, Callable[[Ctx], Call]]:
    """One valid call per request schema (``ListRequest``'s listings each have their own: what a listing honours
    differs)."""

    def add_objects(c: Ctx) -> Call:
        bucket, batch = c.draft_batch()
        obj = c.obj(bucket["bucket_id"])
        return Call("POST", f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/objects",
                    {"object_ids": [obj["object_id"]]},
                    lambda r: f"/v1/batches/{batch['batch_id']}", {"bucket": bucket["bucket_id"]})

    def alert(c: Ctx) -> Call:
        return Call("POST", "/v1/alerts", {"alert_name": c.name("pa"), "collection_id": _ids(c)["collection"],
                                           "condition": {"field": "text", "operator": "contains", "value": "x"}},
                    _created("/v1/alerts", "alert_id"))

    def taxonomy(c: Ctx) -> Call:
        i = _ids(c)
        return Call("POST", "/v1/taxonomies", {
            "taxonomy_name": c.name("pt"), "taxonomy_type": "flat", "retriever_id": i["retriever"],
            "collection_id": i["collection"], "input_mappings": [{"source": "payload.text", "target": "query"}],
            "enrichment_fields": [{"source": "payload.text", "target": "nearest_text"}],
            "execution_mode": "on_demand"}, _created("/v1/taxonomies", "taxonomy_id"))

    def cluster(c: Ctx) -> Call:
        coll = c.seeded["collection"]
        return Call("POST", "/v1/clusters", {
            "cluster_name": c.name("pk"), "collection_ids": [coll["collection_id"]],
            "vector_config": {"feature_uri": coll["vector_indexes"][0]["feature_uri"], "clustering_method": "kmeans",
                              "kmeans_parameters": {"n_clusters": 1}}}, _created("/v1/clusters", "cluster_id"))

    def webhook(c: Ctx) -> Call:
        return Call("POST", "/v1/organizations/webhooks", {
            "webhook_name": c.name("pw"), "url": "https://hooks.example.com/probe",
            "event_types": ["batch.completed"], "signing_secret": "b" * 32, "namespace_ids": [c.namespace_id()]},
                    _created("/v1/organizations/webhooks", "webhook_id"))

    def update_bucket(c: Ctx) -> Call:
        b = c.bucket()["bucket_id"]
        return Call("PUT", f"/v1/buckets/{b}", {}, lambda r: f"/v1/buckets/{b}")

    def update_collection(c: Ctx) -> Call:
        coll = c.collection(c.bucket()["bucket_id"])["collection_id"]
        return Call("PATCH", f"/v1/collections/{coll}", {}, lambda r: f"/v1/collections/{coll}")

    def update_object(c: Ctx) -> Call:
        b = c.bucket()["bucket_id"]
        o = c.obj(b)["object_id"]
        return Call("PUT", f"/v1/buckets/{b}/objects/{o}", {}, lambda r: f"/v1/buckets/{b}/objects/{o}")

    def update_namespace(c: Ctx) -> Call:
        ns = c.post("/v1/namespaces", {"namespace_name": c.name("pn")})["namespace_id"]
        return Call("PUT", f"/v1/namespaces/{ns}", {}, lambda r: f"/v1/namespaces/{ns}")

    def patch_retriever(c: Ctx) -> Call:
        r = c.retriever()["retriever_id"]
        return Call("PATCH", f"/v1/retrievers/{r}", {"tags": ["base"]}, lambda resp: f"/v1/retrievers/{r}")

    def patch_batch(c: Ctx) -> Call:
        bucket, batch = c.draft_batch()
        return Call("PATCH", f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}", {"metadata": {"base": 1}},
                    lambda r: f"/v1/batches/{batch['batch_id']}")

    def update_document(c: Ctx) -> Call:
        coll, doc = c.document()
        return Call("PATCH", f"/v1/collections/{coll}/documents/{doc}", {},
                    lambda r: f"/v1/collections/{coll}/documents/{doc}")

    def api_key(c: Ctx) -> Call:
        return Call("POST", "/v1/organizations/api-keys", {"name": c.name("pkey")},
                    lambda r: None)

    def update_api_key(c: Ctx) -> Call:
        key = c.post("/v1/organizations/api-keys", {"name": c.name("pkey")})["name"]
        return Call("PATCH", f"/v1/organizations/api-keys/{key}", {}, lambda r: None)

    def listing(path: Callable[[Ctx], str]) -> Callable[[Ctx], Call]:
        return lambda c: Call("POST", path(c), {})

    def confirm_blob(c: Ctx) -> Call:
        b = c.bucket()["bucket_id"]
        c.collection(b)
        up = c.upload(b)
        return Call("POST", f"/v1/buckets/{b}/uploads/{up['upload_id']}/confirm", {},
                    lambda r: f"/v1/buckets/{b}/uploads/{up['upload_id']}")

    def confirm_batch(c: Ctx) -> Call:
        b = c.bucket()["bucket_id"]
        c.collection(b)
        up = c.upload(b)
        return Call("POST", f"/v1/buckets/{b}/uploads/confirm/batch", {"uploads": [{"upload_id": up["upload_id"]}]})

    def retry(c: Ctx) -> Call:
        bucket, batch = c.failed_batch()
        return Call("POST", f"/v1/buckets/{bucket}/batches/{batch}/retry", {})

    def rollback(c: Ctx) -> Call:
        """A retriever at version 2, rolled back to 1."""
        r = c.retriever()["retriever_id"]
        c.client.patch(f"/v1/retrievers/{r}", json={"description": "v2"}).raise_for_status()
        return Call("POST", f"/v1/retrievers/{r}/rollback", {"version": 1}, lambda resp: f"/v1/retrievers/{r}")

    def trigger(c: Ctx) -> Call:
        """A collection over a bucket of two objects."""
        b = c.bucket()["bucket_id"]
        coll = c.collection(b)["collection_id"]
        return Call("POST", f"/v1/collections/{coll}/trigger", {}, None,
                    {"bucket": b, "object": c.obj(b)["object_id"], "other": c.obj(b)["object_id"]})

    def submit(c: Ctx) -> Call:
        bucket, batch = c.draft_batch()
        return Call("POST", f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", {},
                    lambda r: f"/v1/batches/{batch['batch_id']}", {"bucket": bucket["bucket_id"]})

    def confirm_plugin(c: Ctx) -> Call:
        name = "probe_" + uuid.uuid4().hex[:6]
        up = c.post("/v1/plugins/uploads", {"name": name, "version": "1.0.0"})
        archive = plugin_zip(name)
        put = httpx.put(up["presigned_url"], content=archive)
        assert put.status_code == 200
        return Call("POST", f"/v1/plugins/uploads/{up['upload_id']}/confirm", {}, None,
                    {"etag": put.json()["etag"], "size": str(len(archive))})

    i = _ids
    return {
        "ConfirmUploadRequest": confirm_plugin,
        "AddObjectsRequest": add_objects,
        "AdhocExecuteRequest": lambda c: Call("POST", "/v1/retrievers/execute",
                                              {**c.search_stages(), "inputs": {"query": "glaciers"}}),
        "AlertRequest": alert,
        # (materializing probes write into the empty collection: a task still running must not change what the
        # probes after them read)
        "ApplyTaxonomyRequest": lambda c: Call("POST", f"/v1/collections/{c.empty_collection()['collection_id']}/"
                                                       "apply-taxonomy", {"taxonomy_id": i(c)["taxonomy"]}),
        "BatchDeleteDocumentsRequest": lambda c: (lambda coll, doc: Call(
            "DELETE", f"/v1/collections/{coll}/documents/batch", {"document_ids": [doc]}))(*c.document()),
        "BatchExecuteRequest": lambda c: Call("POST", f"/v1/retrievers/{i(c)['retriever']}/execute/batch",
                                              {"queries": [{"inputs": {"query": "glaciers"}}]}),
        "BatchGetDocumentsRequest": lambda c: Call("POST", "/v1/documents/batch-get",
                                                   {"document_ids": [i(c)["document"]]}),
        "BatchUpdateDocumentsRequest": lambda c: Call(
            "POST", f"/v1/collections/{i(c)['collection']}/documents/batch",
            {"updates": [{"document_id": c.document()[1], "update_data": {"probe_mark": 1}}]}),
        "BatchUploadRequest": lambda c: Call("POST", f"/v1/buckets/{c.bucket()['bucket_id']}/uploads/batch",
                                             {"uploads": [{"filename": "a.txt", "content_type": "text/plain"}]}),
        "BulkSubmitRequest": lambda c: (lambda b: Call("POST", f"/v1/buckets/{b}/batches/bulk-submit", {}, None,
                                                       {"bucket": b}))(c.draft_batch()[0]["bucket_id"]),
        "CloneCollectionRequest": lambda c: Call("POST", f"/v1/collections/{i(c)['collection']}/clone",
                                                 {"collection_name": c.name("pcc")},
                                                 _created("/v1/collections", "collection_id")),
        "CloneRetrieverRequest": lambda c: Call("POST", f"/v1/retrievers/{i(c)['retriever']}/clone",
                                                {"retriever_name": c.name("prc")},
                                                _created("/v1/retrievers", "retriever_id")),
        "ClusterExecuteRequest": lambda c: Call("POST", f"/v1/clusters/{i(c)['cluster']}/execute", {}),
        "ClusterRequest": cluster,
        "ConfirmBatchRequest": confirm_batch,
        "ConfirmBlobUploadRequest": confirm_blob,
        "CreateApiKeyRequest": api_key,
        "CreateBatchRequest": lambda c: Call("POST", f"/v1/buckets/{c.draft_batch()[0]['bucket_id']}/batches", {},
                                             _created("/v1/batches", "batch_id")),
        "CreateBucketRequest": lambda c: Call("POST", "/v1/buckets", {"bucket_name": c.name("pb"),
                                                                      "bucket_schema": TEXT_SCHEMA},
                                              _created("/v1/buckets", "bucket_id")),
        "CreateCollectionRequest": lambda c: Call("POST", "/v1/collections", {
            "collection_name": c.name("pc"), "source": {"type": "bucket", "bucket_ids": [c.bucket()["bucket_id"]]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "content"}}}, _created("/v1/collections", "collection_id")),
        "CreateDocumentRequest": lambda c: Call("POST", f"/v1/collections/{i(c)['collection']}/documents",
                                                {"text": "a probe document"},
                                                lambda r: f"/v1/collections/{i(c)['collection']}/documents/"
                                                          f"{r['document_id']}"),
        "CreateNamespaceRequest": lambda c: Call("POST", "/v1/namespaces", {"namespace_name": c.name("pn")},
                                                 _created("/v1/namespaces", "namespace_id")),
        "CreateObjectRequest": lambda c: (lambda b: Call(
            "POST", f"/v1/buckets/{b}/objects", {"blobs": [{"property": "content", "type": "text",
                                                           "data": "probe text"}]},
            lambda r: f"/v1/buckets/{b}/objects/{r['object_id']}"))(c.bucket()["bucket_id"]),
        "CreateObjectsBatchRequest": lambda c: Call("POST", f"/v1/buckets/{c.bucket()['bucket_id']}/objects/batch",
                                                    {"objects": [{"blobs": [{"property": "content", "type": "text",
                                                                             "data": "probe text"}]}]}),
        "CreateRetrieverRequest": lambda c: Call("POST", "/v1/retrievers",
                                                 {"retriever_name": c.name("pr"), **c.search_stages()},
                                                 _created("/v1/retrievers", "retriever_id")),
        "CreateUploadRequest": lambda c: (lambda b: Call(
            "POST", f"/v1/buckets/{b}/uploads", {"filename": "probe.txt", "content_type": "text/plain"},
            lambda r: f"/v1/buckets/{b}/uploads/{r['upload_id']}"))(c.bucket()["bucket_id"]),
        "DefinitionListRequest": listing(lambda c: "/v1/taxonomies/list"),
        "ObjectAggregationRequest": lambda c: Call(
            "POST", f"/v1/buckets/{c.object_bucket()}/objects/aggregate", {
                "group_by": [{"field": "title"}], "sort_by": "title", "sort_direction": "asc", "aggregations": [
                    {"function": "count", "alias": "n"}, {"function": "max", "field": "size_bytes", "alias": "top"}]}),
        "DocumentAggregationRequest": lambda c: Call(
            "POST", f"/v1/collections/{c.aggregate_collection()}/documents/aggregate", {
                "group_by": [{"field": "title"}], "sort_by": "title", "sort_direction": "asc", "aggregations": [
                    {"function": "count", "alias": "n"}, {"function": "max", "field": "pages", "alias": "top"}]}),
        "CloneTaxonomyRequest": lambda c: Call(
            "POST", f"/v1/taxonomies/{c.taxonomy()['taxonomy_id']}/clone", {"taxonomy_name": c.name("ptc")},
            lambda r: f"/v1/taxonomies/{r['taxonomy']['taxonomy_id']}"),
        "ExportRequest": lambda c: Call("POST", f"/v1/collections/{c.aggregate_collection()}/export",
                                        {"format": "json"}),
        "DistinctRequest": lambda c: Call("POST", f"/v1/collections/{i(c)['collection']}/documents/distinct",
                                          {"field": "text"}),
        "ExecuteAlertRequest": lambda c: Call("POST", f"/v1/alerts/{i(c)['alert']}/execute", {}),
        "ExecuteRetrieverRequest": lambda c: Call("POST", f"/v1/retrievers/{i(c)['retriever']}/execute",
                                                  {"inputs": {"query": "glaciers"}}),
        "InferRequest": lambda c: Call("POST", f"/v1/plugins/{c.realtime_plugin()}/infer", {"inputs": {"text": "x"}}),
        "ListBatchesRequest": listing(lambda c: "/v1/batches/list"),
        "ListTasksRequest": listing(lambda c: "/v1/tasks/list"),
        "NamespaceDocumentsRequest": listing(lambda c: "/v1/documents/list"),
        "PatchBatchRequest": patch_batch,
        "PatchRetrieverRequest": patch_retriever,
        "PluginUploadRequest": lambda c: Call("POST", "/v1/plugins/uploads",
                                              {"name": "probe_" + uuid.uuid4().hex[:6], "version": "1.0.0"}),
        "RetryBatchRequest": retry,
        "RollbackRetrieverRequest": rollback,
        "StatsBatchRequest": lambda c: Call("POST", "/v1/namespaces/stats/batch", {"namespace_ids": [c.namespace]}),
        "SubmitBatchRequest": submit,
        "TaxonomyExecuteRequest": lambda c: Call("POST", f"/v1/taxonomies/{i(c)['taxonomy']}/execute",
                                                 {"documents": [{"text": "glaciers"}]}),
        "TaxonomyRequest": taxonomy,
        "TriggerCollectionRequest": trigger,
        "TaxonomyExecuteRequest #materialize": lambda c: Call(
            "POST", f"/v1/taxonomies/{c.empty_taxonomy()}/execute",
            {"collection_id": c.empty_collection()["collection_id"]}),
        "UpdateApiKeyRequest": update_api_key,
        "UpdateBucketRequest": update_bucket,
        "UpdateCollectionRequest": update_collection,
        "UpdateDocumentRequest": update_document,
        "UpdateNamespaceRequest": update_namespace,
        "UpdateObjectRequest": update_object,
        "WebhookRequest": webhook,
        **{f"ListRequest {p}": listing(lambda c, p=p: p.format(**_ids(c))) for p in (
            "/v1/namespaces/list", "/v1/buckets/list", "/v1/buckets/{bucket}/batches/list", "/v1/collections/list",
            "/v1/collections/{collection}/documents/list", "/v1/retrievers/list")},
        "ListRequest /v1/buckets/{bucket}/uploads/list": lambda c: Call(
            "POST", f"/v1/buckets/{c.upload_bucket()}/uploads/list", {}),
        "ListRequest /v1/buckets/{bucket}/objects/list": lambda c: Call(
            "POST", f"/v1/buckets/{c.object_bucket()}/objects/list", {}),
    }


BASELINES = _baselines()


# ---------------------------------------------------------------------------------------------------------------
# outcomes


def flatten(value: Any, prefix: tuple = ()) -> dict[tuple, Any]:
    if isinstance(value, dict):
        out: dict[tuple, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, (*prefix, k)))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for n, v in enumerate(value):
            out.update(flatten(v, (*prefix, n)))
        return out or {prefix: []}
    return {prefix: value}


@dataclass
class Outcome:
    status: int
    body: Any
    read_back: Any = None

    def paths(self) -> dict[tuple, Any]:
        return flatten({"status": self.status, "body": self.body, "read_back": self.read_back})

    def error_text(self) -> str:
        return json.dumps(self.body) if not isinstance(self.body, str) else self.body


def run(c: Ctx, call: Call) -> Outcome:
    resp = c.client.request(call.method, call.path, json=call.body)
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    back = None
    if resp.status_code == 200 and call.read_back is not None and isinstance(body, dict):
        where = call.read_back(body)
        if where:
            got = c.client.get(where)
            back = got.json() if got.status_code == 200 else {"status": got.status_code}
    return Outcome(resp.status_code, body, back)


_GENERATED = re.compile(r"\b(p[a-z0-9]{1,4})-[0-9a-f]{8}\b")


_NOW = re.compile(rf"^{datetime.now(UTC).year}-\d\d-\d\dT[\d:.]+(\+00:00|Z)?$")


def _scrub(paths: dict[tuple, Any]) -> dict[tuple, Any]:
    """Generated names (``pb-1a2b3c4d``) reduced to their prefix: each call makes its own resources, and a probe's
    own names (``pb2-…``) still differ from the baseline's. Times of this year are the moment something was written
    (a probe's own dates are years off)."""
    return {k: "<now>" if isinstance(v, str) and _NOW.match(v) else
            _GENERATED.sub(r"\1-<n>", v) if isinstance(v, str) else v for k, v in paths.items()}


def _sent(value: Any, sent: set[str]) -> bool:
    """Whether an outcome's value is one of the strings the probe sent (an id or name the caller chose)."""
    return isinstance(value, str) and value in sent


def classify(field_name: str, base1: Outcome, base2: Outcome, probe: Outcome, removed: bool,
             sent_value: Any = None) -> tuple[str, str]:
    """What the field did (see the module's docstring), and the evidence: a few differing paths, or the error.
    ``removed``: the probe left out a field the baseline sends — a 4xx naming it then shows the server needs it."""
    if base1.status >= 400:
        return "error", f"baseline HTTP {base1.status}: {base1.error_text()[:300]}"
    if probe.status >= 500:
        return "error", f"HTTP {probe.status}: {probe.error_text()[:300]}"
    if 400 <= probe.status < 500:
        text = probe.error_text()
        if field_name not in text:
            return "error", f"HTTP {probe.status}: {text[:300]}"
        return ("changed" if removed else "refused"), f"HTTP {probe.status}: {text[:300]}"
    b1, b2, p = _scrub(base1.paths()), _scrub(base2.paths()), _scrub(probe.paths())
    noise = {k for k in set(b1) | set(b2) if b1.get(k, ...) != b2.get(k, ...)}
    differing = {k for k in set(b1) | set(p) if b1.get(k, ...) != p.get(k, ...)}
    sent_strings = {v for v in flatten(sent_value).values() if isinstance(v, str) and len(v) > 3}
    differing = {k for k in differing if k not in noise or _sent(p.get(k), sent_strings)}
    echo = {k for k in differing if field_name in k or _sent(p.get(k), sent_strings)}
    other = sorted(differing - echo, key=str)
    if other:
        return "changed", "; ".join(".".join(map(str, k)) for k in other[:4])
    if echo:
        return "echoed", "; ".join(".".join(map(str, k)) for k in sorted(echo, key=str)[:3])
    return "none", ""


def probe(c: Ctx, key: str, field_name: str, prop: dict[str, Any], components: dict) -> tuple[str, str]:
    """Probe one field of the baseline ``key``: left out if the baseline sends it, else set to a probe value."""
    schema_name = key.split(" ", 1)[0]
    base = BASELINES[key]
    b1, b2, call = run(c, base(c)), run(c, base(c)), base(c)
    call.key = key
    curated = _curated(key, field_name)
    value = probe_value(schema_name, field_name, prop, components, c, call)
    removed = field_name in call.body and not curated
    if removed:
        call.body = {k: v for k, v in call.body.items() if k != field_name}
    elif isinstance(value, Body):
        call.body = {**{k: v for k, v in call.body.items() if k not in value.drop}, **value.fields}
    else:
        call.body = {**call.body, field_name: value}
    return classify(field_name, b1, b2, run(c, call), removed, None if removed else value)


# ---------------------------------------------------------------------------------------------------------------
# probe values


def _curated(key: str, field_name: str) -> bool:
    schema_name = key.split(" ", 1)[0]
    return any(k in ALIASES or k in PROBE_VALUES for k in (f"{key}.{field_name}", f"{schema_name}.{field_name}")) \
        or field_name in PROBE_VALUES


def probe_value(schema_name: str, field_name: str, prop: dict[str, Any], components: dict, c: Ctx,
                call: Call) -> Any:
    """A valid value of the field that is not its default: the curated one where the schema cannot say, else one
    made from its JSON schema."""
    canonical = ALIASES.get(f"{schema_name}.{field_name}")
    if canonical is not None:  # an alternative spelling: sent instead of the baseline's canonical field
        value = probe_value(schema_name, canonical, prop, components, c, call)
        return Body({field_name: call.body.get(canonical, value)}, (canonical,))
    special = PROBE_VALUES.get(f"{call.key}.{field_name}", PROBE_VALUES.get(
        f"{schema_name}.{field_name}", PROBE_VALUES.get(field_name, _NONE)))
    if special is not _NONE:
        return special(c, call) if callable(special) else special
    return _from_schema(prop, components)


def _from_schema(prop: dict[str, Any], components: dict) -> Any:
    if "$ref" in prop:
        return _from_schema(components[prop["$ref"].rsplit("/", 1)[-1]], components)
    options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
    if options:
        return _from_schema(options[0], components)
    default = prop.get("default")
    if "enum" in prop:
        return next((v for v in prop["enum"] if v != default), prop["enum"][0])
    kind = prop.get("type")
    if kind == "boolean":
        return not default
    if kind == "integer":
        low = prop.get("minimum", 1)
        return (default + 1) if isinstance(default, int) else max(low, 2)
    if kind == "number":
        return 0.5 if default != 0.5 else 0.25
    if kind == "string":
        return "probe-value"
    if kind == "array":
        return [_from_schema(prop.get("items", {"type": "string"}), components)]
    return {"probe": 1}


_NONE = object()


@dataclass
class Body:
    """A probe that changes more than its field: sets ``fields`` and drops ``drop`` from the baseline's body (a field
    honoured in another mode of the call, e.g. ``filters`` instead of ``document_ids``)."""

    fields: dict[str, Any]
    drop: tuple[str, ...] = ()


#: alternative spellings of a field: probed by sending the alias instead of the baseline's canonical field (the
#: outcome must then be the baseline's, or the alias's value differs where the baseline did not send the field)
ALIASES = {"AlertRequest.name": "alert_name", "WebhookRequest.events": "event_types",
           "WebhookRequest.secret": "signing_secret", "InferRequest.input": "inputs"}

_MAPPING = [{"input_key": "query", "source": {"source_type": "document_field", "path": "text"}}]


def _name(prefix: str) -> Callable[[Ctx, Call], str]:
    return lambda c, call: c.name(prefix)


#: probe values by ``Schema.field`` or by field name: valid, not the default, and where it matters, different in
#: what they should change (another collection, a real filter); callables get the context and the baseline call
PROBE_VALUES: dict[str, Any] = {
    # names: unique, so a probe never collides with another resource
    "alert_name": _name("pa2"), "name": _name("pn2"), "bucket_name": _name("pb2"), "collection_name": _name("pc2"),
    "retriever_name": _name("pr2"), "namespace_name": _name("pn2"), "taxonomy_name": _name("pt2"),
    "cluster_name": _name("pk2"), "webhook_name": _name("pw2"), "batch_name": "probe batch",
    "description": "a probe description", "metadata": {"probe": 1}, "tags": ["probe"],
    # other resources of the seeded namespace
    "AlertRequest.collection_id": lambda c, call: c.empty_collection()["collection_id"],
    "AlertRequest.collection_ids": lambda c, call: [c.empty_collection()["collection_id"]],
    "AlertRequest.retriever_id": lambda c, call: _ids(c)["retriever"],
    "AlertRequest.inputs": {"query": "glaciers"},
    "AlertRequest.source": lambda c, call: Body({"source": "retriever", "retriever_id": _ids(c)["retriever"],
                                                 "inputs": {"query": "glaciers"}}, ("condition",)),
    "AlertRequest.condition": {"field": "text", "operator": "contains", "value": "glacier"},
    "AlertRequest.notification": {"type": "webhook", "url": "https://hooks.example.com/alert"},
    "AlertRequest.notification_config": {"include_matches": False},
    "AlertRequest.trigger_on": "no_results",
    "AddObjectsRequest.object_ids": lambda c, call: [c.obj(call.res["bucket"])["object_id"]],
    "collection_identifiers": lambda c, call: [c.empty_collection()["collection_id"]],
    "budget_limits": {"max_time_ms": 60000},
    "consistency": "eventual",
    "pagination": {"method": "offset", "page_size": 1, "page_number": 2},
    "filters": {"AND": [{"field": "text", "operator": "eq", "value": "no such text"}]},
    "input_schema": {"query": {"type": "string"}, "lang": {"type": "string"}},
    "inputs": {"query": "valleys"},
    "stages": lambda c, call: [{**c.search_stages()["stages"][0], "stage_name": "renamed"}],
    "ApplyTaxonomyRequest.taxonomy_id": lambda c, call: c.taxonomy(target=c.empty_collection()["collection_id"])[
        "taxonomy_id"],
    "ApplyTaxonomyRequest.scroll_filters": {"AND": [{"field": "text", "operator": "eq", "value": "no such text"}]},
    "document_ids": lambda c, call: [c.document()[1]],
    "TaxonomyExecuteRequest.document_ids": lambda c, call: Body({"document_ids": [_ids(c)["document"]]},
                                                                ("documents",)),
    "BatchExecuteRequest.queries": [{"inputs": {"query": "valleys"}}, {"inputs": {"query": "glaciers"}}],
    "BatchUpdateDocumentsRequest.updates": lambda c, call: [{"document_id": c.document()[1],
                                                              "update_data": {"probe_mark": 2}}],
    "BatchUploadRequest.uploads": [{"filename": "a.txt", "content_type": "text/plain"},
                                   {"filename": "b.txt", "content_type": "text/plain"}],
    "collection_ids": lambda c, call: [c.empty_collection()["collection_id"]],
    "CreateBatchRequest.collection_ids": lambda c, call: [],
    "BulkSubmitRequest.collection_ids": lambda c, call: [c.collection(call.res["bucket"])["collection_id"]],
    "CloneCollectionRequest.source": lambda c, call: {"type": "bucket", "bucket_ids": [c.bucket()["bucket_id"]]},
    "CloneCollectionRequest.feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                                 "input_mappings": {"text": "title"}},
    "CloneRetrieverRequest.stages": lambda c, call: [{**c.search_stages()["stages"][0], "stage_name": "renamed"}],
    "ClusterRequest.dimension_reduction": {"method": "umap", "n_components": 2},
    "ClusterRequest.vector_config": lambda c, call: {
        "feature_uri": c.seeded["collection"]["vector_indexes"][0]["feature_uri"], "clustering_method": "kmeans",
        "kmeans_parameters": {"n_clusters": 2}},
    "ClusterExecuteRequest.llm_labeling": False,
    "ConfirmBatchRequest.uploads": lambda c, call: [*call.body["uploads"],
                                                    {"upload_id": c.upload(c.bucket()["bucket_id"])["upload_id"]}],
    "CreateApiKeyRequest.expires_at": "2099-01-01T00:00:00Z",
    "UpdateApiKeyRequest.expires_at": "2099-01-01T00:00:00Z",
    "scopes": lambda c, call: [{"resource_type": "namespace", "resource_id": c.namespace}],
    "permissions": ["read"],
    "allowed_origins": ["https://app.example.com"],
    "CreateBatchRequest.object_ids": lambda c, call: [],
    "CreateBucketRequest.bucket_schema": {"properties": {"content": {"type": "text"}, "extra": {"type": "string"}}},
    "UpdateBucketRequest.bucket_schema": {"properties": {"content": {"type": "text"}, "title": {"type": "string"},
                                                         "extra": {"type": "string"}}},
    "unique_key": {"fields": ["title"], "default_policy": "upsert"},
    "CreateCollectionRequest.feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                                  "input_mappings": {"text": "title"}},
    "CreateCollectionRequest.source": lambda c, call: {"type": "bucket", "bucket_ids": [c.bucket()["bucket_id"]]},
    "CreateCollectionRequest.schedule": {"trigger_type": "interval", "schedule_config": {"interval_seconds": 3600}},
    "CreateCollectionRequest.taxonomy_applications": lambda c, call: [
        {"taxonomy_id": c.taxonomy("materialize")["taxonomy_id"]}],
    "CreateCollectionRequest.cluster_applications": lambda c, call: [{"cluster_id": _ids(c)["cluster"]}],
    "alert_applications": lambda c, call: [{"alert_id": c.retriever_alert(), "input_mappings": _MAPPING}],
    "retriever_enrichments": lambda c, call: [{"retriever_id": _ids(c)["retriever"], "input_mappings": _MAPPING,
                                               "write_back_fields": [{"source_field": "text", "target_field": "near"}]}],
    "CreateDocumentRequest.root_object_id": lambda c, call: _ids(c)["object"],
    "CreateDocumentRequest.source_object_id": lambda c, call: _ids(c)["object"],
    "CreateDocumentRequest.root_bucket_id": lambda c, call: _ids(c)["bucket"],
    "CreateDocumentRequest.source_collection_id": lambda c, call: _ids(c)["collection"],
    "CreateDocumentRequest.source_document_id": lambda c, call: _ids(c)["document"],
    "vectors": lambda c, call: {c.seeded["collection"]["vector_indexes"][0]["name"]: [0.1] * 384},
    "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}],
    "payload_indexes": [{"field_name": "title", "type": "keyword"}],
    "blobs": [{"property": "content", "type": "text", "data": "other probe text"}],
    "CreateObjectsBatchRequest.objects": [{"blobs": [{"property": "content", "type": "text", "data": "one"}]},
                                          {"blobs": [{"property": "content", "type": "text", "data": "two"}]}],
    "CreateUploadRequest.filename": "other.txt",
    "CreateUploadRequest.content_type": "text/markdown",
    "CreateUploadRequest.blob_property": "content",
    "CreateUploadRequest.blob_type": "text",
    "CreateUploadRequest.file_hash": "0" * 64,
    "presigned_url_expiration": 120,
    "ClusterRequest.collection_id": lambda c, call: c.empty_collection()["collection_id"],
    "ListBatchesRequest.bucket_id": lambda c, call: _ids(c)["bucket"],
    "ListBatchesRequest.collection_id": lambda c, call: _ids(c)["collection"],
    "TaxonomyRequest.reference_collection_id": lambda c, call: c.empty_collection()["collection_id"],
    "TaxonomyRequest.target_collection_ids": lambda c, call: [c.empty_collection()["collection_id"]],
    "UpdateApiKeyRequest.status": "revoked",
    "BatchDeleteDocumentsRequest.filters": lambda c, call: Body(
        {"filters": {"AND": [{"field": "text", "operator": "eq", "value": "no such text"}]}}, ("document_ids",)),
    "BatchUpdateDocumentsRequest.filters": lambda c, call: Body(
        {"filters": {"AND": [{"field": "text", "operator": "eq", "value": "no such text"}]},
         "update_data": {"probe_mark": 3}}, ("updates",)),
    "BatchUpdateDocumentsRequest.update_data": lambda c, call: Body(
        {"filters": {"AND": [{"field": "text", "operator": "eq", "value": "no such text"}]},
         "update_data": {"probe_mark": 3}}, ("updates",)),
    "DistinctRequest.field": "root_bucket_id",
    "having": [{"field": "n", "operator": "gt", "value": 5}],
    "ExportRequest.select_fields": ["text"],
    "ExportRequest.sample_size": 1,
    "ExportRequest.include_media": Body({"format": "webdataset", "include_media": True}),
    "ExportRequest.samples_per_shard": Body({"format": "webdataset", "samples_per_shard": 1}),
    "ExportRequest.destination": {"connection_id": "conn_probe", "prefix": "out/"},
    "unwind": "tags",
    "ObjectAggregationRequest.range_buckets": [{"field": "size_bytes", "boundaries": [0, 1000]}],
    "DocumentAggregationRequest.range_buckets": [{"field": "pages", "boundaries": [0, 10]}],
    "ExecuteAlertRequest.collection_id": lambda c, call: c.empty_collection()["collection_id"],
    "InferRequest.input": {"text": "y"},
    "InferRequest.parameters": {"normalize": False},
    "PluginUploadRequest.name": lambda c, call: "probe_" + uuid.uuid4().hex[:6],
    "PluginUploadRequest.version": "2.0.0",
    "PluginUploadRequest.file_name": "plugin.zip",
    "RetryBatchRequest.retry_mode": "all",
    "RetryBatchRequest.max_retry_count": 1,
    "RollbackRetrieverRequest.version": 2,
    "StatsBatchRequest.namespace_ids": ["default"],
    "TaxonomyExecuteRequest.documents": [{"text": "valleys"}],
    "TaxonomyExecuteRequest.collection_id": lambda c, call: c.empty_collection()["collection_id"],
    "TaxonomyExecuteRequest.collection_ids": lambda c, call: [c.empty_collection()["collection_id"]],
    "TaxonomyExecuteRequest.inputs": lambda c, call: Body({"inputs": {"query": "valleys"}}, ("documents",)),
    "TaxonomyRequest.enrichment_fields": [{"source": "payload.text", "target": "other_field"}],
    "TaxonomyRequest.input_mappings": [{"source": "payload.text", "target": "query"},
                                       {"source": "payload.title", "target": "title"}],
    "TaxonomyRequest.execution_mode": "materialize",
    "TaxonomyRequest.taxonomy_type": lambda c, call: Body({"taxonomy_type": "hierarchical", "hierarchical_nodes": [
        {"collection_id": _ids(c)["collection"], "label": "root"}]}, ("enrichment_fields",)),
    "TaxonomyRequest.inference_strategy": "linear_probe",
    "TaxonomyRequest.feature_uri": lambda c, call: c.seeded["collection"]["vector_indexes"][0]["feature_uri"],
    "TaxonomyRequest.retriever_id": lambda c, call: c.retriever()["retriever_id"],
    "TaxonomyRequest.collection_id": lambda c, call: c.empty_collection()["collection_id"],
    "TaxonomyRequest.source_collection": lambda c, call: {"collection_id": c.empty_collection()["collection_id"]},
    "UpdateCollectionRequest.feature_extractor": {"field_passthrough": [{"source_path": "title"}]},
    "event_types": ["batch.failed"], "events": ["batch.failed"],
    "url": "https://hooks.example.com/other",
    "channels": [{"channel": "webhook", "configs": {"url": "https://hooks.example.com/channel"}}],
    "signing_secret": "s" * 32, "secret": "s" * 32,
    "timeout": 5,
    "status": "COMPLETED",
    "search": "memo",
    "ListRequest /v1/buckets/{bucket}/uploads/list.filters": {"status": "COMPLETED"},
    "ListRequest /v1/buckets/{bucket}/objects/list.sort": {"field": "created_at", "direction": "desc"},
    "ListRequest /v1/buckets/{bucket}/objects/list.sorts": [{"field": "title", "direction": "asc"}],
    "ListRequest /v1/buckets/{bucket}/objects/list.select": ["title"],
    "sort": {"field": "created_at", "direction": "asc"},
    "limit": 1, "offset": 1, "page": 2, "page_size": 1,
    # the cursor the listing's first page hands out (a listing that hands out none is sent one it never issued)
    "cursor": lambda c, call: (c.client.post(call.path, json={"limit": 1}).json().get("pagination") or {}).get(
        "next_cursor") or "cursor-from-elsewhere",
    "enabled": False, "is_active": False,
    "ClusterRequest.llm_labeling": {"enabled": True},
    "ClusterRequest.algorithm": {"name": "agglomerative", "params": {"n_clusters": 2}},
    "ClusterRequest.cluster_type": "attribute",
    "ClusterRequest.text_field": "title",
    "ClusterRequest.num_keywords": 3,
    "ClusterRequest.enrich_source_collection": False,
    "ClusterRequest.feature_uri": lambda c, call: Body({
        "feature_uri": call.body["vector_config"]["feature_uri"],
        "vector_config": {k: v for k, v in call.body["vector_config"].items() if k != "feature_uri"}}),
    "ClusterExecuteRequest.mode": "incremental",
    "CreateNamespaceRequest.mode": "standalone",
    "TriggerCollectionRequest.dedup_strategy": "skip",
    "TriggerCollectionRequest.object_ids": lambda c, call: [call.res["object"]],
    "TriggerCollectionRequest.include_buckets": lambda c, call: [call.res["bucket"]],
    "SubmitBatchRequest.collection_ids": lambda c, call: [c.collection(call.res["bucket"])["collection_id"]],
    "ExecuteAlertRequest.batch_id": lambda c, call: c.failed_batch(fresh=False)[1],
    "DistinctRequest.limit": 1,
}
