"""What a leader paged by the emergency chain reads: an alert from a step after the first
says at its top who did not acknowledge it and for how long the report has been open
(the rest of the alert and its buttons as the first round's); a first-round alert says
nothing of the kind; the 收到 of one is shown on the alerts of the others escalated to.
And the handler who asks for more days on a case is told who was asked to decide."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations import catalog
from conversations.clock import FrozenClock
from handlers.alerts import names_text
from store.models import Alert, Case, InboxMessage, Person
from tests.case_helpers import case_action, file_complaint, pushes, the_case, tick
from tests.test_emergency_chain import PEOPLE, alerts_to
from tests.test_flow_emergency import ack, report
from tests.transcript import LANGS, Chat, open_menu, person, t


def escalated(lang: str, names: list[str], minutes: int) -> str:
    return t(lang, "notice.escalated", names=t(lang, "list.sep").join(names), minutes=minutes)


def marker(lang: str) -> str:
    """The escalation line's fixed opening: 【升级】 / [Escalated] ..."""
    return catalog.load(lang)["notice.escalated"].split("{")[0]


def alert_pushes(services: Services, key: str, lang: str) -> list[InboxMessage]:
    """The emergency alerts in the person's inbox (first round and escalated), in order."""
    first = t(lang, "notice.incident", number="E-2026-0001", what="", place="", people="",
              measures="", suggestion="", reporter="", reported_at="").splitlines()[0]
    with Session(services.db) as s:
        rows = s.exec(select(InboxMessage).where(InboxMessage.address == f"p:{key}")
                      .order_by(InboxMessage.id)).all()  # type: ignore[arg-type]
    return [m for m in rows if first in m.text.splitlines()[:2]]


def labels(message: InboxMessage) -> list[str]:
    return [b["label"] for b in message.buttons]


@pytest.mark.parametrize("lang", LANGS)
def test_a_chain_step_says_who_did_not_acknowledge_and_for_how_long(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    services = db_services  # on SQLite and on PostgreSQL
    for key in PEOPLE:
        open_menu(Chat(services, person=key), lang)
    t0 = clock.now()
    report(Chat(services, person="li_ming"), lang)
    services.dispatcher.drain()

    # The first round (the director and today's duty leader): the alert, no 【升级】.
    [first] = alert_pushes(services, "chen_lihua", lang)
    [duty_first] = alert_pushes(services, "sun_hongmei", lang)
    for message in (first, duty_first):
        assert marker(lang) not in message.text
    assert labels(first) == [t(lang, "nav.ack")]

    # Five minutes, nobody's 收到: the second step reads who was paged before, and since
    # when; under that line, the very alert of the first round, with its 收到.
    tick(services, clock, t0 + timedelta(minutes=5))
    [zhao] = alert_pushes(services, "zhao_guoqiang", lang)
    top, rest = zhao.text.split("\n", 1)
    assert top == escalated(lang, ["陈丽华", "孙红梅"], 5)
    assert rest == first.text
    assert labels(zhao) == labels(first)
    [liu] = alert_pushes(services, "liu_fang", lang)
    assert liu.text == zhao.text
    # The duty leader, in this step too, was paged by the first: one push a round.
    assert alert_pushes(services, "sun_hongmei", lang) == [duty_first]

    # The third step ten minutes later: everyone before it.
    tick(services, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
    [qian] = alert_pushes(services, "qian_wenjing", lang)
    assert qian.text.split("\n", 1) == [
        escalated(lang, ["陈丽华", "孙红梅", "赵国强", "刘芳"], 15), first.text]

    # Nobody in 45 minutes: the chain starts again, and the director, paged before,
    # reads that she and all the others are still silent.
    tick(services, clock, t0 + timedelta(minutes=45), step=timedelta(minutes=1))
    _, director_again = alert_pushes(services, "chen_lihua", lang)
    assert director_again.text.split("\n", 1) == [
        t(lang, "notice.escalated_again", names=t(lang, "list.sep").join(
            ["孙红梅", "赵国强", "刘芳", "钱文静"]), minutes=45), first.text]
    # So does the duty leader, paged again in the new round only.
    _, sun_again = alert_pushes(services, "sun_hongmei", lang)
    assert sun_again.text.split("\n", 1) == [
        t(lang, "notice.escalated_again", names=t(lang, "list.sep").join(
            ["陈丽华", "赵国强", "刘芳", "钱文静"]), minutes=45), first.text]
    assert [alerts_to(services, k, lang) for k in PEOPLE] == [0, 2, 2, 1, 1, 1]

    # 赵国强 acknowledges: every alert the others were escalated to shows who has it
    # (edited where it was shown: nothing new rings), their own 收到 still there.
    clock.set(t0 + timedelta(minutes=47))
    zhao_alert = Alert.recipient_id == person(services, "zhao_guoqiang").id
    with Session(services.db) as s:
        alert = s.exec(select(Alert).where(zhao_alert)).one()
    assert ack(services, "zhao_guoqiang", alert.id or 0) == t(lang, "ack.done", at="09:47")
    services.dispatcher.drain()
    taken = t(lang, "notice.alert_taken", name="赵国强", acked_at="2026-11-23 09:47")
    for key in ("liu_fang", "qian_wenjing", "sun_hongmei", "chen_lihua"):
        for message in alert_pushes(services, key, lang):
            assert message.text.endswith("\n".join([taken, t(lang, "nav.ack_prompt_also")]))
            assert labels(message)[0] == t(lang, "nav.ack")
    [liu] = alert_pushes(services, "liu_fang", lang)
    assert liu.text.startswith(escalated(lang, ["陈丽华", "孙红梅"], 5))  # the top stays
    assert t(lang, "notice.acknowledged", number="E-2026-0001", name="赵国强",
             acked_at="2026-11-23 09:47") in pushes(services, "li_ming")


def set_case(services: Services, **values: object) -> None:
    with Session(services.db) as s:
        case = s.exec(select(Case).where(Case.number == "C-2026-0001")).one()
        for name, value in values.items():
            setattr(case, name, value)
        s.add(case)
        s.commit()


@pytest.mark.parametrize("lang", LANGS)
def test_asking_for_more_days_names_who_decides(services: Services, lang: str) -> None:
    """The director and the case's lead leader are told; the reply names them, with
    their posts, as they were told."""
    for key in ("chen_lihua", "sun_hongmei"):  # they read `lang`
        open_menu(Chat(services, person=key), lang)
    file_complaint(Chat(services, person="li_ming"), lang)
    set_case(services, lead_leader_id=person(services, "sun_hongmei").id)
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    said = case_action(zhao, lang, "C-2026-0001", "extend", "20", "等待上级批复")
    told = names_text([person(services, "chen_lihua"), person(services, "sun_hongmei")], lang)
    assert t(lang, "case_action.done.extend", number="C-2026-0001", days=20,
             approvers=told) in said
    assert "陈丽华" in said and "孙红梅" in said
    services.dispatcher.drain()
    asked = t(lang, "notice.extension_asked", handler="赵国强", days=20, number="C-2026-0001",
              due_on=the_case(services).due_on.isoformat(), reason="等待上级批复")
    for key in ("chen_lihua", "sun_hongmei"):
        assert asked in pushes(services, key)


def has_left(services: Services, key: str) -> None:
    with Session(services.db) as s:
        gone = s.exec(select(Person).where(Person.key == key)).one()
        gone.active = False
        s.add(gone)
        s.commit()


def ask_for_more_days(services: Services, lang: str) -> str:
    """The handler 赵国强 asks for 20 more days on C-2026-0001; what he is answered."""
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    return case_action(zhao, lang, "C-2026-0001", "extend", "20", "等待上级批复")


@pytest.mark.parametrize("lang", LANGS)
def test_asking_for_more_days_with_nobody_to_decide_says_so(
        services: Services, lang: str) -> None:
    """No serving director and no lead leader: the reply does not pretend anyone was
    told; the handler is sent to the workroom."""
    file_complaint(Chat(services, person="li_ming"), lang)
    has_left(services, "chen_lihua")
    said = ask_for_more_days(services, lang)
    assert t(lang, "case_action.done.extend_nobody", number="C-2026-0001", days=20) in said


@pytest.mark.parametrize("lang", LANGS)
def test_a_lead_leader_who_has_left_is_not_asked_for_more_days(
        services: Services, lang: str) -> None:
    """The case's lead leader has left: only the serving director is asked, and the
    reply names only them; an ask nobody can answer would leave the case waiting."""
    open_menu(Chat(services, person="chen_lihua"), lang)
    file_complaint(Chat(services, person="li_ming"), lang)
    set_case(services, lead_leader_id=person(services, "sun_hongmei").id)
    has_left(services, "sun_hongmei")
    said = ask_for_more_days(services, lang)
    told = names_text([person(services, "chen_lihua")], lang)
    assert t(lang, "case_action.done.extend", number="C-2026-0001", days=20,
             approvers=told) in said
    assert "孙红梅" not in said
    services.dispatcher.drain()
    asked = t(lang, "notice.extension_asked", handler="赵国强", days=20, number="C-2026-0001",
              due_on=the_case(services).due_on.isoformat(), reason="等待上级批复")
    assert asked in pushes(services, "chen_lihua")
    assert asked not in pushes(services, "sun_hongmei")
