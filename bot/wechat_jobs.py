"""Durable work of the WeChat channels, done off WeChat's 5 seconds and swept by timers.

- A message answered `success` before its step committed is held (a HeldInbound row and a
  timer) until the step has committed; if this process dies first, the timer steps it
  again (the inbound log absorbs a second step) and the dispatcher sends its replies.
- A photo or voice note is known to WeChat by a media id that expires after three days.
  Its bytes are fetched (media/get) into a MediaFile once the step that took it has
  committed, retried with back-off, and forgotten later if no record kept it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.wechat_api import ApiError, WeChatApi
from conversations.clock import Clock
from handlers import files
from handlers.inbound import Inbound
from store import steps
from store.db import transaction
from store.models import Attachment, HeldInbound, MediaFile, Timer
from store.outbox import backoff
from store.state import StateStore

log = logging.getLogger(__name__)

LATE = "wechat_late"  # timer: a held message to step again
MEDIA = "wechat_media"  # timer: a media file to fetch, later to forget unless a record took it
HOLD_LEASE = timedelta(seconds=60)  # a held message's own step has this long to commit
MEDIA_GRACE = timedelta(seconds=60)  # the sweep fetches what this process did not
MEDIA_LIFE = timedelta(days=3)  # WeChat's: past it a media id cannot be fetched
MEDIA_KEEP = timedelta(days=30)  # fetched bytes no record took by then are forgotten
MEDIA_LIMIT = 10 * 1024 * 1024  # WeChat's largest image; voice is smaller
MEDIA_GONE = frozenset({40007, -2})  # no such media id (expired), or too large: give up


def _insert(session: Session, table: Any) -> Any:
    dialect = session.connection().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


# --- held messages -------------------------------------------------------------------


def held_ref(inbound: Inbound) -> str:
    return f"{inbound.channel}:{inbound.message_id}"


def _fields(inbound: Inbound) -> dict[str, Any]:
    data = dataclasses.asdict(inbound)
    data["attachments"] = [dict(a) for a in inbound.attachments]
    return data


def _inbound(data: Mapping[str, Any]) -> Inbound:
    known = {f.name for f in dataclasses.fields(Inbound)}
    kept = {k: v for k, v in data.items() if k in known}
    kept["attachments"] = tuple(dict(a) for a in kept.get("attachments") or ())
    return Inbound(**kept)


def hold(db: Engine, clock: Clock, inbound: Inbound) -> None:
    """Make a message durable before its step commits, with a timer to step it again."""
    now = clock.now()
    t = HeldInbound.__table__  # type: ignore[attr-defined]
    with transaction(db) as s:
        s.connection().execute(_insert(s, t).values(
            channel=inbound.channel, message_id=inbound.message_id,
            inbound=_fields(inbound), held_at=now).on_conflict_do_nothing(
            index_elements=["channel", "message_id"]))
        steps.set_timers(s, [(LATE, held_ref(inbound), now + HOLD_LEASE)])


def release(db: Engine, inbound: Inbound) -> None:
    """The message's step has committed: nothing left to hold."""
    t = HeldInbound.__table__  # type: ignore[attr-defined]
    with transaction(db) as s:
        s.connection().execute(delete(t).where(t.c.channel == inbound.channel,
                                               t.c.message_id == inbound.message_id))
        steps.drop_timers(s, LATE, [held_ref(inbound)])


def retry_soon(db: Engine, clock: Clock, inbound: Inbound) -> None:
    """The held message's step failed: the next sweep steps it again."""
    t = Timer.__table__  # type: ignore[attr-defined]
    with transaction(db) as s:
        s.connection().execute(update(t).where(
            t.c.kind == LATE, t.c.ref == held_ref(inbound), col(t.c.done_at).is_(None))
            .values(due_at=clock.now(), claimed_until=None))


def held(db: Engine, ref: str) -> Inbound | None:
    channel, _, message_id = ref.partition(":")
    with Session(db) as s:
        row = s.exec(select(HeldInbound).where(HeldInbound.channel == channel,
                                               HeldInbound.message_id == message_id)).first()
    return _inbound(row.inbound) if row is not None else None


def forget_timer(db: Engine, kind: str, ref: str) -> None:
    with transaction(db) as s:
        steps.drop_timers(s, kind, [ref])


# --- media -------------------------------------------------------------------------


def schedule_media(session: Session, clock: Clock, msgs: list[Inbound]) -> list[str]:
    """In a step's transaction: a MediaFile to fill, and its timer, for each photo or voice
    note not seen before; their timer refs."""
    now = clock.now()
    rows = [{"channel": m.channel, "file_ref": str(a["file_ref"]),
             "conversation_key": m.conversation_key, "mime_type": a.get("mime_type"),
             "received_at": now}
            for m in msgs for a in m.attachments if a.get("file_ref")]
    if not rows:
        return []
    t = MediaFile.__table__  # type: ignore[attr-defined]
    stmt = _insert(session, t).values(rows).on_conflict_do_nothing(
        index_elements=["channel", "file_ref"]).returning(t.c.id, t.c.channel)
    refs = [f"{r.channel}:{r.id}" for r in session.connection().execute(stmt)]
    steps.set_timers(session, [(MEDIA, ref, now + MEDIA_GRACE) for ref in refs])
    return refs


def kept_bytes(session: Session, attachment: Attachment) -> bytes | None:
    """The bytes of a record's attachment, when the channel's ids expire and they were
    fetched."""
    row = files.kept_media(session, attachment)
    return row.content if row is not None else None


class MediaKeeper:
    """Fetch the bytes of media files before their ids expire; forget those no record
    took. `fetch` is the MEDIA timer's handler and also runs right after a step."""

    def __init__(self, db: Engine, clock: Clock, states: StateStore,
                 apis: Callable[[str], WeChatApi | None]) -> None:
        self.db, self.clock, self.states, self.apis = db, clock, states, apis

    def fetch(self, ref: str) -> None:
        channel, _, number = ref.partition(":")
        with Session(self.db) as s:
            row = s.get(MediaFile, int(number)) if number.isdigit() else None
            attempts = s.exec(select(Timer.attempts).where(Timer.kind == MEDIA,
                                                           Timer.ref == ref)).first() or 0
        api = self.apis(channel)
        if row is None or row.channel != channel or api is None:
            forget_timer(self.db, MEDIA, ref)
            return
        if row.content is not None:  # fetched long ago: kept only if a record took it
            if not self._taken(row):
                self._forget(row, ref)
            else:
                forget_timer(self.db, MEDIA, ref)
            return
        if not self._taken(row, in_draft=True):  # a photo outside a report
            self._forget(row, ref)
            return
        now = self.clock.now()
        try:
            data, mime = api.get_media(row.file_ref, limit=MEDIA_LIMIT)
        except (ApiError, httpx.HTTPError) as err:
            gone = isinstance(err, ApiError) and err.errcode in MEDIA_GONE
            if gone or now - row.received_at > MEDIA_LIFE:
                log.error("%s: media %s of %s cannot be fetched, only its id is kept: %s",
                          channel, row.file_ref, row.conversation_key, err)
                forget_timer(self.db, MEDIA, ref)
                return
            log.warning("%s: fetching media %s failed (%s); trying again", channel,
                        row.file_ref, err)
            with transaction(self.db) as s:
                steps.set_timers(s, [(MEDIA, ref, now + backoff(max(1, attempts)))])
            return
        with transaction(self.db) as s:
            s.connection().execute(
                update(MediaFile.__table__)  # type: ignore[attr-defined]
                .where(MediaFile.__table__.c.id == row.id)  # type: ignore[attr-defined]
                .values(content=data, size=len(data), mime_type=mime or row.mime_type,
                        fetched_at=now))
            steps.set_timers(s, [(MEDIA, ref, now + MEDIA_KEEP)])
        log.info("%s: kept media %s (%s bytes)", channel, row.file_ref, len(data))

    def _taken(self, row: MediaFile, *, in_draft: bool = False) -> bool:
        """Whether a record holds the file, or (`in_draft`) the sender's open form."""
        with Session(self.db) as s:
            if s.exec(select(Attachment.id).where(Attachment.channel == row.channel,
                                                  Attachment.file_ref == row.file_ref)).first():
                return True
            if not in_draft:
                return False
            state, _ = self.states.load(s, row.conversation_key)
        files = (state or {}).get("attachments") or []
        return any(f.get("file_ref") == row.file_ref for f in files)

    def _forget(self, row: MediaFile, ref: str) -> None:
        with transaction(self.db) as s:
            s.connection().execute(delete(MediaFile.__table__).where(  # type: ignore[attr-defined]
                MediaFile.__table__.c.id == row.id))  # type: ignore[attr-defined]
            steps.drop_timers(s, MEDIA, [ref])
