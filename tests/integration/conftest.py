"""The integration fixtures: a marketing service (real gunicorn) on a fresh database, beside the session churn."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Gunicorn, Marketing


@pytest.fixture
def marketing(churn: Gunicorn, tmp_path: Path) -> Iterator[Marketing]:
    with Marketing(tmp_path, churn.url) as server:
        yield server
