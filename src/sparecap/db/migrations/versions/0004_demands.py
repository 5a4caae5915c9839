"""Demand posts, quotes, matching rounds and matches.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 03:30:00
"""

import sqlalchemy as sa
from alembic import op

from sparecap.db.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    _create_demands()
    _create_quotes()
    _create_rounds_and_matches()


def _create_demands() -> None:
    op.create_table(
        "demands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demander_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("quantity_unit", sa.String(length=8), nullable=False),
        sa.Column("matched_quantity", sa.BigInteger(), nullable=False),
        _at("earliest_start"),
        _at("deadline"),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("max_distance_km", sa.Float(), nullable=True),
        sa.Column("max_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("splittable", sa.Boolean(), nullable=False),
        sa.Column("min_lot", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("last_reason", sa.String(length=32), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint("earliest_start < deadline", name="demand_window_ordered"),
        sa.CheckConstraint("quantity >= 1", name="demand_quantity_positive"),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"]),
        sa.ForeignKeyConstraint(["demander_id"], ["participants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_demands_demander_id"), "demands", ["demander_id"], unique=False)
    op.create_index("ix_demands_status_category", "demands", ["status", "category_id"])
    op.create_index("ix_demands_status_deadline", "demands", ["status", "deadline"])


def _create_quotes() -> None:
    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        _at("start_at"),
        _at("end_at"),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint("quantity >= 1", name="quote_quantity_positive"),
        sa.ForeignKeyConstraint(["author_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"]),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"]),
        sa.ForeignKeyConstraint(["parent_id"], ["quotes.id"]),
        sa.ForeignKeyConstraint(["provider_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_quotes_demand_id"), "quotes", ["demand_id"], unique=False)
    op.create_index(op.f("ix_quotes_provider_id"), "quotes", ["provider_id"], unique=False)


def _create_rounds_and_matches() -> None:
    op.create_table(
        "match_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("fairness_share", sa.Float(), nullable=True),
        sa.Column("demands", sa.BigInteger(), nullable=False),
        sa.Column("matched", sa.BigInteger(), nullable=False),
        sa.Column("lost_races", sa.BigInteger(), nullable=False),
        sa.Column("objective", sa.BigInteger(), nullable=False),
        sa.Column("solvers", sa.JSON(), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(["started_by"], ["participants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        _at("start_at"),
        _at("end_at"),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("cost", sa.JSON(), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"]),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"]),
        sa.ForeignKeyConstraint(["provider_id"], ["participants.id"]),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"]),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["match_rounds.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("booking_id"),
    )
    op.create_index(op.f("ix_matches_demand_id"), "matches", ["demand_id"], unique=False)
    op.create_index(op.f("ix_matches_round_id"), "matches", ["round_id"], unique=False)
    op.create_table(
        "unmatched_demands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["match_rounds.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_unmatched_demands_demand_id"), "unmatched_demands", ["demand_id"], unique=False
    )
    op.create_index(
        op.f("ix_unmatched_demands_round_id"), "unmatched_demands", ["round_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_unmatched_demands_round_id"), table_name="unmatched_demands")
    op.drop_index(op.f("ix_unmatched_demands_demand_id"), table_name="unmatched_demands")
    op.drop_table("unmatched_demands")
    op.drop_index(op.f("ix_matches_round_id"), table_name="matches")
    op.drop_index(op.f("ix_matches_demand_id"), table_name="matches")
    op.drop_table("matches")
    op.drop_table("match_rounds")
    op.drop_index(op.f("ix_quotes_provider_id"), table_name="quotes")
    op.drop_index(op.f("ix_quotes_demand_id"), table_name="quotes")
    op.drop_table("quotes")
    op.drop_index("ix_demands_status_deadline", table_name="demands")
    op.drop_index("ix_demands_status_category", table_name="demands")
    op.drop_index(op.f("ix_demands_demander_id"), table_name="demands")
    op.drop_table("demands")
