"""The bytes of photos and voice notes, fetched from their platform into MediaFile rows.

Each channel family fetches its files through a timer of its own kind, whose ref names
the MediaFile (`channel:id`); the timer is set in the transaction of the step that took
the file, so a file is fetched once that step has committed, also after a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from store import steps
from store.db import upsert_insert
from store.models import MediaFile, Timer

WECHAT = "wechat_media"  # timer: a WeChat or WeCom media file to fetch, later to forget
TELEGRAM = "telegram_media"  # timer: a Telegram file to fetch, later to forget
KINDS = (WECHAT, TELEGRAM)
# timer: a file whose bytes came with the message (the web chat's uploads): nothing to
# fetch; forgotten unless a record (or, for a while, the sender's open form) holds it
RECEIVED = "received_media"
# timer: a file given up on while only its sender's open form held it; its record's staff
# are told once a record takes it (not a fetch: a file with only this timer is not
# `fetching`)
LOST = "media_lost"

_T = MediaFile.__table__  # type: ignore[attr-defined]


def timer_ref(row: MediaFile) -> str:
    return f"{row.channel}:{row.id}"


def schedule(session: Session, kind: str,
             files: Iterable[tuple[str, str, Mapping[str, Any]]], *, now: datetime,
             due: datetime) -> list[str]:
    """A MediaFile to fill, and its timer of `kind` due at `due`, for each (channel,
    conversation key, attachment) not seen before; their timer refs."""
    rows = [{"channel": channel, "file_ref": str(a["file_ref"]), "conversation_key": key,
             "mime_type": a.get("mime_type"), "received_at": now}
            for channel, key, a in files if a.get("file_ref")]
    if not rows:
        return []
    stmt = upsert_insert(session, _T).values(rows).on_conflict_do_nothing(
        index_elements=["channel", "file_ref"]).returning(_T.c.id, _T.c.channel)
    refs = [f"{r.channel}:{r.id}" for r in session.connection().execute(stmt)]
    steps.set_timers(session, [(kind, ref, due) for ref in refs])
    return refs


def received(session: Session, *, channel: str, conversation_key: str,
             attachment: Mapping[str, Any], content: bytes, now: datetime,
             due: datetime) -> None:
    """A file whose bytes came with the message, kept in the step's transaction with its
    RECEIVED timer; once only (a message sent again changes nothing)."""
    stmt = upsert_insert(session, _T).values(
        channel=channel, file_ref=str(attachment["file_ref"]), conversation_key=conversation_key,
        content=content, mime_type=attachment.get("mime_type"), size=len(content),
        received_at=now, fetched_at=now,
    ).on_conflict_do_nothing(index_elements=["channel", "file_ref"]).returning(_T.c.id)
    for row in session.connection().execute(stmt):
        steps.set_timers(session, [(RECEIVED, f"{channel}:{row.id}", due)])


def keep(session: Session, row_id: int, data: bytes, mime: str | None, now: datetime) -> None:
    """Store a file's fetched bytes."""
    values: dict[str, Any] = {"content": data, "size": len(data), "fetched_at": now}
    if mime:
        values["mime_type"] = mime
    session.connection().execute(update(_T).where(_T.c.id == row_id).values(**values))


def forget(session: Session, row_id: int) -> None:
    session.connection().execute(delete(_T).where(_T.c.id == row_id))


def kept(session: Session, channel: str, file_ref: str) -> MediaFile | None:
    """The fetched file of this channel and platform id, if it was fetched."""
    row = session.exec(select(MediaFile).where(MediaFile.channel == channel,
                                               MediaFile.file_ref == file_ref)).first()
    return row if row is not None and row.content is not None else None


def content_of(db: Engine, row_id: int) -> bytes | None:
    """The kept bytes of a MediaFile (a channel uploading it elsewhere), if fetched."""
    with Session(db) as session:
        row = session.get(MediaFile, row_id)
        return row.content if row is not None else None


def fetching(session: Session, channel: str, file_ref: str) -> bool:
    """Whether the file's bytes are still to be fetched: not yet kept, and its timer is
    pending (a file given up on has none)."""
    row = session.exec(select(MediaFile).where(MediaFile.channel == channel,
                                               MediaFile.file_ref == file_ref)).first()
    if row is None or row.content is not None:
        return False
    return session.exec(select(Timer.id).where(
        col(Timer.kind).in_(KINDS), Timer.ref == timer_ref(row),
        col(Timer.done_at).is_(None))).first() is not None
