"""churn follows the registry's CURRENT under load (real gunicorn, 2 workers): no failed request, every
answer from the old or the new model, every worker on the new one soon after a change; refused artifacts
never replace the serving model. Timings are reported by bench/swap.py, not asserted here."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from churn_service import create_app
from churn_service.config import ChurnConfig
from tests.helpers import Gunicorn, registry_copy, run_train
from tests.samples import LIKELY_CHURNER

POLL_S = 0.5


@pytest.fixture(scope="module")
def registry(two_versions: tuple[Path, str, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """Version A served, B beside it: this module's own copy, since its tests promote and roll back."""
    root, first, second = two_versions
    return registry_copy(root, tmp_path_factory.mktemp("registry") / "models"), first, second


def sample_versions(url: str, n: int) -> Counter[str]:
    """Versions answered over fresh connections, so the kernel spreads them over both workers."""
    return Counter(requests.post(f"{url}/predict", json=LIKELY_CHURNER, timeout=5, headers={"Connection": "close"}
                                 ).json()["model_version"] for _ in range(n))


def test_five_promotions_and_rollbacks_under_load_fail_no_request(registry: tuple[Path, str, str], tmp_path: Path) -> None:
    root, first, second = registry
    env = {"MODEL_REGISTRY": str(root), "MODEL_POLL_SECONDS": str(POLL_S)}
    stop, seen, failures, answered = threading.Event(), Counter(), [], [0]

    def load() -> None:
        with requests.Session() as session:  # keep-alive, as a client under load would
            while not stop.is_set():
                try:
                    response = session.post(f"{server.url}/predict", json=LIKELY_CHURNER, timeout=10)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}: {response.text[:200]}")
                    else:
                        seen[response.json()["model_version"]] += 1
                        answered[0] += 1
                except requests.RequestException as exc:
                    failures.append(repr(exc))

    with Gunicorn("churn_service", env, workers=2) as server:
        threads = [threading.Thread(target=load) for _ in range(8)]
        for thread in threads:
            thread.start()
        try:
            target = first
            for change in range(5):
                target = second if target == first else first
                command = ("promote", target) if change % 2 == 0 else ("rollback",)
                assert run_train(*command, "--registry", root).returncode == 0
                deadline = time.monotonic() + 30
                while sample_versions(server.url, 20) != Counter({target: 20}):
                    assert time.monotonic() < deadline, f"workers never all switched to {target}"
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
    assert failures == []
    assert set(seen) == {first, second} and answered[0] > 100


def _registry_copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(source, target)
    return target


def _bad_version(root: Path, name: str, payload: bytes, manifest_from: str, matching_hash: bool) -> None:
    import hashlib

    folder = root / name
    folder.mkdir()
    (folder / "model.bin").write_bytes(payload)
    manifest = json.loads((root / manifest_from / "model.json").read_text())
    manifest["version"] = name
    if matching_hash:
        manifest["sha256"] = hashlib.sha256(payload).hexdigest()
    (folder / "model.json").write_text(json.dumps(manifest))
    (root / "CURRENT").write_text(name + "\n")


class RunsCode:
    def __reduce__(self) -> tuple:
        return (os.system, ("touch /tmp/churn-pwned",))


def _outside_contract() -> bytes:
    dv = DictVectorizer(sparse=False)
    X = dv.fit_transform([{"shoe_size": 40.0}, {"shoe_size": 44.0}, {"shoe_size": 41.0}, {"shoe_size": 45.0}])
    return pickle.dumps((dv, LogisticRegression().fit(X, [0, 1, 0, 1])))


@pytest.mark.parametrize(("name", "payload", "matching_hash", "why"), [
    ("bad000000001", None, False, "sha256"),
    ("bad000000002", pickle.dumps(RunsCode()), True, "posix.system"),
    ("bad000000003", _outside_contract(), True, "outside the contract"),
])
def test_a_refused_artifact_never_replaces_the_serving_model(registry: tuple[Path, str, str], tmp_path: Path,
                                                             name: str, payload: bytes | None, matching_hash: bool,
                                                             why: str) -> None:
    source, first, second = registry
    root = _registry_copy(source, tmp_path)
    serving = (root / "CURRENT").read_text().strip()  # the swap test may have left either one current
    other = second if serving == first else first
    app = create_app(ChurnConfig(model_registry=root, model_poll_seconds=0.1))
    client = app.test_client()
    try:
        assert client.post("/predict", json=LIKELY_CHURNER).json["model_version"] == serving
        _bad_version(root, name, payload or (root / other / "model.bin").read_bytes(), serving, matching_hash)
        deadline = time.monotonic() + 10
        while not any(name in w for w in client.get("/model").json["warnings"]):
            assert time.monotonic() < deadline, "the refusal never showed in GET /model"
            time.sleep(0.1)
        [warning] = [w for w in client.get("/model").json["warnings"] if name in w]
        assert why in warning
        assert client.get("/readyz").status_code == 200
        assert client.post("/predict", json=LIKELY_CHURNER).json["model_version"] == serving
        assert not Path("/tmp/churn-pwned").exists()
    finally:
        app.extensions["churn"].follower.stop()
