"""Terms of trade: a resource's tariff and policy, the price preview, and the copy of both a
booking keeps from the moment it is made."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import time
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.bulk import one_of
from sparecap.db.models import Booking, Resource
from sparecap.db.money import BookingTerms, ResourceTerms
from sparecap.domain.availability import Interval
from sparecap.domain.money import MAX_MINOR, MoneyError
from sparecap.domain.policies import Policy
from sparecap.domain.quotes import Fee, FeeSchedule, Quote, Tax, quote
from sparecap.domain.tariffs import (
    Component,
    Dimension,
    Element,
    Restrictions,
    Tariff,
    Usage,
    flat_rate,
    price,
)
from sparecap.services.context import ServiceContext
from sparecap.services.errors import ConflictError, InvalidInputError
from sparecap.services.principals import Principal
from sparecap.services.resources import get_resource, get_resource_for_change, zone_of

Minor = Field(ge=0, le=MAX_MINOR)


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimension: Dimension
    price_minor: int = Minor
    per: int = Field(default=0, ge=0, le=10**9, description="base units priced; 0: default")
    step: int = Field(default=1, ge=1, le=10**9, description="billed in blocks of this size")


class RestrictionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_time: time | None = None
    end_time: time | None = None
    weekdays: list[int] | None = Field(default=None, description="0 = Monday")
    min_duration_minutes: int | None = Field(default=None, ge=0)
    max_duration_minutes: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.weekdays is not None and not set(self.weekdays) <= set(range(7)):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return self

    def to_domain(self) -> Restrictions:
        def minute(t: time | None) -> int | None:
            return None if t is None else t.hour * 60 + t.minute

        return Restrictions(
            start_minute=minute(self.start_time),
            end_minute=minute(self.end_time),
            weekdays=None if self.weekdays is None else frozenset(self.weekdays),
            min_duration_s=_seconds(self.min_duration_minutes),
            max_duration_s=_seconds(self.max_duration_minutes),
        )


def _seconds(minutes: int | None) -> int | None:
    return None if minutes is None else minutes * 60


class ElementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    components: list[ComponentIn] = Field(min_length=1, max_length=5)
    restrictions: RestrictionsIn = Field(default_factory=RestrictionsIn)


class TariffIn(BaseModel):
    """OCPI-style tariff: the first element whose restrictions hold prices each moment."""

    model_config = ConfigDict(extra="forbid")

    elements: list[ElementIn] = Field(min_length=1, max_length=20)
    min_price_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)
    max_price_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)

    def to_domain(self, currency: str) -> Tariff:
        return Tariff(
            currency=currency,
            elements=tuple(
                Element(
                    tuple(Component(**c.model_dump()) for c in e.components),
                    e.restrictions.to_domain(),
                )
                for e in self.elements
            ),
            min_price_minor=self.min_price_minor,
            max_price_minor=self.max_price_minor,
        )


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    free_cancel_hours: int = Field(default=24, ge=0, le=24 * 365)
    late_cancel_bp: int = Field(default=5_000, ge=0, le=10_000)
    no_show_bp: int = Field(default=10_000, ge=0, le=10_000)
    deposit_minor: int = Field(default=0, ge=0, le=MAX_MINOR)
    dispute_days: int = Field(default=3, ge=0, le=90)

    def to_domain(self) -> Policy:
        return Policy(**self.model_dump())


class TermsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tariff: TariffIn | None = Field(default=None, description="omit: the resource's list price")
    policy: PolicyIn = Field(default_factory=PolicyIn)


class UsageIn(BaseModel):
    """Expected (or measured) use beyond time: kWh as Wh, pieces, swaps."""

    model_config = ConfigDict(extra="forbid")

    energy_wh: int = Field(default=0, ge=0, le=10**12)
    pieces: int = Field(default=0, ge=0, le=10**12)
    swaps: int = Field(default=0, ge=0, le=10**9)

    def to_domain(self, seconds: int | None = None) -> Usage:
        quantities = {
            Dimension.ENERGY: self.energy_wh,
            Dimension.PIECES: self.pieces,
            Dimension.SWAPS: self.swaps,
        }
        return Usage(seconds=seconds, quantities=quantities)


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_id: int
    start: AwareDatetime
    end: AwareDatetime
    quantity: int = Field(default=1, ge=1, le=10**9)
    usage: UsageIn = Field(default_factory=UsageIn)


def set_terms(
    session: Session, *, ctx: ServiceContext, principal: Principal, resource_id: int, terms: TermsIn
) -> ResourceTerms:
    """Replace a resource's tariff and policy; bookings already made keep theirs."""
    resource = get_resource_for_change(session, principal=principal, resource_id=resource_id)
    tariff_for(resource, terms.tariff)  # refuses a tariff that cannot price
    row = session.get(ResourceTerms, resource_id) or ResourceTerms(resource_id=resource_id)
    row.tariff = terms.tariff.model_dump(mode="json") if terms.tariff else None
    row.policy = terms.policy.model_dump(mode="json")
    row.updated_at = ctx.clock.now()
    session.add(row)
    session.flush()
    return row


def terms_of(session: Session, *, resource_id: int) -> TermsIn:
    get_resource(session, resource_id=resource_id)
    row = session.get(ResourceTerms, resource_id)
    if row is None:
        return TermsIn()
    return TermsIn.model_validate({"tariff": row.tariff, "policy": row.policy})


def tariff_for(resource: Resource, tariff: TariffIn | None) -> Tariff:
    """The resource's tariff, or the flat rate its list price stands for."""
    if tariff is not None:
        try:
            return tariff.to_domain(resource.currency)
        except MoneyError as exc:
            raise InvalidInputError(str(exc), code="invalid_tariff") from exc
    # A piece-priced resource is an output rate (pieces per day): time at the daily rate times
    # the rate prices it, as the core's list price always has.
    per = 3600 if resource.price_unit == "hour" else 86400
    return flat_rate(resource.currency, Dimension.TIME, resource.price_minor, per)


def fee_snapshot(fees: FeeSchedule) -> dict[str, Any]:
    def fee(f: Fee) -> dict[str, int]:
        return {
            "percent_bp": f.percent_bp,
            "fixed_minor": f.fixed_minor,
            "minimum_minor": f.minimum_minor,
        }

    return {
        "provider_commission": fee(fees.provider_commission),
        "demander_fee": fee(fees.demander_fee),
        "tax": {"rate_bp": fees.tax.rate_bp, "inclusive": fees.tax.inclusive},
    }


def fees_of(snapshot: dict[str, Any]) -> FeeSchedule:
    return FeeSchedule(
        provider_commission=Fee(**snapshot["provider_commission"]),
        demander_fee=Fee(**snapshot["demander_fee"]),
        tax=Tax(**snapshot["tax"]),
    )


def price_booking(
    resource: Resource,
    terms: dict[str, Any],
    window: Interval,
    quantity: int,
    *,
    usage: UsageIn | None = None,
    seconds: int | None = None,
) -> Quote:
    """Quote a booking from a terms snapshot (current terms for a preview)."""
    tariff_in = TariffIn.model_validate(terms["tariff"]) if terms.get("tariff") else None
    tariff = tariff_for(resource, tariff_in)
    used = (usage or UsageIn()).to_domain(seconds)
    try:
        lines = price(tariff, window, zone_of(resource), used, quantity)
        return quote(lines, resource.currency, fees_of(terms["fees"]))
    except MoneyError as exc:
        raise InvalidInputError(str(exc), code="invalid_tariff") from exc


def pricing_key(resource: Resource, terms: dict[str, Any]) -> tuple[Any, ...]:
    """Everything price_booking reads of a resource and its terms: bookings with equal keys,
    windows, quantities and usage get equal quotes, so a batch of holds quotes each once.
    Keep it in step with price_booking and tariff_for."""
    return (
        json.dumps(terms, sort_keys=True),
        resource.currency,
        resource.price_unit,
        resource.price_minor,
        resource.timezone,
    )


def current_terms(session: Session, ctx: ServiceContext, resource: Resource) -> dict[str, Any]:
    """The terms a booking made now would be struck on: the resource's and the platform's."""
    return _terms_of(ctx, session.get(ResourceTerms, resource.id))


def current_terms_of_many(
    session: Session, ctx: ServiceContext, resource_ids: Collection[int]
) -> dict[int, dict[str, Any]]:
    """current_terms for many resources in one query (a batch of holds prices them all)."""
    rows = {
        row.resource_id: row
        for row in session.scalars(
            select(ResourceTerms).where(one_of(session, ResourceTerms.resource_id, resource_ids))
        )
    }
    return {rid: _terms_of(ctx, rows.get(rid)) for rid in resource_ids}


def _terms_of(ctx: ServiceContext, row: ResourceTerms | None) -> dict[str, Any]:
    policy = (
        row.policy if row else PolicyIn.model_validate(vars_of(ctx.default_policy)).model_dump()
    )
    return {"tariff": row.tariff if row else None, "policy": policy, "fees": fee_snapshot(ctx.fees)}


def vars_of(policy: Policy) -> dict[str, int]:
    return {name: getattr(policy, name) for name in Policy.__dataclass_fields__}


def preview_price(session: Session, *, ctx: ServiceContext, request: PreviewIn) -> Quote:
    resource = get_resource(session, resource_id=request.resource_id)
    if not request.start < request.end:
        raise InvalidInputError("start must be before end", code="invalid_window")
    window = Interval(request.start, request.end)
    terms = current_terms(session, ctx, resource)
    return price_booking(resource, terms, window, request.quantity, usage=request.usage)


@dataclass(frozen=True, slots=True)
class Deal:
    """The terms a booking is struck on, its quote, and the quote as it is stored."""

    terms: dict[str, Any]
    quote: Quote
    quote_doc: dict[str, Any]


def strike_deal(
    session: Session,
    *,
    ctx: ServiceContext,
    resource: Resource,
    window: Interval,
    quantity: int,
    usage: UsageIn | None,
    agreed_price_minor: int | None = None,
    terms: dict[str, Any] | None = None,
) -> Deal:
    """Quote a booking about to be made, on today's terms (`terms`, if the caller has read
    them already); a price agreed in negotiation (an accepted quote) replaces the tariff by one
    flat charge, under the same fees and policy."""
    terms = dict(terms) if terms is not None else current_terms(session, ctx, resource)
    if agreed_price_minor is not None:
        flat = {"dimension": Dimension.FLAT.value, "price_minor": agreed_price_minor}
        terms["tariff"] = {"elements": [{"components": [flat]}]}
        terms["negotiated"] = True
    if usage is not None:
        terms["expected_usage"] = usage.model_dump()
    offer = price_booking(resource, terms, window, quantity, usage=usage)
    return Deal(terms, offer, quote_json(offer))


def attach_deal(session: Session, *, ctx: ServiceContext, booking: Booking, deal: Deal) -> None:
    """Keep the deal beside the new booking, so later changes to the terms never touch it."""
    session.add(BookingTerms(**deal_row(ctx, booking.id, deal)))


def deal_row(ctx: ServiceContext, booking_id: int, deal: Deal) -> dict[str, Any]:
    """The booking_terms row of a deal (a batch of holds inserts many at once)."""
    return {
        "booking_id": booking_id,
        "terms": deal.terms,
        "quote": deal.quote_doc,
        "currency": deal.quote.currency,
        "total_minor": deal.quote.total.minor,
        "deposit_minor": int(deal.terms["policy"]["deposit_minor"]),
        "money_status": "unpaid",
        "created_at": ctx.clock.now(),
    }


def requote(session: Session, *, booking: Booking, window: Interval) -> Quote | None:
    """A moved booking's new quote, on the terms it was made on (None: made before terms).

    Once paid, a move may not cost more than what is held: the demander cancels and books anew.
    """
    row = session.get(BookingTerms, booking.id)
    if row is None:
        return None
    usage = row.terms.get("expected_usage")
    usage_in = UsageIn.model_validate(usage) if usage else None
    offer = price_booking(booking.resource, row.terms, window, booking.quantity, usage=usage_in)
    if row.money_status not in {"unpaid", "voided"} and offer.total.minor > row.total_minor:
        raise ConflictError(
            "the new window costs more than was paid; cancel and book again",
            code="reschedule_exceeds_payment",
        )
    row.quote, row.total_minor = quote_json(offer), offer.total.minor
    return offer


def policy_of(terms: BookingTerms) -> Policy:
    return PolicyIn.model_validate(terms.terms["policy"]).to_domain()


def quote_json(offer: Quote) -> dict[str, Any]:
    return {
        "currency": offer.currency,
        "lines": [
            {
                "code": line.code,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
                "per": line.per,
                "amount_minor": line.amount.minor,
            }
            for line in offer.lines
        ],
        "price_minor": offer.price.minor,
        "tax_minor": offer.tax.minor,
        "demander_fee_minor": offer.demander_fee.minor,
        "provider_commission_minor": offer.provider_commission.minor,
        "total_minor": offer.total.minor,
        "provider_net_minor": offer.shares.provider.minor,
        "platform_minor": offer.shares.platform.minor,
    }
