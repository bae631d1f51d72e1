"""Mixpeek filter expressions: pushdown to Qdrant JSON, and Python evaluation."""

import pytest

from warehouse.errors import WarehouseError
from warehouse.retrieval.filters import compile_filter

DOC = {"category": "audio", "price": 120, "tags": ["new", "sale"], "title": "Noise Cancelling Headphones", "meta": {"rank": 2}}


@pytest.mark.parametrize("expr,expected", [
    ({"field": "category", "operator": "eq", "value": "audio"}, True),
    ({"field": "category", "operator": "ne", "value": "audio"}, False),
    ({"field": "price", "operator": "gte", "value": 120}, True),
    ({"field": "price", "operator": "lt", "value": 100}, False),
    ({"field": "category", "operator": "in", "value": ["audio", "video"]}, True),
    ({"field": "category", "operator": "nin", "value": ["audio"]}, False),
    ({"field": "tags", "operator": "contains", "value": "sale"}, True),
    ({"field": "title", "operator": "starts_with", "value": "Noise"}, True),
    ({"field": "title", "operator": "ends_with", "value": "Phones"}, False),
    ({"field": "title", "operator": "regex", "value": "Cancel+ing"}, True),
    ({"field": "missing", "operator": "exists", "value": True}, False),
    ({"field": "meta.rank", "operator": "eq", "value": 2}, True),
    ({"AND": [{"field": "price", "operator": "gt", "value": 100}, {"NOT": [{"field": "category", "operator": "eq", "value": "video"}]}]}, True),
    ({"or": [{"field": "price", "operator": "gt", "value": 500}, {"field": "tags", "operator": "eq", "value": "new"}]}, True),
    ({"category": "audio"}, True),
])
def test_python_evaluation(expr, expected):
    assert compile_filter(expr).matches(DOC) is expected


def test_pushdown_shapes():
    f = compile_filter({"AND": [{"field": "price", "operator": "gte", "value": 10},
                                {"field": "category", "operator": "nin", "value": ["x"]}]})
    assert f.qdrant == {"must": [{"must": [{"key": "price", "range": {"gte": 10}}]},
                                 {"must_not": [{"key": "category", "match": {"any": ["x"]}}]}]}
    assert compile_filter({"field": "title", "operator": "regex", "value": "a"}).qdrant is None


def test_errors_name_the_problem():
    with pytest.raises(WarehouseError, match="unknown operator 'like'"):
        compile_filter({"field": "a", "operator": "like", "value": 1})
    with pytest.raises(WarehouseError, match="needs a list"):
        compile_filter({"field": "a", "operator": "in", "value": 1})


def test_regex_filters_run_in_linear_time_and_refuse_what_re2_cannot_do():
    from warehouse.errors import WarehouseError

    # ^(a+)+$ backtracks exponentially in Python's re; RE2 answers at once
    catastrophic = compile_filter({"field": "text", "operator": "regex", "value": "^(a+)+$"}, "filters")
    assert catastrophic.matches({"text": "a" * 40 + "b"}) is False
    assert catastrophic.matches({"text": "aaaa"}) is True
    with pytest.raises(WarehouseError, match="RE2") as exc:
        compile_filter({"field": "text", "operator": "regex", "value": r"(?=look)ahead"}, "filters")
    assert exc.value.status == 422 and exc.value.details["location"] == "filters.value"


def test_booleans_are_matched_here_not_by_the_engine(tmp_path):
    """Qdrant Edge's MatchValue(True) matches no point (indexed or not), so boolean conditions are evaluated on the
    payloads; the rest of a filter still goes to the engine when it can."""
    import uuid

    from warehouse.index.base import IndexPoint, VectorSpec
    from warehouse.index.edge import EdgeIndexStore

    for expr in ({"field": "reviewed", "operator": "eq", "value": True},
                 {"field": "reviewed", "operator": "ne", "value": False},
                 {"field": "reviewed", "operator": "in", "value": [True]}):
        compiled = compile_filter(expr)
        assert compiled.qdrant is None
        assert compiled.matches({"reviewed": True}) and not compiled.matches({"reviewed": False})
    assert compile_filter({"field": "year", "operator": "eq", "value": 2001}).qdrant is not None
    # The engine really cannot: what this works around.
    store = EdgeIndexStore(tmp_path)
    store.ensure_vectors("ns", [VectorSpec("v", 2)])
    store.upsert("ns", [IndexPoint(id=str(uuid.uuid4()), vectors={"v": [1.0, 0.0]}, payload={"reviewed": True})])
    assert store.count("ns", {"must": [{"key": "reviewed", "match": {"value": True}}]}) == 0
    assert store.count("ns") == 1
