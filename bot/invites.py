"""Signed, expiring invite links that open the web chat as a person of the organisation."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_SALT = "workroom-invite"


def make_token(secret: str, person_key: str) -> str:
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps({"p": person_key})


def read_token(secret: str, token: str, *, max_age_seconds: int) -> str | None:
    """Return the person key of a valid token, None if forged or expired."""
    try:
        data = URLSafeTimedSerializer(secret, salt=_SALT).loads(token, max_age=max_age_seconds)
    except (BadSignature, SignatureExpired):
        return None
    key = data.get("p") if isinstance(data, dict) else None
    return key if isinstance(key, str) else None


def invite_url(base_url: str, secret: str, person_key: str) -> str:
    return f"{base_url.rstrip('/')}/i/{make_token(secret, person_key)}"
