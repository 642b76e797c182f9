"""model.onnx and model.pmml give the same probabilities as predict_proba on every row of the data set,
in runtimes other than ours: onnxruntime, and a PMML evaluator on Java (pypmml)."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from feature_contract import model_features, parse_record
from tests.helpers import DATA


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> tuple[dict, np.ndarray, np.ndarray]:
    """The manifest, every row as the one-hot vector in the manifest's feature order, and predict_proba."""
    manifest = json.loads((model_dir / "model.json").read_text())
    with open(model_dir / "model.bin", "rb") as f:
        dv, model = pickle.load(f)
    with open(DATA, newline="") as f:
        records = [model_features(parse_record(row)) for row in csv.DictReader(f)]
    assert manifest["exports"]["feature_names"] == list(dv.feature_names_)
    X = dv.transform(records)
    return manifest, X, model.predict_proba(X)[:, 1]


def test_every_export_is_bound_by_its_hash_in_the_manifest(model_dir: Path, reference: tuple) -> None:
    manifest = reference[0]
    for kind in ("onnx", "pmml"):
        entry = manifest["exports"][kind]
        assert hashlib.sha256((model_dir / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]


def test_onnx_matches_predict_proba_on_every_row(model_dir: Path, reference: tuple) -> None:
    import onnxruntime

    manifest, X, expected = reference
    session = onnxruntime.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(None, {manifest["exports"]["onnx"]["input"]: X.astype(np.float64)})
    assert len(expected) == 7043
    assert np.max(np.abs(probabilities[:, 1] - expected)) < 1e-6
    assert (label == (expected >= 0.5)).all()


def test_pmml_matches_predict_proba_on_every_row(model_dir: Path, reference: tuple) -> None:
    if shutil.which("java") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no java: the PMML check cannot run (scripts/install-test-deps.sh installs it)")
        pytest.skip("no java on PATH")
    import pandas as pd
    from pypmml import Model

    manifest, X, expected = reference
    evaluator = Model.fromFile(str(model_dir / "model.pmml"))
    try:
        scored = evaluator.predict(pd.DataFrame(X, columns=manifest["exports"]["feature_names"]))
    finally:
        evaluator.close()
    assert np.max(np.abs(scored["probability_1"].to_numpy() - expected)) < 1e-6
