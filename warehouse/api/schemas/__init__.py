"""Request bodies of the v1 API, in the Mixpeek 0.82 shapes, with the documented aliases.

Unknown keys are refused (``extra="forbid"``) with the key named, except on objects, whose root
keys are the object's own fields. Aliases from other API generations are folded in before
validation (``schema`` → ``bucket_schema``, ``name`` → ``*_name``, ``collection_ids`` →
``collection_identifiers``, a one-element ``feature_extractors`` list → ``feature_extractor``…).
"""


from warehouse.api.schemas.api_keys import CreateApiKeyRequest, ResourceScope, UpdateApiKeyRequest
from warehouse.api.schemas.batches import (
    AddObjectsRequest,
    CreateBatchRequest,
    ListBatchesRequest,
    ListTasksRequest,
    PatchBatchRequest,
    RetryBatchRequest,
    SubmitBatchRequest,
)
from warehouse.api.schemas.buckets import (
    BatchUploadRequest,
    BlobRequest,
    BucketSchema,
    ConfirmBatchRequest,
    ConfirmBlobUploadRequest,
    CreateBucketRequest,
    CreateObjectRequest,
    CreateObjectsBatchRequest,
    CreateUploadRequest,
    SchemaField,
    UpdateBucketRequest,
    UpdateObjectRequest,
)
from warehouse.api.schemas.collections import (
    CreateCollectionRequest,
    FeatureExtractorConfig,
    FieldPassthrough,
    SourceConfig,
    TriggerCollectionRequest,
    UpdateCollectionRequest,
    UpdateFeatureExtractor,
)
from warehouse.api.schemas.common import (
    DocumentAggregationRequest,
    ListRequest,
    ObjectAggregationRequest,
    Strict,
)
from warehouse.api.schemas.documents import (
    BatchDeleteDocumentsRequest,
    BatchGetDocumentsRequest,
    BatchUpdateDocumentsRequest,
    CreateDocumentRequest,
    DocumentUpdate,
    UpdateDocumentRequest,
)
from warehouse.api.schemas.enrichment import (
    AlertRequest,
    ApplyTaxonomyRequest,
    CloneTaxonomyRequest,
    ClusterExecuteRequest,
    ClusterRequest,
    DefinitionListRequest,
    ExecuteAlertRequest,
    TaxonomyExecuteRequest,
    TaxonomyRequest,
    WebhookRequest,
)
from warehouse.api.schemas.namespaces import (
    CreateNamespaceRequest,
    FeatureExtractorRef,
    UpdateNamespaceRequest,
)
from warehouse.api.schemas.plugins import ConfirmUploadRequest, InferRequest, PluginUploadRequest
from warehouse.api.schemas.retrievers import (
    AdhocExecuteRequest,
    BatchExecuteRequest,
    BatchQuery,
    CloneRetrieverRequest,
    CreateRetrieverRequest,
    ExecuteRetrieverRequest,
    PatchRetrieverRequest,
    RetrieverInputField,
    RollbackRetrieverRequest,
)

__all__ = [
    "DocumentAggregationRequest",
    "ObjectAggregationRequest",
    "ListBatchesRequest",
    "ListTasksRequest",
    "PatchBatchRequest",
    "CloneRetrieverRequest",
    "PatchRetrieverRequest",
    "RollbackRetrieverRequest",
    "UpdateObjectRequest",
    "RetryBatchRequest",
    "UpdateBucketRequest",
    "UpdateCollectionRequest",
    "UpdateFeatureExtractor",
    "UpdateNamespaceRequest",
    "BatchDeleteDocumentsRequest",
    "BatchGetDocumentsRequest",
    "BatchUpdateDocumentsRequest",
    "CreateDocumentRequest",
    "DocumentUpdate",
    "UpdateDocumentRequest",
    "ConfirmUploadRequest",
    "CreateApiKeyRequest",
    "ResourceScope",
    "UpdateApiKeyRequest",
    "AddObjectsRequest",
    "AdhocExecuteRequest",
    "AlertRequest",
    "ApplyTaxonomyRequest",
    "CloneTaxonomyRequest",
    "BatchExecuteRequest",
    "BatchQuery",
    "BatchUploadRequest",
    "BlobRequest",
    "ConfirmBatchRequest",
    "ConfirmBlobUploadRequest",
    "CreateUploadRequest",
    "BucketSchema",
    "ClusterExecuteRequest",
    "ClusterRequest",
    "CreateBatchRequest",
    "CreateBucketRequest",
    "CreateCollectionRequest",
    "CreateNamespaceRequest",
    "CreateObjectRequest",
    "CreateObjectsBatchRequest",
    "CreateRetrieverRequest",
    "DefinitionListRequest",
    "ExecuteAlertRequest",
    "ExecuteRetrieverRequest",
    "FeatureExtractorConfig",
    "FeatureExtractorRef",
    "FieldPassthrough",
    "ListRequest",
    "InferRequest",
    "PluginUploadRequest",
    "RetrieverInputField",
    "SchemaField",
    "SourceConfig",
    "Strict",
    "SubmitBatchRequest",
    "TaxonomyExecuteRequest",
    "TaxonomyRequest",
    "TriggerCollectionRequest",
    "WebhookRequest",
]
