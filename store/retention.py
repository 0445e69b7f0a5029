"""Keep what was said only as long as a re-delivery can ask for it again.

An inbound row keeps the replies it was answered with, so a platform's re-delivery gets
the same answer. Those replies hold what the person wrote (a review of an anonymous
complaint included) next to their chat address: after the replay window they are
blanked, and after the dedupe window the row goes. Nothing then ties a chat address to
what it filed anonymously (DOMAIN: what the workroom must never do).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, update
from sqlmodel import Session

from store.models import InboundMessage, Notification

_T: Table = InboundMessage.__table__  # type: ignore[attr-defined]
_N: Table = Notification.__table__  # type: ignore[attr-defined]


def purge_inbound(session: Session, *, now: datetime, replay: timedelta,
                  keep: timedelta) -> tuple[int, int]:
    """Blank replies older than `replay`, delete rows older than `keep`; return counts."""
    blank: Any = (
        update(_T).where(_T.c.received_at < now - replay, _T.c.conversation_key != "")
        .values(replies=[], state=None, draft_key=None, conversation_key="")
    )
    blanked = session.execute(blank).rowcount  # type: ignore[attr-defined]
    # Replies pushed through the outbox hold the same words next to the same address.
    sent_replies: Any = (
        update(_N).where(_N.c.created_at < now - replay, _N.c.message_key == "notice.raw",
                         _N.c.status != "pending", _N.c.address.is_not(None))
        .values(params={"text": ""}, address=None)
    )
    session.execute(sent_replies)
    gone = session.execute(delete(_T).where(_T.c.received_at < now - keep)
                           ).rowcount  # type: ignore[attr-defined]
    return int(blanked or 0), int(gone or 0)
