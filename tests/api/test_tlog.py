"""The log as static files (c2sp.org/tlog-tiles) and Sparecap as a witness (c2sp.org/tlog-witness).

The mirror client here speaks only HTTP GET of /tlog/checkpoint and /tlog/tile/...; it copies the
log into a folder and checks it from those files alone. The witness is fed checkpoints of a
second, independent log kept in memory by the test.
"""

from __future__ import annotations

import base64
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sparecap.api.app import create_app
from sparecap.api.routes import tlog
from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import sign_checkpoint_once
from sparecap.domain.clock import FixedClock
from sparecap.domain.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from sparecap.domain.ledger.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    cosignature_timestamp,
)
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.merkle import leaf_hash, root_from_leaf_hashes
from sparecap.domain.ledger.note import Ed25519NoteSigner, Ed25519NoteVerifier, verify_note
from sparecap.domain.ledger.proofs import tree_root
from sparecap.domain.ledger.tiles import (
    TILE_WIDTH,
    TileID,
    TileReader,
    decode_entry_bundle,
    split_tile,
    tiles_for_size,
)
from sparecap.services import witness as witness_svc
from sparecap.services.ledger import append_entry
from tests.conftest import T0

OTHER_ORIGIN = "example.com/other-log"


def tlog_app(platform: Platform) -> FastAPI:
    app = create_app(platform, background=False)
    # Until app.py registers the router itself; never twice.
    if not any(getattr(route, "path", None) == "/tlog/checkpoint" for route in app.routes):
        app.include_router(tlog.router)
    return app


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(tlog_app(platform)) as c:
        yield c


def fill(platform: Platform, count: int) -> None:
    with platform.db.write() as s:
        for i in range(count):
            append_entry(s, kind="test", subject=f"test:{i}", at=T0, data={"n": i})


# --- a mirror that knows only the log's origin, its verifier key and two GET endpoints ---------


class MirrorError(Exception):
    """The copied files do not add up to the signed checkpoint."""


def mirror(client: TestClient, folder: Path) -> None:
    """Copy the checkpoint and every tile and entry bundle it covers as static files."""
    note = client.get("/tlog/checkpoint")
    assert note.status_code == 200, note.text
    folder.mkdir()
    (folder / "checkpoint").write_bytes(note.content)
    size = int(note.text.split("\n")[1])
    tiles = list(tiles_for_size(size))
    bundles = [TileID(0, t.index, t.width, entries=True) for t in tiles if t.level == 0]
    for tile in tiles + bundles:
        response = client.get(f"/tlog/{tile.path()}")
        assert response.status_code == 200, (tile.path(), response.text)
        (folder / tile.path()).parent.mkdir(parents=True, exist_ok=True)
        (folder / tile.path()).write_bytes(response.content)


def verify_static_log(read: Callable[[str], bytes], vkey: str, origin: str) -> Checkpoint:
    """Check a copied log from its files alone; any disagreement raises MirrorError."""
    try:
        checkpoint = open_checkpoint(
            read("checkpoint"), [Ed25519NoteVerifier.from_vkey(vkey)], origin=origin
        )
        size = checkpoint.size
        root = tree_root(TileReader(lambda t: read(t.path()), size), size)
        if root != checkpoint.root_hash:
            raise MirrorError(f"tiles give root {root.hex()}, checkpoint {size} signs another")
        for tile in tiles_for_size(size):
            if split_tile(read(tile.path()), tile.width) != _hashes_below(read, tile):
                raise MirrorError(f"{tile.path()} disagrees with the level below it")
    except LedgerError as exc:
        raise MirrorError(str(exc)) from exc
    return checkpoint


def _hashes_below(read: Callable[[str], bytes], tile: TileID) -> list[bytes]:
    """What a tile must hold: its entries' leaf hashes (level 0), or full tiles' roots above."""
    if tile.level == 0:
        bundle = TileID(0, tile.index, tile.width, entries=True)
        return [leaf_hash(e) for e in decode_entry_bundle(read(bundle.path()))]
    first = tile.index * TILE_WIDTH
    return [
        root_from_leaf_hashes(split_tile(read(TileID(tile.level - 1, i).path()), TILE_WIDTH))
        for i in range(first, first + tile.width)
    ]


def test_a_static_mirror_recomputes_the_signed_root_and_any_flipped_byte_is_caught(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    fill(platform, 520)
    sign_checkpoint_once(platform)
    fill(platform, 5)  # unsigned entries must not leak into the mirror
    folder = tmp_path / "mirror"
    mirror(client, folder)
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    assert sorted(files) == [
        "checkpoint",
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/8",
        "tile/1/000.p/2",
        "tile/entries/000",
        "tile/entries/001",
        "tile/entries/002.p/8",
    ]
    vkey, origin = platform.ledger.verifier.vkey, platform.settings.ledger_origin
    checkpoint = verify_static_log(lambda p: (folder / p).read_bytes(), vkey, origin)
    assert checkpoint.size == 520

    for name, data in files.items():
        tampered = dict(files)
        middle = len(data) // 2
        tampered[name] = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
        with pytest.raises(MirrorError):
            verify_static_log(tampered.__getitem__, vkey, origin)
    # Two hashes swapped inside a level-0 tile are caught too (same bytes, wrong order).
    tile = files["tile/0/001"]
    swapped = dict(files, **{"tile/0/001": tile[32:64] + tile[:32] + tile[64:]})
    with pytest.raises(MirrorError, match="tile/0/001"):
        verify_static_log(swapped.__getitem__, vkey, origin)


def test_tiles_are_octet_streams_and_only_full_tiles_are_cached_forever(
    platform: Platform, client: TestClient
) -> None:
    assert client.get("/tlog/checkpoint").status_code == 404
    fill(platform, 260)
    sign_checkpoint_once(platform)
    note = client.get("/tlog/checkpoint")
    assert note.headers["content-type"] == "text/plain; charset=utf-8"
    assert note.headers["cache-control"] == "no-cache"
    assert note.text.startswith(f"{platform.settings.ledger_origin}\n260\n")
    full = client.get("/tlog/tile/0/000")
    partial = client.get("/tlog/tile/entries/001.p/4")
    assert (full.status_code, len(full.content)) == (200, 8192)
    assert full.headers["content-type"] == "application/octet-stream"
    assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert partial.status_code == 200 and "cache-control" not in partial.headers
    assert partial.headers["content-type"] == "application/octet-stream"
    beyond = client.get("/tlog/tile/0/001.p/5")
    assert beyond.status_code == 404 and beyond.json()["error"]["code"] == "tile_not_signed"
    assert client.get("/tlog/tile/0/1").json()["error"]["code"] == "unknown_tile"


# --- the witness side -----------------------------------------------------------------------


class OtherLog:
    """An independent log: a MemoryTree and its own Ed25519 key."""

    def __init__(self, signer: Ed25519NoteSigner | None = None) -> None:
        self.signer = signer or Ed25519NoteSigner.generate(OTHER_ORIGIN)
        self.tree = MemoryTree()

    def grow(self, count: int, tag: str = "entry") -> None:
        start = self.tree.size
        self.tree.extend(f"{tag} {start + i}".encode() for i in range(count))

    def signed(self, size: int) -> str:
        return sign_checkpoint(Checkpoint(OTHER_ORIGIN, size, self.tree.root(size)), [self.signer])

    def request(self, old: int, size: int, proof: list[bytes] | None = None) -> bytes:
        if proof is None:
            proof = self.tree.consistency_proof(old, size) if old else []
        lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
        return f"old {old}\n{lines}\n{self.signed(size)}".encode()


@pytest.fixture
def other(platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OtherLog:
    log = OtherLog()
    logs = tmp_path / "witnessed-logs"
    logs.write_text(f"# origin vkey\n{OTHER_ORIGIN} {log.signer.verifier().vkey}\n")
    monkeypatch.setattr(platform.settings, "witness_logs", logs)
    monkeypatch.setattr(platform.settings, "witness_state", tmp_path / "witness-state")
    return log


def witness_of(platform: Platform) -> witness_svc.Witness:
    settings = platform.settings
    return witness_svc.load_witness(
        logs=settings.witness_logs,
        state_dir=settings.witness_state,
        name=settings.witness_name,
        ledger_key_path=settings.ledger_key_path,
        ledger_origin=settings.ledger_origin,
    )


def cosigned_at(note: str, response_text: str, verifier: CosignatureVerifier) -> int:
    """tlog-witness client side: append the lines to the note, verify with the witness key."""
    assert response_text.startswith("— ") and response_text.endswith("\n")
    return cosignature_timestamp(verify_note(note + response_text, [verifier]), verifier)


def post(client: TestClient, body: bytes) -> tuple[int, str]:
    response = client.post("/tlog/add-checkpoint", content=body)
    return response.status_code, response.text


def test_the_witness_cosigns_each_consistent_checkpoint(
    platform: Platform, client: TestClient, other: OtherLog, clock: FixedClock
) -> None:
    other.grow(5)
    status, text = post(client, other.request(0, 5))
    assert status == 200, text
    witness = witness_of(platform)
    verifier = witness.cosigner.verifier()
    assert cosigned_at(other.signed(5), text, verifier) == int(T0.timestamp())
    # The witness key is its own 0600 file beside the ledger key, not the ledger key.
    key_file = platform.settings.ledger_key_path.with_name("witness.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert verifier.public_key != platform.ledger.verifier.public_key
    assert verifier.name == f"{platform.settings.ledger_origin}/witness"

    for grow_by in (1, 7, 300):  # 300 crosses a power of two and a tile boundary
        old = other.tree.size
        other.grow(grow_by)
        clock.advance(timedelta(seconds=90))
        status, text = post(client, other.request(old, other.tree.size))
        assert status == 200, text
        assert cosigned_at(other.signed(other.tree.size), text, verifier) == int(
            clock.now().timestamp()
        )
    # The same checkpoint again is cosigned again (old size = size, same root, empty proof).
    size = other.tree.size
    status, text = post(client, other.request(size, size))
    assert status == 200
    # Another key under the witness's name does not verify the line: it is this key's.
    someone_else = CosignatureSigner.generate(verifier.name).verifier()
    with pytest.raises(LedgerError, match="no signature from a trusted key"):
        verify_note(other.signed(size) + text, [someone_else])


def test_the_witness_refuses_a_rollback(client: TestClient, other: OtherLog) -> None:
    other.grow(12)
    assert post(client, other.request(0, 5))[0] == 200
    assert post(client, other.request(5, 12))[0] == 200
    # A client still at size 5 is told the witness's size (409, text/x.tlog.size).
    stale = client.post("/tlog/add-checkpoint", content=other.request(5, 12))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "text/x.tlog.size"
    assert stale.text == "12\n"
    # A log that offers a smaller tree than the witness holds is refused.
    status, text = post(client, other.request(0, 5))
    assert (status, text) == (409, "12\n")
    rollback = client.post("/tlog/add-checkpoint", content=other.request(12, 5, proof=[]))
    assert rollback.status_code == 400
    assert (
        "rollback refused: old size 12 is larger than the checkpoint's size 5"
        in (rollback.json()["error"]["message"])
    )


def test_the_witness_refuses_forks_and_keeps_the_evidence(
    client: TestClient, other: OtherLog, tmp_path: Path
) -> None:
    other.grow(12)
    assert post(client, other.request(0, 12))[0] == 200
    # The same key signs a second history: same size, another root.
    fork = OtherLog(other.signer)
    fork.grow(20, tag="forged")
    response = client.post("/tlog/add-checkpoint", content=fork.request(12, 12, proof=[]))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "fork"
    assert error["message"].startswith(f"fork: {OTHER_ORIGIN} has two checkpoints of size 12")
    # A larger forked tree cannot prove it extends the cosigned one.
    response = client.post(
        "/tlog/add-checkpoint", content=fork.request(12, 20, fork.tree.consistency_proof(12, 20))
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "inconsistent_checkpoint"
    assert "is not proven to extend checkpoint 12" in response.json()["error"]["message"]
    # A real extension with one proof hash changed is refused the same way.
    other.grow(8)
    proof = other.tree.consistency_proof(12, 20)
    proof[-1] = bytes(32)
    assert post(client, other.request(12, 20, proof))[0] == 422
    # The refused requests were signed by the log: the witness kept them.
    assert len(list((tmp_path / "witness-state").glob("*.refused/*.txt"))) == 3
    # ...and still cosigns the honest history.
    assert post(client, other.request(12, 20))[0] == 200


def test_the_witness_answers_unknown_logs_bad_signatures_and_bad_requests_per_spec(
    client: TestClient, other: OtherLog
) -> None:
    other.grow(3)
    stranger = Ed25519NoteSigner.generate("example.com/unknown")
    unknown = sign_checkpoint(Checkpoint("example.com/unknown", 3, other.tree.root()), [stranger])
    response = client.post("/tlog/add-checkpoint", content=f"old 0\n\n{unknown}".encode())
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_log")
    impostor = OtherLog(Ed25519NoteSigner.generate(OTHER_ORIGIN))
    impostor.tree = other.tree
    response = client.post("/tlog/add-checkpoint", content=impostor.request(0, 3))
    assert (response.status_code, response.json()["error"]["code"]) == (403, "untrusted_checkpoint")
    good = other.signed(3)
    for body in (
        f"old 00\n\n{good}",
        f"old -1\n\n{good}",
        f"new 0\n\n{good}",
        f"old 0\n{good}",
        f"old 0\nnot-base64\n\n{good}",
        f"old 0\n{base64.b64encode(bytes(31)).decode()}\n\n{good}",
        "old 0\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + f"\n{good}",
        "old 0\n\nexample.com/other-log\n3\n",
        f"old 5\n\n{good}",
    ):
        response = client.post("/tlog/add-checkpoint", content=body.encode())
        assert response.status_code == 400, body
    assert client.post("/tlog/add-checkpoint", content=b"x" * 70_000).status_code == 400
    # A non-empty proof from size 0 is not a proof of anything.
    proof = base64.b64encode(bytes(32)).decode()
    assert post(client, f"old 0\n{proof}\n\n{good}".encode())[0] == 422
    assert post(client, other.request(0, 3))[0] == 200


def test_the_witness_state_survives_restarts_and_racing_requests_cannot_roll_it_back(
    platform: Platform, other: OtherLog
) -> None:
    other.grow(40)
    with TestClient(tlog_app(platform)) as first:
        assert post(first, other.request(0, 10))[0] == 200
    witness = witness_of(platform)  # a restarted server reads the same state file
    sizes = list(range(11, 41))
    results: dict[int, int] = {}
    barrier = threading.Barrier(len(sizes))

    def submit(size: int) -> None:
        barrier.wait()
        try:
            witness_svc.add_checkpoint(witness, body=other.request(10, size), at=T0)
            results[size] = 200
        except witness_svc.OldSizeMismatchError:
            results[size] = 409

    threads = [threading.Thread(target=submit, args=(s,)) for s in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [s for s, status in results.items() if status == 200]
    assert len(winners) == 1 and len(results) == len(sizes)
    with TestClient(tlog_app(platform)) as second:
        stale = second.post("/tlog/add-checkpoint", content=other.request(10, 40))
        assert (stale.status_code, stale.text) == (409, f"{winners[0]}\n")
        assert post(second, other.request(winners[0], 40))[0] == 200
