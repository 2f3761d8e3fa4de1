"""Who is calling: an API key (``Authorization: Bearer``), an anonymous browser user held in a
signed HttpOnly cookie, or — only on a loopback server with no keys — the single local user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from docspasta.api.errors import ApiError
from docspasta.store import Store

COOKIE = "docspasta_user"
COOKIE_MAX_AGE = 365 * 24 * 3600
LOCAL_USER = "local"


@dataclass(frozen=True)
class Identity:
    user_id: str
    kind: str  # "key", "anonymous" or "local"


class Authenticator:
    """Decides the caller's identity; one per app."""

    def __init__(
        self, store: Store, secret: str, *, local_mode: bool, allow_anonymous: bool
    ) -> None:
        self._store = store
        self._cookies = URLSafeSerializer(secret, salt="docspasta-anonymous-user")
        self.local_mode = local_mode
        self.allow_anonymous = allow_anonymous

    async def identify(self, request: Request, response: Response) -> Identity:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, "unauthorized", "use Authorization: Bearer <api key>")
            user_id = await self._store.user_for_key(token.strip())
            if user_id is None:
                raise ApiError(
                    401,
                    "unauthorized",
                    "invalid or revoked API key",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return Identity(user_id, "key")
        cookie = request.cookies.get(COOKIE)
        if cookie is not None:
            try:
                anonymous = self._cookies.loads(cookie)
            except BadSignature:
                anonymous = None
            if isinstance(anonymous, str) and anonymous.startswith("anon:"):
                return Identity(anonymous, "anonymous")
        if self.local_mode:
            return Identity(LOCAL_USER, "local")
        if not self.allow_anonymous:
            raise ApiError(
                401,
                "unauthorized",
                "an API key is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        anonymous = f"anon:{uuid.uuid4()}"
        response.set_cookie(
            COOKIE,
            self._cookies.dumps(anonymous),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return Identity(anonymous, "anonymous")
