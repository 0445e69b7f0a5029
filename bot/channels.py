"""The outbound port: each channel adapter delivers a rendered push to an address."""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session

from conversations.clock import Clock
from conversations.engine import Reply
from store.models import InboxMessage


class DeliveryError(Exception):
    """A send failed. `fallback`: this channel cannot take it now, try the next one."""

    def __init__(self, reason: str, *, fallback: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.fallback = fallback
        # The platform said when to try again (Telegram's 429): that, not our back-off.
        self.retry_after = retry_after


class Sender(Protocol):
    channel: str

    def deliver(self, session: Session, *, address: str, reply: Reply,
                notification_id: int) -> None:
        """Deliver one push; raise DeliveryError when it did not go out."""
        ...


class InboxSender:
    """Web chat and console: a push lands in the address's inbox table, read on next poll.

    The row is written in the dispatcher's transaction, so it is delivered exactly once.
    """

    def __init__(self, channel: str, clock: Clock) -> None:
        self.channel, self.clock = channel, clock

    def deliver(self, session: Session, *, address: str, reply: Reply,
                notification_id: int) -> None:
        session.add(InboxMessage(
            channel=self.channel, address=address, notification_id=notification_id,
            text=reply.text, buttons=[b.__dict__ for b in reply.buttons],
            created_at=self.clock.now()))
