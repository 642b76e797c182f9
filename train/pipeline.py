"""The ML Zoomcamp ch. 5 recipe: 80/20 split, K-fold CV on the 80%, final fit, AUC on the 20%.

The 20% is random, except when rows carry `observed_at`: then it is the newest rows (DESIGN §13), so the
promotion gate asks how a model does on what came last, as production will.
"""
from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, train_test_split

from train.data import Dataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainParams:
    C: float = 1.0
    folds: int = 5
    seed: int = 1


@dataclass
class TrainResult:
    dv: DictVectorizer
    model: LogisticRegression
    fold_aucs: list[float]
    test_auc: float
    train_records: list[dict[str, Any]]
    test_records: list[dict[str, Any]]
    test_labels: np.ndarray
    test_scores: np.ndarray
    test_index: np.ndarray  # rows of the data set held out, in the order of test_records (for holdout.csv)

    @property
    def cv_auc_mean(self) -> float:
        return float(np.mean(self.fold_aucs))

    @property
    def cv_auc_std(self) -> float:
        return float(np.std(self.fold_aucs))


def fit(records: Sequence[dict[str, Any]], labels: np.ndarray, C: float) -> tuple[DictVectorizer, LogisticRegression]:
    dv = DictVectorizer(sparse=False)
    X = dv.fit_transform(records)
    model = LogisticRegression(C=C, max_iter=1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, labels)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        # Expected with the recipe's unscaled totalcharges; the AUC is unaffected, so say it once, quietly.
        log.info("  (lbfgs stopped at max_iter=1000 before full convergence, as in the course recipe)")
    return dv, model


def score(dv: DictVectorizer, model: LogisticRegression, records: Sequence[dict[str, Any]]) -> np.ndarray:
    return model.predict_proba(dv.transform(records))[:, 1]


def holdout_split(data: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row numbers: the newest 20% held out when any row is dated (undated rows count as
    older than every dated one: the original file, before production's outcomes), else a seeded 20%."""
    index = np.arange(len(data.records))
    if not data.dated:
        full_train, test = train_test_split(index, test_size=0.2, random_state=seed)
        return full_train, test
    n_test = math.ceil(0.2 * len(index))
    oldest_first = sorted(index, key=lambda i: (0.0, 0.0) if (when := data.observed_at[i]) is None else (1.0, when.timestamp()))
    ordered = np.asarray(oldest_first)
    return ordered[:-n_test], ordered[-n_test:]


def run(data: Dataset, params: TrainParams) -> TrainResult:
    """Cross-validate, then fit on the whole 80% and evaluate once on the held-out 20%."""
    labels = np.asarray(data.labels)
    full_train, test = holdout_split(data, params.seed)
    if data.dated:
        log.info("held out the %d newest rows (by observed_at)", len(test))
    records = np.asarray(data.records, dtype=object)
    fold_aucs: list[float] = []
    kfold = KFold(n_splits=params.folds, shuffle=True, random_state=params.seed)
    for n, (fit_part, val_part) in enumerate(kfold.split(full_train), start=1):
        fit_idx, val_idx = full_train[fit_part], full_train[val_part]
        dv, model = fit(list(records[fit_idx]), labels[fit_idx], params.C)
        auc = float(roc_auc_score(labels[val_idx], score(dv, model, list(records[val_idx]))))
        fold_aucs.append(auc)
        log.info("fold %d/%d: AUC %.4f", n, params.folds, auc)
    log.info("CV AUC %.4f ± %.4f (C=%s, %d folds)", np.mean(fold_aucs), np.std(fold_aucs), params.C, params.folds)
    train_records = list(records[full_train])
    dv, model = fit(train_records, labels[full_train], params.C)
    test_records = list(records[test])
    test_scores = score(dv, model, test_records)
    test_auc = float(roc_auc_score(labels[test], test_scores))
    log.info("test AUC %.4f on %d held-out customers", test_auc, len(test))
    return TrainResult(dv, model, fold_aucs, test_auc, train_records, test_records, labels[test], test_scores, test)
