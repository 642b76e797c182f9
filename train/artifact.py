"""Write the artifact: model.bin, its manifest model.json and the ROC curve, atomically."""
from __future__ import annotations

import hashlib
import json
import pickle
import platform
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

from feature_contract import BINARY, CATEGORICAL, NUMERIC, schema
from feature_contract.bins import decile_bins
from train import exports
from train.data import Dataset
from train.pipeline import TrainResult

DEFAULT_THRESHOLD = 0.5
QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)


class OutputError(Exception):
    """The output directory cannot hold the artifact."""


def feature_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Training distribution of every feature, kept in the manifest for later drift checks."""
    stats: dict[str, Any] = {}
    for field in (*CATEGORICAL, *BINARY):
        counts = Counter(str(r[field]) for r in records)
        stats[field] = {"frequencies": {k: round(v / len(records), 6) for k, v in sorted(counts.items())}}
    for field in NUMERIC:
        values = np.asarray([r[field] for r in records], dtype=float)
        quantiles = np.quantile(values, QUANTILES)
        stats[field] = {
            "mean": round(float(values.mean()), 6),
            "std": round(float(values.std()), 6),
            "quantiles": {f"{q:g}": round(float(v), 6) for q, v in zip(QUANTILES, quantiles, strict=True)},
            **decile_bins(values),  # the drift bins of live traffic
        }
    return stats


def _roc_png(result: TrainResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(result.test_labels, result.test_scores)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.plot(fpr, tpr, label=f"logistic regression (AUC {result.test_auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC on the held-out 20%")
    ax.legend(loc="lower right")
    fig.savefig(path, format="png")
    plt.close(fig)


def prepare_output_dir(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output_dir):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write to output dir {output_dir}: {exc.strerror}") from None


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def prediction_stats(test_scores: Any) -> dict[str, Any]:
    """Deciles of the held-out probabilities: the bins live predictions are compared with (drift)."""
    return decile_bins(test_scores)


def write(result: TrainResult, data: Dataset, output_dir: Path, n_test: int,
          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Pickle `(dv, model)` the Zoomcamp way, export ONNX and PMML beside it, then describe them all in a
    manifest bound by their SHA-256s. `extra` adds keys (the registry's `evaluation`)."""
    payload = pickle.dumps((result.dv, result.model), protocol=pickle.HIGHEST_PROTOCOL)
    onnx, pmml = exports.onnx_bytes(result.dv, result.model), exports.pmml_bytes(result.dv, result.model)
    digest = _sha256(payload)
    manifest = {
        "version": digest[:12],
        "sha256": digest,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sklearn_version": sklearn.__version__,
        "python_version": platform.python_version(),
        "data_sha256": data.sha256,
        "data": [{"path": s.path, "sha256": s.sha256, "rows": s.rows} for s in data.sources],
        "n_train": len(result.train_records),
        "n_test": n_test,
        "metrics": {
            "cv_auc_mean": round(result.cv_auc_mean, 6),
            "cv_auc_std": round(result.cv_auc_std, 6),
            "test_auc": round(result.test_auc, 6),
            "fold_aucs": [round(a, 6) for a in result.fold_aucs],
        },
        "threshold": DEFAULT_THRESHOLD,
        "features": schema(),
        "feature_stats": feature_stats(result.train_records),
        "prediction_stats": prediction_stats(result.test_scores),
        "exports": {
            "feature_names": list(result.dv.feature_names_),
            "onnx": {"file": "model.onnx", "sha256": _sha256(onnx), "input": exports.ONNX_INPUT,
                     "outputs": ["label", "probabilities"]},
            "pmml": {"file": "model.pmml", "sha256": _sha256(pmml), "target": exports.PMML_TARGET},
        },
        **(extra or {}),
    }
    try:
        exports.write_file(output_dir / "model.bin", payload)
        exports.write_file(output_dir / "model.onnx", onnx)
        exports.write_file(output_dir / "model.pmml", pmml)
        exports.write_file(output_dir / "model.json", json.dumps(manifest, indent=2).encode() + b"\n")
        _roc_png(result, output_dir / "roc.png")
    except OSError as exc:
        raise OutputError(f"cannot write the artifact into {output_dir}: {exc.strerror}") from None
    return manifest
