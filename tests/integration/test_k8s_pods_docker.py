"""The pods for real, in Docker: the images built from this checkout run under the security context, mounts and
environment the local overlay renders (translated to `docker run` flags below), so a read-only root or a missing
writable path shows here and not first in a cluster. Only marketing's database differs: SQLite on its /data
emptyDir, as no PostgreSQL runs here. Slow: it builds both images with Compose, as the compose e2e does (on the
same tag, so after it the build is a cache hit).
"""
from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import requests

from harness import REPO
from harness.servers import free_port
from tests.e2e.compose_stack import BASE_IMAGES, BUILD_TIMEOUT_S, FIRST_TEST_BUDGET_S, compose_on
from tests.integration.k8s_render import SERVICES, one, pod_env, render
from tests.samples import LIKELY_CHURNER

IMAGE_TAG = "e2e-debian"  # the compose e2e's tag for this layout


def docker_flags(pod: dict, container: dict, volumes: Path, pod_id: str, env: Mapping[str, str]) -> list[str]:
    """`docker run` arguments for one container of a pod. Volumes are folders under `volumes`, made as the kubelet
    makes them: an emptyDir world-writable and the pod's own, a claim shared by every pod and owned by the fsGroup."""
    security = {**pod["securityContext"], **container["securityContext"]}
    flags = ["--user", f"{security['runAsUser']}:{security['runAsGroup']}", "--group-add", str(security["fsGroup"])]
    flags += ["--read-only"] if security["readOnlyRootFilesystem"] else []
    flags += ["--security-opt", "no-new-privileges"] if not security["allowPrivilegeEscalation"] else []
    flags += [f"--cap-drop={cap}" for cap in security["capabilities"]["drop"]]
    declared = {v["name"]: v for v in pod["volumes"]}
    for mount in container["volumeMounts"]:
        volume = declared[mount["name"]]
        folder = volumes / (f"{pod_id}-{mount['name']}" if "emptyDir" in volume else volume["persistentVolumeClaim"]["claimName"])
        if not folder.exists():
            folder.mkdir(parents=True)
            if "emptyDir" in volume:
                folder.chmod(0o777)
            else:
                os.chown(folder, 0, security["fsGroup"])
                folder.chmod(0o2775)
        flags += ["-v", f"{folder}:{mount['mountPath']}{':ro' if mount.get('readOnly') else ''}"]
    flags += [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
    image = container["image"].rsplit(":", 1)[0] + f":{IMAGE_TAG}"
    command = container.get("command", [])
    return [*flags, *(["--entrypoint", command[0]] if command else []), image, *command[1:], *container.get("args", [])]


@pytest.fixture(scope="module")
def docker_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The two images built from this checkout, and a network on which churn answers to its Service name."""
    # Built as the compose e2e builds the Debian layout, under the same tag: one build serves both tests.
    tool = compose_on("debian", tmp_path_factory.mktemp("docker-config"))
    subprocess.run([*tool.command, "-f", str(REPO / "docker-compose.yml"), "build", *SERVICES], cwd=REPO, check=True,
                   capture_output=True, timeout=BUILD_TIMEOUT_S,
                   env={**os.environ, **tool.env, "BASE_IMAGE": BASE_IMAGES["debian"], "IMAGE_TAG": IMAGE_TAG})
    network = f"churn-k8s-check-{os.getpid()}"
    subprocess.run(["docker", "network", "create", network], check=True, capture_output=True, timeout=60)
    yield network
    subprocess.run(["docker", "network", "rm", network], capture_output=True, timeout=60)


def wait_for(check: Callable[[], object], what: str, timeout: float = 90) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if found := check():
                return found
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {timeout}s")


def seed_registry(pod: dict, volumes: Path) -> None:
    """Two churn pods starting at once on the same empty `models` claim."""
    seeds = [subprocess.Popen(["docker", "run", "--rm", "--hostname", f"churn-{i}",
                               *docker_flags(pod, pod["initContainers"][0], volumes, f"churn-{i}", {})],
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for i in range(2)]
    for seed in seeds:
        output = seed.communicate(timeout=120)[0]
        assert seed.returncode == 0, output


@pytest.mark.slow
@pytest.mark.timeout(FIRST_TEST_BUDGET_S)
@pytest.mark.compose
@pytest.mark.optional(reason="needs a Docker engine and Compose; under CI=true their absence fails")
def test_the_pods_serve_under_their_security_context_in_docker(docker_network: str, tmp_path: Path) -> None:
    docs = list(render("local"))
    churn_pod = one(docs, "Deployment", "churn")["spec"]["template"]["spec"]
    seed_registry(churn_pod, tmp_path)
    version = (tmp_path / "models" / "CURRENT").read_text().strip()  # one model, nothing half-copied left over
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == sorted([version, "CURRENT", "HISTORY"])
    marketing_pod = one(docs, "Deployment", "marketing")["spec"]["template"]["spec"]
    churn, marketing = churn_pod["containers"][0], marketing_pod["containers"][0]
    ports, started = {"churn": free_port(), "marketing": free_port()}, []
    web_env = {**pod_env(docs, marketing), "MARKETING_DB": "/data/marketing.db"}
    runs = {"churn": ["--network-alias", "churn", "-p", f"127.0.0.1:{ports['churn']}:{churn['ports'][0]['containerPort']}",
                      *docker_flags(churn_pod, churn, tmp_path, "churn-0", pod_env(docs, churn))],
            "marketing": ["-p", f"127.0.0.1:{ports['marketing']}:{marketing['ports'][0]['containerPort']}",
                          *docker_flags(marketing_pod, marketing, tmp_path, "web", web_env)]}
    try:
        for service, flags in runs.items():
            started.append(f"{service}-{docker_network}")
            subprocess.run(["docker", "run", "-d", "--name", started[-1], "--network", docker_network, *flags],
                           check=True, capture_output=True, timeout=60)
        for service, container in (("churn", churn), ("marketing", marketing)):  # each probe as the kubelet asks it
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                url = f"http://127.0.0.1:{ports[service]}{container[probe]['httpGet']['path']}"
                wait_for(lambda url=url: requests.get(url, timeout=3).ok, f"200 from {service} {url}")
        assert requests.get(f"http://127.0.0.1:{ports['churn']}/model", timeout=3).json()["version"] == version
        base = f"http://127.0.0.1:{ports['marketing']}"
        wait_for(lambda: requests.get(f"{base}/readyz", timeout=3).json().get("churn") == "reachable", "churn through CHURN_URL")
        # A token as an operator makes one in a pod (`kubectl exec`): the CLI on the pod's own database.
        token = subprocess.run(["docker", "exec", f"marketing-{docker_network}", "python", "-m", "marketing_service",
                                "tokens", "create", "k8s-check", "--role", "marketer"],
                               check=True, capture_output=True, text=True, timeout=60).stdout.strip()
        answer = requests.post(f"{base}/api/customers", timeout=30, headers={"Authorization": f"Bearer {token}"},
                               json={**LIKELY_CHURNER, "customerid": "K8S-1", "email": "k8s@example.com"}).json()
        assert answer["customers"][0]["status"] == "scored" and answer["customers"][0]["offer"], answer
        mail_dir = tmp_path / "web-data" / "mail"  # MAIL_DIR=/data/mail on the `data` emptyDir
        wait_for(lambda: any("k8s@example.com" in m.read_text() for m in mail_dir.glob("*.eml")), "offer email", timeout=30)
    finally:
        for name in started:
            subprocess.run(["docker", "logs", "--tail", "30", name], timeout=30)
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
