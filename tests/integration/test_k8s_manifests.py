"""deploy/k8s as a cluster would receive it: `kubectl kustomize` renders both overlays, every document passes the
newest Kubernetes schemas kubernetes-validate ships (strict), checkov finds nothing, and the rendered pods are
what the services need: probes on their port, the env names their config.py reads, a non-root read-only root.

No cluster runs here: this is what can be checked without one (deploy/k8s/README.md says what is not).
test_k8s_pods_docker.py runs the images in Docker under the rendered pods' security context, mounts and environment.
"""
from __future__ import annotations

import base64
import copy
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, latest_version

from tests.integration.k8s_config_reads import image_uid, names_read
from tests.integration.k8s_render import (
    KUSTOMIZATIONS,
    OVERLAYS,
    SERVICES,
    WORKLOADS,
    containers,
    find,
    one,
    pod_env,
    referenced,
    render,
    venv_tool,
)

SKIP_ANNOTATION = re.compile(r"^checkov\.io/skip\d+$")


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict]]:
    return request.param, copy.deepcopy(list(render(request.param)))


@pytest.fixture(params=KUSTOMIZATIONS)
def kustomization(request: pytest.FixtureRequest) -> tuple[str, list[dict]]:
    """Each overlay, and the train Job that writes into their registry volume."""
    return request.param, copy.deepcopy(list(render(request.param)))


def test_both_overlays_render_the_whole_system(overlay: tuple[str, list[dict]]) -> None:
    name, docs = overlay
    for kind, resource in [("Deployment", "churn"), ("Deployment", "marketing"), ("Service", "churn"),
                           ("Service", "marketing"), ("HorizontalPodAutoscaler", "churn"), ("PersistentVolumeClaim", "models"),
                           ("PodDisruptionBudget", "churn"), ("PodDisruptionBudget", "marketing")]:
        one(docs, kind, resource)
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"churn-system"}
    marketing = one(docs, "Deployment", "marketing")["spec"]["template"]["spec"]["containers"][0]
    database = urlsplit(pod_env(docs, marketing)["MARKETING_DB"])
    assert database.scheme == "postgresql"
    if name == "local":  # PostgreSQL in the cluster, reached through its Service with the server's own credentials
        server = one(docs, "StatefulSet", "postgres")["spec"]["template"]["spec"]
        env = pod_env(docs, server["containers"][0])
        volume = next(v for v in server["volumes"] if "secret" in v)
        password = referenced(docs, "Secret", volume["secret"]["secretName"])
        mount = next(m["mountPath"] for m in server["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
        assert env["POSTGRES_PASSWORD_FILE"] == f"{mount}/POSTGRES_PASSWORD"
        assert database.hostname == one(docs, "Service", "postgres")["metadata"]["name"] and database.port == 5432
        assert (database.username, database.path) == (env["POSTGRES_USER"], f"/{env['POSTGRES_DB']}")
        assert database.password == base64.b64decode(password["data"]["POSTGRES_PASSWORD"]).decode()
    else:  # an external server: no database pod, and the committed URL is an obvious placeholder
        assert not find(docs, "StatefulSet")
        assert "REPLACE" in database.geturl() and database.hostname.endswith(".invalid")


def test_every_document_is_valid_for_the_newest_kubernetes_in_strict_mode(kustomization: tuple[str, list[dict]]) -> None:
    version = latest_version()
    for doc in kustomization[1]:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except SchemaNotFoundError as exc:
            pytest.fail(exc.message)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} at {'.'.join(map(str, exc.path))}: {exc.message}")
    # Strict mode really rejects what a cluster would drop silently (a misspelt field):
    workload = next(d for d in kustomization[1] if d["kind"] in WORKLOADS)
    workload["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(workload, version, strict=True)


def test_checkov_passes_and_every_skip_says_why(kustomization: tuple[str, list[dict]], tmp_path: Path) -> None:
    name, docs = kustomization
    rendered = tmp_path / f"{name}.yaml"
    rendered.write_text(yaml.safe_dump_all(docs))
    done = subprocess.run([venv_tool("checkov"), "--file", rendered, "--framework", "kubernetes", "--skip-download",
                           "--output", "json"], capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    summary, results = report["summary"], report["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert not failed and summary["parsing_errors"] == 0, "\n".join(failed)
    workloads = sum(d["kind"] in WORKLOADS for d in docs)
    assert summary["passed"] >= 40 * workloads > 0, summary  # checkov ran its pod checks on every workload
    reasons = {}
    for doc in docs:
        for key, value in doc["metadata"].get("annotations", {}).items():
            if SKIP_ANNOTATION.match(key):
                check, _, reason = value.partition("=")
                assert len(reason.split()) >= 8, f"{doc['kind']}/{doc['metadata']['name']} skips {check} without a reason"
                reasons[(check, doc["kind"], doc["metadata"]["name"])] = reason
    for skipped in results["skipped_checks"]:
        kind, _, resource = skipped["resource"].split(".", 2)
        assert (skipped["check_id"], kind, resource) in reasons, f"{skipped['check_id']} skipped on {skipped['resource']}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_pods_get_only_variables_their_config_reads_with_values_it_accepts(overlay: tuple[str, list[dict]],
                                                                               service: str) -> None:
    name, docs = overlay
    package, config = SERVICES[service]
    deployment = one(docs, "Deployment", service)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = pod_env(docs, container)
    read, parsed, settings = names_read(config, package, env)  # a ConfigError here is a value the service refuses
    assert set(env) <= read, f"{service} gets variables nothing reads: {sorted(set(env) - read)}"
    ports = {p["containerPort"] for p in container["ports"]}
    assert ports == {int(settings.bind.rsplit(":", 1)[1])}, "gunicorn binds a port the pod does not expose"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    if service == "churn":
        assert parsed.model_registry is not None and str(parsed.model_registry) in mounts
    else:
        assert {"SECRET_KEY", "MARKETING_DB"} <= set(env) and parsed.secret_key
        churn_url = urlsplit(parsed.churn_url)
        churn_service = one(docs, "Service", churn_url.hostname)
        assert churn_url.port in {p["port"] for p in churn_service["spec"]["ports"]}
        assert any(str(parsed.mail_dir).startswith(path) for path in mounts), "MAIL_DIR is on the read-only root"
        secret_name = next(s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s)
        assert secret_name.startswith("marketing-secrets-"), "the Secret comes from the overlay's secretGenerator"
        secret = referenced(docs, "Secret", secret_name)
        placeholder = "local-only-placeholder" if name == "local" else "REPLACE"
        assert all(placeholder in base64.b64decode(v).decode() for v in secret["data"].values())


@pytest.mark.parametrize("service", SERVICES)
def test_probes_ask_healthz_and_readyz_on_the_container_port(overlay: tuple[str, list[dict]], service: str) -> None:
    container = one(overlay[1], "Deployment", service)["spec"]["template"]["spec"]["containers"][0]
    ports = {p["containerPort"] for p in container["ports"]} | {p["name"] for p in container["ports"]}
    for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
        get = container[probe]["httpGet"]
        assert get["path"] == path and get["port"] in ports, f"{service} {probe}: {get}"


def test_every_container_is_non_root_read_only_unprivileged_and_bounded(kustomization: tuple[str, list[dict]]) -> None:
    workloads = [d for d in kustomization[1] if d["kind"] in WORKLOADS]
    assert workloads
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        for container in containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            security = {**pod["securityContext"], **container["securityContext"]}
            assert security["runAsNonRoot"] is True and security["runAsUser"] >= 10000, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"], where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{where} has no {bound}"


def test_the_services_run_as_their_images_user_with_a_writable_tmp(overlay: tuple[str, list[dict]]) -> None:
    for service, (package, _) in SERVICES.items():  # the images' own user, which owns their files
        pod = one(overlay[1], "Deployment", service)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == image_uid(package)
        assert "/tmp" in {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}, f"{service} has no writable /tmp"


def test_the_hpa_scales_the_churn_deployment_by_cpu(overlay: tuple[str, list[dict]]) -> None:
    name, docs = overlay
    hpa = one(docs, "HorizontalPodAutoscaler", "churn")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    churn = one(docs, "Deployment", target["name"])
    assert (target["kind"], target["apiVersion"], target["name"]) == ("Deployment", "apps/v1", "churn")
    assert "replicas" not in churn["spec"], "the HPA owns churn's replica count; an apply would reset it"
    assert churn["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    if name == "production":
        assert hpa["spec"]["minReplicas"] >= 3 and one(docs, "Deployment", "marketing")["spec"]["replicas"] >= 3


def test_every_workload_has_a_disruption_budget_that_selects_it(overlay: tuple[str, list[dict]]) -> None:
    docs = overlay[1]
    for deployment in find(docs, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        budgets = [b for b in find(docs, "PodDisruptionBudget")
                   if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(budgets) == 1, f"{deployment['metadata']['name']} has {len(budgets)} disruption budgets"


def test_churn_serves_the_registry_volume_seeded_from_its_own_image(overlay: tuple[str, list[dict]]) -> None:
    name, docs = overlay
    pod = one(docs, "Deployment", "churn")["spec"]["template"]["spec"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    claim = one(docs, "PersistentVolumeClaim", "models")
    assert set(claims.values()) == {"models"}
    seed, churn = pod["initContainers"][0], pod["containers"][0]
    assert seed["image"] == churn["image"] and ":" in churn["image"], "the seed copies the registry of the image served"
    assert {m["name"] for m in seed["volumeMounts"]} & set(claims) == {m["name"] for m in churn["volumeMounts"]} & set(claims)
    assert all(m.get("readOnly") for m in churn["volumeMounts"] if m["name"] in claims), "churn only reads the registry"
    # Pods on several nodes share the registry only on a ReadWriteMany volume; local runs on one node.
    assert claim["spec"]["accessModes"] == (["ReadWriteOnce"] if name == "local" else ["ReadWriteMany"])


def test_the_train_job_writes_the_registry_churn_serves() -> None:
    job = one(list(render("train-job")), "Job", "train-model")
    pod = job["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    registry = args[args.index("--registry") + 1]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    assert claims[mounts[registry]] == "models" and pod["securityContext"]["runAsUser"] == image_uid("churn_service")
    for name in OVERLAYS:
        docs = list(render(name))
        churn = one(docs, "Deployment", "churn")["spec"]["template"]["spec"]["containers"][0]
        assert pod_env(docs, churn)["MODEL_REGISTRY"] == registry
        claim = one(docs, "PersistentVolumeClaim", "models")
        assert claim["metadata"]["namespace"] == job["metadata"]["namespace"]

