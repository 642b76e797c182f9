"""The shadow store and queue (churn_service/shadow/) on their own: seq paging, the trim that keeps at most
SHADOW_KEEP rows, the store id, and a full queue that drops and counts instead of waiting."""
from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from churn_service.config import ChurnConfig, ConfigError
from churn_service.shadow import ShadowScoring, ShadowStore


def test_the_store_keeps_at_most_keep_rows_the_newest_and_pages_by_seq(tmp_path: Path) -> None:
    store = ShadowStore(tmp_path, keep=25)
    with closing(store.connect()) as conn:
        for start in range(0, 100, 7):
            ids = [f"{n:032x}" for n in range(start, min(start + 7, 100))]
            store.add(conn, "champ", "chall", ids, [n / 100 for n in range(start, start + len(ids))])
            assert len(store.read(conn, 0, 1000)) <= 25
        kept = store.read(conn, 0, 1000)
        assert kept[-1] == {"seq": 100, "prediction_id": f"{99:032x}", "champion": "champ", "challenger": "chall",
                            "probability": 0.99}
        assert [r["seq"] for r in kept] == list(range(kept[0]["seq"], 101))
        assert [r["seq"] for r in store.read(conn, 95, 2)] == [96, 97]
        assert store.read(conn, 100, 10) == []


def test_the_store_id_is_made_with_the_file(tmp_path: Path) -> None:
    first = ShadowStore(tmp_path / "a", keep=10).store_id
    assert ShadowStore(tmp_path / "a", keep=10).store_id == first  # another worker opening the same file
    assert ShadowStore(tmp_path / "b", keep=10).store_id != first


class Challenger:
    version = "chall"
    kernel = None

    class scorer:  # noqa: N801 - stands in for a Scorer instance
        @staticmethod
        def score_one(record: dict[str, Any]) -> float:
            return record["p"]

        @staticmethod
        def score_many(records: list[dict[str, Any]]) -> list[float]:
            return [r["p"] for r in records]


def scoring(tmp_path: Path, pending_max: int) -> ShadowScoring:
    registry = CollectorRegistry()
    return ShadowScoring(ShadowStore(tmp_path, keep=100), Counter("scored", "", registry=registry),
                         Counter("dropped", "", registry=registry), pending_max=pending_max)


def test_a_full_queue_drops_and_counts_and_never_waits(tmp_path: Path) -> None:
    a, b, c, d, e, f, g, *more = (f"{letter * 32}" for letter in "abcdefghijk")
    shadow = scoring(tmp_path, pending_max=3)
    shadow.hand([a], "champ", [{"p": 0.1}])  # no challenger yet: nothing is queued
    shadow.challenger = Challenger()
    shadow.hand([b, c], "champ", [{"p": 0.2}, {"p": 0.3}])
    shadow.hand([d, e], "champ", [{"p": 0.4}, {"p": 0.5}])  # 4 > 3: dropped
    shadow.hand([f], "champ", [{"p": 0.6}])
    shadow.hand([g], "chall", [{"p": 0.7}])  # the challenger is the champion now: no shadow
    assert shadow.dropped._value.get() == 2
    assert shadow.drain() == 3
    with closing(shadow.store.connect()) as conn:
        assert [(r["prediction_id"], r["probability"]) for r in shadow.store.read(conn, 0, 10)] == [
            (b, 0.2), (c, 0.3), (f, 0.6)]
    assert shadow.scored._value.get() == 3
    shadow.hand(more, "champ", [{"p": 0.8}] * 4)  # an empty queue takes a request of any size
    assert shadow.drain() == 4


def test_a_drain_larger_than_one_chunk_is_stored_whole_and_in_order(tmp_path: Path) -> None:
    store = ShadowStore(tmp_path, keep=100_000)
    ids = [f"{n:032x}" for n in range(12_345)]
    with closing(store.connect()) as conn:
        store.add(conn, "champ", "chall", ids, [n / 12_345 for n in range(12_345)])
        rows = store.read(conn, 0, 50_000)
    assert [r["prediction_id"] for r in rows] == ids
    assert [r["seq"] for r in rows] == list(range(1, 12_346))
    assert rows[-1]["probability"] == 12_344 / 12_345


def test_the_store_lives_beside_the_drift_window_unless_shadow_dir_says_where() -> None:
    config = ChurnConfig.from_env({"PROMETHEUS_MULTIPROC_DIR": "/run/churn-metrics"})
    assert (config.shadow_dir, config.drift_dir) == (Path("/run/churn-metrics/shadow"), Path("/run/churn-metrics/drift"))
    assert config.shadow_keep == 1_000_000
    assert ChurnConfig.from_env({"SHADOW_DIR": "/data/shadow", "SHADOW_KEEP": "500"}).shadow_dir == Path("/data/shadow")
    assert ChurnConfig.from_env({}).shadow_dir is None  # the app makes a temp dir


@pytest.mark.parametrize("keep", ["0", "-5", "many", "1e12"])
def test_a_bad_shadow_keep_stops_the_service_naming_it(keep: str) -> None:
    with pytest.raises(ConfigError, match="SHADOW_KEEP"):
        ChurnConfig.from_env({"SHADOW_KEEP": keep})
