"""The three roles and their order: each role may do all that the ones below it may (DESIGN §11)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

ROLES = ("viewer", "marketer", "admin")  # lowest first
F = TypeVar("F", bound=Callable[..., object])


class InvalidRole(ValueError):
    pass


def checked_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidRole(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def at_least(role: str, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def default_role(method: str) -> str:
    """What a route needs when it says nothing: reading is for viewers, changing anything for marketers.
    So a new route is never open by accident, and never writable by a viewer."""
    return "viewer" if method in ("GET", "HEAD", "OPTIONS") else "marketer"


def requires(role: str) -> Callable[[F], F]:
    """Mark a view as needing `role` (checked before the view runs, by web/access.py)."""
    checked_role(role)

    def mark(view: F) -> F:
        view.required_role = role  # type: ignore[attr-defined]
        return view

    return mark
