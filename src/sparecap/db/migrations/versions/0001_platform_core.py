"""Platform core: participants, categories, resources, availability, bookings, capacity guards.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 00:02:25.268655
"""

import sqlalchemy as sa
from alembic import op

from sparecap.db.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("attribute_schema", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("verification_level", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index(
        op.f("ix_api_keys_participant_id"), "api_keys", ["participant_id"], unique=False
    )
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id", "key"),
    )
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("price_unit", sa.String(length=16), nullable=False),
        sa.Column("instant_book", sa.Boolean(), nullable=False),
        sa.Column("capacity_mode", sa.String(length=16), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("min_duration_minutes", sa.Integer(), nullable=False),
        sa.Column("max_duration_minutes", sa.Integer(), nullable=True),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("booking_window_days", sa.Integer(), nullable=True),
        sa.Column("buffer_before_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["participants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_resources_category_geo",
        "resources",
        ["category_id", "active", "lat", "lon"],
        unique=False,
    )
    op.create_index(op.f("ix_resources_provider_id"), "resources", ["provider_id"], unique=False)
    op.create_table(
        "availability_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_availability_exceptions_resource_id"),
        "availability_exceptions",
        ["resource_id"],
        unique=False,
    )
    op.create_table(
        "availability_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_availability_windows_resource_id"),
        "availability_windows",
        ["resource_id"],
        unique=False,
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("capacity_unit", sa.String(length=32), nullable=False),
        sa.CheckConstraint("capacity >= 1", name="unit_capacity_positive"),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource_id", "name"),
    )
    op.create_index(op.f("ix_units_resource_id"), "units", ["resource_id"], unique=False)
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("demander_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("block_start", UTCDateTime(), nullable=False),
        sa.Column("block_end", UTCDateTime(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("instant_book", sa.Boolean(), nullable=False),
        sa.Column("timer_due_at", UTCDateTime(), nullable=True),
        sa.Column("timer_event", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("quantity >= 1", name="booking_quantity_positive"),
        sa.CheckConstraint("start_at < end_at", name="booking_start_before_end"),
        sa.ForeignKeyConstraint(
            ["demander_id"],
            ["participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_bookings_demander_id"), "bookings", ["demander_id"], unique=False)
    op.create_index(op.f("ix_bookings_resource_id"), "bookings", ["resource_id"], unique=False)
    op.create_index("ix_bookings_timer", "bookings", ["timer_due_at"], unique=False)
    op.create_index("ix_bookings_unit_block", "bookings", ["unit_id", "block_start"], unique=False)
    op.create_table(
        "capacity_slots",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("slot_start", UTCDateTime(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("used >= 0 AND used <= capacity", name="capacity_slot_within_limit"),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("unit_id", "slot_start"),
    )
    op.create_table(
        "booking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_booking_events_booking_id"), "booking_events", ["booking_id"], unique=False
    )

    _create_capacity_guards()


# The states that occupy capacity; sparecap.domain.bookings.BLOCKING names the same four.
BLOCKING_SQL = "('held', 'requested', 'confirmed', 'in_use')"


def _create_capacity_guards() -> None:
    """No two blocking bookings of one exclusive unit may overlap, whoever writes the rows."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist ("
            " unit_id WITH =, tstzrange(block_start, block_end, '[)') WITH &&)"
            f" WHERE (exclusive AND status IN {BLOCKING_SQL})"
        )
        return
    # SQLite has no exclusion constraints. Writers are serialised (one write transaction at a
    # time), so a trigger that checks for an overlap before each write is race-free.
    overlap = (
        "SELECT RAISE(ABORT, 'booking_overlap') WHERE EXISTS ("
        " SELECT 1 FROM bookings b WHERE b.unit_id = NEW.unit_id AND b.id IS NOT NEW.id"
        f" AND b.exclusive AND b.status IN {BLOCKING_SQL}"
        " AND b.block_start < NEW.block_end AND NEW.block_start < b.block_end);"
    )
    when = f"WHEN NEW.exclusive AND NEW.status IN {BLOCKING_SQL}"
    columns = "status, unit_id, block_start, block_end, exclusive"
    body = f"ON bookings {when} BEGIN {overlap} END"
    op.execute(f"CREATE TRIGGER bookings_no_overlap_insert BEFORE INSERT {body}")
    op.execute(f"CREATE TRIGGER bookings_no_overlap_update BEFORE UPDATE OF {columns} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_insert")
        op.execute("DROP TRIGGER IF EXISTS bookings_no_overlap_update")
    op.drop_index(op.f("ix_booking_events_booking_id"), table_name="booking_events")
    op.drop_table("booking_events")
    op.drop_table("capacity_slots")
    op.drop_index("ix_bookings_unit_block", table_name="bookings")
    op.drop_index("ix_bookings_timer", table_name="bookings")
    op.drop_index(op.f("ix_bookings_resource_id"), table_name="bookings")
    op.drop_index(op.f("ix_bookings_demander_id"), table_name="bookings")
    op.drop_table("bookings")
    op.drop_index(op.f("ix_units_resource_id"), table_name="units")
    op.drop_table("units")
    op.drop_index(op.f("ix_availability_windows_resource_id"), table_name="availability_windows")
    op.drop_table("availability_windows")
    op.drop_index(
        op.f("ix_availability_exceptions_resource_id"), table_name="availability_exceptions"
    )
    op.drop_table("availability_exceptions")
    op.drop_index(op.f("ix_resources_provider_id"), table_name="resources")
    op.drop_index("ix_resources_category_geo", table_name="resources")
    op.drop_table("resources")
    op.drop_table("idempotency_records")
    op.drop_index(op.f("ix_api_keys_participant_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("participants")
    op.drop_table("categories")
