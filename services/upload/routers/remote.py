"""Remote imports: pull list members from MailChimp or people profiles from Mixpanel.

The request is validated here and the import created as ``queued``; the parser does the pulling.
Credentials are encrypted into ``imports.secret`` (``shared.crypto``) before anything is stored
and are never echoed: not in the response, not in errors, not in Kafka, not in logs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from services.upload import repository as repo
from services.upload import rules, storage, validation
from services.upload.deps import CurrentWorkspace, Outbound, Pool, Producer, Settings
from services.upload.errors import ApiError, invalid
from services.upload.schemas import ImportPublic
from shared import import_store
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


async def _options(policy: Outbound, body: RemoteOptions) -> dict[str, Any]:
    problems = rules.common_problems(body.tag, body.default_country)
    if problems:
        raise invalid(f"the import cannot start: {'; '.join(problems)}", problems)
    common = rules.CommonOptions.of(body.tag, body.default_country)
    return {
        "kind": body.kind,
        "tag": common.tag,
        "trigger_messages": body.trigger_messages,
        "date_order": body.date_order,
        "default_country": common.default_country,
        "base_url": await validation.base_url(policy, body.base_url),
        "format": "ndjson",  # the snapshot of pulled records
    }


class _Creator:
    """Creates a remote import (queued, credentials sealed) and requests it."""

    def __init__(
        self, pool: Pool, producer: Producer, settings: Settings, workspace_id: str
    ) -> None:
        self.pool, self.producer, self.settings = pool, producer, settings
        self.workspace_id = workspace_id

    async def create(
        self, source: str, display: str, options: dict[str, Any], secret: dict[str, str]
    ) -> ImportPublic:
        try:
            sealed = encrypt_json(self.settings, secret)
        except SecretUnavailable as exc:
            raise ApiError(503, "unavailable", str(exc)) from None
        import_id = new_id("imp_")
        async with self.pool.acquire() as conn:
            await repo.insert_import(
                conn,
                id=import_id,
                workspace_id=self.workspace_id,
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
        await import_store.request(self.producer, self.settings, self.workspace_id, import_id)
        return ImportPublic.from_row(await repo.get_import(self.pool, self.workspace_id, import_id))


@router.post("/mailchimp", status_code=202, response_model=ImportPublic)
async def mailchimp(
    body: MailchimpRequest,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
    policy: Outbound,
) -> ImportPublic:
    """Import the members of a MailChimp audience (``list_id``), by default the subscribed ones."""
    options = await _options(policy, body)
    api_key = body.api_key.get_secret_value().strip()
    if options["base_url"] is None and not _DATA_CENTER.search(api_key):
        raise invalid(
            "api_key: a MailChimp API key ends with its data center, like '…-us6';"
            " copy the whole key from Account › Extras › API keys"
        )
    options.update(list_id=body.list_id, status=body.status, page_size=MAILCHIMP_PAGE_SIZE)
    return await _Creator(pool, producer, settings, workspace.id).create(
        "mailchimp", f"MailChimp audience {body.list_id}", options, {"api_key": api_key}
    )


@router.post("/mixpanel", status_code=202, response_model=ImportPublic)
async def mixpanel(
    body: MixpanelRequest,
    workspace: CurrentWorkspace,
    pool: Pool,
    producer: Producer,
    settings: Settings,
    policy: Outbound,
) -> ImportPublic:
    """Import the people profiles of a Mixpanel project through a service account."""
    options = await _options(policy, body)
    project_id = str(body.project_id).strip()
    options.update(project_id=project_id, region=body.region)
    secret = {
        "username": body.service_account_username,
        "secret": body.service_account_secret.get_secret_value(),
    }
    return await _Creator(pool, producer, settings, workspace.id).create(
        "mixpanel", f"Mixpanel project {project_id}", options, secret
    )
