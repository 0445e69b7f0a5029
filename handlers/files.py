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

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from handlers.context import people_of
from store import media as stored_media
from store import outbox
from store.models import Attachment, Case, IdentityRead, Incident, MediaFile, Person

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


def may_open(reader: Person | None) -> bool:
    """The workroom's staff and director, verified, of a unit."""
    return reader is not None and reader.verified and reader.unit_id is not None \
        and reader.role in ("staff", "director")


def open_file(session: Session, attachment_id: int, *, reader: Person | None,
              now: datetime) -> KeptFile:
    """The bytes of a record's attachment for a member of the workroom's staff; FileError
    when the reader may not, the file is not of their unit, or its bytes are not kept."""
    if not may_open(reader):
        raise FileError("file.forbidden", 403)
    assert reader is not None
    found = session.get(Attachment, attachment_id)
    record: Case | Incident | None = None
    if found is not None and found.subject == "case":
        record = session.get(Case, found.subject_id)
    elif found is not None:
        record = session.get(Incident, found.subject_id)
    if found is None or record is None or record.unit_id != reader.unit_id:
        raise FileError("file.not_found", 404, id=attachment_id)
    media = kept_media(session, found)
    if media is None or media.content is None:
        if stored_media.fetching(session, found.channel, found.file_ref):
            raise FileError("file.fetching", 409, id=attachment_id)
        raise FileError("file.not_kept", 404, id=attachment_id)
    if isinstance(record, Case) and record.id is not None:
        session.add(IdentityRead(case_id=record.id, reader_id=reader.id,
                                 purpose="attachment", at=now))
    mime = media.mime_type or found.mime_type or "application/octet-stream"
    ext = _EXTENSIONS.get(mime.split(";")[0].strip().lower(), "bin")
    return KeptFile(f"{found.subject}-{found.subject_id}-{found.id}.{ext}", mime, media.content)


@dataclass(frozen=True)
class FileEntry:
    id: int
    kind: str
    channel: str
    mime_type: str | None
    size: int | None
    kept: bool  # its bytes can be opened (fetched from its platform)
    fetching: bool = False  # ... not yet: they are still being fetched


def files_of(session: Session, number: str, *, reader: Person | None) -> list[FileEntry]:
    """The attachments of a case (C-…) or an emergency report (E-…) of the reader's unit."""
    if not may_open(reader):
        raise FileError("file.forbidden", 403)
    assert reader is not None
    record: Case | Incident | None = session.exec(select(Case).where(
        Case.number == number, Case.unit_id == reader.unit_id)).first()
    subject = "case"
    if record is None:
        record = session.exec(select(Incident).where(
            Incident.number == number, Incident.unit_id == reader.unit_id)).first()
        subject = "incident"
    if record is None:
        raise FileError("file.no_record", 404, number=number)
    rows = session.exec(select(Attachment).where(
        Attachment.subject == subject, Attachment.subject_id == record.id)
        .order_by(Attachment.id)).all()  # type: ignore[arg-type]
    entries = []
    for a in rows:
        media = kept_media(session, a)
        assert a.id is not None
        entries.append(FileEntry(
            a.id, a.kind, a.channel, (media.mime_type if media else None) or a.mime_type,
            (media.size if media else None) or a.size, media is not None,
            media is None and stored_media.fetching(session, a.channel, a.file_ref)))
    return entries


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
