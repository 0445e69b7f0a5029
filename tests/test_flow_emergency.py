"""紧急情况报告 / Report an emergency: send now, alerts, the workshop variant, 收到."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from conversations.engine import Reply
from handlers.inbound import Inbound
from store import outbox
from store.models import (
    Acknowledgement,
    Alert,
    ChainStep,
    DutyEntry,
    Incident,
    Notification,
    Person,
    Workshop,
)
from tests.transcript import LANGS, SKIP, Chat, all_rows, draft, open_menu, person, t

TODAY = date(2026, 11, 23)
WHAT = "二十多人聚集在厂门口要求发工资"
PLACE = "厂门口"
STEPS = ["what", "place", "people", "measures", "suggestion"]






def start(chat: Chat, lang: str) -> None:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.emergency"))
    assert t(lang, "emergency.intro") in chat.text
    assert t(lang, "flow.progress", n=1, total=5) + " " + t(lang, "emergency.what.ask") \
        in chat.text






def duty_leader_today(services: Services) -> Person:
    with Session(services.db) as s:
        entry = s.exec(select(DutyEntry).where(DutyEntry.day == TODAY)).one()
        leader = s.get(Person, entry.leader_id)
    assert leader is not None
    return leader


def alerted_names(services: Services, lang: str) -> str:
    """Who the reporter is told was alerted: the director, then today's duty leader."""
    leaders = (person(services, "chen_lihua"), duty_leader_today(services))
    if lang == "zh":
        return "、".join(f"{p.name}（{p.post}）" for p in leaders)
    return ", ".join(f"{p.name} ({p.post})" for p in leaders)




def report(chat: Chat, lang: str = "zh") -> None:
    """The shortest report: what, where, send now."""
    start(chat, lang)
    chat.say(WHAT)
    chat.say(PLACE)
    chat.press(t(lang, "nav.send_now"))


def alerts_of(services: Services, incident: Incident) -> list[Alert]:
    return all_rows(services, Alert, Alert.subject == "incident",
                    Alert.subject_id == incident.id)


def show_inbox(chat: Chat) -> None:
    """Put the pushes in the chat's inbox where `press` finds their buttons."""
    chat.replies = [Reply.from_dict({"text": m.text, "buttons": m.buttons})
                    for m in chat.inbox()]


def ack(services: Services, who: str, alert_id: int) -> str:
    """Send a 收到 as `who` straight through the pipeline; return the answer to it."""
    replies = services.workroom.process(Inbound("console", f"p:{who}", f"ack-{who}-{alert_id}",
                                                action=f"ack:{alert_id}"))
    return replies[0].text  # then comes the menu (or the question of an open form)


# --- send now --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_send_now_is_offered_only_after_the_first_two_answers(chat: Chat, lang: str) -> None:
    send_now = t(lang, "nav.send_now")
    start(chat, lang)
    assert send_now not in chat.labels()
    chat.say(WHAT)
    assert t(lang, "emergency.place.ask") in chat.text
    assert send_now not in chat.labels()
    chat.say(PLACE)
    assert t(lang, "emergency.people.ask") in chat.text
    assert send_now in chat.labels()
    chat.say("30")
    assert t(lang, "emergency.measures.ask") in chat.text
    assert send_now in chat.labels()
    chat.press(t(lang, "nav.skip"))
    assert t(lang, "emergency.suggestion.ask") in chat.text
    assert send_now in chat.labels()


@pytest.mark.parametrize("lang", LANGS)
def test_send_now_after_two_answers_alerts_the_director_and_todays_duty_leader(
        services: Services, chat: Chat, lang: str) -> None:
    report(chat, lang)

    [incident] = all_rows(services, Incident)
    assert re.fullmatch(r"E-\d{4}-\d{4}", incident.number)
    assert (incident.number, incident.what, incident.place) == ("E-2026-0001", WHAT, PLACE)
    assert (incident.people, incident.measures, incident.suggestion) == (None, None, None)
    assert (incident.reporter_id, incident.reporter_role, incident.workshop_id) == (
        person(services, "li_ming").id, "employee", None)
    assert (incident.status, incident.channel) == ("open", "console")

    director, duty = person(services, "chen_lihua"), duty_leader_today(services)
    alerts = alerts_of(services, incident)
    assert [a.recipient_id for a in alerts] == [director.id, duty.id]
    for alert in alerts:
        [push] = all_rows(services, Notification, Notification.alert_id == alert.id)
        assert (push.recipient_id, push.message_key, push.priority) == (
            alert.recipient_id, "notice.incident", outbox.EMERGENCY)
        assert (push.params["what"], push.params["place"]) == (WHAT, PLACE)

    assert t(lang, "emergency.done", number="E-2026-0001",
             alerted=alerted_names(services, lang)) in chat.text
    assert t(lang, "menu.prompt") in chat.text
    assert draft(services, chat)["flow"] is None


@pytest.mark.parametrize(("lang", "people", "count"), [
    ("zh", "二十多人", 20), ("zh", "二三十个", 30), ("en", "twenty or so", 20),
    ("en", "20-30", 30)])
def test_how_many_people_may_be_a_rough_count(services: Services, chat: Chat, lang: str,
                                              people: str, count: int) -> None:
    """The help says an estimate is fine: said as people say it in a hurry, it is taken
    (a range at its higher end), not refused for not being a number."""
    start(chat, lang)
    for answer in (WHAT, PLACE, people):
        chat.say(answer)
    assert t(lang, "emergency.measures.ask") in chat.text
    chat.press(t(lang, "nav.send_now"))
    [incident] = all_rows(services, Incident)
    assert incident.people == count


@pytest.mark.parametrize(("lang", "people"), [("zh", "约二十五人"), ("en", "about 25")])
def test_a_full_report_is_five_questions_and_is_sent_after_the_last(
        services: Services, chat: Chat, lang: str, people: str) -> None:
    start(chat, lang)
    answers = [WHAT, PLACE, people, "车间主任已到场劝导", "请财务部门到场说明"]
    for n, answer in enumerate(answers, start=1):
        assert t(lang, "flow.progress", n=n, total=5) + " " \
            + t(lang, f"emergency.{STEPS[n - 1]}.ask") in chat.text
        chat.say(answer)

    assert t(lang, "review.title") not in chat.text  # no review: sent at once
    [incident] = all_rows(services, Incident)
    assert (incident.what, incident.place, incident.people, incident.measures,
            incident.suggestion) == (WHAT, PLACE, 25, "车间主任已到场劝导", "请财务部门到场说明")
    assert t(lang, "emergency.done", number="E-2026-0001",
             alerted=alerted_names(services, lang)) in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_optional_questions_can_be_skipped(services: Services, chat: Chat, lang: str) -> None:
    start(chat, lang)
    chat.say(WHAT)
    chat.say(PLACE)
    for _ in range(3):
        chat.press(t(lang, "nav.skip"))
    [incident] = all_rows(services, Incident)
    assert (incident.people, incident.measures, incident.suggestion) == (None, None, None)


# --- wrong answers, back, cancel -------------------------------------------------------

WRONG = [
    ("what", "   ", "invalid.empty", {}),
    ("what", "火", "invalid.too_short", {"min": 2, "got": 1}),
    ("what", "火" * 501, "invalid.too_long", {"max": 500, "got": 501}),
    ("what", SKIP, "invalid.not_optional", {}),
    ("what", "🔥🔥🔥", "invalid.no_words", {}),
    ("what", "？？！！。。", "invalid.no_words", {}),
    ("place", "门", "invalid.too_short", {"min": 2, "got": 1}),
    ("place", "门" * 201, "invalid.too_long", {"max": 200, "got": 201}),
    ("place", SKIP, "invalid.not_optional", {}),
    ("people", "很多", "invalid.number", {}),
    ("people", "0", "invalid.number_range", {"min": 1, "max": 100000}),
    ("measures", "无" * 501, "invalid.too_long", {"max": 500, "got": 501}),
    ("suggestion", "好", "invalid.too_short", {"min": 2, "got": 1}),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("step", "bad", "key", "params"), WRONG,
                         ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_wrong_answer_is_refused_with_its_reason_and_changes_nothing(
        services: Services, chat: Chat, lang: str, step: str, bad: str, key: str,
        params: dict[str, Any]) -> None:
    start(chat, lang)
    for answer in [WHAT, PLACE, "30", "车间主任已到场"][:STEPS.index(step)]:
        chat.say(answer)
    kept = draft(services, chat)
    assert kept["step"] == step

    chat.say(t(lang, "nav.skip") if bad == SKIP else bad)

    assert chat.replies[0].text == t(lang, key, **params)
    assert t(lang, f"emergency.{step}.ask") in chat.replies[-1].text
    assert draft(services, chat) == kept
    assert all_rows(services, Incident) == []


@pytest.mark.parametrize("lang", LANGS)
def test_send_now_typed_too_early_is_not_taken_as_an_answer(services: Services, chat: Chat,
                                                            lang: str) -> None:
    start(chat, lang)
    chat.say(t(lang, "nav.send_now"))
    assert draft(services, chat)["answers"] == {}
    assert draft(services, chat)["step"] == "what"


@pytest.mark.parametrize("lang", LANGS)
def test_back_reasks_earlier_answers(services: Services, chat: Chat, lang: str) -> None:
    start(chat, lang)
    chat.say("有人在车间打架")
    chat.press(t(lang, "nav.back"))
    assert t(lang, "emergency.what.ask") in chat.text
    chat.say(WHAT)
    chat.say("铸造车间门口")
    assert t(lang, "nav.send_now") in chat.labels()
    chat.press(t(lang, "nav.back"))  # at "people": back to the place
    assert t(lang, "flow.progress", n=2, total=5) + " " + t(lang, "emergency.place.ask") \
        in chat.text
    assert t(lang, "nav.send_now") not in chat.labels()  # the place is needed again
    chat.say(PLACE)
    chat.press(t(lang, "nav.send_now"))
    [incident] = all_rows(services, Incident)
    assert (incident.what, incident.place) == (WHAT, PLACE)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("answered", [0, 2, 4], ids=["what", "people", "suggestion"])
def test_cancel_at_any_step_reports_nothing(services: Services, chat: Chat, lang: str,
                                            answered: int) -> None:
    start(chat, lang)
    for answer in [WHAT, PLACE, "30", "车间主任已到场"][:answered]:
        chat.say(answer)
    chat.press(t(lang, "nav.cancel"))
    assert t(lang, "flow.cancelled") in chat.text
    for model in (Incident, Alert, Notification):
        assert all_rows(services, model) == [], model.__name__


# --- the liaison's own workshop --------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_liaison_reports_for_their_workshop_without_being_asked_where(
        services: Services, lang: str) -> None:
    liaison = Chat(services, person="wang_qiang")
    open_menu(liaison, lang)
    liaison.press(t(lang, "menu.emergency_workshop"))
    assert t(lang, "flow.progress", n=1, total=4) + " " + t(lang, "emergency.what.ask") \
        in liaison.text
    liaison.say("浇注时有人烫伤")
    assert t(lang, "flow.progress", n=2, total=4) + " " + t(lang, "emergency.people.ask") \
        in liaison.text
    assert t(lang, "nav.send_now") in liaison.labels()
    liaison.press(t(lang, "nav.send_now"))

    [incident] = all_rows(services, Incident)
    [casting] = all_rows(services, Workshop, Workshop.key == "casting")
    assert (incident.what, incident.place, incident.workshop_id) == (
        "浇注时有人烫伤", casting.name, casting.id)
    assert (incident.reporter_id, incident.reporter_role) == (
        person(services, "wang_qiang").id, "liaison")
    assert len(alerts_of(services, incident)) == 2
    assert t(lang, "emergency.place.ask") not in liaison.text


# --- where: the place the report's words named, one tap ----------------------------------

NAMED = {"zh": ("铸造车间门口有二十多人聚集，说是工资没发", "铸造车间门口"),
         "en": ("About twenty people gathered outside the casting shop", "铸造车间")}


@pytest.mark.parametrize("lang", LANGS)
def test_the_place_the_words_named_is_offered_where_it_asks_where(
        services: Services, chat: Chat, lang: str) -> None:
    """A worker who said where in what happened ("铸造车间门口有二十多人聚集") is asked
    where with that place on a button: one tap answers it, as it was said, and the report
    is the casting workshop's."""
    what, place = NAMED[lang]
    start(chat, lang)
    chat.say(what)
    assert t(lang, "emergency.place.ask") in chat.text
    assert chat.labels()[0] == place
    chat.press(place)
    assert t(lang, "emergency.people.ask") in chat.text
    assert draft(services, chat)["answers"]["place"] == place
    chat.press(t(lang, "nav.send_now"))

    [incident] = all_rows(services, Incident)
    [casting] = all_rows(services, Workshop, Workshop.key == "casting")
    assert (incident.what, incident.place, incident.workshop_id) == (what, place, casting.id)


@pytest.mark.parametrize("lang", LANGS)
def test_no_place_is_offered_when_the_words_name_no_workshop(chat: Chat, lang: str) -> None:
    start(chat, lang)
    chat.say(WHAT)  # 厂门口: a place, but no workshop's
    assert t(lang, "emergency.place.ask") in chat.text
    assert chat.labels() == [t(lang, "nav.back"), t(lang, "nav.cancel"), t(lang, "nav.help")]


@pytest.mark.parametrize("lang", LANGS)
def test_the_place_button_pressed_again_later_changes_nothing(
        services: Services, chat: Chat, lang: str) -> None:
    """Pressed twice (a shaky bus), or after another place was typed: the question asked
    now is not answered by it, and the answer given stays."""
    what, place = NAMED[lang]
    start(chat, lang)
    chat.say(what)
    button = chat.button(place)
    chat.say("铸造车间东侧的空地")  # typed instead
    assert t(lang, "emergency.people.ask") in chat.text
    chat._send(Inbound("console", chat.address, "again", action=button.value))
    assert t(lang, "button.stale") in chat.text
    assert t(lang, "emergency.people.ask") in chat.text
    answers = draft(services, chat)["answers"]
    assert (answers["place"], "people" in answers) == ("铸造车间东侧的空地", False)
    chat.press(t(lang, "nav.back"))  # asked where again: offered again
    assert t(lang, "emergency.place.ask") in chat.text
    assert place in chat.labels()


@pytest.mark.parametrize("lang", LANGS)
def test_help_where_it_asks_where_points_to_the_place_button(chat: Chat, lang: str) -> None:
    """Asking for help at 在哪里 with the place already on a button: the help says the
    button answers it, and the question comes back with the button under it."""
    what, place = NAMED[lang]
    start(chat, lang)
    chat.say(what)
    chat.press(t(lang, "nav.help"))
    assert t(lang, "emergency.place.help") in chat.text
    assert t(lang, "flow.place_said_help", place=place) in chat.text
    assert t(lang, "emergency.place.ask") in chat.text
    assert chat.labels()[0] == place


@pytest.mark.parametrize("lang", LANGS)
def test_help_where_no_place_was_named_says_nothing_of_a_button(chat: Chat, lang: str) -> None:
    start(chat, lang)
    chat.say(WHAT)  # 厂门口: no workshop's, no button
    chat.press(t(lang, "nav.help"))
    assert t(lang, "emergency.place.help") in chat.text
    assert t(lang, "flow.place_said_help", place="|").split("|")[0] not in chat.text


# --- 收到: acknowledging the alert -------------------------------------------------------


@pytest.fixture
def reported(services: Services, chat: Chat) -> tuple[Incident, dict[str, Alert]]:
    """An incident reported by li_ming; the leaders have used the console before."""
    for key in ("chen_lihua", "sun_hongmei"):
        Chat(services, person=key).say("菜单")
    report(chat)
    [incident] = all_rows(services, Incident)
    by_person = {}
    for alert in alerts_of(services, incident):
        with Session(services.db) as s:
            found = s.get(Person, alert.recipient_id)
        assert found is not None
        by_person[found.key] = alert
    assert set(by_person) == {"chen_lihua", "sun_hongmei"}
    services.dispatcher.drain()
    return incident, by_person


@pytest.mark.parametrize("lang", LANGS)
def test_duty_leader_acknowledges_from_the_inbox_and_the_reporter_is_told(
        services: Services, clock: FrozenClock, chat: Chat, lang: str) -> None:
    for key in ("chen_lihua", "sun_hongmei"):
        Chat(services, person=key).say("菜单")
    report(chat, lang)  # the reporter reads in this language
    services.dispatcher.drain()
    [incident] = all_rows(services, Incident)
    leader = Chat(services, person="sun_hongmei")
    [alert_push] = leader.inbox()
    assert alert_push.text.startswith("【紧急】E-2026-0001")
    assert f"情况：{WHAT}" in alert_push.text and "报告人：李明" in alert_push.text

    clock.advance(timedelta(minutes=5))
    show_inbox(leader)
    leader.press("收到")

    assert leader.replies[0].text == t("zh", "ack.done", at="09:05")
    sun_alert = next(a for a in alerts_of(services, incident)
                     if a.recipient_id == person(services, "sun_hongmei").id)
    [done] = all_rows(services, Acknowledgement)
    assert (done.alert_id, done.person_id, done.channel) == (
        sun_alert.id, person(services, "sun_hongmei").id, "console")
    assert done.at == clock.now()

    services.dispatcher.drain()
    told = [m.text for m in chat.inbox()]
    assert told == [t(lang, "notice.acknowledged", number="E-2026-0001", name="孙红梅",
                      acked_at="2026-11-23 09:05")]
    [notice] = all_rows(services, Notification,
                        Notification.message_key == "notice.acknowledged")
    assert notice.priority == outbox.EMERGENCY


def test_another_employee_or_leader_cannot_acknowledge(
        services: Services, reported: tuple[Incident, dict[str, Alert]]) -> None:
    _, alerts = reported
    alert_id = alerts["sun_hongmei"].id
    assert ack(services, "zhang_wei", alert_id) == t("zh", "ack.refused")
    assert ack(services, "zhao_guoqiang", alert_id) == t("zh", "ack.refused")
    assert ack(services, "wang_qiang", alert_id) == t("zh", "ack.refused")
    assert all_rows(services, Acknowledgement) == []


def test_director_may_acknowledge_for_a_leader_of_the_unit(
        services: Services, chat: Chat, reported: tuple[Incident, dict[str, Alert]]) -> None:
    _, alerts = reported
    alert_id = alerts["sun_hongmei"].id
    assert ack(services, "chen_lihua", alert_id) == t("zh", "ack.done", at="09:00")
    [done] = all_rows(services, Acknowledgement)
    assert (done.alert_id, done.person_id) == (alert_id, person(services, "chen_lihua").id)
    services.dispatcher.drain()
    assert [m.text for m in chat.inbox()] == [t("zh", "notice.acknowledged",
                                                number="E-2026-0001", name="陈丽华",
                                                acked_at="2026-11-23 09:00")]


def test_a_second_acknowledgement_says_who_already_did_it_and_when(
        services: Services, clock: FrozenClock,
        reported: tuple[Incident, dict[str, Alert]]) -> None:
    _, alerts = reported
    alert_id = alerts["sun_hongmei"].id
    clock.advance(timedelta(minutes=3))
    ack(services, "sun_hongmei", alert_id)
    clock.advance(timedelta(minutes=10))

    already = t("zh", "ack.already", name="孙红梅", at="09:03")
    assert ack(services, "chen_lihua", alert_id) == already
    # Her own press again is told it in the second person, not "acknowledged by 孙红梅".
    replies = services.workroom.process(Inbound("console", "p:sun_hongmei", "again",
                                                action=f"ack:{alert_id}"))
    assert replies[0].text == t("zh", "ack.already_own", at="09:03")
    assert len(all_rows(services, Acknowledgement)) == 1


def test_the_reporter_is_told_once_however_many_acknowledge(
        services: Services, chat: Chat, reported: tuple[Incident, dict[str, Alert]]) -> None:
    _, alerts = reported
    ack(services, "sun_hongmei", alerts["sun_hongmei"].id)
    ack(services, "chen_lihua", alerts["chen_lihua"].id)
    assert len(all_rows(services, Acknowledgement)) == 2
    services.dispatcher.drain()
    assert len(chat.inbox()) == 1


def test_unknown_alert_cannot_be_acknowledged(services: Services) -> None:
    assert ack(services, "sun_hongmei", 9999) == t("zh", "ack.unknown")


def test_alerts_to_acknowledge_lists_the_open_ones_with_a_button(
        services: Services, reported: tuple[Incident, dict[str, Alert]]) -> None:
    _, alerts = reported
    leader = Chat(services, person="sun_hongmei")
    leader.say("菜单")
    leader.press("待确认的提醒")
    assert t("zh", "query.my_alerts.title", count=1) in leader.text
    assert t("zh", "query.my_alerts.incident", number="E-2026-0001", at="11-23 09:00",
             what=WHAT, place=PLACE) in leader.text
    assert leader.button("收到").value == f"ack:{alerts['sun_hongmei'].id}"

    leader.press("收到")
    assert leader.replies[0].text == t("zh", "ack.done", at="09:00")
    leader.say("菜单")
    leader.press("待确认的提醒")
    assert t("zh", "query.my_alerts.none") in leader.text


def test_alerts_to_acknowledge_leave_the_list_once_the_emergency_is_handled(
        services: Services, reported: tuple[Incident, dict[str, Alert]]) -> None:
    """The director handled the emergency at the gate; 孙红梅 never pressed 收到. Her list
    of alerts waiting for her is not filled with emergencies that are over."""
    from tests.test_emergency_chain import director_does

    leader = Chat(services, person="sun_hongmei")
    leader.say("菜单")
    leader.press("待确认的提醒")
    assert t("zh", "query.my_alerts.title", count=1) in leader.text
    said = director_does(Chat(services, person="chen_lihua"), "zh", "handled",
                         "财务科当场公布核算结果，职工返岗")
    assert "E-2026-0001" in said
    [incident] = all_rows(services, Incident)
    assert incident.status == "handled"
    leader.say("菜单")
    leader.press("待确认的提醒")
    assert t("zh", "query.my_alerts.none") in leader.text


def test_acknowledging_in_the_middle_of_a_form_keeps_the_form(
        services: Services, reported: tuple[Incident, dict[str, Alert]]) -> None:
    _, alerts = reported
    leader = Chat(services, person="sun_hongmei")
    leader.say("菜单")
    leader.press("提建议")
    leader.press("工资福利")
    replies = services.workroom.process(Inbound("console", "p:sun_hongmei", "mid-form",
                                                action=f"ack:{alerts['sun_hongmei'].id}"))
    assert replies[0].text == t("zh", "ack.done", at="09:00")
    assert t("zh", "suggestion.text.ask") in replies[-1].text
    assert len(all_rows(services, Acknowledgement)) == 1


@pytest.mark.parametrize("typed", ["收到", "got it", "收到了", "好的，收到", "收到👍",
                                   "OK, got it!"])
def test_the_acknowledge_word_typed_in_the_middle_of_a_form_acknowledges_not_answers(
        services: Services, reported: tuple[Incident, dict[str, Alert]], typed: str) -> None:
    """孙红梅 is writing a suggestion when the emergency's alert comes; she types 收到
    rather than pressing it, as people type it ("好的，收到", "收到👍").
    The alert is acknowledged, said with what it is about, and
    the suggestion still waits for its text: 收到 is not what she suggests."""
    leader = Chat(services, person="sun_hongmei")
    leader.say("菜单")
    leader.press("提建议")
    leader.press("工资福利")
    leader.say(typed)
    assert leader.replies[0].text.splitlines()[1] == t("zh", "ack.done", at="09:00")
    assert "E-2026-0001" in leader.replies[0].text.splitlines()[0]
    assert t("zh", "suggestion.text.ask") in leader.replies[-1].text
    assert len(all_rows(services, Acknowledgement)) == 1
    leader.say(typed)  # nothing waits now: said so, and the question again
    assert leader.replies[0].text == t("zh", "query.my_alerts.none")
    assert t("zh", "suggestion.text.ask") in leader.replies[-1].text
    assert draft(services, leader)["answers"] == {"topic": "wages"}


def test_the_acknowledge_word_with_words_after_it_acknowledges_at_the_menu_only(
        services: Services, reported: tuple[Incident, dict[str, Alert]]) -> None:
    """At the menu a leader's "收到，马上到现场" acknowledges. In a form asking for words,
    "收到，已与车间主任沟通…" is her answer: the alert waits, her words are kept."""
    leader = Chat(services, person="sun_hongmei")
    leader.say("菜单")
    leader.press("提建议")
    leader.press("工资福利")
    words = "收到，已与车间主任沟通，下周一前答复您"
    leader.say(words)
    assert draft(services, leader)["answers"]["text"] == words
    assert all_rows(services, Acknowledgement) == []
    leader.say("取消")
    leader.say("收到，马上到现场")
    assert leader.replies[0].text.splitlines()[1] == t("zh", "ack.done", at="09:00")
    assert len(all_rows(services, Acknowledgement)) == 1


def test_an_emergency_alerts_active_directors_todays_duty_leader_and_the_chains_first_step(
        db_services: Services) -> None:
    """Who is alerted at once: every active director, the leader on duty today (not
    tomorrow's), and the active people of the chain's first step; nobody twice, nobody
    who has left (inactive), nobody of a later step."""
    services = db_services  # on SQLite and on PostgreSQL
    with Session(services.db) as s:
        unit_id = person(services, "chen_lihua").unit_id
        assert unit_id is not None

        def pid(key: str) -> int:
            found = s.exec(select(Person.id).where(Person.key == key)).one()
            assert found is not None
            return found

        gone = Person(key="former_director", name="钱前任", role="director", post="原主任",
                      unit_id=unit_id, active=False, created_at=services.clock.now())
        s.add(gone)
        s.add(ChainStep(unit_id=unit_id, position=1, person_id=pid("liu_fang"),
                        wait_minutes=5))
        s.add(ChainStep(unit_id=unit_id, position=1, person_id=pid("wang_qiang"),
                        wait_minutes=5))
        s.exec(select(Person).where(Person.key == "wang_qiang")).one().active = False
        s.commit()
    today = duty_leader_today(services)
    with Session(services.db) as s:
        later = s.exec(select(DutyEntry).where(DutyEntry.day > TODAY)
                       .order_by(col(DutyEntry.day))).first()
        assert later is not None and later.leader_id != today.id
    chat = Chat(services, person="li_ming")
    report(chat, "zh")
    expected = [person(services, "chen_lihua"), today, person(services, "liu_fang")]
    names = "、".join(f"{p.name}（{p.post}）" for p in expected)
    assert f"正在通知：{names}。" in chat.text
    [incident] = all_rows(services, Incident)
    assert [a.recipient_id for a in alerts_of(services, incident)] == [p.id for p in expected]


def test_alerts_waiting_say_who_has_the_emergency_already(
        services: Services, clock: FrozenClock,
        reported: tuple[Incident, dict[str, Alert]]) -> None:
    """孙红梅 has it; the director's list of alerts waiting says so beside it, so that
    she does not set out for an emergency someone is already on."""
    _, alerts = reported
    clock.advance(timedelta(minutes=20))
    ack(services, "sun_hongmei", alerts["sun_hongmei"].id)
    director = Chat(services, person="chen_lihua")
    director.say("菜单")
    director.press("待确认的提醒")
    assert t("zh", "query.my_alerts.taken", name="孙红梅", at="09:20") in director.text
