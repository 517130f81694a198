"""The web UI's sign-in: the workspace token exchanged once for a session cookie
(services.upload.sessions), who is signed in, and signing out."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from services.upload import auth, sessions
from services.upload.deps import CurrentWorkspace, Pool
from services.upload.errors import ApiError
from services.upload.schemas import SessionPublic, WorkspacePublic
from shared import jsonfile

router = APIRouter(prefix="/api/session", tags=["session"])


def _asked_token(raw: bytes) -> str:
    try:
        body = jsonfile.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token.strip():
        raise ApiError(
            401, "unauthorized", "send the workspace token as {'token': '<workspace token>'}"
        )
    return token.strip()


@router.post("", response_model=SessionPublic)
async def sign_in(request: Request, response: Response, pool: Pool) -> dict[str, Any]:
    """Check ``{"token"}`` (401 if it is not a workspace's; 429 after too many wrong ones)
    and open a session: its cookie is set, its CSRF value answered."""
    token = _asked_token(await request.body())  # the guard bounded its size
    client = request.client.host if request.client else "unknown"
    workspace = await auth.workspace_of(pool, request.app.state.limits, client, token)
    cookie, csrf, expires = await sessions.open_session(pool, workspace.id)
    response.set_cookie(
        sessions.COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/api",
    )
    return {
        "workspace": WorkspacePublic(id=workspace.id, name=workspace.name),
        "csrf_token": csrf,
        "expires_at": expires,
    }


@router.get("", response_model=SessionPublic)
async def current(request: Request, workspace: CurrentWorkspace) -> dict[str, Any]:
    """Who is signed in: the session's workspace and CSRF value (none for a Bearer token)."""
    session = getattr(request.state, "session", None)
    return {
        "workspace": WorkspacePublic(id=workspace.id, name=workspace.name),
        "csrf_token": session[1] if session else None,
        "expires_at": None,
    }


@router.delete("")
async def sign_out(
    request: Request, response: Response, workspace: CurrentWorkspace, pool: Pool
) -> dict[str, bool]:
    """End the session of the cookie (other tabs' next request is then a 401)."""
    session = getattr(request.state, "session", None)
    if session is not None:
        await sessions.close_session(pool, session[0])
    response.delete_cookie(sessions.COOKIE, path="/api", httponly=True, samesite="strict")
    return {"signed_out": True}
