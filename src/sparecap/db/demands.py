"""Tables of demand posts, quotes, matching rounds and matches.

Matches and quotes point at bookings from here; the bookings table knows nothing of them, so
the capacity guards stay exactly where the core put them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sparecap.db.models import Base


class Demand(Base):
    __tablename__ = "demands"
    __table_args__ = (
        # Rounds read the live demands of a category; the deadline sweep reads by deadline.
        Index("ix_demands_status_category", "status", "category_id"),
        Index("ix_demands_status_deadline", "status", "deadline"),
        CheckConstraint("quantity >= 1", name="demand_quantity_positive"),
        CheckConstraint("earliest_start < deadline", name="demand_window_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demander_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]]
    quantity: Mapped[int] = mapped_column(BigInteger)
    quantity_unit: Mapped[str] = mapped_column(String(8))  # hours | slots | pieces
    matched_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    earliest_start: Mapped[datetime]
    deadline: Mapped[datetime]
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    max_distance_km: Mapped[float | None] = mapped_column(Float)  # None: anywhere
    max_price_minor: Mapped[int] = mapped_column(BigInteger)  # per hour, slot or piece
    currency: Mapped[str] = mapped_column(String(3))
    splittable: Mapped[bool] = mapped_column(Boolean)
    min_lot: Mapped[int] = mapped_column(BigInteger, default=1)
    status: Mapped[str] = mapped_column(String(20))
    last_reason: Mapped[str | None] = mapped_column(String(32))  # why the last round missed
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Quote(Base):
    """An offer on a demand. A counter is a new row from the other side, pointing at its parent."""

    __tablename__ = "quotes"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quote_quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    price_minor: Mapped[int] = mapped_column(BigInteger)  # the whole offer, not per unit
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(BigInteger)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MatchRound(Base):
    """One run of the engine: instant (one demand) or batch (every live demand it was given)."""

    __tablename__ = "match_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # instant | batch
    started_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    weights: Mapped[dict[str, Any]]
    fairness_share: Mapped[float | None] = mapped_column(Float)
    demands: Mapped[int] = mapped_column(BigInteger, default=0)
    matched: Mapped[int] = mapped_column(BigInteger, default=0)
    lost_races: Mapped[int] = mapped_column(BigInteger, default=0)
    objective: Mapped[int] = mapped_column(BigInteger, default=0)
    solvers: Mapped[dict[str, Any]]  # solver per problem shape, with status and seconds
    created_at: Mapped[datetime]


class Match(Base):
    """A pairing of demand and capacity, held through the booking service, with its costs."""

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("match_rounds.id"), index=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id"))
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    # Copies of the booking's, so a provider's matches and an explanation read without a join.
    # The booking's foreign keys hold them to existing rows; keys of their own here cost a
    # round three more lookups per match (migration 0007).
    provider_id: Mapped[int]
    resource_id: Mapped[int]
    unit_id: Mapped[int]
    quantity: Mapped[int] = mapped_column(BigInteger)  # in the demand's quantity unit
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    distance_km: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[dict[str, Any]]  # the breakdown: price, distance, delay, total
    # The booking status that ended the match unserved (expired, declined, cancelled); its
    # quantity went back to the demand. None while the match stands.
    lapsed: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Unmatched(Base):
    """Why a demand left a round without (all of) its quantity."""

    __tablename__ = "unmatched_demands"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("match_rounds.id"), index=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]]  # counts after each filter, so the reason can be checked
    created_at: Mapped[datetime]
