"""Money flow at the service layer, on SQLite and PostgreSQL: escrow, refunds by policy,
settlement, payouts, provider callbacks, statements and reconciliation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from sparecap.bootstrap import Platform
from sparecap.db.money import BookingTerms, Payment
from sparecap.domain.bookings import Event
from sparecap.domain.clock import FixedClock
from sparecap.domain.journal import PLATFORM_REVENUE, TAXES, clearing, escrow, wallet
from sparecap.domain.quotes import Fee, FeeSchedule, Tax
from sparecap.gateways.payments import EventType, SandboxProvider
from sparecap.services.bookings import (
    BookingIn,
    create_booking,
    run_due_timers,
    transition_booking,
)
from sparecap.services.errors import ConflictError, InvalidInputError, UnauthenticatedError
from sparecap.services.journal import InsufficientFundsError, balance
from sparecap.services.ledger_audit import LedgerAudit, audit_ledger
from sparecap.services.payments import (
    AmountIn,
    PayIn,
    handle_callback,
    pay_booking,
    request_payout,
    top_up,
)
from sparecap.services.reconcile import reconcile
from sparecap.services.settlement import (
    DisputeIn,
    ReadingIn,
    ResolutionIn,
    open_dispute,
    record_usage,
    resolve_dispute,
    settle_due,
)
from sparecap.services.statements import statement
from sparecap.services.terms import PolicyIn, TermsIn, set_terms
from tests.support.market import Party, charger_spec, make_resource, party

# Tuesday 2026-03-03 10:00 Shanghai = 02:00 UTC; the test clock stands at Monday 00:00 UTC.
TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
PRICE = 4000  # 40.00 CNY an hour, the charger spec's list price


class Market:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.provider = party(platform, "Provider", "provider")
        self.demander = party(platform, "Demander", "demander")
        self.operator = party(platform, "Operator", "operator")
        self.chargers = make_resource(platform, self.provider, charger_spec())

    def book(self, hours: int = 1, start: datetime = TEN, resource: int | None = None) -> int:
        with self.platform.db.write() as s:
            request = BookingIn(
                resource_id=resource or self.chargers, start=start, end=start + hours * HOUR
            )
            ctx, who = self.platform.ctx, self.demander.principal
            return create_booking(s, ctx=ctx, principal=who, request=request).id

    def top_up(self, minor: int, who: Party | None = None, instrument: str = "") -> Payment:
        body = AmountIn(amount_minor=minor, currency="CNY", instrument=instrument)
        principal = (who or self.demander).principal
        with self.platform.db.write() as s:
            return top_up(s, ctx=self.platform.ctx, principal=principal, body=body)

    def pay(self, booking: int, method: str = "wallet", instrument: str = "") -> Payment:
        with self.platform.db.write() as s:
            return pay_booking(
                s,
                ctx=self.platform.ctx,
                principal=self.demander.principal,
                booking_id=booking,
                body=PayIn(method=method, instrument=instrument),
            )

    def move(self, booking: int, event: Event, who: Party | None = None) -> None:
        with self.platform.db.write() as s:
            transition_booking(
                s,
                ctx=self.platform.ctx,
                principal=(who or self.provider).principal,
                booking_id=booking,
                event=event,
            )

    def balance(self, account) -> int:  # type: ignore[no-untyped-def]
        with self.platform.db.read() as s:
            return balance(s, account=account, currency="CNY").minor

    def terms(self, booking: int) -> BookingTerms:
        with self.platform.db.read() as s:
            row = s.get(BookingTerms, booking)
            assert row is not None
            s.expunge(row)
            return row

    def assert_reconciled(self) -> None:
        with self.platform.db.read() as s:
            report = reconcile(s)
        assert report.ok, report.problems


@pytest.fixture
def market(platform: Platform) -> Market:
    return Market(platform)


def test_wallet_booking_goes_through_escrow_release_and_payout(
    market: Market, clock: FixedClock
) -> None:
    market.top_up(10_000)
    booking = market.book(hours=2)
    market.pay(booking)
    assert market.balance(wallet(market.demander.id)) == 10_000 - 2 * PRICE
    assert market.balance(escrow(booking)) == 2 * PRICE
    market.move(booking, Event.START)
    market.move(booking, Event.COMPLETE)
    with market.platform.db.write() as s:
        assert settle_due(s, ctx=market.platform.ctx) == 0  # the dispute window is still open
    clock.advance(timedelta(days=4))
    with market.platform.db.write() as s:
        assert settle_due(s, ctx=market.platform.ctx) == 1
    assert market.balance(escrow(booking)) == 0
    assert market.balance(wallet(market.provider.id)) == 2 * PRICE  # no fees configured
    with market.platform.db.write() as s:
        body = AmountIn(amount_minor=5000, currency="CNY", instrument="bank:6222")
        payout = request_payout(
            s, ctx=market.platform.ctx, principal=market.provider.principal, body=body
        )
        assert payout.status == "paid"
    assert market.balance(wallet(market.provider.id)) == 2 * PRICE - 5000
    assert market.balance(clearing("sandbox")) == -10_000 + 5000
    market.assert_reconciled()


def test_card_is_authorised_then_captured_on_confirmation(
    platform: Platform, market: Market
) -> None:
    cnc = make_resource(
        platform, market.provider, charger_spec(name="Asks first", instant_book=False)
    )
    booking = market.book(resource=cnc)
    payment = market.pay(booking, method="sandbox", instrument="sandbox:ok")
    assert payment.status == "authorized"
    assert market.balance(escrow(booking)) == 0  # not captured before the provider accepts
    market.move(booking, Event.ACCEPT)
    assert market.terms(booking).money_status == "escrowed"
    assert market.balance(escrow(booking)) == PRICE
    assert market.balance(clearing("sandbox")) == -PRICE
    market.assert_reconciled()


def test_declined_card_writes_no_money_and_the_booking_can_be_paid_again(market: Market) -> None:
    booking = market.book()
    declined = market.pay(booking, method="sandbox", instrument="sandbox:decline")
    assert declined.status == "declined"
    assert market.terms(booking).payment_id is None
    assert market.pay(booking, method="sandbox").status == "captured"  # instant-book: confirmed
    assert market.balance(escrow(booking)) == PRICE
    market.assert_reconciled()


@pytest.mark.parametrize(
    ("hours_before", "who", "refund"),
    [(48, "demander", PRICE), (2, "demander", PRICE // 2), (2, "provider", PRICE)],
)
def test_cancellation_refunds_by_policy(
    market: Market, clock: FixedClock, hours_before: int, who: str, refund: int
) -> None:
    market.top_up(PRICE)
    booking = market.book(start=TEN + timedelta(days=3))
    market.pay(booking)
    clock.set(TEN + timedelta(days=3) - hours_before * HOUR)
    party_ = market.demander if who == "demander" else market.provider
    market.move(booking, Event.CANCEL, who=party_)
    assert market.balance(wallet(market.demander.id)) == refund
    assert market.balance(wallet(market.provider.id)) == PRICE - refund
    assert market.balance(escrow(booking)) == 0
    assert market.terms(booking).money_status == "refunded"
    market.assert_reconciled()


def test_policy_is_copied_at_booking_time(market: Market, clock: FixedClock) -> None:
    market.top_up(PRICE)
    booking = market.book(start=TEN + timedelta(days=3))
    market.pay(booking)
    with market.platform.db.write() as s:
        strict = TermsIn(policy=PolicyIn(free_cancel_hours=0, late_cancel_bp=10_000))
        set_terms(
            s,
            ctx=market.platform.ctx,
            principal=market.provider.principal,
            resource_id=market.chargers,
            terms=strict,
        )
    clock.set(TEN + timedelta(days=3) - 2 * HOUR)
    market.move(booking, Event.CANCEL, who=market.demander)
    assert market.balance(wallet(market.demander.id)) == PRICE // 2  # the old 50 % rule


def test_no_show_keeps_the_fee_and_deposit_comes_back(market: Market, clock: FixedClock) -> None:
    with market.platform.db.write() as s:
        terms = TermsIn(policy=PolicyIn(no_show_bp=2_500, deposit_minor=1_000))
        set_terms(
            s,
            ctx=market.platform.ctx,
            principal=market.provider.principal,
            resource_id=market.chargers,
            terms=terms,
        )
    market.top_up(PRICE + 1_000)
    booking = market.book()
    market.pay(booking)
    market.move(booking, Event.NO_SHOW)
    assert market.balance(wallet(market.provider.id)) == PRICE // 4
    assert market.balance(wallet(market.demander.id)) == PRICE * 3 // 4 + 1_000
    market.assert_reconciled()


def test_two_payments_cannot_spend_one_balance(market: Market) -> None:
    market.top_up(PRICE)
    first, second = market.book(), market.book(start=TEN + 3 * HOUR)
    market.pay(first)
    with pytest.raises(InsufficientFundsError):
        market.pay(second)
    assert market.terms(second).payment_id is None  # nothing written
    assert market.balance(wallet(market.demander.id)) == 0
    market.assert_reconciled()


@pytest.mark.parametrize("minor", [0, -5, 10**16])
def test_bad_amounts_are_refused(market: Market, minor: int) -> None:
    with pytest.raises((InvalidInputError, ValueError)):
        market.top_up(minor)
    with market.platform.db.read() as s:
        assert s.execute(text("SELECT count(*) FROM payments")).scalar() == 0


def test_unknown_currency_is_refused(market: Market) -> None:
    with market.platform.db.write() as s, pytest.raises(InvalidInputError):
        top_up(
            s,
            ctx=market.platform.ctx,
            principal=market.demander.principal,
            body=AmountIn(amount_minor=100, currency="XXX"),
        )


def _deliver(market: Market, event_id: str, type_: EventType, reference: str) -> str:
    sandbox = market.platform.ctx.payments["sandbox"]
    assert isinstance(sandbox, SandboxProvider)
    body, signature = sandbox.event(event_id=event_id, type=type_, reference=reference)
    with market.platform.db.write() as s:
        return handle_callback(
            s, ctx=market.platform.ctx, provider_name="sandbox", body=body, signature=signature
        ).outcome


def test_callbacks_apply_once_in_any_order(market: Market) -> None:
    booking = market.book()
    payment = market.pay(booking, method="sandbox", instrument="sandbox:timeout")
    assert payment.status == "pending"
    reference = f"payment:{payment.id}"
    assert _deliver(market, "e2", EventType.CAPTURED, reference) == "applied"
    assert _deliver(market, "e1", EventType.AUTHORIZED, reference) == "ignored_stale"
    assert _deliver(market, "e2", EventType.CAPTURED, reference) == "applied"  # duplicate
    assert market.balance(escrow(booking)) == PRICE
    market.assert_reconciled()


def test_late_top_up_is_credited_by_its_callback(market: Market) -> None:
    payment = market.top_up(5_000, instrument="sandbox:late")
    assert payment.status == "pending"
    assert market.balance(wallet(market.demander.id)) == 0
    assert _deliver(market, "t1", EventType.AUTHORIZED, f"payment:{payment.id}") == "applied"
    assert market.balance(wallet(market.demander.id)) == 5_000
    market.assert_reconciled()


def test_forged_callback_is_refused(market: Market) -> None:
    with market.platform.db.write() as s, pytest.raises(UnauthenticatedError):
        handle_callback(
            s, ctx=market.platform.ctx, provider_name="sandbox", body=b'{"id":"x"}', signature="00"
        )


def test_metered_usage_sets_the_final_price(market: Market, clock: FixedClock) -> None:
    market.top_up(2 * PRICE)
    booking = market.book(hours=2)
    market.pay(booking)
    market.move(booking, Event.START)
    with market.platform.db.write() as s:
        reading = ReadingIn(dimension="time", quantity=45 * 60, external_id="meter-1")
        record_usage(
            s,
            ctx=market.platform.ctx,
            principal=market.provider.principal,
            booking_id=booking,
            body=reading,
        )
        record_usage(
            s,
            ctx=market.platform.ctx,
            principal=market.provider.principal,
            booking_id=booking,
            body=reading,
        )  # the same reading again: stored once
    market.move(booking, Event.COMPLETE)
    clock.advance(timedelta(days=4))
    with market.platform.db.write() as s:
        settle_due(s, ctx=market.platform.ctx)
    assert market.balance(wallet(market.provider.id)) == PRICE * 3 // 4  # 45 minutes
    assert market.balance(wallet(market.demander.id)) == 2 * PRICE - PRICE * 3 // 4
    market.assert_reconciled()


def test_dispute_pauses_release_until_resolved(market: Market, clock: FixedClock) -> None:
    market.top_up(PRICE)
    booking = market.book()
    market.pay(booking)
    market.move(booking, Event.START)
    market.move(booking, Event.COMPLETE)
    ctx = market.platform.ctx
    with market.platform.db.write() as s:
        dispute = open_dispute(
            s,
            ctx=ctx,
            principal=market.demander.principal,
            booking_id=booking,
            body=DisputeIn(reason="charger broke"),
        )
        dispute_id = dispute.id
    clock.advance(timedelta(days=10))
    with market.platform.db.write() as s:
        assert settle_due(s, ctx=ctx) == 0
        resolve_dispute(
            s,
            ctx=ctx,
            principal=market.operator.principal,
            dispute_id=dispute_id,
            body=ResolutionIn(refund_minor=1000, resolution="partial refund"),
        )
    with market.platform.db.write() as s:
        assert settle_due(s, ctx=ctx) == 1
    assert market.balance(wallet(market.demander.id)) == 1000
    assert market.balance(wallet(market.provider.id)) == PRICE - 1000
    market.assert_reconciled()


def test_commission_fees_and_tax_split_exactly(
    platform: Platform, market: Market, clock: FixedClock
) -> None:
    fees = FeeSchedule(
        Fee(percent_bp=1000), Fee(percent_bp=300, minimum_minor=50), Tax(600, inclusive=True)
    )
    object.__setattr__(platform, "ctx", replace(platform.ctx, fees=fees))
    market.top_up(10_000)
    booking = market.book()
    market.pay(booking)
    total = market.terms(booking).total_minor
    market.move(booking, Event.START)
    market.move(booking, Event.COMPLETE)
    clock.advance(timedelta(days=4))
    with market.platform.db.write() as s:
        settle_due(s, ctx=market.platform.ctx)
    provider, platform_, tax = (
        market.balance(wallet(market.provider.id)),
        market.balance(PLATFORM_REVENUE),
        market.balance(TAXES),
    )
    assert provider + platform_ + tax == total
    assert tax == PRICE - round(PRICE / 1.06)
    assert platform_ > 0 and provider < PRICE - tax
    market.assert_reconciled()


def test_statement_reconciles_to_the_journal(market: Market, clock: FixedClock) -> None:
    market.top_up(10_000)
    for offset in (0, 3):
        booking = market.book(start=TEN + offset * HOUR)
        market.pay(booking)
    market.move(booking, Event.CANCEL, who=market.provider)
    with market.platform.db.read() as s:
        st = statement(
            s,
            principal=market.demander.principal,
            participant_id=market.demander.id,
            currency="CNY",
            start=TEN - timedelta(days=7),
            end=TEN + timedelta(days=7),
        )
    assert st.opening_minor == 0
    assert st.closing_minor == market.balance(wallet(market.demander.id)) == 10_000 - PRICE
    assert st.totals == {"top_up": 10_000, "payment": -2 * PRICE, "refund": PRICE}
    assert st.to_csv().count("\n") == 1 + len(st.lines)


def test_journal_rows_cannot_be_edited(market: Market) -> None:
    market.top_up(1_000)
    with market.platform.db.write() as s, pytest.raises(DatabaseError):
        s.execute(text("UPDATE journal_lines SET amount_minor = amount_minor * 2"))


def test_reconcile_finds_a_forged_line(market: Market) -> None:
    market.top_up(1_000)
    with market.platform.db.write() as s:
        entry = s.execute(text("SELECT max(entry_id), max(account_id) FROM journal_lines")).one()
        s.execute(
            text(
                "INSERT INTO journal_lines (entry_id, account_id, currency, amount_minor)"
                " VALUES (:e, :a, 'CNY', 5)"
            ),
            {"e": entry[0], "a": entry[1]},
        )
    with market.platform.db.read() as s:
        report = reconcile(s)
    assert any("does not balance" in p for p in report.problems)


def test_pay_twice_is_refused(market: Market) -> None:
    market.top_up(2 * PRICE)
    booking = market.book()
    market.pay(booking)
    with pytest.raises(ConflictError):
        market.pay(booking)


def test_deposit_is_claimed_on_damage_and_the_rest_returned(
    market: Market, clock: FixedClock
) -> None:
    ctx = market.platform.ctx
    with market.platform.db.write() as s:
        terms = TermsIn(policy=PolicyIn(deposit_minor=2_000))
        set_terms(
            s,
            ctx=ctx,
            principal=market.provider.principal,
            resource_id=market.chargers,
            terms=terms,
        )
    market.top_up(PRICE + 2_000)
    booking = market.book()
    market.pay(booking)
    market.move(booking, Event.START)
    market.move(booking, Event.COMPLETE)
    with market.platform.db.write() as s:
        dispute = open_dispute(
            s,
            ctx=ctx,
            principal=market.provider.principal,
            booking_id=booking,
            body=DisputeIn(reason="cable damaged"),
        )
        resolve_dispute(
            s,
            ctx=ctx,
            principal=market.operator.principal,
            dispute_id=dispute.id,
            body=ResolutionIn(deposit_claim_minor=1_500, resolution="repair cost"),
        )
    with market.platform.db.write() as s:
        assert settle_due(s, ctx=ctx) == 1
    assert market.balance(wallet(market.provider.id)) == PRICE + 1_500
    assert market.balance(wallet(market.demander.id)) == 500
    market.assert_reconciled()


def test_late_authorisation_for_an_expired_booking_is_voided(
    market: Market, clock: FixedClock
) -> None:
    with market.platform.db.write() as s:
        request = BookingIn(resource_id=market.chargers, start=TEN, end=TEN + HOUR, hold=True)
        booking = create_booking(
            s, ctx=market.platform.ctx, principal=market.demander.principal, request=request
        ).id
    payment = market.pay(booking, method="sandbox", instrument="sandbox:late")
    assert payment.status == "pending"
    clock.advance(timedelta(hours=1))
    with market.platform.db.write() as s:
        assert run_due_timers(s, ctx=market.platform.ctx) == 1  # the hold expires
    assert _deliver(market, "a1", EventType.AUTHORIZED, f"payment:{payment.id}") == "applied"
    assert market.terms(booking).money_status == "voided"
    assert market.balance(escrow(booking)) == 0
    market.assert_reconciled()


def test_ledger_audit_adds_up_the_journal_and_catches_a_forged_line(market: Market) -> None:
    platform = market.platform
    market.top_up(10_000)
    market.pay(market.book())

    def audit() -> LedgerAudit:
        with platform.db.read() as s:
            return audit_ledger(
                s,
                verifiers=(),
                origin=platform.settings.ledger_origin,
                salt=platform.ctx.ledger_salt,
            )

    clean = audit()
    assert clean.ok, clean.divergence
    assert clean.accounts == 3  # the demander's wallet, the sandbox clearing, the escrow
    with platform.db.write() as s:
        s.execute(
            text(
                "INSERT INTO journal_lines (entry_id, account_id, currency, amount_minor)"
                " SELECT max(entry_id), min(account_id), 'CNY', 1 FROM journal_lines"
            )
        )
    forged = audit()
    assert forged.divergence is not None
    assert forged.divergence.check == "balance"
