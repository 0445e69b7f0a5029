"""Wire the running bot: database, state store, engine, outbox senders, scheduler jobs."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bot.channels import InboxSender, Sender
from bot.media import LostFiles, ReceivedFiles
from bot.settings import Settings
from conversations import catalog
from conversations.clock import Clock, SystemClock
from handlers import assignment, bookings, deadlines, incidents
from handlers.context import Grouping
from handlers.hotline import CALL_BACK, CallBackReminder
from handlers.inbound import DRAFT_TIMEOUT, Options, Workroom
from scheduler import calendar
from scheduler.dispatch import Dispatcher
from scheduler.sweep import Sweeper
from store import media as stored_media
from store import org
from store.db import make_engine
from store.state import RedisStateStore, SqlStateStore, StateStore


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Engine
    states: StateStore
    workroom: Workroom
    dispatcher: Dispatcher
    sweeper: Sweeper
    senders: dict[str, Sender] = field(default_factory=dict)
    reader: Engine | None = None  # for read-only pages; the main engine when None
    telegram: Any = None  # bot.telegram.TelegramChannel when a token is set
    hotline: Any = None  # bot.hotline.HotlineChannel when a provider account is set
    planner: Any = None  # scheduler.calendar.CalendarPlanner: the recurring jobs as timers
    wechat: Any = None  # bot.wechat.WeChatChannel of the official account, when set
    wecom: Any = None  # bot.wechat.WeChatChannel of the WeCom application, when set

    @property
    def read_db(self) -> Engine:
        return self.reader or self.db

    def close(self) -> None:
        """Release the connection pools and the channels' clients."""
        if self.telegram is not None:
            self.telegram.close()
        if self.hotline is not None:
            self.hotline.close()
        for channel in (self.wechat, self.wecom):
            if channel is not None:
                channel.close()
        if self.reader is not None:
            self.reader.dispose()
        self.db.dispose()


def build(settings: Settings, *, clock: Clock | None = None, db: Engine | None = None,
          states: StateStore | None = None) -> Services:
    """Build every service from the settings; tests pass their own clock and stores."""
    clock = clock or SystemClock()
    for lang in catalog.LANGS:  # read now, not on the first message (an emergency, maybe)
        catalog.load(lang)
    db = db or make_engine(settings.database_url)
    if states is None:
        states = RedisStateStore(settings.redis_url) if settings.redis_url else SqlStateStore(db)
    options = Options(zone=settings.zone, secret=settings.secret_key,
                      default_lang=settings.default_lang,
                      timeout=timedelta(minutes=settings.draft_timeout_minutes),
                      on_timeout=settings.draft_on_timeout,
                      grouping=Grouping(
                          link_window=timedelta(minutes=settings.incident_link_minutes),
                          cluster_count=settings.complaint_cluster_count,
                          cluster_window=timedelta(hours=settings.complaint_cluster_hours)),
                      call_last_step=settings.hotline_enabled and settings.hotline_call_last_step,
                      texts=settings.hotline_enabled, quiet_hours=settings.quiet_window)
    workroom = Workroom(db, states, clock, options)
    senders: dict[str, Sender] = {c: InboxSender(c, clock) for c in ("web", "console")}
    dispatcher = Dispatcher(db, clock, senders, zone=settings.zone,
                            max_attempts=settings.outbox_max_attempts,
                            default_lang=settings.default_lang, secret=settings.secret_key,
                            quiet_hours=settings.quiet_window)
    reminders = deadlines.CaseReminders(db, clock, settings.zone)
    held = assignment.AssignmentTimers(db, clock, settings.zone)
    emergencies = incidents.IncidentTimers(
        db, clock, settings.zone, realert=timedelta(minutes=settings.incident_realert_minutes),
        call_last_step=options.call_last_step, texts=options.texts)
    sweeper = Sweeper(db, clock, {DRAFT_TIMEOUT: workroom.expire_draft,
                                  deadlines.KIND: reminders.fire,
                                  assignment.ACK_WATCH: held.ack_watch,
                                  org.PERSON_LEFT: held.person_left,
                                  incidents.WATCH: emergencies.watch,
                                  incidents.REPORT: emergencies.report,
                                  bookings.KIND: bookings.BookingReminders(
                                      db, clock, settings.zone).fire,
                                  CALL_BACK: CallBackReminder(db, clock, settings.zone).fire,
                                  **_ledger_handlers(db, clock, settings.zone),
                                  stored_media.LOST: LostFiles(db, clock, states).check,
                                  stored_media.RECEIVED: ReceivedFiles(db, clock, states).check,
                                  **calendar.timer_handlers(db, clock, settings.zone)},
                      slow=stored_media.KINDS)  # downloads: swept apart (scheduler/sweep.py)
    reader = make_engine(settings.database_url, readonly=True) \
        if db.dialect.name == "sqlite" else None
    telegram = None
    if settings.telegram_token:
        from bot.telegram import Pace, SharedPace, TelegramChannel

        limits: dict[str, Any] = dict(chat_burst=settings.telegram_chat_burst,
                                      chat_per_second=settings.telegram_chat_per_second,
                                      group_per_minute=settings.telegram_group_per_minute,
                                      per_second=settings.telegram_per_second)
        # Several processes send for one bot: the budget is shared through Redis.
        pace = SharedPace(settings.redis_url, **limits) if settings.redis_url \
            else Pace(**limits)
        telegram = TelegramChannel(token=settings.telegram_token,
                                   api_url=settings.telegram_api_url,
                                   file_url=settings.telegram_file_url,
                                   workroom=workroom, pace=pace)
        senders["telegram"] = telegram.sender
        sweeper.handlers.update(telegram.timer_handlers())
    hotline = None
    if settings.hotline_enabled:
        from bot.hotline import HotlineChannel

        hotline = HotlineChannel(settings=settings, db=db, clock=clock, workroom=workroom,
                                 kick=dispatcher.run_once)
        senders[hotline.sms_sender.channel] = hotline.sms_sender
        senders[hotline.call_sender.channel] = hotline.call_sender
    wechat, wecom = _wechat_channels(settings, workroom, db, clock, senders, sweeper)
    # Everything loaded so far (modules, catalogs, SQLAlchemy's mappers, the bots) lives
    # as long as the process: kept out of the cyclic collector's full passes, which
    # otherwise walk it all and held every step for 100+ ms now and then.
    gc.freeze()
    return Services(settings, clock, db, states, workroom, dispatcher, sweeper, senders, reader,
                    telegram, hotline, calendar.CalendarPlanner(db, clock, settings.zone),
                    wechat=wechat, wecom=wecom)


def _ledger_handlers(db: Engine, clock: Clock, zone: Any) -> dict[str, Any]:
    """The visit ledger's reminders: the leader when the reception ends and once more the
    next working day, then the staff (handlers/bookings.py)."""
    ledger = bookings.LedgerReminder(db, clock, zone)
    return {bookings.LEDGER: ledger.fire, bookings.LEDGER_AGAIN: ledger.again,
            bookings.LEDGER_STAFF: ledger.staff}


def _wechat_channels(settings: Settings, workroom: Workroom, db: Engine, clock: Clock,
                     senders: dict[str, Sender], sweeper: Sweeper) -> tuple[Any, Any]:
    """The official account and the WeCom application, each when configured."""
    if not settings.wechat_app_id and not settings.wecom_corp_id:
        return None, None
    from bot import wechat
    from store.shared import RedisShared, SharedStore, SqlShared

    shared: SharedStore = RedisShared(settings.redis_url) if settings.redis_url \
        else SqlShared(db, clock)
    found: list[Any] = []
    for name, on in (("wechat", settings.wechat_app_id), ("wecom", settings.wecom_corp_id)):
        channel = wechat.build(name, settings, workroom, shared, clock) if on else None
        if channel is not None:
            senders[name] = channel.sender
        found.append(channel)
    if found[0] is not None and found[1] is not None:
        found[0].join(found[1])
    sweeper.handlers.update(wechat.timer_handlers([c for c in found if c is not None]))
    return found[0], found[1]
