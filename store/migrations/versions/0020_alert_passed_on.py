"""alerts: a case's alert closed when the case is passed on from its addressee

A leader whose case was passed on (转办) or rerouted by its new category to someone else
no longer has it to acknowledge: their alert records to whom it went and when, says so
where it was shown, and its 收到 records nothing more. Alerts of cases passed on before
this release record neither; they were already left out of the lists of alerts waiting.

Revision ID: 0020_alert_passed_on
Revises: 0019_hotline_call_back
Create Date: 2026-11-25 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = '0020_alert_passed_on'
down_revision: str | None = '0019_hotline_call_back'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('passed_to', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('passed_at', store.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_foreign_key('fk_alert_passed_to_person', 'person',
                                    ['passed_to'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint('fk_alert_passed_to_person', type_='foreignkey')
        batch_op.drop_column('passed_at')
        batch_op.drop_column('passed_to')
