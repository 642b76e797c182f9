"""Customer lists for the campaign tests: the data set as exported, with fresh IDs, and the calls around it."""
from __future__ import annotations

import requests

from harness.customer_lists import telco_csv
from tests.helpers import Marketing, wait_for

__all__ = ["finished", "telco_csv", "upload"]


def upload(server: Marketing, body: bytes, **settings: str) -> requests.Response:
    return server.http.post(f"{server.url}/api/campaigns", files={"file": ("customers.csv", body, "text/csv")},
                            data={"name": "test", **settings}, timeout=60)


def finished(server: Marketing, campaign_id: int, timeout: float = 120) -> dict:
    def done() -> dict | None:
        # A connection per poll, as a plain script makes them: a kept-alive one may lead to a killed worker.
        status = server.http.get(f"{server.url}/api/campaigns/{campaign_id}", headers={"Connection": "close"},
                                 timeout=5).json()
        return status if status["status"] == "done" else None
    return wait_for(done, timeout=timeout, what=f"campaign {campaign_id} done")
