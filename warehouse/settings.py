"""The one place that decides the environment.

Every knob is read once from ``WAREHOUSE_*`` environment variables (or passed explicitly)
into :class:`Settings`. Nothing else in the code base reads ``os.environ`` for configuration.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration of one warehouse deployment.

    All runtime state of the embedded default lives under ``home``.

    Example:
        >>> s = Settings(home="/tmp/wh")
        >>> s.catalog_url
        'sqlite:////tmp/wh/catalog.db'
    """

    model_config = SettingsConfigDict(env_prefix="WAREHOUSE_", extra="ignore")

    home: Path = Field(default=Path(".warehouse"), description="Root of all runtime state.")
    dagster_database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the Dagster instance's run, event-log and schedule storage "
        "(postgresql://user:pass@host:5432/db; a +psycopg driver suffix is dropped). Unset: SQLite under "
        "$WAREHOUSE_HOME/dagster.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the catalog; default SQLite under home."
    )
    object_store: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "warehouse"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    index_store: Literal["edge", "qdrant", "remote"] = "edge"
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    index_owner_url: str | None = Field(
        default=None, description="Base URL of the process that owns the Edge shards."
    )
    internal_token: str | None = Field(
        default=None, description="Secret for the internal index endpoint; generated if unset."
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    ui_port: int = 3000
    api_key: str | None = Field(default=None, description="Bootstrap API key for `warehouse up`.")
    default_namespace: str = "default"
    organization_id: str = "org_default"

    ray_address: str | None = Field(default=None, description="Ray cluster address; local if unset.")
    ray_num_cpus: int | None = None
    batch_workers: int = 1
    orchestrator: Literal["inline", "dagster"] = Field(
        default="inline",
        description="Who runs submitted batches: the API server itself (inline), or Dagster runs that the "
        "queued_batches sensor starts (dagster; `warehouse up` sets it when it starts Dagster).",
    )
    dagster_executor: Literal["owner", "in_process", "ray_job"] = Field(
        default="owner",
        description="Where a Dagster run's Ray Data job runs: on the index owner's warm workers (owner), in the "
        "run worker itself, joining WAREHOUSE_RAY_ADDRESS (in_process), or as a Ray job submitted to the cluster's "
        "job server, its logs and result streamed back into the run through Dagster Pipes (ray_job).",
    )
    ray_dashboard_url: str | None = Field(
        default=None,
        description="The Ray head's dashboard (job server) URL, e.g. http://ray-head:8265, where the ray_job executor "
        "submits batches; unset: port 8265 on WAREHOUSE_RAY_ADDRESS's host. Its token is RAY_AUTH_TOKEN.",
    )
    plugin_tools: str = Field(
        default="", description="Comma-separated CLI tools plugins may run through run_tool, beyond the built-in list.")
    query_inference: Literal["in_process", "ray_serve"] = Field(
        default="in_process",
        description="Where query text is embedded: in the API process, or on a Ray Serve deployment per "
        "extractor version (replicas can live on GPU nodes and scale apart from the API).",
    )
    query_inference_replicas: int = 1
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint for container.llm and LLM stages.")
    llm_api_key: str | None = None
    llm_model: str | None = None
    hf_offline: bool = Field(
        default=True,
        description="Resolve Hugging Face ids only from the local cache (seeded with the packaged models); "
        "set false where the hub is reachable.",
    )
    warm_batch_workers: bool = Field(
        default=True,
        description="At start-up, start Ray and load the built-in extractors into idle Ray workers, "
        "so the first batch does not pay for process start and model loading.",
    )
    upsert_batch_size: int = 256
    outbound_allow_private: bool = Field(
        default=False, description="Let webhooks, alert channels and blob URLs reach loopback, link-local and "
        "private addresses (off: only public ones).")
    outbound_allowed_hosts: str = Field(
        default="", description="Comma-separated hosts those outbound requests may reach even when private.")
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024,
                                description="Largest request body the API reads (413 past it).")
    max_json_depth: int = Field(default=64, ge=4, description="Deepest nesting a request body may have.")
    max_upload_bytes: int = Field(default=5 * 1024**3, ge=1024,
                                  description="Largest file a bucket upload takes (413 past it); streamed, never held "
                                  "in memory.")
    webhook_max_attempts: int = Field(default=5, description="Deliveries per event and URL before giving up.")
    webhook_retry_base_seconds: float = Field(
        default=2.0, description="Delay before the first retry of a failed webhook delivery; doubles each time.")

    @cached_property
    def home_dir(self) -> Path:
        path = self.home.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def catalog_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home_dir / 'catalog.db'}"

    @property
    def objects_dir(self) -> Path:
        return self.home_dir / "objects"

    @property
    def index_dir(self) -> Path:
        return self.home_dir / "index"

    @property
    def dagster_home(self) -> Path:
        return self.home_dir / "dagster"

    @property
    def logs_dir(self) -> Path:
        return self.home_dir / "logs"

    @property
    def owner_url(self) -> str:
        """The index owner's base URL: ``index_owner_url``, else this machine's API server."""
        return self.index_owner_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def ray_jobs_url(self) -> str | None:
        """Where Ray jobs are submitted: ``ray_dashboard_url``, else the dashboard's default port on the head that
        ``ray_address`` names (None without either)."""
        if self.ray_dashboard_url:
            return self.ray_dashboard_url.rstrip("/")
        if not self.ray_address or self.ray_address.startswith(("ray://", "auto", "local")):
            return None
        return f"http://{self.ray_address.rsplit(':', 1)[0]}:8265"

    def resolved_internal_token(self) -> str:
        """The secret shared by the index owner and the processes that write through it.

        Persisted under home so that every process started on this home agrees on it.
        """
        if self.internal_token:
            return self.internal_token
        path = self.home_dir / "internal_token"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()


def load_settings(**overrides) -> Settings:
    """Read settings from the environment, with explicit keyword overrides on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


SECRET_PREFIX = "WAREHOUSE_SECRET_"


def secret(name: str) -> str | None:
    """An organisation secret for plugins (``WAREHOUSE_SECRET_<NAME>``); None when unset.

    Secrets are read when asked for, not with the settings: a plugin may ask for one the operator
    exported after start-up, and they never travel with a ``Settings`` object.
    """
    return os.environ.get(SECRET_PREFIX + name)


def secret_names() -> list[str]:
    return sorted(k[len(SECRET_PREFIX):] for k in os.environ if k.startswith(SECRET_PREFIX))
