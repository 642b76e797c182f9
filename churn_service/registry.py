"""Follow the model registry (DESIGN §7): which artifact to serve, and a thread that swaps in a new one.

Each worker polls `<MODEL_REGISTRY>/CURRENT` every MODEL_POLL_SECONDS, off the request path. A new
version is loaded and verified (hash, restricted unpickling, features within the contract) before it is
swapped in; one that fails is refused: the old model keeps serving, the refusal is logged and listed in
`GET /model` under `warnings`, and the same files are not tried again. The refusal is remembered by what
was refused (the files' identity and the manifest's bytes), not by the version's name: a version repaired
in place, or made current again after repair, is loaded.
A SIGHUP to the gunicorn master restarts the workers gracefully, and new workers read CURRENT at once.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from churn_service.model.artifact import ArtifactError
from churn_service.serving import Serving, load_serving

log = logging.getLogger(__name__)


class RegistryUnusable(ArtifactError):
    """The registry names no model the service could start with."""


def current_model_path(registry: Path) -> Path:
    """`<registry>/<CURRENT>/model.bin`, or RegistryUnusable saying what is missing."""
    try:
        version = (registry / "CURRENT").read_text().strip()
    except FileNotFoundError:
        raise RegistryUnusable(f"{registry}/CURRENT not found: train a model into the registry first "
                               f"(python -m train --registry {registry})") from None
    except OSError as exc:
        raise RegistryUnusable(f"{registry}/CURRENT is unreadable: {exc.strerror}") from None
    if not version or "/" in version or version.startswith("."):
        raise RegistryUnusable(f"{registry}/CURRENT does not name a version: {version[:40]!r}")
    return registry / version / "model.bin"


Fingerprint = tuple[tuple[int, int, int] | None, str]


def fingerprint_of(model_path: Path) -> Fingerprint:
    """What identifies one state of a version's files: model.bin's inode, size and mtime (it may be large),
    and a hash of model.json (small; a repair may rewrite it within one mtime tick). Missing files count too."""
    try:
        stat = os.stat(model_path)
        binary: tuple[int, int, int] | None = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    except OSError:
        binary = None
    try:
        manifest = hashlib.sha256(model_path.with_name("model.json").read_bytes()).hexdigest()
    except OSError:
        manifest = ""
    return binary, manifest


class ModelFollower:
    """Swaps `set_serving(new)` when CURRENT names a new, verified version; records refusals."""

    def __init__(self, registry: Path, poll_s: float, get_serving: Callable[[], Serving],
                 set_serving: Callable[[Serving], None]):
        self.registry, self.poll_s = registry, poll_s
        self.get_serving, self.set_serving = get_serving, set_serving
        self.refusals: list[str] = []
        self._refused: tuple[str, Fingerprint] | None = None  # the version refused, as its files were then
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check()
            except Exception:  # never let a bad file stop the following; the old model keeps serving
                log.exception("checking %s/CURRENT failed; still serving %s", self.registry, self.get_serving().version)

    def check(self) -> bool:
        """One look at CURRENT; True if a new model was swapped in."""
        path = current_model_path(self.registry)
        version = path.parent.name
        if version == self.get_serving().version:
            return False
        fingerprint = fingerprint_of(path)
        if self._refused == (version, fingerprint):
            return False
        try:
            serving = load_serving(path)
            if serving.version != version:
                raise ArtifactError(f"folder {version} holds model version {serving.version}")
        except ArtifactError as exc:
            self._refused = (version, fingerprint)
            self.refusals = [*self.refusals[-9:], f"refused version {version}: {exc}"]
            log.error("REFUSED model %s: %s; still serving %s", version, exc, self.get_serving().version)
            return False
        self.set_serving(serving)
        self._refused = None
        log.info("now serving model %s from %s", serving.version, path)
        return True
