"""Shadow scoring (DESIGN §13) under real gunicorn (2 workers): with SHADOW naming a second version, every answer
is still the champion's to the byte, and GET /shadow soon holds one record per answered prediction_id whose
probability is the one that version answers when it is itself served (a third churn serves it). Removing
SHADOW stops the scoring; a SHADOW naming a broken or missing version is refused and listed, and the
champion answers on; /shadow pages by seq, checks its parameters and needs the API token."""
from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from churn_service import create_app
from churn_service.config import ChurnConfig
from feature_contract import parse_record
from tests.helpers import DATA, Gunicorn, registry_copy, wait_for
from tests.samples import LIKELY_CHURNER, LOYAL_CUSTOMER, ZOOMCAMP_CUSTOMER

PREDICTION_ID = re.compile(rb'"prediction_id":"[0-9a-f]{32}"')
NOT_CANONICAL = {**ZOOMCAMP_CUSTOMER, "Contract": "One year", "gender": "Male"}  # the Flask route parses it
del NOT_CANONICAL["contract"]


def canonical_rows(n: int) -> list[dict[str, Any]]:
    with open(DATA, newline="") as f:
        return [parse_record(row) for row in list(csv.DictReader(f))[:n]]


# Every way a record is answered: the fast path, the Flask route, the batch kernel, the batch's full path, reasons.
REQUESTS: list[tuple[str, Any]] = [
    ("/predict", LIKELY_CHURNER),
    ("/predict", {**LOYAL_CUSTOMER, "customerid": "C-1"}),
    ("/predict?explain=true", ZOOMCAMP_CUSTOMER),
    ("/predict", NOT_CANONICAL),
    ("/predict?explain=1", LIKELY_CHURNER),
    ("/predict/batch", {"customers": canonical_rows(40)}),
    ("/predict/batch", {"customers": [LIKELY_CHURNER]}),
    ("/predict/batch", {"customers": [NOT_CANONICAL, LOYAL_CUSTOMER, {**LIKELY_CHURNER, "customerid": "C-2"}]}),
    ("/predict/batch", {"customers": [NOT_CANONICAL]}),
    ("/predict/batch?explain=true", {"customers": canonical_rows(3)}),
]
IDS = [f"{path} #{n}" for n, (path, _) in enumerate(REQUESTS)]


@pytest.fixture(scope="module")
def registry(two_versions: tuple[Path, str, str]) -> tuple[Path, str, str]:
    """Version A served, B beside it; every server here runs on a copy (`registry_copy`)."""
    return two_versions


@pytest.fixture(scope="module")
def servers(registry: tuple[Path, str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Gunicorn]]:
    """`shadowed` (SHADOW names B), `plain` (the same without SHADOW) and `challenger` (B served)."""
    root, first, second = registry
    tmp = tmp_path_factory.mktemp("shadow")
    registries = {"shadowed": registry_copy(root, tmp / "shadowed", shadow=second), "plain": registry_copy(root, tmp / "plain"),
                  "challenger": registry_copy(root, tmp / "challenger", current=second)}
    started = {name: Gunicorn("churn_service", {"MODEL_REGISTRY": str(path), "MODEL_POLL_SECONDS": "0.3"}, workers=2)
               for name, path in registries.items()}
    try:
        for server in started.values():
            server.start()
        yield started
    finally:
        for server in started.values():
            server.stop()


def post(server: Gunicorn, path: str, body: Any) -> requests.Response:
    response = requests.post(server.url + path, json=body, timeout=10, headers={"Connection": "close"})
    assert response.status_code == 200, response.text
    return response


def answers(response: requests.Response) -> list[dict[str, Any]]:
    body = response.json()
    return body["predictions"] if "predictions" in body else [body]


def shadow_records(url: str, wanted: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Every /shadow record by prediction_id, read page by page until all of `wanted` are there."""
    def read_all() -> dict[str, list[dict[str, Any]]] | None:
        found: dict[str, list[dict[str, Any]]] = {}
        after = 0
        while True:
            page = requests.get(f"{url}/shadow", params={"after": after, "limit": 500}, timeout=10).json()
            for record in page["records"]:
                found.setdefault(record["prediction_id"], []).append(record)
            if not page["records"]:
                return found if wanted <= set(found) else None
            after = page["next"]
    return wait_for(read_all, timeout=15, what="a shadow record for every answer")  # type: ignore[return-value]


@pytest.mark.parametrize(("path", "body"), REQUESTS, ids=IDS)
def test_the_answer_is_the_champions_to_the_byte(servers: dict[str, Gunicorn], path: str, body: Any) -> None:
    shadowed = post(servers["shadowed"], path, body).content
    plain = post(servers["plain"], path, body).content
    assert PREDICTION_ID.sub(b'"prediction_id":""', shadowed) == PREDICTION_ID.sub(b'"prediction_id":""', plain)


def test_every_answer_gets_one_shadow_record_with_the_challengers_own_probability(
        servers: dict[str, Gunicorn], registry: tuple[Path, str, str]) -> None:
    _, first, second = registry
    expected: dict[str, float] = {}
    for path, body in REQUESTS:
        mine = answers(post(servers["shadowed"], path, body))
        theirs = answers(post(servers["challenger"], path, body))
        assert len(mine) == len(theirs)
        expected.update((m["prediction_id"], t["churn_probability"]) for m, t in zip(mine, theirs, strict=True))
    found = shadow_records(servers["shadowed"].url, set(expected))
    assert all(len(records) == 1 for records in found.values()), "a prediction_id recorded twice"
    for prediction_id, probability in expected.items():
        [record] = found[prediction_id]
        assert (record["champion"], record["challenger"]) == (first, second)
        assert record["probability"] == probability  # the very float B serves, not just a close one
    metrics = requests.get(f"{servers['shadowed'].url}/metrics", timeout=10).text
    assert sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("churn_shadow_scored_total")) >= len(expected)


def test_model_names_the_challenger_being_scored(servers: dict[str, Gunicorn], registry: tuple[Path, str, str]) -> None:
    _, first, second = registry
    info = requests.get(f"{servers['shadowed'].url}/model", timeout=5).json()
    assert (info["version"], info["shadow"], info["warnings"]) == (first, second, [])
    assert requests.get(f"{servers['plain'].url}/model", timeout=5).json()["shadow"] is None
    assert requests.get(f"{servers['plain'].url}/shadow", timeout=5).json()["challenger"] is None


def test_shadow_pages_by_seq(servers: dict[str, Gunicorn]) -> None:
    url = servers["shadowed"].url
    post(servers["shadowed"], "/predict/batch", {"customers": canonical_rows(7)})
    first = requests.get(f"{url}/shadow", params={"limit": 50_000}, timeout=10).json()
    everything = first["records"]
    assert len(everything) >= 7 and first["next"] == everything[-1]["seq"]
    assert [r["seq"] for r in everything] == sorted({r["seq"] for r in everything})
    paged, after = [], 0
    while True:
        page = requests.get(f"{url}/shadow", params={"after": after, "limit": 3}, timeout=10).json()
        assert page["store"] == first["store"] and len(page["records"]) <= 3
        if not page["records"]:
            assert page["next"] == after
            break
        paged += page["records"]
        after = page["next"]
    assert paged[:len(everything)] == everything
    assert requests.get(f"{url}/shadow", params={"after": 10**12}, timeout=10).json()["records"] == []


@pytest.mark.parametrize("query", ["after=-1", "after=x", "after=1.5", "after=", "after=%EF%BC%91", "limit=0",
                                   "limit=50001", "limit=ten", "after=" + "9" * 3000])
def test_a_bad_after_or_limit_is_a_422_naming_it(servers: dict[str, Gunicorn], query: str) -> None:
    response = requests.get(f"{servers['shadowed'].url}/shadow?{query}", timeout=5)
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == query.partition("=")[0]


@pytest.fixture
def in_process(registry: tuple[Path, str, str], tmp_path: Path) -> Iterator[tuple[Path, FlaskClient]]:
    """A churn in this process on a copy of the registry (no SHADOW yet), polling every 0.1 s."""
    root = registry_copy(registry[0], tmp_path / "models")
    app = create_app(ChurnConfig(model_registry=root, model_poll_seconds=0.1, shadow_dir=tmp_path / "shadow",
                                 api_token="a-test-churn-token-0123456789abcdef"))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer a-test-churn-token-0123456789abcdef"
    try:
        yield root, client
    finally:
        app.extensions["churn"].stop()


def test_shadow_needs_the_api_token(in_process: tuple[Path, FlaskClient]) -> None:
    _, client = in_process
    assert client.get("/shadow", headers={"Authorization": ""}).status_code == 401
    assert client.get("/shadow").status_code == 200


def shadow_is(client: FlaskClient, version: str | None) -> bool:
    return client.get("/model").json["shadow"] == version


@pytest.mark.parametrize("how", ["removed", "emptied"])
def test_removing_shadow_stops_the_scoring(in_process: tuple[Path, FlaskClient], registry: tuple[Path, str, str],
                                           how: str) -> None:
    root, client = in_process
    second = registry[2]
    (root / "SHADOW").write_text(second + "\n")
    wait_for(lambda: shadow_is(client, second), what="the challenger loaded")
    scored = client.post("/predict", json=LIKELY_CHURNER).json["prediction_id"]
    wait_for(lambda: [r for r in client.get("/shadow").json["records"] if r["prediction_id"] == scored], what="scored")
    if how == "removed":
        (root / "SHADOW").unlink()
    else:
        (root / "SHADOW").write_text("\n")
    wait_for(lambda: shadow_is(client, None), what="no challenger")
    unscored = client.post("/predict/batch", json={"customers": [LIKELY_CHURNER] * 3}).json["predictions"]
    (root / "SHADOW").write_text(second + "\n")  # back again: its first record proves the earlier ones were seen
    wait_for(lambda: shadow_is(client, second), what="the challenger back")
    again = client.post("/predict", json=LIKELY_CHURNER).json["prediction_id"]
    wait_for(lambda: [r for r in client.get("/shadow").json["records"] if r["prediction_id"] == again], what="again")
    stored = {r["prediction_id"] for r in client.get("/shadow").json["records"]}
    assert not stored & {p["prediction_id"] for p in unscored}


@pytest.mark.parametrize("broken", ["missing", "hash", "served"])
def test_a_shadow_that_cannot_be_scored_leaves_the_champion_answering(
        in_process: tuple[Path, FlaskClient], registry: tuple[Path, str, str], broken: str) -> None:
    root, client = in_process
    first, second = registry[1], registry[2]
    (root / "SHADOW").write_text(second + "\n")
    wait_for(lambda: shadow_is(client, second), what="a good challenger first")
    if broken == "served":  # SHADOW naming the served version: nothing to compare, no shadow and no warning
        (root / "SHADOW").write_text(first + "\n")
        wait_for(lambda: shadow_is(client, None), what="no shadow")
        assert client.get("/model").json["warnings"] == []
    else:
        name = "bad0000000" + ("01" if broken == "missing" else "02")
        if broken == "hash":
            (root / name).mkdir()
            (root / name / "model.bin").write_bytes((root / second / "model.bin").read_bytes() + b"tampered")
            manifest = json.loads((root / second / "model.json").read_text())
            (root / name / "model.json").write_text(json.dumps({**manifest, "version": name,
                                                                "sha256": hashlib.sha256(b"other").hexdigest()}))
        (root / "SHADOW").write_text(name + "\n")
        wait_for(lambda: any(name in w and "SHADOW" in w for w in client.get("/model").json["warnings"]),
                 what="the refusal listed")
        assert shadow_is(client, None)
    assert client.get("/readyz").status_code == 200
    answer = client.post("/predict", json=LIKELY_CHURNER)
    assert answer.status_code == 200 and answer.json["model_version"] == first
    assert client.get("/shadow").json["challenger"] is None
