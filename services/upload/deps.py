"""What routes depend on, as ``Annotated`` dependencies: the database pool, the Kafka producer,
the settings, the outbound policy, the mail-server check, the signed-in workspace and a page of
a list.

The lifespan (services/upload/main.py) opens the pool and the producer and keeps them on the
app; routes never reach into ``request.app.state`` themselves. Every dependency is ``async``:
FastAPI runs a plain ``def`` one in its thread pool, a hop (and a thread woken) per request
that cost single writes ~10 % of the upload service's event loop under load (make bench-api).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request

from services.upload.auth import AdminOnly, CurrentWorkspace, Workspace
from services.upload.group_commit import GroupCommit
from services.upload.mail_check import MailCheck
from services.upload.pagination import Paging, pages
from shared import outbound
from shared.settings import Settings as _Settings


async def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


async def _producer(request: Request) -> AIOKafkaProducer:
    return request.app.state.producer


async def _settings(request: Request) -> _Settings:
    return request.app.state.settings


async def _outbound(request: Request) -> outbound.Policy:
    return request.app.state.outbound


async def _mail_check(request: Request) -> MailCheck:
    return request.app.state.mail_check


async def _group_commit(request: Request) -> GroupCommit:
    return request.app.state.group_commit


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Producer = Annotated[AIOKafkaProducer, Depends(_producer)]
Settings = Annotated[_Settings, Depends(_settings)]
Outbound = Annotated[outbound.Policy, Depends(_outbound)]
MailServer = Annotated[MailCheck, Depends(_mail_check)]  # whether email can be sent now
Writes = Annotated[GroupCommit, Depends(_group_commit)]  # single writes, group-committed
PageById = Annotated[Paging, Depends(pages("text"))]  # lists keyed by an id (or a name)
PageByTime = Annotated[Paging, Depends(pages("pair"))]  # lists keyed by (timestamp, id)
PageByRow = Annotated[Paging, Depends(pages("int"))]  # lists keyed by a row number

__all__ = [
    "AdminOnly",
    "CurrentWorkspace",
    "MailServer",
    "Outbound",
    "PageById",
    "PageByRow",
    "PageByTime",
    "Pool",
    "Producer",
    "Settings",
    "Workspace",
    "Writes",
]
