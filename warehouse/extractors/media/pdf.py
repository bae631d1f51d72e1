"""Reading PDFs with ``pypdf`` (BSD): text per page, form field values, OCR of the images on pages without a text
layer (``rapidocr-onnxruntime``: its detection and recognition models ship inside the wheel).

``pypdf`` does not render pages, so OCR reads the images a page draws — which is what a scanned page is. A page
that fails (a broken content stream, an image that does not decode) fails alone: its error is kept on the page and
the other pages go on."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: how many bytes from the start a PDF's ``%PDF-`` header may be (the spec allows leading garbage up to 1 KiB)
HEADER_WINDOW = 1024
OCR_MODES = ("auto", "always", "never")
_OCR: dict[str, object] = {}
_OCR_LOCK = threading.Lock()


class PdfError(ValueError):
    """The PDF as a whole cannot be read (not a PDF, encrypted without the right password, unparseable)."""


@dataclass
class PdfPage:
    number: int  # 1-based
    text: str = ""
    ocr: bool = False  # some of the text was read from the page's images
    images: int = 0
    error: str | None = None


@dataclass
class PdfContent:
    pages: list[PdfPage]
    fields: list[dict] = field(default_factory=list)  # [{"name", "value"}] of the AcroForm
    form_page: int = 1  # the first page with a form widget
    title: str | None = None


def read_pdf(path: str | Path, password: str | None = None, ocr: str = "auto", ocr_min_chars: int = 100,
             max_pages: int | None = None) -> PdfContent:
    """The pages of the PDF at ``path``. ``ocr``: ``auto`` reads the images of pages whose text layer has fewer
    than ``ocr_min_chars`` characters, ``always`` of every page, ``never`` of none. Raises :class:`PdfError`."""
    # lazy: pypdf is needed only where PDFs are read
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    if ocr not in OCR_MODES:
        raise PdfError(f"ocr must be one of {list(OCR_MODES)}, not {ocr!r}")
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(HEADER_WINDOW)
    if not head:
        raise PdfError("the file is empty (0 bytes), not a PDF")
    if b"%PDF-" not in head:
        raise PdfError(f"the file is not a PDF (it starts with {head[:16]!r}, a PDF starts with b'%PDF-')")
    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            opened = reader.decrypt(password or "")  # many PDFs are encrypted with an empty user password
            if not opened:
                if password:
                    raise PdfError("the password given (parameter 'password') does not open this encrypted PDF")
                raise PdfError("the PDF is encrypted; pass its password in the collection's feature_extractor "
                               "parameters as 'password'")
        pages = list(reader.pages)
    except PdfError:
        raise
    except FileNotDecryptedError as exc:
        raise PdfError(f"the PDF is encrypted and could not be decrypted ({exc})") from None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise PdfError(f"the PDF could not be parsed ({type(exc).__name__}: {exc}); the file is damaged or "
                       "truncated") from None
    if not pages:
        raise PdfError("the PDF has no pages")
    if max_pages:
        pages = pages[:max_pages]
    out = [_read_page(page, i + 1, ocr, ocr_min_chars) for i, page in enumerate(pages)]
    fields, form_page = _form_fields(reader, pages)
    title = None
    try:
        title = (reader.metadata or {}).get("/Title") or None
    except Exception:  # noqa: BLE001 - a broken info dictionary costs the title, nothing else
        pass
    return PdfContent(pages=out, fields=fields, form_page=form_page, title=str(title) if title else None)


def _read_page(page, number: int, ocr: str, ocr_min_chars: int) -> PdfPage:
    result = PdfPage(number=number)
    try:
        result.text = (page.extract_text() or "").strip()
    except Exception as exc:  # noqa: BLE001 - this page fails, with the reason; the others go on
        result.error = f"its text could not be extracted ({type(exc).__name__}: {exc})"
    wants_ocr = ocr == "always" or (ocr == "auto" and len(result.text) < ocr_min_chars)
    if not wants_ocr:
        return result
    try:
        images = list(page.images)
    except Exception as exc:  # noqa: BLE001
        result.error = result.error or f"its images could not be read ({type(exc).__name__}: {exc})"
        return result
    result.images = len(images)
    lines, broken = [], []
    for image in images:
        try:
            lines += ocr_lines(image.image)
        except Exception as exc:  # noqa: BLE001 - one undecodable image costs its own text
            broken.append(f"{image.name}: {type(exc).__name__}: {exc}")
    if lines:
        result.ocr = True
        result.text = "\n".join([result.text, *lines]).strip()
    if broken and not result.text:
        result.error = f"no text layer, and its image(s) could not be decoded for OCR ({'; '.join(broken)})"
    return result


def _form_fields(reader, pages) -> tuple[list[dict], int]:
    """The AcroForm's fields as ``[{"name", "value"}]`` (checkbox states without their leading slash) and the first
    page that shows one of them."""
    try:
        raw = reader.get_fields() or {}
    except Exception:  # noqa: BLE001 - a broken form costs its fields, not the text
        return [], 1
    fields = []
    for name, spec in raw.items():
        value = spec.get("/V") if hasattr(spec, "get") else None
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        text = "" if value is None else str(value)
        fields.append({"name": str(name), "value": text[1:] if text.startswith("/") else text})
    form_page = 1
    for i, page in enumerate(pages):
        try:
            annots = page.get("/Annots") or []
            if any((a.get_object() or {}).get("/Subtype") == "/Widget" for a in annots):
                form_page = i + 1
                break
        except Exception:  # noqa: BLE001
            break
    return fields, form_page


def form_text(fields: list[dict]) -> str:
    """What a form's document embeds: ``name: value`` per filled field, or the field names of an empty form."""
    filled = [f"{f['name']}: {f['value']}" for f in fields if f["value"] and f["value"] != "Off"]
    if filled:
        return "\n".join(filled)
    return "Form fields: " + ", ".join(f["name"] for f in fields)


def ocr_engine():
    """RapidOCR (ONNX Runtime; models inside the wheel), once per process."""
    with _OCR_LOCK:
        if "engine" not in _OCR:
            # lazy: onnxruntime and the OCR models load only where a page needs OCR
            from rapidocr_onnxruntime import RapidOCR

            _OCR["engine"] = RapidOCR()
        return _OCR["engine"]


def ocr_lines(image) -> list[str]:
    """The lines of text RapidOCR reads in a PIL image, top to bottom."""
    if image.width < 16 or image.height < 16:
        return []
    result, _ = ocr_engine()(np.asarray(image.convert("RGB")))
    boxes = sorted(result or [], key=lambda r: (min(p[1] for p in r[0]), min(p[0] for p in r[0])))
    return [text for _, text, _ in boxes if text.strip()]


def pdf_bytes_text(content: bytes, max_pages: int = 3) -> str:
    """The text of a PDF's first pages (a PDF given as a query by example)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(content)
        tmp.flush()
        return "\n".join(p.text for p in read_pdf(tmp.name, max_pages=max_pages).pages)[:4000]
