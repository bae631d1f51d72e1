"""The OpenAPI document: every request body is a named pydantic model that refuses unknown keys."""

from __future__ import annotations

import pytest

from warehouse.api.app import create_app
from warehouse.services import Services
from warehouse.settings import Settings

#: bodies whose unknown root keys are data, by design (an object's own fields)
OPEN_BODIES = {"CreateObjectRequest", "CreateDocumentRequest", "UpdateDocumentRequest", "UpdateObjectRequest"}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("openapi"), warm_batch_workers=False)
    svc = Services.from_settings(settings)
    try:
        yield create_app(settings, svc, resume=False).openapi()
    finally:
        svc.close()


def _body_refs(schema: dict) -> list[str]:
    """The component names a body schema points to (``T`` or ``T | None``)."""
    options = schema.get("anyOf", [schema])
    return [o["$ref"].rsplit("/", 1)[-1] for o in options if "$ref" in o]


def _bodies(openapi: dict):
    for path, methods in openapi["paths"].items():
        for method, op in methods.items():
            body = (op.get("requestBody") or {}).get("content", {})
            for content_type, media in body.items():
                if content_type == "application/json":
                    yield f"{method.upper()} {path}", media["schema"]


def test_there_are_request_bodies_to_check(openapi):
    assert len(list(_bodies(openapi))) >= 35


def test_every_request_body_is_a_named_model(openapi):
    untyped = [where for where, schema in _bodies(openapi) if not _body_refs(schema)]
    assert untyped == []


def test_every_request_body_refuses_unknown_keys(openapi):
    components = openapi["components"]["schemas"]
    open_ = sorted({name for _, schema in _bodies(openapi) for name in _body_refs(schema)
                    if components[name].get("additionalProperties") is not False} - OPEN_BODIES)
    assert open_ == []
