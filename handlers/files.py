"""A record's photos, videos, voice notes and documents as the workroom's staff open them.

An Attachment names the platform's file (channel + file_ref). Its bytes are fetched after
the step that took it (bot/media.py: a WeChat or WeCom media id lasts three days; a
Telegram file id belongs to one bot token and its file may be dropped) into a MediaFile of
the same channel and file_ref, and are served from there. Until they are, the reader is
told the file is still being fetched; a file given up on keeps only the platform's id.
Opening a complaint's file is a read of what may identify the complainant (a voice, a
face): it is audited like every such read (DESIGN rule 8). A file given up on is told to
the staff of its record (`tell_lost`), so that someone asks the reporter for it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from conversations import catalog
from conversations.flow import Result
from handlers.context import HandlerContext, people_of
from store import media as stored_media
from store import outbox
from store.models import (
    Alert,
    Attachment,
    Case,
    IdentityRead,
    Incident,
    MediaFile,
    Notification,
    Person,
)

# The name a kept file is opened by: what the staff's computer plays or shows. Only types
# that open as documents and media; anything else (an .exe, a script) is served as .bin,
# never under a name that would run it.
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif",
               "image/webp": "webp", "image/heic": "heic",
               "audio/amr": "amr", "audio/speex": "spx", "audio/mpeg": "mp3",
               "audio/silk": "silk", "audio/ogg": "ogg", "audio/mp4": "m4a",
               "audio/x-m4a": "m4a", "audio/wav": "wav", "audio/x-wav": "wav",
               "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm",
               "video/3gpp": "3gp", "application/pdf": "pdf", "text/plain": "txt",
               "application/msword": "doc", "application/vnd.ms-excel": "xls",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
                   "docx",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}


class FileError(Exception):
    """Why a file is not given: a catalog key, its parameters and an HTTP status."""

    def __init__(self, key: str, status: int, **params: object) -> None:
        super().__init__(key)
        self.key, self.status, self.params = key, status, params


@dataclass(frozen=True)
class KeptFile:
    name: str
    mime_type: str
    content: bytes


def kept_media(session: Session, attachment: Attachment) -> MediaFile | None:
    """The fetched file of an attachment, if it was fetched."""
    return stored_media.kept(session, attachment.channel, attachment.file_ref)


Record = Case | Incident


def may_open(session: Session, reader: Person | None, record: Record) -> bool:
    """Who may see a record's files: the workroom's staff and director of its unit;
    for an emergency, everyone alerted to it (the chain's leaders, the duty leader, the
    director); for a case, its handler and its lead leader. Verified people only."""
    if reader is None or reader.id is None or not reader.verified or not reader.active:
        return False
    if reader.unit_id is None or reader.unit_id != record.unit_id:
        return False
    if reader.role in ("staff", "director"):
        return True
    if isinstance(record, Case):
        return reader.id in (record.handler_id, record.lead_leader_id)
    return session.exec(select(Alert.id).where(
        Alert.subject == "incident", Alert.subject_id == record.id,
        Alert.recipient_id == reader.id)).first() is not None


def record_of(session: Session, number: str) -> tuple[str, Record] | None:
    """A case (C-…) or an emergency report (E-…) by its number: (subject, record)."""
    case = session.exec(select(Case).where(Case.number == number)).first()
    if case is not None:
        return "case", case
    incident = session.exec(select(Incident).where(Incident.number == number)).first()
    return ("incident", incident) if incident is not None else None


def _readable(session: Session, number: str, reader: Person | None) -> tuple[str, Record]:
    """The record a reader asks the files of; FileError when there is none or they may
    not see it."""
    if reader is None or not reader.verified:
        raise FileError("file.forbidden", 403)
    found = record_of(session, number)
    if found is None:
        raise FileError("file.no_record", 404, number=number)
    if not may_open(session, reader, found[1]):
        raise FileError("file.forbidden", 403)
    return found


def open_file(session: Session, attachment_id: int, *, reader: Person | None,
              now: datetime) -> KeptFile:
    """The bytes of a record's attachment for someone who may see it (may_open);
    FileError when the reader may not, or its bytes are not kept."""
    if reader is None or not reader.verified:
        raise FileError("file.forbidden", 403)
    found = session.get(Attachment, attachment_id)
    record: Record | None = None
    if found is not None and found.subject == "case":
        record = session.get(Case, found.subject_id)
    elif found is not None and found.subject == "incident":
        record = session.get(Incident, found.subject_id)
    if found is None or record is None or record.unit_id != reader.unit_id:
        raise FileError("file.not_found", 404, id=attachment_id)
    if not may_open(session, reader, record):
        raise FileError("file.forbidden", 403)
    media = kept_media(session, found)
    if media is None or media.content is None:
        if stored_media.fetching(session, found.channel, found.file_ref):
            raise FileError("file.fetching", 409, id=attachment_id)
        raise FileError("file.not_kept", 404, id=attachment_id)
    audit(session, record, reader, now)
    mime = media.mime_type or found.mime_type or "application/octet-stream"
    ext = _EXTENSIONS.get(mime.split(";")[0].strip().lower(), "bin")
    return KeptFile(f"{found.subject}-{found.subject_id}-{found.id}.{ext}", mime, media.content)


def audit(session: Session, record: Record, reader: Person, now: datetime) -> None:
    """A complaint's file read: what may identify the complainant (DESIGN rule 8)."""
    if isinstance(record, Case) and record.id is not None:
        session.add(IdentityRead(case_id=record.id, reader_id=reader.id,
                                 purpose="attachment", at=now))


@dataclass(frozen=True)
class FileEntry:
    id: int
    kind: str
    channel: str
    mime_type: str | None
    size: int | None
    kept: bool  # its bytes can be opened (fetched from its platform)
    fetching: bool = False  # ... not yet: they are still being fetched


def _attachments(session: Session, subject: str, record: Record) -> list[Attachment]:
    return list(session.exec(select(Attachment).where(
        Attachment.subject == subject, Attachment.subject_id == record.id)
        .order_by(col(Attachment.id))).all())


def files_of(session: Session, number: str, *, reader: Person | None) -> list[FileEntry]:
    """The attachments of a case (C-…) or an emergency report (E-…) the reader may see."""
    subject, record = _readable(session, number, reader)
    entries = []
    for a in _attachments(session, subject, record):
        media = kept_media(session, a)
        assert a.id is not None
        entries.append(FileEntry(
            a.id, a.kind, a.channel, (media.mime_type if media else None) or a.mime_type,
            (media.size if media else None) or a.size, media is not None,
            media is None and stored_media.fetching(session, a.channel, a.file_ref)))
    return entries


# --- in the chat: an alert's "see the files" --------------------------------------------

KINDS = ("photo", "video", "voice", "file")  # in the order an alert counts them
# Channels that can send a file into the chat it was asked from (bot/telegram.py,
# bot/wechat_files.py; the web chat shows it from its kept bytes, /files/<id>); on the
# others the reader is told what there is and where to open it.
SENDS_FILES = frozenset({"telegram", "wechat", "wecom", "web"})
BY_PLATFORM_ID = frozenset({"telegram", "wechat", "wecom"})  # sendable before it is kept


def counted(items: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many files of each kind: an alert's "files" parameter ({} when none)."""
    counts = Counter(str(i.get("kind") or "file") for i in items)
    return {k: counts[k] for k in (*KINDS, *sorted(set(counts) - set(KINDS))) if counts[k]}


def merged(*counts: Mapping[str, int]) -> dict[str, int]:
    """counted() of the files of several counts together."""
    return counted({"kind": kind} for c in counts for kind, n in c.items() for _ in range(n))


def counts_of(session: Session, subject: str, subject_id: int) -> dict[str, int]:
    """counted() of a record's kept attachments."""
    rows = session.exec(select(Attachment.kind).where(
        Attachment.subject == subject, Attachment.subject_id == subject_id)).all()
    return counted({"kind": k} for k in rows)


def send_files(ctx: HandlerContext, number: str, lang: str,
               address: str | None) -> Result:
    """Send a record's files into the chat (`address` of ctx.channel) of someone who may
    see them: one push per file, once per file and reader (a second press sends nothing
    again); a file not fetched yet, or given up on, is said in the answer instead. A
    complaint's file sent is a read of it, audited as the web's."""
    s = ctx.session
    try:
        subject, record = _readable(s, number, ctx.actor)
    except FileError as err:
        return Result(err.key, err.params)
    rows = _attachments(s, subject, record)
    if not rows:
        return Result("files.none", {"number": record.number})
    if ctx.channel not in SENDS_FILES or address is None:
        words = files_words(counted({"kind": a.kind} for a in rows), lang)
        return Result("files.elsewhere", {"number": record.number, "files": words})
    total, sent, already, notes = len(rows), 0, 0, []
    for index, a in enumerate(rows, start=1):
        assert a.id is not None and ctx.actor.id is not None
        what = {"index": index, "total": total,
                "file": catalog.t(lang, f"file.kind.{a.kind}")
                if catalog.has(f"file.kind.{a.kind}") else a.kind}
        media = kept_media(s, a)
        if media is None and (a.channel != ctx.channel or a.channel not in BY_PLATFORM_ID):
            # not sendable by its platform id
            lost = not stored_media.fetching(s, a.channel, a.file_ref)
            notes.append(catalog.t(lang, "files.lost" if lost else "files.fetching", **what))
            continue
        key = f"file:{a.id}:to:{ctx.actor.id}"
        if s.exec(select(Notification.id).where(
                Notification.idempotency_key == key)).first() is not None:
            already += 1
            continue
        outbox.enqueue(s, key=key, recipient_id=ctx.actor.id, channel=ctx.channel,
                       address=address, message="notice.file", priority=outbox.REPLY,
                       now=ctx.now, params={
                           "number": record.number, "index": index, "total": total,
                           "file": f"@file.kind.{a.kind}", "kind": a.kind, "attachment": a.id,
                           "channel": a.channel, "file_ref": a.file_ref,
                           "media_id": media.id if media is not None else None,
                           "mime_type": (media.mime_type if media else None) or a.mime_type,
                           # a WeChat media id is sent by its id for three days
                           "received_at": (media.received_at if media else a.created_at)
                           .isoformat()})
        sent += 1
    if sent:
        audit(s, record, ctx.actor, ctx.now)
    head = "files.sending" if sent else "files.already" if already else "files.not_yet"
    return Result(head, {"number": record.number, "count": sent or already, "notes": notes})


def files_words(counts: Mapping[str, int], lang: str) -> str:
    """"照片 3 张、语音 1 条": how many files of each kind, in the reader's words."""
    return catalog.t(lang, "list.sep").join(
        catalog.t(lang, f"notice.files.{kind if kind in KINDS else 'file'}", count=n)
        for kind, n in counts.items())


def tell_lost(session: Session, channel: str, file_ref: str, *, received_at: datetime,
              now: datetime) -> int:
    """A file its platform will never give: the staff of each record that took it (the
    director when its unit has none) are told which record and what kind of file, to ask
    the reporter for it again; never who sent it (a complaint may be anonymous). Once
    per record and person; the number of records that took the file."""
    found = session.exec(select(Attachment).where(
        Attachment.channel == channel, Attachment.file_ref == file_ref)
        .order_by(col(Attachment.id))).all()
    records = 0
    for a in found:
        record: Case | Incident | None = session.get(Case, a.subject_id) \
            if a.subject == "case" else session.get(Incident, a.subject_id)
        if record is None:
            continue
        records += 1
        staff = people_of(session, record.unit_id, ("staff",)) \
            or people_of(session, record.unit_id, ("director",))
        for p in staff:
            outbox.enqueue(session, key=f"attachment:{a.id}:lost:{p.id}", recipient_id=p.id,
                           now=now, message="notice.file_lost", priority=outbox.ALERT,
                           params={"number": record.number, "file": f"@file.kind.{a.kind}",
                                   "received_at": received_at.isoformat()})
    return records
