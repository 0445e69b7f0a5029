"""hotline calls: who called back a call that left no report, and when; how long the
call's recording is

A call that left no report tells the staff, who call the caller back: the first to press
"已回电" is recorded, so that nobody calls twice and nobody forgets. A recording of a
second or two (a cough, a hang-up at the beep) is no report: its length is kept.
Calls made before this release were never marked called back; their lengths are unknown.

Revision ID: 0019_hotline_call_back
Revises: 0018_case_letter
Create Date: 2026-11-24 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = '0019_hotline_call_back'
down_revision: str | None = '0018_case_letter'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('hotlinecall', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recording_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('called_back_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('called_back_at', store.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_foreign_key('fk_hotlinecall_called_back_by_person', 'person',
                                    ['called_back_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('hotlinecall', schema=None) as batch_op:
        batch_op.drop_constraint('fk_hotlinecall_called_back_by_person', type_='foreignkey')
        batch_op.drop_column('called_back_at')
        batch_op.drop_column('called_back_by')
        batch_op.drop_column('recording_seconds')
