"""`churn_model_test_auc` reads `metrics.test_auc`, which the load-time manifest check does not look at: a
missing or garbled value costs the sample, never the scrape."""
from __future__ import annotations

import math
from typing import Any

import pytest

from churn_service.web.model_metrics import manifest_test_auc


@pytest.mark.parametrize(("manifest", "expected"), [
    ({"metrics": {"test_auc": 0.842}}, 0.842),
    ({"metrics": {"test_auc": 1}}, 1.0),
    ({}, None),
    ({"metrics": None}, None),
    ({"metrics": {"test_auc": "0.84"}}, None),
    ({"metrics": {"test_auc": True}}, None),
    ({"metrics": {"test_auc": math.nan}}, None),
    ({"metrics": {"test_auc": math.inf}}, None),
    ({"metrics": {"test_auc": 1.2}}, None),
    ({"metrics": {"test_auc": 10 ** 400}}, None),
])
def test_only_an_auc_becomes_a_sample(manifest: dict[str, Any], expected: float | None) -> None:
    assert manifest_test_auc(manifest) == expected
