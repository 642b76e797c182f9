"""Benchmarks: `python -m bench` (or `make bench`); the README's Benchmarks section says what each measures."""
from __future__ import annotations

import logging

from harness.servers import run_train


def train(log: logging.Logger, *args: object) -> bool:
    """`python -m train` with `args` for a benchmark; False (and the reason in the log) when it failed."""
    done = run_train(*args)
    if done.returncode != 0:
        log.error("training failed: %s", done.stderr.strip())
    return done.returncode == 0
