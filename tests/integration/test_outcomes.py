"""DESIGN §13 on both back ends, in process: every decision keeps churn's prediction_id and its propensity, and
POST /api/outcomes joins each label to the customer's latest decision before it was observed, once."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from harness.postgres import PostgresCluster
from marketing_service.storage.postgres import PostgresStorage
from marketing_service.storage.postgres_schema import postgres_ddl
from marketing_service.storage.schema import VERSION, statements
from tests.helpers import Gunicorn, count, customer, fetch_all
from tests.integration.campaign_files import telco_csv
from tests.integration.outcome_service import Service, outcome_service, submit
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER
from tests.schema_v5 import v5_schema

BACKENDS = ("sqlite", "postgres")


@pytest.fixture
def service(churn: Gunicorn, new_db: Callable[..., str], tmp_path: Path) -> Iterator[Service]:
    yield from outcome_service(churn, new_db, tmp_path)


def decisions(service: Service, customerid: str) -> list[tuple]:
    return fetch_all(service.db, "SELECT id, prediction_id, propensity, treated FROM decisions WHERE customerid = ?"
                     " ORDER BY id", customerid)


def test_form_decisions_keep_churns_prediction_id_and_their_propensity(service: Service) -> None:
    """1 for an offer, 0 below the threshold, 0 in cooldown, 0 for a suppressed address."""
    service.execute(("INSERT INTO suppressions (email, created_at) VALUES (?, ?)", ("p-su@example.com", "2026-01-01")))
    submit(service, customer(LIKELY_CHURNER, "P-CH"), customer(LOYAL_CUSTOMER, "P-LO"), customer(LIKELY_CHURNER, "P-SU"))
    submit(service, customer(LIKELY_CHURNER, "P-CH"))  # again at once: the cooldown refuses a second offer
    ids = [s.prediction_id for s in service.scores]
    assert len(ids) == 4 and len(set(ids)) == 4 and all(ids)
    assert [row[1:] for row in decisions(service, "P-CH")] == [(ids[0], 1.0, 1), (ids[3], 0.0, 0)]
    assert [row[1:] for row in decisions(service, "P-LO")] == [(ids[1], 0.0, 0)]
    assert [row[1:] for row in decisions(service, "P-SU")] == [(ids[2], 0.0, 0)]


def run_campaign(service: Service, rows: int, **settings: str) -> list[dict[str, str]]:
    response = service.post("/api/campaigns", content_type="multipart/form-data", data={
        "file": (io.BytesIO(telco_csv(rows, prefix="Q")), "q.csv", "text/csv"), "name": "q", **settings})
    assert response.status_code == 202, response.text
    service.run_campaigns()
    campaign_id = response.json()["id"]
    assert service.get(f"/api/campaigns/{campaign_id}").json()["status"] == "done"
    text = service.get(f"/api/campaigns/{campaign_id}/results.csv").text
    return list(csv.DictReader(io.StringIO(text)))


def test_campaign_rows_keep_prediction_id_and_propensity_and_results_csv_lists_them(service: Service) -> None:
    results = run_campaign(service, 80, threshold="0.3", holdout="0.25", max_offers="12")
    assert list(results[0])[-2:] == ["prediction_id", "propensity"]
    decided = {r["decision"] for r in results}
    assert {"offer", "holdout", "below_target", "over_budget"} <= decided
    for row in results:
        assert float(row["propensity"]) == (0.75 if row["decision"] in ("offer", "holdout") else 0.0), row
    assert sorted(r["prediction_id"] for r in results) == sorted(str(s.prediction_id) for s in service.scores)
    offered = [r for r in results if r["decision"] == "offer"]  # their form-side decision carries the same numbers
    for row in offered:
        assert [r[1:] for r in decisions(service, row["customerid"])] == [(row["prediction_id"], 0.75, 1)]


def outcomes(service: Service, payload: dict | str) -> dict:
    kwargs = {"json": payload} if isinstance(payload, dict) else {"data": payload, "content_type": "text/csv"}
    response = service.post("/api/outcomes", **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_outcome_joins_the_latest_decision_before_it_was_observed_once(service: Service) -> None:
    submit(service, customer(LIKELY_CHURNER, "O-1"), customer(LOYAL_CUSTOMER, "O-2"))
    submit(service, customer(LIKELY_CHURNER, "O-1"))
    first, second = (row[0] for row in decisions(service, "O-1"))
    move = "UPDATE decisions SET decided_at = ? WHERE id = ?"
    service.execute((move, ("2026-01-01T00:00:00Z", first)), (move, ("2026-03-01T00:00:00Z", second)),
                    ("UPDATE decisions SET decided_at = ? WHERE customerid = ?", ("2026-01-01T00:00:00Z", "O-2")))
    body = {"outcomes": [{"customerid": "O-1", "churned": "yes", "observed_at": "2026-02-01T01:00:00+01:00"},
                         {"customerid": "O-2", "churned": False, "observed_at": "2025-12-31T23:59:59Z"},  # before it
                         {"customerid": "NEVER-SCORED", "churned": 1},
                         {"customerid": "O-2", "churned": "maybe"}]}
    answer = outcomes(service, body)
    assert (answer["recorded"], answer["unmatched"]) == (1, 2)
    assert answer["rejected"] == [{"index": 3, "field": "churned", "message": "must be yes/no, 1/0 or true/false"}]
    stored = "SELECT source, decision_ref, churned, observed_at FROM outcomes WHERE customerid = 'O-1'"
    assert fetch_all(service.db, stored) == [("form", first, 1, "2026-02-01T00:00:00Z")]
    assert outcomes(service, body) == answer  # the same again: nothing new
    assert count(service.db, "SELECT COUNT(*) FROM outcomes") == 1
    csv_answer = outcomes(service, "CustomerID,Churned,observed_at\nO-1,no,2026-03-02T00:00:00Z\nO-2,1,\n,1,\n")
    assert (csv_answer["recorded"], csv_answer["unmatched"]) == (2, 0)
    assert csv_answer["rejected"] == [{"line": 4, "field": "customerid", "message": "is required"}]
    assert fetch_all(service.db, "SELECT decision_ref, churned FROM outcomes WHERE customerid = 'O-1' ORDER BY id") == [
        (first, 1), (second, 0)]


def test_campaign_outcomes_are_the_same_data(service: Service) -> None:
    results = run_campaign(service, 40, threshold="0.3", holdout="0.5")
    holdout = next(r["customerid"] for r in results if r["decision"] == "holdout")
    below = next(r["customerid"] for r in results if r["decision"] == "below_target")
    campaign_id = service.get("/api/campaigns").json()["campaigns"][0]["id"]
    answer = outcomes(service, f"customerid,churned,observed_at\n{holdout},yes,2100-01-01T00:00:00Z\n")
    assert answer["recorded"] == 1
    assert fetch_all(service.db, "SELECT churned FROM campaign_rows WHERE customerid = ?", holdout) == [(1,)]
    response = service.post(f"/api/campaigns/{campaign_id}/outcomes", data=f"customerid,churned\n{below},no\n",
                            content_type="text/csv")
    assert response.status_code == 200 and response.json()["matched"] == 1
    assert fetch_all(service.db, "SELECT customerid, source, decision_ref, propensity, treated FROM outcomes"
                     " ORDER BY customerid") == sorted([(holdout, "campaign", campaign_id, 0.5, 0),
                                                        (below, "campaign", campaign_id, 0.0, 0)])


@pytest.mark.parametrize(("kwargs", "status", "field"), [
    ({"json": {"outcomes": []}}, 422, "outcomes"),
    ({"json": {"outcome": [{"customerid": "O-1", "churned": 1}]}}, 422, "outcomes"),
    ({"json": [{"customerid": "O-1", "churned": 1}]}, 422, "outcomes"),
    ({"data": "{not json", "content_type": "application/json"}, 400, None),
    ({"data": "id,churned\nO-1,1\n", "content_type": "text/csv"}, 422, "file"),
    ({"data": b"customerid,churned\nO-1,1\n\"O-2,1\n" + b"\xff\xfe\n", "content_type": "text/csv"}, 422, "file"),
    ({"data": {"other": (b"customerid,churned\nO-1,1\n", "o.csv")}, "content_type": "multipart/form-data"},
     422, "file"),
])
def test_unusable_outcomes_get_a_clear_4xx_and_store_nothing(service: Service, kwargs: dict, status: int,
                                                             field: str | None) -> None:
    submit(service, customer(LIKELY_CHURNER, "O-1"))
    if isinstance(kwargs.get("data"), dict):  # a fresh file object per run: each back end's case reads its own
        kwargs = {**kwargs, "data": {k: (io.BytesIO(body), name) for k, (body, name) in kwargs["data"].items()}}
    response = service.post("/api/outcomes", **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and (field is None or error["details"][0]["field"] == field)
    assert count(service.db, "SELECT COUNT(*) FROM outcomes") == 0


def test_a_v5_postgresql_database_migrates_to_v6(postgres_cluster: PostgresCluster) -> None:
    """The PostgreSQL step of v6 on a database as v5 left it (tests/unit's v5 schema, translated)."""
    url = postgres_cluster.create_database()
    with psycopg.connect(url, autocommit=True) as pg:
        for statement in statements(postgres_ddl(v5_schema())):
            pg.execute(statement)
        pg.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        pg.execute("INSERT INTO schema_version (version) VALUES (5)")
        pg.execute("INSERT INTO customers (customerid, email, features, status, created_at, updated_at)"
                   " VALUES ('A', 'x@y.org', '{}', 'scored', 't', 't')")
        pg.execute("INSERT INTO decisions (customerid, churn_probability, churn, model_version, decided_at)"
                   " VALUES ('A', 0.5, 1, 'v1', 'T1')")
    storage = PostgresStorage(url, 15_000, 2)
    try:
        storage.init_db()
    finally:
        storage.close()
    assert fetch_all(url, "SELECT version FROM schema_version ORDER BY version") == [(v,) for v in range(5, VERSION + 1)]
    assert fetch_all(url, "SELECT prediction_id, propensity, treated FROM decisions") == [(None, 0.0, 0)]
    assert count(url, "SELECT COUNT(*) FROM outcomes") == 0
