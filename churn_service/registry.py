"""Follow the model registry (DESIGN §7): which artifact to serve, and a thread that swaps in a new one.

Each worker polls `<MODEL_REGISTRY>/CURRENT` every MODEL_POLL_SECONDS, off the request path. A new
version is loaded and verified (hash, restricted unpickling, features within the contract) before it is
swapped in; one that fails is refused: the old model keeps serving, the refusal is logged and listed in
`GET /model` under `warnings`, and the same files are not tried again. The refusal is remembered by what
was refused (the files' identity and the manifest's bytes), not by the version's name: a version repaired
in place, or made current again after repair, is loaded.
A SIGHUP to the gunicorn master restarts the workers gracefully, and new workers read CURRENT at once.
The same follower follows `SHADOW` (DESIGN §13, churn_service/shadow/): an optional pointer, so a missing or
empty file means "none", and a refused version leaves none rather than an older one.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from churn_service.model.artifact import ArtifactError
from churn_service.serving import Serving, load_serving
from http_common.periodic import Periodic

log = logging.getLogger(__name__)


class RegistryUnusable(ArtifactError):
    """The registry names no model the service could start with."""


def current_model_path(registry: Path) -> Path:
    """`<registry>/<CURRENT>/model.bin`, or RegistryUnusable saying what is missing."""
    path = pointed_model_path(registry, "CURRENT")
    if path is None:
        raise RegistryUnusable(f"{registry}/CURRENT not found: train a model into the registry first "
                               f"(python -m train --registry {registry})")
    return path


def pointed_model_path(registry: Path, pointer: str) -> Path | None:
    """`<registry>/<version named in the pointer file>/model.bin`; None when the file is missing or empty."""
    try:
        version = (registry / pointer).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryUnusable(f"{registry}/{pointer} is unreadable: {exc.strerror}") from None
    if not version and pointer != "CURRENT":
        return None
    if not version or "/" in version or version.startswith("."):
        raise RegistryUnusable(f"{registry}/{pointer} does not name a version: {version[:40]!r}")
    return registry / version / "model.bin"


class Versioned(Protocol):
    """What the follower reads of the model in use (a `Serving`, or the shadow's challenger)."""

    @property
    def version(self) -> str: ...


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
    """Swaps `set_serving(new)` when the pointer (CURRENT) names a new, verified version; records refusals.

    With `optional=True` (SHADOW) the pointer may name nothing: `set_serving(None)` when it is missing or empty,
    and also when the version it names is refused."""

    def __init__(self, registry: Path, poll_s: float, get_serving: Callable[[], Versioned | None],
                 set_serving: Callable[[Serving | None], None], pointer: str = "CURRENT", optional: bool = False):
        self.registry, self.poll_s, self.pointer, self.optional = registry, poll_s, pointer, optional
        self.get_serving, self.set_serving = get_serving, set_serving
        self.refusals: list[str] = []
        self._refused: tuple[str, Fingerprint] | None = None  # the version refused, as its files were then
        self._ticker = Periodic(f"{pointer.lower()}-follower", poll_s, self.poll)

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

    def poll(self) -> None:
        """`check`, with any failure logged: a bad file never stops the following; the old model keeps serving."""
        try:
            self.check()
        except Exception:
            log.exception("checking %s/%s failed; still using %s", self.registry, self.pointer, self._held())

    def _held(self) -> str | None:
        serving = self.get_serving()
        return None if serving is None else serving.version

    def check(self) -> bool:
        """One look at the pointer; True if the model was swapped (for an optional pointer, also to none)."""
        path = pointed_model_path(self.registry, self.pointer)
        if path is None:
            if not self.optional:
                raise RegistryUnusable(f"{self.registry}/{self.pointer} not found")
            if self.get_serving() is None:
                return False
            self.set_serving(None)
            log.info("%s names no version now: none in use", self.pointer)
            return True
        version = path.parent.name
        if version == self._held():
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
            named = "version" if self.pointer == "CURRENT" else f"{self.pointer} version"
            self.refusals = [*self.refusals[-9:], f"refused {named} {version}: {exc}"]
            if self.optional:
                self.set_serving(None)
            log.error("REFUSED %s model %s: %s; now using %s", self.pointer, version, exc, self._held())
            return False
        self.set_serving(serving)
        self._refused = None
        log.info("%s: now using model %s from %s", self.pointer, serving.version, path)
        return True
