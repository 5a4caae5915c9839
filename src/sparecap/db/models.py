"""SQLAlchemy models: the tables of the platform core.

The capacity guarantees are not here but in the migration that creates these tables (an exclusion
constraint on PostgreSQL, triggers on SQLite, a CHECK on capacity_slots), because they must hold
for every write, including ones that bypass this code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from sparecap.db.types import UTCDateTime


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # person | organisation
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]]
    verification_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str] = mapped_column(String(100))
    attribute_schema: Mapped[dict[str, Any]]
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (
        # Search narrows by category, then a latitude range; longitude and distance filter after.
        Index("ix_resources_category_geo", "category_id", "active", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    price_unit: Mapped[str] = mapped_column(String(16))  # hour | day | piece
    instant_book: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity_mode: Mapped[str] = mapped_column(String(16))  # exclusive | pooled
    attributes: Mapped[dict[str, Any]]
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15)
    min_duration_minutes: Mapped[int] = mapped_column(Integer, default=15)
    max_duration_minutes: Mapped[int | None] = mapped_column(Integer)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=0)
    booking_window_days: Mapped[int | None] = mapped_column(Integer)
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    category: Mapped[Category] = relationship(lazy="joined")
    # Loaded on first use: the booking path reads one unit and a few windows, never all of a
    # 200-bay garage. Listings ask for everything at once with WITH_DETAILS.
    units: Mapped[list[Unit]] = relationship(order_by="Unit.id")
    windows: Mapped[list[AvailabilityWindow]] = relationship(
        order_by="AvailabilityWindow.id", cascade="all, delete-orphan"
    )
    exceptions: Mapped[list[AvailabilityException]] = relationship(
        order_by="AvailabilityException.start_at", cascade="all, delete-orphan"
    )


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("resource_id", "name"),
        CheckConstraint("capacity >= 1", name="unit_capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    exclusive: Mapped[bool] = mapped_column(Boolean)
    capacity: Mapped[int] = mapped_column(BigInteger, default=1)
    capacity_unit: Mapped[str] = mapped_column(String(32), default="unit")


class AvailabilityWindow(Base):
    __tablename__ = "availability_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class AvailabilityException(Base):
    __tablename__ = "availability_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))  # closed | maintenance | open
    note: Mapped[str] = mapped_column(String(300), default="")


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_unit_block", "unit_id", "block_start"),
        Index("ix_bookings_timer", "timer_due_at"),
        CheckConstraint("start_at < end_at", name="booking_start_before_end"),
        CheckConstraint("quantity >= 1", name="booking_quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    demander_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    exclusive: Mapped[bool] = mapped_column(Boolean)  # copied from the unit; drives the guard
    quantity: Mapped[int] = mapped_column(BigInteger, default=1)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    block_start: Mapped[datetime]  # start minus buffer: what the unit is blocked for
    block_end: Mapped[datetime]
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    instant_book: Mapped[bool] = mapped_column(Boolean)
    timer_due_at: Mapped[datetime | None]
    timer_event: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    resource: Mapped[Resource] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")


class BookingEvent(Base):
    """Audit trail: every transition, including operator overrides, with who and why."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    actor_role: Mapped[str] = mapped_column(String(16))
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(500), default="")
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    at: Mapped[datetime]


class CapacitySlot(Base):
    """Used capacity of a pooled unit per grid slot; the CHECK is the guard against overbooking."""

    __tablename__ = "capacity_slots"
    __table_args__ = (
        CheckConstraint("used >= 0 AND used <= capacity", name="capacity_slot_within_limit"),
    )

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger)
    capacity: Mapped[int] = mapped_column(BigInteger)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("participant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class LedgerEntry(Base):
    """One record of the verifiable log; `seq` is its leaf index. Never updated, never deleted."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(64), index=True)  # "booking:42": evidence lookup
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON; the leaf is its UTF-8 bytes
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime]


class LedgerNode(Base):
    """The hash of every complete subtree (the data tlog-tiles serves): proofs read O(log n)."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerState(Base):
    """The log's size and right edge, one row. Its row lock orders appends on PostgreSQL."""

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[list[str]]  # hex hashes, largest subtree first


class LedgerCheckpoint(Base):
    """A signed tree head (C2SP signed note), one per size it was signed at."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class EvidenceRecord(Base):
    """A file's fingerprint registered by a participant (copyright certification, contracts).

    The file stays with its owner; the ledger entry carries the hash, a timestamp and the
    owner's pseudonym, which is what a dispute needs to show who had the file first.
    """

    __tablename__ = "evidence_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
