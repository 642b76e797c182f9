"""The promotion gate (DESIGN §13) and training on several files, for real: `python -m train` on the Telco CSV.

A candidate trained on a shuffled Churn column ties the current model on its own (shuffled) held-out rows,
which is what fooled the old rule; the gate refuses it on the current model's rows and on --min-auc.
"""
from __future__ import annotations

import csv
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from churn_service.model.artifact import load_artifact
from churn_service.model.manifest import check_manifest
from tests.helpers import DATA, run_train
from train.data import load_dataset

QUICK = ("--folds", "2")  # the gate is the point here, not the cross-validation


def telco_rows() -> tuple[list[str], list[dict[str, str]]]:
    with open(DATA, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def shuffled_telco(path: Path, seed: int) -> Path:
    """The real customers with their Churn labels shuffled: the same features, labels without signal."""
    header, rows = telco_rows()
    labels = [row["Churn"] for row in rows]
    random.Random(seed).shuffle(labels)
    return write_csv(path, header, [{**row, "Churn": label} for row, label in zip(rows, labels, strict=True)])


def served(registry: Path) -> str:
    return (registry / "CURRENT").read_text().strip()


def candidate(registry: Path, before: set[str]) -> str:
    [new] = {p.name for p in registry.iterdir() if p.is_dir() and not p.name.startswith(".")} - before
    return new


def versions(registry: Path) -> set[str]:
    return {p.name for p in registry.iterdir() if p.is_dir() and not p.name.startswith(".")}


def evaluation(registry: Path, version: str) -> dict:
    return json.loads((registry / version / "model.json").read_text())["evaluation"]


def test_a_shuffled_label_candidate_is_refused_and_the_decision_names_the_tests(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    assert run_train("--registry", registry, *QUICK).returncode == 0
    current = served(registry)
    current_test_auc = json.loads((registry / current / "model.json").read_text())["metrics"]["test_auc"]
    kept = load_dataset(registry / current / "holdout.csv")  # the Telco layout: it reads back as training data
    assert len(kept.labels) == json.loads((registry / current / "model.json").read_text())["n_test"]

    before = versions(registry)
    done = run_train("--registry", registry, "--data", shuffled_telco(tmp_path / "shuffled.csv", seed=28), *QUICK)
    assert done.returncode == 0, done.stderr
    assert served(registry) == current and "KEPT, NOT PROMOTED" in done.stdout
    shuffled = candidate(registry, before)
    gate = evaluation(registry, shuffled)
    tests = gate["tests"]
    # The old rule alone passes it: on the shuffled held-out rows both models are near chance.
    assert tests["new_rows"]["passed"] is True and abs(tests["new_rows"]["current_auc"] - 0.5) < 0.05
    # On the rows the current model was tested on (its holdout.csv), the current model scores its own test AUC...
    assert tests["current_rows"]["current_auc"] == pytest.approx(current_test_auc, abs=1e-6)
    # ...and the shuffled candidate falls far below it and below --min-auc: both refuse it.
    assert tests["current_rows"]["candidate_auc"] < current_test_auc - 0.1
    assert gate["refused_by"] == ["current_rows", "min_auc"] and gate["decision"] == "keep"
    assert "gate current_rows FAIL" in done.stdout and "gate min_auc      FAIL" in done.stdout
    assert "refused by current_rows: " in done.stdout and "; min_auc: " in done.stdout
    listing = run_train("list", "--registry", registry).stdout
    assert any(line.startswith(f"  {shuffled}") and line.endswith("(keep)  refused by current_rows, min_auc")
               for line in listing.splitlines())

    # A version from before holdout.csv existed: that test is skipped, said so, and --min-auc still refuses.
    (registry / current / "holdout.csv").unlink()
    before = versions(registry)
    done = run_train("--registry", registry, "--data", shuffled_telco(tmp_path / "shuffled-2.csv", seed=29), *QUICK)
    assert done.returncode == 0 and served(registry) == current
    gate = evaluation(registry, candidate(registry, before))
    assert gate["tests"]["current_rows"]["passed"] is None and "min_auc" in gate["refused_by"]
    assert "gate current_rows SKIP" in done.stdout and f"current_rows skipped: {current} has no holdout.csv" in gate["reason"]


def test_a_real_candidate_passes_all_three_tests(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    assert run_train("--registry", registry, *QUICK).returncode == 0
    first = served(registry)
    before = versions(registry)
    done = run_train("--registry", registry, "--C", "0.5", *QUICK)  # real labels, slightly different model
    assert done.returncode == 0, done.stderr
    new = candidate(registry, before)
    gate = evaluation(registry, new)
    assert [t["passed"] for t in gate["tests"].values()] == [True, True, True] and gate["refused_by"] == []
    assert served(registry) == new and "PROMOTED" in done.stdout and gate["parent"] == first
    assert gate["tests"]["min_auc"]["candidate_auc"] >= 0.75

    # The same real candidate is refused when --min-auc asks more than any model here reaches.
    strict = run_train("--registry", registry, "--C", "0.25", "--min-auc", "0.99", *QUICK)
    assert strict.returncode == 0 and "KEPT, NOT PROMOTED" in strict.stdout and "--min-auc 0.99" in strict.stdout
    assert served(registry) == new


def test_several_files_train_on_their_union_and_the_newest_rows_are_held_out(tmp_path: Path) -> None:
    header, rows = telco_rows()
    older = write_csv(tmp_path / "telco-part.csv", header, rows[:4000])  # no observed_at: older than any dated row
    # Production's outcomes: dated, in no particular order, some in UTC ("Z"), some with an offset.
    start, rng = datetime(2025, 1, 1, tzinfo=UTC), random.Random(7)
    minutes = rng.sample(range(100_000), len(rows) - 4000)
    dated = []
    for row, minute in zip(rows[4000:], minutes, strict=True):
        when = start + timedelta(minutes=minute)
        east = when.astimezone(timezone(timedelta(hours=2)))
        spelled = when.isoformat().replace("+00:00", "Z") if minute % 2 else east.isoformat()
        dated.append({**row, "observed_at": spelled})
    newer = write_csv(tmp_path / "outcomes.csv", [*header, "observed_at"], dated)

    registry = tmp_path / "registry"
    done = run_train("--registry", registry, "--data", older, "--data", newer, *QUICK)
    assert done.returncode == 0, done.stderr
    version = served(registry)
    manifest = json.loads((registry / version / "model.json").read_text())
    assert manifest["data"] == [
        {"path": str(older), "sha256": hashlib.sha256(older.read_bytes()).hexdigest(), "rows": 4000},
        {"path": str(newer), "sha256": hashlib.sha256(newer.read_bytes()).hexdigest(), "rows": len(rows) - 4000},
    ]
    assert manifest["n_train"] + manifest["n_test"] == len(rows)
    check_manifest(manifest)  # churn's own check of what it serves still accepts it
    assert load_artifact(registry / version / "model.bin").version == version

    by_time = sorted(dated, key=lambda row: datetime.fromisoformat(row["observed_at"]))
    newest = {row["customerID"] for row in by_time[-manifest["n_test"]:]}
    with open(registry / version / "holdout.csv", newline="") as f:
        held_out = [row["customerid"] for row in csv.DictReader(f)]
    assert len(held_out) == manifest["n_test"] and set(held_out) == newest
    assert f"held out the {manifest['n_test']} newest rows" in done.stdout


@pytest.mark.parametrize(
    ("observed_at", "expected"),
    [("2025-03-01 10:00", "observed_at must be ISO 8601 with a Z or an offset"),
     ("yesterday", "observed_at must be ISO 8601 with a Z or an offset")],
)
def test_an_unusable_observed_at_is_one_line_naming_the_row(tmp_path: Path, observed_at: str, expected: str) -> None:
    header, rows = telco_rows()
    dated = [{**row, "observed_at": observed_at if n == 5 else "2025-03-01T10:00:00Z"} for n, row in enumerate(rows[:200])]
    bad = write_csv(tmp_path / "bad.csv", [*header, "observed_at"], dated)
    done = run_train("--registry", tmp_path / "registry", "--data", DATA, "--data", bad, *QUICK)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert f"{bad} line 7: {expected}" in done.stderr
    assert not (tmp_path / "registry" / "CURRENT").exists()


def test_min_auc_outside_zero_to_one_is_refused_at_the_command_line(tmp_path: Path) -> None:
    done = run_train("--registry", tmp_path / "registry", "--min-auc", "1.5")
    assert done.returncode == 2 and "--min-auc must be from 0 to 1" in done.stderr
