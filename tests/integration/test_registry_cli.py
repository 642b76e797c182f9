"""`python -m train` with a registry, for real: train, promote only when better, rollback, list, refuse."""
from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_train

QUICK = ("--folds", "2")  # these tests are about the registry, not the cross-validation


def state(registry: Path) -> tuple[str, list[str], list[str]]:
    versions = sorted(p.name for p in registry.iterdir() if not p.name.startswith(".") and p.is_dir())
    return (registry / "CURRENT").read_text().strip(), (registry / "HISTORY").read_text().split(), versions


def test_the_lifecycle_from_an_empty_registry(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    first = run_train("--registry", registry, *QUICK)
    assert first.returncode == 0, first.stderr
    assert "current model: none" in first.stdout and "PROMOTED" in first.stdout
    current, history, versions = state(registry)
    assert history == [current] and versions == [current]
    assert {"model.bin", "model.json", "model.onnx", "model.pmml", "roc.png"} <= {p.name for p in (registry / current).iterdir()}

    # A weaker candidate (heavy regularisation) is kept beside the current one, not served; exit 0.
    worse = run_train("--registry", registry, "--C", "0.001", *QUICK)
    assert worse.returncode == 0, worse.stderr
    assert "KEPT, NOT PROMOTED" in worse.stdout and f"{current} is still served" in worse.stdout
    after, _, versions = state(registry)
    assert after == current and len(versions) == 2
    [candidate] = [v for v in versions if v != current]
    evaluation = json.loads((registry / candidate / "model.json").read_text())["evaluation"]
    assert evaluation["parent"] == current and evaluation["decision"] == "keep"
    assert evaluation["candidate_auc"] < evaluation["current_auc"] - 0.005
    for auc in (evaluation["candidate_auc"], evaluation["current_auc"]):
        assert f"{auc:.4f}" in worse.stdout  # both AUCs printed, as recorded

    listing = run_train("list", "--registry", registry).stdout.splitlines()
    assert any(line.startswith(f"* {current}") for line in listing)
    assert any(line.startswith(f"  {candidate}") and "(keep)" in line for line in listing)

    assert run_train("promote", candidate, "--registry", registry).returncode == 0
    assert state(registry)[:2] == (candidate, [current, candidate])
    rolled = run_train("rollback", "--registry", registry)
    assert rolled.returncode == 0 and current in rolled.stdout
    assert state(registry)[:2] == (current, [current])
    nothing_left = run_train("rollback", "--registry", registry)
    assert nothing_left.returncode == 2 and nothing_left.stderr.startswith("error: nothing to roll back to")


def test_a_bad_data_file_is_one_line_and_leaves_the_registry_untouched(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    assert run_train("--registry", registry, *QUICK).returncode == 0
    before = sorted(str(p.relative_to(registry)) for p in registry.rglob("*"))
    bad = tmp_path / "bad.csv"
    bad.write_text("customerID,gender\n1,female\n")
    done = run_train("--registry", registry, "--data", bad, *QUICK)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ") and "missing columns" in done.stderr
    assert sorted(str(p.relative_to(registry)) for p in registry.rglob("*")) == before


def test_promoting_an_unknown_version_names_the_known_ones(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    assert run_train("--registry", registry, "--promote", "never", *QUICK).returncode == 0
    assert not (registry / "CURRENT").exists()  # never: trained and kept, nothing served yet
    [version] = [p.name for p in registry.iterdir() if p.is_dir()]
    done = run_train("promote", "0123456789ab", "--registry", registry)
    assert done.returncode == 2 and version in done.stderr and done.stderr.count("\n") == 1
