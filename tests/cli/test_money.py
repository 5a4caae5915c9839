"""`sparecap money`: top up, pay, settle, pay out, statements and reconciliation from the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sparecap.bootstrap import Platform
from sparecap.services.bookings import BookingIn, create_booking
from tests.cli.test_main import run
from tests.support.market import charger_spec, make_resource, party

TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def test_pay_settle_payout_statement_and_reconcile(platform: Platform, db_url: str) -> None:
    provider, demander = party(platform, "P", "provider"), party(platform, "D", "demander")
    charger = make_resource(platform, provider, charger_spec())
    with platform.db.write() as s:
        request = BookingIn(resource_id=charger, start=TEN, end=TEN + timedelta(hours=1))
        booking = create_booking(s, ctx=platform.ctx, principal=demander.principal, request=request)
        booking_id = booking.id
    d = ["--database", db_url]
    assert run("money", "top-up", "10000", "--as", str(demander.id), *d)[0] == 0
    code, out = run("money", "pay", str(booking_id), "--as", str(demander.id), *d)
    assert code == 0 and "captured" in out
    code, out = run("money", "payout", "999999", "--as", str(demander.id), *d)
    assert code == 1 and "insufficient_funds" in out
    code, out = run("money", "top-up", "0", "--as", str(demander.id), *d)
    assert code == 1 and "invalid_amount" in out
    code, out = run("money", "statement", str(demander.id), "--start", "2026-01-01",
                    "--end", "2030-01-01", *d)  # fmt: skip
    assert code == 0
    assert out.splitlines()[0].startswith("at,entry,kind")
    assert [line.split(",")[3] for line in out.splitlines()[1:]] == ["top_up", "payment"]
    code, out = run("money", "reconcile", *d)
    assert code == 0 and "journal reconciles" in out
    assert run("money", "settle", *d) == (0, "settled 0 booking(s)\n")
