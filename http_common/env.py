"""The one typed reader of environment variables, for each service's `config.py` (and gunicorn's settings).

Every variable is read through it, so a blank value always means "the default", and a bad one always stops
the service with one line naming the variable. Settings are read nowhere else (tests/unit/test_one_rule_one_place.py).
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TypeVar, overload

T = TypeVar("T", int, float)
FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


class ConfigError(ValueError):
    """A setting the service cannot run with; the message names the variable."""


MIN_SECRET_BYTES = 32
# Values people paste from examples; a secret containing one of these words is refused.
PLACEHOLDER_WORDS = ("replace", "change", "secret", "example", "placeholder", "default", "password", "xxxx", "todo")
MAKE_ONE = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def refuse_weak_secret(name: str, value: str, when: str = "") -> None:
    """A key that signs sessions or a token that guards an API: a short or pasted one lets anyone in (DESIGN §11).
    `when` says in which setting the rule holds, for the message."""
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"{name} must be at least {MIN_SECRET_BYTES} bytes{when} (got {len(value.encode())}); {MAKE_ONE}")
    if any(word in value.lower() for word in PLACEHOLDER_WORDS) or len(set(value)) < 8:
        raise ConfigError(f"{name}{when} is a placeholder; {MAKE_ONE}")


class Env:
    """Typed reads of one environment (os.environ by default, or any mapping: the tests pass dicts)."""

    def __init__(self, values: Mapping[str, str] | None = None):
        self.values = os.environ if values is None else values

    def raw(self, name: str) -> str:
        """The value, stripped; "" when unset."""
        return self.values.get(name, "").strip()

    def as_given(self, name: str, default: str) -> str:
        """The value exactly as set (not stripped: "" may mean "off"), `default` when unset."""
        return self.values.get(name, default)

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    @overload
    def path(self, name: str, default: Path) -> Path: ...

    @overload
    def path(self, name: str, default: None) -> Path | None: ...

    def path(self, name: str, default: Path | None) -> Path | None:
        raw = self.raw(name)
        return Path(raw) if raw else default

    def choice(self, name: str, default: str, allowed: Collection[str]) -> str:
        value = self.raw(name).lower() or default
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def integer(self, name: str, default: int, minimum: int = 1, maximum: int = 1_000_000) -> int:
        """A whole number from `minimum` to `maximum`: every setting has a sane ceiling, so a typo of a few
        extra digits stops the service instead of asking for a million workers or a pool of 10**400."""
        value = self._converted(name, int, "a whole number")
        if value is None:
            return default
        if not minimum <= value <= maximum:
            raise ConfigError(f"{name} must be from {minimum} to {maximum}, got {_shown(self.raw(name))}")
        return value

    def number(self, name: str, default: float, minimum: float, above: bool = False, maximum: float = 1e6) -> float:
        """A finite number from `minimum` (more than it, with `above`) to `maximum`; nan and inf never pass."""
        value = self._converted(name, float, "a number")
        if value is None:
            return default
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {_shown(self.raw(name))}")
        if not (value > minimum if above else value >= minimum) or value > maximum:
            raise ConfigError(f"{name} must be {'more than' if above else 'from'} {minimum:g} "
                              f"{'and at most' if above else 'to'} {maximum:g}, got {_shown(self.raw(name))}")
        return value

    def _converted(self, name: str, convert: Callable[[str], T], what: str) -> T | None:
        """The value through `convert`, None when unset, ConfigError naming the variable when it fails."""
        raw = self.raw(name)
        if not raw:
            return None
        try:
            return convert(raw)
        except ValueError:
            raise ConfigError(f"{name} must be {what}, got {_shown(raw)}") from None

    def flag(self, name: str, default: bool) -> bool:
        raw = self.raw(name).lower()
        if not raw:
            return default
        if raw not in FLAGS:
            raise ConfigError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")
        return FLAGS[raw]


def _shown(raw: str) -> str:
    """A refused value as the one line shows it: quoted, and cut short (a 400-digit value is one line too)."""
    return repr(raw) if len(raw) <= 40 else repr(raw[:40]) + f"… ({len(raw)} characters)"
