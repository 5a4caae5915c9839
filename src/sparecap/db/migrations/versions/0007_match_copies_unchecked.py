"""Matches: no foreign keys on the provider, resource and unit, which copy the booking's.

A match keeps its booking's provider, resource and unit on its own row, so a provider's matches
and a match's explanation read without a join; the booking's foreign keys already hold those to
existing rows, and the booking's own one stays. Checking the copies again cost each match row
three more key lookups: on PostgreSQL, 7,599 rows took 0.30 s with the four remaining keys
against 0.48-0.52 s with all seven (an INSERT ... SELECT of a round's matches, 2026-11-29).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:45:00
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COPIES = {"provider_id": "participants", "resource_id": "resources", "unit_id": "units"}
# SQLite's foreign keys are unnamed: batch mode names the reflected ones by this convention.
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("matches", naming_convention=SQLITE_NAMES) as batch:
            for column, table in COPIES.items():
                batch.drop_constraint(f"fk_matches_{column}_{table}", type_="foreignkey")
        return
    for column in COPIES:
        # PostgreSQL's own name for an unnamed foreign key.
        op.drop_constraint(f"matches_{column}_fkey", "matches", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("matches", naming_convention=SQLITE_NAMES) as batch:
            for column, table in COPIES.items():
                batch.create_foreign_key(f"fk_matches_{column}_{table}", table, [column], ["id"])
        return
    for column, table in COPIES.items():
        op.create_foreign_key(f"matches_{column}_fkey", "matches", table, [column], ["id"])
