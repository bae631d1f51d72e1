"""document_extractor batch steps: each PDF expands into its pages' chunks (read in threads), then one MiniLM pass
embeds every chunk of the batch.

A PDF that cannot be opened (not a PDF, a wrong password, damaged) fails its object with the reason; a page that
cannot be read, or has no text even after OCR, is reported as a skipped part and the other pages go on."""

from warehouse.extractors.chunking import split_text
from warehouse.extractors.media.pdf import PdfError, form_text, ocr_engine, read_pdf
from warehouse.extractors.sdk import (
    BatchProcessor,
    PipelineDefinition,
    StepDefinition,
    TextEmbedder,
    build_pipeline_steps,
    open_asset,
    parallel_io,
    parts_frame,
)

OUTPUT = "text_embedding"


def _read(url, params):
    try:
        with open_asset(url, suffix=".pdf") as path:
            return read_pdf(path, password=params.get("password"), ocr=params.get("ocr", "auto"),
                            ocr_min_chars=int(params.get("ocr_min_chars", 100)), max_pages=params.get("max_pages"))
    except PdfError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a blob that cannot be fetched fails its object, with the reason
        return f"the PDF could not be read ({type(exc).__name__}: {exc})"


def _no_text(page) -> str:
    if page.error:
        return f"page {page.number}: {page.error}"
    if page.images:
        return f"page {page.number}: no text layer, and OCR found no text in its {page.images} image(s)"
    return f"page {page.number}: no text layer and no images"


class PdfPages(BatchProcessor):
    """One row per chunk of each page (``page_number``, character offsets within the page, ``ocr``), one per
    page without text (a skipped part, with the reason), and one for the form's field values."""

    expands = True

    def setup(self) -> None:
        if self.config.get("ocr", "auto") != "never":
            ocr_engine()  # loaded in the worker before the first batch

    def process(self, batch):
        params = self.config
        split_by = params.get("split_by", "words")
        size, overlap = int(params.get("chunk_size", 150)), int(params.get("chunk_overlap", 25))
        read = parallel_io(list(batch["data"]), lambda url: _read(url, params), max_workers=2)
        parts = []
        for row, content in zip(batch.to_dict("records"), read, strict=True):
            if isinstance(content, str):
                parts.append({**row, "_error": content})
                continue
            meta = {"page_count": len(content.pages), "title": content.title}
            for page in content.pages:
                if not page.text:
                    parts.append({**row, **meta, "data": None, "text": None, "page_number": page.number,
                                  "ocr": False, "_skip_reason": _no_text(page)})
                    continue
                for chunk in split_text(page.text, split_by, size, overlap):
                    parts.append({**row, **meta, "data": chunk.text, "text": chunk.text, "page_number": page.number,
                                  "ocr": page.ocr, "_chunk_start": chunk.start, "_chunk_end": chunk.end})
            if content.fields and params.get("extract_forms", True):
                text = form_text(content.fields)
                parts.append({**row, **meta, "data": text, "text": text, "page_number": content.form_page,
                              "ocr": False, "form_fields": content.fields})
        return parts_frame(batch, parts)


def build_steps(extractor_request=None, container=None, **kwargs):
    params = dict(getattr(extractor_request, "parameters", None) or {})
    pipeline = PipelineDefinition(name="document_extractor", version="v1", steps=[
        StepDefinition(service_class=PdfPages, config=params, expands=True),
        StepDefinition(service_class=TextEmbedder, config={"output": OUTPUT}),
    ])
    return {"steps": build_pipeline_steps(pipeline), "prepare": None}
