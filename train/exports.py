"""The model in interoperable formats beside model.bin: ONNX (skl2onnx) and PMML (Nyoka).

Both take the one-hot feature vector in the DictVectorizer's order (`feature_names` in model.json):
another runtime builds it from a record as `contract=month-to-month` -> 1.0 for each category, and the
value itself for `tenure`, `monthlycharges`, `totalcharges` and `seniorcitizen`. They hold only the
logistic regression; the vectoriser is that list of names.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

ONNX_INPUT = "features"
PMML_TARGET = "churn"


def onnx_bytes(dv: Any, model: Any) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    # Doubles end to end, and plain probability arrays (no ZipMap), so any runtime matches predict_proba.
    onnx_model = convert_sklearn(model, initial_types=[(ONNX_INPUT, DoubleTensorType([None, len(dv.feature_names_)]))],
                                 options={id(model): {"zipmap": False}})
    return onnx_model.SerializeToString()


def pmml_bytes(dv: Any, model: Any) -> bytes:
    from nyoka import skl_to_pmml
    from sklearn.pipeline import Pipeline

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pmml"
        skl_to_pmml(Pipeline([("model", model)]), list(dv.feature_names_), PMML_TARGET, str(path))
        return path.read_bytes()


def write_file(path: Path, payload: bytes) -> None:
    """A crash mid-write never leaves a half-written file where a reader looks for it."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(payload)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, path)
