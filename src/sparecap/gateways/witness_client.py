"""Talking to witnesses: the C2SP tlog-witness add-checkpoint call over HTTP.

The protocol is the seam: the submitter only needs "POST this body to that URL, give me the
status, content type and text back". The HTTP adapter is the only one; tests point it at a
real second Sparecap server acting as the witness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

# tlog-witness "add-checkpoint": the request body is plain text.
REQUEST_CONTENT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class WitnessReply:
    status: int
    content_type: str
    text: str


class WitnessUnreachableError(Exception):
    """The witness did not answer (connection refused, timeout, broken response)."""


class WitnessClient(Protocol):
    def add_checkpoint(self, url: str, body: bytes) -> WitnessReply: ...


class HttpWitnessClient:
    """One connection pool for all witnesses; safe to share between threads (httpx.Client)."""

    def __init__(self, *, timeout: float) -> None:
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def add_checkpoint(self, url: str, body: bytes) -> WitnessReply:
        try:
            response = self._client.post(
                url, content=body, headers={"Content-Type": REQUEST_CONTENT_TYPE}
            )
        except httpx.HTTPError as exc:
            raise WitnessUnreachableError(f"{url}: {exc}") from exc
        return WitnessReply(
            response.status_code, response.headers.get("content-type", ""), response.text
        )

    def close(self) -> None:
        self._client.close()
