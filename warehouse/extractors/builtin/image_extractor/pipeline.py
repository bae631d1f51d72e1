"""image_extractor batch step: decode in threads, one EfficientNet pass and one MiniLM pass per batch
(:class:`warehouse.extractors.media.imaging.ImageFeatures`).

An image that cannot be decoded fails its own row with the reason; the others go on."""

from warehouse.extractors.media.imaging import ImageFeatures


def build_steps(extractor_request=None, container=None, **kwargs):
    params = dict(getattr(extractor_request, "parameters", None) or {})
    return {"steps": [ImageFeatures(config=params)], "prepare": None}
