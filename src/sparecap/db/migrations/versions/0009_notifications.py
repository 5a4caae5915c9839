"""Notifications: each participant's inbox of what happened to its bookings, demands and quotes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 13:40:00
"""

import sqlalchemy as sa
from alembic import op

from sparecap.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("participant_id", sa.Integer(), sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_notifications_participant_id", "notifications", ["participant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_participant_id", table_name="notifications")
    op.drop_table("notifications")
