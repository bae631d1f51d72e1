"""The domain's error: a status hint, the envelope's type name, and the shared shape checks."""

from __future__ import annotations

import pytest

from warehouse.errors import WarehouseError, check_keys, not_found, rename_aliases


def test_the_type_follows_the_status_unless_named():
    assert WarehouseError(422, "bad").type == "ValidationError"
    assert WarehouseError(409, "taken").type == "AlreadyExistsError"
    assert WarehouseError(418, "odd").type == "Error"
    assert WarehouseError(503, "down", type_="LLMUnavailable").type == "LLMUnavailable"


def test_not_found_names_the_resource():
    err = not_found("bucket", "photos", namespace_id="ns_1")
    assert (err.status, err.message) == (404, "bucket 'photos' not found")
    assert err.details == {"resource": "bucket", "identifier": "photos", "namespace_id": "ns_1"}


def test_check_keys_names_the_unknown_key_and_the_fix():
    with pytest.raises(WarehouseError) as exc:
        check_keys({"top_n": 3, "limit": 1}, {"limit", "top_k"}, "parameters")
    assert exc.value.status == 422 and exc.value.details == {"location": "parameters", "unknown": ["top_n"]}
    assert "unknown key(s) ['top_n']" in exc.value.message and "the key is 'top_k'" in exc.value.message
    assert check_keys({"limit": 1}, {"limit"}, "parameters") == {"limit": 1}
    with pytest.raises(WarehouseError, match="parameters must be an object"):
        check_keys([1], {"limit"}, "parameters")


def test_aliases_rename_only_when_the_real_key_is_absent():
    assert rename_aliases({"name": "a"}, {"name": "bucket_name"}) == {"bucket_name": "a"}
    assert rename_aliases({"name": "a", "bucket_name": "b"}, {"name": "bucket_name"}) == {"name": "a", "bucket_name": "b"}
    assert rename_aliases(["not", "a", "dict"], {"name": "bucket_name"}) == ["not", "a", "dict"]
