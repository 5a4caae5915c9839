"""C2SP tlog-tiles (the log as static files a mirror can copy) and tlog-witness (Sparecap as a
witness for other logs) over HTTP, under /tlog.

All of it is public and unauthenticated, as both specs intend: tiles are checked against the
signed checkpoint by whoever fetches them, and a witness request is authenticated only by the
log's signature on its checkpoint (tlog-witness "Introduction").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from sparecap.api.deps import PlatformDep
from sparecap.services import ledger
from sparecap.services import tiles as tile_svc
from sparecap.services import witness as witness_svc

router = APIRouter(prefix="/tlog", tags=["tlog"])

# tlog-tiles "Checkpoints": mutable, so headers "SHOULD prevent caching beyond a few seconds".
CHECKPOINT_CACHE = "no-cache"
# tlog-tiles "Merkle Tree" / "Log entries": "immutable, so its caching headers SHOULD be
# long-lived". Only full tiles get this: a partial tile MAY be deleted later ("Partial Tiles").
FULL_TILE_CACHE = "public, max-age=31536000, immutable"
TILE_CONTENT_TYPE = "application/octet-stream"


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(platform: PlatformDep) -> PlainTextResponse:
    """The newest signed checkpoint (text/plain; charset=utf-8, per tlog-tiles)."""
    with platform.db.read() as session:
        note = ledger.latest_checkpoint(session).note
    return PlainTextResponse(note, headers={"Cache-Control": CHECKPOINT_CACHE})


@router.get(
    "/tile/{path:path}",
    response_class=Response,
    responses={200: {"content": {TILE_CONTENT_TYPE: {}}}},
)
def tile(path: str, platform: PlatformDep) -> Response:
    """A hash tile `tile/<L>/<N>[.p/<W>]` or entry bundle `tile/entries/<N>[.p/<W>]`."""
    with platform.db.read() as session:
        content = tile_svc.read_tile(session, path=f"tile/{path}")
    headers = {"Cache-Control": FULL_TILE_CACHE} if content.immutable else {}
    return Response(content.data, media_type=TILE_CONTENT_TYPE, headers=headers)


async def _request_body(request: Request) -> bytes:
    """The raw body, refused once it passes the size no witness request needs."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > witness_svc.MAX_REQUEST_BYTES:
            raise witness_svc.WitnessRequestError(
                f"request body is over {witness_svc.MAX_REQUEST_BYTES} bytes"
            )
    return bytes(body)


def _witness(platform: PlatformDep) -> witness_svc.Witness:
    # Read per request: the trusted-logs file can change without a restart, and it is small.
    settings = platform.settings
    return witness_svc.load_witness(
        logs=settings.witness_logs,
        state_dir=settings.witness_state,
        name=settings.witness_name,
        ledger_key_path=settings.ledger_key_path,
        ledger_origin=settings.ledger_origin,
    )


@router.post("/add-checkpoint", response_class=PlainTextResponse)
def add_checkpoint(
    platform: PlatformDep,
    body: Annotated[bytes, Depends(_request_body)],
    witness: Annotated[witness_svc.Witness, Depends(_witness)],
) -> Response:
    """tlog-witness "add-checkpoint": our cosignature line if the checkpoint extends the last one.

    Errors: 400 malformed or rollback, 403 not signed by the log's key, 404 unknown log,
    409 old size mismatch (body: our size) or same size with another root, 422 bad proof.
    """
    try:
        line = witness_svc.add_checkpoint(witness, body=body, at=platform.ctx.clock.now())
    except witness_svc.OldSizeMismatchError as exc:
        # The spec fixes this answer exactly: the size, a newline, Content-Type text/x.tlog.size
        # (set as a header so no charset parameter is appended).
        return Response(
            f"{exc.size}\n",
            status_code=409,
            headers={"Content-Type": witness_svc.SIZE_CONTENT_TYPE},
        )
    return PlainTextResponse(line)
