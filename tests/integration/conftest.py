"""A churn service under real gunicorn, serving the session's freshly trained model."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Gunicorn


@pytest.fixture(scope="session")
def churn(model_dir: Path) -> Iterator[Gunicorn]:
    with Gunicorn("churn_service", {"MODEL_PATH": str(model_dir / "model.bin")}, workers=2) as server:
        yield server


class Marketing(Gunicorn):
    """The marketing service with its own fresh database and mail folder under a temp dir."""

    def __init__(self, tmp: Path, churn_url: str, extra: dict[str, str] | None = None, workers: int = 2):
        self.db_path, self.mail_dir = tmp / "marketing.db", tmp / "mail"
        env = {"CHURN_URL": churn_url, "MARKETING_DB": str(self.db_path), "MAIL_DIR": str(self.mail_dir),
               "POLL_INTERVAL": "0.2", "CHURN_READ_TIMEOUT": "2", **(extra or {})}
        super().__init__("marketing_service", env, workers=workers)

    def emails(self) -> list[Path]:
        return sorted(self.mail_dir.glob("offer-*.eml")) if self.mail_dir.exists() else []


@pytest.fixture
def marketing(churn: Gunicorn, tmp_path: Path) -> Iterator[Marketing]:
    with Marketing(tmp_path, churn.url) as server:
        yield server
