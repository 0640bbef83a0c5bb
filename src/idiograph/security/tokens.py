"""Signed, expiring bearer tokens for API clients (itsdangerous)."""

from __future__ import annotations

import uuid

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_SALT = "idiograph.api-token"


def issue_token(secret: str, user_id: uuid.UUID) -> str:
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps({"uid": str(user_id)})


def read_token(secret: str, token: str, max_age_s: int) -> uuid.UUID | None:
    """The user id in a valid, unexpired token, else None."""
    try:
        data = URLSafeTimedSerializer(secret, salt=_SALT).loads(token, max_age=max_age_s)
        return uuid.UUID(data["uid"])
    except (BadSignature, SignatureExpired, KeyError, ValueError, TypeError):
        return None
