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
