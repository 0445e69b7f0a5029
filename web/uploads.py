"""The web chat's photos, voice notes and videos.

A file is sent as the body of one request (`POST /api/file?id=…`, its type in the
Content-Type header), read within the size limit, and goes the way of any message: an
Inbound whose attachment the engine takes (or says where it can be sent), stepped in one
transaction that also keeps the file's bytes (store/media.py `received`), so nothing is
answered before the file is durable. A retry with the same id is answered again and
keeps nothing twice. Files no record takes are forgotten (bot/media.py ReceivedFiles).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlmodel import Session

from bot.media import RECEIVED_CHECK
from conversations.clock import Clock
from handlers.inbound import BeforeCommit, Inbound, Stepped
from store import media

# What a file's type makes of it, as the other channels name their files.
KINDS = {"image": "photo", "audio": "voice", "video": "video"}
# Types of those families that are no photo or recording (an SVG may carry script).
NOT_MEDIA = frozenset({"image/svg+xml"})


class Refused(Exception):
    """The file is not taken; `key` names the catalog message that says why."""

    def __init__(self, status: int, key: str, **params: Any) -> None:
        super().__init__(key)
        self.status, self.key, self.params = status, key, params


def kind_of(content_type: str) -> tuple[str, str]:
    """(kind, type) of a file by its Content-Type: a photo, voice note or video; Refused
    for anything else."""
    mime = content_type.split(";")[0].strip().lower()
    major, _, minor = mime.partition("/")
    if not minor or mime in NOT_MEDIA or major not in KINDS:
        raise Refused(415, "web.file_kind")
    return KINDS[major], mime


async def read(request: Request, limit: int, *, declared: int | None = None) -> bytes:
    """The request's body, refused when over `limit` bytes: as the page declares it (it
    sends no body then), as the Content-Length says, or as it turns out."""
    length = request.headers.get("content-length")
    sizes = [declared, int(length) if length and length.isdigit() else None]
    if any(n is not None and n > limit for n in sizes):
        raise Refused(413, "web.file_too_big", mb=limit // (1024 * 1024))
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise Refused(413, "web.file_too_big", mb=limit // (1024 * 1024))
        chunks.append(chunk)
    if not total:
        raise Refused(400, "web.file_empty")
    return b"".join(chunks)


def attachment(kind: str, mime: str, message_id: str, size: int) -> dict[str, Any]:
    """The attachment of an Inbound, as the other channels give theirs; its file_ref is
    the message's own (namespaced) id, so a retry names the same file."""
    return {"kind": kind, "file_ref": f"web-{message_id}", "mime_type": mime, "size": size}


def keeping(clock: Clock, content: bytes) -> BeforeCommit:
    """The step's before_commit: the file's bytes kept in the step's own transaction,
    with the timer that forgets them if no record takes them."""
    def keep(session: Session, msgs: list[Inbound], results: list[Stepped]) -> None:
        now: datetime = clock.now()
        for msg, result in zip(msgs, results, strict=True):
            if result.error is not None:
                continue
            for found in msg.attachments:
                file: Mapping[str, Any] = found
                media.received(session, channel=msg.channel,
                               conversation_key=msg.conversation_key, attachment=file,
                               content=content, now=now, due=now + RECEIVED_CHECK)

    return keep
