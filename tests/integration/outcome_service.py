"""Marketing in this process on a fresh database of the test's back end, with churn's answers recorded as they
come, and campaigns driven step by step through the background loop's own function (no thread, no sleep)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from marketing_service import create_app
from marketing_service.campaigns import processing
from marketing_service.churn_client import Score
from tests.helpers import SHARED_SECRET, Gunicorn, is_postgres
from tests.in_process import InProcess, admin_token, config_for


class Service(InProcess):
    """`db` is what count/fetch_all read; `scores` every Score churn gave, in order."""

    def __init__(self, folder: Path, churn_url: str, db: str):
        extra: dict[str, Any] = {"db_url": db, "secret_key": SHARED_SECRET} if is_postgres(db) else {"db_path": Path(db)}
        app = create_app(config_for(folder, churn_url, **extra))
        super().__init__(app, token=admin_token(app))
        self.db, self.state = db, app.extensions["marketing"]
        self.scores: list[Score] = []
        score: Callable[..., list[Score]] = self.state.client.score

        def recording(features: Any) -> list[Score]:
            answered = score(features)
            self.scores.extend(answered)
            return answered

        self.state.client.score = recording  # this app's own client object: no global is patched

    def execute(self, *statements: tuple[str, tuple]) -> None:
        """Statements of the test's own, in one transaction on the app's storage."""
        conn = self.state.storage.connect()
        try:
            with conn.transaction():
                for sql, args in statements:
                    conn.execute(sql, args)
        finally:
            conn.close()

    def run_campaigns(self) -> None:
        conn = self.state.storage.connect()
        try:
            while processing.work_once(conn, self.state.client, 30, self.state.rules):
                pass
        finally:
            conn.close()

    def close(self) -> None:
        self.state.storage.close()


def outcome_service(churn: Gunicorn, new_db: Callable[..., str], tmp_path: Path) -> Iterator[Service]:
    """The modules' `service` fixture: a Service on a fresh database of the test's back end, closed after."""
    found = Service(tmp_path, churn.url, new_db())
    yield found
    found.close()


def submit(service: Service, *customers: dict) -> None:
    """Customers through the form API, which must take them all."""
    response = service.post("/api/customers", json={"customers": list(customers)})
    assert response.status_code == 200, response.text
