"""What every answer carries (DESIGN §5): a strict Content-Security-Policy (no inline script or style),
nosniff, frame denial and a same-origin referrer."""
from __future__ import annotations

from flask import Response

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")


def security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
