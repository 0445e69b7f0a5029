"""A leader's week, as the leader lives it: the pushes they get, and the one tap from each
to what it asks of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.models import InboxMessage
from tests.case_helpers import actions, choices, file_complaint, tick
from tests.transcript import LANGS, Chat, open_menu, t


def push(services: Services, key: str, starts: str) -> InboxMessage:
    """The latest push delivered to the person whose text starts with `starts`."""
    with Session(services.db) as s:
        rows = s.exec(select(InboxMessage).where(InboxMessage.address == f"p:{key}")
                      .order_by(col(InboxMessage.id).desc())).all()
    found = next((m for m in rows if m.text.startswith(starts)), None)
    assert found is not None, f"no push to {key} starting {starts!r} in {[m.text for m in rows]}"
    return found


def labels(message: InboxMessage) -> list[str]:
    return [b["label"] for b in message.buttons]


def tap(chat: Chat, message: InboxMessage, label: str) -> None:
    from handlers.inbound import Inbound

    value = next(b["value"] for b in message.buttons if b["label"] == label)
    chat._send(Inbound(chat.channel, chat.address, chat._id(), action=value))


def _in(services: Services, lang: str, *keys: str) -> dict[str, Chat]:
    chats = {k: Chat(services, person=k) for k in keys}
    for chat in chats.values():
        open_menu(chat, lang)  # each reads the bot, and their pushes, in `lang`
    return chats


@pytest.mark.parametrize("lang", LANGS)
def test_a_complaint_given_to_a_leader_opens_work_on_that_case_in_one_tap(
        services: Services, lang: str) -> None:
    c = _in(services, lang, "li_ming", "zhao_guoqiang")
    file_complaint(c["li_ming"], lang)
    services.dispatcher.drain()
    given = push(services, "zhao_guoqiang", t(lang, "notice.case_new", number="C-2026-0001",
                                              category=t(lang, "opt.category.wages"),
                                              affected=3, workshop="铸造车间",
                                              description="x", outcome="x", complainant="x",
                                              due_on="x")[:8])
    assert labels(given) == [t(lang, "nav.ack"), t(lang, "nav.work_on_case")]
    zhao = c["zhao_guoqiang"]
    tap(zhao, given, t(lang, "nav.work_on_case"))
    assert choices(zhao) == actions(lang, "note", "reply", "extend", "reassign")
    zhao.press(t(lang, "opt.case_action.note"))
    zhao.say("已约财务科核对十月加班记录")
    zhao.press(t(lang, "nav.confirm"))
    assert t(lang, "case_action.done.note", number="C-2026-0001") in zhao.text


@pytest.mark.parametrize("lang", LANGS)
def test_reminders_and_escalations_carry_the_button_to_those_who_can_act(
        services: Services, clock: FrozenClock, lang: str) -> None:
    c = _in(services, lang, "li_ming", "zhao_guoqiang", "chen_lihua")
    file_complaint(c["li_ming"], lang)
    tick(services, clock, clock.now() + timedelta(days=62), step=timedelta(days=1))
    work = t(lang, "nav.work_on_case")
    for starts in (t(lang, "notice.case_remind_half", number="C-2026-0001", category="x",
                     due_on="x", days_left=0)[:4],
                   t(lang, "notice.case_overdue", number="C-2026-0001", category="x",
                     due_on="x", late=0)[:4]):
        assert labels(push(services, "zhao_guoqiang", starts)) == [work]
    # The director, told of the leader's overdue case, can reassign it from there.
    told = push(services, "chen_lihua", t(lang, "notice.case_escalated", number="x",
                                          category="x", handler="x", due_on="x", late=0,
                                          status="x", events="x")[:4])
    assert labels(told) == [work]
    director = c["chen_lihua"]
    tap(director, told, work)
    assert t(lang, "opt.case_action.reassign") in choices(director)


@pytest.mark.parametrize("lang", LANGS)
def test_an_emergency_still_open_says_what_and_where_and_who_records_its_end(
        services: Services, clock: FrozenClock, lang: str) -> None:
    c = _in(services, lang, "li_ming", "sun_hongmei", "chen_lihua")
    reporter = c["li_ming"]
    reporter.press(t(lang, "menu.emergency"))
    reporter.say("铸造车间三十多人聚在车间门口")
    reporter.say("铸造车间门口")
    reporter.press(t(lang, "nav.send_now"))
    services.dispatcher.drain()
    sun = c["sun_hongmei"]  # on duty today: alerted with the report
    alert = push(services, "sun_hongmei", t(lang, "notice.incident", number="E-2026-0001",
                                          what="x", place="x", people="x", measures="x",
                                          suggestion="x", reporter="x", reported_at="x")[:6])
    tap(sun, alert, t(lang, "nav.ack"))
    tick(services, clock, clock.now() + timedelta(minutes=61), step=timedelta(minutes=5))
    words = {"number": "E-2026-0001", "elapsed": t(lang, "duration.hours", hours=1),
             "what": "铸造车间三十多人聚在车间门口", "place": "铸造车间门口"}
    # The leader on it: what, where, and whom to keep informed.
    leader = push(services, "sun_hongmei", t(lang, "notice.incident_open_leader",
                                             director_names="陈丽华", **words)[:6])
    assert leader.text == t(lang, "notice.incident_open_leader", director_names="陈丽华",
                            **words)
    assert labels(leader) == []
    # The director: the same, and one tap to record the end of the handling.
    director = push(services, "chen_lihua", t(lang, "notice.incident_open", **words)[:6])
    assert director.text == t(lang, "notice.incident_open", **words)
    handled = t(lang, "opt.incident_action.handled")
    assert labels(director) == [handled]
    chen = c["chen_lihua"]
    tap(chen, director, handled)
    chen.say("已当场答复，职工返岗")
    chen.press(t(lang, "nav.confirm"))
    assert t(lang, "incident_action.done.handled", number="E-2026-0001",
             due="10:31") in chen.text


@pytest.mark.parametrize("lang", LANGS)
def test_alerts_to_acknowledge_say_what_each_is_about(services: Services, lang: str) -> None:
    c = _in(services, lang, "li_ming", "zhao_guoqiang")
    file_complaint(c["li_ming"], lang)
    zhao = c["zhao_guoqiang"]
    zhao.press(t(lang, "menu.my_alerts"))
    assert t(lang, "query.my_alerts.case", number="C-2026-0001", at="11-23 09:00",
             category=t(lang, "opt.category.wages")) in zhao.text
