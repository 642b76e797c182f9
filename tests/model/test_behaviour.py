"""Behavioural checks of the trained model as served: invariances and directions a domain expert expects."""
from __future__ import annotations

from pathlib import Path

import pytest

from churn_service.model.artifact import load_artifact
from churn_service.model.scoring import Scorer, build_scorer
from feature_contract import parse_record
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER, ZOOMCAMP_CUSTOMER


@pytest.fixture(scope="module")
def scorer(model_dir: Path) -> Scorer:
    loaded = load_artifact(model_dir / "model.bin")
    return build_scorer(loaded)


def score(scorer: Scorer, raw: dict) -> float:
    return scorer.score_one(parse_record(raw))


def test_spelling_case_and_customerid_do_not_change_the_score(scorer: Scorer) -> None:
    shouted = {k.upper(): (v.upper().replace("_", " ") if isinstance(v, str) else v)
               for k, v in ZOOMCAMP_CUSTOMER.items()}
    assert score(scorer, shouted) == score(scorer, ZOOMCAMP_CUSTOMER)
    assert score(scorer, dict(ZOOMCAMP_CUSTOMER, customerid="A-1")) == score(scorer, ZOOMCAMP_CUSTOMER)


@pytest.mark.parametrize("base", [ZOOMCAMP_CUSTOMER, LIKELY_CHURNER])
def test_longer_contracts_lower_the_risk(scorer: Scorer, base: dict) -> None:
    by_contract = [score(scorer, dict(base, contract=c)) for c in ("month-to-month", "one_year", "two_year")]
    assert by_contract == sorted(by_contract, reverse=True)
    assert by_contract[0] - by_contract[2] > 0.2


def test_loyalty_lowers_the_risk(scorer: Scorer) -> None:
    new, veteran = (score(scorer, dict(ZOOMCAMP_CUSTOMER, tenure=t, totalcharges=29.85 * max(t, 1))) for t in (1, 60))
    assert veteran < new


def test_profiles_sit_where_the_data_says(scorer: Scorer) -> None:
    assert score(scorer, LIKELY_CHURNER) > 0.7
    assert score(scorer, LOYAL_CUSTOMER) < 0.05
