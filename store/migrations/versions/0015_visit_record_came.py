"""visit ledger: a booked visitor who did not come (未到)

A no-show is a ledger entry of its own, kept in the ledger and its export; every entry
recorded before this release was a visit that took place.

Revision ID: 0015_visit_came
Revises: 0014_incident_reporter
Create Date: 2026-11-26 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_visit_came'
down_revision: str | None = '0014_incident_reporter'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('visitrecord', schema=None) as batch_op:
        batch_op.add_column(sa.Column('came', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('visitrecord', schema=None) as batch_op:
        batch_op.drop_column('came')
