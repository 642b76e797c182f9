"""Signed unsubscribe links (DESIGN §8): every offer email carries one, and a POST to it suppresses the address.

The token is the address signed with the app's secret key (itsdangerous, as Flask signs its cookies): it
cannot be forged or pointed at someone else's address, and it never expires, as unsubscribe links must not.
"""
from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "unsubscribe"


class Links:
    """Makes and reads the signed unsubscribe links of one deployment."""

    def __init__(self, secret_keys: list[str], public_url: str):
        """`secret_keys` oldest first: links are signed with the last, and read with any (SECRET_KEY_FALLBACKS)."""
        self.serializer = URLSafeSerializer(secret_keys, salt=SALT)
        self.public_url = public_url.rstrip("/")

    def url(self, email: str) -> str:
        return f"{self.public_url}/unsubscribe/{self.serializer.dumps(email.strip().lower())}"

    def email_for(self, token: str) -> str | None:
        try:
            email = self.serializer.loads(token)
        except BadSignature:
            return None
        return email if isinstance(email, str) else None
