"""The model manifest is checked field by field at load (issue 26): a bad one is refused like a bad hash, at
start with one line and, when the registry makes it current, while the old model keeps serving; and a version
refused while broken is loaded once repaired and made current again."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from churn_service.model.artifact import ArtifactError
from churn_service.serving import load_serving
from tests.helpers import Gunicorn, wait_for
from tests.samples import LIKELY_CHURNER


def garble(name: str) -> Callable[[dict[str, Any]], None]:
    """A change to one field the server reads, by name, so the tests' ids say what is broken."""

    def threshold(value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda m: m.update(threshold=value)

    changes: dict[str, Callable[[dict[str, Any]], None]] = {
        "threshold x": threshold("x"), "threshold 2.0": threshold(2.0), "threshold -0.1": threshold(-0.1),
        "threshold true": threshold(True), "threshold NaN": threshold(float("nan")), "threshold null": threshold(None),
        "features a list": lambda m: m.update(features=["tenure", 1]),
        "features outside the contract": lambda m: m["features"].update(shoe_size={"type": "number"}),
        "version with a slash": lambda m: m.update(version="../etc"),
        "version a number": lambda m: m.update(version=12),
        "sklearn_version a list": lambda m: m.update(sklearn_version=[1, 9]),
        "deciles of text": lambda m: m["feature_stats"]["tenure"].update(deciles=["a", "b"]),
        "deciles falling": lambda m: m["feature_stats"]["tenure"].update(deciles=[9.0, 1.0]),
        "shares one short": lambda m: m["prediction_stats"].update(shares=m["prediction_stats"]["shares"][1:]),
        "frequencies a list": lambda m: m["feature_stats"]["contract"].update(frequencies=[0.5, 0.5]),
        "frequencies holding 7": lambda m: m["feature_stats"]["gender"]["frequencies"].update(female=7),
        "stats of a stranger": lambda m: m["feature_stats"].update(shoe_size={"frequencies": {"a": 1.0}}),
        "feature_stats a string": lambda m: m.update(feature_stats="garbled"),
        "mean of text": lambda m: m["feature_stats"]["tenure"].update(mean="x"),
    }
    return changes[name]


BAD = ["threshold x", "threshold 2.0", "threshold -0.1", "threshold true", "threshold NaN", "threshold null",
       "features a list", "features outside the contract", "version with a slash", "version a number",
       "sklearn_version a list", "deciles of text", "deciles falling", "shares one short", "frequencies a list",
       "frequencies holding 7", "stats of a stranger", "feature_stats a string", "mean of text"]


def add_version(root: Path, model_dir: Path, name: str, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A version folder holding the trained model under `name`, its manifest changed by `change`."""
    folder = root / name
    folder.mkdir(parents=True)
    shutil.copy(model_dir / "model.bin", folder / "model.bin")
    manifest = json.loads((model_dir / "model.json").read_text())
    manifest["version"] = name
    if change is not None:
        change(manifest)
    (folder / "model.json").write_text(json.dumps(manifest))
    return folder / "model.bin"


def make_current(root: Path, name: str) -> None:
    (root / f".CURRENT.{name}").write_text(name + "\n")
    (root / f".CURRENT.{name}").replace(root / "CURRENT")


@pytest.mark.parametrize("bad", BAD)
def test_each_bad_field_is_refused_at_load_with_its_name(model_dir: Path, tmp_path: Path, bad: str) -> None:
    path = add_version(tmp_path, model_dir, "b00000000001", garble(bad))
    with pytest.raises(ArtifactError) as refused:
        load_serving(path)
    message = str(refused.value)
    assert "\n" not in message and "manifest" in message
    assert bad.split()[0] in message, message  # the field it names


def test_the_trained_manifest_passes(model_dir: Path, tmp_path: Path) -> None:
    """The control: the checks refuse the bad ones above, not every manifest."""
    assert load_serving(add_version(tmp_path, model_dir, "a00000000001")).threshold == 0.5


def test_a_bad_threshold_stops_the_service_in_one_line(model_dir: Path, tmp_path: Path) -> None:
    path = add_version(tmp_path, model_dir, "b00000000002", garble("threshold x"))
    server = Gunicorn("churn_service", {"MODEL_PATH": str(path)}).start(wait=False)
    try:
        assert server.wait_exit() != 0
        output = server.output()
    finally:
        server.stop()
    assert "Traceback" not in output
    [line] = [line for line in output.splitlines() if "refusing to start" in line]
    assert "threshold must be a number from 0 to 1, got 'x'" in line


def predictions(url: str, n: int = 8) -> set[str]:
    """The model versions n answers came from (new connections: any worker); every answer a 200."""
    seen = set()
    for _ in range(n):
        response = requests.post(f"{url}/predict", json=LIKELY_CHURNER, timeout=10)
        assert response.status_code == 200, response.text[:300]
        seen.add(response.json()["model_version"])
    return seen


def refusals(url: str) -> str:
    return " ".join(requests.get(f"{url}/model", timeout=10).json()["warnings"])


def test_a_bad_manifest_made_current_is_refused_and_the_old_model_keeps_serving(model_dir: Path,
                                                                                tmp_path: Path) -> None:
    root = tmp_path / "models"
    add_version(root, model_dir, "a00000000001")
    make_current(root, "a00000000001")
    env = {"MODEL_REGISTRY": str(root), "MODEL_POLL_SECONDS": "0.1"}
    with Gunicorn("churn_service", env, workers=2) as churn:
        for i, bad in enumerate(["threshold x", "threshold 2.0", "features a list", "deciles of text",
                                 "feature_stats a string"]):
            name = f"b{i:011d}"
            add_version(root, model_dir, name, garble(bad))
            make_current(root, name)
            wait_for(lambda name=name: f"refused version {name}" in refusals(churn.url), what=f"{bad} refused")
            assert predictions(churn.url) == {"a00000000001"}
            assert requests.get(f"{churn.url}/readyz", timeout=5).status_code == 200
            assert requests.get(f"{churn.url}/drift", timeout=5).status_code == 200
            assert requests.get(f"{churn.url}/metrics", timeout=5).status_code == 200


def test_a_version_refused_while_broken_is_served_once_repaired_and_current_again(model_dir: Path,
                                                                                  tmp_path: Path) -> None:
    root = tmp_path / "models"
    add_version(root, model_dir, "a00000000001")
    make_current(root, "a00000000001")
    # Broken the way every release refused (a hash that does not match), so this shows the repair, not the check.
    broken = add_version(root, model_dir, "c00000000001", lambda m: m.update(sha256="0" * 64))
    env = {"MODEL_REGISTRY": str(root), "MODEL_POLL_SECONDS": "0.1"}
    with Gunicorn("churn_service", env, workers=2) as churn:
        make_current(root, "c00000000001")
        wait_for(lambda: "refused version c00000000001" in refusals(churn.url), what="the broken version refused")
        make_current(root, "a00000000001")  # an operator backs out, repairs the version, then tries again
        manifest = json.loads(broken.with_name("model.json").read_text())
        right = json.loads((model_dir / "model.json").read_text())["sha256"]
        broken.with_name("model.json").write_text(json.dumps({**manifest, "sha256": right, "threshold": 0.4}))
        make_current(root, "c00000000001")
        wait_for(lambda: predictions(churn.url, 12) == {"c00000000001"}, what="the repaired version served")
        assert requests.get(f"{churn.url}/model", timeout=5).json()["threshold"] == 0.4
