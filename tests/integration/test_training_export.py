"""Retraining from production (DESIGN §13): GET /api/outcomes/training.csv exports labelled customers who got no
offer, with the record scored for the labelled decision, and `python -m train` takes it beside the Telco file.

In process on both back ends: who may read it, what is in it and what is left out. With real gunicorn: the whole
round trip, customers scored through the form API and a campaign, outcomes posted, the CSV downloaded, and a
candidate trained on the Telco file plus the export, judged by the promotion gate against the current model."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feature_contract import model_features, parse_record, parse_record_in_full
from marketing_service.customers.training_export import HEADER, training_csv
from tests.helpers import DATA, Gunicorn, Marketing, api_token, count, customer, run_train
from tests.in_process import admin_token
from tests.integration.campaign_files import finished, telco_csv, upload
from tests.integration.outcome_service import Service, outcome_service, submit
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER

BACKENDS = ("sqlite", "postgres")
EXPORT = "/api/outcomes/training.csv"
QUICK = ("--folds", "2")  # the gate is the point here, not the cross-validation


@pytest.fixture
def service(churn: Gunicorn, new_db: Callable[..., str], tmp_path: Path) -> Iterator[Service]:
    yield from outcome_service(churn, new_db, tmp_path)


def label(service: Service, *outcomes: tuple[str, str, str]) -> None:
    body = {"outcomes": [{"customerid": c, "churned": churned, "observed_at": at} for c, churned, at in outcomes]}
    response = service.post("/api/outcomes", json=body)
    assert response.status_code == 200 and response.json()["unmatched"] == 0, response.text


def exported(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == list(HEADER)
    return list(reader)


def later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_only_a_marketer_or_above_may_download_it(service: Service) -> None:
    anonymous = service.get(EXPORT, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    viewer = service.get(EXPORT, headers={"Authorization": f"Bearer {admin_token(service.app, 'viewer', 'v')}"})
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden"
    marketer = service.get(EXPORT, headers={"Authorization": f"Bearer {admin_token(service.app, 'marketer', 'm')}"})
    assert marketer.status_code == 200 and marketer.headers["Content-Type"].startswith("text/csv")


def test_an_empty_database_gives_the_header_alone(service: Service) -> None:
    response = service.get(EXPORT)
    assert response.status_code == 200 and response.text == ",".join(HEADER) + "\n"
    assert 'filename="training.csv"' in response.headers["Content-Disposition"]


def test_untreated_labels_are_exported_with_the_record_scored_for_them(service: Service) -> None:
    """A loyal customer (no offer) is exported as submitted; a churner who got an offer is not; one submitted
    again after the labelled decision is left out (the record scored for it is gone), until a label joins the
    new decision, which is exported with the new record."""
    loyal, moved = customer(LOYAL_CUSTOMER, "E-LOYAL"), customer({**LOYAL_CUSTOMER, "tenure": 12}, "E-MOVED")
    submit(service, loyal, moved, customer(LIKELY_CHURNER, "E-OFFERED"))
    tomorrow = later(1)
    label(service, ("E-LOYAL", "no", tomorrow), ("E-MOVED", "yes", tomorrow), ("E-OFFERED", "yes", tomorrow))
    assert count(service.db, "SELECT COUNT(*) FROM outcomes WHERE treated = 0") == 2
    rows = exported(service.get(EXPORT).text)
    assert [(r["customerID"], r["Churn"]) for r in rows] == [("E-LOYAL", "No"), ("E-MOVED", "Yes")]
    assert model_features(parse_record(rows[0])) == model_features(parse_record_in_full(loyal))
    assert rows[0]["observed_at"] == tomorrow

    submit(service, {**moved, "tenure": 30})  # the customer changed since the labelled decision
    assert [r["customerID"] for r in exported(service.get(EXPORT).text)] == ["E-LOYAL"]
    label(service, ("E-MOVED", "no", later(2)))  # a label on the new decision carries the new record
    rows = exported(service.get(EXPORT).text)
    assert [(r["customerID"], r["tenure"], r["Churn"]) for r in rows] == [("E-LOYAL", "70", "No"),
                                                                         ("E-MOVED", "30", "No")]


def test_a_campaigns_untreated_rows_are_exported_with_the_rows_own_record(service: Service) -> None:
    """Held-out and below-target customers of a finished campaign got no offer; the offered ones did."""
    response = service.post("/api/campaigns", content_type="multipart/form-data", data={
        "file": (io.BytesIO(telco_csv(40, prefix="C")), "c.csv", "text/csv"), "name": "c", "threshold": "0.3",
        "holdout": "0.5"})
    assert response.status_code == 202, response.text
    service.run_campaigns()
    campaign_id = response.json()["id"]
    results = list(csv.DictReader(io.StringIO(service.get(f"/api/campaigns/{campaign_id}/results.csv").text)))
    assert {"offer", "holdout", "below_target"} <= {r["decision"] for r in results}
    label(service, *((r["customerid"], "yes" if i % 3 == 0 else "no", later(1)) for i, r in enumerate(results)))
    rows = exported(service.get(EXPORT).text)
    assert sorted(r["customerID"] for r in rows) == sorted(r["customerid"] for r in results if r["decision"] != "offer")
    with open(DATA, newline="") as f:  # telco_csv repeats the data set's rows in order under fresh ids
        originals = list(csv.DictReader(f))
    for row in rows:
        original = originals[int(row["customerID"][1:])]
        assert model_features(parse_record(row)) == model_features(parse_record(original)), row["customerID"]


def test_pages_make_no_difference(service: Service) -> None:
    submit(service, *(customer(LOYAL_CUSTOMER, f"P-{i}") for i in range(5)))
    label(service, *((f"P-{i}", "no", later(1)) for i in range(5)))
    conn = service.state.storage.connect()
    try:
        whole = "".join(training_csv(conn))
        assert "".join(training_csv(conn, page=2)) == "".join(training_csv(conn, page=1)) == whole
    finally:
        conn.close()
    assert len(exported(whole)) == 5


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry serving a model trained on the Telco file; each test copies nothing: candidates only add."""
    folder = tmp_path_factory.mktemp("retrain") / "registry"
    done = run_train("--registry", folder, *QUICK)
    assert done.returncode == 0, done.stderr
    return folder


def versions(registry: Path) -> set[str]:
    return {p.name for p in registry.iterdir() if p.is_dir() and not p.name.startswith(".")}


def telco_customers(prefix: str, n: int, start: int) -> list[tuple[dict, str]]:
    """(customer as a client submits it, its Telco Churn label) for `n` rows of the data set from `start`."""
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))[start:start + n]
    return [({**{k: v for k, v in row.items() if k not in ("customerID", "Churn")}, "customerid": f"{prefix}{i:05d}",
              "email": f"{prefix.lower()}{i}@example.com", "name": "R"}, row["Churn"]) for i, row in enumerate(rows)]


@pytest.mark.backends("sqlite")
def test_outcomes_to_a_candidate_judged_by_the_gate(marketing: Marketing, registry: Path, tmp_path: Path) -> None:
    """Scored through the API and a campaign, labelled, exported, trained on with the Telco file: model.json lists
    both files with their rows, the export's being every labelled untreated customer."""
    http, base = marketing.http, marketing.url
    form = telco_customers("RT-F", 300, start=1000)
    untreated: set[str] = set()
    for chunk in range(0, len(form), 100):
        response = http.post(f"{base}/api/customers", json={"customers": [c for c, _ in form[chunk:chunk + 100]]},
                             timeout=60)
        assert response.status_code == 200, response.text
        untreated |= {c["customerid"] for c in response.json()["customers"] if c["offer"] is None}
    campaign = upload(marketing, telco_csv(200, prefix="RTC"), threshold="0.4", holdout="0.5")
    assert campaign.status_code == 202, campaign.text
    finished(marketing, campaign.json()["id"])
    results = list(csv.DictReader(io.StringIO(http.get(f"{base}/api/campaigns/{campaign.json()['id']}/results.csv",
                                                       timeout=30).text)))
    untreated |= {r["customerid"] for r in results if r["decision"] != "offer"}
    with open(DATA, newline="") as f:
        churn_of = [row["Churn"] for row in csv.DictReader(f)]
    start = datetime.now(UTC) + timedelta(days=1)
    labels = [(c["customerid"], churned) for c, churned in form] + [
        (r["customerid"], churn_of[int(r["customerid"][3:]) % len(churn_of)]) for r in results]
    body = "customerid,churned,observed_at\n" + "".join(
        f"{c},{churned},{(start + timedelta(minutes=i)).strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        for i, (c, churned) in enumerate(labels))
    answer = http.post(f"{base}/api/outcomes", data=body, headers={"Content-Type": "text/csv"}, timeout=60).json()
    assert (answer["recorded"], answer["unmatched"]) == (500, 0), answer

    marketer = {"Authorization": f"Bearer {api_token(marketing.db, 'marketer')}"}
    download = http.get(f"{base}{EXPORT}", headers=marketer, timeout=60)
    assert download.status_code == 200, download.text
    rows = exported(download.text)
    assert len(rows) == len(untreated) == count(marketing.db, "SELECT COUNT(*) FROM outcomes WHERE treated = 0")
    assert {r["customerID"] for r in rows} == untreated and 0 < len(untreated) < 500
    export = tmp_path / "production.csv"
    export.write_bytes(download.content)

    current = (registry / "CURRENT").read_text().strip()
    before = versions(registry)
    done = run_train("--data", DATA, "--data", export, "--registry", registry, "--promote", "auto", *QUICK)
    assert done.returncode == 0, done.stdout + done.stderr
    [version] = versions(registry) - before
    assert f"held out the {math.ceil(0.2 * (len(churn_of) + len(rows)))} newest rows (by observed_at)" in done.stdout
    for test in ("new_rows", "current_rows", "min_auc"):
        assert re.search(rf"^  gate {test} +(PASS|FAIL|SKIP): ", done.stdout, re.MULTILINE), done.stdout
    manifest = json.loads((registry / version / "model.json").read_text())
    served = (registry / "CURRENT").read_text().strip()
    if re.search(rf"^PROMOTED: {version} is now served", done.stdout, re.MULTILINE):
        assert served == version and manifest["evaluation"]["decision"] == "promote"
    else:
        assert re.search(rf"^KEPT, NOT PROMOTED: {version} stays in .*; {current} is still served", done.stdout,
                         re.MULTILINE), done.stdout
        assert served == current and manifest["evaluation"]["decision"] == "keep"
    assert manifest["data"] == [
        {"path": str(DATA), "sha256": hashlib.sha256(DATA.read_bytes()).hexdigest(), "rows": len(churn_of)},
        {"path": str(export), "sha256": hashlib.sha256(export.read_bytes()).hexdigest(), "rows": len(untreated)}]
