"""Evidence records: file fingerprints registered on the ledger.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 01:09:41.221466
"""

import sqlalchemy as sa
from alembic import op

from sparecap.db.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_evidence_records_participant_id"),
        "evidence_records",
        ["participant_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_evidence_records_sha256"), "evidence_records", ["sha256"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_records_sha256"), table_name="evidence_records")
    op.drop_index(op.f("ix_evidence_records_participant_id"), table_name="evidence_records")
    op.drop_table("evidence_records")
