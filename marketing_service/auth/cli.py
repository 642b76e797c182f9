"""`python -m marketing_service users …` and `tokens …` (DESIGN §11): the admin page's operations for a shell,
on the database MARKETING_DB names (run it where the service runs: `docker compose exec marketing …`)."""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import TextIO

from marketing_service.auth.passwords import WeakPassword
from marketing_service.auth.roles import ROLES, TOKEN_ROLES, InvalidRole
from marketing_service.auth.tokens import create_token, list_tokens, revoke_token
from marketing_service.auth.users import UserError, add_user, disable_user, list_users
from marketing_service.config import ConfigError, MarketingConfig
from marketing_service.storage import Connection, open_storage

BY = "cli"


def say(text: str, stream: TextIO = sys.stderr) -> None:
    """A CLI's answer: the token (or a listing) on stdout, so `TOKEN=$(... tokens create ...)` works; the rest on stderr."""
    stream.write(text + "\n")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m marketing_service", description="Manage who may use marketing.")
    groups = top.add_subparsers(dest="group", required=True)
    users = groups.add_parser("users", help="people who sign in").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="add a user; the password is read from stdin")
    add.add_argument("name")
    # `webhook` passes argparse to get add_user's own answer: it is a token's role, never a person's.
    add.add_argument("--role", required=True, choices=TOKEN_ROLES, metavar="{" + ",".join(ROLES) + "}")
    users.add_parser("list", help="every user, with role and state")
    users.add_parser("disable", help="stop a user signing in (their sessions end at once)").add_argument("name")
    tokens = groups.add_parser("tokens", help="API tokens for scripts").add_subparsers(dest="action", required=True)
    create = tokens.add_parser("create", help="make a token; it is printed once, on stdout, and never again")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=TOKEN_ROLES,
                        help="webhook: a mail provider's token, for POST /api/mail-events only")
    tokens.add_parser("list", help="every token (never the token itself)")
    tokens.add_parser("revoke", help="refuse a token from now on").add_argument("name")
    return top


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise UserError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run(conn: Connection, args: argparse.Namespace) -> None:
    if args.group == "users":
        if args.action == "add":
            add_user(conn, args.name, args.role, read_password(), BY)
            say(f"added {args.name} ({args.role})")
        elif args.action == "disable":
            disable_user(conn, args.name)
            say(f"disabled {args.name}")
        else:
            for u in list_users(conn):
                say(f"{u['name']}\t{u['role']}\t{'disabled' if u['disabled'] else 'active'}\t{u['created_at']}", sys.stdout)
    elif args.action == "create":
        say(create_token(conn, args.name, args.role, BY), sys.stdout)
    elif args.action == "revoke":
        revoke_token(conn, args.name)
        say(f"revoked {args.name}")
    else:
        for t in list_tokens(conn):
            state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "live"
            say(f"{t['name']}\t{t['role']}\t{state}\t{t['created_at']}", sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        storage = open_storage(MarketingConfig.from_env())
        storage.init_db()
    except ConfigError as exc:
        say(f"error: {exc}")
        return 2
    conn = storage.connect()
    try:
        run(conn, args)
    except (UserError, InvalidRole, WeakPassword) as exc:
        say(f"error: {exc}")
        return 1
    finally:
        conn.close()
        storage.close()
    return 0
