"""The churn service refuses artifacts it cannot trust, with a one-line reason, before serving anything."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import sklearn
from sklearn.linear_model import LogisticRegression

from feature_contract import model_features, parse_record
from harness import REPO
from tests.helpers import Gunicorn
from tests.samples import LOYAL_CUSTOMER as LOYAL


def copy_artifact(model_dir: Path, target: Path) -> Path:
    for name in ("model.bin", "model.json"):
        shutil.copy(model_dir / name, target / name)
    return target / "model.bin"


def rewrite_manifest(model_path: Path, **changes: object) -> None:
    manifest_path = model_path.with_name("model.json")
    manifest = json.loads(manifest_path.read_text())
    manifest.update(changes)
    manifest_path.write_text(json.dumps(manifest))


def refused(model_path: Path) -> str:
    server = Gunicorn("churn_service", {"MODEL_PATH": str(model_path)}).start(wait=False)
    try:
        assert server.wait_exit() != 0
        return server.output()
    finally:
        server.stop()


def reason_line(output: str) -> str:
    lines = [line for line in output.splitlines() if "refusing to start" in line]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_tampered_model_makes_the_service_exit_with_the_reason(model_dir: Path, tmp_path: Path) -> None:
    model_path = copy_artifact(model_dir, tmp_path)
    payload = bytearray(model_path.read_bytes())
    payload[-20] ^= 0xFF
    model_path.write_bytes(bytes(payload))
    assert "but its manifest expects" in reason_line(refused(model_path))


class Exploit:
    """Unpickling this would create a file: the kind of pickle a hash alone does not stop."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_would_run_code_is_refused_even_with_a_matching_manifest(model_dir: Path, tmp_path: Path) -> None:
    model_path = copy_artifact(model_dir, tmp_path)
    marker = tmp_path / "pwned"
    payload = pickle.dumps((Exploit(marker), "model"))
    model_path.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    rewrite_manifest(model_path, sha256=digest, version=digest[:12])
    line = reason_line(refused(model_path))
    assert "system" in line and "refusing" in line
    assert not marker.exists()


def test_missing_model_is_a_clear_refusal(tmp_path: Path) -> None:
    assert "manifest" in reason_line(refused(tmp_path / "model.bin"))


def test_scikit_learn_version_mismatch_is_reported_loudly(model_dir: Path, tmp_path: Path) -> None:
    model_path = copy_artifact(model_dir, tmp_path)
    rewrite_manifest(model_path, sklearn_version="0.24.2")
    with Gunicorn("churn_service", {"MODEL_PATH": str(model_path)}) as server:
        info = requests.get(f"{server.url}/model", timeout=5).json()
        assert any("0.24.2" in w for w in info["warnings"])
        assert "VERSION MISMATCH" in server.output()


def test_the_trained_model_is_served_without_importing_scikit_learn(model_dir: Path) -> None:
    # Importing scikit-learn (and SciPy) costs every worker about 90 MB; the compiled scorer reads only the
    # pickled arrays, so a worker that scores, explains and batches never needs it.
    script = (
        "import json, sys\n"
        "from churn_service.app import create_app\n"
        "client = create_app().test_client()\n"
        f"record = {json.dumps(LOYAL)}\n"
        "answers = [client.post('/predict?explain=true', json=record).status_code,\n"
        "           client.post('/predict/batch', json={'customers': [record] * 3}).status_code,\n"
        "           client.get('/model').get_json()['installed_sklearn_version']]\n"
        "print(json.dumps([answers, sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy'))]))\n"
    )
    env = {**{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
           "MODEL_PATH": str(model_dir / "model.bin")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    answers, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert answers == [200, 200, sklearn.__version__]
    assert imported == []


def three_class_model(model_dir: Path, target: Path) -> tuple[Path, Any, Any]:
    """A (DictVectorizer, 3-class LogisticRegression) artifact with a matching manifest: no weight table
    to compile, so only scikit-learn can score it."""
    model_path = copy_artifact(model_dir, target)
    dv, _ = pickle.loads((model_dir / "model.bin").read_bytes())
    rng = np.random.default_rng(7)
    features = rng.normal(size=(300, len(dv.feature_names_)))
    model = LogisticRegression(max_iter=1000).fit(features, rng.integers(0, 3, size=300))
    payload = pickle.dumps((dv, model))
    model_path.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    rewrite_manifest(model_path, sha256=digest, version=digest[:12])
    return model_path, dv, model


def test_a_model_the_scorer_cannot_compile_is_scored_by_scikit_learn(model_dir: Path, tmp_path: Path) -> None:
    model_path, dv, model = three_class_model(model_dir, tmp_path)  # DESIGN §3: the fallback to predict_proba
    digest = json.loads(model_path.with_name("model.json").read_text())["sha256"]
    expected = model.predict_proba(dv.transform([model_features(parse_record(LOYAL))]))[0, 1]
    with Gunicorn("churn_service", {"MODEL_PATH": str(model_path)}) as server:
        answer = requests.post(f"{server.url}/predict", json=LOYAL, timeout=10)
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["churn_probability"] == pytest.approx(expected, abs=1e-9)
        assert answer.json()["model_version"] == digest[:12]


def test_without_scikit_learn_the_model_is_served_and_one_that_needs_it_refused(model_dir: Path,
                                                                               tmp_path: Path) -> None:
    # The churn image carries no scikit-learn; here an import blocker stands in for its absence.
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['sklearn'] = None\n")
    env = {"PYTHONPATH": f"{blocker}{os.pathsep}{REPO}"}
    with Gunicorn("churn_service", {**env, "MODEL_PATH": str(model_dir / "model.bin")}) as server:
        answer = requests.post(f"{server.url}/predict", json=LOYAL, timeout=10)
        assert answer.status_code == 200 and 0 < answer.json()["churn_probability"] < 1, answer.text[:300]
    (tmp_path / "three").mkdir()
    model_path, _, _ = three_class_model(model_dir, tmp_path / "three")
    server = Gunicorn("churn_service", {**env, "MODEL_PATH": str(model_path)}).start(wait=False)
    try:
        assert server.wait_exit() != 0
        line = reason_line(server.output())
    finally:
        server.stop()
    assert "only scikit-learn can score it" in line and "not installed" in line
