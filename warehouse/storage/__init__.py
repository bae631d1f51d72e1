"""Object storage for binary blobs: a local directory or any S3-compatible store, behind ``ObjectStore``.

Imports nothing else of the project but the settings; what is stored where (keys per namespace and
bucket, the inbox) is decided by the catalog.
"""

from warehouse.storage.base import ObjectStore, ObjectStoreError, StoredObject
from warehouse.storage.local import LocalObjectStore
from warehouse.storage.s3 import S3ObjectStore

__all__ = [
    "LocalObjectStore",
    "ObjectStore",
    "ObjectStoreError",
    "S3ObjectStore",
    "StoredObject",
    "make_object_store",
]


def make_object_store(settings) -> ObjectStore:
    """The object store the settings name."""
    if settings.object_store == "s3":
        return S3ObjectStore(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    return LocalObjectStore(settings.objects_dir)
