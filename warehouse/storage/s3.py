"""ObjectStore on any S3-compatible endpoint (AWS S3, MinIO, R2) through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from warehouse.storage.base import ObjectStore, ObjectStoreError, StoredObject


class S3ObjectStore(ObjectStore):
    """Blobs as S3 objects in one bucket; URLs are ``s3://bucket/key``."""

    scheme = "s3"

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        create_bucket: bool = True,
        client=None,
    ) -> None:
        """``client``: a boto3 S3 client made elsewhere (inside Dagster, ``dagster_aws.s3.S3Resource``'s); else one
        is made from the other arguments."""
        # lazy: boto3 is needed only with the S3 object store
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
        )
        if create_bucket:
            self._ensure_bucket(region)

    def _ensure_bucket(self, region: str) -> None:
        # lazy: botocore comes with boto3, needed only with the S3 object store
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            kwargs = {"Bucket": self.bucket}
            if region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            self.client.create_bucket(**kwargs)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
        return self.url_for(key)

    def presign_put(self, key: str, expires_in: int) -> str:
        """A URL that lets its holder PUT one object at ``key`` for ``expires_in`` seconds (no credentials needed;
        no Content-Type is signed, so ``curl --data-binary`` works as is)."""
        return self.client.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=expires_in)

    def presign_get(self, key: str, expires_in: int) -> str:
        """A URL that lets its holder GET the object at ``key`` for ``expires_in`` seconds."""
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=expires_in)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra)  # multipart: streamed in parts
        Path(path).unlink(missing_ok=True)
        return self.url_for(key)

    def head(self, key: str, size: int = 4096) -> bytes:
        # lazy: botocore comes with boto3, needed only with the S3 object store
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{size - 1}")["Body"].read()
        except ClientError as exc:
            raise ObjectStoreError(f"cannot read s3://{self.bucket}/{key}: "
                                   f"{exc.response.get('Error', {}).get('Code')}") from exc

    def stat(self, key: str) -> StoredObject | None:
        # lazy: botocore comes with boto3, needed only with the S3 object store
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return None
        return StoredObject(key=key, size=head["ContentLength"], last_modified=head["LastModified"],
                            etag=head["ETag"].strip('"'))

    def get_file(self, key: str, path: Path) -> None:
        self.client.download_file(self.bucket, key, str(path))

    def get(self, key: str) -> bytes:
        # lazy: botocore comes with boto3, needed only with the S3 object store
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            raise ObjectStoreError(f"cannot read s3://{self.bucket}/{key}: {code}") from exc

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        # lazy: botocore comes with boto3, needed only with the S3 object store
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError:
            return False

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield StoredObject(
                    key=item["Key"],
                    size=item["Size"],
                    last_modified=item["LastModified"],
                    etag=item["ETag"].strip('"'),
                )

    def url_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def key_from_url(self, url: str) -> str | None:
        prefix = f"s3://{self.bucket}/"
        return url[len(prefix) :] if url.startswith(prefix) else None
