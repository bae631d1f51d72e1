"""Expanding steps (one input row → many parts: pages, segments, scenes): ids, shares, lost and stray rows, and the
runner releasing an object only when every part of it is back."""

from __future__ import annotations

import random
from fractions import Fraction

import pandas as pd
import pytest

from warehouse.batch.engine import (
    ERROR_COLUMN,
    PART_PATH_COLUMN,
    ROOT_COLUMN,
    SHARE_COLUMN,
    StepGroup,
    share_of,
)
from warehouse.batch.runner import _ObjectBuffer
from warehouse.extractors.steps import PipelineStep, RowCondition, StepDefinition


class Words:
    """Expands each row into its words (none for an empty text: a plugin bug the engine must catch)."""

    expands = True

    def __call__(self, batch):
        return pd.DataFrame([{"document_id": r["document_id"], "data": w} for r in batch.to_dict("records")
                             for w in str(r["data"]).split()])


class Letters(Words):
    def __call__(self, batch):
        return pd.DataFrame([{**r, "data": ch} for r in batch.to_dict("records") for ch in r["data"]])


class Stray(Words):
    def __call__(self, batch):
        return pd.DataFrame({"document_id": ["doc_" + "f" * 32], "data": ["?"]})


def _frame(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"document_id": [f"doc_{i:032x}" for i in range(len(texts))],
                         "object_id": [f"obj_{i}" for i in range(len(texts))], "data": texts,
                         "blob_type": "text", "chunk_index": 0})


def _group(*steps) -> StepGroup:
    group = StepGroup.__new__(StepGroup)  # the steps themselves, without loading a plugin folder
    group.steps = [PipelineStep(StepDefinition(service_class=type(s), expands=True)) for s in steps]
    for step, instance in zip(group.steps, steps, strict=True):
        step._instance = instance
    group.vector_features, group.threads, group.last = [], 1, False
    return group


def test_parts_get_their_own_deterministic_ids_and_exact_shares():
    frame = _frame(["alpha beta gamma", "delta"])
    out = _group(Words())(frame)
    assert list(out["data"]) == ["alpha", "beta", "gamma", "delta"]
    assert list(out["object_id"]) == ["obj_0"] * 3 + ["obj_1"]  # columns the step left out come from the input row
    assert list(out[ROOT_COLUMN]) == [frame["document_id"][0]] * 3 + [frame["document_id"][1]]
    assert list(out["part_index"]) == [0, 1, 2, 0]
    assert len(set(out["document_id"])) == 4 and not set(out["document_id"]) & set(frame["document_id"])
    assert list(_group(Words())(frame)["document_id"]) == list(out["document_id"])  # a re-run upserts
    assert [share_of(s) for s in out[SHARE_COLUMN]] == [Fraction(1, 3)] * 3 + [Fraction(1)]


def test_nested_expansions_keep_exact_shares_and_order():
    out = _group(Words(), Letters())(_frame(["ab cde"]))
    assert "".join(out.sort_values(PART_PATH_COLUMN)["data"]) == "abcde"
    assert sum(share_of(s) for s in out[SHARE_COLUMN]) == 1  # 2 × 1/4 + 3 × 1/6, exactly
    assert sorted(out[PART_PATH_COLUMN]) == ["000000/000000/", "000000/000001/", "000001/000000/",
                                             "000001/000001/", "000001/000002/"]


def test_an_input_row_with_no_parts_fails_and_a_stray_id_is_refused():
    out = _group(Words())(_frame(["one two", ""]))
    lost = out[out["object_id"] == "obj_1"]
    assert len(lost) == 1 and "returned no rows for this input" in lost[ERROR_COLUMN].iloc[0]
    assert out[out["object_id"] == "obj_0"][ERROR_COLUMN].isna().all()
    stray = _group(Stray())(_frame(["x"]))
    assert "is none of its input rows" in stray[ERROR_COLUMN].iloc[0]


def test_the_runner_releases_an_object_when_all_of_its_parts_are_back():
    out = _group(Words(), Letters())(_frame(["ab cde f", "gh"]))
    rows = out.to_dict("records")
    random.Random(7).shuffle(rows)  # parts come back in any order, split across batches
    buffer = _ObjectBuffer({"obj_0": 1, "obj_1": 1})
    released = {}
    for i, row in enumerate(rows):
        done = buffer.add(row)
        if done is not None:
            released[done[0]["object_id"]] = (i, len(done))
    assert released["obj_0"][1] == 6 and released["obj_1"][1] == 2
    last = {oid: max(i for i, r in enumerate(rows) if r["object_id"] == oid) for oid in released}
    assert {oid: i for oid, (i, _) in released.items()} == last  # not one part early


@pytest.mark.parametrize("condition", ["always", "is_pdf"])
def test_a_conditional_expanding_step_leaves_other_rows_as_they_were(condition):
    frame = _frame(["a b", "c d"])
    frame["blob_type"] = ["pdf", "text"]
    group = _group(Words())
    group.steps[0].condition = RowCondition(condition)
    out = group(frame)
    assert len(out) == (4 if condition == "always" else 3)
    if condition == "is_pdf":
        untouched = out[out["object_id"] == "obj_1"]
        assert list(untouched["data"]) == ["c d"] and [share_of(s) for s in untouched[SHARE_COLUMN]] == [1]
