"""API tokens (DESIGN §11): shown once at creation, stored as a SHA-256 hash. A token is 256 random bits, so
a fast hash is enough (nothing to guess from it), and a lookup by hash is one indexed read per request."""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

from marketing_service.auth.roles import checked_token_role
from marketing_service.auth.users import User, UserError, checked_name
from marketing_service.storage import Connection, now_iso

PREFIX = "mkt_"  # says what a leaked string is (secret scanners match prefixes)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create_token(conn: Connection, name: str, role: str, created_by: str) -> str:
    """A new token for `name`; the only time it exists in clear is the returned string."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = (checked_name(name), checked_token_role(role), digest(token), created_by, now_iso())
    with conn.transaction():
        if conn.execute("SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone():
            raise UserError(f"there is already a token {name!r}; revoke it first")
        conn.execute("DELETE FROM api_tokens WHERE name = ?", (name,))  # a revoked one of that name
        conn.execute("INSERT INTO api_tokens (name, role, token_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?)", row)
    return token


def revoke_token(conn: Connection, name: str) -> None:
    with conn.transaction():
        done = conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (now_iso(), name))
        if done.rowcount == 0:
            raise UserError(f"there is no live token {name!r}")


def list_tokens(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT name, role, created_by, created_at, revoked_at FROM api_tokens ORDER BY name").fetchall()
    return [{"name": r[0], "role": r[1], "created_by": r[2], "created_at": r[3], "revoked_at": r[4]} for r in rows]


def token_user(conn: Connection, token: str) -> User | None:
    """Who a bearer token speaks for (named `token:NAME` in created_by), or None if unknown or revoked."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = conn.execute("SELECT name, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                       (digest(token),)).fetchone()
    return User(f"token:{row[0]}", row[1], False) if row else None
