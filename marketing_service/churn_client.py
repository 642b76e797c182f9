"""Talk to the churn service: one pooled session, bounded timeouts, a few retries with backoff."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)
BATCH_CHUNK = 1000


class ChurnUnavailable(Exception):
    """Churn could not score now (down, slow, or answering 5xx); the records stay pending."""


def make_session(retries: int = 2, backoff_factor: float = 0.2) -> requests.Session:
    # Scoring is a pure function, so retrying a POST is safe. Read timeouts are not retried:
    # a slow churn should make the caller answer "pending" quickly, not wait several times over.
    retry = Retry(
        total=retries, connect=retries, read=0, status=retries, other=0,
        status_forcelist=(502, 503, 504), allowed_methods=frozenset({"GET", "POST"}),
        backoff_factor=backoff_factor, raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class ChurnClient:
    def __init__(self, base_url: str, connect_timeout: float, read_timeout: float, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or make_session()

    def _post(self, path: str, body: Any) -> dict[str, Any]:
        try:
            response = self.session.post(f"{self.base_url}{path}", json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ChurnUnavailable(f"churn unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ChurnUnavailable(f"churn answered {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise ChurnUnavailable("churn answered with something that is not JSON") from None

    def score(self, features: Sequence[dict[str, Any]]) -> list[tuple[float, bool, str]]:
        """(probability, churn, model_version) per record, in order; the batch endpoint for lists."""
        if len(features) == 1:
            body = self._post("/predict", features[0])
            return [(float(body["churn_probability"]), bool(body["churn"]), str(body["model_version"]))]
        results: list[tuple[float, bool, str]] = []
        for start in range(0, len(features), BATCH_CHUNK):
            body = self._post("/predict/batch", {"customers": list(features[start:start + BATCH_CHUNK])})
            version = str(body["model_version"])
            results.extend((float(p["churn_probability"]), bool(p["churn"]), version) for p in body["predictions"])
        return results

    def reachable(self) -> bool:
        try:
            # No retries here: readiness probes want a quick, honest answer.
            return requests.get(f"{self.base_url}/readyz", timeout=(self.timeout[0], 2)).status_code == 200
        except requests.RequestException:
            return False
