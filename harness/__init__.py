"""What the tests and the benchmarks share: real processes (gunicorn, wrk) and the repository's paths.

Neither `tests/` nor `bench/` imports the other; both import this.
"""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data" / "telco-customer-churn.csv"
