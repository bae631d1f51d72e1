"""``{{INPUT.x}}`` templates in stage parameters: filling them and finding them."""

from __future__ import annotations

import re
from typing import Any

from warehouse.retrieval.filters import get_path

_TEMPLATE = re.compile(r"\{\{\s*(INPUT|INPUTS)\.([A-Za-z0-9_.]+)\s*\}\}", re.IGNORECASE)


def render(value: Any, inputs: dict[str, Any]) -> Any:
    """Fill ``{{INPUT.x}}`` templates; a whole-string template keeps the input's type."""
    if isinstance(value, str):
        whole = _TEMPLATE.fullmatch(value.strip())
        if whole:
            return get_path(inputs, whole.group(2))
        return _TEMPLATE.sub(lambda m: "" if get_path(inputs, m.group(2)) is None else str(get_path(inputs, m.group(2))),
                             value)
    if isinstance(value, dict):
        return {k: render(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, inputs) for v in value]
    return value


class TemplateInputs(dict):
    """The execution inputs as a Jinja template sees them (``INPUT.x``): an input that was not sent is empty,
    as it is in a parameter's ``{{INPUT.x}}``."""

    def __missing__(self, key: str) -> str:
        return ""


def template_references(value: Any, where: str) -> list[tuple[str, str]]:
    """``(location, input name)`` of every ``{{INPUT.x}}`` in a stage's parameters."""
    if isinstance(value, str):
        return [(where, m.group(2).split(".")[0]) for m in _TEMPLATE.finditer(value)]
    if isinstance(value, dict):
        return [r for k, v in value.items() for r in template_references(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [r for i, v in enumerate(value) for r in template_references(v, f"{where}[{i}]")]
    return []
