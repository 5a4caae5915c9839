"""Witness quorum: a real second Sparecap server cosigns our checkpoints, and finality shows in
receipts and bundles that `sparecap ledger verify --witness ... --quorum N` checks offline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from typer.testing import CliRunner

from sparecap.api.app import create_app
from sparecap.bootstrap import Platform, Settings, build_platform
from sparecap.bootstrap.scheduler import cosign_once, sign_checkpoint_once
from sparecap.bootstrap.witnesses import WitnessEndpoint
from sparecap.cli.main import app as cli
from sparecap.db.ledger import LedgerCosignature
from sparecap.domain.clock import FixedClock
from sparecap.domain.ledger.cosignature import CosignatureSigner, CosignatureVerifier
from sparecap.domain.ledger.note import verify_note
from sparecap.gateways.witness_client import HttpWitnessClient
from sparecap.services.ledger import append_entry
from sparecap.services.ledger_finality import final_evidence_bundle
from tests.conftest import T0
from tests.support.pgserver import free_port
from tests.support.witness import WitnessProcess, fresh_origin, witness_process

pytestmark = pytest.mark.slow  # the witness is a real server process


@pytest.fixture(scope="module")
def witness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WitnessProcess]:
    with witness_process(tmp_path_factory.mktemp("witness")) as process:
        yield process


@pytest.fixture
def client() -> Iterator[HttpWitnessClient]:
    http = HttpWitnessClient(timeout=30)
    yield http
    http.close()


def open_log(
    db_url: str,
    keys: Path,
    witnesses: list[WitnessEndpoint],
    quorum: int,
    *,
    origin: str | None = None,
) -> Platform:
    settings = Settings(
        database_url=db_url,
        ledger_key_path=keys / "ledger.key",
        ledger_origin=origin or fresh_origin(),
        ledger_witnesses=witnesses,
        ledger_witness_quorum=quorum,
    )
    return build_platform(settings, clock=FixedClock(T0))


@pytest.fixture
def log(db_url: str, tmp_path: Path, witness: WitnessProcess) -> Iterator[Platform]:
    """A log the witness trusts, with the witness as its only one and a quorum of 1."""
    platform = open_log(db_url, tmp_path / "keys", [witness.endpoint()], 1)
    witness.trust(platform.settings.ledger_origin, platform.ledger.verifier.vkey)
    yield platform
    platform.close()


def grow(platform: Platform, count: int) -> int:
    """Append `count` entries and sign; returns the new checkpoint's size."""
    with platform.db.write() as s:
        for i in range(count):
            append_entry(s, kind="test", subject=f"test:{i}", at=T0, data={"n": i})
    return sign_checkpoint_once(platform)


def outcomes(platform: Platform, client: HttpWitnessClient) -> list[tuple[str, str]]:
    return [(r.outcome, r.detail) for r in cosign_once(platform, client)]


def unknown_witness_vkey(name: str = "nobody.test/witness") -> str:
    return CosignatureSigner.generate(name).verifier().vkey


def verify_cli(bundle: dict[str, object], path: Path, *args: str) -> tuple[int, str]:
    path.write_text(json.dumps(bundle))
    result = CliRunner().invoke(cli, ["ledger", "verify", str(path), *args])
    return result.exit_code, result.output


def test_the_witness_cosigns_each_checkpoint_from_the_size_it_last_saw(
    log: Platform, witness: WitnessProcess, client: HttpWitnessClient
) -> None:
    grow(log, 5)
    assert outcomes(log, client) == [("cosigned", "")]
    assert outcomes(log, client) == [("already", "")]
    # 300 more entries: the request carries a consistency proof from 5 across a tile boundary.
    size = grow(log, 300)
    assert outcomes(log, client) == [("cosigned", "")]
    with TestClient(create_app(log, background=False)) as api:
        checkpoint = api.get("/v1/ledger/checkpoint")
        receipt = api.get("/v1/ledger/entries/7").json()
        status = api.get("/v1/ledger/finality").json()
    assert checkpoint.headers["Sparecap-Finality"] == "final"
    assert receipt["finality"]["final"] and receipt["finality"]["quorum"] == 1
    assert [c["witness"] for c in receipt["finality"]["cosignatures"]] == [witness.name]
    assert status["size"] == status["newest_final_size"] == size
    # The receipt's checkpoint is a signed note anyone can check with the two public keys.
    cosigner = CosignatureVerifier.from_vkey(witness.vkey)
    note = verify_note(receipt["checkpoint"], [log.ledger.verifier, cosigner])
    assert {s.name for s in note.verified} == {log.settings.ledger_origin, witness.name}


def test_a_lost_answer_is_recovered_from_the_size_in_the_witness_409(
    log: Platform, client: HttpWitnessClient
) -> None:
    grow(log, 9)
    assert outcomes(log, client) == [("cosigned", "")]
    # We forget the cosignature (a crash before storing it): we offer from 0, the witness
    # answers 409 with its size 9, and we offer again with a proof from 9.
    with log.db.write() as s:
        s.execute(delete(LedgerCosignature))
    grow(log, 4)
    assert outcomes(log, client) == [("cosigned", "")]


def test_a_bundle_is_final_offline_only_with_the_quorum_of_trusted_witnesses(
    log: Platform, witness: WitnessProcess, client: HttpWitnessClient, tmp_path: Path
) -> None:
    grow(log, 3)
    cosign_once(log, client)
    with log.db.read() as s:
        bundle = final_evidence_bundle(
            s,
            seqs=[0, 2],
            origin=log.settings.ledger_origin,
            keys=log.ledger,
            policy=log.finality,
        )
    path = tmp_path / "bundle.json"
    vkey = ["--vkey", log.ledger.verifier.vkey]
    code, out = verify_cli(bundle, path, *vkey, "--witness", witness.vkey)
    assert code == 0, out
    assert f"final: cosigned by {witness.name} (quorum 1)" in out

    other = unknown_witness_vkey()
    code, out = verify_cli(bundle, path, *vkey, "--witness", witness.vkey, "--witness", other)
    assert code == 1 and "nobody.test/witness: no cosignature" in out
    code, out = verify_cli(
        bundle, path, *vkey, "--witness", witness.vkey, "--witness", other, "--quorum", "1"
    )
    assert code == 0, out

    forged = dict(bundle)
    head, line = bundle["checkpoint"].rsplit("— ", 1)
    name, b64 = line.split(" ")
    forged["checkpoint"] = f"{head}— {name} {b64[:20]}{'A' if b64[20] != 'A' else 'B'}{b64[21:]}"
    code, out = verify_cli(forged, path, *vkey, "--witness", witness.vkey)
    assert code == 1 and f"cosignature of {witness.name} does not verify" in out


def test_without_the_quorum_a_checkpoint_is_pending_and_receipts_say_so(
    db_url: str, tmp_path: Path, witness: WitnessProcess, client: HttpWitnessClient
) -> None:
    absent = WitnessEndpoint(
        name="absent.test/witness",
        vkey=unknown_witness_vkey("absent.test/witness"),
        url=f"http://127.0.0.1:{free_port()}/tlog/add-checkpoint",
    )
    platform = open_log(db_url, tmp_path / "keys", [witness.endpoint(), absent], 2)
    try:
        witness.trust(platform.settings.ledger_origin, platform.ledger.verifier.vkey)
        grow(platform, 4)
        results = dict(outcomes(platform, client))
        assert "cosigned" in results
        assert any("unreachable" in detail for detail in results.values())
        with TestClient(create_app(platform, background=False)) as api:
            assert api.get("/v1/ledger/checkpoint").headers["Sparecap-Finality"] == "pending"
            receipt = api.get("/v1/ledger/entries/1").json()
        assert receipt["finality"]["final"] is False
        assert len(receipt["finality"]["cosignatures"]) == 1
    finally:
        platform.close()


def test_a_cosignature_under_another_key_is_refused_and_not_stored(
    db_url: str, tmp_path: Path, witness: WitnessProcess, client: HttpWitnessClient
) -> None:
    impostor = WitnessEndpoint(
        name=witness.name, vkey=unknown_witness_vkey(witness.name), url=witness.url
    )
    platform = open_log(db_url, tmp_path / "keys", [impostor], 1)
    try:
        witness.trust(platform.settings.ledger_origin, platform.ledger.verifier.vkey)
        grow(platform, 2)
        [(outcome, detail)] = outcomes(platform, client)
        assert outcome == "failed" and "not a valid cosignature" in detail
        with platform.db.read() as s:
            assert s.query(LedgerCosignature).count() == 0
    finally:
        platform.close()


def test_a_witness_that_saw_a_longer_history_exposes_a_rolled_back_log(
    db_url: str, tmp_path: Path, witness: WitnessProcess, client: HttpWitnessClient
) -> None:
    """The same key and origin on a second, shorter database: the witness's size exposes it."""
    origin, keys = fresh_origin(), tmp_path / "keys"
    longer = open_log(
        f"sqlite:///{tmp_path / 'longer.sqlite3'}", keys, [witness.endpoint()], 1, origin=origin
    )
    shorter = open_log(db_url, keys, [witness.endpoint()], 1, origin=origin)
    try:
        witness.trust(origin, longer.ledger.verifier.vkey)
        grow(longer, 10)
        assert outcomes(longer, client) == [("cosigned", "")]
        grow(shorter, 3)
        [(outcome, detail)] = outcomes(shorter, client)
        assert outcome == "failed"
        assert "cosigned size 10 of this log, beyond our newest checkpoint 3" in detail
    finally:
        longer.close()
        shorter.close()
