"""Plugin SDK helpers: parallel I/O, concurrent API calls, assets, whitelisted tools, containers.

Mixpeek's documented names and signatures (``shared.plugins.sdk`` / ``shared.extractors.sdk``):
``parallel_io(items, fn, max_workers)``, ``concurrent_api_calls(items, async_fn, max_concurrent)``,
``open_asset(url, suffix)``, ``download_asset(url, suffix)``, ``upload_asset(path, namespace_id,
internal_id, resource_id)``, ``run_tool(tool, args, timeout)``, ``prefetch_hf_model(model_id)``,
and the ``container`` handed to ``build_steps`` with ``secrets`` and ``llm``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

import httpx

from warehouse.extractors.models import resolve_hf_model
from warehouse.llm import NOT_CONFIGURED, chat_body, parse_json, reply_text
from warehouse.outbound import OutboundPolicy, OutboundRefused, check_url
from warehouse.settings import SECRET_PREFIX, Settings, secret, secret_names
from warehouse.storage import make_object_store

T = TypeVar("T")
R = TypeVar("R")

# CLI tools a plugin may run through run_tool (never through subprocess directly).
ALLOWED_TOOLS = {"ffmpeg", "ffprobe", "REDline", "art-cmd", "pdftoppm", "pdftotext", "tesseract", "sox", "convert"}


def allowed_tools() -> set[str]:
    """The built-in whitelist plus the operator's ``WAREHOUSE_PLUGIN_TOOLS`` (comma-separated)."""
    extra = {t.strip() for t in Settings().plugin_tools.split(",") if t.strip()}
    return ALLOWED_TOOLS | extra


def parallel_io(items: Iterable[T], fn: Callable[[T], R], max_workers: int = 8) -> list[R]:
    """``fn`` over ``items`` in threads, results in input order (for downloads, decoding, ffmpeg).

    An exception in ``fn`` propagates after all items finished, so no thread is left running.
    """
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(items)))) as pool:
        futures = [pool.submit(fn, item) for item in items]
    return [f.result() for f in futures]


def concurrent_api_calls(items: Iterable[T], async_fn: Callable[[T], Awaitable[R]], max_concurrent: int = 10) -> list[R]:
    """Await ``async_fn`` over ``items`` with at most ``max_concurrent`` in flight; input order kept.

    Works from synchronous batch code (runs its own event loop, in a helper thread when the
    caller is already inside one).
    """
    items = list(items)

    async def run_all() -> list[R]:
        gate = asyncio.Semaphore(max(1, max_concurrent))

        async def one(item: T) -> R:
            async with gate:
                return await async_fn(item)

        return await asyncio.gather(*(one(i) for i in items))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_all())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run_all()).result()


def _s3_client():
    """A boto3 client for the configured S3 endpoint (any bucket of it)."""
    # lazy: boto3 is needed only with the S3 object store
    import boto3

    s = Settings()
    return boto3.client("s3", endpoint_url=s.s3_endpoint_url, region_name=s.s3_region,
                        aws_access_key_id=s.s3_access_key_id, aws_secret_access_key=s.s3_secret_access_key)


def download_asset(url: str, suffix: str = "") -> tuple[str, bool]:
    """A local path for ``url`` (``file://``, a plain path, ``s3://``, ``http(s)://``) and whether it
    is a temporary copy the caller must delete (``open_asset`` does that for you)."""
    parsed = urlparse(str(url))
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme == "file" else str(url))
        if not path.exists():
            raise FileNotFoundError(f"asset {url!r} does not exist")
        return str(path), False
    fd, tmp = tempfile.mkstemp(suffix=suffix or Path(parsed.path).suffix)
    os.close(fd)
    try:
        if parsed.scheme == "s3":
            _s3_client().download_file(parsed.netloc, parsed.path.lstrip("/"), tmp)
        elif parsed.scheme in ("http", "https"):
            check_url(str(url), OutboundPolicy.from_settings(Settings()))
            with httpx.stream("GET", str(url), follow_redirects=False, timeout=60) as resp:
                if resp.is_redirect:  # a redirect could point anywhere: not followed
                    raise OutboundRefused(f"{url!r} redirects to {resp.headers.get('location')!r}; redirects are "
                                          "not followed, give the final URL")
                resp.raise_for_status()
                with Path(tmp).open("wb") as fh:
                    for chunk in resp.iter_bytes():
                        fh.write(chunk)
        else:
            raise ValueError(f"asset URL {url!r} has unsupported scheme {parsed.scheme!r}; use s3://, http(s):// or file://")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp, True


@contextmanager
def open_asset(url: str, suffix: str = ""):
    """``with open_asset(url, suffix=".jpg") as path:`` — a local file, removed afterwards if temporary."""
    path, is_temp = download_asset(url, suffix)
    try:
        yield path
    finally:
        if is_temp:
            Path(path).unlink(missing_ok=True)


def upload_asset(path: str, namespace_id: str, internal_id: str, resource_id: str) -> str:
    """Store a processed file (a thumbnail, a transcoded clip) in the object store; returns its URL."""

    key = f"{namespace_id}/derived/{internal_id}/{resource_id}/{Path(path).name}"
    return make_object_store(Settings()).put(key, Path(path).read_bytes())


def run_tool(tool: str, args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a whitelisted CLI tool with ``args`` (no shell), raising with its stderr when it fails."""
    allowed = allowed_tools()
    if tool not in allowed:
        raise PermissionError(f"tool {tool!r} is not whitelisted for plugins; allowed: {sorted(allowed)} "
                              "(an operator can add tools with WAREHOUSE_PLUGIN_TOOLS=tool1,tool2)")
    if not isinstance(args, list | tuple) or not all(isinstance(a, str) for a in args):
        raise TypeError("run_tool args must be a list of strings")
    exe = shutil.which(tool)
    if exe is None:
        raise FileNotFoundError(f"tool {tool!r} is whitelisted but not installed on this worker")
    try:
        result = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"{tool} did not finish in {timeout} s") from exc
    if result.returncode != 0:
        raise RuntimeError(f"{tool} exited with {result.returncode}: {result.stderr.strip()[-2000:]}")
    return result


def prefetch_hf_model(model_id: str) -> str:
    """Make ``model_id`` available locally ahead of loading it; returns its local path.

    Models the warehouse ships resolve offline; others are downloaded into the HF cache when the
    hub is reachable, else a clear error says how to provide them.
    """

    return resolve_hf_model(model_id)


# -- the container build_steps receives -----------------------------------------------------------
class SecretsAccessor:
    """Organisation secrets for plugins: ``await container.secrets.get("NAME")``.

    Self-hosted, secrets come from the environment as ``WAREHOUSE_SECRET_<NAME>``.
    """

    async def get(self, name: str) -> str:
        value = secret(name)
        if value is None:
            raise KeyError(f"secret {name!r} is not set; export {SECRET_PREFIX}{name}=... where the warehouse runs")
        return value

    async def list(self) -> list[str]:
        return secret_names()


class LLMNotConfigured(RuntimeError):
    pass


class LLMAccessor:
    """``container.llm``: an OpenAI-compatible chat endpoint from the settings."""

    def __init__(self, base_url: str | None, api_key: str | None, model: str | None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.api_key = api_key
        self.model = model

    def _require(self) -> None:
        if not self.base_url:
            raise LLMNotConfigured(NOT_CONFIGURED)

    async def generate(self, instruction: str, text: str | None = None, images: list | None = None,
                       provider: str | None = None, model: str | None = None, schema: dict | None = None) -> str | dict:
        """One chat completion; with ``schema`` the reply is parsed as JSON."""

        self._require()
        messages = [{"role": "system", "content": instruction}]
        if text:
            messages.append({"role": "user", "content": text})
        body = chat_body(model or self.model, messages, schema or None)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        async with httpx.AsyncClient(timeout=120) as client:
            resp = await client.post(f"{self.base_url}/chat/completions", json=body, headers=headers)
        if resp.status_code >= 400:
            raise RuntimeError(f"LLM endpoint {self.base_url} answered {resp.status_code}: {resp.text[:500]}")
        content = reply_text(resp.json())
        return parse_json(content) if schema else content


class PluginContainer:
    """What ``build_steps(extractor_request, container)`` receives."""

    def __init__(self, secrets: SecretsAccessor, llm: LLMAccessor) -> None:
        self.secrets = secrets
        self.llm = llm


def default_container() -> PluginContainer:
    settings = Settings()
    return PluginContainer(SecretsAccessor(), LLMAccessor(settings.llm_base_url, settings.llm_api_key, settings.llm_model))
