"""Users (DESIGN §11): a name, a role, an argon2 hash, and whether they may still sign in. Disabled, never
deleted, so what they did keeps a name to point at (`created_by`)."""
from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from marketing_service.auth.passwords import hash_password, verify
from marketing_service.auth.roles import checked_user_role
from marketing_service.storage import Connection, now_iso

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
ADMIN = "admin"
log = logging.getLogger(__name__)


class UserError(ValueError):
    """A refused change, with a message for the person who asked."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    disabled: bool


def checked_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise UserError("a name is 1 to 64 letters, digits or . _ @ -, starting with a letter or digit")
    return name


def add_user(conn: Connection, name: str, role: str, password: str, created_by: str) -> None:
    """A new user; adding a disabled one again gives them back their name with a new role and password."""
    row = (checked_name(name), checked_user_role(role), hash_password(password), created_by, now_iso())
    with conn.transaction():
        found = conn.execute("SELECT disabled FROM users WHERE name = ?", (name,)).fetchone()
        if found and not found[0]:
            raise UserError(f"there is already an active user {name!r}")
        if found:
            conn.execute("UPDATE users SET role = ?, password_hash = ?, disabled = 0, created_by = ?, created_at = ?"
                         " WHERE name = ?", (*row[1:], name))
        else:
            conn.execute("INSERT INTO users (name, role, password_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?)", row)


def disable_user(conn: Connection, name: str) -> None:
    with conn.transaction():
        if conn.execute("UPDATE users SET disabled = 1 WHERE name = ?", (name,)).rowcount == 0:
            raise UserError(f"there is no user {name!r}")


def list_users(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT name, role, disabled, created_by, created_at FROM users ORDER BY name").fetchall()
    return [{"name": r[0], "role": r[1], "disabled": bool(r[2]), "created_by": r[3], "created_at": r[4]} for r in rows]


def find_user(conn: Connection, name: str) -> User | None:
    row = conn.execute("SELECT name, role, disabled FROM users WHERE name = ?", (name,)).fetchone()
    return User(row[0], row[1], bool(row[2])) if row else None


def check_password(conn: Connection, name: str, password: str) -> User | None:
    """The user, if `password` is theirs and they are not disabled; the same work (one argon2 verify) either way."""
    row = conn.execute("SELECT name, role, disabled, password_hash FROM users WHERE name = ?", (name,)).fetchone()
    if not verify(row[3] if row else None, password) or row is None or row[2]:
        return None
    return User(row[0], row[1], False)


def seed_admin(conn: Connection, password: str) -> str | None:
    """On a database with no users, create `admin` with `password` (or a generated one). Returns the generated
    password to show once, or None. Several workers may start at once: one insert wins, the others see a user."""
    generated = "" if password else secrets.token_urlsafe(18)
    chosen = password or generated
    with conn.transaction():
        if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():
            return None
        conn.execute("INSERT INTO users (name, role, password_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?)"
                     " ON CONFLICT DO NOTHING", (ADMIN, "admin", hash_password(chosen), "first start", now_iso()))
    return generated or None
