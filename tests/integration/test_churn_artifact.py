"""The churn service refuses artifacts it cannot trust, with a one-line reason, before serving anything."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import requests

from tests.helpers import Gunicorn


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
