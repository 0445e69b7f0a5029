"""inboxmessage: the transaction that wrote it

On PostgreSQL ids are taken at insert and transactions commit in any order: a web chat
poll that saw row N+1 may not yet have seen row N. Each row keeps the id of the
transaction that wrote it, and a poll brings the rows written by a transaction the
previous poll's snapshot had not seen. NULL on SQLite (and for rows written before).

Revision ID: 0017_inbox_xact
Revises: 0016_inbox_edits
Create Date: 2026-11-26 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017_inbox_xact'
down_revision: str | None = '0016_inbox_edits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('xact', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_inboxmessage_address_xact', ['address', 'xact'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_inboxmessage_address_xact')
        batch_op.drop_column('xact')
