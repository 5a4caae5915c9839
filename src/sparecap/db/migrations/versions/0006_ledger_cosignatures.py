"""Ledger cosignatures: witnesses' cosignatures of our checkpoints, for finality by quorum.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:00:00
"""

import sqlalchemy as sa
from alembic import op

from sparecap.db.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_cosignatures",
        sa.Column(
            "checkpoint_size",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("witness", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.String(length=400), nullable=False),
        sa.Column("cosigned_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_size"], ["ledger_checkpoints.size"]),
        sa.PrimaryKeyConstraint("checkpoint_size", "witness"),
    )


def downgrade() -> None:
    op.drop_table("ledger_cosignatures")
