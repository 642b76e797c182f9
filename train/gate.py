"""The promotion gate of DESIGN §13: the three tests `--promote auto` asks of a candidate.

- new_rows: on the new data's held-out rows, candidate AUC >= current AUC - tolerance (the §7 rule).
- current_rows: the same on the current model's own held-out rows (its holdout.csv). Labels without
  signal (a shuffled Churn column) make every model score about 0.5 on the new rows, so new_rows alone
  lets such a candidate through; on real rows it has to rank real churners.
- min_auc: candidate AUC >= --min-auc on both sets of rows, so even the first model must be useful.
Each test is passed (True), failed (False) or skipped (None, with the reason) and says why in `detail`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import roc_auc_score

from train import holdout
from train.pipeline import TrainResult, score
from train.registry import Registry, RegistryError

TESTS = ("new_rows", "current_rows", "min_auc")


def _served(registry: Registry, version: str) -> tuple[Any, Any]:
    """The current model loaded as the service loads it (verified), so the gate judges what is served."""
    from churn_service.model.artifact import ArtifactError, load_artifact

    try:
        served = load_artifact(registry.root / version / "model.bin")
    except ArtifactError as exc:
        raise RegistryError(f"the current model {version} cannot be evaluated: {exc}") from None
    return served.estimators()  # the real scikit-learn pair: the gate scores with predict_proba


def _auc(dv: Any, model: Any, records: Sequence[dict[str, Any]], labels: Any) -> float:
    return round(float(roc_auc_score(labels, score(dv, model, records))), 6)


def _compare(candidate: float, current: float, tolerance: float, rows: str) -> dict[str, Any]:
    passed = candidate >= current - tolerance
    sign = ">=" if passed else "<"
    return {"passed": passed, "candidate_auc": candidate, "current_auc": current,
            "detail": f"candidate AUC {candidate:.4f} {sign} current {current:.4f} - tolerance {tolerance:g} on {rows}"}


def run_gate(registry: Registry, result: TrainResult, tolerance: float, min_auc: float) -> dict[str, dict[str, Any]]:
    """Every test's result, keyed by TESTS; `evaluate` turns them into a decision."""
    parent = registry.current()
    new_rows = f"the new data's {len(result.test_records)} held-out rows"
    candidate_new = round(result.test_auc, 6)
    tests: dict[str, dict[str, Any]] = {}
    candidate_old: float | None = None
    if parent is None:
        tests["new_rows"] = {"passed": None, "detail": "the registry serves no model yet"}
        tests["current_rows"] = {"passed": None, "detail": "the registry serves no model yet"}
    else:
        dv, model = _served(registry, parent)
        tests["new_rows"] = _compare(candidate_new, _auc(dv, model, result.test_records, result.test_labels), tolerance,
                                     new_rows)
        tests["new_rows"]["rows"] = len(result.test_records)
        rows = holdout.read(registry.root / parent)
        if rows is None:
            tests["current_rows"] = {"passed": None, "detail": f"{parent} has no {holdout.HOLDOUT} "
                                                               "(trained before versions kept their held-out rows)"}
        else:
            candidate_old = _auc(result.dv, result.model, rows.records, rows.labels)
            tests["current_rows"] = _compare(candidate_old, _auc(dv, model, rows.records, rows.labels), tolerance,
                                             f"{parent}'s {len(rows.labels)} held-out rows in {holdout.HOLDOUT}")
            tests["current_rows"]["rows"] = len(rows.labels)
    lowest = min(a for a in (candidate_new, candidate_old) if a is not None)
    on = "on the new rows" if candidate_old is None else "of the new rows and the current model's rows"
    passed = lowest >= min_auc
    tests["min_auc"] = {"passed": passed, "min_auc": min_auc, "candidate_auc": lowest,
                        "detail": f"candidate AUC {lowest:.4f} {'>=' if passed else '<'} --min-auc {min_auc:g}, "
                                  f"the lower {on}"}
    return tests


def refused_by(tests: dict[str, dict[str, Any]]) -> list[str]:
    return [name for name in TESTS if tests[name]["passed"] is False]


def verdict(tests: dict[str, dict[str, Any]]) -> str:
    """One line for the decision: which tests refused the candidate and why, and which were skipped."""
    refused = refused_by(tests)
    said = ("refused by " + "; ".join(f"{name}: {tests[name]['detail']}" for name in refused)) if refused else "passes the gate"
    skipped = [f"{name} skipped: {tests[name]['detail']}" for name in TESTS if tests[name]["passed"] is None]
    return said + (f" ({'; '.join(skipped)})" if skipped else "")
