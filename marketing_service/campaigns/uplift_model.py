"""The uplift model of `mode = uplift` (DESIGN §14): a two-model (T-learner) logistic regression trained on the
labelled customers of past campaigns, one model on those offered (`offer`, explored ones included) and one on
those not offered: the holdout, and the below-target customers not drawn into the explore share (OFFERED and
NOT_OFFERED below). Predicted uplift = P(churn | not offered) − P(churn | offered): the churn an offer prevents.

Left out of both arms: `suppressed` (picked by unsubscribing, which the features do not see), `cooldown` (an offer
from another campaign in the last 30 days: treated in fact), `over_budget`, and below-target customers drawn into
the explore share but blocked (`below_target` with `explored = 1`: suppressed or in cooldown, as above). The
undrawn below-target customers are a random share of all below-target ones (the hash), blocked or not.

Features are churn's (feature_contract), encoded as churn's DictVectorizer sees them, categories one-hot,
with the numbers (seniorcitizen included, a number to DictVectorizer) standardised on the history so one C
suits them all. The regressions are L2-regularised as scikit-learn's LogisticRegression(C) (intercept not
penalised) and fitted by Newton's method (IRLS) in numpy, since the marketing image has no scikit-learn.
Conditioning on the features is what makes the two arms comparable: who got an offer was decided by the
score, a function of these same features, plus the hash draws (holdout, explore), which are random.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from feature_contract import BINARY, CATEGORICAL, NUMERIC
from marketing_service.storage import Connection

MIN_PER_ARM = 200
C = 1.0  # inverse L2 strength, scikit-learn's default; the features are standardised, so it is mild
NUMBERS = (*BINARY, *NUMERIC)
# The two arms, defined once: the fit (from_history) and the count (arm_counts, the 200-per-arm check) use these.
OFFERED = "decision = 'offer'"
NOT_OFFERED = "(decision = 'holdout' OR (decision = 'below_target' AND explored = 0))"
# Labelled rows of every campaign in either arm; the campaign being decided has no outcomes yet (they come after
# `done`).
LABELLED = f"FROM campaign_rows WHERE churned IS NOT NULL AND ({OFFERED} OR {NOT_OFFERED})"


class NotEnoughHistory(ValueError):
    def __init__(self, offered: int, not_offered: int):
        super().__init__(f"mode uplift needs at least {MIN_PER_ARM} labelled customers in each arm from past campaigns;"
                         f" there are {offered} offered and {not_offered} not offered")
        self.offered, self.not_offered = offered, not_offered


def check_arms(offered: int, not_offered: int) -> None:
    if min(offered, not_offered) < MIN_PER_ARM:
        raise NotEnoughHistory(offered, not_offered)


def raw_matrix(records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The numbers, then one column per category value (DictVectorizer's one-hot), column by column for speed."""
    columns = [np.array([float(r[field]) for r in records]) for field in NUMBERS]
    for field, allowed in CATEGORICAL.items():
        values = np.array([r[field] for r in records], dtype=object)
        columns.extend((values == value).astype(float) for value in allowed)
    return np.column_stack(columns) if records else np.zeros((0, len(columns)))


@dataclass(frozen=True)
class Encoder:
    mean: np.ndarray  # of the number columns, on the training rows
    scale: np.ndarray

    @classmethod
    def fit(cls, raw: np.ndarray) -> Encoder:
        numbers = raw[:, :len(NUMBERS)]
        scale = numbers.std(axis=0)
        return cls(numbers.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def transform(self, raw: np.ndarray) -> np.ndarray:
        encoded = raw.copy()
        encoded[:, :len(NUMBERS)] = (raw[:, :len(NUMBERS)] - self.mean) / self.scale
        return encoded


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))  # no overflow for any z


def fit_logistic(X: np.ndarray, y: np.ndarray, c: float = C, tol: float = 1e-10, max_iter: int = 100) -> np.ndarray:
    """[intercept, weights] minimising c · Σ log-loss + ½ ‖weights‖² (scikit-learn's objective for penalty='l2'),
    by Newton steps with backtracking; the objective is strictly convex, so a handful of steps converge."""
    Xi = np.column_stack([np.ones(len(X)), X])
    penalty = np.ones(Xi.shape[1])
    penalty[0] = 0.0

    def objective(w: np.ndarray) -> float:
        z = Xi @ w
        return float(c * np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * w * w))

    w = np.zeros(Xi.shape[1])
    current = objective(w)
    for _ in range(max_iter):
        p = sigmoid(Xi @ w)
        gradient = c * (Xi.T @ (p - y)) + penalty * w
        hessian = c * (Xi.T * (p * (1 - p))) @ Xi + np.diag(penalty + 1e-12)  # 1e-12: an arm with one label
        step = np.linalg.solve(hessian, gradient)
        decrement = float(gradient @ step)  # Newton's decrement², the expected fall is half of it
        if decrement / 2 <= tol:
            break
        t = 1.0
        while (trial := objective(w - t * step)) > current - 0.25 * t * decrement and t > 1e-10:
            t /= 2
        w, current = w - t * step, trial
    return w


def predict_logistic(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    return sigmoid(w[0] + X @ w[1:])


@dataclass(frozen=True)
class UpliftModel:
    encoder: Encoder
    offered: np.ndarray  # weights of P(churn | offered)
    not_offered: np.ndarray  # weights of P(churn | not offered)

    def predict(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The predicted uplift of each customer: the drop in churn probability an offer brings."""
        X = self.encoder.transform(raw_matrix(records))
        return predict_logistic(self.not_offered, X) - predict_logistic(self.offered, X)


def fit_uplift(records: Sequence[Mapping[str, Any]], offered: np.ndarray, churned: np.ndarray,
               c: float = C) -> UpliftModel:
    """The T-learner on labelled customers; NotEnoughHistory when either arm has fewer than MIN_PER_ARM."""
    offered, churned = np.asarray(offered, dtype=bool), np.asarray(churned, dtype=float)
    check_arms(int(offered.sum()), int((~offered).sum()))
    raw = raw_matrix(records)
    encoder = Encoder.fit(raw)
    X = encoder.transform(raw)
    return UpliftModel(encoder, fit_logistic(X[offered], churned[offered], c),
                       fit_logistic(X[~offered], churned[~offered], c))


def arm_counts(conn: Connection) -> tuple[int, int]:
    """(offered, not offered) labelled customers of past campaigns in the arms from_history fits on: what a
    campaign in uplift mode may learn from."""
    row = conn.execute(f"SELECT COUNT(*) FILTER (WHERE {OFFERED}), COUNT(*) FILTER (WHERE NOT {OFFERED}) {LABELLED}").fetchone()
    return int(row[0] or 0), int(row[1] or 0)


def from_history(conn: Connection) -> UpliftModel:
    """The model fitted on every labelled campaign row at this moment, in a fixed order (deterministic given
    the data); NotEnoughHistory when an arm is too small."""
    check_arms(*arm_counts(conn))
    rows = conn.execute(f"SELECT features, {OFFERED}, churned {LABELLED} ORDER BY campaign_id, customerid").fetchall()
    return fit_uplift([json.loads(r[0]) for r in rows], np.array([bool(r[1]) for r in rows]),
                      np.array([r[2] for r in rows], dtype=float))
