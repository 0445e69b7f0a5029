"""outbox: an index of pending pushes by chat, so a backlog does not slow every step

Revision ID: 0011_outbox_chat
Revises: 0010_wechat
Create Date: 2026-11-23 00:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0011_outbox_chat'
down_revision: str | None = '0010_wechat'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_notification_chat', 'notification', ['channel', 'address', 'status'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_notification_chat', table_name='notification')
