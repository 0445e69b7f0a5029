"""The bytes of Telegram photos and voice notes, kept with the record they belong to.

A Telegram file id lasts, but only for the bot token that received it, and Telegram may
drop the file itself. So, as for WeChat (bot/media.py), each photo or voice note gets a
MediaFile and a timer in the transaction of the step that took it; the timer sweep then
downloads it (getFile, then the file) on the channel's own loop, never on the step's
path, retries with back-off on network errors and 5xx, and gives up on a 400 (a file
over the 20 MB a bot may download, or one Telegram no longer knows).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot import media
from conversations.clock import Clock
from handlers.inbound import BeforeCommit, Inbound, Stepped, Workroom
from store import media as stored_media

MEDIA = stored_media.TELEGRAM  # timer: a file to fetch, later to forget unless a record took it
MEDIA_GRACE = timedelta(0)  # fetched by the next sweep after the step commits
MEDIA_LIFE = timedelta(days=7)  # tried again with back-off this long, then given up
FETCH_TIMEOUT = 90.0  # getFile and the download (up to 20 MB), inside the sweep's 120 s claim


async def download(bot: Bot, file_ref: str) -> tuple[bytes, str | None]:
    """getFile, then the file's bytes; Gone on a 400, Later on anything else Telegram
    answers (network, 5xx, 429, a refused token)."""
    try:
        found = await bot.get_file(file_ref)
        data = await found.download_as_bytearray()
    except BadRequest as err:  # "file is too big", "invalid file_id", "file not found"
        raise media.Gone(f"400: {err.message}") from err
    except TelegramError as err:
        raise media.Later(str(err)) from err
    return bytes(data), None  # Telegram says no type: the attachment's stays


def fetcher(bot: Bot, loop: asyncio.AbstractEventLoop,
            timeout: float = FETCH_TIMEOUT) -> media.Fetch:
    """download() on the bot's loop, for the timer sweep's thread."""
    def fetch(file_ref: str) -> tuple[bytes, str | None]:
        future = asyncio.run_coroutine_threadsafe(download(bot, file_ref), loop)
        try:
            return future.result(timeout)
        except TimeoutError as err:
            future.cancel()
            raise media.Later(f"no file after {timeout:.0f}s") from err

    return fetch


def keeper(workroom: Workroom, bot: Bot, loop: asyncio.AbstractEventLoop,
           channel: str) -> media.MediaKeeper:
    """The MEDIA timer's handler: the files of `channel`, fetched by this bot."""
    fetch = fetcher(bot, loop)
    return media.MediaKeeper(workroom.db, workroom.clock, workroom.states, kind=MEDIA,
                             source=lambda c: fetch if c == channel else None,
                             life=MEDIA_LIFE)


def scheduling(clock: Clock) -> BeforeCommit:
    """The pipeline's before_commit: each batch's photos and voice notes get their
    MediaFile and timer in the batch's own transaction, so none is fetched before its
    step has committed, and none is missed if the process dies."""
    def schedule(session: Session, msgs: list[Inbound], results: list[Stepped]) -> None:
        taken = [m for m, r in zip(msgs, results, strict=True) if m.attachments and not r.error]
        if taken:
            media.schedule(session, MEDIA, taken, now=clock.now(), grace=MEDIA_GRACE)

    return schedule
