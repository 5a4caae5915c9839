"""Every booking change lands on the verifiable log in its own transaction, provably."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from sparecap.api.app import create_app
from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import sign_checkpoint_once
from sparecap.cli.main import app as cli
from sparecap.db.models import LedgerCheckpoint, LedgerEntry
from sparecap.domain.ledger.checkpoint import parse_checkpoint
from sparecap.domain.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from sparecap.domain.ledger.note import parse_note
from sparecap.services.bookings import BookingIn, create_booking
from sparecap.services.errors import ConflictError
from sparecap.services.ledger import consistency, receipt
from tests.support.market import Party, charger_spec, make_resource, party

TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def book(platform: Platform, who: Party, resource: int) -> int:
    with platform.db.write() as s:
        request = BookingIn(resource_id=resource, start=TEN, end=TEN + timedelta(hours=1))
        return create_booking(s, ctx=platform.ctx, principal=who.principal, request=request).id


def entries(platform: Platform) -> list[dict]:
    with platform.db.read() as s:
        rows = s.scalars(select(LedgerEntry.payload).order_by(LedgerEntry.seq))
        return [json.loads(p) for p in rows]


@pytest.fixture
def market(platform: Platform) -> tuple[Party, int]:
    provider = party(platform, "Provider Ltd", "provider")
    demander = party(platform, "Zhang San", "demander")
    return demander, make_resource(platform, provider, charger_spec(units=[{"name": "only"}]))


def test_a_booking_and_its_entries_commit_together_and_a_refusal_writes_none(
    platform: Platform, market: tuple[Party, int]
) -> None:
    demander, resource = market
    booking_id = book(platform, demander, resource)
    logged = entries(platform)
    assert [(e["subject"], e["data"]["event"], e["data"]["to"]) for e in logged] == [
        (f"booking:{booking_id}", "hold", "held"),
        (f"booking:{booking_id}", "book", "confirmed"),
    ]
    with pytest.raises(ConflictError):
        book(platform, demander, resource)
    assert len(entries(platform)) == 2
    # No names on the log: people are pseudonyms.
    text_of_log = json.dumps(logged, ensure_ascii=False)
    assert "Zhang San" not in text_of_log and "Provider Ltd" not in text_of_log
    assert len(logged[0]["data"]["demander"]) == 32


def test_receipts_and_consistency_proofs_verify(
    platform: Platform, market: tuple[Party, int]
) -> None:
    demander, resource = market
    book(platform, demander, resource)
    first_size = sign_checkpoint_once(platform)
    another = party(platform, "Li Si", "demander")
    with platform.db.write() as s:
        request = BookingIn(
            resource_id=resource, start=TEN + timedelta(hours=2), end=TEN + timedelta(hours=3)
        )
        create_booking(s, ctx=platform.ctx, principal=another.principal, request=request)
    second_size = sign_checkpoint_once(platform)
    assert (first_size, second_size) == (2, 4)
    with platform.db.read() as s:
        got = receipt(s, seq=1)
        proof = consistency(s, first=first_size, second=second_size)
    note = parse_note(got["checkpoint"])
    checkpoint = parse_checkpoint(note.text)
    leaf = leaf_hash(got["payload"].encode())
    hashes = [base64.b64decode(h) for h in got["inclusion_proof"]]
    verify_inclusion(leaf, 1, checkpoint.size, hashes, checkpoint.root_hash)
    with platform.db.read() as s:
        roots = {size: s.get(LedgerCheckpoint, size).root_hash for size in (2, 4)}
    hashes = [base64.b64decode(h) for h in proof["proof"]]
    verify_consistency(2, 4, roots[2], roots[4], hashes)


def test_an_evidence_bundle_verifies_offline_and_tampering_is_named(
    platform: Platform, market: tuple[Party, int], tmp_path: Path
) -> None:
    demander, resource = market
    booking_id = book(platform, demander, resource)
    sign_checkpoint_once(platform)
    runner = CliRunner()
    with TestClient(create_app(platform, background=False)) as client:
        headers = {"Authorization": f"Bearer {demander.key}"}
        bundle = client.get(f"/v1/bookings/{booking_id}/evidence", headers=headers).json()
        vkey = client.get("/v1/ledger/key").json()["verifier_key"]
        assert client.get("/v1/ledger/checkpoint").text.startswith("sparecap.local/ledger\n2\n")
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    result = runner.invoke(cli, ["ledger", "verify", str(path), "--vkey", vkey])
    assert result.exit_code == 0, result.output
    assert "OK: 2 entries" in result.output

    forged = json.loads(path.read_text())
    forged["entries"][1]["payload"] = forged["entries"][1]["payload"].replace(
        "confirmed", "cancelled"
    )
    path.write_text(json.dumps(forged))
    result = runner.invoke(cli, ["ledger", "verify", str(path), "--vkey", vkey])
    assert result.exit_code == 1 and "entry #1 (seq 1): not in the signed log" in result.output

    # An operator who edits the database row cannot make the old checkpoint agree either.
    with platform.db.write() as s:
        s.execute(
            text(
                "UPDATE ledger_entries SET payload = replace(payload, 'hold', 'book') WHERE seq = 0"
            )
        )
    with TestClient(create_app(platform, background=False)) as client:
        rebuilt = client.get(f"/v1/bookings/{booking_id}/evidence", headers=headers).json()
    path.write_text(json.dumps(rebuilt))
    result = runner.invoke(cli, ["ledger", "verify", str(path), "--vkey", vkey])
    assert result.exit_code == 1 and "seq 0" in result.output

    other_key = "other.example/log+01234567+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
    path.write_text(json.dumps(bundle))
    result = runner.invoke(cli, ["ledger", "verify", str(path), "--vkey", other_key])
    assert result.exit_code == 1 and "checkpoint" in result.output


def test_entries_are_numbered_without_gaps(platform: Platform, market: tuple[Party, int]) -> None:
    demander, resource = market
    book(platform, demander, resource)
    with platform.db.read() as s:
        seqs = list(s.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)))
        count = s.scalar(select(func.count()).select_from(LedgerEntry))
    assert seqs == list(range(count))
