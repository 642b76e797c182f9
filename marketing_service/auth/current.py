"""Who is making this request, for `created_by` (DESIGN §11): set by web/access.py's door before any view runs."""
from __future__ import annotations

from flask import g


def actor() -> str:
    """A user's name, or `token:NAME` for a bearer token."""
    return str(g.user.name)
