"""Helpers of the case-lifecycle tests: file a complaint, act on it in chat, run the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from conversations.engine import Reply
from handlers.inbound import Inbound
from store.models import Case, InboxMessage, Notification
from tests.transcript import SKIP, Chat, open_menu, t

SHANGHAI_9AM = 1  # 09:00 in Shanghai is 01:00 UTC


def at9(day: date) -> datetime:
    """09:00 in Shanghai on `day` (reminders arrive then)."""
    return datetime(day.year, day.month, day.day, SHANGHAI_9AM, tzinfo=UTC)


def file_complaint(chat: Chat, lang: str, *, category: str = "wages",
                   identity: str = "named", affected: str = "3") -> str:
    """File a complaint through the menu; return the confirmation text."""
    open_menu(chat, lang)
    chat.press(t(lang, "menu.complaint"))
    chat.press(t(lang, f"opt.category.{category}"))
    for answer in ("十月份的加班费到现在还没有发下来", "2026-07-15", affected, SKIP):
        chat.say(t(lang, "nav.skip") if answer == SKIP else answer)
    chat.press("铸造车间")
    chat.say("补发加班费")
    chat.press(t(lang, f"opt.identity.{identity}"))
    chat.press(t(lang, "nav.confirm"))
    return chat.text


def offered(chat: Chat, lang: str, number: str) -> list[str]:
    """Open "办理问题 / Work on a case" and choose the case; return the actions offered."""
    open_menu(chat, lang)
    chat.press(t(lang, "menu.case_action"))
    chat.press_starting(number)
    return choices(chat)


def choices(chat: Chat) -> list[str]:
    """The options of the question now asked (its buttons but back, cancel, help...)."""
    return [b.label for b in chat.replies[-1].buttons if b.kind == "choice"]


def actions(lang: str, *names: str) -> list[str]:
    return [t(lang, f"opt.case_action.{name}") for name in names]


def press_value(chat: Chat, value: str) -> list[Reply]:
    """Press a button by its value: one of an earlier message, still on the screen."""
    return chat._send(Inbound(chat.channel, chat.address, chat._id(), action=value))


def case_action(chat: Chat, lang: str, number: str, action: str, *answers: str,
                confirm: bool = True) -> str:
    """Work on a case through "办理问题 / Work on a case"; return what the bot answered."""
    offered(chat, lang, number)
    chat.press(t(lang, f"opt.case_action.{action}"))
    for answer in answers:
        if answer.startswith("[") and answer.endswith("]"):
            chat.press(answer[1:-1])
        else:
            chat.say(answer)
    if confirm:
        chat.press(t(lang, "nav.confirm"))
    return chat.text


def the_case(services: Services, number: str = "C-2026-0001") -> Case:
    with Session(services.db) as s:
        return s.exec(select(Case).where(Case.number == number)).one()


def pushes(services: Services, key: str) -> list[str]:
    """Every push delivered to the person's web or console inbox, oldest first."""
    with Session(services.db) as s:
        return [m.text for m in s.exec(select(InboxMessage).where(
            InboxMessage.address == f"p:{key}").order_by(col(InboxMessage.id))).all()]


def tick(services: Services, clock: FrozenClock, until: datetime,
         step: timedelta = timedelta(hours=12)) -> None:
    """Move the clock to `until` in steps, sweeping timers and sending the outbox each time."""
    while clock.now() < until:
        clock.set(min(clock.now() + step, until))
        services.sweeper.run_once()
        services.sweeper.run_once()  # a second sweep finds nothing new to fire
        services.dispatcher.drain()


def sent_keys(services: Services) -> list[str]:
    with Session(services.db) as s:
        return [n.idempotency_key for n in s.exec(select(Notification)).all()]


def alert_asking_ack(chat: Chat, number: str, pushed_after: int = 0
                     ) -> tuple[InboxMessage, str]:
    """The newest alert of case `number` in the person's chat that asks for 收到 (from
    the `pushed_after`-th message on), and its button's value."""
    for m in reversed(chat.inbox()[pushed_after:]):
        ack = next((b["value"] for b in m.buttons if b["value"].startswith("ack:")), None)
        if number in m.text and ack is not None:
            return m, ack
    raise AssertionError(f"no alert of {number} asking for 收到")
