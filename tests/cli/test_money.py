"""`sparecap money`: top up, pay, settle, pay out, statements and reconciliation from the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from sparecap.bootstrap import Platform
from sparecap.cli.main import app
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


def test_money_speaks_chinese_and_its_csv_stays_as_it_is(platform: Platform, db_url: str) -> None:
    provider, demander = party(platform, "P", "provider"), party(platform, "D", "demander")
    charger = make_resource(platform, provider, charger_spec())
    with platform.db.write() as s:
        request = BookingIn(resource_id=charger, start=TEN, end=TEN + timedelta(hours=1))
        booking_id = create_booking(
            s, ctx=platform.ctx, principal=demander.principal, request=request
        ).id
    zh = {"SPARECAP_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}

    def run_zh(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, [*args, "--database", db_url], env=zh)
        return result.exit_code, result.output

    code, out = run_zh("money", "top-up", "10000", "--as", str(demander.id))
    assert code == 0 and out.endswith("：已扣款（captured），金额 10000 CNY（最小货币单位）\n"), out
    assert out.startswith("付款 ")
    code, out = run_zh("money", "payout", "999999", "--as", str(demander.id))
    assert code == 1 and "insufficient_funds: 账户余额不足。（" in out, out
    assert run_zh("money", "pay", str(booking_id), "--as", str(demander.id))[0] == 0
    code, out = run_zh("money", "statement", str(demander.id), "--start", "2026-01-01",
                       "--end", "2030-01-01")  # fmt: skip
    assert code == 0 and out.splitlines()[0].startswith("at,entry,kind")
    code, out = run_zh("money", "reconcile")
    assert code == 0, out
    assert "余额（最小货币单位）" in out and "日记账对账一致" in out
    assert "wallet" in out  # account kinds stay codes
    assert run_zh("money", "settle") == (0, "已结算 0 笔预订\n")
