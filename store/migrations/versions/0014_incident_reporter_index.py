"""incidents: an index on the reporter

Each emergency filed looks for the reporter's own open incident (a texter who then
phones adds to their report): without the index, a scan of every incident per filing.

Revision ID: 0014_incident_reporter
Revises: 0013_link_measures
Create Date: 2026-11-24 02:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0014_incident_reporter'
down_revision: str | None = '0013_link_measures'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_reporter_id'), ['reporter_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_reporter_id'))
