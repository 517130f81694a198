"""Remote imports: pull list members from MailChimp or people profiles from Mixpanel.

The request is validated here and the import created as ``queued``; the parser does the pulling.
Credentials are encrypted into ``imports.secret`` (``shared.crypto``) before anything is stored
and are never echoed: not in the response, not in errors, not in Kafka, not in logs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import phonenumbers
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from services.upload import repository as repo
from services.upload import storage
from services.upload.auth import CurrentWorkspace
from services.upload.errors import ApiError, invalid
from services.upload.queueing import request_import
from services.upload.routers.imports import public_import, tag_problems
from shared import outbound
from shared.crypto import encrypt_json
from shared.errors import SecretUnavailable
from shared.ids import new_id

router = APIRouter(prefix="/api/imports", tags=["imports"])

MAILCHIMP_PAGE_SIZE = 1000
MailchimpStatus = Literal[
    "subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"
]
_DATA_CENTER = re.compile(r"-[a-z]+[0-9]+$")
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class RemoteOptions(BaseModel):
    """What every remote import takes besides its credentials."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    kind: Literal["users", "leads"] = "users"
    tag: str | None = Field(default=None, max_length=255)
    trigger_messages: bool = True
    date_order: Literal["DMY", "MDY"] = "DMY"
    default_country: str | None = None


class MailchimpRequest(RemoteOptions):
    api_key: SecretStr = Field(min_length=1, max_length=200)
    list_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    status: MailchimpStatus | None = "subscribed"  # None: members of every status


class MixpanelRequest(RemoteOptions):
    project_id: int | Annotated[str, StringConstraints(pattern=r"^\s*[0-9]{1,20}\s*$")]
    service_account_username: Text
    service_account_secret: SecretStr = Field(min_length=1, max_length=500)
    region: Literal["us", "eu", "in"] = "us"


async def _base_url(request: Request, raw: str | None) -> str | None:
    """``scheme://host[:port][/prefix]`` without a trailing slash, at an address Usher may
    reach (SPEC §8); 422 for anything else."""
    if raw is None or not raw.strip():
        return None
    policy: outbound.Policy = request.app.state.outbound
    try:
        url = await policy.check_url(raw, "base_url", credentials=False)
    except outbound.Refused as exc:
        raise invalid(str(exc)) from None
    if url.query or url.fragment:
        raise invalid("base_url is an origin only: no credentials, query or fragment")
    return raw.strip().rstrip("/")


async def _common(request: Request, body: RemoteOptions) -> dict[str, Any]:
    problems: list[str] = []
    country = body.default_country.strip().upper() if body.default_country else None
    if country is not None and country not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(f"default_country: {country!r} is not an ISO 3166 alpha-2 country code")
    problems.extend(tag_problems(body.tag))
    if problems:
        raise invalid(f"the import cannot start: {'; '.join(problems)}", problems)
    tag = body.tag.strip() if body.tag and body.tag.strip() else None
    return {
        "kind": body.kind,
        "tag": tag,
        "trigger_messages": body.trigger_messages,
        "date_order": body.date_order,
        "default_country": country,
        "base_url": await _base_url(request, body.base_url),
        "format": "ndjson",  # the snapshot of pulled records
    }


async def _create(
    request: Request,
    workspace_id: str,
    source: str,
    display: str,
    options: dict[str, Any],
    secret: dict[str, str],
) -> dict[str, Any]:
    app = request.app
    try:
        sealed = encrypt_json(app.state.settings, secret)
    except SecretUnavailable as exc:
        raise ApiError(503, "unavailable", str(exc)) from None
    import_id = new_id("imp_")
    async with app.state.pool.acquire() as conn:
        await repo.insert_import(
            conn,
            id=import_id,
            workspace_id=workspace_id,
            source=source,
            kind=options["kind"],
            status="queued",
            tag=options["tag"],
            trigger_messages=options["trigger_messages"],
            file_key=storage.new_key(),  # where the parser keeps what it pulled
            file_name=display,
            options=options,
            secret=sealed,
        )
    await request_import(app, workspace_id, import_id)
    row = await repo.get_import(app.state.pool, workspace_id, import_id)
    return public_import(row)


@router.post("/mailchimp", status_code=202)
async def mailchimp(
    body: MailchimpRequest, request: Request, workspace: CurrentWorkspace
) -> dict[str, Any]:
    """Import the members of a MailChimp audience (``list_id``), by default the subscribed ones."""
    options = await _common(request, body)
    api_key = body.api_key.get_secret_value().strip()
    if options["base_url"] is None and not _DATA_CENTER.search(api_key):
        raise invalid(
            "api_key: a MailChimp API key ends with its data center, like '…-us6';"
            " copy the whole key from Account › Extras › API keys"
        )
    options.update(list_id=body.list_id, status=body.status, page_size=MAILCHIMP_PAGE_SIZE)
    return await _create(
        request,
        workspace.id,
        "mailchimp",
        f"MailChimp audience {body.list_id}",
        options,
        {"api_key": api_key},
    )


@router.post("/mixpanel", status_code=202)
async def mixpanel(
    body: MixpanelRequest, request: Request, workspace: CurrentWorkspace
) -> dict[str, Any]:
    """Import the people profiles of a Mixpanel project through a service account."""
    options = await _common(request, body)
    project_id = str(body.project_id).strip()
    options.update(project_id=project_id, region=body.region)
    return await _create(
        request,
        workspace.id,
        "mixpanel",
        f"Mixpanel project {project_id}",
        options,
        {
            "username": body.service_account_username,
            "secret": body.service_account_secret.get_secret_value(),
        },
    )
