"""A daemon thread that calls one function every few seconds until stopped: churn's registry followers and its
shadow scoring each run one, beside the request threads."""
from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    def __init__(self, name: str, interval_s: float, step: Callable[[], None]):
        self.interval_s, self.step = interval_s, step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current step, waiting at most 5 s for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.step()
