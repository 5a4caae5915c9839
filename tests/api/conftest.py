"""An in-process API client over each database, with a small market behind it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sparecap.api.app import create_app
from sparecap.bootstrap import Platform
from tests.support.market import Party, party

_keys = itertools.count()


class Api:
    """A TestClient that signs requests with a participant's key and adds idempotency keys."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, who: Party | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {who.key}"} if who else {}
        return self.client.get(path, headers=headers, params=params)

    def write(
        self, method: str, path: str, who: Party, body: Any = None, key: str | None = None
    ) -> Any:
        headers = {
            "Authorization": f"Bearer {who.key}",
            "Idempotency-Key": key or f"k{next(_keys)}",
        }
        return self.client.request(method, path, headers=headers, json=body)

    def post(self, path: str, who: Party, body: Any = None, key: str | None = None) -> Any:
        return self.write("POST", path, who, body, key)


@pytest.fixture
def api(platform: Platform) -> Iterator[Api]:
    with TestClient(create_app(platform, background=False)) as client:
        yield Api(client)


@pytest.fixture
def people(platform: Platform) -> dict[str, Party]:
    return {
        "operator": party(platform, "Operator", "operator"),
        "auditor": party(platform, "Auditor", "auditor"),
        "provider": party(platform, "Provider", "provider"),
        "rival": party(platform, "Rival provider", "provider"),
        "demander": party(platform, "Demander", "demander"),
        "other": party(platform, "Other demander", "demander"),
    }
