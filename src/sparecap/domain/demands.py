"""The demand lifecycle and the quote negotiation: states, transitions, who may trigger them.

Two declarative tables, like the booking state machine: services look transitions up here and
nothing else decides whether a demand or a quote may move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class DemandStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_MATCHED = "partially_matched"
    MATCHED = "matched"
    CLOSED = "closed"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


# States in which a demand still takes quotes and goes into matching rounds.
LIVE: frozenset[DemandStatus] = frozenset({DemandStatus.OPEN, DemandStatus.PARTIALLY_MATCHED})


class QuantityUnit(StrEnum):
    """What a demand counts. hours and slots ask for one unit for a stretch of time (a slot is
    one step of the resource's booking grid); pieces ask for output of pooled lines, which a
    splittable demand may spread across several lines."""

    HOURS = "hours"
    SLOTS = "slots"
    PIECES = "pieces"


class DemandActor(StrEnum):
    DEMANDER = "demander"  # the demand's own demander
    PROVIDER = "provider"  # the provider accepting the demander's terms (a counter-quote)
    OPERATOR = "operator"
    SYSTEM = "system"  # the matching engine and the deadline sweep


class DemandEvent(StrEnum):
    MATCH_PART = "match_part"  # some of the quantity found capacity
    MATCH_FULL = "match_full"  # all of it did
    CLOSE = "close"  # the demander is done with a (partly) matched demand
    EXPIRE = "expire"  # the deadline passed
    WITHDRAW = "withdraw"
    # A match's booking ended unserved (its hold expired, the provider declined, either side
    # cancelled): its quantity goes back to the demand, which takes part in rounds again.
    LAPSE_PART = "lapse_part"  # some matched quantity is left
    REOPEN = "reopen"  # none is


@dataclass(frozen=True, slots=True)
class DemandTransition:
    event: DemandEvent
    sources: frozenset[DemandStatus]
    target: DemandStatus
    actors: frozenset[DemandActor]


def _d(
    event: DemandEvent, sources: set[DemandStatus], target: DemandStatus, actors: set[DemandActor]
) -> DemandTransition:
    return DemandTransition(event, frozenset(sources), target, frozenset(actors))


_DM, _PR = DemandActor.DEMANDER, DemandActor.PROVIDER
_OP, _SYS = DemandActor.OPERATOR, DemandActor.SYSTEM
_S = DemandStatus

DEMAND_TRANSITIONS: tuple[DemandTransition, ...] = (
    # An accepted quote is a match its two sides made, so either may trigger matches too.
    _d(DemandEvent.MATCH_PART, set(LIVE), _S.PARTIALLY_MATCHED, {_DM, _PR, _OP, _SYS}),
    _d(DemandEvent.MATCH_FULL, set(LIVE), _S.MATCHED, {_DM, _PR, _OP, _SYS}),
    _d(DemandEvent.CLOSE, {_S.PARTIALLY_MATCHED, _S.MATCHED}, _S.CLOSED, {_DM, _OP}),
    _d(DemandEvent.EXPIRE, set(LIVE), _S.EXPIRED, {_OP, _SYS}),
    _d(DemandEvent.WITHDRAW, set(LIVE), _S.WITHDRAWN, {_DM, _OP}),
    _d(DemandEvent.LAPSE_PART, {_S.PARTIALLY_MATCHED, _S.MATCHED}, _S.PARTIALLY_MATCHED, {_SYS}),
    _d(DemandEvent.REOPEN, {_S.PARTIALLY_MATCHED, _S.MATCHED}, _S.OPEN, {_SYS}),
)
_DEMAND_BY_EVENT = {t.event: t for t in DEMAND_TRANSITIONS}


class LifecycleError(Exception):
    """A transition the table does not allow; `code` is the stable API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def resolve_demand(
    event: DemandEvent, status: DemandStatus, actor: DemandActor
) -> DemandTransition:
    transition = _DEMAND_BY_EVENT[event]
    if status not in transition.sources:
        allowed = ", ".join(sorted(transition.sources))
        raise LifecycleError(
            "invalid_transition",
            f"cannot {event} a demand that is {status}; allowed from: {allowed}",
        )
    if actor not in transition.actors:
        raise LifecycleError("forbidden_transition", f"a {actor} may not {event} a demand")
    return transition


def match_event(matched: int, quantity: int) -> DemandEvent:
    return DemandEvent.MATCH_FULL if matched >= quantity else DemandEvent.MATCH_PART


def lapse_event(matched: int) -> DemandEvent:
    """The event of a demand left with `matched` quantity after a match fell through."""
    return DemandEvent.LAPSE_PART if matched > 0 else DemandEvent.REOPEN


class QuoteStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COUNTERED = "countered"  # superseded by a counter-quote from the other side
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"  # its demand left the market (matched, closed, withdrawn) unanswered


class QuoteSide(StrEnum):
    """Who acts on a quote: its author, or the other side of the negotiation."""

    AUTHOR = "author"
    COUNTERPARTY = "counterparty"
    OPERATOR = "operator"


class QuoteEvent(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    COUNTER = "counter"
    WITHDRAW = "withdraw"


_Q = QuoteStatus
_CP, _AU, _QOP = QuoteSide.COUNTERPARTY, QuoteSide.AUTHOR, QuoteSide.OPERATOR

# event -> (target, who may); every quote event starts from OFFERED. Only the other side may
# accept, decline or counter: nobody agrees with their own offer.
QUOTE_TRANSITIONS: dict[QuoteEvent, tuple[QuoteStatus, frozenset[QuoteSide]]] = {
    QuoteEvent.ACCEPT: (_Q.ACCEPTED, frozenset({_CP})),
    QuoteEvent.DECLINE: (_Q.DECLINED, frozenset({_CP, _QOP})),
    QuoteEvent.COUNTER: (_Q.COUNTERED, frozenset({_CP})),
    QuoteEvent.WITHDRAW: (_Q.WITHDRAWN, frozenset({_AU, _QOP})),
}


def resolve_quote(event: QuoteEvent, status: QuoteStatus, sides: set[QuoteSide]) -> QuoteStatus:
    """The quote's next status, or LifecycleError; `sides` are all the caller's capacities."""
    target, allowed = QUOTE_TRANSITIONS[event]
    if status is not QuoteStatus.OFFERED:
        raise LifecycleError("quote_closed", f"cannot {event} a quote that is {status}")
    if not sides & allowed:
        who = " or ".join(sorted(allowed))
        raise LifecycleError("forbidden_transition", f"only the {who} may {event} this quote")
    return target


class UnmatchedReason(StrEnum):
    """Why a demand found nothing, in the order the candidate filter tests it."""

    NO_CAPACITY_IN_RADIUS = "no_capacity_in_radius"
    ATTRIBUTES_NOT_MET = "attributes_not_met"
    NOT_ELIGIBLE = "not_eligible"
    NO_COMPARABLE_PRICE = "no_comparable_price"  # priced in another currency or unit
    ABOVE_PRICE_CEILING = "above_price_ceiling"
    NO_FREE_WINDOW = "no_free_window"
    CANDIDATES_TAKEN = "candidates_taken"  # others in the round got every candidate
    FAIRNESS_CAP = "fairness_cap"  # the only candidates' providers reached their share
    LOST_RACE = "lost_race"  # a direct booking took the capacity while the round wrote holds
    BELOW_MIN_LOT = "below_min_lot"


def quantity_duration(unit: QuantityUnit, quantity: int, slot_minutes: int) -> timedelta | None:
    """How long a time demand occupies one unit; None for pieces, whose window is the demand's."""
    if unit is QuantityUnit.HOURS:
        return timedelta(hours=quantity)
    if unit is QuantityUnit.SLOTS:
        return timedelta(minutes=quantity * slot_minutes)
    return None
