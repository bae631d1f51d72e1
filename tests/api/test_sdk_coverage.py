"""Every core operation of the official SDK, called through its generated client against a live server with a
seeded namespace: served (the route exists and answered — a 4xx for the placeholder body counts, the answer is
about the request) or listed in docs/api.md with the reason it is not."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.api.sdk_operations import operations
from tests.api.seeding import seed_namespace
from tests.conftest import ROOT

pytestmark = [pytest.mark.sdk, pytest.mark.ray, pytest.mark.slow]


def _unserved_in_docs() -> set[str]:
    """``METHOD /path`` of each row of docs/api.md's table of operations not served."""
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("## SDK operations not served", 1)[1].split("\n## ", 1)[0]
    return {f"{m} {p}" for m, p in re.findall(r"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`]+)` \|", section, re.M)}


def test_every_core_sdk_operation_is_served_or_documented(live):
    import mixpeek

    from tests.api.sdk_operations import call

    ns, client = live.new_namespace()
    seeded = seed_namespace(client, "cov")
    ids = {
        "namespace_identifier": ns, "namespace_id": ns, "bucket_identifier": seeded["bucket"]["bucket_id"],
        "bucket_id": seeded["bucket"]["bucket_id"], "object_identifier": seeded["object"]["object_id"],
        "object_id": seeded["object"]["object_id"], "collection_identifier": seeded["collection"]["collection_id"],
        "collection_id": seeded["collection"]["collection_id"], "batch_id": seeded["batch"]["batch_id"],
        "task_id": seeded["batch"]["task_id"], "document_id": seeded["document"]["document_id"],
        "retriever_id": seeded["retriever"]["retriever_id"], "taxonomy_identifier": seeded["taxonomy"]["taxonomy_id"],
        "taxonomy_id": seeded["taxonomy"]["taxonomy_id"], "cluster_id": seeded["cluster"]["cluster_id"],
        "cluster_identifier": seeded["cluster"]["cluster_id"], "alert_identifier": seeded["alert"]["alert_id"],
        "feature_extractor_id": "text_extractor_v1",
    }
    cfg = mixpeek.Configuration(host=live.base_url, access_token=live.key)
    cfg.api_key["NamespaceHeader"] = ns
    api = mixpeek.ApiClient(cfg)
    ops = sorted(operations(), key=lambda o: o.method == "DELETE")  # deletions last: the others need the seeds
    served, answered_2xx, missing = Counter(), Counter(), {}
    for op in ops:
        status, body = call(op, api, ids)
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message", "") if isinstance(error, dict) else ""
        route_missing = status == 405 or (status == 404 and message.startswith("no such endpoint"))
        assert status < 500, (op.key, status, body)  # a 500 is a bug, whatever the body was
        if route_missing:
            missing[op.key] = op
        else:
            served[op.group] += 1
            answered_2xx[op.group] += 200 <= status < 300
    totals = Counter(op.group for op in ops)
    print("\nSDK core operations served / total (2xx with placeholder bodies):")
    for group in totals:
        print(f"  {group:12s} {served[group]:3d} / {totals[group]:3d}   ({answered_2xx[group]} answered 2xx)")
    print(f"  {'all':12s} {sum(served.values()):3d} / {len(ops):3d}")
    for key in sorted(missing, key=lambda k: (missing[k].group, k)):
        print(f"  not served: {missing[key].group:12s} {key}")
    documented = _unserved_in_docs()
    undocumented = sorted(set(missing) - documented)
    assert not undocumented, f"not served and not in docs/api.md's table: {undocumented}"
    stale = sorted(documented - set(missing))
    assert not stale, f"docs/api.md lists as not served, but the server answers: {stale}"
