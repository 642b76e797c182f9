"""Talk to the churn service: one keep-alive connection pool, bounded timeouts, a few retries with backoff,
and an answer checked before anyone trusts it.

urllib3 directly, not requests on top of it: under load, requests' per-call work (merging settings, reading
the proxy environment, preparing the request) was a third of a submission's CPU in marketing, for nothing
this client uses. The pool and its Retry are the same urllib3 objects requests would have driven."""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import urllib3
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import HTTPError
from urllib3.util import parse_url
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)
BATCH_CHUNK = 1000
JSON_HEADERS = {"Content-Type": "application/json"}


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
    prediction_id: str | None = None  # churn's id for this scoring (DESIGN §13); None from a churn without it


def make_pool(base_url: str, retries: int = 2, backoff_factor: float = 0.2) -> HTTPConnectionPool:
    """The keep-alive connections to churn's one host. Its own pool rather than a PoolManager: a manager's
    per-call work (parsing the URL, finding the host's pool, copying the headers) was a fifth of the client's
    CPU in a submission, for a client that only ever talks to one host."""
    # Scoring is a pure function, so retrying a POST is safe. Read timeouts are not retried:
    # a slow churn should make the caller answer "pending" quickly, not wait several times over.
    retry = Retry(
        total=retries, connect=retries, read=0, status=retries, other=0,
        status_forcelist=(502, 503, 504), allowed_methods=frozenset({"GET", "POST"}),
        backoff_factor=backoff_factor, raise_on_status=False,
    )
    return urllib3.connection_from_url(base_url, maxsize=16, retries=retry)


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
    return Score(float(probability), churn, version, _reasons(item.get("reasons")), _prediction_id(item))


def _prediction_id(item: dict[str, Any]) -> str | None:
    """Churn's id when it is a short string; anything else is no id, never a failed score."""
    raw = item.get("prediction_id")
    return raw if isinstance(raw, str) and 0 < len(raw) <= 64 else None


def _reasons(raw: Any) -> tuple[tuple[str, Any], ...]:
    """Churn's reasons where they are what it promised; anything else is no reasons, never a failed score."""
    if not isinstance(raw, list):
        return ()
    return tuple((r["feature"], r.get("value")) for r in raw[:3] if isinstance(r, dict) and isinstance(r.get("feature"), str))


def _json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


class ChurnClient:
    def __init__(self, base_url: str, connect_timeout: float, read_timeout: float,
                 pool: HTTPConnectionPool | None = None, batch_chunk: int = BATCH_CHUNK, token: str = ""):
        self.base_url, self.batch_chunk = base_url.rstrip("/"), batch_chunk
        self.prefix = parse_url(self.base_url).path or ""  # the pool takes paths: CHURN_URL's own, then ours
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}  # CHURN_API_TOKEN, when churn has one
        self.post_headers = {**JSON_HEADERS, **self.auth}
        self.connect_timeout = connect_timeout
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.pool = pool or make_pool(self.base_url)

    def _post(self, path: str, body: Any, offset: int = 0) -> Any:
        try:
            response = self.pool.urlopen("POST", f"{self.prefix}{path}", body=orjson.dumps(body),
                                         headers=self.post_headers, timeout=self.timeout)
        except HTTPError as exc:  # after the retries: refused, reset, timed out
            reason = getattr(exc, "reason", None) or exc
            raise ChurnUnavailable(f"churn unreachable: {type(reason).__name__}") from None
        answer = _json(response.data)
        misconfigured = self._misconfigured(path.partition("?")[0], response.status)
        if misconfigured:  # churn refuses us, not the record: like being down, the records wait and are retried
            raise ChurnUnavailable(misconfigured)
        if 400 <= response.status < 500 and response.status not in (408, 429):
            raise _refusal(response.status, answer, offset)
        if response.status != 200:
            text = response.data[:200].decode("utf-8", "replace")
            raise ChurnUnavailable(f"churn answered {response.status}: {text}")
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

    def _get(self, path: str, read_timeout: float) -> urllib3.BaseHTTPResponse:
        """No retries here: a person or a readiness probe is waiting for a quick, honest answer."""
        return self.pool.urlopen("GET", f"{self.prefix}{path}", retries=False, headers=self.auth,
                                 timeout=urllib3.Timeout(connect=self.connect_timeout, read=read_timeout))

    def read(self, path: str) -> dict[str, Any] | None:
        """A GET for a page (GET /model, /drift): the JSON object, or None when churn cannot say (the page then
        says churn is unavailable)."""
        try:
            response = self._get(path, 3)
        except HTTPError:
            return None
        answer = _json(response.data) if response.status == 200 else None
        return answer if isinstance(answer, dict) else None

    def _misconfigured(self, path: str, status: int) -> str | None:
        """Why churn refuses this service rather than a record (a wrong CHURN_API_TOKEN or CHURN_URL), or None."""
        if status in (401, 403):
            return (f"churn refused our token ({status})" if self.auth
                    else f"churn asks for a token ({status}); set CHURN_API_TOKEN")
        if status in (404, 405):
            return f"churn has no {path} ({status}); check CHURN_URL"
        return None

    def check(self) -> tuple[bool, str | None]:
        """(reachable, why churn refuses us). Its /readyz says whether it can score; GET /model, guarded like
        /predict when churn has a token, says whether it takes ours: a wrong token or path is a misconfiguration
        to report (marketing's /readyz), not an outage to wait out silently."""
        try:
            ready = self._get("/readyz", 2).status
            if ready != 200:
                return False, self._misconfigured("/readyz", ready)
            return True, self._misconfigured("/model", self._get("/model", 2).status)
        except HTTPError:
            return False, None

    def reachable(self) -> bool:
        reachable, refused = self.check()
        return reachable and refused is None
