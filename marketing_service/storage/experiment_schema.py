"""v8 of the schema (DESIGN §14): which below-target campaign customers the `explore` share drew (offered anyway
unless blocked; they stay out of the report's arms and train the uplift model), and the predicted uplift an
`uplift`-mode campaign targeted by (the report's score in that mode)."""
from __future__ import annotations

# v7 -> v8: the columns added to campaign_rows, as (table, column, type and default).
EXPERIMENT_COLUMNS = (
    ("campaign_rows", "explored", "INTEGER NOT NULL DEFAULT 0"),  # 1: drawn by the explore share
    ("campaign_rows", "uplift", "REAL"),  # predicted churn prevented by an offer (mode = uplift), else NULL
)
