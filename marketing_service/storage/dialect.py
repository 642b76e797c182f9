"""The few SQL words SQLite and PostgreSQL spell differently; everything else is one SQL for both.

SQLite serialises every write transaction (BEGIN IMMEDIATE), so it needs no row locks; PostgreSQL runs them
side by side, so a claim must lock the rows it takes and skip those another worker is taking
(`FOR UPDATE SKIP LOCKED`), and a read that decides a write locks what it read (`FOR UPDATE`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from marketing_service.storage.protocol import Connection

T = TypeVar("T")


def is_postgres(conn: Connection) -> bool:
    return conn.dialect == "postgresql"


def skip_locked(conn: Connection) -> str:
    """Ends a claim's subquery: rows another transaction is claiming are left to it."""
    return " FOR UPDATE SKIP LOCKED" if is_postgres(conn) else ""


def for_update(conn: Connection) -> str:
    return " FOR UPDATE" if is_postgres(conn) else ""


def least(conn: Connection) -> str:
    """The smaller of its arguments: SQLite's scalar MIN is PostgreSQL's LEAST."""
    return "LEAST" if is_postgres(conn) else "MIN"


def probability_bin(conn: Connection) -> str:
    """A probability's histogram bin: `? bins`, capped at `?` (SQLite's CAST truncates, PostgreSQL's rounds)."""
    if is_postgres(conn):
        return "LEAST(CAST(FLOOR(churn_probability * ?) AS INTEGER), ?)"
    return "MIN(CAST(churn_probability * ? AS INTEGER), ?)"


def in_lock_order(conn: Connection, items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """Items in the one order every PostgreSQL transaction writes customers in: two transactions locking the
    same rows in opposite orders deadlock, and one is refused (seen with lists sent in opposite orders).
    SQLite, serialising writers, keeps the caller's order (it numbers new rows in it)."""
    return sorted(items, key=key) if is_postgres(conn) else list(items)
