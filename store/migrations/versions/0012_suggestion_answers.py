"""suggestions: a state and an answer, fed back to the suggester (事事有回音)

Revision ID: 0012_suggestion_answer
Revises: 0011_outbox_chat
Create Date: 2026-11-26 00:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types

revision: str = '0012_suggestion_answer'
down_revision: str | None = '0011_outbox_chat'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_hash',
                                      sqlmodel.sql.sqltypes.AutoString(length=128),
                                      nullable=True))
        # Suggestions filed before this release are waiting for their answer.
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='registered'))
        batch_op.add_column(sa.Column('answer_kind',
                                      sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
        batch_op.add_column(sa.Column('answer', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('answered_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', store.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_unique_constraint('uq_suggestion_receipt_hash', ['receipt_hash'])
        batch_op.create_foreign_key('fk_suggestion_answered_by', 'person', ['answered_by'],
                                    ['id'])
        batch_op.create_index(batch_op.f('ix_suggestion_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_suggestion_person_id'), ['person_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suggestion_person_id'))
        batch_op.drop_index(batch_op.f('ix_suggestion_status'))
        batch_op.drop_constraint('fk_suggestion_answered_by', type_='foreignkey')
        batch_op.drop_constraint('uq_suggestion_receipt_hash', type_='unique')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('answered_by')
        batch_op.drop_column('answer')
        batch_op.drop_column('answer_kind')
        batch_op.drop_column('status')
        batch_op.drop_column('receipt_hash')
