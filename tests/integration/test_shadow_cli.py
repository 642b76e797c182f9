"""`python -m train shadow` and `promote-shadow` (DESIGN §13), for real on a registry of two trained versions: a
challenger is named and un-named atomically, and promoted only when the comparison is of this very pair, on
enough rows, with a 95 % CI that excludes a loss."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import registry_copy, run_train

QUICK = ("--folds", "2")


@pytest.fixture()
def registry(two_versions: tuple[Path, str, str], tmp_path: Path) -> tuple[Path, str, str]:
    """One version served, a weaker one kept beside it: a copy per test, since the tests change it."""
    root, current, other = two_versions
    return registry_copy(root, tmp_path / "registry"), current, other


def test_shadow_names_and_stops_a_challenger(registry: tuple[Path, str, str]) -> None:
    root, current, other = registry
    named = run_train("shadow", other, "--registry", root)
    assert named.returncode == 0, named.stderr
    assert (root / "SHADOW").read_text().strip() == other and f"shadow-scores {other} beside {current}" in named.stdout
    listing = run_train("list", "--registry", root).stdout.splitlines()
    assert any(line.startswith(f"s {other}") for line in listing) and any(line.startswith(f"* {current}") for line in listing)
    assert run_train("shadow", "--registry", root).stdout.strip().endswith(f"beside {current}")

    served = run_train("shadow", current, "--registry", root)
    assert served.returncode == 2 and "is the version served" in served.stderr
    missing = run_train("shadow", "0123456789ab", "--registry", root)
    assert missing.returncode == 2 and "no version '0123456789ab'" in missing.stderr
    assert (root / "SHADOW").read_text().strip() == other  # refusals change nothing

    off = run_train("shadow", "--off", "--registry", root)
    assert off.returncode == 0 and "no shadow challenger" in off.stdout and not (root / "SHADOW").exists()


def comparison(root: Path, champion: str, challenger: str, n: int, ci: tuple[float, float]) -> Path:
    difference = (ci[0] + ci[1]) / 2
    path = root.parent / "quality.json"
    path.write_text(json.dumps({"versions": {}, "shadow": {
        "champion": champion, "challenger": challenger, "n": n, "champion_auc": 0.80,
        "challenger_auc": 0.80 + difference, "difference": difference, "ci95": list(ci)}}))
    return path


@pytest.mark.parametrize(("n", "ci", "pair_matches", "promoted", "said"), [
    (800, (0.004, 0.030), True, True, "the CI excludes a loss"),
    (800, (-0.006, 0.030), True, False, "the CI includes a loss"),
    (150, (0.004, 0.030), True, False, "too few rows (150 < --min-rows 200)"),
    (800, (0.004, 0.030), False, False, "wait for outcomes of this pair"),
])
def test_promote_shadow_needs_this_pair_enough_rows_and_a_ci_without_a_loss(
        registry: tuple[Path, str, str], n: int, ci: tuple[float, float], pair_matches: bool, promoted: bool,
        said: str) -> None:
    root, current, other = registry
    assert run_train("shadow", other, "--registry", root).returncode == 0
    champion = current if pair_matches else "fedcba987654"
    done = run_train("promote-shadow", "--registry", root, "--quality", comparison(root, champion, other, n, ci))
    assert done.returncode == 0, done.stderr
    assert said in done.stdout
    assert (f"[{ci[0]:+.4f}, {ci[1]:+.4f}]" in done.stdout) == pair_matches  # the numbers, when they are this pair's
    served = (root / "CURRENT").read_text().strip()
    if promoted:
        assert "PROMOTED" in done.stdout and served == other and not (root / "SHADOW").exists()
        assert (root / "HISTORY").read_text().split()[-2:] == [current, other]
    else:
        assert "KEPT, NOT PROMOTED" in done.stdout and served == current
        assert (root / "SHADOW").read_text().strip() == other


def test_promote_shadow_without_a_challenger_or_a_comparison(registry: tuple[Path, str, str]) -> None:
    root, current, other = registry
    quality = root.parent / "empty.json"
    quality.write_text(json.dumps({"versions": {}}))
    nothing = run_train("promote-shadow", "--registry", root, "--quality", quality)
    assert nothing.returncode == 2 and "no SHADOW" in nothing.stderr
    assert run_train("shadow", other, "--registry", root).returncode == 0
    waiting = run_train("promote-shadow", "--registry", root, "--quality", quality)
    assert waiting.returncode == 0 and "no comparison yet" in waiting.stdout
    unreadable = run_train("promote-shadow", "--registry", root, "--quality", root.parent / "absent.json")
    assert unreadable.returncode == 2 and unreadable.stderr.startswith("error: cannot read the model quality")
    assert (root / "CURRENT").read_text().strip() == current
