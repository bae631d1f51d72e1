"""document_extractor v1: PDFs into page-anchored text documents — text per page with pypdf (BSD), OCR of pages
without a text layer (RapidOCR, models inside ``rapidocr-onnxruntime``), AcroForm field values — chunked with the
text extractor's options and embedded with all-MiniLM-L6-v2 (384-d, the space of text collections)."""

from typing import Literal

from pydantic import BaseModel, Field

from warehouse.extractors.sdk import ExtractorManifest, Feature


class DocumentInput(BaseModel):
    document: str = Field(..., description="The PDF: an object-store URL or https URL.")


class DocumentExtractorParams(BaseModel):
    split_by: Literal["none", "characters", "words", "sentences", "paragraphs"] = Field(
        default="words", description="How each page's text is chunked; 'none' makes one document per page.")
    chunk_size: int = Field(default=150, gt=0, description="Chunk length in units of split_by (150 words fit "
                                                            "MiniLM's 256-token window).")
    chunk_overlap: int = Field(default=25, ge=0, description="Units shared by consecutive chunks of a page.")
    password: str | None = Field(default=None, description="The user password of encrypted PDFs.")
    ocr: Literal["auto", "always", "never"] = Field(
        default="auto", description="OCR the images of pages with (almost) no text layer, of every page, or none.")
    ocr_min_chars: int = Field(default=100, ge=0,
                               description="With ocr=auto, pages whose text layer is shorter than this get OCR.")
    max_pages: int | None = Field(default=None, gt=0, description="Read only the first N pages of each PDF.")
    extract_forms: bool = Field(default=True, description="Add a document with the values of the PDF's form fields.")


class DocumentOutput(BaseModel):
    text: str = Field(..., description="The chunk's text.")
    page_number: int = Field(..., description="1-based page of the chunk (also in the lineage).")
    page_count: int = Field(..., description="Pages of the PDF.")
    title: str | None = Field(None, description="The PDF's /Title.")
    ocr: bool = Field(..., description="Some of the page's text was read by OCR from its images.")
    part_index: int = Field(..., description="Position of the chunk among the PDF's documents.")
    form_fields: list[dict] | None = Field(None, description="[{name, value}] of the AcroForm (its own document).")

manifest = ExtractorManifest(
    feature_extractor_name="document_extractor",
    version="v1",
    description="PDF text per page (pypdf), OCR of image-only pages (RapidOCR) and form fields, chunked and "
                "embedded with all-MiniLM-L6-v2 (384-d)",
    features=[Feature.embedding("text_embedding", dim=384, distance="cosine")],
    inference_type="embedding",
    compute_profile={"resource_type": "cpu", "batch_size": 8, "max_concurrency": 1},
    input_mappings={"document": "document"},
)

feature_extractor_name = manifest.feature_extractor_name
version = manifest.version
description = manifest.description
features = manifest.features_as_dicts()
feature_uri = manifest.feature_uri
supported_input_types = ["pdf"]
input_schema = DocumentInput
parameter_schema = DocumentExtractorParams
output_schema = DocumentOutput
