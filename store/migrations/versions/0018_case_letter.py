"""cases: a letter written to a leader (领导来信), and whom it was written to

A letter to a named leader is read by that leader (领导亲自阅示), one to the chairman by
the director; one to no leader in particular goes by portfolio as a complaint does.
Every case registered before this release was a complaint: none was addressed.

Revision ID: 0018_case_letter
Revises: 0017_inbox_xact
Create Date: 2026-11-24 07:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_case_letter'
down_revision: str | None = '0017_inbox_xact'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('letter', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('addressed_to', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_case_addressed_to_person', 'person',
                                    ['addressed_to'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_constraint('fk_case_addressed_to_person', type_='foreignkey')
        batch_op.drop_column('addressed_to')
        batch_op.drop_column('letter')
