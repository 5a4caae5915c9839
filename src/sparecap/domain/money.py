"""Money as integer minor units with an ISO 4217 currency; never floats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

# Minor-unit exponents from ISO 4217 (list one, maintained by SIX Group) for the currencies the
# platform settles in. A currency missing here is refused rather than guessed.
MINOR_UNIT_EXPONENT: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "JPY": 0,
    "KRW": 0,
}

# Largest amount accepted anywhere: fits a signed 64-bit column with room for sums of many lines.
MAX_MINOR = 10**15


class MoneyError(ValueError):
    """An amount or currency that money arithmetic refuses."""


class UnknownCurrencyError(MoneyError):
    pass


class CurrencyMismatchError(MoneyError):
    pass


def check_currency(code: str) -> str:
    if code not in MINOR_UNIT_EXPONENT:
        known = ", ".join(sorted(MINOR_UNIT_EXPONENT))
        raise UnknownCurrencyError(f"unknown currency {code!r}; known: {known}")
    return code


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(f"amount must be an integer of minor units, got {self.minor!r}")
        if abs(self.minor) > MAX_MINOR:
            raise MoneyError(f"amount {self.minor} exceeds the limit of {MAX_MINOR} minor units")
        check_currency(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def format(self) -> str:
        exp = MINOR_UNIT_EXPONENT[self.currency]
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exp)
        digits = f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"
        return f"{digits} {self.currency}"


def round_half_up(value: Fraction) -> int:
    """Commercial rounding (half away from zero), the rule Chinese fapiao and most tariffs use."""
    sign = -1 if value < 0 else 1
    return sign * int((abs(value) + Fraction(1, 2)) // 1)


def prorate(price: Money, quantity: Fraction) -> Money:
    """Price times a fractional quantity (90 minutes at an hourly rate), rounded half up once."""
    return Money(round_half_up(price.minor * quantity), price.currency)


def allocate(total: Money, weights: Sequence[int]) -> list[Money]:
    """Split `total` by integer weights with the largest-remainder method.

    Parts always sum to the total exactly. Ties in remainder go to the earlier weight, so the
    result is deterministic.
    """
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise MoneyError("weights must be non-negative and not all zero")
    weight_sum = sum(weights)
    sign = -1 if total.minor < 0 else 1
    amount = abs(total.minor)
    floors = [amount * w // weight_sum for w in weights]
    remainders = [amount * w % weight_sum for w in weights]
    leftover = amount - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return [Money(sign * part, total.currency) for part in floors]
