"""The model registry of DESIGN §7: one folder per version, `CURRENT` naming the one served, and `SHADOW` the
challenger scored beside it (DESIGN §13).

`CURRENT` and `HISTORY` (every version served, oldest first, for rollback) are replaced atomically, under
an exclusive lock on `<registry>/.lock` (so a promote and a rollback at once cannot interleave them), and
a version appears only once complete (trained into a staging folder, then renamed into place), so the
churn service never reads a half-written model and a failed run leaves the registry as it was.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

VERSION_RE = re.compile(r"^[0-9a-f]{12}$")


class RegistryError(Exception):
    """The registry cannot do what was asked; the message is one line a person can act on."""


class Registry:
    def __init__(self, root: Path):
        self.root = root

    def prepare(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as exc:
            raise RegistryError(f"cannot write to registry {self.root}: {exc.strerror}") from None

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if VERSION_RE.match(p.name) and (p / "model.json").is_file())

    def current(self) -> str | None:
        try:
            version = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return version or None

    def history(self) -> list[str]:
        try:
            return (self.root / "HISTORY").read_text().split()
        except FileNotFoundError:
            return []

    def manifest(self, version: str) -> dict[str, Any]:
        return json.loads((self.root / version / "model.json").read_text())

    def staging(self) -> Path:
        """A folder to train into; `add` moves it into place, `discard` removes it."""
        return Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))

    def add(self, staging: Path, version: str) -> bool:
        """Move a complete staging folder into place; False if that exact version is already there."""
        target = self.root / version
        if target.exists():
            self.discard(staging)
            return False
        staging.chmod(0o755)
        os.rename(staging, target)
        return True

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def promote(self, version: str) -> bool:
        """Serve `version`; True if that changed CURRENT (False: it was already served)."""
        if version not in self.versions():
            known = ", ".join(self.versions()) or "none"
            raise RegistryError(f"no version {version!r} in {self.root} (versions: {known})")
        with self._locked():
            if version == self.current():
                return False
            self._replace("HISTORY", "".join(f"{v}\n" for v in [*self.history(), version]))
            self._replace("CURRENT", version + "\n")
        return True

    def shadow(self) -> str | None:
        """The challenger churn scores beside the served model (DESIGN §13's `SHADOW`), if any."""
        try:
            return (self.root / "SHADOW").read_text().strip() or None
        except FileNotFoundError:
            return None

    def set_shadow(self, version: str | None) -> None:
        """Name a challenger for churn to shadow-score, or (None) stop; replaced atomically like CURRENT."""
        if version is not None and version not in self.versions():
            known = ", ".join(self.versions()) or "none"
            raise RegistryError(f"no version {version!r} in {self.root} (versions: {known})")
        if version is not None and version == self.current():
            raise RegistryError(f"{version} is the version served: a shadow is a challenger to it, name another")
        with self._locked():
            if version is None:
                (self.root / "SHADOW").unlink(missing_ok=True)
            else:
                self._replace("SHADOW", version + "\n")

    def rollback(self) -> str:
        """Serve again the version served before the current one; returns it."""
        with self._locked():
            history = self.history()
            if len(history) < 2:
                raise RegistryError(f"nothing to roll back to in {self.root}: only {len(history)} version(s) ever served")
            previous = history[-2]
            self._replace("HISTORY", "".join(f"{v}\n" for v in history[:-1]))
            self._replace("CURRENT", previous + "\n")
        return previous

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Held from reading HISTORY to replacing CURRENT: a read-modify-write that two commands at once
        would otherwise interleave (one's change lost, or CURRENT not the last of HISTORY). The lock is
        the kernel's (flock), so a command that dies mid-way releases it."""
        try:
            lock = open(self.root / ".lock", "a")  # noqa: SIM115 - held across the block, closed below
        except OSError as exc:
            raise RegistryError(f"cannot lock registry {self.root}: {exc.strerror}") from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _replace(self, name: str, text: str) -> None:
        with tempfile.NamedTemporaryFile("w", dir=self.root, prefix=f".{name}.", delete=False) as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, self.root / name)
