"""The training export's CSV (DESIGN §13) is the Telco file's layout: the same header, the same spellings, so
`python -m train --data` reads it beside the original and a version's holdout.csv mixes both cleanly."""
from __future__ import annotations

import csv

from feature_contract import CATEGORICAL, FEATURES, model_features, normalise_value, parse_record
from harness import DATA
from marketing_service.customers.training_export import HEADER, TELCO_COLUMNS, telco_row, telco_spelling
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER


def telco() -> tuple[list[str], list[dict[str, str]]]:
    with open(DATA, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def test_the_header_is_the_telco_files_plus_observed_at_and_names_every_feature_once() -> None:
    header, _ = telco()
    assert list(HEADER) == [*header, "observed_at"]
    assert sorted(TELCO_COLUMNS.values()) == sorted(FEATURES)


def test_every_category_of_the_telco_file_is_spelled_back_as_it_was() -> None:
    _, rows = telco()
    by_field = {field: column for column, field in TELCO_COLUMNS.items()}
    for field in CATEGORICAL:
        for spelled in {row[by_field[field]] for row in rows}:
            assert telco_spelling(normalise_value(spelled)) == spelled


def test_a_row_reads_back_through_the_contract_as_the_record_it_was() -> None:
    for record in (LIKELY_CHURNER, LOYAL_CUSTOMER, {**LOYAL_CUSTOMER, "monthlycharges": 20.05, "totalcharges": 0.0}):
        row = dict(zip(HEADER, telco_row("X-1", record, 1, "2026-05-01T00:00:00Z"), strict=True))
        assert row["Churn"] == "Yes" and row["observed_at"] == "2026-05-01T00:00:00Z" and row["customerID"] == "X-1"
        assert model_features(parse_record(row)) == model_features(parse_record(record))
