"""Matches: `lapsed`, the booking status that ended a match unserved.

A round's match is a hold the demander still has to confirm; when the hold expires, the
provider declines or either side cancels, the match's quantity goes back to its demand, and
the match row says why it no longer stands.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 12:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("matches", sa.Column("lapsed", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("lapsed")
