"""Helpers the test modules share: paths and the training CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "telco-customer-churn.csv"


def run_train(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "train", *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
