"""The outbound port: each channel adapter delivers a rendered push to an address."""

from __future__ import annotations

import re
from typing import Protocol

from sqlmodel import Session

from conversations.clock import Clock
from conversations.engine import Reply
from handlers.notices import FileReply
from store.models import InboxMessage


def split_text(text: str, limit: int) -> list[str]:
    """Split a long text into parts of at most `limit` characters, at line ends where
    possible (Telegram messages, SMS bodies)."""
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    out.append(text)
    return out


PLACE_NAME_MAX = 150  # the name and address of a shared place, within a place answer


def located(latitude: float, longitude: float, *names: str | None) -> str:
    """A location shared from a map, as the words of an answer the same in every
    language: the place's name and address where the app gave them, then its coordinates
    (latitude, longitude), which a map app finds when pasted:
    "📍 二号门, 和平路 8 号 (31.23000, 121.47000)"."""
    said = ", ".join(n.strip() for n in names if n and n.strip())
    if len(said) > PLACE_NAME_MAX:
        said = said[:PLACE_NAME_MAX - 1] + "…"
    where = f"({float(latitude):.5f}, {float(longitude):.5f})"
    return f"📍 {said} {where}" if said else f"📍 {where}"


# What `located` writes: found in an alert's text (pin_of), or matching a whole place.
_LOCATED = re.compile(
    r"📍 (?:(?P<name>[^\n]+?) )?\((?P<lat>-?\d{1,2}\.\d+), (?P<lon>-?\d{1,3}\.\d+)\)")


def pin_of(text: str) -> tuple[float, float] | None:
    """The coordinates of the first shared location a text shows (see `located`)."""
    m = _LOCATED.search(text)
    if m is None:
        return None
    lat, lon = float(m["lat"]), float(m["lon"])
    return (lat, lon) if abs(lat) <= 90 and abs(lon) <= 180 else None


def spoken_place(place: str) -> str:
    """A place as a voice call reads it: a shared location's name without its pin and
    coordinates; coordinates alone when it has no name; any other place as written."""
    m = _LOCATED.fullmatch(place)
    if m is None:
        return place
    return m["name"] or f"{m['lat']}, {m['lon']}"


class DeliveryError(Exception):
    """A send failed. `fallback`: this channel cannot take it now, try the next one."""

    def __init__(self, reason: str, *, fallback: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.fallback = fallback
        # The platform said when to try again (Telegram's 429): that, not our back-off.
        self.retry_after = retry_after


class Sender(Protocol):
    """A channel's deliveries. A sender may also say `windowed = True`: the channel
    reaches a person only for a while after their own last message (WeChat's official
    account: 48 hours), so a push it refuses, with no other channel left, waits for that
    person's next message (scheduler/dispatch.py)."""

    channel: str

    def deliver(self, session: Session, *, address: str, reply: Reply,
                notification_id: int, edit_ref: str | None = None) -> str | None:
        """Deliver one push (or edit the message `edit_ref`); return the platform's
        reference of the message, or raise DeliveryError when it did not go out."""
        ...


class InboxSender:
    """Web chat and console: a push lands in the address's inbox table, read on next poll.

    The row is written in the dispatcher's transaction, so it is delivered exactly once.
    """

    def __init__(self, channel: str, clock: Clock) -> None:
        self.channel, self.clock = channel, clock

    def deliver(self, session: Session, *, address: str, reply: Reply,
                notification_id: int, edit_ref: str | None = None) -> str | None:
        buttons = [b.__dict__ for b in reply.buttons]
        if isinstance(reply, FileReply) and reply.file.get("attachment"):
            # A record's file: the page shows it from its kept bytes (the read checked
            # and audited there, web/app.py open_file), as a button of kind file:<kind>.
            buttons = [{"label": reply.text, "value": f"/files/{reply.file['attachment']}",
                        "kind": f"file:{reply.file.get('kind') or 'file'}"}]
        if edit_ref is not None:
            shown = session.get(InboxMessage, int(edit_ref))
            if shown is not None and shown.address == address:
                shown.text, shown.buttons = reply.text, buttons
                shown.edited_at, shown.version = self.clock.now(), shown.version + 1
                session.add(shown)
                return edit_ref
        row = InboxMessage(channel=self.channel, address=address,
                           notification_id=notification_id, text=reply.text, buttons=buttons,
                           created_at=self.clock.now())
        session.add(row)
        session.flush()
        return str(row.id)
