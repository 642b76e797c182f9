"""The roles and their order: each role of the ladder may do all that the ones below it may (DESIGN §11); `webhook`
stands outside it, for a mail provider's token that may post mail events and nothing else (DESIGN §12)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

ROLES = ("viewer", "marketer", "admin")  # the ladder, lowest first
WEBHOOK = "webhook"  # not a viewer: only the views that name it (POST /api/mail-events) let it in
TOKEN_ROLES = (*ROLES, WEBHOOK)  # what an API token may carry; a person (a user) only ROLES
F = TypeVar("F", bound=Callable[..., object])


class InvalidRole(ValueError):
    pass


def checked_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidRole(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def checked_user_role(role: str) -> str:
    """A person's role: one of the ladder. `webhook` is for a provider's token, which nobody signs in as."""
    if role == WEBHOOK:
        raise InvalidRole(f"the role {WEBHOOK} is for API tokens only (tokens create NAME --role {WEBHOOK});"
                          f" a user's role is one of {', '.join(ROLES)}")
    return checked_role(role)


def checked_token_role(role: str) -> str:
    if role not in TOKEN_ROLES:
        raise InvalidRole(f"role must be one of {', '.join(TOKEN_ROLES)}, got {role!r}")
    return role


def at_least(role: str, needed: str) -> bool:
    """On the ladder only: a role outside it (webhook) is never at least anything."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def may_call(role: str, needed: str, also: frozenset[str] = frozenset()) -> bool:
    """Whether `role` passes a view that needs `needed` (or above) or names `role` in `also`."""
    return at_least(role, needed) or role in also


def default_role(method: str) -> str:
    """What a route needs when it says nothing: reading is for viewers, changing anything for marketers.
    So a new route is never open by accident, and never writable by a viewer (nor by a webhook token)."""
    return "viewer" if method in ("GET", "HEAD", "OPTIONS") else "marketer"


def requires(role: str, *also: str) -> Callable[[F], F]:
    """Mark a view as needing `role` or above, or one of the roles `also` names outside the ladder (checked before
    the view runs, by web/access.py)."""
    checked_role(role)
    extra = frozenset(checked_token_role(r) for r in also)

    def mark(view: F) -> F:
        view.required_role = role  # type: ignore[attr-defined]
        view.also_roles = extra  # type: ignore[attr-defined]
        return view

    return mark
