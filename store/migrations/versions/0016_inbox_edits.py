"""inboxmessage: when it was edited, and its version

An alert acknowledged is edited in place where it was shown; the web chat's open pages
fetch the edits since they last looked, and show a version newer than their own.

Revision ID: 0016_inbox_edits
Revises: 0015_visit_came
Create Date: 2026-11-25 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = '0016_inbox_edits'
down_revision: str | None = '0015_visit_came'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', store.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('inboxmessage', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('edited_at')
