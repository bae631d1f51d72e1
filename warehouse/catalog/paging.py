"""Paging arguments of list endpoints: ``limit``/``offset`` or ``page``/``page_size``, bounded."""

from __future__ import annotations

MAX_PAGE = 1000
#: the largest offset a list accepts (past it a database integer would overflow into a 500)
MAX_OFFSET = 1_000_000_000


def page_args(limit: int | None, offset: int | None, page: int | None = None, page_size: int | None = None,
              default: int = 50) -> tuple[int, int]:
    """``(limit, offset)`` from either form; the page size is clamped to 1…1000."""
    size = limit or page_size or default
    start = offset if offset is not None else ((page - 1) * size if page else 0)
    return max(1, min(size, MAX_PAGE)), max(0, min(start, MAX_OFFSET))
