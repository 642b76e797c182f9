"""Train a candidate into the registry and decide whether it replaces the served model (DESIGN §7).

`auto` scores the candidate and the current model on the same held-out rows of the new data and
promotes only if candidate_auc >= current_auc - tolerance; both AUCs, the decision and the parent
version go into the candidate's model.json under `evaluation`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sklearn.metrics import roc_auc_score

from train import artifact
from train.data import Dataset
from train.pipeline import TrainResult
from train.registry import Registry, RegistryError

log = logging.getLogger("train")


@dataclass(frozen=True)
class Outcome:
    version: str
    promoted: bool
    evaluation: dict[str, Any]


def current_auc(registry: Registry, version: str, result: TrainResult) -> float:
    """The served model's AUC on the candidate's held-out rows, loaded as the service loads it (verified)."""
    from churn_service.model.artifact import ArtifactError, load_artifact

    try:
        served = load_artifact(registry.root / version / "model.bin")
    except ArtifactError as exc:
        raise RegistryError(f"the current model {version} cannot be evaluated: {exc}") from None
    probabilities = served.model.predict_proba(served.dv.transform(result.test_records))[:, 1]
    return float(roc_auc_score(result.test_labels, probabilities))


def evaluate(registry: Registry, result: TrainResult, mode: str, tolerance: float) -> dict[str, Any]:
    parent = registry.current()
    evaluation: dict[str, Any] = {"candidate_auc": round(result.test_auc, 6), "parent": parent,
                                  "promote": mode, "tolerance": tolerance, "rows": len(result.test_records)}
    if parent is None:
        evaluation.update(current_auc=None, decision="promote", reason="the registry serves no model yet")
    elif mode != "auto":
        evaluation.update(current_auc=round(current_auc(registry, parent, result), 6),
                          decision="promote" if mode == "always" else "keep", reason=f"--promote {mode}")
    else:
        served = current_auc(registry, parent, result)
        better = result.test_auc >= served - tolerance
        evaluation.update(current_auc=round(served, 6), decision="promote" if better else "keep",
                          reason=(f"candidate AUC {result.test_auc:.4f} {'>=' if better else '<'} current "
                                  f"{served:.4f} - tolerance {tolerance:g}"))
    if mode == "never" and parent is None:
        evaluation.update(decision="keep", reason="--promote never")
    return evaluation


def train_into(registry: Registry, result: TrainResult, data: Dataset, mode: str, tolerance: float) -> Outcome:
    evaluation = evaluate(registry, result, mode, tolerance)
    staging = registry.staging()
    try:
        manifest = artifact.write(result, data, staging, n_test=len(result.test_labels), extra={"evaluation": evaluation})
    except BaseException:
        registry.discard(staging)
        raise
    version = manifest["version"]
    if not registry.add(staging, version):
        log.info("version %s is already in the registry (same data, same settings): nothing new written", version)
    promoted = evaluation["decision"] == "promote"
    if promoted:
        registry.promote(version)
    return Outcome(version, promoted, evaluation)


def describe(registry: Registry) -> list[str]:
    """`list`: one line per version, newest first, with its AUCs and which one is served."""
    current, lines = registry.current(), []
    manifests = [(v, registry.manifest(v)) for v in registry.versions()]
    for version, manifest in sorted(manifests, key=lambda item: item[1].get("created_at", ""), reverse=True):
        evaluation = manifest.get("evaluation") or {}
        mark = "*" if version == current else " "
        decision = evaluation.get("decision", "trained with --output-dir")
        lines.append(f"{mark} {version}  {manifest.get('created_at', '?'):25}  test AUC {manifest['metrics']['test_auc']:.4f}"
                     f"  parent's AUC on the same rows {evaluation.get('current_auc') or '-'}  ({decision})")
    return lines or [f"(no versions in {registry.root})"]
