"""Money: terms and price previews, paying bookings, wallets, payouts, provider callbacks,
usage, disputes, statements and reconciliation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.api.deps import MutationDep, PlatformDep, PrincipalDep
from sparecap.db.money import BookingTerms, Dispute, Payment, Settlement
from sparecap.services import payments, settlement, statements, terms
from sparecap.services.bookings import get_booking
from sparecap.services.errors import NotFoundError
from sparecap.services.ids import Id
from sparecap.services.journal import balances_of
from sparecap.services.principals import Role
from sparecap.services.reconcile import reconcile

router = APIRouter(prefix="/v1", tags=["money"])


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    participant_id: int
    booking_id: int | None
    purpose: str
    provider: str
    status: str
    amount_minor: int
    refunded_minor: int
    currency: str
    failure: str
    created_at: datetime


class DisputeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    booking_id: int
    status: str
    reason: str
    refund_minor: int
    deposit_claim_minor: int
    resolution: str
    opened_at: datetime
    resolved_at: datetime | None


@router.get("/resources/{resource_id}/terms", response_model=terms.TermsIn)
def get_terms(resource_id: Id, platform: PlatformDep, _: PrincipalDep) -> terms.TermsIn:
    """The tariff and policy new bookings of this resource are made on."""
    with platform.db.read() as session:
        return terms.terms_of(session, resource_id=resource_id)


@router.put("/resources/{resource_id}/terms", response_model=terms.TermsIn)
def put_terms(resource_id: Id, body: terms.TermsIn, mutation: MutationDep) -> JSONResponse:
    """Replace the tariff and policy; bookings already made keep the terms they were made on."""

    def action(session: Session) -> terms.TermsIn:
        ctx, who = mutation.platform.ctx, mutation.principal
        terms.set_terms(session, ctx=ctx, principal=who, resource_id=resource_id, terms=body)
        return terms.terms_of(session, resource_id=resource_id)

    return mutation.run(action)


@router.post("/prices/preview")
def preview(body: terms.PreviewIn, platform: PlatformDep, _: PrincipalDep) -> dict[str, Any]:
    """The line items, fees, tax and total a booking would cost now, before it is made."""
    with platform.db.read() as session:
        return terms.quote_json(terms.preview_price(session, ctx=platform.ctx, request=body))


@router.post("/bookings/{booking_id}/payments", status_code=201, response_model=PaymentOut)
def pay(booking_id: Id, body: payments.PayIn, mutation: MutationDep) -> JSONResponse:
    """Pay the booking's total and deposit, from the wallet or a provider. A declined card
    answers 201 with status `declined`: the attempt is on record."""

    def action(session: Session) -> PaymentOut:
        payment = payments.pay_booking(
            session, ctx=mutation.platform.ctx, principal=mutation.principal,
            booking_id=booking_id, body=body,
        )  # fmt: skip
        return PaymentOut.model_validate(payment)

    return mutation.run(action, status_code=201)


@router.get("/bookings/{booking_id}/money")
def booking_money(booking_id: Id, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
    """The deal as struck (terms, quote), where its money is, and how it was settled."""
    with platform.db.read() as session:
        get_booking(session, principal=principal, booking_id=booking_id)  # may the caller see it
        row = session.get(BookingTerms, booking_id)
        if row is None:
            raise NotFoundError(f"booking {booking_id} has no terms", code="unknown_booking")
        done = session.scalar(select(Settlement).where(Settlement.booking_id == booking_id))
        disputes = session.scalars(select(Dispute).where(Dispute.booking_id == booking_id))
        return {
            "money_status": row.money_status,
            "terms": row.terms,
            "quote": row.quote,
            "deposit_minor": row.deposit_minor,
            "payment": PaymentOut.model_validate(row.payment).model_dump(mode="json")
            if row.payment
            else None,
            "release_due_at": row.release_due_at,
            "settlement": _settlement_json(done) if done else None,
            "disputes": [DisputeOut.model_validate(d).model_dump(mode="json") for d in disputes],
        }


def _settlement_json(row: Settlement) -> dict[str, Any]:
    fields = ("kind", "currency", "provider_minor", "commission_minor", "service_fee_minor")
    more = ("tax_minor", "refund_minor", "entry_id", "created_at")
    return {name: getattr(row, name) for name in fields + more}


@router.post("/bookings/{booking_id}/usage", status_code=201)
def usage(booking_id: Id, body: settlement.ReadingIn, mutation: MutationDep) -> JSONResponse:
    """A metered reading (seconds, Wh, pieces, swaps); the final price follows it."""

    def action(session: Session) -> dict[str, Any]:
        record = settlement.record_usage(
            session, ctx=mutation.platform.ctx, principal=mutation.principal,
            booking_id=booking_id, body=body,
        )  # fmt: skip
        return {"id": record.id, "dimension": record.dimension, "quantity": record.quantity}

    return mutation.run(action, status_code=201)


@router.post("/bookings/{booking_id}/disputes", status_code=201, response_model=DisputeOut)
def dispute(booking_id: Id, body: settlement.DisputeIn, mutation: MutationDep) -> JSONResponse:
    def action(session: Session) -> DisputeOut:
        row = settlement.open_dispute(
            session, ctx=mutation.platform.ctx, principal=mutation.principal,
            booking_id=booking_id, body=body,
        )  # fmt: skip
        return DisputeOut.model_validate(row)

    return mutation.run(action, status_code=201)


@router.post("/disputes/{dispute_id}/resolve", response_model=DisputeOut)
def resolve(dispute_id: Id, body: settlement.ResolutionIn, mutation: MutationDep) -> JSONResponse:
    def action(session: Session) -> DisputeOut:
        row = settlement.resolve_dispute(
            session, ctx=mutation.platform.ctx, principal=mutation.principal,
            dispute_id=dispute_id, body=body,
        )  # fmt: skip
        return DisputeOut.model_validate(row)

    return mutation.run(action)


@router.get("/wallet")
def wallet(platform: PlatformDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The caller's accounts (wallet per currency, payouts on their way) and balances."""
    with platform.db.read() as session:
        return [
            {"account": account.kind, "currency": account.currency, "balance_minor": money.minor}
            for account, money in balances_of(session, participant_id=principal.participant_id)
        ]


@router.post("/wallet/top-ups", status_code=201, response_model=PaymentOut)
def top_up(body: payments.AmountIn, mutation: MutationDep) -> JSONResponse:
    def action(session: Session) -> PaymentOut:
        ctx, who = mutation.platform.ctx, mutation.principal
        return PaymentOut.model_validate(
            payments.top_up(session, ctx=ctx, principal=who, body=body)
        )

    return mutation.run(action, status_code=201)


@router.post("/payouts", status_code=201, response_model=PaymentOut)
def payout(body: payments.AmountIn, mutation: MutationDep) -> JSONResponse:
    """Pay wallet money out to `instrument` (a bank account); 409 if the wallet is short."""

    def action(session: Session) -> PaymentOut:
        ctx, who = mutation.platform.ctx, mutation.principal
        payment = payments.request_payout(session, ctx=ctx, principal=who, body=body)
        return PaymentOut.model_validate(payment)

    return mutation.run(action, status_code=201)


@router.get("/payments/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: Id, platform: PlatformDep, principal: PrincipalDep) -> PaymentOut:
    with platform.db.read() as session:
        row: Payment = payments.get_payment(session, principal=principal, payment_id=payment_id)
        return PaymentOut.model_validate(row)


@router.post("/payments/callbacks/{provider}")
async def callback(
    provider: str,
    request: Request,
    platform: PlatformDep,
    signature: Annotated[str, Header(alias="Sparecap-Signature")] = "",
) -> dict[str, Any]:
    """A payment provider's signed callback. Authenticated by its signature, applied once per
    event id, in whatever order events arrive."""
    body = await request.body()
    with platform.db.write() as session:
        event = payments.handle_callback(
            session, ctx=platform.ctx, provider_name=provider, body=body, signature=signature
        )
        return {"event_id": event.event_id, "outcome": event.outcome}


@router.get("/statements", response_model=None)
def statement(
    platform: PlatformDep,
    principal: PrincipalDep,
    currency: str,
    start: AwareDatetime,
    end: AwareDatetime,
    participant_id: Id | None = None,
    format: Literal["json", "csv"] = "json",
) -> dict[str, object] | PlainTextResponse:
    """Earnings, fees, refunds, payments and payouts over a period; lines reconcile to the
    journal (opening + lines = closing)."""
    with platform.db.read() as session:
        result = statements.statement(
            session, principal=principal, participant_id=participant_id or principal.participant_id,
            currency=currency, start=start, end=end,
        )  # fmt: skip
    if format == "csv":
        return PlainTextResponse(result.to_csv(), media_type="text/csv")
    return result.summary()


@router.get("/money/reconcile")
def reconciliation(
    platform: PlatformDep, principal: PrincipalDep, show: Annotated[int, Query(ge=1, le=200)] = 20
) -> dict[str, Any]:
    """The journal's invariants, checked now (operators and auditors)."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    with platform.db.read() as session:
        report = reconcile(session, show=show)
    return {"ok": report.ok, "entries": report.entries, "lines": report.lines,
            "problems": report.problems, "totals": report.totals}  # fmt: skip


@router.post("/money/settle")
def settle(mutation: MutationDep) -> JSONResponse:
    """Release the escrow that is due now (operators); the server also does this on a timer."""

    def action(session: Session) -> dict[str, int]:
        mutation.principal.require(Role.OPERATOR)
        return {"settled": settlement.settle_due(session, ctx=mutation.platform.ctx)}

    return mutation.run(action)
