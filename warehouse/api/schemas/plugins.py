"""Plugin (custom extractor) upload bodies: 0.81's ``/plugins/uploads`` and 0.82's ``/extractors/submissions``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from warehouse.api.schemas.common import Strict


class PluginUploadRequest(Strict):
    name: str = Field(description="The manifest's feature_extractor_name: lowercase letters, digits, underscores.")
    version: str = Field(description="The manifest's version: \"1.0.0\" or \"v1\".")
    description: str | None = Field(default=None, max_length=1000)
    file_size_bytes: int | None = Field(default=None, description="Expected archive size (500 MB at most).")
    presigned_url_expiration: int | None = Field(default=None, description="Seconds the upload URL stays valid "
                                                 "(60 to 604800; default 3600).")
    file_name: str | None = Field(default=None, description="Archive name hint; it must end in .zip.")


class ConfirmUploadRequest(Strict):
    etag: str | None = Field(default=None, description="ETag the PUT returned: checked against the stored archive.")
    file_size_bytes: int | None = Field(default=None, description="Bytes sent: checked against the stored archive.")


class InferRequest(Strict):
    inputs: dict[str, Any] | None = Field(default=None, description="The service's inputs, e.g. {\"text\": \"…\"}.")
    input: dict[str, Any] | None = Field(default=None, description="Alias of inputs (the tutorial's spelling).")
    parameters: dict[str, Any] | None = Field(default=None, description="Passed to the service as its parameters.")
