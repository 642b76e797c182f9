"""A campaign survives what production does to it: a worker killed with SIGKILL mid-campaign, and churn
stopping mid-campaign. Every accepted row ends with exactly one decision, and no offer is made twice."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import Gunicorn, Marketing, count, wait_for, worker_pids
from tests.integration.campaign_files import finished, telco_csv, upload

BACKENDS = ("sqlite", "postgres")  # each storage test runs on both (integration/conftest.py)

ROWS = 20_000  # seconds of work: long enough to be stopped mid-way
BUDGET = "600"  # offers (and emails) per campaign: enough to count, few enough to write quickly


def status_of(server: Marketing, campaign_id: int) -> dict:
    # A connection per poll, as a plain script makes them: a kept-alive one may lead to a killed worker.
    return server.http.get(f"{server.url}/api/campaigns/{campaign_id}", headers={"Connection": "close"}, timeout=5).json()


def assert_decided_exactly_once(server: Marketing, campaign_id: int) -> dict:
    status = finished(server, campaign_id, timeout=180)
    db, label = server.db, f"campaign-{campaign_id}"
    assert count(db, "SELECT COUNT(*) FROM campaign_rows WHERE campaign_id = ? AND decision IS NOT NULL", campaign_id) \
        == status["accepted"] == ROWS
    assert count(db, "SELECT COUNT(*) FROM offers WHERE campaign = ?", label) == status["offers"] > 0
    assert count(db, "SELECT COUNT(*) FROM campaign_rows WHERE campaign_id = ? AND decision = 'offer'"
                 " AND offer_id IS NULL", campaign_id) == 0
    assert count(db, "SELECT COUNT(*) FROM decisions d JOIN offers o ON o.customerid = d.customerid"
                 " WHERE o.campaign = ?", label) == status["offers"], "one decision row per offered customer"
    return status


def test_a_worker_killed_mid_campaign_loses_no_row_and_doubles_no_offer(churn: Gunicorn, tmp_path: Path,
                                                                       new_db: Callable[..., str]) -> None:
    with Marketing(tmp_path, churn.url, {"LEASE_SECONDS": "3"}, db=new_db()) as server:
        campaign_id = upload(server, telco_csv(ROWS, prefix="KILL"), mode="expected_value", max_offers=BUDGET).json()["id"]
        wait_for(lambda: 0 < status_of(server, campaign_id)["scored"] < ROWS, timeout=60, what="the campaign under way")
        victim = worker_pids(server.proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        status = assert_decided_exactly_once(server, campaign_id)
        assert victim not in worker_pids(server.proc.pid)
        wait_for(lambda: len(server.emails()) == status["offers"], timeout=60, what="one email per offer")


def test_churn_stopping_mid_campaign_waits_then_finishes_by_itself(model_dir: Path, tmp_path: Path,
                                                                   new_db: Callable[..., str]) -> None:
    churn = Gunicorn("churn_service", {"MODEL_PATH": str(model_dir / "model.bin")}, workers=1).start()
    try:
        with Marketing(tmp_path, churn.url, {"LEASE_SECONDS": "3", "CHURN_READ_TIMEOUT": "1"}, db=new_db()) as server:
            campaign_id = upload(server, telco_csv(ROWS, prefix="WAIT"), max_offers=BUDGET).json()["id"]
            wait_for(lambda: 0 < status_of(server, campaign_id)["scored"] < ROWS, timeout=60, what="the campaign under way")
            churn.stop()
            waiting = wait_for(lambda: (s := status_of(server, campaign_id))["status"] == "waiting_for_churn" and s,
                               timeout=30, what="status waiting_for_churn")
            assert waiting["scored"] < ROWS and waiting["last_error"]
            time.sleep(1)
            churn = Gunicorn("churn_service", {"MODEL_PATH": str(model_dir / "model.bin")}, workers=1,
                             port=churn.port).start()
            assert_decided_exactly_once(server, campaign_id)
    finally:
        churn.stop()
