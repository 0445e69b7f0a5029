"""incident links: a report added to an emergency keeps its measures and suggestion

A liaison's report added to an emergency already open said what was being done and
what they suggest; those answers were dropped. They are kept now, shown to the leaders.

Revision ID: 0013_link_measures
Revises: 0012_suggestion_answer
Create Date: 2026-11-24 01:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_link_measures'
down_revision: str | None = '0012_suggestion_answer'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incidentlink', schema=None) as batch_op:
        batch_op.add_column(sa.Column('measures', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('suggestion', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incidentlink', schema=None) as batch_op:
        batch_op.drop_column('suggestion')
        batch_op.drop_column('measures')
