"""The deploy files, checked offline: the Kubernetes manifests against the API's schemas
(kubernetes-validate bundles them), the compose file against the Compose specification
(vendored by check-jsonschema), and both against our own settings and routes."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from imgproxy_py.config import read_config
from imgproxy_py.settings_check import unread_settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
KUBERNETES_VERSION = "1.30.0"


def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def by_kind(kind: str, name: str = "imgproxy") -> dict[str, Any]:
    return next(doc for doc in manifests() if doc["kind"] == kind and doc["metadata"]["name"] == name)


@pytest.mark.parametrize("doc", manifests(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_each_manifest_is_valid_for_the_kubernetes_api(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_manifests_fit_together() -> None:
    kinds = {doc["kind"] for doc in manifests()}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds
    deployment = by_kind("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert by_kind("Service")["spec"]["selector"].items() <= labels.items()
    assert by_kind("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = by_kind("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "imgproxy")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health"
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    # A PDB that allows fewer pods than the autoscaler's minimum keeps room for drains.
    assert by_kind("PodDisruptionBudget")["spec"]["minAvailable"] < by_kind(
        "HorizontalPodAutoscaler")["spec"]["minReplicas"]
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    env = {e["name"]: e.get("value", "x") for e in container["env"]}
    assert grace > float(env["IMGPROXY_GRACEFUL_STOP_TIMEOUT"]) + 5  # preStop sleep + drain
    redis_service = by_kind("Service", "imgproxy-redis")
    assert env["IMGPROXY_CACHE_REDIS_URL"].startswith(f"redis://{redis_service['metadata']['name']}:6379")


def settings_problems(env: dict[str, str]) -> list[str]:
    config, problems = read_config(env)
    return problems + list(unread_settings(config.settings_given, config.settings_read))


def test_every_setting_in_the_manifests_is_read_and_valid() -> None:
    container = by_kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value", "00") for e in container["env"]}
    assert settings_problems(env) == []


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    return loaded


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(compose(), schema)
    # A broken file is refused: the check can fail.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"services": {"node1": {"image": 1, "ports": "8080"}}}, schema)


def test_the_compose_cluster_is_nginx_three_nodes_and_redis() -> None:
    services = compose()["services"]
    nodes = sorted(name for name in services if name.startswith("node"))
    assert nodes == ["node1", "node2", "node3"] and "redis" in services and "nginx" in services
    nginx_conf = (DEPLOY / "compose" / "nginx.conf").read_text()
    for name in nodes:
        assert f"server {name}:8080" in nginx_conf
        assert settings_problems({k: str(v) for k, v in services[name]["environment"].items()}) == []
    assert "proxy_next_upstream error" in nginx_conf
    # nginx closes an idle upstream connection before a node does (else a POST sent on one the
    # node is closing fails, and POSTs are not retried).
    idle = re.search(r"keepalive_timeout (\d+)s;", nginx_conf)
    node_idle = {int(services[name]["environment"].get("IMGPROXY_KEEP_ALIVE_TIMEOUT", 10)) for name in nodes}
    assert idle is not None and int(idle.group(1)) < min(node_idle)
