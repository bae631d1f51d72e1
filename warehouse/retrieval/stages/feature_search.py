"""``feature_search``: vector search over one or more features, fused inside the engine.

Each search names a ``feature_uri`` (``mixpeek://{extractor}@{version}/{feature}``) and a query
(text embedded with the extractor's realtime service, a raw vector, or a stored document). RRF and
DBSF fuse inside one Qdrant query (prefetch + fusion); ``weighted`` (Σ wᵢ·scoreᵢ) and ``max`` fuse
here over one batched engine call. The fusion parameters used are echoed in the stage metadata.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from warehouse.catalog import BlobUpload
from warehouse.errors import WarehouseError
from warehouse.extractors.manifest import normalize_version
from warehouse.extractors.uploads import require_realtime
from warehouse.ids import uuid_from_document_id
from warehouse.index import FusionQuery, VectorQuery
from warehouse.index.bm25 import BM25_FEATURE, BM25_VECTOR, encode_query, has_bm25
from warehouse.retrieval.documents import document_view
from warehouse.retrieval.filters import compile_filter
from warehouse.retrieval.inference import QueryModeError
from warehouse.retrieval.stages.base import Stage, StageContext, register
from warehouse.storage import ObjectStoreError


class SearchSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feature_uri: str
    query: Any = None
    top_k: int = Field(default=100, ge=1, le=10_000)
    min_score: float | None = None
    weight: float = Field(default=1.0, ge=0)
    optional: bool = False
    on_empty: Literal["error", "skip"] = "error"
    filters: dict[str, Any] | None = None
    collection_identifiers: list[str] | None = None
    lexical: bool = Field(default=False, description="Search the collections' BM25 index with the query text "
                          "instead of the feature's vectors (same as the feature_uri ending in /bm25).")
    query_preprocessing: Any = None


class FeatureSearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    searches: list[SearchSpec] = Field(min_length=1)
    final_top_k: int = Field(default=25, ge=1, le=10_000)
    fusion: Literal["rrf", "dbsf", "weighted", "max"] = "rrf"
    rrf_k: int = Field(default=60, ge=1)
    filters: dict[str, Any] | None = None
    collection_identifiers: list[str] | None = None
    cache_behavior: Any = None
    cache_ttl_seconds: Any = None
    hard_timeout_ms: Any = None
    interactive: Any = None
    auto_preprocess: Any = None

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data):
        # Older single-search spellings: {feature_uri, input|query, limit} and {feature_uris: [{uri, input}]}.
        if not isinstance(data, dict) or "searches" in data:
            return data
        data = dict(data)
        if "feature_uri" in data:
            query = data.pop("query", None) or data.pop("input", None)
            limit = data.pop("limit", None) or data.pop("top_k", None) or 100
            data["searches"] = [{"feature_uri": data.pop("feature_uri"), "query": query, "top_k": limit}]
            data.setdefault("final_top_k", limit)
        elif "feature_uris" in data:
            limit = data.pop("limit", 100)
            data["searches"] = [{"feature_uri": f.get("uri") or f.get("feature_uri"), "query": f.get("input") or f.get("query"),
                                 "top_k": limit} for f in data.pop("feature_uris")]
            data.setdefault("final_top_k", limit)
        return data


def parse_feature_uri(uri: str) -> tuple[str, str, str]:
    prefix = "mixpeek://"
    if not uri.startswith(prefix) or "@" not in uri or "/" not in uri[len(prefix):]:
        raise WarehouseError(422, f"feature_uri {uri!r} is malformed; the form is mixpeek://{{extractor}}@{{version}}/{{feature}}",
                       {"feature_uri": uri})
    body = uri[len(prefix):]
    ref, feature = body.split("/", 1)
    name, version = ref.split("@", 1)
    return name, version, feature


MEDIA_TYPES = {"image", "video", "audio", "pdf"}
MAX_QUERY_FILE_BYTES = 20 * 2**20


def _query_file(ctx: StageContext, q: dict, mode: str, feature_uri: str) -> bytes | None:
    """The bytes of a query by example: base64 / a data URI (``content``), or (``url``) an object-store URL inside
    this namespace or a completed upload's id — never an arbitrary host."""
    value = q.get("value", q.get("content", q.get("url")))
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise WarehouseError(422, f"query.value for input_mode {mode!r} is a string", {"feature_uri": feature_uri})
    if mode == "content":
        try:
            data = base64.b64decode(value.split(",", 1)[1] if value.startswith("data:") else value, validate=True)
        except (binascii.Error, ValueError, IndexError):
            raise WarehouseError(422, "query.value for input_mode 'content' is base64 (or a data: URI) of the file",
                                 {"feature_uri": feature_uri}) from None
    else:
        data = _stored_file(ctx, value, feature_uri)
    if len(data) > MAX_QUERY_FILE_BYTES:
        raise WarehouseError(413, f"the query file is {len(data)} bytes; the limit is {MAX_QUERY_FILE_BYTES}",
                             {"feature_uri": feature_uri})
    return data


def _stored_file(ctx: StageContext, value: str, feature_uri: str) -> bytes:
    objects, ns = ctx.services.objects, ctx.namespace_id
    if value.startswith("upl_"):
        with ctx.services.catalog.session() as s:
            upload = s.get(BlobUpload, value)
            key = upload.storage_key if upload is not None and upload.namespace_id == ns and \
                upload.status == "COMPLETED" else None
        if key is None:
            raise WarehouseError(422, f"query.value: no completed upload {value!r} in this namespace",
                                 {"feature_uri": feature_uri})
    else:
        key = objects.key_from_url(value)
        if key is None or not key.startswith(f"{ns}/"):
            raise WarehouseError(422, "input_mode 'url' takes this namespace's object-store URLs "
                                 f"({objects.url_for(ns + '/')}…) or an upload id; send other files as input_mode "
                                 "'content' (base64)", {"feature_uri": feature_uri})
    try:
        return objects.get(key)
    except ObjectStoreError as exc:
        raise WarehouseError(404, f"query.value: {exc}", {"feature_uri": feature_uri}) from None


@register
class FeatureSearchStage(Stage):
    stage_id = "feature_search"
    category = "filter"
    description = "Vector search over one or more features, fused with rrf (k, weights), dbsf, weighted or max."
    icon = "search"
    Params = FeatureSearchParams

    def _resolve(self, ctx: StageContext, search: SearchSpec):
        name, version, feature_name = parse_feature_uri(search.feature_uri)
        lexical = search.lexical or feature_name == BM25_FEATURE
        colls = ctx.collections
        if search.collection_identifiers:
            wanted = set(search.collection_identifiers)
            colls = [c for c in colls if c.collection_id in wanted or c.collection_name in wanted]
        matched, available = [], set()
        for c in colls:
            for vi in c.vector_indexes or []:
                available.add(vi["feature_uri"])
            fe = c.feature_extractor
            if fe["feature_extractor_name"] == name and normalize_version(fe.get("version")) == normalize_version(version):
                if lexical and not has_bm25(c):
                    raise WarehouseError(422, f"collection {c.collection_name!r} has no BM25 index (its extractor takes no "
                                   "text, or it was created before hybrid search); use a dense feature_uri",
                                   {"feature_uri": search.feature_uri})
                matched.append(c)
        if not matched:
            raise WarehouseError(422, f"no collection of this retriever is indexed with {search.feature_uri!r}; "
                           f"available feature_uris: {sorted(available)}", {"feature_uri": search.feature_uri,
                                                                          "available": sorted(available)})
        ext = ctx.services.registry.get(name, version, ctx.namespace_id)
        if lexical:
            return matched, ext, None
        feature = next((f for f in ext.spec.vector_features if f.feature_name == feature_name), None)
        if feature is None:
            have = [ext.spec.feature_uri(f) for f in ext.spec.vector_features]
            raise WarehouseError(422, f"extractor {ext.spec.ref} has no feature {feature_name!r}; use one of {have}",
                           {"feature_uri": search.feature_uri, "available": have})
        return matched, ext, feature

    def _vector(self, ctx: StageContext, search: SearchSpec, ext, feature) -> list[float] | dict | None:
        q = search.query
        using = BM25_VECTOR if feature is None else ext.spec.vector_name(feature)
        if isinstance(q, dict):
            mode = q.get("input_mode", "text")
            if mode == "vector" and feature is None:
                raise WarehouseError(422, f"{search.feature_uri} is a BM25 (lexical) index: query it with text or a "
                               "document, not a vector", {"feature_uri": search.feature_uri})
            if mode == "vector":
                vec = q.get("value")
                if isinstance(vec, list) and vec and isinstance(vec[0], list):
                    vec = vec[0]
                if not isinstance(vec, list) or len(vec) != feature.embedding_dim:
                    raise WarehouseError(422, f"vector query (query.value) for {search.feature_uri} must be a list of "
                                   f"{feature.embedding_dim} numbers", {"feature_uri": search.feature_uri})
                return [float(x) for x in vec]
            if mode == "document":
                ref = q.get("document_ref") or {}
                doc_id = ref.get("document_id") or q.get("document_id")
                hits = ctx.services.index.retrieve(ctx.namespace_id, [str(uuid_from_document_id(doc_id))],
                                                   with_vectors=[using]) if doc_id else []
                if not hits or not (hits[0].vectors or {}).get(using):
                    raise WarehouseError(404, f"document {doc_id!r} has no {using!r} vector to search with",
                                   {"document_id": doc_id})
                return hits[0].vectors[using]
            if mode in ("content", "url"):
                if feature is None:
                    raise WarehouseError(422, f"{search.feature_uri} is a BM25 (lexical) index: query it with text",
                                         {"feature_uri": search.feature_uri})
                content = _query_file(ctx, q, mode, search.feature_uri)
                if content is None:
                    if search.optional or search.on_empty == "skip":
                        return None
                    raise WarehouseError(422, f"the {mode} query over {search.feature_uri} is empty",
                                         {"feature_uri": search.feature_uri})
                return self._embed(ctx, search, ext, feature, content=content)
            if mode not in ("text",):
                raise WarehouseError(422, f"query.input_mode {mode!r}: one of text, content, url, document, vector",
                                     {"feature_uri": search.feature_uri, "location": "query.input_mode"})
            text = q.get("text", q.get("value"))
        else:
            text = q
        if text is None or (isinstance(text, str) and not text.strip()):
            if search.optional or search.on_empty == "skip":
                return None
            raise WarehouseError(422, f"search over {search.feature_uri} has an empty query; pass inputs that fill it "
                           "or mark the search optional", {"feature_uri": search.feature_uri})
        if feature is None:
            sparse = encode_query(str(text))
            if sparse is None and not (search.optional or search.on_empty == "skip"):
                raise WarehouseError(422, f"the lexical query {str(text)[:80]!r} has no searchable terms (only stop words "
                               "or punctuation)", {"feature_uri": search.feature_uri})
            return sparse
        return self._embed(ctx, search, ext, feature, text=str(text))

    def _embed(self, ctx: StageContext, search: SearchSpec, ext, feature, text: str | None = None,
               content: bytes | None = None) -> list[float]:
        """The query vector from the extractor's realtime service; a query kind the feature does not take is a 422
        that names the kinds it does."""
        if content is not None and not set(ext.spec.supported_input_types) & MEDIA_TYPES:
            raise WarehouseError(422, f"{search.feature_uri} embeds {sorted(ext.spec.supported_input_types)}, not "
                                 "files: query it with input_mode text, document or vector",
                                 {"feature_uri": search.feature_uri, "accepts": ["text", "document", "vector"]})
        require_realtime(ctx.services, ext)  # an uploaded plugin answers queries once deployed for realtime
        try:
            if content is not None:
                return ctx.services.inference.embed_content(ext, content, feature.feature_name)
            return ctx.services.inference.embed_text(ext, text, feature.feature_name)
        except QueryModeError as exc:
            other = [ext.spec.feature_uri(f) for f in ext.spec.vector_features if f.feature_name in exc.served]
            accepts = ["content", "url", "document", "vector"] if exc.mode == "text" else ["text", "document", "vector"]
            raise WarehouseError(422, f"{search.feature_uri} takes no {exc.mode} queries: use input_mode "
                                 f"{' / '.join(accepts)}" + (f"; {exc.mode} queries search {other}" if other else ""),
                                 {"feature_uri": search.feature_uri, "accepts": accepts}) from None
        except ValueError as exc:  # the service could not read the query (an image that does not decode)
            raise WarehouseError(422, f"query for {search.feature_uri}: {exc}", {"feature_uri": search.feature_uri}) from None
        except RuntimeError as exc:
            raise WarehouseError(503, str(exc), {"feature_uri": search.feature_uri}) from exc

    def single_dense_uri(self) -> str | None:
        """The feature_uri when this stage is one dense search (what MMR can run inside the engine)."""
        if len(self.params.searches) != 1:
            return None
        search = self.params.searches[0]
        if search.lexical or search.feature_uri.endswith("/" + BM25_FEATURE):
            return None
        return search.feature_uri

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        stage_filter = compile_filter(p.filters, f"stage {self.name}.filters")
        queries, weights, used = [], [], []
        for i, search in enumerate(p.searches):
            colls, ext, feature = self._resolve(ctx, search)
            vector = self._vector(ctx, search, ext, feature)
            if vector is None:
                continue
            must: list[dict[str, Any]] = [{"key": "collection_id", "match": {"any": [c.collection_id for c in colls]}}]
            for compiled in (stage_filter, compile_filter(search.filters, f"searches[{i}].filters"), ctx.pushed_filter):
                if compiled is not None and compiled.qdrant is not None:
                    must.append(compiled.qdrant)
            using = BM25_VECTOR if feature is None else ext.spec.vector_name(feature)
            queries.append(VectorQuery(using=using, vector=vector, limit=search.top_k,
                                       filter={"must": must}, score_threshold=search.min_score))
            weights.append(search.weight)
            used.append(search.feature_uri)
            if feature is not None:
                ctx.metadata.setdefault("dense_feature_uri", search.feature_uri)
        self.metadata["fusion"] = {"method": p.fusion, "searches": used}
        if not queries:
            return []
        index, ns = ctx.services.index, ctx.namespace_id
        final_top_k = p.final_top_k
        if ctx.limit_hint is not None and ctx.limit_hint < final_top_k:
            final_top_k = max(ctx.limit_hint, 1)
            self.metadata["limit_pushed_down"] = final_top_k
        if len(queries) == 1:
            single = replace(queries[0], limit=min(queries[0].limit, final_top_k))
            if ctx.mmr is not None:
                mp = ctx.mmr.params
                single = replace(single, mmr_lambda=mp.lambda_, mmr_candidates=single.limit,
                                 limit=min(mp.top_k, single.limit))
                self.metadata["mmr_pushed_down"] = {"lambda": mp.lambda_, "candidates": single.mmr_candidates}
            hits = index.query(ns, single)
            scored = [(h, h.score) for h in hits]
        elif p.fusion in ("rrf", "dbsf"):
            self.metadata["fusion"].update({"k": p.rrf_k, "weights": weights} if p.fusion == "rrf" else {})
            fused = FusionQuery(prefetch=queries, method=p.fusion, k=p.rrf_k,
                                weights=weights if p.fusion == "rrf" else None, limit=final_top_k)
            scored = [(h, h.score) for h in index.query(ns, fused)]
        else:
            self.metadata["fusion"]["weights"] = weights
            results = index.query_batch(ns, queries)
            totals: dict[str, float] = defaultdict(float)
            best: dict[str, Any] = {}
            for w, hits in zip(weights, results, strict=True):
                for h in hits:
                    best.setdefault(h.id, h)
                    totals[h.id] = totals[h.id] + w * h.score if p.fusion == "weighted" else max(totals.get(h.id, float("-inf")), h.score)
            order = sorted(totals, key=lambda k: totals[k], reverse=True)[:final_top_k]
            scored = [(best[k], totals[k]) for k in order]
        out = []
        for hit, score in scored:
            doc = document_view(hit)
            if ctx.pushed_filter is not None and ctx.pushed_filter.qdrant is None and not ctx.pushed_filter.matches(doc):
                continue
            doc["score"] = float(score)
            out.append(doc)
        return out
