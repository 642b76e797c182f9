"""`prediction_id` (DESIGN §13) as made (web/prediction_ids.py) and as marketing's churn client reads it."""
from __future__ import annotations

import uuid

import pytest

from churn_service.web.prediction_ids import prediction_ids
from marketing_service.churn_client import ChurnUnavailable, _score


@pytest.mark.parametrize("count", [1, 2, 10_000])
def test_each_id_is_a_fresh_uuid4_in_hex(count: int) -> None:
    ids = prediction_ids(count) + prediction_ids(count)
    assert len(set(ids)) == 2 * count
    for value in ids[:50]:
        parsed = uuid.UUID(hex=value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and parsed.hex == value


def test_the_client_reads_the_id_and_goes_on_without_one() -> None:
    answer = {"churn_probability": 0.7, "churn": True, "prediction_id": "ab" * 16}
    assert _score(answer, "v1").prediction_id == "ab" * 16
    assert _score({"churn_probability": 0.7, "churn": True}, "v1").prediction_id is None  # an older churn
    for odd in (7, "", "x" * 65, None, ["a"]):
        assert _score({**answer, "prediction_id": odd}, "v1").prediction_id is None
    with pytest.raises(ChurnUnavailable):
        _score({"prediction_id": "ab" * 16}, "v1")  # an id never stands in for a score
