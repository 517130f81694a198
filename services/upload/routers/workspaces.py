"""Workspaces (admin token only)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from services.upload import repository as repo
from services.upload.auth import hash_token
from services.upload.deps import AdminOnly, Pool
from services.upload.schemas import Name, WorkspaceCreated
from shared.ids import new_id

router = APIRouter(prefix="/api/workspaces", tags=["workspaces"])


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


@router.post("", status_code=201, dependencies=[AdminOnly], response_model=WorkspaceCreated)
async def create(body: WorkspaceCreate, pool: Pool) -> WorkspaceCreated:
    """Returns the workspace token once (only its hash is stored), and the secret that signs
    its webhooks (README: Receiving webhooks)."""
    token = "wsk_" + secrets.token_urlsafe(32)
    workspace_id = new_id("ws_")
    webhook_secret = secrets.token_hex(32)
    async with pool.acquire() as conn:
        await repo.create_workspace(
            conn, workspace_id, body.name.strip(), hash_token(token), webhook_secret
        )
    return WorkspaceCreated(
        id=workspace_id, name=body.name.strip(), token=token, webhook_secret=webhook_secret
    )
