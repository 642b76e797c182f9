"""Hostile input to churn over real gunicorn (issue 26): numbers past float range, text that is not Unicode, and
drift rings cut short or garbled. Each is a clear 4xx (or, for the rings, a window that heals), never a 500, and
a refused record is counted nowhere: neither in the metrics nor in the drift window."""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import Gunicorn
from tests.samples import LIKELY_CHURNER, ZOOMCAMP_CUSTOMER

JSON = {"Content-Type": "application/json"}
HUGE = "1" + "0" * 400  # a JSON integer no float can hold: float() of it raises OverflowError
PATHS = ["/predict", "/predict?explain=true", "/predict/batch", "/predict/batch?explain=true"]


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gunicorn, Path]]:
    """A churn of this module's own (2 workers), so what it counts is only what these tests sent."""
    drift_dir = tmp_path_factory.mktemp("drift")
    env = {"MODEL_PATH": str(model_dir / "model.bin"), "DRIFT_DIR": str(drift_dir), "DRIFT_WINDOW": "100000"}
    with Gunicorn("churn_service", env, workers=2) as churn:
        yield churn, drift_dir


def body_for(path: str, record_json: str, index: int = 0) -> str:
    """`record_json` as the body of `path`: alone, or at `index` of a batch of good records."""
    if "batch" not in path:
        return record_json
    others = [json.dumps(dict(ZOOMCAMP_CUSTOMER, customerid=f"OK-{i}")) for i in range(3)]
    others.insert(index, record_json)
    return '{"customers": [' + ", ".join(others) + "]}"


def with_raw(field: str, raw: str) -> str:
    """A record whose `field` is the JSON text `raw`, exactly as written (json.dumps could not write it)."""
    return json.dumps({**LIKELY_CHURNER, "customerid": "HOSTILE-1", field: "@@"}).replace('"@@"', raw)


def counted(url: str) -> tuple[float, int]:
    """(predictions counted in /metrics over every worker, records in the drift window)."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    predictions = sum(float(v) for v in re.findall(r"^churn_predictions_total\{[^}]*\} (\S+)$", text, re.MULTILINE))
    histogram = re.search(r"^churn_probability_count (\S+)$", text, re.MULTILINE)
    assert histogram, text[:500]
    assert float(histogram[1]) == predictions  # the two agree, so one number stands for both
    return predictions, requests.get(f"{url}/drift", timeout=10).json()["window"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("field", ["tenure", "monthlycharges", "totalcharges"])
def test_a_number_past_float_range_is_a_422_naming_the_field(server: tuple[Gunicorn, Path], path: str,
                                                             field: str) -> None:
    url = server[0].url
    before = counted(url)
    response = requests.post(url + path, data=body_for(path, with_raw(field, HUGE), index=1), headers=JSON, timeout=10)
    assert response.status_code == 422, response.text[:300]
    details = response.json()["error"]["details"]
    assert [d["field"] for d in details] == [field]
    if "batch" in path:
        assert [d["index"] for d in details] == [1]
    assert counted(url) == before


@pytest.mark.parametrize("raw", ["-" + HUGE, HUGE + ".5", "1e400"])
def test_other_numbers_past_float_range_are_refused_too(server: tuple[Gunicorn, Path], raw: str) -> None:
    response = requests.post(f"{server[0].url}/predict", data=with_raw("tenure", raw), headers=JSON, timeout=10)
    assert response.status_code == 422, response.text[:300]
    assert [d["field"] for d in response.json()["error"]["details"]] == ["tenure"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("field", ["customerid", "contract", "gender"])
def test_a_lone_surrogate_is_refused_before_it_is_counted(server: tuple[Gunicorn, Path], path: str, field: str) -> None:
    url = server[0].url
    before = counted(url)
    response = requests.post(url + path, data=body_for(path, with_raw(field, '"ab\\ud800"'), index=2), headers=JSON,
                             timeout=10)
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["message"] and [d["field"] for d in error["details"]] == [
        f"customers[2].{field}" if "batch" in path else field]
    assert counted(url) == before


def test_a_lone_surrogate_in_a_key_is_refused_too(server: tuple[Gunicorn, Path]) -> None:
    url = server[0].url
    before = counted(url)
    record = json.dumps(dict(ZOOMCAMP_CUSTOMER, note="x")).replace('"note"', '"\\udc00note"')
    response = requests.post(f"{url}/predict", data=record, headers=JSON, timeout=10)
    assert response.status_code == 400, response.text[:300]
    assert counted(url) == before


def test_good_records_are_still_counted_once(server: tuple[Gunicorn, Path]) -> None:
    """The control: the counters above can move, so their staying put means something."""
    url = server[0].url
    predictions, window = counted(url)
    assert requests.post(f"{url}/predict", json=ZOOMCAMP_CUSTOMER, timeout=10).status_code == 200
    assert requests.post(f"{url}/predict/batch", json={"customers": [LIKELY_CHURNER] * 3}, timeout=10).status_code == 200
    assert counted(url) == (predictions + 4, window + 4)


def corrupt_every_ring(drift_dir: Path) -> list[Path]:
    """Each ring cut short or overwritten with noise, as a crash mid-write or a bad disk would leave it, plus
    strays of both kinds that no worker owns."""
    rings = sorted(drift_dir.glob("*.ring"))
    assert rings, "no ring to corrupt: nothing was scored"
    version = rings[0].name.rsplit("-", 1)[0]
    for i, ring in enumerate(rings):
        if i % 2:
            ring.write_bytes(os.urandom(ring.stat().st_size))
        else:
            with ring.open("r+b") as f:
                f.truncate(3)
    (drift_dir / f"{version}-1.ring").write_bytes(b"\x01\x02")
    (drift_dir / f"{version}-2.ring").write_bytes(os.urandom(16 + 29 * 100))
    return rings


def test_a_short_or_garbled_ring_never_takes_drift_or_metrics_down_and_is_rebuilt(server: tuple[Gunicorn, Path]) -> None:
    url, drift_dir = server[0].url, server[1]
    for _ in range(6):  # new connections: both workers write a ring
        assert requests.post(f"{url}/predict", json=ZOOMCAMP_CUSTOMER, timeout=10).status_code == 200
    corrupt_every_ring(drift_dir)
    for _ in range(6):  # whichever worker answers
        drift = requests.get(f"{url}/drift", timeout=10)
        assert drift.status_code == 200, drift.text[:300]
        assert drift.json()["window"] == 0  # nothing of a garbled ring is believed
        metrics = requests.get(f"{url}/metrics", timeout=10)
        assert metrics.status_code == 200, metrics.text[:300]
    predictions, _ = counted(url)
    for i in range(10):
        response = requests.post(f"{url}/predict", json=dict(LIKELY_CHURNER, customerid=f"AFTER-{i}"), timeout=10)
        assert response.status_code == 200, response.text[:300]
    batch = requests.post(f"{url}/predict/batch", json={"customers": [ZOOMCAMP_CUSTOMER] * 5}, timeout=10)
    assert batch.status_code == 200
    assert counted(url) == (predictions + 15, 15)
