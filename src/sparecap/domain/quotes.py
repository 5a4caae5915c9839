"""A quote: the price lines of a booking, then tax, the platform's fees, and who gets what.

Everything a demander pays is split three ways when it is released: the provider's net, the
platform's revenue (its commission from the provider plus its service fee from the demander)
and the tax withheld. The split always sums to what was paid, to the minor unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from sparecap.domain.money import Money, MoneyError, allocate, round_half_up
from sparecap.domain.tariffs import PriceLine

BASIS_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class Fee:
    """A percentage (in basis points) plus a fixed part, never less than a minimum."""

    percent_bp: int = 0
    fixed_minor: int = 0
    minimum_minor: int = 0

    def __post_init__(self) -> None:
        if min(self.percent_bp, self.fixed_minor, self.minimum_minor) < 0:
            raise MoneyError("fee parts must not be negative")
        if self.percent_bp > BASIS_POINTS:
            raise MoneyError("a fee cannot exceed 100 %")

    def of(self, base: Money) -> Money:
        if base.minor == 0:
            return Money(0, base.currency)
        pct = round_half_up(Fraction(base.minor * self.percent_bp, BASIS_POINTS))
        return Money(max(pct + self.fixed_minor, self.minimum_minor), base.currency)


@dataclass(frozen=True, slots=True)
class Tax:
    rate_bp: int = 0
    inclusive: bool = True  # prices already contain the tax (Chinese and EU retail practice)

    def __post_init__(self) -> None:
        if not 0 <= self.rate_bp <= BASIS_POINTS:
            raise MoneyError("tax rate must be between 0 and 100 %")

    def split(self, price: Money) -> tuple[Money, Money]:
        """(price the demander pays for the service, tax in it)."""
        if self.inclusive:
            net = round_half_up(Fraction(price.minor * BASIS_POINTS, BASIS_POINTS + self.rate_bp))
            return price, Money(price.minor - net, price.currency)
        tax = round_half_up(Fraction(price.minor * self.rate_bp, BASIS_POINTS))
        return Money(price.minor + tax, price.currency), Money(tax, price.currency)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    provider_commission: Fee = Fee()
    demander_fee: Fee = Fee()
    tax: Tax = Tax()


@dataclass(frozen=True, slots=True)
class Shares:
    """Who gets what of an amount paid."""

    provider: Money
    commission: Money  # the platform's, from the provider's side
    service_fee: Money  # the platform's, from the demander's side
    tax: Money

    # Sums in integers: a settlement batch asks for these a hundred thousand times, and the
    # four parts share one currency by construction.
    @property
    def platform(self) -> Money:
        return Money(self.commission.minor + self.service_fee.minor, self.commission.currency)

    @property
    def total(self) -> Money:
        parts = self.provider.minor + self.commission.minor + self.service_fee.minor
        return Money(parts + self.tax.minor, self.provider.currency)

    def weights(self) -> list[int]:
        return [self.provider.minor, self.commission.minor, self.service_fee.minor, self.tax.minor]

    def part(self, amount: Money) -> Shares:
        """The same split, scaled to `amount` by largest remainder (a cancellation fee, a
        partial release), so the parts still sum exactly."""
        if amount.minor == 0 or self.total.minor == 0:
            zero = Money(0, amount.currency)
            return Shares(zero, zero, zero, zero)
        return Shares(*allocate(amount, self.weights()))


@dataclass(frozen=True, slots=True)
class Quote:
    currency: str
    lines: tuple[PriceLine, ...]
    price: Money  # sum of the lines: the provider's price
    tax: Money
    demander_fee: Money
    provider_commission: Money
    total: Money  # what the demander pays
    shares: Shares


def quote(lines: Sequence[PriceLine], currency: str, fees: FeeSchedule) -> Quote:
    price = Money(sum(line.amount.minor for line in lines), currency)
    if price.minor < 0:
        raise MoneyError("a price cannot be negative")
    gross, tax = fees.tax.split(price)
    net_of_tax = gross - tax
    commission = fees.provider_commission.of(net_of_tax)
    if commission.minor > net_of_tax.minor:
        commission = net_of_tax  # the commission's minimum never exceeds what it is taken from
    demander_fee = fees.demander_fee.of(net_of_tax)
    shares = Shares(
        provider=net_of_tax - commission, commission=commission, service_fee=demander_fee, tax=tax
    )
    return Quote(
        currency=currency,
        lines=tuple(lines),
        price=price,
        tax=tax,
        demander_fee=demander_fee,
        provider_commission=commission,
        total=gross + demander_fee,
        shares=shares,
    )
