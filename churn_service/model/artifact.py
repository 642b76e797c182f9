"""Load the model artifact only after proving it is the one the manifest describes.

The SHA-256 check catches a swapped or corrupted file; the restricted unpickler catches a pickle that
would run code even when someone rewrote the manifest to match it. The two estimators come out as their
pickled state (FittedState), not as scikit-learn objects: the compiled scorer and the reasons read only
their arrays, and importing scikit-learn (with SciPy) costs each process about 90 MB. `estimators()` gives
the real pair when a model needs scikit-learn to score.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import pickle
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from churn_service.model.manifest import ManifestInvalid, check_manifest

log = logging.getLogger(__name__)

# Exactly what a pickled (DictVectorizer, LogisticRegression) refers to, across numpy 1.x and 2.x names.
ALLOWED_GLOBALS = frozenset({
    ("sklearn.feature_extraction._dict_vectorizer", "DictVectorizer"),
    ("sklearn.linear_model._logistic", "LogisticRegression"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy", "float64"),
    ("numpy", "int64"),
    ("numpy", "int32"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
})


class ArtifactError(Exception):
    """The artifact must not be served; the message is the one-line reason."""


class FittedState:
    """A pickled estimator's attributes (coef_, feature_names_, …), set as pickle restores them."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> Any:  # called only for what the state lacks; says so to mypy too
        raise AttributeError(f"{type(self).__name__} has no {name}")


class DictVectorizerState(FittedState):
    pass


class LogisticRegressionState(FittedState):
    pass


STAND_INS: dict[tuple[str, str], type[FittedState]] = {
    ("sklearn.feature_extraction._dict_vectorizer", "DictVectorizer"): DictVectorizerState,
    ("sklearn.linear_model._logistic", "LogisticRegression"): LogisticRegressionState,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Only ALLOWED_GLOBALS; with `stand_ins`, the estimators as FittedState (no scikit-learn import)."""

    def __init__(self, file: io.BytesIO, stand_ins: bool = False):
        super().__init__(file)
        self.stand_ins = stand_ins

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise ArtifactError(f"model.bin refers to {module}.{name}, which a churn model never needs; refusing it")
        if self.stand_ins and (module, name) in STAND_INS:
            return STAND_INS[module, name]
        return super().find_class(module, name)


@functools.cache  # what is installed does not change under a running process; GET /model asks every time
def installed_sklearn() -> str | None:
    """The installed scikit-learn's version, read from its metadata (importing it would cost the 90 MB);
    None where it is not installed (the churn image: the compiled scorer reads the pickled arrays)."""
    try:
        return package_version("scikit-learn")
    except PackageNotFoundError:
        return None


@dataclass(frozen=True)
class LoadedModel:
    dv: Any
    model: Any
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    payload: bytes = field(default=b"", repr=False)  # the verified pickle, for estimators()

    def estimators(self) -> tuple[Any, Any]:
        """The real scikit-learn (DictVectorizer, model): for a model the compiled scorer cannot take. The
        churn image carries no scikit-learn (serving never needs it for a churn model): such a model is
        refused there with the reason."""
        try:
            dv, model = RestrictedUnpickler(io.BytesIO(self.payload)).load()
        except ImportError:
            raise ArtifactError(f"model {self.version} is not a binary LogisticRegression over a DictVectorizer, so"
                                " only scikit-learn can score it, and it is not installed here") from None
        return dv, model

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def threshold(self) -> float:
        return float(self.manifest.get("threshold", 0.5))  # checked at load: a number from 0 to 1


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"manifest {path} not found (train with `python -m train`)") from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"manifest {path} is unreadable: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("sha256"), str):
        raise ArtifactError(f"manifest {path} has no sha256")
    try:
        check_manifest(manifest)
    except ManifestInvalid as exc:
        raise ArtifactError(f"manifest {path}: {exc}; refusing to load it") from None
    return manifest


def load_artifact(model_path: Path) -> LoadedModel:
    """Verify the hash, then unpickle with the allowlist; raise ArtifactError with the reason."""
    manifest = _read_manifest(model_path.with_name("model.json"))
    try:
        payload = model_path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"model {model_path} is unreadable: {exc.strerror}") from None
    digest = hashlib.sha256(payload).hexdigest()
    if digest != manifest["sha256"]:
        raise ArtifactError(
            f"{model_path} has sha256 {digest[:12]}… but its manifest expects {manifest['sha256'][:12]}…; refusing to load it"
        )
    try:
        loaded = RestrictedUnpickler(io.BytesIO(payload), stand_ins=True).load()
    except ArtifactError:
        raise
    except Exception as exc:  # a malformed pickle can raise nearly anything; none of it may start the service
        raise ArtifactError(f"{model_path} is not a valid model pickle: {exc}") from None
    if not (isinstance(loaded, tuple) and len(loaded) == 2):
        raise ArtifactError(f"{model_path} must hold a (DictVectorizer, model) tuple")
    warnings: list[str] = []
    trained_with, installed = manifest.get("sklearn_version"), installed_sklearn()
    if installed is not None and trained_with != installed:
        warnings.append(f"model trained with scikit-learn {trained_with}, serving with {installed}: retrain or pin")
        log.warning("VERSION MISMATCH: %s", warnings[-1])
    return LoadedModel(loaded[0], loaded[1], manifest, warnings, payload)
