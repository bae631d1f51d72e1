"""The same ObjectStore operations on a local directory and on S3 (moto server on loopback)."""

from __future__ import annotations

import pytest

from warehouse.storage import LocalObjectStore, ObjectStoreError, S3ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, s3_endpoint):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    return S3ObjectStore("warehouse-test", endpoint_url=s3_endpoint, access_key_id="test", secret_access_key="test")


@pytest.mark.s3
def test_round_trip_list_delete(store):
    url = store.put("ns/bkt/obj1/blob", b"\x89PNG data", "image/png")
    store.put("ns/bkt/obj2/blob", b"two")
    store.put("ns/other/obj3/blob", b"three")
    assert store.get_url(url) == b"\x89PNG data"
    assert store.key_from_url(url) == "ns/bkt/obj1/blob"
    assert [o.key for o in store.list("ns/bkt/")] == ["ns/bkt/obj1/blob", "ns/bkt/obj2/blob"]
    assert [o.size for o in store.list("ns/bkt/")] == [9, 3]
    assert store.delete_prefix("ns/bkt/") == 2
    assert not store.exists("ns/bkt/obj1/blob") and store.exists("ns/other/obj3/blob")
    with pytest.raises(ObjectStoreError):
        store.get("ns/bkt/obj1/blob")


def test_local_store_refuses_escaping_keys(tmp_path):
    with pytest.raises(ObjectStoreError, match="escapes"):
        LocalObjectStore(tmp_path).put("../outside", b"x")
