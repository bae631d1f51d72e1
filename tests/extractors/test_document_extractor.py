"""The built-in document_extractor on the 12 real PDFs of ../shared/data/pdfs: text per page, the encrypted one with
and without its password, OCR of image pages, form values, Arabic; then through the API — pages as documents with
page numbers and offsets in the lineage, found by text, and bad PDFs failing their own object with the reason."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import wait_batch
from tests.extractors.media_files import PDFS, feature_uris, make_retriever, search
from warehouse.batch.engine import ERROR_COLUMN, SKIP_COLUMN, StepGroup
from warehouse.extractors.media.pdf import PdfError, read_pdf
from warehouse.extractors.registry import BUILTIN_DIR


def _text(name: str, **kwargs) -> list[str]:
    return [p.text for p in read_pdf(PDFS / name, **kwargs).pages]


def test_every_shared_pdf_reads_page_by_page():
    pdfs = sorted(PDFS.glob("*.pdf"))
    assert len(pdfs) == 12
    for pdf in pdfs:
        if pdf.name == "libreoffice-writer-password.pdf":
            continue
        content = read_pdf(pdf)
        assert content.pages and all(p.error is None for p in content.pages), pdf.name
    geo = read_pdf(PDFS / "GeoTopo-komprimiert.pdf")
    assert len(geo.pages) == 117 and sum(len(p.text) > 500 for p in geo.pages) > 100
    assert "Topologie" in geo.pages[0].text and geo.title == "Geometrie und Topologie"
    assert len(_text("multicolumn.pdf")) == 3 and "Two-Column Document" in _text("multicolumn.pdf")[0]
    assert len(_text("pdflatex-4-pages.pdf")) == 4
    assert "Beautiful is better than ugly" in _text("google-doc-document.pdf")[0]
    assert "The Crazy Ones" in _text("crazyones-pdfa.pdf")[0]
    assert "habibi" in _text("habibi.pdf")[0] and "حَبيبي" in _text("habibi.pdf")[0]  # Arabic, through its CMap


def test_encrypted_pdf_opens_with_its_password_and_says_why_without_it():
    with pytest.raises(PdfError, match="encrypted; pass its password .* as 'password'"):
        read_pdf(PDFS / "libreoffice-writer-password.pdf")
    with pytest.raises(PdfError, match="password given .* does not open"):
        read_pdf(PDFS / "libreoffice-writer-password.pdf", password="wrong")
    assert _text("libreoffice-writer-password.pdf", password="openpassword")[0].startswith("Lorem ipsum")


def test_image_pages_get_ocr_and_a_drawing_has_no_text():
    annotated = read_pdf(PDFS / "base64image.pdf").pages[0]  # a 69-character watermark over a photo of text
    assert annotated.ocr and "When you open a ticket" in annotated.text and "close it" in annotated.text
    assert not read_pdf(PDFS / "base64image.pdf", ocr="never").pages[0].ocr
    drawing = read_pdf(PDFS / "grayscale-image.pdf").pages[0]  # no text layer, one image without words
    assert drawing.text == "" and drawing.images == 1 and drawing.error is None


def test_form_field_values_are_extracted(tmp_path):
    import pypdf

    assert [f["name"] for f in read_pdf(PDFS / "pdflatex-forms.pdf").fields] == ["Name", "Check", "Submit"]
    writer = pypdf.PdfWriter(clone_from=str(PDFS / "pdflatex-forms.pdf"))
    writer.update_page_form_field_values(writer.pages[0], {"Name": "Ada Lovelace"}, auto_regenerate=False)
    filled = tmp_path / "filled.pdf"
    writer.write(filled)
    fields = {f["name"]: f["value"] for f in read_pdf(filled).fields}
    assert fields["Name"] == "Ada Lovelace" and fields["Check"] == "Off"


def test_not_a_pdf_empty_and_truncated_files_are_refused_with_the_reason(tmp_path):
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "page.pdf").write_text("<html>not a pdf</html>")
    (tmp_path / "cut.pdf").write_bytes((PDFS / "pdflatex-4-pages.pdf").read_bytes()[:600])
    with pytest.raises(PdfError, match="empty"):
        read_pdf(tmp_path / "empty.pdf")
    with pytest.raises(PdfError, match="not a PDF .*<html>"):
        read_pdf(tmp_path / "page.pdf")
    with pytest.raises(PdfError, match="damaged or truncated|no pages"):
        read_pdf(tmp_path / "cut.pdf")


def _rows(paths: list[Path]) -> pd.DataFrame:
    return pd.DataFrame([{
        "data": p.as_uri(), "document_id": f"doc_{i:032x}", "object_id": f"obj_{i}", "blob_id": "blob",
        "blob_property": "document", "blob_type": "pdf", "collection_id": "col", "feature_extractor_id": "x",
        "mime_type": "application/pdf", "size_bytes": p.stat().st_size, "chunk_index": 0} for i, p in enumerate(paths)])


def test_pdfs_expand_into_page_chunks_and_bad_pages_are_skipped_parts():
    names = ["pdflatex-4-pages.pdf", "grayscale-image.pdf", "pdflatex-forms.pdf", "libreoffice-writer-password.pdf"]
    group = StepGroup(str(BUILTIN_DIR / "document_extractor"), True, {"split_by": "words", "chunk_size": 120},
                      [0], ["text_embedding"], 1, last=False)
    out = group(_rows([PDFS / n for n in names]))
    four = out[out["object_id"] == "obj_0"]
    assert sorted(set(four["page_number"])) == [1, 2, 3, 4] and len(four) > 4
    first = four.iloc[0]
    assert first["data"] == first["text"] and first["_chunk_start"] == 0 and first["_chunk_end"] > 0
    page_two = four[four["page_number"] == 2].iloc[1]  # a later chunk of a page starts inside it
    assert 0 < page_two["_chunk_start"] < page_two["_chunk_end"]
    assert len(set(out["document_id"])) == len(out)  # every part its own id
    again = group(_rows([PDFS / n for n in names]))
    assert list(again["document_id"]) == list(out["document_id"])  # deterministic: a re-run upserts
    [drawing] = out[out["object_id"] == "obj_1"][SKIP_COLUMN]
    assert drawing == "page 1: no text layer, and OCR found no text in its 1 image(s)"
    form = out[(out["object_id"] == "obj_2") & out["form_fields"].notna()]
    assert list(form["text"]) == ["Form fields: Name, Check, Submit"]
    [locked] = out[out["object_id"] == "obj_3"][ERROR_COLUMN]
    assert "encrypted; pass its password" in locked


@pytest.mark.ray
@pytest.mark.slow
def test_pdfs_through_the_api_pages_searchable_lineage_to_the_page_bad_pdfs_fail_alone(live):
    _, c = live.new_namespace()
    files = {n: PDFS / n for n in ["pdflatex-4-pages.pdf", "crazyones-pdfa.pdf", "google-doc-document.pdf",
                                   "libreoffice-writer-password.pdf", "base64image.pdf", "grayscale-image.pdf"]}
    with c:
        bucket = c.post("/v1/buckets", json={"bucket_name": "docs", "bucket_schema": {
            "properties": {"file": {"type": "pdf"}, "name": {"type": "string"}}}}).json()["bucket_id"]
        ids = {}
        for name, path in files.items():
            resp = c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [{
                "property": "file", "type": "pdf", "data": base64.b64encode(path.read_bytes()).decode()}], "name": name})
            assert resp.status_code == 200, resp.text
            ids[name] = resp.json()["object_id"]
        truncated = (PDFS / "pdflatex-4-pages.pdf").read_bytes()[:600]
        ids["truncated"] = c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [{
            "property": "file", "type": "pdf", "data": base64.b64encode(truncated).decode()}]}).json()["object_id"]
        html = c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [{
            "property": "file", "type": "pdf", "data": base64.b64encode(b"<html>no</html>").decode()}]})
        assert html.status_code == 422 and "not a recognised pdf file" in html.text, html.text  # sniffed at the door, nothing stored
        coll = c.post("/v1/collections", json={
            "collection_name": "docs", "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": "document_extractor", "version": "v1",
                                  "input_mappings": {"document": "file"}, "parameters": {"password": "openpassword"},
                                  "field_passthrough": [{"source_path": "name"}]}}).json()
        uri = feature_uris(coll)["text_embedding"]
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        done = wait_batch(c, batch["batch_id"])
        assert done["status"] == "COMPLETED_WITH_ERRORS", done
        failures = {f["object_id"]: f for f in done["failed_objects"]}
        assert set(failures) == {ids["grayscale-image.pdf"], ids["truncated"]}, failures
        assert "page 1: no text layer, and OCR found no text" in failures[ids["grayscale-image.pdf"]]["error"]
        assert "damaged or truncated" in failures[ids["truncated"]]["error"] or "no pages" in failures[
            ids["truncated"]]["error"]
        by_text = make_retriever(c, coll["collection_id"], uri)
        for query, name in [("Here's to the crazy ones, the misfits, the rebels", "crazyones-pdfa.pdf"),
                            ("Beautiful is better than ugly. Explicit is better than implicit.", "google-doc-document.pdf"),
                            ("assign the ticket to yourself, fix the issue and close it", "base64image.pdf")]:
            top = search(c, by_text, query)[0]
            assert top["source_object_id"] == ids[name] and top["name"] == name, (query, top.get("name"))
        docs = c.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={
            "filters": {"AND": [{"field": "source_object_id", "operator": "eq", "value": ids["pdflatex-4-pages.pdf"]}]},
            "page_size": 100}).json()["results"]
        pages = sorted({d["page_number"] for d in docs})
        assert pages == [1, 2, 3, 4] and all(d["page_count"] == 4 for d in docs)
        lineage = docs[0]["_internal"]["lineage"]
        assert lineage["page_number"] == docs[0]["page_number"] and lineage["source_object_id"] == ids[
            "pdflatex-4-pages.pdf"] and lineage["chunk_end"] > lineage["chunk_start"] >= 0
        locked = [d for d in c.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={
            "page_size": 100}).json()["results"] if d["source_object_id"] == ids["libreoffice-writer-password.pdf"]]
        assert locked and locked[0]["text"].startswith("Lorem ipsum")
        # a re-run of the batch upserts the same page documents: nothing duplicated
        count = c.post(f"/v1/collections/{coll['collection_id']}/documents/count", json={}).json()
        rerun = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        wait_batch(c, rerun["batch_id"])
        assert c.post(f"/v1/collections/{coll['collection_id']}/documents/count", json={}).json() == count
