"""The uplift model of DESIGN §14 (campaigns/uplift_model.py): its numpy logistic regression is scikit-learn's,
the T-learner recovers a known heterogeneous effect, it learns only from the offered and the not offered (holdout,
undrawn below-target customers: never suppressed, cooldown, over-budget or drawn-but-blocked rows), and a thin
history is refused by name, at creation and when the campaign is decided."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from feature_contract import CATEGORICAL
from marketing_service.campaigns import uplift_model
from marketing_service.campaigns.processing import finish
from marketing_service.campaigns.settings import CampaignSettings
from marketing_service.campaigns.uplift_model import MIN_PER_ARM, Encoder, NotEnoughHistory, fit_uplift, raw_matrix
from marketing_service.offers.rules import OfferRules
from marketing_service.storage.sqlite import SqliteStorage


def customers(n: int, rng: np.random.Generator) -> list[dict]:
    """Records of the contract's shape, every category and number drawn at random."""
    columns = {field: rng.choice(allowed, n) for field, allowed in CATEGORICAL.items()}
    tenure, monthly = rng.integers(0, 73, n), rng.uniform(18, 120, n)
    senior = rng.integers(0, 2, n)
    return [{**{f: str(v[i]) for f, v in columns.items()}, "seniorcitizen": int(senior[i]), "tenure": int(tenure[i]),
             "monthlycharges": float(monthly[i]), "totalcharges": float(monthly[i] * tenure[i])} for i in range(n)]


def logits(records: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(churn log-odds without an offer, the offer's change to them): the offer helps one-year and DSL
    customers, and does nothing for month-to-month fiber customers."""
    base = np.array([-1.5 + 1.2 * (r["contract"] == "month-to-month") + 0.8 * (r["internetservice"] == "fiber_optic")
                     - 0.02 * r["tenure"] for r in records])
    effect = np.array([-1.6 * (r["contract"] == "one_year") - 1.0 * (r["internetservice"] == "dsl") for r in records])
    return base, effect


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("c", [0.05, 1.0, 20.0])
def test_the_numpy_regression_is_scikit_learns_l2_logistic_regression(c: float) -> None:
    rng = np.random.default_rng(3)
    records = customers(3000, rng)
    raw = raw_matrix(records)
    X = Encoder.fit(raw).transform(raw)  # the one-hot columns are collinear with the intercept: L2 settles it
    y = (rng.random(len(X)) < sigmoid(X[:, 0] - 0.7 * X[:, 2] + X[:, 6] - 0.5)).astype(float)
    ours = uplift_model.predict_logistic(uplift_model.fit_logistic(X, y, c), X)
    reference = LogisticRegression(C=c, tol=1e-12, max_iter=100_000).fit(X, y).predict_proba(X)[:, 1]
    assert np.max(np.abs(ours - reference)) < 1e-4


def test_the_t_learner_recovers_a_known_heterogeneous_effect() -> None:
    rng = np.random.default_rng(11)
    records = customers(40_000, rng)
    base, effect = logits(records)
    offered = rng.random(len(records)) < 0.5
    churned = rng.random(len(records)) < sigmoid(base + effect * offered)
    model = fit_uplift(records, offered, churned)
    test = customers(5000, np.random.default_rng(12))
    test_base, test_effect = logits(test)
    truth = sigmoid(test_base) - sigmoid(test_base + test_effect)
    predicted = model.predict(test)
    assert np.corrcoef(truth, predicted)[0, 1] > 0.9
    assert np.mean(np.abs(predicted - truth)) < 0.03
    none = np.array([r["contract"] != "one_year" and r["internetservice"] != "dsl" for r in test])
    assert abs(predicted[none].mean()) < 0.02 and predicted[~none].mean() > 0.1


def test_an_arm_under_200_labelled_customers_is_refused_with_the_counts() -> None:
    records = customers(MIN_PER_ARM + 37, np.random.default_rng(1))
    offered = np.arange(len(records)) < 37
    with pytest.raises(NotEnoughHistory, match="at least 200 labelled customers in each arm from past campaigns;"
                                               " there are 37 offered and 200 not offered"):
        fit_uplift(records, offered, np.zeros(len(records)))


@pytest.fixture()
def storage(tmp_path: Path) -> SqliteStorage:
    opened = SqliteStorage(tmp_path / "marketing.db", 5000)
    opened.init_db()
    return opened


def add_campaign(storage: SqliteStorage, settings: CampaignSettings, rows: list[tuple], explored: int = 0) -> int:
    """A campaign whose rows are scored; rows are (customerid, features, decision, churned), all stored with
    `explored`."""
    conn = storage.connect()
    with conn.transaction():
        campaign_id = int(conn.execute("INSERT INTO campaigns (name, status, settings, created_at, updated_at)"
                                       " VALUES ('t', 'running', ?, 'now', 'now') RETURNING id",
                                       (json.dumps(settings.as_dict()),)).fetchone()[0])
        conn.executemany(
            "INSERT INTO campaign_rows (campaign_id, line, customerid, name, email, features, scored, churn_probability,"
            " churn, expected_value, model_version, decision, churned, explored)"
            " VALUES (?, ?, ?, '', ?, ?, 1, 0.5, 1, 0, 'v1', ?, ?, ?)",
            [(campaign_id, i + 2, c, f"{c}@example.com", json.dumps(f), d, y, explored)
             for i, (c, f, d, y) in enumerate(rows)])
    conn.close()
    return campaign_id


def test_an_uplift_campaign_is_decided_by_the_model_fitted_at_finish_or_fails_naming_the_counts(
        storage: SqliteStorage) -> None:
    settings = CampaignSettings(mode="uplift", holdout=0.0, offer_cost=5.0)
    rng = np.random.default_rng(8)
    thin = add_campaign(storage, settings, [(f"N{i}", r, None, None) for i, r in enumerate(customers(50, rng))])
    conn = storage.connect()
    assert finish(conn, thin, settings, OfferRules("retention"))
    failed = conn.execute("SELECT status, last_error FROM campaigns WHERE id = ?", (thin,)).fetchone()
    assert failed[0] == "failed" and "there are 0 offered and 0 not offered" in failed[1]

    history = customers(3000, rng)
    base, effect = logits(history)
    offered = rng.random(len(history)) < 0.5
    churned = rng.random(len(history)) < sigmoid(base + effect * offered)
    add_campaign(storage, settings, [(f"H{i}", r, "offer" if o else "holdout", int(y))
                                     for i, (r, o, y) in enumerate(zip(history, offered, churned, strict=True))])
    assert uplift_model.arm_counts(conn) == (int(offered.sum()), int((~offered).sum()))
    new = customers(400, rng)
    campaign = add_campaign(storage, settings, [(f"U{i}", r, None, None) for i, r in enumerate(new)])
    assert finish(conn, campaign, settings, OfferRules("retention"))
    stored = conn.execute("SELECT customerid, decision, uplift, expected_value, features FROM campaign_rows"
                          " WHERE campaign_id = ? ORDER BY line", (campaign,)).fetchall()
    conn.close()
    predicted = uplift_model.from_history(storage.connect()).predict(new)
    assert [r["uplift"] for r in stored] == pytest.approx(list(predicted))
    for r in stored:
        value = r["uplift"] * json.loads(r["features"])["monthlycharges"] * 12 - 5
        assert r["expected_value"] == pytest.approx(value)
        assert r["decision"] == ("offer" if value > 0 else "below_target")
    assert 0 < sum(r["decision"] == "offer" for r in stored) < len(stored)


def test_only_the_offered_and_the_truly_not_offered_teach_the_model(storage: SqliteStorage) -> None:
    """Suppressed (picked by unsubscribing), cooldown (offered by another campaign: treated in fact), over-budget
    and drawn-but-blocked below-target rows are in neither arm: all churned here, they would inflate
    P(churn | not offered) and so every predicted uplift, yet neither the counts nor the fit move."""
    settings = CampaignSettings(mode="uplift", holdout=0.2)
    rng = np.random.default_rng(21)
    history = customers(2000, rng)
    base, effect = logits(history)
    offered = rng.random(len(history)) < 0.5
    churned = rng.random(len(history)) < sigmoid(base + effect * offered)
    below = rng.random(len(history)) < 0.5  # half the not offered were below target, half held out
    add_campaign(storage, settings, [(f"H{i}", r, "offer" if o else ("below_target" if b else "holdout"), int(y))
                                     for i, (r, o, b, y) in enumerate(zip(history, offered, below, churned, strict=True))])
    conn = storage.connect()
    counts, model = uplift_model.arm_counts(conn), uplift_model.from_history(conn)
    assert counts == (int(offered.sum()), int((~offered).sum()))

    blocked = customers(1200, rng)
    decisions = ("suppressed", "cooldown", "over_budget")
    add_campaign(storage, settings, [(f"B{i}", r, decisions[i % 3], 1) for i, r in enumerate(blocked[:900])])
    add_campaign(storage, settings, [(f"D{i}", r, "below_target", 1) for i, r in enumerate(blocked[900:])], explored=1)
    assert uplift_model.arm_counts(conn) == counts
    test = customers(2000, np.random.default_rng(22))
    assert np.array_equal(uplift_model.from_history(conn).predict(test), model.predict(test))
    conn.close()

    # What they would have done in the not-offered arm: a visibly different model.
    biased = fit_uplift([*history, *blocked], np.concatenate([offered, np.zeros(len(blocked), bool)]),
                        np.concatenate([churned, np.ones(len(blocked))]))
    assert biased.predict(test).mean() > model.predict(test).mean() + 0.1
