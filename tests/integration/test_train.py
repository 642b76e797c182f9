"""`python -m train` end to end on the real CSV: metrics, artifact, manifest, reproducibility, errors."""
from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from feature_contract import FEATURES, parse_record
from tests.helpers import DATA, run_train
from tests.samples import ZOOMCAMP_CUSTOMER

MANIFEST_FIELDS = {
    "version", "sha256", "created_at", "sklearn_version", "python_version", "data_sha256", "n_train",
    "n_test", "metrics", "threshold", "features", "feature_stats",
}


def test_training_reports_folds_and_reaches_the_course_auc(model_dir: Path) -> None:
    manifest = json.loads((model_dir / "model.json").read_text())
    assert manifest["metrics"]["test_auc"] >= 0.84
    assert len(manifest["metrics"]["fold_aucs"]) == 5
    assert 0.8 < manifest["metrics"]["cv_auc_mean"] < 0.9
    assert manifest["n_train"] + manifest["n_test"] == 7043 and manifest["n_test"] == 1409


def test_progress_lines_name_each_fold_and_the_test_auc(tmp_path: Path) -> None:
    done = run_train("--output-dir", tmp_path, "--folds", "2")
    assert done.returncode == 0, done.stderr
    for line in ("fold 1/2: AUC 0.", "fold 2/2: AUC 0.", "CV AUC 0.", "± 0.", "2 folds", "test AUC 0."):
        assert line in done.stdout
    assert done.stderr == ""


def test_artifact_loads_the_zoomcamp_way_and_scores(model_dir: Path) -> None:
    with open(model_dir / "model.bin", "rb") as f:
        dv, model = pickle.load(f)
    assert isinstance(dv, DictVectorizer) and isinstance(model, LogisticRegression)
    probability = model.predict_proba(dv.transform([ZOOMCAMP_CUSTOMER]))[0, 1]
    assert 0.55 < probability < 0.7


def test_manifest_is_complete_and_bound_to_the_file(model_dir: Path) -> None:
    manifest = json.loads((model_dir / "model.json").read_text())
    assert MANIFEST_FIELDS <= set(manifest)
    digest = hashlib.sha256((model_dir / "model.bin").read_bytes()).hexdigest()
    assert manifest["sha256"] == digest and manifest["version"] == digest[:12]
    assert manifest["data_sha256"] == hashlib.sha256(DATA.read_bytes()).hexdigest()
    assert set(manifest["features"]) == set(FEATURES) == set(manifest["feature_stats"])
    assert "month-to-month" in manifest["features"]["contract"]["allowed"]
    assert manifest["feature_stats"]["contract"]["frequencies"]["month-to-month"] > 0.5
    assert manifest["feature_stats"]["tenure"]["quantiles"]["1"] == 72
    assert manifest["threshold"] == 0.5
    assert (model_dir / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_runs_give_a_byte_identical_model(model_dir: Path, tmp_path: Path) -> None:
    assert run_train("--output-dir", tmp_path).returncode == 0
    assert (tmp_path / "model.bin").read_bytes() == (model_dir / "model.bin").read_bytes()


def test_a_different_C_gives_a_different_model(model_dir: Path, tmp_path: Path) -> None:
    assert run_train("--output-dir", tmp_path, "--C", "0.01", "--folds", "2").returncode == 0
    assert (tmp_path / "model.bin").read_bytes() != (model_dir / "model.bin").read_bytes()


def test_training_data_goes_through_the_serving_contract(model_dir: Path) -> None:
    with open(model_dir / "model.bin", "rb") as f:
        dv, _ = pickle.load(f)
    # Every vocabulary entry is a field or field=value spelled the way parse_record spells requests.
    served = parse_record(dict(ZOOMCAMP_CUSTOMER, contract="Two year"))
    assert f"contract={served['contract']}" in dv.vocabulary_
    assert {name.split("=")[0] for name in dv.feature_names_} == set(FEATURES)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def write_bytes(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize(
    "make_data, expected",
    [
        (lambda d: d / "absent.csv", "data file not found"),
        (lambda d: d, "is a directory"),
        (lambda d: write(d / "empty.csv", ""), "not a valid CSV file"),
        (lambda d: write_bytes(d / "bin.csv", b"gender,\xff\xfe\n"), "not a UTF-8 CSV file"),
        (lambda d: write(d / "cols.csv", "customerID,gender\n1,Female\n"), "missing columns: partner, dependents"),
        (
            lambda d: write(d / "ragged.csv", DATA.read_text().splitlines()[0] + "\n1,2\n" + "a," * 40 + "\n"),
            "not a valid CSV file",
        ),
        (
            lambda d: write(d / "bad.csv", "\n".join(DATA.read_text().splitlines()[:3]).replace("Month-to-month", "Weekly")),
            "line 2: contract: unknown value 'Weekly'",
        ),
    ],
)
def test_bad_data_gets_one_clear_line(tmp_path: Path, make_data, expected: str) -> None:
    done = run_train("--data", make_data(tmp_path), "--output-dir", tmp_path / "out")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "model.bin").exists()


def test_unwritable_output_dir_gets_one_clear_line(tmp_path: Path) -> None:
    blocker = write(tmp_path / "a-file", "")
    done = run_train("--output-dir", blocker / "models")
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot write to output dir") and "Traceback" not in done.stderr
