"""deploy/ is checked, not just shipped: the Kubernetes objects against the Kubernetes API schemas (strict: an unknown
or misspelt field fails), KubeRay's pod templates likewise with the RayCluster's own shape, every WAREHOUSE_*
setting the manifests and Helm values set is one the code reads, the commands they run exist, and the image
installs what the Makefile installs."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from warehouse.cli.app import app
from warehouse.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.31"
SETTINGS = {f"WAREHOUSE_{name.upper()}" for name in Settings.model_fields}


def _documents() -> list[dict]:
    docs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _pod_templates(doc: dict) -> list[dict]:
    spec = doc["spec"]
    if doc["kind"] == "RayCluster":
        return [spec["headGroupSpec"]["template"]] + [g["template"] for g in spec["workerGroupSpecs"]]
    return [spec["template"]] if "template" in spec else []


def test_kubernetes_objects_are_valid_against_the_api_schemas():
    docs = _documents()
    assert {d["kind"] for d in docs} == {"ConfigMap", "Secret", "Deployment", "Service", "RayCluster"}
    for doc in docs:
        if doc["kind"] == "RayCluster":  # a KubeRay CRD: its pod templates are core PodTemplateSpecs
            for i, template in enumerate(_pod_templates(doc)):
                kubernetes_validate.validate({"apiVersion": "v1", "kind": "PodTemplate",
                                              "metadata": {"name": f"{doc['metadata']['name']}-{i}"},
                                              "template": template}, K8S_VERSION, strict=True)
        else:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_raycluster_has_cpu_and_gpu_groups_with_token_auth():
    [ray] = [d for d in _documents() if d["kind"] == "RayCluster"]
    assert ray["apiVersion"] == "ray.io/v1" and set(ray["spec"]) <= {
        "rayVersion", "enableInTreeAutoscaling", "headGroupSpec", "workerGroupSpecs", "autoscalerOptions"}
    groups = {g["groupName"]: g for g in ray["spec"]["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    for g in groups.values():
        assert set(g) <= {"groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams", "template"}
        assert g["minReplicas"] <= g["replicas"] <= g["maxReplicas"]
    gpu = groups["gpu"]["template"]["spec"]["containers"][0]["resources"]
    assert gpu["limits"]["nvidia.com/gpu"] == "1" and groups["gpu"]["rayStartParams"]["num-gpus"] == "1"
    for template in _pod_templates(ray):
        env = {e["name"]: e.get("value") for c in template["spec"]["containers"] for e in c.get("env", [])}
        assert env["RAY_AUTH_MODE"] == "token"
    import ray as ray_package

    assert ray["spec"]["rayVersion"] == ray_package.__version__  # the cluster runs the Ray the image installs


def _named_settings(node) -> set[str]:
    """Every WAREHOUSE_* name a manifest or values file sets (ConfigMap/Secret keys, env names)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.startswith("WAREHOUSE_"):
                found.add(key)
            if key == "name" and isinstance(value, str) and value.startswith("WAREHOUSE_"):
                found.add(value)
            found |= _named_settings(value)
    elif isinstance(node, list):
        for item in node:
            found |= _named_settings(item)
    return found


def test_every_setting_the_deployment_sets_is_one_the_code_reads():
    named = set()
    for doc in _documents():
        named |= _named_settings(doc)
    for path in (DEPLOY / "helm").glob("*.yaml"):
        named |= _named_settings(yaml.safe_load(path.read_text()))
    assert named and named <= SETTINGS, sorted(named - SETTINGS)
    settings = next(d for d in _documents() if d["kind"] == "ConfigMap")["data"]
    Settings(**{k.removeprefix("WAREHOUSE_").lower(): v for k, v in settings.items()})  # the values parse too


def test_the_commands_the_deployment_runs_exist():
    [api] = [d for d in _documents() if d["kind"] == "Deployment"]
    command = api["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:2] == ["warehouse", "serve"]
    result = CliRunner().invoke(app, [*command[1:], "--help"])
    assert result.exit_code == 0 and "--api-port" in result.output
    values = yaml.safe_load((DEPLOY / "helm" / "dagster-values.yaml").read_text())
    [location] = values["dagster-user-deployments"]["deployments"]
    assert location["dagsterApiGrpcArgs"] == ["-m", "warehouse.definitions"]
    import warehouse.definitions  # noqa: F401 - the code location the chart serves loads

    assert values["runLauncher"]["type"] == "K8sRunLauncher" and values["postgresql"]["enabled"] is False


def test_the_image_installs_what_the_makefile_installs():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    pinned = re.search(r"torch==([\d.]+)", (ROOT / "Makefile").read_text()).group(1)
    assert f"torch=={pinned}" in dockerfile
    for source in re.findall(r"^COPY (.+) \./", dockerfile, re.M):
        for name in source.split():
            assert (ROOT / name).exists(), name


@pytest.mark.parametrize("path", sorted((DEPLOY / "helm").glob("*.yaml")), ids=lambda p: p.name)
def test_helm_values_parse(path):
    assert isinstance(yaml.safe_load(path.read_text()), dict)
