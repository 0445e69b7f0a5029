"""Helpers of the calendar tests: run the scheduler's clock forward, read the exports."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers import exports
from scheduler import workdays
from store import roster
from store.calendar_models import DutyPublished
from store.db import transaction
from store.models import DutyEntry, InboxMessage, Notification, Person, Timer, Unit
from tests.transcript import Chat

ZONE = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def publish_roster(services: Services) -> None:
    """The roster as a workroom running for a while has it: every entry published (its
    posts went out before the test began). Only published receptions are offered to book."""
    with transaction(services.db) as s:
        cal = workdays.load(s)
        done = set(s.exec(select(DutyPublished.duty_entry_id)))
        for e in s.exec(select(DutyEntry)).all():
            if e.id is not None and e.id not in done:
                s.add(DutyPublished(duty_entry_id=e.id, leader_id=e.leader_id,
                                    published_at=services.clock.now(),
                                    due_on=roster.publish_by(cal, e.day)))


def next_due(services: Services) -> datetime | None:
    """When the next timer not yet done is due (None: nothing is waiting)."""
    with Session(services.db) as s:
        return s.exec(select(Timer.due_at).where(col(Timer.done_at).is_(None))
                      .order_by(col(Timer.due_at))).first()


def run_until(services: Services, clock: FrozenClock, until: datetime) -> None:
    """Move the clock timer by timer to `until`, as the scheduler would: plan the calendar,
    fire what is due, deliver the outbox. A timer that stays due fails the test."""
    stuck = 0
    while True:
        services.planner.plan()
        nxt = next_due(services)
        if nxt is None or nxt > until:
            clock.set(max(until, clock.now()))
            services.sweeper.run_once()
            services.dispatcher.drain()
            return
        if nxt <= clock.now():
            stuck += 1
            assert stuck < 5, f"a timer due {nxt} does not fire"
        else:
            stuck = 0
        clock.set(max(nxt, clock.now()))
        services.sweeper.run_once(limit=500)
        services.dispatcher.drain(rounds=50)


def pushes(services: Services, key: str) -> list[str]:
    """Every push delivered to the person's inbox (web or console), oldest first."""
    with Session(services.db) as s:
        return [m.text for m in s.exec(select(InboxMessage).where(
            InboxMessage.address == f"p:{key}").order_by(col(InboxMessage.id))).all()]


def last_push(services: Services, key: str) -> InboxMessage:
    with Session(services.db) as s:
        return s.exec(select(InboxMessage).where(InboxMessage.address == f"p:{key}")
                      .order_by(col(InboxMessage.id).desc())).first()  # type: ignore[return-value]


def last_starting(services: Services, key: str, prefix: str) -> InboxMessage:
    """The person's latest push that starts with `prefix` (a 交办 not confirmed may have
    come at the same morning's hour)."""
    with Session(services.db) as s:
        return next(m for m in s.exec(select(InboxMessage).where(
            InboxMessage.address == f"p:{key}").order_by(col(InboxMessage.id).desc()))
            if m.text.startswith(prefix))


def tap(chat: Chat, message: InboxMessage, label: str) -> None:
    """Press a button of a delivered push, as the recipient would."""
    from handlers.inbound import Inbound

    value = next(b["value"] for b in message.buttons if b["label"] == label)
    chat._send(Inbound(chat.channel, chat.address, chat._id(), action=value))


def sent_to(services: Services, prefix: str) -> list[Notification]:
    with Session(services.db) as s:
        return list(s.exec(select(Notification).where(
            col(Notification.idempotency_key).startswith(prefix))).all())


def people(services: Services, *roles: str) -> list[Person]:
    with Session(services.db) as s:
        return list(s.exec(select(Person).where(col(Person.role).in_(roles),
                                                Person.verified == True)  # noqa: E712
                           .order_by(col(Person.id))).all())


def workbook(services: Services, kind: str, lang: str = "zh", **options: Any) -> Any:
    """Build an export as the staff would download it and open it with openpyxl."""
    with Session(services.db) as s:
        unit = s.exec(select(Unit)).first()
        assert unit is not None and unit.id is not None
        data = exports.build(s, kind, unit_id=unit.id, lang=lang, zone=ZONE,
                             today=services.clock.now().astimezone(ZONE).date(), **options)
    return load_workbook(io.BytesIO(data))


def rows(sheet: Any) -> list[list[Any]]:
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def step(clock: FrozenClock, minutes: int = 1) -> None:
    clock.advance(timedelta(minutes=minutes))
