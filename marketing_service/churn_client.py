"""Talk to the churn service: one pooled session, bounded timeouts, a few retries with backoff, and an
answer checked before anyone trusts it."""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)
BATCH_CHUNK = 1000


class ChurnUnavailable(Exception):
    """Churn could not score now (down, slow, 5xx, or an answer we cannot use); the records stay pending."""


class ChurnRejected(Exception):
    """Churn refused records (a 4xx): retrying will not help. `reasons` maps a record's index in the call
    (None: every record) to churn's words."""

    def __init__(self, status: int, reasons: dict[int | None, str]):
        super().__init__(f"churn refused with {status}: {reasons}")
        self.reasons = reasons

    def reason_for(self, index: int) -> str | None:
        return self.reasons.get(index, self.reasons.get(None))


@dataclass(frozen=True)
class Score:
    churn_probability: float
    churn: bool
    model_version: str
    reasons: tuple[tuple[str, Any], ...] = ()  # (feature, value), strongest first: churn's `?explain=true`


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


def _refusal(status: int, body: Any, offset: int) -> ChurnRejected:
    """Churn's error details, by record index within the whole call (batches are sent in chunks)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    reasons: dict[int | None, list[str]] = {}
    for detail in error.get("details") or []:
        if isinstance(detail, dict):
            index = detail.get("index")
            key = offset + index if isinstance(index, int) else None
            reasons.setdefault(key, []).append(f"{detail.get('field', '?')}: {detail.get('message', '')}")
    if not reasons:
        reasons[None] = [str(error.get("message") or f"churn answered {status}")]
    return ChurnRejected(status, {k: "; ".join(v)[:500] for k, v in reasons.items()})


def _score(item: Any, version: Any) -> Score:
    """One prediction as churn promised it (DESIGN §3), or ChurnUnavailable saying what was wrong."""
    probability = item.get("churn_probability") if isinstance(item, dict) else None
    churn = item.get("churn") if isinstance(item, dict) else None
    if (not isinstance(probability, (int, float)) or isinstance(probability, bool) or not math.isfinite(probability)
            or not 0 <= probability <= 1 or not isinstance(churn, bool) or not isinstance(version, str)):
        raise ChurnUnavailable(f"churn answered without a usable prediction: {str(item)[:200]}")
    return Score(float(probability), churn, version, _reasons(item.get("reasons")))


def _reasons(raw: Any) -> tuple[tuple[str, Any], ...]:
    """Churn's reasons where they are what it promised; anything else is no reasons, never a failed score."""
    if not isinstance(raw, list):
        return ()
    return tuple((r["feature"], r.get("value")) for r in raw[:3] if isinstance(r, dict) and isinstance(r.get("feature"), str))


class ChurnClient:
    def __init__(self, base_url: str, connect_timeout: float, read_timeout: float,
                 session: requests.Session | None = None, batch_chunk: int = BATCH_CHUNK):
        self.base_url, self.batch_chunk = base_url.rstrip("/"), batch_chunk
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or make_session()

    def _post(self, path: str, body: Any, offset: int = 0) -> Any:
        try:
            response = self.session.post(f"{self.base_url}{path}", json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ChurnUnavailable(f"churn unreachable: {type(exc).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            raise _refusal(response.status_code, answer, offset)
        if response.status_code != 200:
            raise ChurnUnavailable(f"churn answered {response.status_code}: {response.text[:200]}")
        if not isinstance(answer, dict):
            raise ChurnUnavailable("churn answered with something that is not a JSON object")
        return answer

    def score(self, features: Sequence[dict[str, Any]]) -> list[Score]:
        """One Score per record, in order; the batch endpoint for lists. Raises ChurnUnavailable or
        ChurnRejected; never returns fewer or more scores than records."""
        if len(features) == 1:
            body = self._post("/predict?explain=true", features[0])
            return [_score(body, body.get("model_version"))]
        scores: list[Score] = []
        for start in range(0, len(features), self.batch_chunk):
            chunk = list(features[start:start + self.batch_chunk])
            body = self._post("/predict/batch?explain=true", {"customers": chunk}, offset=start)
            predictions = body.get("predictions")
            if not isinstance(predictions, list) or len(predictions) != len(chunk):
                raise ChurnUnavailable(f"churn answered {len(predictions) if isinstance(predictions, list) else 'no'}"
                                       f" predictions for {len(chunk)} records")
            scores.extend(_score(p, body.get("model_version")) for p in predictions)
        return scores

    def read(self, path: str) -> dict[str, Any] | None:
        """A GET for a page (GET /model, /drift): the JSON object, or None when churn cannot say. No retries:
        a person is waiting, and the page says churn is unavailable."""
        try:
            response = requests.get(f"{self.base_url}{path}", timeout=(self.timeout[0], 3))
            answer = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None
        return answer if isinstance(answer, dict) else None

    def reachable(self) -> bool:
        try:
            # No retries here: readiness probes want a quick, honest answer.
            return requests.get(f"{self.base_url}/readyz", timeout=(self.timeout[0], 2)).status_code == 200
        except requests.RequestException:
            return False
