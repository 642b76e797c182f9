"""Train a candidate into the registry and decide whether it replaces the served model (DESIGN §7, §13).

`auto` promotes only a candidate that passes every test of the gate (`train.gate`): not worse than the
current model on the new data's held-out rows, nor on the current model's own held-out rows, and an AUC of
at least --min-auc on both. The AUCs, each test's result, the tests that refused it, the decision and the
parent version go into the candidate's model.json under `evaluation`; its held-out rows into holdout.csv.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from train import artifact, holdout
from train.data import Dataset
from train.gate import refused_by, run_gate, verdict
from train.pipeline import TrainResult
from train.registry import Registry

log = logging.getLogger("train")


@dataclass(frozen=True)
class Outcome:
    version: str
    promoted: bool
    evaluation: dict[str, Any]


def evaluate(registry: Registry, result: TrainResult, mode: str, tolerance: float, min_auc: float = 0.75) -> dict[str, Any]:
    """The gate runs in every mode, so `always` and `never` still record what `auto` would have decided."""
    parent = registry.current()
    tests = run_gate(registry, result, tolerance, min_auc)
    refused = refused_by(tests)
    evaluation: dict[str, Any] = {"candidate_auc": round(result.test_auc, 6), "parent": parent, "promote": mode,
                                  "tolerance": tolerance, "min_auc": min_auc, "rows": len(result.test_records),
                                  "current_auc": tests["new_rows"].get("current_auc"), "tests": tests,
                                  "refused_by": refused}
    gate = verdict(tests)
    if mode == "auto":
        evaluation.update(decision="keep" if refused else "promote", reason=gate)
    else:
        evaluation.update(decision="promote" if mode == "always" else "keep", reason=f"--promote {mode}; {gate}")
    return evaluation


def train_into(registry: Registry, result: TrainResult, data: Dataset, mode: str, tolerance: float,
               min_auc: float = 0.75) -> Outcome:
    evaluation = evaluate(registry, result, mode, tolerance, min_auc)
    staging = registry.staging()
    try:
        manifest = artifact.write(result, data, staging, n_test=len(result.test_labels), extra={"evaluation": evaluation})
        holdout.write(result, data, staging)
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
    """`list`: one line per version, newest first, with its AUCs, which one is served (*) and shadowed (s)."""
    current, shadow, lines = registry.current(), registry.shadow(), []
    manifests = [(v, registry.manifest(v)) for v in registry.versions()]
    for version, manifest in sorted(manifests, key=lambda item: item[1].get("created_at", ""), reverse=True):
        evaluation = manifest.get("evaluation") or {}
        mark = "*" if version == current else "s" if version == shadow else " "
        decision = evaluation.get("decision", "trained with --output-dir")
        refused = f"  refused by {', '.join(evaluation['refused_by'])}" if evaluation.get("refused_by") else ""
        lines.append(f"{mark} {version}  {manifest.get('created_at', '?'):25}  test AUC {manifest['metrics']['test_auc']:.4f}"
                     f"  parent's AUC on the same rows {evaluation.get('current_auc') or '-'}  ({decision}){refused}")
    return lines or [f"(no versions in {registry.root})"]
