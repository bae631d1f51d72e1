"""Media decoding and the packaged models behind the built-in media extractors (images, PDFs, audio, video).

The built-ins (``warehouse/extractors/builtin/*``) are plugins written with the public SDK; what several of them
share — EfficientNet-Lite0 with its preprocessing, whisper, PDF reading, frame sampling — lives here, importable by
any plugin as ``warehouse.extractors.media.*``."""
