"""deploy/k8s as a cluster would receive it: `kubectl kustomize` renders both overlays, every document passes the
newest Kubernetes schemas kubernetes-validate ships (strict), checkov finds nothing, and the rendered pods are
what the services need: probes on their port, the env names their config.py reads, a non-root read-only root;
and what DESIGN §11 asks of production: one churn token from one Secret in both services, marketing in production
mode with Secure cookies, churn reachable only from marketing and Prometheus.

No cluster runs here: this is what can be checked without one (deploy/k8s/README.md says what is not).
test_k8s_pods_docker.py runs the images in Docker under the rendered pods' security context, mounts and environment.
"""
from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, latest_version

from churn_service.config import ChurnConfig
from marketing_service.config import ConfigError, MarketingConfig
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
    secret_data,
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
    if name == "production":  # as filled in on the machine that deploys
        env["CHURN_API_TOKEN"] = secrets.token_urlsafe(32)
        if service == "marketing":
            env["SECRET_KEY"] = secrets.token_hex(32)
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
        values = secret_data(referenced(docs, "Secret", secret_name))
        placeholder = "local-only-placeholder" if name == "local" else "REPLACE"
        assert all(placeholder in value for value in values.values() if value), values


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



def test_production_churn_and_marketing_share_one_api_token_from_one_secret_key() -> None:
    """DESIGN §11: churn requires CHURN_API_TOKEN, marketing sends it; one Secret key feeds both, never a ConfigMap."""
    docs = list(render("production"))
    sources = {}
    for service in SERVICES:
        container = one(docs, "Deployment", service)["spec"]["template"]["spec"]["containers"][0]
        [item] = [e for e in container.get("env", []) if e["name"] == "CHURN_API_TOKEN"]
        sources[service] = (item["valueFrom"]["secretKeyRef"]["name"], item["valueFrom"]["secretKeyRef"]["key"])
        assert pod_env(docs, container)["CHURN_API_TOKEN"], f"{service} gets an empty token"
    assert sources["churn"] == sources["marketing"], sources
    secret_name, _ = sources["churn"]
    assert secret_name.startswith("churn-api-token-"), "the Secret comes from the overlay's secretGenerator"
    assert "REPLACE" in secret_data(referenced(docs, "Secret", secret_name))["CHURN_API_TOKEN"], "commit placeholders only"
    assert not any("CHURN_API_TOKEN" in d.get("data", {}) for d in find(docs, "ConfigMap")), "a token in a ConfigMap"


def test_every_overlay_gives_churn_and_marketing_the_same_token_or_none(overlay: tuple[str, list[dict]]) -> None:
    """A token on one side only is every score refused (or, the other way, a token sent to no one)."""
    docs = overlay[1]
    tokens = {service: pod_env(docs, one(docs, "Deployment", service)["spec"]["template"]["spec"]["containers"][0])
              .get("CHURN_API_TOKEN") for service in SERVICES}
    assert tokens["churn"] == tokens["marketing"]
    assert (tokens["churn"] is not None) == (overlay[0] == "production")


def test_production_marketing_runs_as_production_with_secure_cookies() -> None:
    docs = list(render("production"))
    container = one(docs, "Deployment", "marketing")["spec"]["template"]["spec"]["containers"][0]
    config_map = next(s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s)
    data = referenced(docs, "ConfigMap", config_map)["data"]
    assert (data["MARKETING_ENV"], data["SESSION_COOKIE_SECURE"]) == ("production", "1")
    env = {**pod_env(docs, container), "SECRET_KEY": secrets.token_hex(32)}
    assert MarketingConfig.from_env(env).session_cookie_secure is True


def test_the_committed_production_secrets_stop_marketing_at_start() -> None:
    """The placeholders are the intended loud failure (DESIGN §11): MARKETING_ENV=production refuses a short or
    placeholder SECRET_KEY with one line naming it, and no placeholder admin password is committed to be seeded."""
    docs = list(render("production"))
    container = one(docs, "Deployment", "marketing")["spec"]["template"]["spec"]["containers"][0]
    env = pod_env(docs, container)
    assert "MARKETING_ADMIN_PASSWORD" not in env, "a committed admin password would be known to every reader"
    assert env["SECRET_KEY_FALLBACKS"] == "", "no fallback key outside a rotation"
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        MarketingConfig.from_env(env)
    churn = one(docs, "Deployment", "churn")["spec"]["template"]["spec"]["containers"][0]
    with pytest.raises(ConfigError, match="CHURN_API_TOKEN"):
        ChurnConfig.from_env(pod_env(docs, churn))


def labels_match(selector: dict, labels: dict) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are checked here: {selector}"
    return selector.get("matchLabels", {}).items() <= labels.items()


def test_churn_admits_only_marketing_and_prometheus(overlay: tuple[str, list[dict]]) -> None:
    """DESIGN §11: any pod of the namespace reaching churn is gone; marketing (its client) and Prometheus (for
    /metrics) are the only peers, on churn's port, and every pod configured to call churn is one of them."""
    docs = overlay[1]
    churn = one(docs, "Deployment", "churn")["spec"]["template"]
    policies = [p for p in find(docs, "NetworkPolicy") if labels_match(p["spec"]["podSelector"], churn["metadata"]["labels"])]
    assert policies and all("Ingress" in p["spec"]["policyTypes"] for p in policies), "churn is not isolated"
    port_names = {p["name"] for p in churn["spec"]["containers"][0]["ports"]}
    peers = []
    for rule in (r for p in policies for r in p["spec"].get("ingress", [])):
        assert rule.get("from"), f"a rule without peers admits every source: {rule}"
        assert [p["port"] for p in rule["ports"]] and {p["port"] for p in rule["ports"]} <= port_names, rule
        peers += rule["from"]
    marketing_peer = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "marketing"}}}
    prometheus_peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                       "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
    assert sorted(peers, key=json.dumps) == sorted([marketing_peer, prometheus_peer], key=json.dumps), peers
    # The marketing peer selects marketing's pods (and not churn's own); every workload with churn's Service in
    # its environment (here and in the train Job) is a pod that peer admits.
    marketing_labels = one(docs, "Deployment", "marketing")["spec"]["template"]["metadata"]["labels"]
    assert labels_match(marketing_peer["podSelector"], marketing_labels)
    assert not labels_match(marketing_peer["podSelector"], churn["metadata"]["labels"])
    churn_hosts = {"churn", f"churn.{one(docs, 'Service', 'churn')['metadata']['namespace']}"}
    callers = {}
    for rendered in (docs, list(render("train-job"))):
        for workload in (d for d in rendered if d["kind"] in WORKLOADS):
            urls = [urlsplit(v) for c in containers(workload) for v in pod_env(rendered, c).values() if "://" in v]
            if any((url.hostname or "").removesuffix(".svc.cluster.local").removesuffix(".svc") in churn_hosts
                   for url in urls):
                callers[workload["metadata"]["name"]] = workload["spec"]["template"]["metadata"]["labels"]
    assert "marketing" in callers, "marketing's CHURN_URL no longer names the churn Service"
    for caller, labels in callers.items():
        assert labels_match(marketing_peer["podSelector"], labels), f"{caller} calls churn, which does not admit it"
