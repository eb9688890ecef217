"""docker/: the Kubernetes manifests against the pinned Kubernetes schemas, and the compose file, Dockerfile, HAProxy
config and lock file against the settings model and each other (statically: no Docker, no cluster, no network)."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gateway.settings import PREFIX, Settings, url_variable
from gateway.upstreams.catalog import SPECS

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER = REPO_ROOT / "docker"
MANIFESTS = sorted((DOCKER / "kubernetes").glob("*.yaml"))
# The oldest Kubernetes the manifests are meant for; its schemas ship inside the kubernetes-validate package.
KUBERNETES_VERSION = "1.31.0"
GATEWAY_LABELS = {"app.kubernetes.io/name": "procurement-gateway", "app.kubernetes.io/component": "gateway"}


def _resources() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}: {document['kind']}/{document['metadata']['name']}", document)
        for path in MANIFESTS
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if document is not None
    ]


RESOURCES = _resources()


def _one(kind: str, component: str = "gateway") -> dict[str, Any]:
    found = [
        document
        for _, document in RESOURCES
        if document["kind"] == kind and document["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    assert len(found) == 1, f"expected one {kind} of the {component}, found {len(found)}"
    return found[0]


def _validate(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(("name", "document"), RESOURCES, ids=[name for name, _ in RESOURCES])
def test_every_manifest_is_valid_for_the_pinned_kubernetes_version(name: str, document: dict[str, Any]) -> None:
    _validate(document)


def test_the_manifests_hold_every_resource_a_deployment_needs() -> None:
    kinds = {
        (document["kind"], document["metadata"]["labels"]["app.kubernetes.io/component"]) for _, document in RESOURCES
    }
    assert kinds >= {
        ("ConfigMap", "gateway"),
        ("Secret", "gateway"),
        ("Deployment", "gateway"),
        ("Service", "gateway"),
        ("HorizontalPodAutoscaler", "gateway"),
        ("PodDisruptionBudget", "gateway"),
        ("StatefulSet", "redis"),
        ("Service", "redis"),
    }


def _broken_copies(deployment: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    yield "replicas as a string", wrong_type
    misspelled = copy.deepcopy(deployment)
    misspelled["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/healthz"}}
    yield "a misspelled field", misspelled
    no_image = copy.deepcopy(deployment)
    del no_image["spec"]["template"]["spec"]["containers"][0]["name"]
    yield "a container without a name", no_image


def test_the_validator_refuses_a_broken_manifest() -> None:
    deployment = _one("Deployment")
    for what, broken in _broken_copies(deployment):
        with pytest.raises(kubernetes_validate.ValidationError):
            _validate(broken)
        assert broken != deployment, what
    unknown_kind = {**copy.deepcopy(deployment), "kind": "Deploymnet"}
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        _validate(unknown_kind)


def _gateway_variables() -> dict[str, str]:
    variables: dict[str, str] = {}
    for kind in ("ConfigMap", "Secret"):
        document = _one(kind)
        variables |= document.get("data", {}) | document.get("stringData", {})
    return variables


def _checked(environment: Mapping[str, str]) -> Settings:
    """Settings.from_env on the GATEWAY_* variables of `environment`: unknown, removed or bad values raise."""
    return Settings.from_env({name: str(value) for name, value in environment.items() if name.startswith(PREFIX)})


def test_the_configmap_and_secret_set_only_valid_settings() -> None:
    variables = _gateway_variables()
    assert all(name.startswith(PREFIX) for name in variables)
    settings = _checked(variables)
    assert settings.keys_store == "redis"
    assert settings.redis_url
    assert settings.profile == "prod"


def test_the_deployment_probes_the_configured_port_and_never_injects_service_links() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    assert pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["http"] == _checked(_gateway_variables()).port
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["limits"]["memory"]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert mounts["mirror-data"] == _checked(_gateway_variables()).mirror_data_dir
    assert any(volume["name"] == "mirror-data" for volume in pod["volumes"])
    assert pod["terminationGracePeriodSeconds"] > _checked(_gateway_variables()).request_deadline_s
    hpa = _one("HorizontalPodAutoscaler")["spec"]
    assert _checked(_gateway_variables()).limiter_fallback_replicas == hpa["minReplicas"]


def test_no_service_is_called_gateway_and_every_selector_finds_the_pods() -> None:
    services = [document for _, document in RESOURCES if document["kind"] == "Service"]
    assert all(service["metadata"]["name"] != "gateway" for service in services)
    deployment = _one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert _one("Service")["spec"]["selector"] == GATEWAY_LABELS == pod_labels
    assert _one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == GATEWAY_LABELS
    target = _one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    redis = _one("StatefulSet", "redis")
    assert _one("Service", "redis")["spec"]["selector"] == redis["spec"]["template"]["metadata"]["labels"]
    assert f"//{_one('Service', 'redis')['metadata']['name']}:6379/" in _gateway_variables()["GATEWAY_REDIS_URL"]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def test_every_compose_service_sets_only_valid_settings() -> None:
    services = _compose()["services"]
    checked = {name: _checked(service["environment"]) for name, service in services.items() if "environment" in service}
    assert set(checked) >= {"gateway", "keys"}
    gateway = checked["gateway"]
    assert gateway.redis_url.startswith("redis://redis:6379/")
    assert gateway.keys_store == checked["keys"].keys_store == "redis"
    assert gateway.redis_url == checked["keys"].redis_url, "the keys step must write where the replicas read"
    sandbox = "http://sandbox:8100/"
    assert services["sandbox"]["entrypoint"][-2:] == ["--port", "8100"]
    assert {spec.name: gateway.upstream(spec.name).url for spec in SPECS} == {spec.name: sandbox for spec in SPECS}, (
        f"every {url_variable('<name>')} of the catalog at the sandbox"
    )


def test_compose_runs_two_replicas_behind_one_port_with_a_key_step_and_a_mirror_volume() -> None:
    compose = _compose()
    services = compose["services"]
    gateway = services["gateway"]
    assert gateway["deploy"]["replicas"] == 2
    assert _checked(gateway["environment"]).limiter_fallback_replicas == gateway["deploy"]["replicas"]
    assert "ports" not in gateway, "only the load balancer publishes a port"
    assert [name for name, service in services.items() if "ports" in service] == ["lb"]
    assert len(services["lb"]["ports"]) == 1
    assert services["keys"]["command"][:2] == ["keys", "create"]
    assert gateway["depends_on"]["keys"] == {"condition": "service_completed_successfully"}
    mirror_dir = _checked(gateway["environment"]).mirror_data_dir
    assert f"mirror-data:{mirror_dir}" in gateway["volumes"]
    assert "mirror-data" in compose["volumes"]
    haproxy = (DOCKER / "haproxy.cfg").read_text(encoding="utf-8")
    assert re.search(rf"^\s*server-template \w+ \d+ gateway:{_checked(gateway['environment']).port}$", haproxy, re.M)
    bind = re.search(r"^\s*bind :(\d+)$", haproxy, re.M)
    assert bind, "HAProxy binds one port"
    assert bind[1] == services["lb"]["ports"][0].split(":")[-1]
    assert re.search(r"^\s*option httpchk GET /readyz$", haproxy, re.M), "traffic only to ready replicas"
    settings = _checked(gateway["environment"])
    stopping_s = settings.shutdown_drain_delay_s + settings.shutdown_grace_period_s
    assert int(gateway["stop_grace_period"].split()[0].removesuffix("s")) > stopping_s, "a stop is never cut short"


def _dockerfile() -> str:
    return (DOCKER / "Dockerfile").read_text(encoding="utf-8")


def test_the_dockerfile_is_multi_stage_non_root_and_installs_the_lock_file_only() -> None:
    text = _dockerfile()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^COPY --from=build ", text, re.M)
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user, "a USER instruction"
    assert user[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"pip install --require-hashes --no-deps -r requirements\.lock", text)
    environment = dict(re.findall(r"(GATEWAY_[A-Z0-9_]+)=(\S+)", text))
    assert _checked(environment).host == "0.0.0.0"


def test_the_dockerfile_health_check_uses_the_configured_port() -> None:
    text = _dockerfile().replace("\\\n", " ")
    (healthcheck,) = re.findall(r"^HEALTHCHECK .*$", text, re.M)
    assert "GATEWAY_PORT" in healthcheck
    assert not re.search(r":\d{2,5}/", healthcheck), "no literal port in the health check"


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = set((REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert ignored >= {".git", ".venv", "var", "**/node_modules", "**/__pycache__", ".mypy_cache", "bench"}


def _locked() -> dict[str, str]:
    text = (REPO_ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert not re.search(r"^\s*--(extra-)?index-url|^\s*--find-links|://", text, re.M), "no index or host in the lock"
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", text, re.M))
    hashed = re.findall(r"^[A-Za-z0-9_.-]+==\S+ \\\n(?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+", text, re.M)
    assert len(hashed) == len(pins), "every pin carries its hashes"
    return {canonicalize_name(name): version for name, version in pins.items()}


def test_the_lock_file_pins_every_dependency_within_its_range() -> None:
    locked = _locked()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    required = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for requirement in map(Requirement, required):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(locked[name]), (
            f"{name}=={locked[name]} is outside {requirement}: make lock"
        )
