"""The API tier: the upload service's app in-process (``TestClient``), on the session's real
PostgreSQL and Kafka, with no worker running. It checks what a request alone decides (tokens,
validation, 404s, error bodies, limits) in seconds; what the workers do is the e2e tier's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from infra.stack import Stack
from services.upload.main import create_app
from shared.settings import Settings
from tests.support.api import Api


def app_settings(stack: Stack, **overrides: Any) -> Settings:
    """The settings the upload service gets from the test stack (its environment), with
    ``overrides``."""
    env = stack.env("upload")
    fields = {
        key.removeprefix("USHER_").lower(): value
        for key, value in env.items()
        if key.startswith("USHER_") and key.removeprefix("USHER_").lower() in Settings.model_fields
    }
    return Settings(**{**fields, **overrides})


@pytest.fixture(scope="session")
def app(stack: Stack) -> FastAPI:
    return create_app(app_settings(stack))


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    """One client for the tier: the lifespan (pool, producer) opens once."""
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http


@pytest.fixture
def api(client: TestClient) -> Api:
    """A new workspace, signed in."""
    return Api.new_workspace(http=client)


@pytest.fixture
def anonymous(client: TestClient) -> Api:
    return Api(http=client)
