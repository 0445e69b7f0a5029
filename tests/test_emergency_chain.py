"""The emergency chain: each step on time until someone acknowledges, then re-alerts until
it is handled; the 1-hour first report reminded, filled in chat, sent to the upper union,
marked late when late; the opinion, closing and archiving reports tracked the same way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations import catalog
from conversations.clock import FrozenClock
from conversations.engine import Button, Reply
from store.models import (
    Acknowledgement,
    Alert,
    ChainStep,
    DutyEntry,
    InboxMessage,
    Incident,
    IncidentReport,
    Person,
)
from tests.case_helpers import choices, pushes, tick
from tests.test_flow_emergency import PLACE, TODAY, WHAT, ack, report
from tests.transcript import LANGS, Chat, all_rows, open_menu, person, t

PEOPLE = ("li_ming", "chen_lihua", "sun_hongmei", "zhao_guoqiang", "liu_fang", "qian_wenjing")


def alerts_to(services: Services, key: str, lang: str) -> int:
    head = t(lang, "notice.incident", number="E-2026-0001", what=WHAT, place=PLACE,
             people="", measures="", suggestion="", reporter="", reported_at="")
    # Its first line, or its second under a chain step's 【升级】 line.
    return sum(head.splitlines()[0] in p.splitlines()[:2] for p in pushes(services, key))


def opened(services: Services, lang: str, *keys: str) -> dict[str, Chat]:
    """Each person's chat, opened once in `lang` (their pushes come in it)."""
    chats = {k: Chat(services, person=k) for k in keys}
    for chat in chats.values():
        open_menu(chat, lang)
    return chats


def director_does(chat: Chat, lang: str, action: str, *answers: str,
                  confirm: bool = True, typed: bool = False) -> str:
    """Follow the latest emergency with `action`: its button, or its words `typed` (an
    action not offered now)."""
    open_menu(chat, lang)
    chat.press(t(lang, "menu.incident_action"))
    chat.press(chat.replies[-1].buttons[0].label)  # the latest emergency
    if typed:
        assert t(lang, f"opt.incident_action.{action}") not in choices(chat)
        chat.say(t(lang, f"opt.incident_action.{action}"))
    else:
        chat.press(t(lang, f"opt.incident_action.{action}"))
    for answer in answers:
        chat.say(answer)
    if confirm:
        chat.press(t(lang, "nav.confirm"))
    return chat.text


REPORT = ("铸造车间两个班组约30人", "停工聚集，情绪趋于平稳", "车间主任和财务科长到场解释",
          "尽快公布加班费核算结果")


@pytest.mark.parametrize("lang", LANGS)
def test_chain_acknowledgement_reports_and_archiving(db_services: Services,
                                                     clock: FrozenClock, lang: str) -> None:
    services = db_services  # on SQLite and on PostgreSQL
    chats = opened(services, lang, *PEOPLE)
    t0 = clock.now()
    report(chats["li_ming"], lang)
    services.dispatcher.drain()
    count = {k: lambda k=k: alerts_to(services, k, lang) for k in PEOPLE}
    # Step 1 at once: the director and today's duty leader.
    assert [count[k]() for k in PEOPLE] == [0, 1, 1, 0, 0, 0]

    # Step 2 after step 1's 5 minutes, not before; step 3 after step 2's 10 minutes. The
    # duty leader, 孙红梅, is in step 2 too: paged once a round, not again by it.
    tick(services, clock, t0 + timedelta(minutes=4, seconds=59), step=timedelta(minutes=1))
    assert [count[k]() for k in PEOPLE] == [0, 1, 1, 0, 0, 0]
    tick(services, clock, t0 + timedelta(minutes=5))
    assert [count[k]() for k in PEOPLE] == [0, 1, 1, 1, 1, 0]
    tick(services, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
    assert [count[k]() for k in PEOPLE] == [0, 1, 1, 1, 1, 1]

    # Half an hour: the director is reminded of the first report.
    due_note = t(lang, "notice.report_due", number="E-2026-0001",
                 report=t(lang, "report.kind.first"),
                 due_at=(t0 + timedelta(hours=1)).astimezone(services.settings.zone)
                 .strftime("%Y-%m-%d %H:%M"))
    tick(services, clock, t0 + timedelta(minutes=30), step=timedelta(minutes=1))
    assert pushes(services, "chen_lihua").count(due_note) == 1

    # Nobody acknowledged the whole chain (5 + 10 + 30 minutes): it starts again.
    tick(services, clock, t0 + timedelta(minutes=45), step=timedelta(minutes=1))
    assert [count[k]() for k in PEOPLE] == [0, 2, 2, 1, 1, 1]

    # A leader acknowledges: the reporter is told, and the chain stops at once.
    clock.set(t0 + timedelta(minutes=47))
    with Session(services.db) as s:
        zhao = s.exec(select(Person).where(Person.key == "zhao_guoqiang")).one()
        alert = s.exec(select(Alert).where(Alert.recipient_id == zhao.id)).one()
    assert ack(services, "zhao_guoqiang", alert.id or 0) == t(lang, "ack.done", at="09:47")
    services.dispatcher.drain()
    assert t(lang, "notice.acknowledged", number="E-2026-0001", name="赵国强",
             acked_at="2026-11-23 09:47") in pushes(services, "li_ming")
    tick(services, clock, t0 + timedelta(minutes=59), step=timedelta(minutes=1))
    assert [count[k]() for k in PEOPLE] == [0, 2, 2, 1, 1, 1]

    # The hour passes without the first report: it is late, and the director is told.
    tick(services, clock, t0 + timedelta(hours=1), step=timedelta(minutes=1))
    late_note = t(lang, "notice.report_late", number="E-2026-0001",
                  report=t(lang, "report.kind.first"),
                  due_at=(t0 + timedelta(hours=1)).astimezone(services.settings.zone)
                  .strftime("%Y-%m-%d %H:%M"))
    assert pushes(services, "chen_lihua").count(late_note) == 1

    # Filled in chat ten minutes later: it reaches the upper union marked late.
    clock.set(t0 + timedelta(minutes=70))
    director = chats["chen_lihua"]
    said = director_does(director, lang, "first", *REPORT)
    assert t(lang, "incident_action.done.late", report=t(lang, "report.kind.first"),
             number="E-2026-0001", due="11-23 10:00") in said
    services.dispatcher.drain()
    sent = t(lang, "notice.incident_report_late", report=t(lang, "report.kind.first"),
             number="E-2026-0001", unit="青岚机械制造有限公司", what=WHAT, place=PLACE,
             reported_at="2026-11-23 09:00", involved=REPORT[0], impact=REPORT[1],
             measures=REPORT[2], suggestions=REPORT[3], director="陈丽华")
    assert pushes(services, "qian_wenjing").count(sent) == 1
    # Its tag reads as every push's does (before: "[first report (1 hour) · LATE]").
    assert sent.startswith({"zh": "【首报（1小时） · 迟报】",
                            "en": "[FIRST REPORT (1 HOUR) · LATE] "}[lang])
    # The 2-hour opinion report goes in time.
    clock.set(t0 + timedelta(minutes=80))
    said = director_does(director, lang, "opinion", *REPORT)
    assert t(lang, "incident_action.done.in_time", report=t(lang, "report.kind.opinion"),
             number="E-2026-0001", due="11-23 11:00") in said
    # Sent, a report is no longer offered; typed (or an old button), it is refused as
    # soon as it is chosen: nothing is asked for nothing.
    open_menu(director, lang)
    director.press(t(lang, "menu.incident_action"))
    director.press(director.replies[-1].buttons[0].label)
    assert choices(director) == [t(lang, f"opt.incident_action.{a}") for a in ("city", "handled")]
    director.say(t(lang, "opt.incident_action.opinion"))
    assert director.replies[0].text == t(lang, "incident_action.already",
                                         report=t(lang, "report.kind.opinion"),
                                         number="E-2026-0001")
    assert t(lang, "incident_action.action.ask") in director.replies[-1].text
    director.press(t(lang, "nav.cancel"))

    # The director phones the city union's line and records it: nothing is pushed for it.
    clock.set(t0 + timedelta(minutes=95))
    services.dispatcher.drain()
    sent_before = len(pushes(services, "qian_wenjing"))
    said = director_does(director, lang, "city", t(lang, "opt.city_how.phone"), "市总工会值班室")
    assert t(lang, "incident_action.done.in_time", report=t(lang, "report.kind.city"),
             number="E-2026-0001", due="11-24 09:00") in said
    services.dispatcher.drain()
    assert len(pushes(services, "qian_wenjing")) == sent_before

    # Acknowledged at 09:47 and still not handled an hour later: alerted again.
    tick(services, clock, t0 + timedelta(minutes=107), step=timedelta(minutes=1))
    open_again = t(lang, "notice.incident_open_leader", number="E-2026-0001",
                   elapsed=t(lang, "duration.hours", hours=1),
                   what=WHAT, place=PLACE, director_names="陈丽华")
    assert pushes(services, "zhao_guoqiang").count(open_again) == 1
    director_again = t(lang, "notice.incident_open", number="E-2026-0001",
                       elapsed=t(lang, "duration.hours", hours=1), what=WHAT, place=PLACE)
    assert pushes(services, "chen_lihua").count(director_again) == 1

    # Closing report before the handling is over: not offered, and refused when typed.
    # Then handled, closed, archived.
    said = director_does(director, lang, "closing", confirm=False, typed=True)
    assert t(lang, "incident_action.not_yet", report=t(lang, "report.kind.closing")) in said
    assert t(lang, "incident_action.involved.ask") not in said  # refused when chosen
    director.press(t(lang, "nav.cancel"))
    clock.set(t0 + timedelta(minutes=110))
    said = director_does(director, lang, "handled", "财务科当场公布核算结果，职工返岗")
    assert t(lang, "incident_action.done.handled", number="E-2026-0001", due="11:20") in said
    # Archived before the closing report has gone: refused when chosen (the report could
    # never be sent afterwards, an archived emergency being no longer listed); not
    # offered either.
    said = director_does(director, lang, "archive", confirm=False, typed=True)
    assert t(lang, "incident_action.closing_first", number="E-2026-0001",
             report=t(lang, "report.kind.closing")) in said
    director.press(t(lang, "nav.cancel"))
    clock.set(t0 + timedelta(minutes=125))
    said = director_does(director, lang, "closing", *REPORT)
    assert t(lang, "incident_action.done.in_time", report=t(lang, "report.kind.closing"),
             number="E-2026-0001", due="11-23 11:20") in said
    tick(services, clock, t0 + timedelta(days=3), step=timedelta(hours=1))
    assert pushes(services, "zhao_guoqiang").count(open_again) == 1  # handled: no more
    said = director_does(director, lang, "archive", "工作室档案柜 2026-E 卷")
    assert t(lang, "incident_action.done.in_time", report=t(lang, "report.kind.archive"),
             number="E-2026-0001", due="11-30 10:50") in said
    [incident] = all_rows(services, Incident)
    assert (incident.status, incident.archived_at) == ("archived", clock.now())
    reports = {r.kind: r.late for r in all_rows(services, IncidentReport)}
    assert reports == {"first": True, "opinion": False, "city": False, "closing": False,
                       "archive": False}
    [city] = [r for r in all_rows(services, IncidentReport) if r.kind == "city"]
    assert city.content == {"how": "phone", "taken_by": "市总工会值班室"}
    assert person(services, "qian_wenjing").role == "upper_union"
    # Nothing more, however long.
    before = {k: len(pushes(services, k)) for k in PEOPLE}
    tick(services, clock, t0 + timedelta(days=10), step=timedelta(hours=6))
    assert {k: len(pushes(services, k)) for k in PEOPLE} == before


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_who_files_it_has_it_and_the_chain_does_not_climb(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """Today's duty leader reports from the shop floor: she is not paged with her own
    report, the director is, and her report counts as her 收到 (no round of the chain
    pages the leaders above); she is told who else was alerted and that the director's
    收到 will be told to her."""
    from handlers.alerts import names_text

    services = db_services
    chats = opened(services, lang, *PEOPLE)
    t0 = clock.now()
    report(chats["sun_hongmei"], lang)
    director = person(services, "chen_lihua")
    assert chats["sun_hongmei"].text.startswith(t(
        lang, "emergency.done_own", number="E-2026-0001",
        alerted=names_text([director], lang)))
    services.dispatcher.drain()
    count = {k: lambda k=k: alerts_to(services, k, lang) for k in PEOPLE}
    assert [count[k]() for k in PEOPLE] == [0, 1, 0, 0, 0, 0]
    [incident] = all_rows(services, Incident)
    assert incident.acknowledged_at == t0
    [own] = all_rows(services, Alert, Alert.recipient_id == person(services, "sun_hongmei").id)
    [taken] = all_rows(services, Acknowledgement, Acknowledgement.alert_id == own.id)
    assert (taken.person_id, taken.at) == (own.recipient_id, t0)

    # Nobody else acknowledged, yet no step of the chain pages anyone above.
    tick(services, clock, t0 + timedelta(minutes=50), step=timedelta(minutes=1))
    assert [count[k]() for k in PEOPLE] == [0, 1, 0, 0, 0, 0]

    # The director's 收到 is told to the leader who filed it.
    [theirs] = all_rows(services, Alert, Alert.recipient_id == director.id)
    clock.set(t0 + timedelta(minutes=51))
    assert ack(services, "chen_lihua", theirs.id or 0) == t(lang, "ack.done", at="09:51")
    services.dispatcher.drain()
    assert t(lang, "notice.acknowledged", number="E-2026-0001", name=director.name,
             acked_at="2026-11-23 09:51") in pushes(services, "sun_hongmei")


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_named_twice_in_the_chain_is_paged_once_a_round(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """The director is today's duty leader too, and the chain names her again in its
    last step: one push a round (the report's, then the new round's), never a second
    one, worded 【再次提醒】, from a later step of the same round. The chain keeps its
    times; the others' alerts still name her among those who have not answered."""
    services = db_services
    director, last = person(services, "chen_lihua"), person(services, "qian_wenjing")
    with Session(services.db) as s:
        qian = s.exec(select(ChainStep).where(ChainStep.person_id == last.id)).one()
        entry = s.exec(select(DutyEntry).where(DutyEntry.day == TODAY)).one()
        entry.leader_id = director.id or 0
        s.add(entry)
        s.add(ChainStep(unit_id=qian.unit_id, position=qian.position,
                        person_id=director.id or 0, wait_minutes=qian.wait_minutes))
        s.commit()
    chats = opened(services, lang, *PEOPLE)
    t0 = clock.now()
    report(chats["li_ming"], lang)
    services.dispatcher.drain()
    count = {k: lambda k=k: alerts_to(services, k, lang) for k in PEOPLE}
    assert [count[k]() for k in PEOPLE] == [0, 1, 0, 0, 0, 0]
    tick(services, clock, t0 + timedelta(minutes=5))
    assert [count[k]() for k in PEOPLE] == [0, 1, 1, 1, 1, 0]
    # The last step, 10 minutes on: 钱文静, and not the director again.
    tick(services, clock, t0 + timedelta(minutes=15), step=timedelta(minutes=1))
    assert [count[k]() for k in PEOPLE] == [0, 1, 1, 1, 1, 1]
    [to_qian] = [p for p in pushes(services, "qian_wenjing") if WHAT in p]
    assert to_qian.startswith(t(lang, "notice.escalated", names=t(lang, "list.sep").join(
        ["陈丽华", "孙红梅", "赵国强", "刘芳"]), minutes=15))
    # Its 30 minutes still run: the second round at 45, each paged once more.
    tick(services, clock, t0 + timedelta(minutes=44), step=timedelta(minutes=1))
    assert [count[k]() for k in PEOPLE] == [0, 1, 1, 1, 1, 1]
    tick(services, clock, t0 + timedelta(minutes=45))
    assert [count[k]() for k in PEOPLE] == [0, 2, 1, 1, 1, 1]
    tick(services, clock, t0 + timedelta(minutes=60), step=timedelta(minutes=1))
    assert [count[k]() for k in PEOPLE] == [0, 2, 2, 2, 2, 2]
    again = catalog.load(lang)["notice.escalated_again"].split("{")[0]
    assert next(p for p in pushes(services, "chen_lihua") if again in p).startswith(
        t(lang, "notice.escalated_again", names=t(lang, "list.sep").join(
            ["孙红梅", "赵国强", "刘芳", "钱文静"]), minutes=45))


def handled_button(director: Chat, lang: str, incident: Incident) -> None:
    """The 处置完毕 button of an earlier 【尚未处置完毕】 push, shown in the chat."""
    director.replies = [Reply("", [Button(
        t(lang, "opt.incident_action.handled"),
        f"flow:incident_action?incident={incident.id}&action=handled")])]


@pytest.mark.parametrize("lang", LANGS)
def test_an_old_pushs_handled_button_says_it_is_handled_and_asks_nothing_for_it(
        services: Services, lang: str) -> None:
    """The director marked the emergency handled from the menu, then taps 处置完毕 on the
    earlier 【尚未处置完毕】 push: she is told at once it is handled already and asked what
    else to do; the outcome is not asked for nothing, and nothing changes."""
    chats = opened(services, lang, "li_ming", "chen_lihua")
    report(chats["li_ming"], lang)
    director = chats["chen_lihua"]
    director_does(director, lang, "handled", "财务科当场公布核算结果，职工返岗")
    [incident] = all_rows(services, Incident)
    handled_button(director, lang, incident)
    director.press(t(lang, "opt.incident_action.handled"))
    assert t(lang, "incident_action.already_handled", number="E-2026-0001") in director.text
    assert t(lang, "incident_action.action.ask") in director.replies[-1].text
    assert t(lang, "incident_action.outcome.ask") not in director.text
    director.press(t(lang, "nav.back"))  # nothing was asked before: the menu
    assert director.replies[0].text == t(lang, "flow.back_to_menu")
    [after] = all_rows(services, Incident)
    assert after.outcome == "财务科当场公布核算结果，职工返岗"


@pytest.mark.parametrize("lang", LANGS)
def test_back_after_a_refusal_of_a_form_a_push_opened_goes_back_to_the_menu(
        services: Services, lang: str) -> None:
    """The director taps 处置完毕 on a push and writes the outcome; meanwhile the emergency
    is marked handled elsewhere. The form is refused at the end and asks what to do; "Back"
    from there, where nothing was asked before, returns to the menu (it once failed the
    step: the chat heard nothing)."""
    chats = opened(services, lang, "li_ming", "chen_lihua")
    report(chats["li_ming"], lang)
    director = chats["chen_lihua"]
    [incident] = all_rows(services, Incident)
    handled_button(director, lang, incident)
    director.press(t(lang, "opt.incident_action.handled"))
    director.say("再登记一次处置结果")
    with Session(services.db) as s:  # handled meanwhile, on another device
        row = s.get(Incident, incident.id)
        assert row is not None
        row.handled_at, row.status, row.outcome = row.created_at, "handled", "职工已返岗"
        s.add(row)
        s.commit()
    director.press(t(lang, "nav.confirm"))
    assert t(lang, "incident_action.already_handled", number="E-2026-0001") in director.text
    assert t(lang, "incident_action.action.ask") in director.text
    director.press(t(lang, "nav.back"))
    assert director.replies[0].text == t(lang, "flow.back_to_menu")
    assert t(lang, "menu.incident_action") in director.labels()


@pytest.mark.parametrize("lang", LANGS)
def test_the_director_who_sends_the_first_report_has_it_and_the_chain_stops(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Woken at night, the director goes straight to the first report without pressing
    收到: that is her acknowledgement. The chain does not go on paging the others, and the
    reporter is told who has it."""
    chats = opened(services, lang, *PEOPLE)
    t0 = clock.now()
    report(chats["li_ming"], lang)
    services.dispatcher.drain()
    clock.set(t0 + timedelta(minutes=3))
    director_does(chats["chen_lihua"], lang, "first", *REPORT)
    services.dispatcher.drain()
    assert t(lang, "notice.acknowledged", number="E-2026-0001", name="陈丽华",
             acked_at="2026-11-23 09:03") in pushes(services, "li_ming")
    tick(services, clock, t0 + timedelta(minutes=20), step=timedelta(minutes=1))
    count = [alerts_to(services, k, lang) for k in PEOPLE]
    assert count == [0, 1, 1, 0, 0, 0]  # step 2 (after 5 minutes) never came


@pytest.mark.parametrize("lang", LANGS)
def test_the_reporter_hears_that_nobody_has_answered_yet_and_then_how_it_ended(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Nobody of the first step presses 收到 in its five minutes: the reporter is told,
    once, that more leaders are being alerted and whom to call if lives are at stake.
    Handled at last: everyone who reported it (a second report was added) hears how."""
    chats = opened(services, lang, *PEOPLE)
    t0 = clock.now()
    second = Chat(services, channel="web", address="second-reporter")
    for chat in (chats["li_ming"], second):  # the same workshop: the second is added
        open_menu(chat, lang)
        chat.press(t(lang, "menu.emergency"))
        chat.say(WHAT)
        chat.say("铸造车间门口")
        chat.press(t(lang, "nav.send_now"))
    assert len(all_rows(services, Incident)) == 1
    services.dispatcher.drain()
    waiting = t(lang, "notice.incident_waiting", number="E-2026-0001")
    assert waiting not in pushes(services, "li_ming")
    tick(services, clock, t0 + timedelta(minutes=20), step=timedelta(minutes=1))
    assert pushes(services, "li_ming").count(waiting) == 1
    assert [m.text for m in second.inbox()].count(waiting) == 1
    clock.set(t0 + timedelta(minutes=50))
    director_does(chats["chen_lihua"], lang, "handled", "财务科当场公布核算结果，职工返岗")
    services.dispatcher.drain()
    handled = t(lang, "notice.incident_handled", number="E-2026-0001",
                handled_at="2026-11-23 09:50", outcome="财务科当场公布核算结果，职工返岗")
    assert pushes(services, "li_ming").count(handled) == 1
    assert [m.text for m in second.inbox()].count(handled) == 1


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_paged_later_reads_the_reports_added_since(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """"铸造车间有人聚集" came first; two minutes on, the workshop's liaison adds that
    fifty have stopped work and one was hurt. The leaders the chain pages after that read
    it under the first report, with the head count, not only the first thin words."""
    chats = opened(services, lang, *PEOPLE, "wang_qiang")
    t0 = clock.now()
    li = chats["li_ming"]
    li.press(t(lang, "menu.emergency"))
    li.say("铸造车间有人聚集")
    li.say("铸造车间")
    li.press(t(lang, "nav.send_now"))
    clock.set(t0 + timedelta(minutes=2))
    wang = chats["wang_qiang"]
    wang.press(t(lang, "menu.emergency"))
    wang.say("两个班组约50人停工聚集，有一人被推倒受伤")
    wang.say("铸造车间")
    wang.say("50")
    wang.press(t(lang, "nav.send_now"))
    assert len(all_rows(services, Incident)) == 1
    tick(services, clock, t0 + timedelta(minutes=5), step=timedelta(minutes=1))
    [paged] = [p for p in pushes(services, "zhao_guoqiang") if "E-2026-0001" in p]
    assert t(lang, "notice.incident_more_title", count=1) in paged
    line = t(lang, "notice.incident_more_line", reported_at="2026-11-23 09:02",
             reporter="王强", what="两个班组约50人停工聚集，有一人被推倒受伤",
             place="铸造车间", people=50)
    assert line in paged.splitlines()


@pytest.mark.parametrize(("lang", "typed"), [
    ("en", "handled"), ("en", "Done"), ("en", "handling finished"), ("zh", "处置"),
    ("zh", "处理完毕")])
def test_handled_typed_in_a_directors_own_words_asks_how_it_ended(
        services: Services, lang: str, typed: str) -> None:
    """'handled' typed for "Handling finished" (处置 for 处置完毕) is that action."""
    chats = opened(services, lang, "li_ming", "chen_lihua")
    report(chats["li_ming"], lang)
    director = chats["chen_lihua"]
    open_menu(director, lang)
    director.press(t(lang, "menu.incident_action"))
    director.say("1")
    director.say(typed)
    assert t(lang, "incident_action.outcome.ask") in director.text, director.text


@pytest.mark.parametrize("lang", LANGS)
def test_follow_an_emergency_offers_what_can_still_be_done(services: Services,
                                                           lang: str) -> None:
    """The first report sent in time, "Send the 1-hour first report" was still offered
    (and refused when chosen). Only what can still be done is offered, numbered as shown;
    the report typed is told it was sent, and a word two offered actions share is asked
    about, naming them."""
    chats = opened(services, lang, "li_ming", "chen_lihua")
    report(chats["li_ming"], lang)
    director = chats["chen_lihua"]
    director_does(director, lang, "first", *REPORT)
    open_menu(director, lang)
    director.press(t(lang, "menu.incident_action"))
    director.say("1")
    assert choices(director) == [t(lang, f"opt.incident_action.{a}")
                                 for a in ("opinion", "city", "handled")]
    director.say("report" if lang == "en" else "报送")  # the opinion report: the one offered
    assert t(lang, "incident_action.involved.ask") in director.text, director.text
    director.press(t(lang, "nav.back"))
    director.say("first" if lang == "en" else "首报")
    assert director.replies[0].text == t(lang, "incident_action.already",
                                         report=t(lang, "report.kind.first"),
                                         number="E-2026-0001")
    director.say("3")  # the third as shown: handled
    assert t(lang, "incident_action.outcome.ask") in director.text, director.text
    director.say("财务科当场公布核算结果，职工返岗")
    director.press(t(lang, "nav.confirm"))
    open_menu(director, lang)
    director.press(t(lang, "menu.incident_action"))
    director.say("1")
    assert choices(director) == [t(lang, f"opt.incident_action.{a}")
                                 for a in ("opinion", "city", "closing")]
    director.say("send" if lang == "en" else "报送")
    sep = t(lang, "list.sep")
    assert director.replies[0].text == t(
        lang, "invalid.choice_which", typed="send" if lang == "en" else "报送",
        options=sep.join(f"{i}. {t(lang, f'opt.incident_action.{a}')}"
                         for i, a in ((1, "opinion"), (3, "closing"))))


def test_a_liaisons_measures_and_suggestion_added_to_an_emergency_are_kept_and_read(
        services: Services, clock: FrozenClock) -> None:
    """The liaison's report goes to the emergency already open in his workshop: what he
    says was done and what he suggests are kept with it, told to the leaders alerted, and
    read by those the chain pages after."""
    from store.models import IncidentLink

    chats = opened(services, "zh", *PEOPLE, "wang_qiang")
    t0 = clock.now()
    li = chats["li_ming"]
    li.press(t("zh", "menu.emergency"))
    li.say("铸造车间有人聚集")
    li.say("铸造车间")
    li.press(t("zh", "nav.send_now"))
    wang = chats["wang_qiang"]
    wang.press(t("zh", "menu.emergency"))
    for said in ("两个班组约50人停工聚集", "铸造车间", "50", "车间主任在现场劝说",
                 "请公司领导尽快到场"):
        wang.say(said)
    assert t("zh", "review.title") in wang.text or "E-2026-0001" in wang.text
    if t("zh", "review.title") in wang.text:
        wang.press(t("zh", "nav.confirm"))
    [link] = all_rows(services, IncidentLink)
    assert (link.measures, link.suggestion) == ("车间主任在现场劝说", "请公司领导尽快到场")
    services.dispatcher.drain()
    [more] = [p for p in pushes(services, "chen_lihua") if p.startswith("【紧急·补充】")]
    assert "已采取措施：车间主任在现场劝说" in more and "建议：请公司领导尽快到场" in more
    tick(services, clock, t0 + timedelta(minutes=5), step=timedelta(minutes=1))
    [paged] = [p for p in pushes(services, "zhao_guoqiang") if "E-2026-0001" in p]
    assert "已采取措施：车间主任在现场劝说；建议：请公司领导尽快到场" in paged


@pytest.mark.parametrize("lang", LANGS)
def test_the_city_union_is_told_within_24_hours_reminded_late_and_before_archiving(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """A group incident is reported to the city union within 24 hours (its line 12351),
    whatever went to the upper union: the director is reminded two hours before, told when
    it is late, cannot archive the papers before recording it, and records how it went
    and who took it."""
    services = db_services
    chats = opened(services, lang, "li_ming", "chen_lihua", "qian_wenjing")
    t0 = clock.now()
    report(chats["li_ming"], lang)
    director = chats["chen_lihua"]
    clock.set(t0 + timedelta(minutes=20))
    director_does(director, lang, "first", *REPORT)
    director_does(director, lang, "opinion", *REPORT)

    def note(key: str) -> str:
        return t(lang, key, number="E-2026-0001", report=t(lang, "report.kind.city"),
                 due_at="2026-11-24 09:00")

    tick(services, clock, t0 + timedelta(hours=21, minutes=59), step=timedelta(hours=1))
    assert note("notice.report_due") not in pushes(services, "chen_lihua")
    tick(services, clock, t0 + timedelta(hours=22))
    assert pushes(services, "chen_lihua").count(note("notice.report_due")) == 1
    with Session(services.db) as s:  # the reminder's button, as the director's inbox shows it
        [due_push] = [Button(b["label"], b["value"]) for m in s.exec(select(InboxMessage).where(
            InboxMessage.address == "p:chen_lihua")).all() for b in m.buttons
            if b["label"] == t(lang, "opt.incident_action.city")]
    tick(services, clock, t0 + timedelta(hours=24))
    assert pushes(services, "chen_lihua").count(note("notice.report_late")) == 1

    # Handled and closed, the papers cannot be archived before the city union's report.
    clock.set(t0 + timedelta(hours=24, minutes=10))
    director_does(director, lang, "handled", "财务科当场公布核算结果，职工返岗")
    director_does(director, lang, "closing", *REPORT)
    said = director_does(director, lang, "archive", confirm=False, typed=True)
    assert t(lang, "incident_action.closing_first", number="E-2026-0001",
             report=t(lang, "report.kind.city")) in said
    director.press(t(lang, "nav.cancel"))

    # Recorded late, in writing, from the reminder's own button.
    clock.set(t0 + timedelta(hours=25))
    director.replies = [Reply("", [due_push])]
    director.press(due_push.label)
    director.say(t(lang, "opt.city_how.written"))
    director.say("市总工会法律工作部")
    director.press(t(lang, "nav.confirm"))
    assert t(lang, "incident_action.done.late", report=t(lang, "report.kind.city"),
             number="E-2026-0001", due="11-24 09:00") in director.text
    said = director_does(director, lang, "archive", "工作室档案柜 2026-E 卷")
    assert t(lang, "report.kind.archive") in said
    city = {r.kind: r for r in all_rows(services, IncidentReport)}["city"]
    assert (city.late, city.content) == (True, {"how": "written", "taken_by": "市总工会法律工作部"})
    # Nothing went to the upper union's contact for it: it is told by phone or in writing.
    city_report = t(lang, "report.kind.city").lower()  # in a sentence, or as a tag
    assert not [p for p in pushes(services, "qian_wenjing") if city_report in p.lower()]


@pytest.mark.parametrize("lang", LANGS)
def test_nothing_said_is_an_answer_to_a_question_that_must_be_answered(
        services: Services, lang: str) -> None:
    """At 3 a.m. there are no measures yet and no suggestion: "没有", "无" (none) are the
    answers, not a skip refused with "这一项必须填写"."""
    chats = opened(services, lang, "li_ming", "chen_lihua")
    report(chats["li_ming"], lang)
    none = ("没有", "无") if lang == "zh" else ("none", "none")
    said = director_does(chats["chen_lihua"], lang, "first", *REPORT[:2], *none)
    assert t(lang, "invalid.not_optional") not in said
    assert t(lang, "incident_action.done.in_time", report=t(lang, "report.kind.first"),
             number="E-2026-0001", due="11-23 10:00") in said
    first = {r.kind: r for r in all_rows(services, IncidentReport)}["first"]
    assert (first.content["measures"], first.content["suggestions"]) == none


@pytest.mark.parametrize("lang", LANGS)
def test_a_form_an_old_push_opened_and_left_gives_way_to_the_next_push(
        services: Services, lang: str) -> None:
    """The first report sent, the director taps the old reminder's 报送1小时首报: told it
    went, and asked what else. She leaves it; later she taps 处置完毕 on another push. It
    was refused ("finish or cancel the form first") though that form held nothing of hers:
    now the handling is asked."""
    chats = opened(services, lang, "li_ming", "chen_lihua")
    report(chats["li_ming"], lang)
    director = chats["chen_lihua"]
    director_does(director, lang, "first", *REPORT)
    [incident] = all_rows(services, Incident)
    director.replies = [Reply("", [Button(
        t(lang, "opt.incident_action.first"),
        f"flow:incident_action?incident={incident.id}&action=first")])]
    director.press(t(lang, "opt.incident_action.first"))
    assert t(lang, "incident_action.already", report=t(lang, "report.kind.first"),
             number="E-2026-0001") in director.text
    handled_button(director, lang, incident)
    director.press(t(lang, "opt.incident_action.handled"))
    assert t(lang, "button.busy") not in director.text
    assert t(lang, "incident_action.outcome.ask") in director.text


def test_nothing_said_answers_only_the_questions_that_take_it(services: Services) -> None:
    """无 answers 已采取措施 / 意见建议, nowhere else: a handler's note of "无" on a case is
    still asked for again, not recorded and pushed."""
    from tests.case_helpers import case_action, file_complaint

    li, zhao = Chat(services, person="li_ming"), Chat(services, person="zhao_guoqiang")
    file_complaint(li, "zh")
    said = case_action(zhao, "zh", "C-2026-0001", "note", "无", confirm=False)
    assert t("zh", "invalid.not_optional") in said
