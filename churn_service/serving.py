"""What scores a request: one verified model and its scorer, swapped as a whole.

A request reads `state.serving` once and uses that object to the end, so a swap (one assignment) never
mixes two models in one answer, and the `model_version` it reports is the model that scored it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from churn_service.drift.bins import DriftBins, drift_bins
from churn_service.drift.columns import DriftColumns, build_drift_columns
from churn_service.model.artifact import ArtifactError, LoadedModel, load_artifact
from churn_service.model.kernel import BatchKernel, build_kernel
from churn_service.model.reasons import Explainer, build_explainer
from churn_service.model.scoring import Scorer, build_scorer


@dataclass(frozen=True)
class Serving:
    model: LoadedModel
    scorer: Scorer
    explainer: Explainer | None = None  # `?explain=true`; None for a model it cannot explain
    kernel: BatchKernel | None = None  # batches of canonical records in one pass; None for other models
    drift: DriftBins | None = None  # how its traffic is binned; None for a model trained before drift
    drift_columns: DriftColumns | None = None  # the same bins over the kernel's columns

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def threshold(self) -> float:
        return self.model.threshold


def load_serving(model_path: Path) -> Serving:
    """Verify and compile an artifact; ArtifactError (one line) for anything that must not be served."""
    model = load_artifact(model_path)
    try:
        scorer = build_scorer(model)
    except (AttributeError, ValueError) as exc:  # features outside the contract, state without coef_ …
        raise ArtifactError(f"{model_path}: {exc}") from None
    try:  # the manifest's statistics were checked at load; this is the last guard, not the check
        drift = drift_bins(model.manifest)
        return Serving(model, scorer, build_explainer(model.dv, model.model, model.manifest), build_kernel(scorer),
                       drift, build_drift_columns(drift))
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{model_path}: its drift statistics cannot be used: {exc!r}") from None
