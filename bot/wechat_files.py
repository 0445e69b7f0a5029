"""A record's file sent into a WeChat chat (an alert's "查看附件" pressed on WeCom or the
official account).

A file received on the same account whose temporary media id has not expired (three
days) is sent by that id; any other is uploaded from its kept bytes as temporary material
(media/upload) and sent by the new id, which is remembered for as long as it lasts, so a
retry or another reader does not upload it again. The caption goes first as a text (an
image carries none), after the upload: a failed upload sends nothing twice. Each account
shows a file as its kind only in the types and sizes it takes (WeCom: images JPG and PNG
up to 10 MB, voice AMR up to 2 MB, video MP4 up to 10 MB, any file up to 20 MB; the
official account has no file message, and takes images up to 2 MB, voice AMR and MP3);
what it cannot show is a WeCom file, or on the official account the caption with where
to open it. Errors are raised as they come (the sender makes them DeliveryErrors).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.wechat_api import ApiError, WeChatApi
from bot.wechat_render import chunks
from conversations import catalog
from handlers.notices import FileReply
from store.models import MediaFile

MB = 1024 * 1024
# WeChat's three days, less an hour: an id about to expire is not relied on.
ID_LIFE = timedelta(days=3) - timedelta(hours=1)
EXPIRED = 40007  # invalid media_id: expired sooner than thought
# (message type, the MIME types it takes (None: any), its size limit) of each kind, in the
# order tried: the file's own kind, then a file.
_SHOWN: dict[str, dict[str, tuple[str, frozenset[str] | None, int]]] = {
    "wecom": {"photo": ("image", frozenset({"image/jpeg", "image/png"}), 10 * MB),
              "voice": ("voice", frozenset({"audio/amr"}), 2 * MB),
              "video": ("video", frozenset({"video/mp4"}), 10 * MB),
              "file": ("file", None, 20 * MB)},
    "wechat": {"photo": ("image", frozenset({"image/jpeg", "image/png", "image/gif"}), 2 * MB),
               "voice": ("voice", frozenset({"audio/amr", "audio/mpeg", "audio/mp3"}), 2 * MB),
               "video": ("video", frozenset({"video/mp4"}), 10 * MB)},
}
_MIN_SIZE = 6  # WeCom refuses files of 5 bytes or fewer
# A file received on the account, sent back by its id: as the kind it came as.
_BY_ID = {"photo": "image", "voice": "voice", "video": "video", "file": "file"}
_EXT = {"image/jpeg": "jpg", "audio/amr": "amr", "audio/ogg": "ogg", "audio/mpeg": "mp3",
        "audio/silk": "silk", "audio/speex": "spx"}


def message_type(account: str, kind: str, mime: str, size: int) -> str | None:
    """The message a file of `kind` is sent as on this account (`wecom` | `wechat`):
    its own kind when the type and size fit, else a file (WeCom); None when it cannot be
    shown (the caption says where to open it)."""
    shown = _SHOWN.get(account, {})
    for entry in (shown.get(kind), shown.get("file")):
        if entry is None:
            continue
        msgtype, types, limit = entry
        if (types is None or mime in types) and _MIN_SIZE <= size <= limit:
            return msgtype
    return None


def _filename(f: dict[str, Any], mime: str) -> str:
    """What a WeCom file message shows: the record's number and the file's place."""
    ext = _EXT.get(mime) or (mimetypes.guess_extension(mime) or ".bin").lstrip(".")
    stem = "-".join(str(f[k]) for k in ("number", "index") if f.get(k)) or str(f.get("kind"))
    return f"{stem}.{ext}"


def _fresh(f: dict[str, Any], channel: str, now: datetime | None) -> bool:
    """Whether the file was received on this account recently enough to send by its id."""
    if f.get("channel") != channel or not f.get("file_ref") or now is None:
        return False
    try:
        received = datetime.fromisoformat(str(f.get("received_at")))
    except ValueError:
        return False
    return received.tzinfo is not None and now - received < ID_LIFE


class FileSend:
    """One FileReply to one WeChat chat."""

    def __init__(self, api: WeChatApi, channel: str, *,
                 files: Callable[[int], bytes | None] | None, now: datetime | None,
                 session: Session | None) -> None:
        self.api, self.channel, self.files, self.now = api, channel, files, now
        self.session = session

    def send(self, address: str, reply: FileReply, lang: str) -> None:
        f = reply.file
        kind = str(f.get("kind") or "file")
        mime = str(f.get("mime_type") or "").split(";")[0].strip().lower()
        by_id = _BY_ID.get(kind) if _fresh(f, self.channel, self.now) else None
        if by_id == "file" and self.api.account.kind != "wecom":
            by_id = None
        target = (by_id, str(f["file_ref"])) if by_id else None
        note = "files.gone"
        if target is None:
            target, note = self._uploaded(f, kind, mime)
        if target is None:  # nothing to show here: the caption, and where to open it
            self._text(address, "\n".join([reply.text, self._note(lang, note, kind)]))
            return
        self._text(address, reply.text)
        try:
            self.api.send_media(address, target[0], target[1], title=reply.text,
                                session=self.session)
        except ApiError as err:
            if err.errcode != EXPIRED or not by_id:
                raise
            again, note = self._uploaded(f, kind, mime)  # its id expired before its time
            if again is None:
                self._text(address, self._note(lang, note, kind))
                return
            self.api.send_media(address, again[0], again[1], title=reply.text,
                                session=self.session)

    def _uploaded(self, f: dict[str, Any], kind: str,
                  mime: str) -> tuple[tuple[str, str] | None, str]:
        """(message type, media id) of the kept bytes uploaded (or uploaded before and
        still valid); else None and why: not kept, or not shown on this account."""
        data = self._bytes(f.get("media_id"))
        if data is None:
            return None, "files.gone"
        msgtype = message_type(self.api.account.kind, kind, mime, len(data))
        if msgtype is None:
            return None, "files.not_shown"
        a = self.api.account
        key = f"upload:{a.kind}:{a.app_id}:{f['media_id']}:{msgtype}"
        known = self.api.shared.get(key, session=self.session)
        if known:
            return (msgtype, known), ""
        media_id = self.api.upload_media(msgtype, data, filename=_filename(f, mime),
                                         mime_type=mime or "application/octet-stream",
                                         session=self.session)
        self.api.shared.put(key, media_id, ID_LIFE, session=self.session)
        return (msgtype, media_id), ""

    def _bytes(self, media_id: object) -> bytes | None:
        if not media_id:
            return None
        if self.session is not None:  # the dispatcher's transaction: read in it
            row = self.session.get(MediaFile, int(str(media_id)))
            return row.content if row is not None else None
        return self.files(int(str(media_id))) if self.files is not None else None

    @staticmethod
    def _note(lang: str, key: str, kind: str) -> str:
        what = catalog.t(lang, f"file.kind.{kind}") if catalog.has(f"file.kind.{kind}") \
            else kind
        return catalog.t(lang, key, file=what)

    def _text(self, address: str, text: str) -> None:
        for part in chunks(text):
            self.api.send_text(address, part, session=self.session)
