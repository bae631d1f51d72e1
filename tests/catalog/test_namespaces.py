"""Deleting a namespace takes everything in it along — enrichment definitions included — and nothing else."""

from __future__ import annotations

import pytest

from warehouse.catalog import Alert, Bucket, Cluster, EnrichmentRun, Namespace, Taxonomy, namespaces
from warehouse.errors import WarehouseError
from warehouse.services import Services
from warehouse.settings import Settings


@pytest.fixture
def svc(tmp_path):
    services = Services.from_settings(Settings(home=tmp_path, warm_batch_workers=False))
    yield services
    services.close()


def _fill(svc: Services, name: str) -> Namespace:
    ns = namespaces.create_namespace(svc, "org_a", name, payload_indexes=[{"field": "topic", "type": "string"}])
    with svc.catalog.session() as s:
        s.add_all([
            Bucket(bucket_id=f"bkt_{name}", namespace_id=ns.namespace_id, bucket_name="b"),
            Taxonomy(taxonomy_id=f"tax_{name}", namespace_id=ns.namespace_id, taxonomy_name="t"),
            Cluster(cluster_id=f"cl_{name}", namespace_id=ns.namespace_id, cluster_name="c"),
            Alert(alert_id=f"alt_{name}", namespace_id=ns.namespace_id, alert_name="a"),
            EnrichmentRun(run_id=f"run_{name}", kind="cluster", resource_id=f"cl_{name}",
                          namespace_id=ns.namespace_id),
        ])
    return ns


def test_delete_takes_taxonomies_clusters_and_alerts_along(svc):
    doomed, kept = _fill(svc, "doomed"), _fill(svc, "kept")
    namespaces.delete_namespace(svc, doomed)
    with svc.catalog.session() as s:
        for model in (Bucket, Taxonomy, Cluster, Alert, EnrichmentRun):
            left = {r.namespace_id for r in s.query(model)}
            assert left == {kept.namespace_id}, model.__name__
        assert s.get(Namespace, doomed.namespace_id) is None
    assert namespaces.find_namespace(svc.catalog, "org_a", "doomed") is None
    assert namespaces.find_namespace(svc.catalog, "org_a", "kept").namespace_id == kept.namespace_id


def test_names_are_per_organisation_and_payload_indexes_are_checked(svc):
    ns = namespaces.create_namespace(svc, "org_a", "shared-name")
    assert namespaces.find_namespace(svc.catalog, "org_b", "shared-name") is None
    assert namespaces.find_namespace(svc.catalog, "org_b", ns.namespace_id) is None
    with pytest.raises(WarehouseError) as conflict:
        namespaces.create_namespace(svc, "org_a", "shared-name")
    assert conflict.value.status == 409
    with pytest.raises(WarehouseError, match=r"payload_indexes\[0\]: type 'vector'") as bad:
        namespaces.create_namespace(svc, "org_a", "other", payload_indexes=[{"field_name": "x", "type": "vector"}])
    assert bad.value.status == 422
    assert namespaces.find_namespace(svc.catalog, "org_a", "other") is None


@pytest.mark.parametrize("bad", ["..", "rp/x", "../../tmp/x", ".hidden", "x" * 65, "with space", "é"])
def test_a_chosen_namespace_id_that_could_be_a_path_is_refused(svc, bad):
    with pytest.raises(WarehouseError) as exc:
        namespaces.create_namespace(svc, "org_a", "n-" + str(abs(hash(bad))), namespace_id=bad)
    assert exc.value.status == 422 and exc.value.details["location"] == "namespace_id"
    assert namespaces.find_namespace(svc.catalog, "org_a", bad) is None


def test_a_chosen_namespace_id_that_is_an_id_is_kept(svc):
    ns = namespaces.create_namespace(svc, "org_a", "chosen", namespace_id="ns_team-a_01")
    assert ns.namespace_id == "ns_team-a_01"
    assert namespaces.find_namespace(svc.catalog, "org_a", "ns_team-a_01").namespace_name == "chosen"
