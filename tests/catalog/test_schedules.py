"""Collections on a clock: a schedule is checked when the collection is created (a 422 names the field), is due
when its cron or interval says, and a tick queues one batch of the collection's objects — never two for one run,
however many tickers there are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.seeding import in_process_api, text_collection
from warehouse.catalog import Batch, schedules

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw, when", [
    ({"trigger_type": "interval", "schedule_config": {"interval_seconds": 3600}}, T0 + timedelta(hours=1)),
    ({"trigger_type": "interval", "schedule_config": {"interval_seconds": 3600, "start_immediately": True}}, T0),
    ({"trigger_type": "cron", "schedule_config": {"cron_expression": "30 3 * * *"}}, datetime(2026, 12, 1, 3, 30, tzinfo=UTC)),
    ({"trigger_type": "cron", "schedule_config": {"cron_expression": "30 3 * * *", "timezone": "Asia/Tokyo"}},
     datetime(2026, 11, 30, 18, 30, tzinfo=UTC)),  # 03:30 in Tokyo is 18:30 UTC the day before
])
def test_a_schedule_is_next_due_when_its_clock_says(raw, when):
    schedule = schedules.check_schedule(raw)
    assert schedules.next_run(schedule, T0) == when
    ran = {**schedule, "last_triggered_at": when.isoformat()}
    assert schedules.next_run(ran, T0) > when  # after a run, the next one


@pytest.mark.parametrize("raw, where", [
    ({"trigger_type": "hourly", "schedule_config": {}}, "schedule.trigger_type"),
    ({"trigger_type": "cron", "schedule_config": {"cron_expression": "every day"}}, "schedule.schedule_config.cron_expression"),
    ({"trigger_type": "cron", "schedule_config": {"cron_expression": "0 3 * * *", "timezone": "Mars/Olympus"}},
     "schedule.schedule_config.timezone"),
    ({"trigger_type": "interval", "schedule_config": {"interval_seconds": 5}}, "schedule.schedule_config.interval_seconds"),
    ({"trigger_type": "interval", "schedule_config": {"interval_seconds": 60, "jitter": 1}}, "schedule.schedule_config.jitter"),
    ({"trigger_type": "interval", "schedule_config": {"interval_seconds": 60}, "when": "now"}, "schedule.when"),
])
def test_a_bad_schedule_is_named_and_no_collection_is_made(tmp_path, raw, where):
    with in_process_api(tmp_path) as (http, _):
        text_collection(http, "b", "c")
        resp = http.post("/v1/collections", json={
            "collection_name": "timed", "source": {"type": "bucket", "bucket_ids": ["b"]}, "schedule": raw,
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1"}})
        assert resp.status_code == 422 and resp.json()["error"]["details"]["location"] == where, resp.text
        assert http.get("/v1/collections").json()["total_count"] == 1


def test_a_due_collection_gets_one_batch_per_run(tmp_path):
    with in_process_api(tmp_path) as (http, _):
        text_collection(http, "b", "c")
        for text in ("one", "two"):
            http.post("/v1/buckets/b/objects", json={"blobs": [{"property": "content", "type": "text", "data": text}]})
        made = http.post("/v1/collections", json={
            "collection_name": "timed", "source": {"type": "bucket", "bucket_ids": ["b"]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1"},
            "schedule": {"trigger_type": "interval", "schedule_config": {"interval_seconds": 3600},
                         "description": "hourly refresh"}})
        assert made.status_code == 200, made.text
        timed = made.json()
        created = datetime.fromisoformat(timed["created_at"])
        assert datetime.fromisoformat(timed["schedule"]["next_run_at"]) == created + timedelta(hours=1)
        catalog = http.app.state.services.catalog
        with catalog.session() as s:
            assert schedules.run_due(s, created + timedelta(minutes=59)) == []  # not due yet
        with catalog.session() as s:
            first = [(b.batch_id, b.collection_ids, len(b.object_ids)) for b in
                     schedules.run_due(s, created + timedelta(hours=1, seconds=1))]
        assert [(ids, n) for _, ids, n in first] == [([timed["collection_id"]], 2)]  # this collection alone
        with catalog.session() as s:  # a second ticker at the same moment: the run is recorded, nothing queued
            assert schedules.run_due(s, created + timedelta(hours=1, seconds=1)) == []
        with catalog.session() as s:
            assert s.get(Batch, first[0][0]).status == "QUEUED"
            assert len(schedules.run_due(s, created + timedelta(hours=2, seconds=2))) == 1
        got = http.get(f"/v1/collections/{timed['collection_id']}").json()["schedule"]
        assert got["description"] == "hourly refresh"
        assert datetime.fromisoformat(got["next_run_at"]) == created + timedelta(hours=3, seconds=2)
        tier = http.post("/v1/collections", json={
            "collection_name": "tier", "source": {"type": "collection", "collection_id": "timed"},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1"},
            "schedule": {"trigger_type": "interval", "schedule_config": {"interval_seconds": 3600}}})
        assert tier.status_code == 422 and tier.json()["error"]["details"]["location"] == "schedule"
