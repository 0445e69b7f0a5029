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
from functools import partial
from typing import Any

import httpx
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import media
from bot.wechat_api import ApiError, WeChatApi
from conversations.clock import Clock
from handlers import files
from handlers.inbound import Inbound
from store import media as stored_media
from store import steps
from store.db import transaction, upsert_insert
from store.models import Attachment, HeldInbound, Timer
from store.state import StateStore

log = logging.getLogger(__name__)

LATE = "wechat_late"  # timer: a held message to step again
MEDIA = stored_media.WECHAT  # timer: a media file to fetch, later to forget unless a record took it
HOLD_LEASE = timedelta(seconds=60)  # a held message's own step has this long to commit
MEDIA_GRACE = timedelta(seconds=60)  # the sweep fetches what this process did not
MEDIA_LIFE = timedelta(days=3)  # WeChat's: past it a media id cannot be fetched
MEDIA_KEEP = media.KEEP  # fetched bytes no record took by then are forgotten
MEDIA_LIMIT = 20 * 1024 * 1024  # a video a worker films; WeChat's images and voice are smaller
MEDIA_GONE = frozenset({40007, -2})  # no such media id (expired), or too large: give up
MEDIA_TIMEOUT = 90.0  # one download, inside the 120 s claim of its timer (scheduler/sweep.py)


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
        s.connection().execute(upsert_insert(s, t).values(
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
    return media.schedule(session, MEDIA, msgs, now=clock.now(), grace=MEDIA_GRACE)


def fetch_soon(db: Engine, clock: Clock, refs: list[str]) -> None:
    """Media files to fetch at the download sweep's next turn (scheduler/sweep.py), not on
    a thread that has other work to do."""
    with transaction(db) as s:
        steps.set_timers(s, [(MEDIA, ref, clock.now()) for ref in refs])


def kept_bytes(session: Session, attachment: Attachment) -> bytes | None:
    """The bytes of a record's attachment, when the channel's ids expire and they were
    fetched."""
    row = files.kept_media(session, attachment)
    return row.content if row is not None else None


def _get_media(api: WeChatApi, media_id: str) -> tuple[bytes, str | None]:
    """media/get; an id WeChat no longer has, or a file too large, is gone."""
    try:
        return api.get_media(media_id, limit=MEDIA_LIMIT, timeout=MEDIA_TIMEOUT)
    except ApiError as err:
        if err.errcode in MEDIA_GONE:
            raise media.Gone(str(err)) from err
        raise media.Later(str(err)) from err
    except httpx.HTTPError as err:
        raise media.Later(str(err)) from err


class MediaKeeper(media.MediaKeeper):
    """Fetch the bytes of media files before their ids expire; forget those no record
    took. `fetch` is the MEDIA timer's handler; `fetch_now` runs right after a step."""

    def __init__(self, db: Engine, clock: Clock, states: StateStore,
                 apis: Callable[[str], WeChatApi | None]) -> None:
        def source(channel: str) -> media.Fetch | None:
            api = apis(channel)
            return None if api is None else partial(_get_media, api)

        super().__init__(db, clock, states, kind=MEDIA, source=source, life=MEDIA_LIFE,
                         keep=MEDIA_KEEP)
