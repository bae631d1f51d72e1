"""``POST /v1/buckets/{b}/objects/list``: filters, search, sort and select, on SQLite and Postgres."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.api.seeding import in_process_api

JPEG = Path(__file__).resolve().parents[3] / "shared" / "data" / "images" / "imagenet_sample" / "n01440764_tench.JPEG"

OBJECTS = [  # (title, year, key_prefix, text); made in this order
    ("Glacier retreat", 2021, "/reports/climate", "Ice sheets lose mass."),
    ("Harbour memo", 2019, None, "The harbour closes at noon."),
    ("glacier survey", 2023, "/reports/field", "Survey notes from the valley."),
    ("Budget", None, "/finance", "Quarterly numbers."),
]


@pytest.fixture
def listed(tmp_path, catalog_url):
    with in_process_api(tmp_path, database_url=catalog_url) as (http, _):
        bucket = http.post("/v1/buckets", json={"bucket_name": "reports", "bucket_schema": {"properties": {
            "content": {"type": "text"}, "title": {"type": "string"}, "year": {"type": "number"}}}}).json()
        path = f"/v1/buckets/{bucket['bucket_id']}/objects"
        for title, year, prefix, text in OBJECTS:
            body = {"title": title, "blobs": [{"property": "content", "type": "text", "data": text,
                                               "metadata": {"source": "scan" if year == 2019 else "upload"}}]}
            if year is not None:
                body["year"] = year
            if prefix is not None:
                body["key_prefix"] = prefix
            assert http.post(path, json=body).status_code == 200

        def titles(**body):
            resp = http.post(f"{path}/list", json=body)
            assert resp.status_code == 200, resp.text
            return [o.get("title") for o in resp.json()["results"]], resp.json()

        yield http, path, titles


def test_object_listing_filters_sorts_searches_and_selects_on_sqlite_and_postgres(listed):
    http, path, titles = listed
    assert titles()[0] == [t for t, *_ in OBJECTS]  # oldest first

    # filters: the documents' filter language over the object as shown, pushed nowhere, paged here
    got, body = titles(filters={"AND": [{"field": "year", "operator": "gte", "value": 2020}]})
    assert got == ["Glacier retreat", "glacier survey"] and body["total_count"] == 2
    assert titles(filters={"OR": [{"field": "year", "operator": "lt", "value": 2020},
                                  {"field": "year", "operator": "exists", "value": False}]})[0] == ["Harbour memo", "Budget"]
    assert titles(filters={"field": "key_prefix", "operator": "starts_with", "value": "/reports"})[0] == \
        ["Glacier retreat", "glacier survey"]
    assert titles(filters={"NOT": [{"field": "title", "operator": "regex", "value": "(?i)glacier"}]})[0] == \
        ["Harbour memo", "Budget"]
    got, body = titles(filters={"field": "year", "operator": "gt", "value": 2000}, limit=1, offset=1)
    assert got == ["Harbour memo"] and body["total_count"] == 3 and body["pagination"]["total"] == 3

    # search: case-insensitive, in the key, the object's own fields and its blobs' metadata
    assert titles(search="GLACIER")[0] == ["Glacier retreat", "glacier survey"]
    assert titles(search="finance")[0] == ["Budget"]
    assert titles(search="scan")[0] == ["Harbour memo"]
    assert titles(search="  ")[0] == [t for t, *_ in OBJECTS]  # blank: no search
    assert titles(search="glacier", filters={"field": "year", "operator": "gt", "value": 2022})[0] == ["glacier survey"]

    # sort: by a column in the catalog, by any field here; missing values last in either direction
    assert titles(sort={"field": "created_at", "direction": "desc"})[0] == [t for t, *_ in reversed(OBJECTS)]
    assert titles(sort={"field": "key_prefix", "direction": "asc"})[0] == \
        ["Budget", "Glacier retreat", "glacier survey", "Harbour memo"]
    assert titles(sort={"field": "key_prefix", "direction": "desc"})[0] == \
        ["glacier survey", "Glacier retreat", "Budget", "Harbour memo"]
    assert titles(sort={"field": "year", "direction": "desc"})[0] == \
        ["glacier survey", "Glacier retreat", "Harbour memo", "Budget"]
    assert titles(sorts=[{"field": "year"}])[0] == ["Harbour memo", "Glacier retreat", "glacier survey", "Budget"]
    got, body = titles(sort=[{"field": "title", "direction": "DESC"}], limit=2)
    assert got == ["glacier survey", "Harbour memo"] and body["total_count"] == 4
    got, _ = titles(sort={"field": "key_prefix", "direction": "desc"}, limit=2, offset=1)  # paged in the catalog
    assert got == ["Glacier retreat", "Budget"]

    # select: the named fields the object has, with its id and bucket always
    _, body = titles(select=["title", "blobs", "no_such_field"], limit=1)
    (first,) = body["results"]
    assert set(first) == {"object_id", "bucket_id", "title", "blobs"} and first["blobs"][0]["property"] == "content"
    _, body = titles(select=["year"], sort={"field": "year", "direction": "asc"}, limit=1)
    assert body["results"][0]["year"] == 2019 and "title" not in body["results"][0]

    # the GET form still pages
    assert [o["title"] for o in http.get(path, params={"limit": 2, "offset": 1}).json()["results"]] == \
        ["Harbour memo", "glacier survey"]


@pytest.mark.parametrize("body, location, says", [
    ({"sort": {"field": "title"}, "sorts": [{"field": "year"}]}, "sorts", "not both"),
    ({"sort": {"field": "title", "direction": "up"}}, "sort.direction", "not asc or desc"),
    ({"sort": {"field": "title", "order": "asc"}}, "sort", "a sort is"),
    ({"sorts": [{"field": "title"}, {"field": ""}]}, "sorts[1]", "a sort is"),
    ({"sort": "title"}, "sort", "a sort is"),
    ({"select": "title"}, "select", "list of field names"),
    ({"select": []}, "select", "non-empty"),
    ({"select": ["title", 3]}, "select", "list of field names"),
    ({"select": ["metadata..title"]}, "select", "list of field names"),
    ({"filters": {"field": "year", "operator": "about", "value": 1}}, "filters", "unknown operator"),
    ({"filters": {"field": "title", "operator": "regex", "value": "(a"}}, "filters.value", "invalid regex"),
    ({"filters": [1]}, "filters", "must be an object"),
    ({"return_presigned_urls": True}, "return_presigned_urls", "no URL signs"),
    ({"group_by": "title"}, "group_by", "does not support it"),
])
def test_listing_options_that_cannot_be_applied_are_refused_by_name(listed, body, location, says):
    http, path, _ = listed
    resp = http.post(f"{path}/list", json=body)
    assert resp.status_code == 422, resp.text
    assert says in resp.text and location.split(".")[0] in resp.text


def test_on_s3_a_listing_signs_each_stored_blob_a_download_url(tmp_path, s3_endpoint):
    settings = {"object_store": "s3", "s3_endpoint_url": s3_endpoint, "s3_bucket": "wh-listing",
                "s3_access_key_id": "test", "s3_secret_access_key": "test"}
    with in_process_api(tmp_path / "home", **settings) as (http, _):
        bucket = http.post("/v1/buckets", json={"bucket_name": "photos", "bucket_schema": {"properties": {
            "photo": {"type": "image"}, "caption": {"type": "text"}}}}).json()["bucket_id"]
        data = JPEG.read_bytes()
        made = http.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [
            {"property": "photo", "type": "image", "data": base64.b64encode(data).decode()},
            {"property": "caption", "type": "text", "data": "a tench"}]})
        assert made.status_code == 200, made.text

        plain = http.post(f"/v1/buckets/{bucket}/objects/list", json={}).json()["results"][0]
        assert all("presigned_url" not in b for b in plain["blobs"])
        listed = http.post(f"/v1/buckets/{bucket}/objects/list", json={"return_presigned_urls": True}).json()
        photo, caption = sorted(listed["results"][0]["blobs"], key=lambda b: b["property"] != "photo")
        assert photo["url"].startswith("s3://wh-listing/") and photo["presigned_url"].startswith(s3_endpoint)
        assert "presigned_url" not in caption  # held inline: nothing to sign
        got = httpx.get(photo["presigned_url"])
        assert got.status_code == 200 and got.content == data
        assert httpx.get(photo["presigned_url"].split("?")[0]).status_code == 403  # unsigned, it is refused
