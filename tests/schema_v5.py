"""The schema as version 5 left it, for the tests that migrate such a database to the latest (SQLite and PostgreSQL)."""
from __future__ import annotations

import re

from marketing_service.storage.experiment_schema import EXPERIMENT_COLUMNS
from marketing_service.storage.mail_schema import MAIL_INDEXES
from marketing_service.storage.outcome_schema import OUTCOME_COLUMNS, OUTCOMES
from marketing_service.storage.schema import SCHEMA
from marketing_service.storage.shadow_schema import SHADOW


def v5_schema() -> str:
    """Today's SCHEMA without v6's outcomes table and columns, v7's shadow tables (DESIGN §13) nor v8's experiment
    columns (§14), with v5's indexes."""
    v5 = SCHEMA.replace(SHADOW, "").replace(OUTCOMES, "")
    for _, column, _ in OUTCOME_COLUMNS + EXPERIMENT_COLUMNS:
        v5 = re.sub(rf"\n\s+{column}\s[^\n]*,(?=\n)|,\n\s+{column}\s[^\n]*(?=\n\))", "", v5)
    assert "prediction_id" not in v5 and "propensity" not in v5 and "explored" not in v5
    assert "outcomes" not in v5.replace("outcome_uploads", "")
    return v5 + MAIL_INDEXES
