"""The ledger audit replays the stored log and pins every kind of tampering to its first entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import sign_checkpoint_once
from sparecap.cli.main import app as cli
from sparecap.domain.bookings import Event
from sparecap.domain.ledger.replay import Check
from sparecap.services.bookings import (
    BookingIn,
    create_booking,
    reschedule_booking,
    transition_booking,
)
from sparecap.services.ledger_audit import LedgerAudit, audit_ledger
from tests.support.market import Party, charger_spec, make_resource, party

TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, where the chargers open 8-20
ENTRIES = 9


@dataclass
class Market:
    kept: int  # entries 0 hold, 1 book
    cancelled: int  # 2 hold, 3 book, 4 cancel
    moved: int  # 5 hold, 6 book, 7 reschedule
    held: int  # 8 hold


def book(platform: Platform, who: Party, resource: int, hours: int, *, hold: bool = False) -> int:
    start = TEN + timedelta(hours=hours)
    request = BookingIn(
        resource_id=resource, start=start, end=start + timedelta(hours=1), hold=hold
    )
    with platform.db.write() as s:
        return create_booking(s, ctx=platform.ctx, principal=who.principal, request=request).id


@pytest.fixture
def market(platform: Platform) -> Market:
    """Four bookings: kept, cancelled, rescheduled and only held; checkpoints at 4 and 9."""
    provider = party(platform, "Provider Ltd", "provider")
    demander = party(platform, "Zhang San", "demander")
    resource = make_resource(platform, provider, charger_spec())
    kept = book(platform, demander, resource, 0)
    cancelled = book(platform, demander, resource, 2)
    sign_checkpoint_once(platform)
    with platform.db.write() as s:
        transition_booking(
            s, ctx=platform.ctx, principal=demander.principal, booking_id=cancelled,
            event=Event.CANCEL,
        )  # fmt: skip
    moved = book(platform, demander, resource, 4)
    with platform.db.write() as s:
        reschedule_booking(
            s, ctx=platform.ctx, principal=demander.principal, booking_id=moved,
            start=TEN + timedelta(hours=6), end=TEN + timedelta(hours=8),
        )  # fmt: skip
    held = book(platform, demander, resource, 9, hold=True)
    assert sign_checkpoint_once(platform) == ENTRIES
    return Market(kept, cancelled, moved, held)


def audit(platform: Platform) -> LedgerAudit:
    # A batch smaller than the log makes the audit page through entries and subtrees.
    with platform.db.read() as s:
        return audit_ledger(
            s, verifiers=platform.ledger.verifiers, origin=platform.settings.ledger_origin,
            batch_size=4,
        )  # fmt: skip


def tamper(platform: Platform, *statements: str, **params: Any) -> None:
    with platform.db.write() as s:
        for statement in statements:
            changed = s.execute(text(statement), params).rowcount  # type: ignore[attr-defined]
            assert changed == 1, f"tampering changed {changed} rows: {statement}"


def run_cli(platform: Platform) -> tuple[int, str]:
    env = {"SPARECAP_LEDGER_KEY_PATH": str(platform.settings.ledger_key_path)}
    args = ["ledger", "audit", "--database", platform.settings.database_url]
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.output


def test_a_clean_log_audits_ok_from_the_command_line(platform: Platform, market: Market) -> None:
    result = audit(platform)
    assert result.ok, result.divergence
    assert (result.entries, result.bookings, result.differing_bookings) == (ENTRIES, 4, 0)
    assert result.checkpoint is not None and result.checkpoint.size == ENTRIES
    assert result.checkpoint.root_hash == result.root
    code, output = run_cli(platform)
    assert code == 0, output
    assert output == (
        f"OK: {ENTRIES} entries, 4 bookings and 0 account balances agree; root {result.root.hex()} "
        f"matches checkpoint {ENTRIES}\n"
    )


def test_an_edited_payload_is_pinned_to_its_entry(platform: Platform, market: Market) -> None:
    tamper(
        platform,
        'UPDATE ledger_entries SET payload = replace(payload, \'"to":"cancelled"\', '
        '\'"to":"confirmed"\') WHERE seq = 4',
    )
    d = audit(platform).divergence
    assert d is not None and (d.seq, d.check) == (4, Check.PAYLOAD)
    code, output = run_cli(platform)
    assert code == 1
    assert output.startswith(
        "DIVERGED at entry 4: the payload does not hash to the stored leaf hash"
    )


def test_a_deleted_entry_is_named(platform: Platform, market: Market) -> None:
    tamper(platform, "DELETE FROM ledger_entries WHERE seq = 5")
    d = audit(platform).divergence
    assert d is not None and (d.seq, d.check) == (5, Check.SEQUENCE)
    assert d.what == "entry 5 is missing: the next stored entry is 6"


def test_two_swapped_entries_are_caught_at_the_first(platform: Platform, market: Market) -> None:
    tamper(
        platform,
        "UPDATE ledger_entries SET seq = -1 WHERE seq = 2",
        "UPDATE ledger_entries SET seq = 2 WHERE seq = 6",
        "UPDATE ledger_entries SET seq = 6 WHERE seq = -1",
    )
    d = audit(platform).divergence
    assert d is not None and (d.seq, d.check) == (2, Check.SUBTREE)
    assert "different leaf at position 2: entries were reordered" in d.what


def test_a_booking_changed_behind_the_logs_back_is_named_with_its_last_entry(
    platform: Platform, market: Market
) -> None:
    tamper(platform, "UPDATE bookings SET status = 'cancelled' WHERE id = :id", id=market.moved)
    result = audit(platform)
    d = result.divergence
    assert d is not None and (d.seq, d.check) == (7, Check.BOOKING)
    assert (d.expected, d.found) == ("confirmed", "cancelled")
    assert d.what == (
        f"booking {market.moved}: its status in the bookings table differs from the log, "
        "whose last entry about it is 7"
    )
    assert (result.bookings, result.differing_bookings) == (3, 1)
    # With a second booking edited, the one whose last entry comes first is reported.
    tamper(platform, "UPDATE bookings SET price_minor = 1 WHERE id = :id", id=market.kept)
    d = audit(platform).divergence
    assert d is not None and (d.seq, d.expected, d.found) == (1, "4000", "1")
    code, output = run_cli(platform)
    assert code == 1 and output.startswith(f"DIVERGED at entry 1: booking {market.kept}: its ")


def test_an_edited_subtree_hash_is_pinned_to_the_entry_completing_it(
    platform: Platform, market: Market
) -> None:
    tamper(
        platform,
        'UPDATE ledger_nodes SET hash = :forged WHERE level = 2 AND "index" = 0',
        forged=b"\x07" * 32,
    )
    d = audit(platform).divergence
    assert d is not None and (d.seq, d.check) == (3, Check.SUBTREE)
    assert "subtree level 2 index 0 (entries 0..3) disagrees" in d.what
    assert d.found == (b"\x07" * 32).hex()


def test_a_checkpoint_row_edited_against_its_signed_note_is_caught(
    platform: Platform, market: Market
) -> None:
    tamper(
        platform,
        "UPDATE ledger_checkpoints SET root_hash = :forged WHERE size = 4",
        forged=b"\x05" * 32,
    )
    d = audit(platform).divergence
    assert d is not None and (d.seq, d.check) == (3, Check.CHECKPOINT)
    assert "disagrees with its signed note" in d.what
