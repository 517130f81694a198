"""Workspaces (admin token only)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from services.upload import repository as repo
from services.upload.auth import AdminOnly, hash_token
from services.upload.schemas import Name
from shared.ids import new_id

router = APIRouter(prefix="/api/workspaces", tags=["workspaces"])


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


@router.post("", status_code=201, dependencies=[AdminOnly])
async def create(body: WorkspaceCreate, request: Request) -> dict[str, Any]:
    """Returns the workspace token once (only its hash is stored), and the secret that signs
    its webhooks (``X-Usher-Signature: sha256=<HMAC-SHA256 of the body>``)."""
    token = "wsk_" + secrets.token_urlsafe(32)
    workspace_id = new_id("ws_")
    webhook_secret = secrets.token_hex(32)
    async with request.app.state.pool.acquire() as conn:
        await repo.create_workspace(
            conn, workspace_id, body.name.strip(), hash_token(token), webhook_secret
        )
    return {
        "id": workspace_id,
        "name": body.name.strip(),
        "token": token,
        "webhook_secret": webhook_secret,
    }
