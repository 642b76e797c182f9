"""`promote` and `rollback` from two processes at once never interleave CURRENT and HISTORY (issue 26).

Each process counts what it changed (a promote that moved CURRENT adds one line to HISTORY, a rollback takes
one away); with the lock, the history ends exactly that long and its last line is CURRENT. Without it, one
command's read-modify-write overwrites the other's and the sums disagree."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import REPO

VERSIONS = ["a00000000001", "a00000000002", "a00000000003", "a00000000004"]
ROUNDS = 300
# One process's loop: `promote` through some versions, or `rollback` between promotes of another.
LOOP = """
import json, sys
from pathlib import Path
from train.registry import Registry, RegistryError

registry, role, rounds = Registry(Path(sys.argv[1])), sys.argv[2], int(sys.argv[3])
Path(sys.argv[4]).touch()
while not Path(sys.argv[5]).exists():  # start together
    pass
added = removed = 0
for i in range(rounds):
    if role == "promoter":
        added += registry.promote(["a00000000001", "a00000000002", "a00000000003"][i % 3])
    elif i % 2:
        added += registry.promote("a00000000004")
    else:
        try:
            registry.rollback()
            removed += 1
        except RegistryError:
            pass
print(json.dumps({"added": added, "removed": removed}))
"""


def test_two_commands_at_once_keep_current_and_its_history_consistent(tmp_path: Path) -> None:
    root = tmp_path / "models"
    for version in VERSIONS:
        (root / version).mkdir(parents=True)
        (root / version / "model.json").write_text("{}")
    (root / "HISTORY").write_text("a00000000001\n")
    (root / "CURRENT").write_text("a00000000001\n")
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", LOOP, str(root), role, str(ROUNDS), str(tmp_path / role),
                                   str(go)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for role in ("promoter", "roller")]
    while not all((tmp_path / role).exists() for role in ("promoter", "roller")):
        assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
        time.sleep(0.01)
    go.touch()
    counts = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        counts.append(json.loads(out))
    history = (root / "HISTORY").read_text().split()
    assert history[-1] == (root / "CURRENT").read_text().strip()
    assert len(history) == 1 + sum(c["added"] for c in counts) - sum(c["removed"] for c in counts), counts
    assert sum(c["removed"] for c in counts) > 10  # the two really ran against each other
    assert not list(root.glob(".CURRENT.*")) and not list(root.glob(".HISTORY.*"))  # no temp file left behind
