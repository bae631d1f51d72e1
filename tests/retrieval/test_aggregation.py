"""The aggregation engine (``warehouse.retrieval.aggregation``), on rows made here; the API's use of it is in
tests/api/test_aggregate.py."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from warehouse.errors import WarehouseError
from warehouse.retrieval.aggregation import AggregationRequest, Aggregator

ROWS = [
    {"kind": "video", "seconds": 30, "views": 10, "tags": ["a", "b"], "at": "2026-03-02T10:15:00Z", "user": "u1"},
    {"kind": "video", "seconds": 400, "views": 5, "tags": ["b"], "at": "2026-03-08T23:59:59+00:00", "user": "u2"},
    {"kind": "image", "seconds": None, "views": 7, "tags": [], "at": "2026-04-01T00:00:00Z", "user": "u1"},
    {"kind": "image", "views": 1, "tags": ["c"], "at": 1775001600, "user": "u1"},  # 2026-04-01 00:00 UTC
    {"kind": "audio", "seconds": 61.5, "views": "many", "at": "not a time", "user": "u3"},
]


def run(**request):
    aggregator = Aggregator(AggregationRequest.model_validate(request))
    for row in ROWS:
        aggregator.add(row)
    return aggregator.result()


def by_group(result):
    return {tuple(r["group"].values()): r["metrics"] for r in result["results"]}


def test_every_function_per_group():
    out = run(group_by=[{"field": "kind"}], aggregations=[
        {"function": "count", "alias": "n"}, {"function": "count", "field": "seconds", "alias": "timed"},
        {"function": "count_distinct", "field": "user", "alias": "users"},
        {"function": "sum", "field": "views", "alias": "views"}, {"function": "avg", "field": "views", "alias": "mean"},
        {"function": "min", "field": "at", "alias": "first_at"}, {"function": "max", "field": "seconds", "alias": "longest"},
        {"function": "first", "field": "user", "alias": "first_user"}, {"function": "last", "field": "user", "alias": "last_user"},
        {"function": "push", "field": "views", "alias": "all_views"},
        {"function": "add_to_set", "field": "user", "alias": "user_set"}])
    groups = by_group(out)
    assert list(groups) == [("video",), ("image",), ("audio",)]  # first seen first
    assert groups[("video",)] == {"n": 2, "timed": 2, "users": 2, "views": 15, "mean": 7.5,
                                  "first_at": "2026-03-02T10:15:00Z", "longest": 400, "first_user": "u1",
                                  "last_user": "u2", "all_views": [10, 5], "user_set": ["u1", "u2"]}
    image = groups[("image",)]
    assert image["n"] == 2 and image["timed"] == 0 and image["users"] == 1 and image["views"] == 8
    assert image["longest"] is None and image["user_set"] == ["u1"]
    assert image["first_at"] == 1775001600  # numbers order before text
    audio = groups[("audio",)]
    assert audio["views"] == 0 and audio["mean"] is None and audio["all_views"] == ["many"]  # sum/avg: numbers only
    assert out["total_groups"] == 3 and out["query_info"]["rows_aggregated"] == 5


def test_unwind_range_buckets_and_dates():
    tags = by_group(run(unwind="tags", group_by=[{"field": "tags", "alias": "tag"}],
                        aggregations=[{"function": "count", "alias": "n"}]))
    assert tags == {("a",): {"n": 1}, ("b",): {"n": 2}, ("c",): {"n": 1}}  # no tags field / [] → left out

    lengths = by_group(run(range_buckets=[{"field": "seconds", "boundaries": [0, 60, 300], "default_bucket": "long"}],
                           group_by=[{"field": "seconds"}], aggregations=[{"function": "count", "alias": "n"}]))
    assert lengths == {("0-60",): {"n": 1}, ("long",): {"n": 1}, (None,): {"n": 2}, ("60-300",): {"n": 1}}

    weeks = by_group(run(group_by=[{"field": "at", "date_trunc": "week", "alias": "week"}],
                         aggregations=[{"function": "count", "alias": "n"}]))
    assert weeks == {("2026-03-02T00:00:00Z",): {"n": 2}, ("2026-03-30T00:00:00Z",): {"n": 2}, (None,): {"n": 1}}
    months = by_group(run(group_by=[{"field": "at", "date_trunc": "month"}],
                          aggregations=[{"function": "count", "alias": "n"}]))
    assert months[("2026-03-01T00:00:00Z",)] == {"n": 2} and months[("2026-04-01T00:00:00Z",)] == {"n": 2}
    days = by_group(run(group_by=[{"field": "at", "date_part": "dayOfWeek"}, {"field": "kind"}],
                        aggregations=[{"function": "count", "alias": "n"}]))
    assert days[(2, "video")] == {"n": 1} and days[(1, "video")] == {"n": 1}  # Monday 2, Sunday 1
    assert days[(4, "image")] == {"n": 2}  # 2026-04-01 is a Wednesday


def test_having_sort_and_limit():
    request = {"group_by": [{"field": "user"}], "aggregations": [{"function": "count", "alias": "n"},
                                                                 {"function": "sum", "field": "views", "alias": "views"}]}
    assert [r["group"]["user"] for r in run(**request, sort_by="n")["results"]] == ["u1", "u2", "u3"]
    assert [r["group"]["user"] for r in run(**request, sort_by="views", sort_direction="asc")["results"]] == \
        ["u3", "u2", "u1"]
    assert [r["group"]["user"] for r in run(**request, sort_by="user", sort_direction="asc", limit=2)["results"]] == \
        ["u1", "u2"]
    out = run(**request, having=[{"field": "views", "operator": "gte", "value": 5}], sort_by="views")
    assert [(r["group"]["user"], r["metrics"]["views"]) for r in out["results"]] == [("u1", 18), ("u2", 5)]
    assert out["total_groups"] == 2 and out["query_info"]["groups"] == 3


def test_counting_without_groups_is_one_row_even_of_nothing():
    assert run(aggregations=[{"function": "count", "alias": "total"}])["results"] == [{"group": {}, "metrics": {"total": 5}}]
    empty = Aggregator(AggregationRequest.model_validate({"aggregations": [{"function": "count", "alias": "total"}]}))
    assert empty.result()["results"] == [{"group": {}, "metrics": {"total": 0}}]


@pytest.mark.parametrize("request_, location, says", [
    ({"aggregations": [{"function": "sum", "field": "views", "alias": "s"}]}, "group_by", "only count"),
    ({"group_by": [{"field": "kind"}], "aggregations": [{"function": "sum", "alias": "s"}]},
     "aggregations[0].field", "sum needs the field"),
    ({"group_by": [{"field": "kind"}], "aggregations": [{"function": "count", "alias": "n"},
                                                        {"function": "count", "alias": "n"}]},
     "aggregations[1].alias", "names two aggregations"),
    ({"group_by": [{"field": "at", "date_trunc": "day", "date_part": "hour"}],
      "aggregations": [{"function": "count", "alias": "n"}]}, "group_by[0]", "not both"),
    ({"group_by": [{"field": "kind"}, {"field": "user", "alias": "kind"}],
      "aggregations": [{"function": "count", "alias": "n"}]}, "group_by", "share the name 'kind'"),
    ({"group_by": [{"field": "kind"}], "aggregations": [{"function": "count", "alias": "n"}],
      "having": [{"field": "total", "operator": "gt", "value": 1}]}, "having[0].field", "not an aggregation alias"),
    ({"group_by": [{"field": "kind"}], "aggregations": [{"function": "count", "alias": "n"}], "sort_by": "views"},
     "sort_by", "neither a group"),
    ({"group_by": [{"field": "kind"}], "aggregations": [{"function": "count", "alias": "n"}], "sort_direction": "asc"},
     "sort_direction", "orders by sort_by"),
    ({"group_by": [{"field": "seconds"}], "aggregations": [{"function": "count", "alias": "n"}],
      "range_buckets": [{"field": "seconds", "boundaries": [10, 5]}]}, "range_buckets[0].boundaries", "must ascend"),
])
def test_what_the_models_cannot_say_is_a_422_naming_the_field(request_, location, says):
    with pytest.raises(WarehouseError) as info:
        Aggregator(AggregationRequest.model_validate(request_))
    assert info.value.status == 422 and info.value.details["location"] == location and says in str(info.value)


@pytest.mark.parametrize("request_", [
    {"aggregations": []},
    {"aggregations": [{"function": "median", "field": "views", "alias": "m"}]},
    {"aggregations": [{"function": "count", "alias": "n", "extra": 1}]},
    {"group_by": [{"field": "at", "date_trunc": "decade"}], "aggregations": [{"function": "count", "alias": "n"}]},
    {"aggregations": [{"function": "count", "alias": "n"}], "limit": 0},
])
def test_shapes_the_models_refuse(request_):
    with pytest.raises(ValidationError):
        AggregationRequest.model_validate(request_)
