"""wechat: shared values (callback nonces, access tokens)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.types


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sharedvalue',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('expires_at', store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('sharedvalue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharedvalue_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sharedvalue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharedvalue_expires_at'))
    op.drop_table('sharedvalue')
