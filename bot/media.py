"""Keep the bytes of a record's files (photos, videos, voice notes, documents), whatever
channel they came by.

A channel gives the function that fetches one of its files (`Fetch`); the keeper runs it
from the file's timer (store/media.py), off the step's path and on the sweep's own thread
for downloads (scheduler/sweep.py): it fetches while the file is in a record or in the
sender's open form, retries with back-off when the platform says "not now" (`Later`),
gives up when it says "never" (`Gone`) or once `life` has passed, and forgets fetched
bytes no record took after `keep`.

A file given up on is not only a log line: the staff of the record that took it are told
(handlers/files.py tell_lost) in the transaction that drops its timer, to ask the reporter
for it again. A file that only an open form held so far gets a LOST timer instead, which
tells them once a record takes it, and forgets the file if the form is abandoned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from conversations.clock import Clock
from handlers import files
from handlers.inbound import Inbound
from store import media, steps, timers
from store.db import transaction
from store.models import Attachment, MediaFile, Timer
from store.outbox import backoff
from store.state import StateStore

log = logging.getLogger(__name__)

KEEP = timedelta(days=30)  # fetched bytes no record took by then are forgotten
LOST_CHECK = timedelta(minutes=5)  # a lost file in an open form: looked at again this often
# A file received with its bytes (the web chat): looked at this long after it came, and
# again while only the sender's open form holds it.
RECEIVED_CHECK = timedelta(hours=1)

# A file's bytes and, if the platform says, their type; raises Later or Gone.
Fetch = Callable[[str], tuple[bytes, str | None]]


class Later(Exception):
    """The platform cannot give the file now (network, 5xx, a limit): try again later."""


class Gone(Exception):
    """The platform will never give the file (no such id, too big): only its id is kept."""


def schedule(session: Session, kind: str, msgs: Iterable[Inbound], *, now: datetime,
             grace: timedelta) -> list[str]:
    """In a step's transaction: a file to fetch `grace` from now for each photo or voice
    note not seen before; their timer refs."""
    return media.schedule(session, kind, [(m.channel, m.conversation_key, a)
                                          for m in msgs for a in m.attachments],
                          now=now, due=now + grace)


class MediaKeeper:
    """Fetch files of the channels `source` knows (it gives the Fetch of a channel, None
    for one this process does not run); `fetch` is the handler of timers of `kind`."""

    def __init__(self, db: Engine, clock: Clock, states: StateStore, *, kind: str,
                 source: Callable[[str], Fetch | None], life: timedelta,
                 keep: timedelta = KEEP) -> None:
        self.db, self.clock, self.states, self.kind = db, clock, states, kind
        self.source, self.life, self.keep = source, life, keep

    def fetch_now(self, ref: str) -> None:
        """Fetch a file off the sweep (right after the step that took it) under its
        timer's claim, so that the download sweep leaves it alone meanwhile; nothing if
        a sweeper is fetching it already."""
        with transaction(self.db) as s:
            if not timers.claim(s, kind=self.kind, ref=ref, now=self.clock.now()):
                return
        self.fetch(ref)

    def fetch(self, ref: str) -> None:
        channel, _, number = ref.partition(":")
        with Session(self.db) as s:
            row = s.get(MediaFile, int(number)) if number.isdigit() else None
            attempts = s.exec(select(Timer.attempts).where(Timer.kind == self.kind,
                                                           Timer.ref == ref)).first() or 0
        get = self.source(channel)
        if row is None or row.channel != channel or get is None:
            self._drop_timer(ref)
            return
        if row.content is not None:  # fetched long ago: kept only if a record took it
            if not self._taken(row):
                self._forget(row, ref)
            else:
                self._drop_timer(ref)
            return
        if not self._taken(row, in_draft=True):  # a photo outside a report
            self._forget(row, ref)
            return
        now = self.clock.now()
        try:
            data, mime = get(row.file_ref)
        except (Later, Gone) as err:
            if isinstance(err, Gone) or now - row.received_at > self.life:
                log.error("%s: media %s of %s cannot be fetched, only its id is kept: %s",
                          channel, row.file_ref, row.conversation_key, err)
                self._give_up(row, ref, now)
                return
            log.warning("%s: fetching media %s failed (%s); trying again", channel,
                        row.file_ref, err)
            with transaction(self.db) as s:
                steps.set_timers(s, [(self.kind, ref, now + backoff(max(1, attempts)))])
            return
        assert row.id is not None
        with transaction(self.db) as s:
            media.keep(s, row.id, data, mime, now)
            steps.set_timers(s, [(self.kind, ref, now + self.keep)])
        log.info("%s: kept media %s (%s bytes)", channel, row.file_ref, len(data))

    def _taken(self, row: MediaFile, *, in_draft: bool = False) -> bool:
        """Whether a record holds the file, or (`in_draft`) the sender's open form."""
        with Session(self.db) as s:
            if s.exec(select(Attachment.id).where(Attachment.channel == row.channel,
                                                  Attachment.file_ref == row.file_ref)).first():
                return True
        return in_draft and in_open_form(self.db, self.states, row)

    def _give_up(self, row: MediaFile, ref: str, now: datetime) -> None:
        """Only the file's id is kept: its timer goes, and the staff of the record that
        took it are told in the same transaction (once, however many sweepers got here)."""
        assert row.id is not None
        with transaction(self.db) as s:
            timer = s.exec(select(Timer).where(Timer.kind == self.kind, Timer.ref == ref)
                           .with_for_update()).first()
            if timer is None or s.exec(select(MediaFile.id).where(
                    MediaFile.id == row.id, col(MediaFile.content).is_not(None))).first():
                return  # another sweeper gave it up, or kept it after all
            s.delete(timer)
            if not files.tell_lost(s, row.channel, row.file_ref, received_at=row.received_at,
                                   now=now):  # only the sender's open form holds it yet
                timers.schedule(s, kind=media.LOST, ref=ref, due_at=now + LOST_CHECK)

    def _drop_timer(self, ref: str) -> None:
        with transaction(self.db) as s:
            steps.drop_timers(s, self.kind, [ref])

    def _forget(self, row: MediaFile, ref: str) -> None:
        assert row.id is not None
        with transaction(self.db) as s:
            media.forget(s, row.id)
            steps.drop_timers(s, self.kind, [ref])


def in_open_form(db: Engine, states: StateStore, row: MediaFile) -> bool:
    """Whether the sender's open form holds the file (read only: nothing is locked)."""
    with Session(db) as s:
        state, _ = states.load(s, row.conversation_key)
    attached = (state or {}).get("attachments") or []
    return any(f.get("file_ref") == row.file_ref for f in attached)


def _file_and_form(db: Engine, states: StateStore, ref: str) -> tuple[MediaFile | None, bool]:
    """The file a RECEIVED or LOST timer's ref names, and whether its sender's open form
    holds it. Read before the timer's transaction: a form that no longer holds the file
    has either been sent (its record is seen in the transaction) or abandoned."""
    _, _, number = ref.partition(":")
    with Session(db) as s:
        row = s.get(MediaFile, int(number)) if number.isdigit() else None
    return row, row is not None and in_open_form(db, states, row)


def _taken(s: Session, kind: str, ref: str, row: MediaFile | None, now: datetime) -> bool:
    """Take the timer; True when it was still due and its file is still kept."""
    if timers.take(s, kind=kind, ref=ref, now=now) is None:
        return False
    return row is not None and row.id is not None and s.get(MediaFile, row.id) is not None


class ReceivedFiles:
    """The RECEIVED timer's handler (store/media.py): a file whose bytes came with the
    message (the web chat's uploads), so nothing to fetch. A record took it: kept with
    it. Only the sender's open form holds it: looked at again (for up to KEEP). Neither (a
    photo sent at the menu, a form abandoned): its bytes are forgotten."""

    def __init__(self, db: Engine, clock: Clock, states: StateStore) -> None:
        self.db, self.clock, self.states = db, clock, states

    def check(self, ref: str) -> None:
        row, open_form = _file_and_form(self.db, self.states, ref)
        now = self.clock.now()
        with transaction(self.db) as s:
            if not _taken(s, media.RECEIVED, ref, row, now) or row is None or row.id is None:
                return
            if s.exec(select(Attachment.id).where(Attachment.channel == row.channel,
                                                  Attachment.file_ref == row.file_ref)).first():
                return
            if open_form and now - row.received_at < KEEP:
                timers.schedule(s, kind=media.RECEIVED, ref=ref, due_at=now + RECEIVED_CHECK)
                return
            media.forget(s, row.id)


class LostFiles:
    """The LOST timer's handler (store/media.py): a file given up on while only its
    sender's open form held it. Once a record takes it, the record's staff are told; while
    the form is open it is looked at again; a form abandoned took it nowhere: the file is
    forgotten and nobody told."""

    def __init__(self, db: Engine, clock: Clock, states: StateStore) -> None:
        self.db, self.clock, self.states = db, clock, states

    def check(self, ref: str) -> int:
        row, open_form = _file_and_form(self.db, self.states, ref)
        now = self.clock.now()
        with transaction(self.db) as s:
            if not _taken(s, media.LOST, ref, row, now) or row is None or row.id is None:
                return 0
            if files.tell_lost(s, row.channel, row.file_ref, received_at=row.received_at,
                               now=now):
                return 1
            if open_form:
                timers.schedule(s, kind=media.LOST, ref=ref, due_at=now + LOST_CHECK)
                return 0
            media.forget(s, row.id)
            return 0
