"""CSRF protection for every POST: the double-submit token. Each browser gets a random
token in an HttpOnly, SameSite=Strict cookie; pages put the same token in their forms
(`csrf`) and in a meta tag the board's script sends back as `X-CSRF-Token`. A POST whose
token is missing or differs from its cookie is refused (403) before it does anything:
another site can make a browser send the cookie, but cannot read it to copy it."""
from __future__ import annotations

import hmac
import secrets

COOKIE = "ll_csrf"
FIELD = "csrf"
HEADER = "x-csrf-token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def valid(cookie: str | None, sent: str | None) -> bool:
    return bool(cookie) and bool(sent) and hmac.compare_digest(str(cookie), str(sent))
