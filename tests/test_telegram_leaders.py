"""An emergency as the leaders and the union staff live it on Telegram: who the chain
alerts as it moves on, a leader pressing 收到 after the incident was handled, an alert's
edit that Telegram has already taken, and what the reporter's /status shows afterwards.
Through the webhook, over real HTTP against the fake Bot API, on SQLite and on
PostgreSQL; the chain is driven by the tests' frozen clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, select

import tests.test_telegram as webhook
import tests.test_telegram_media as media_tests
from bot.bootstrap import Services
from conversations.catalog import t
from handlers.inbound import Inbound
from store.db import transaction
from store.models import Acknowledgement, Alert, Incident, Notification, Person
from tests.case_helpers import pushes, tick
from tests.fakes.telegram_api import FakeBotApi
from tests.test_telegram import TgChat, run
from tests.test_telegram_flows import SAID, one
from tests.transcript import all_rows, person

fake = webhook.fake
tg = media_tests.tg  # on SQLite and on PostgreSQL
client = webhook.client
# The Telegram ids store/demo/org.yaml gives 陈丽华 (director), 赵国强, 孙红梅 (on duty).
DIRECTOR, ZHAO, SUN = 900000001, 900000002, 900000003
LANGS = pytest.mark.parametrize(("lang", "code"), [("zh", "zh-hans"), ("en", "en")],
                                ids=["zh", "en"])


def alert_head(lang: str) -> str:
    """The first line of the emergency's alert, as a leader reading `lang` sees it."""
    return t(lang, "notice.incident", number="E-2026-0001", what="", place="", people="",
             measures="", suggestion="", reporter="", reported_at="").splitlines()[0]


def is_alert(text: str, head: str) -> bool:
    """An emergency's alert: its first line, or its second under a chain step's 【升级】."""
    return head in text.splitlines()[:2]


async def leaders(client: httpx.AsyncClient, fake: FakeBotApi, *chat_ids: int
                  ) -> dict[int, TgChat]:
    """Leaders open the bot from the Telegram ids the org file lists for them."""
    chats = {cid: TgChat(client, fake, cid) for cid in chat_ids}
    for chat in chats.values():
        await chat.say("/start")
        chat.new_texts()
    return chats


async def report(client: httpx.AsyncClient, fake: FakeBotApi, chat_id: int,
                 lang: str = "zh", code: str = "zh-hans") -> TgChat:
    """A worker reports an emergency: what, where, send now."""
    worker = TgChat(client, fake, chat_id, code)
    said = SAID[lang]
    await run(worker, [(t(lang, "menu.emergency"), t(lang, "emergency.what.ask")),
                       (said["what"], t(lang, "emergency.place.ask")),
                       (said["place"], t(lang, "emergency.people.ask")),
                       (f"[{t(lang, 'nav.send_now')}]", "E-2026-0001")])
    return worker


def set_person(svc: Services, key: str, **values: object) -> None:
    with transaction(svc.db) as s:
        found = s.exec(select(Person).where(Person.key == key)).one()
        for name, value in values.items():
            setattr(found, name, value)
        s.add(found)


async def test_a_leader_who_has_left_is_not_alerted_when_the_chain_moves_on(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """赵国强 has left the workroom (inactive): the chain's second step alerts the others
    of it, not him; nor does the chain's next round alert a duty leader who has left."""
    chats = await leaders(client, fake, DIRECTOR, ZHAO, SUN)
    set_person(tg, "zhao_guoqiang", active=False)
    await report(client, fake, 7601)
    await asyncio.to_thread(tg.dispatcher.drain)
    t0 = tg.clock.now()
    head = alert_head("zh")
    assert [sum(is_alert(x, head) for x in chats[c].new_texts())
            for c in (DIRECTOR, ZHAO, SUN)] == [1, 0, 1]

    await asyncio.to_thread(tick, tg, tg.clock, t0 + timedelta(minutes=5),
                            timedelta(minutes=1))
    # Step 2: the staff's 刘芳, not 赵国强; nor 孙红梅, paged in step 1 as the duty
    # leader (once a round).
    texts = {c: chats[c].new_texts() for c in (DIRECTOR, ZHAO, SUN)}
    assert [sum(is_alert(x, head) for x in texts[c]) for c in (DIRECTOR, ZHAO, SUN)] \
        == [0, 0, 0]
    [to_liu] = [x for x in pushes(tg, "liu_fang") if is_alert(x, head)]
    assert to_liu.startswith(t("zh", "notice.escalated", names="陈丽华、孙红梅", minutes=5)
                             + "\n")
    [incident] = all_rows(tg, Incident)
    alerted = {a.recipient_id for a in all_rows(tg, Alert, Alert.subject_id == incident.id)}
    assert person(tg, "zhao_guoqiang").id not in alerted

    # 孙红梅, today's duty leader, leaves too: the chain's second round alerts the director.
    set_person(tg, "sun_hongmei", active=False)
    await asyncio.to_thread(tick, tg, tg.clock, t0 + timedelta(minutes=45),
                            timedelta(minutes=1))
    assert [sum(is_alert(x, head) for x in chats[c].new_texts())
            for c in (DIRECTOR, ZHAO, SUN)] == [1, 0, 0]


@LANGS
async def test_the_reporters_status_shows_the_emergency_and_who_acknowledged_it(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The worker who reported an emergency types /status: the report is there, with
    whether a leader has it yet, and after 孙红梅 presses 收到, who and when."""
    chats = await leaders(client, fake, DIRECTOR, SUN)
    worker = await report(client, fake, 7602, lang, code)
    await asyncio.to_thread(tg.dispatcher.drain)
    line = t(lang, "query.my_cases.incident", number="E-2026-0001", what=SAID[lang]["what"],
             status=t(lang, "incident.status.open"), acked="{acked}")

    assert await worker.say("/status") == [one(
        t(lang, "query.my_cases.title") + "\n"
        + line.format(acked=t(lang, "query.my_cases.not_acked")), t(lang, "menu.prompt"))]

    tg.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
    await chats[SUN].press("收到")
    await asyncio.to_thread(tg.dispatcher.drain)
    worker.new_texts()
    assert await worker.say("/status") == [one(
        t(lang, "query.my_cases.title") + "\n"
        + line.format(acked=t(lang, "query.my_cases.acked", name="孙红梅", at="11-23 09:03")),
        t(lang, "menu.prompt"))]


async def test_an_alerts_edit_sent_again_is_taken_as_done_and_alarms_nobody(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """孙红梅 presses 收到 and her alert is edited; the process that sent the edit dies
    before recording it, so the outbox sends it again. Telegram answers that the message
    is already so ("message is not modified"): the edit is done, not retried for ever,
    and the director and staff get no "delivery failed" alarm about an alert that was
    delivered and acknowledged."""
    fake.strict_edits = True  # edits answer as Telegram's do
    chats = await leaders(client, fake, DIRECTOR, SUN)
    await report(client, fake, 7603)
    await asyncio.to_thread(tg.dispatcher.drain)
    await chats[SUN].press("收到")
    [shown] = [c for c in fake.sent_messages(SUN) if c.text.startswith(alert_head("zh"))]
    edited = fake.get_message(SUN, shown.result["message_id"])
    assert edited is not None and "✅ 孙红梅 已于 2026-11-23 09:00 确认收到" in edited["text"]
    # The line asking for the press went with the button.
    assert shown.text.endswith("\n请点“收到”确认。") and "请点" not in edited["text"]
    with transaction(tg.db) as s:  # as if the sending process died before recording it
        [edit] = s.exec(select(Notification).where(
            Notification.message_key == "notice.alert_acked")).all()
        edit.status, edit.delivered_channel, edit.sent_at = "pending", None, None
        s.add(edit)

    await asyncio.to_thread(tick, tg, tg.clock, tg.clock.now() + timedelta(hours=1),
                            timedelta(minutes=1))

    [edit] = all_rows(tg, Notification, Notification.message_key == "notice.alert_acked")
    assert edit.status == "sent"
    assert all_rows(tg, Notification, col(Notification.message_key).startswith(
        "notice.delivery_")) == []
    assert fake.get_message(SUN, shown.result["message_id"]) == edited


async def press_starting(chat: TgChat, prefix: str) -> list[str]:
    """Press the latest inline button whose label starts with `prefix`."""
    for call in reversed(chat.fake.sent_messages(chat.chat_id)):
        for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"].startswith(prefix):
                    return await chat.press(button["text"])
    raise AssertionError(f"no inline button {prefix!r} in chat {chat.chat_id}")


@LANGS
async def test_a_leader_acknowledging_after_the_handling_does_not_tell_the_worker_it_is_handled_now(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The director went to the gate and marked the emergency handled without pressing
    收到. 孙红梅 presses 收到 on her alert afterwards: her acknowledgement is recorded, but
    the worker is not told a leader "has received it and is handling it" now."""
    chats = await leaders(client, fake, DIRECTOR, SUN)
    worker = await report(client, fake, 7604, lang, code)
    await asyncio.to_thread(tg.dispatcher.drain)
    director = chats[DIRECTOR]
    director.new_texts()
    tg.clock.advance(timedelta(minutes=40))  # type: ignore[attr-defined]
    await director.say(t("zh", "menu.incident_action"))
    await press_starting(director, "E-2026-0001")
    await director.press(t("zh", "opt.incident_action.handled"))
    await director.say("财务科当场公布核算结果，职工返岗")
    [done] = await director.press(t("zh", "nav.confirm"))
    assert done.startswith(t("zh", "incident_action.done.handled", number="E-2026-0001",
                             due="10:10"))
    worker.new_texts()

    # 孙红梅, alerted and silent, is told it is over: she need not set out for it.
    await asyncio.to_thread(tg.dispatcher.drain)
    assert t("zh", "notice.incident_handled_leader", number="E-2026-0001", name="陈丽华",
             handled_at="2026-11-23 09:40", outcome="财务科当场公布核算结果，职工返岗") \
        in chats[SUN].new_texts()
    tg.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    [acked] = await chats[SUN].press("收到")
    assert acked.startswith(t("zh", "ack.done_handled", at="09:45", number="E-2026-0001",
                              handled_at="09:40", outcome="财务科当场公布核算结果，职工返岗"))
    await asyncio.to_thread(tg.dispatcher.drain)
    assert worker.new_texts() == []
    [incident] = all_rows(tg, Incident)
    assert incident.status == "handled"
    # Nor is the director's alert edited to say she "is on it".
    assert not any("正在处理" in c.text or "is on it" in c.text
                   for c in fake.calls_to("editMessageText"))


@pytest.mark.parametrize("gone", ["deleted", "blocked"])
async def test_an_alert_acknowledged_elsewhere_whose_message_is_gone_alarms_nobody(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, gone: str) -> None:
    """孙红梅 deleted the alert from her Telegram chat (or then blocked the bot); the
    director acknowledges it for her at the web console. The edit that would show it on
    her alert has nothing to edit: it is done, not retried for hours and then told to the
    director and staff as a "delivery failed" about an alert that was acknowledged."""
    fake.strict_edits = True  # edits answer as Telegram's do
    await leaders(client, fake, DIRECTOR, SUN)
    await report(client, fake, 7604)
    await asyncio.to_thread(tg.dispatcher.drain)
    [shown] = [c for c in fake.sent_messages(SUN) if c.text.startswith(alert_head("zh"))]
    if gone == "deleted":
        fake.user_deletes(SUN, shown.result["message_id"])
    else:
        fake.block(SUN)
    with transaction(tg.db) as s:
        sun_alert = s.exec(select(Alert).where(
            Alert.recipient_id == person(tg, "sun_hongmei").id)).one()
    tg.workroom.process(Inbound("console", "p:chen_lihua", "console-ack-1",
                                action=f"ack:{sun_alert.id}"))
    await asyncio.to_thread(tick, tg, tg.clock, tg.clock.now() + timedelta(hours=3),
                            timedelta(minutes=5))
    [edit] = all_rows(tg, Notification, Notification.message_key == "notice.alert_acked")
    assert edit.status == "sent"
    assert all_rows(tg, Notification, col(Notification.message_key).startswith(
        "notice.delivery_")) == []
    assert not any("[DELIVERY FAILED]" in p or "未能送达" in p for p in pushes(tg, "liu_fang"))



@LANGS
def test_an_acknowledged_alert_no_longer_asks_for_the_press(lang: str, code: str) -> None:
    """Every kind of alert asks for the press while its button is there, and not once it
    was pressed and the button is gone."""
    from zoneinfo import ZoneInfo

    from handlers.notices import render

    zone = ZoneInfo("Asia/Shanghai")
    params = {"number": "C-2026-0001", "category": "wages", "by": "刘芳", "reason": "r",
              "due_on": "2026-12-01"}
    shown = render("notice.case_reassigned", params, lang, zone, alert_id=7)
    assert shown.text.endswith("\n" + t(lang, "nav.ack_prompt"))
    assert [b.value for b in shown.buttons] == ["ack:7"]
    acked = render("notice.alert_acked", {
        "original": "notice.case_reassigned", "original_params": params, "name": "孙红梅",
        "acked_at": "2026-11-23T01:00:00+00:00"}, lang, zone)
    assert t(lang, "nav.ack_prompt") not in acked.text and acked.buttons == []
    assert acked.text.endswith(t(lang, "notice.alert_acked", name="孙红梅",
                                 acked_at="2026-11-23 09:00"))


async def test_an_alert_acknowledged_on_another_day_says_which_day(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Pressed again the next morning, an alert says who acknowledged it and on which
    day: "at 09:00" alone would read as this morning."""
    await leaders(client, fake, DIRECTOR, SUN)
    await report(client, fake, 7605)
    with transaction(tg.db) as s:
        sun_alert = s.exec(select(Alert).where(
            Alert.recipient_id == person(tg, "sun_hongmei").id)).one()

    def press(who: str, n: int) -> str:
        done = tg.workroom.process(Inbound("console", f"p:{who}", f"console-ack-{n}",
                                           action=f"ack:{sun_alert.id}"))
        return done[0].text

    assert press("sun_hongmei", 1).startswith(t("zh", "ack.done", at="09:00"))
    assert press("chen_lihua", 2).startswith(t("zh", "ack.already", name="孙红梅", at="09:00"))
    tg.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    assert press("chen_lihua", 3).startswith(
        t("zh", "ack.already", name="孙红梅", at="2026-11-23 09:00"))


@LANGS
async def test_the_other_leaders_alerts_show_who_has_the_emergency(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The director is paged at night with 孙红梅, who is on duty. Once she presses 收到,
    the director's alert shows it, in the director's language, without a new message to
    wake them again; their own 收到 stays, and pressing it marks the alert as theirs."""
    set_person(tg, "chen_lihua", lang=lang)
    chats = await leaders(client, fake, DIRECTOR, SUN)
    await report(client, fake, 7606)
    await asyncio.to_thread(tg.dispatcher.drain)
    [alert] = [c for c in fake.sent_messages(DIRECTOR) if c.text.startswith(alert_head(lang))]
    before = len(fake.sent_messages(DIRECTOR))
    await chats[SUN].press("收到")
    await asyncio.to_thread(tg.dispatcher.drain)
    shown = fake.get_message(DIRECTOR, alert.result["message_id"])
    assert shown is not None
    line = t(lang, "notice.alert_taken", name="孙红梅", acked_at="2026-11-23 09:00")
    assert shown["text"] == "\n".join([alert.text.rsplit("\n", 1)[0], line,
                                       t(lang, "nav.ack_prompt_also")])
    assert shown["reply_markup"] == alert.params["reply_markup"]  # the button stays
    assert len(fake.sent_messages(DIRECTOR)) == before  # an edit: nothing new rang
    # Sun's own alert says she has it, with no button (as before).
    [own] = [c for c in fake.sent_messages(SUN) if c.text.startswith(alert_head("zh"))]
    mine = fake.get_message(SUN, own.result["message_id"])
    assert mine is not None and "reply_markup" not in mine

    chats[DIRECTOR].language = code
    await chats[DIRECTOR].press(t(lang, "nav.ack"))
    await asyncio.to_thread(tg.dispatcher.drain)
    shown = fake.get_message(DIRECTOR, alert.result["message_id"])
    assert shown is not None and "reply_markup" not in shown
    assert shown["text"].endswith(t(lang, "notice.alert_acked", name="陈丽华",
                                     acked_at="2026-11-23 09:00"))


async def test_a_chain_step_whose_people_have_all_left_is_passed_at_once(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """The chain's second step names three people who have all left: nobody would be
    alerted for its ten minutes. The upper union's 钱文静, its third step, is alerted at
    the second step's time instead of ten minutes later."""
    await leaders(client, fake, DIRECTOR, SUN)
    for key in ("sun_hongmei", "zhao_guoqiang", "liu_fang"):
        set_person(tg, key, active=False)
    await report(client, fake, 7607)
    await asyncio.to_thread(tg.dispatcher.drain)
    t0 = tg.clock.now()
    head = alert_head("zh")
    await asyncio.to_thread(tick, tg, tg.clock, t0 + timedelta(minutes=6),
                            timedelta(minutes=1))
    assert sum(is_alert(x, head) for x in pushes(tg, "qian_wenjing")) == 1


async def test_a_report_linked_to_anothers_shows_in_status_in_its_own_words(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """A second worker reports the same gathering: their report joins E-2026-0001, and
    their /status shows it in their own words, not the first reporter's."""
    await leaders(client, fake, DIRECTOR, SUN)
    first, second = TgChat(client, fake, 7608), TgChat(client, fake, 7609)
    theirs, mine = "铸造车间二十多人停工聚集", "又来了十几个人，情绪比较激动"
    for chat, what in ((first, theirs), (second, mine)):
        await run(chat, [(t("zh", "menu.emergency"), t("zh", "emergency.what.ask")),
                         (what, t("zh", "emergency.place.ask")),
                         ("铸造车间", t("zh", "emergency.people.ask")),
                         (f"[{t('zh', 'nav.send_now')}]", "E-2026-0001")])
    assert [i.number for i in all_rows(tg, Incident)] == ["E-2026-0001"]
    [status] = await second.say("/status")
    assert f"E-2026-0001 紧急情况：{mine}" in status
    assert theirs not in status


@LANGS
async def test_a_leader_who_types_the_acknowledge_word_acknowledges_the_alert_waiting(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """Woken at night, 孙红梅 types "收到" (or "Acknowledge") rather than pressing the
    button: the one alert waiting for her is acknowledged, said with what it is about,
    and her alert is edited as for a press. With two waiting, she is shown both, each
    with its button, and nothing is acknowledged for her."""
    sun = TgChat(client, fake, SUN, code)  # her app in `lang`
    await sun.say("/start")
    await report(client, fake, 7611, lang, code)
    await asyncio.to_thread(tg.dispatcher.drain)
    sun.new_texts()
    said = await sun.say(t(lang, "nav.ack"))
    [incident] = all_rows(tg, Incident)
    assert said[0].splitlines()[0].startswith(t(lang, "query.my_alerts.incident",
                                                number="E-2026-0001", what=incident.what,
                                                place=incident.place, at="11-23 09:00"))
    assert said[0].splitlines()[1] == t(lang, "ack.done", at="09:00")
    [shown] = [c for c in fake.sent_messages(SUN) if c.text.startswith(alert_head(lang))]
    await asyncio.to_thread(tg.dispatcher.drain)
    edited = fake.get_message(SUN, shown.result["message_id"])
    assert edited is not None and edited["text"] != shown.text  # shows who and when
    assert all_rows(tg, Incident)[0].acknowledged_at is not None

    # Two more reports (another place each): two alerts waiting; the word lists them.
    for chat_id, place in ((7612, "仓库"), (7613, "食堂")):
        worker = TgChat(client, fake, chat_id, code)
        await run(worker, [(t(lang, "menu.emergency"), t(lang, "emergency.what.ask")),
                           (SAID[lang]["what"], t(lang, "emergency.place.ask")),
                           (place, t(lang, "emergency.people.ask")),
                           (f"[{t(lang, 'nav.send_now')}]", "E-2026-")])
    await asyncio.to_thread(tg.dispatcher.drain)
    sun.new_texts()
    acks = len(all_rows(tg, Acknowledgement))
    said = await sun.say(t(lang, "nav.ack"))
    assert said[0].startswith(t(lang, "query.my_alerts.title", count=2))
    assert "E-2026-0002" in "".join(said[:2]) and "E-2026-0003" in "".join(said[:2])
    assert [b["text"] for c in fake.sent_messages(SUN)[-3:-1]
            for row in c.params["reply_markup"]["inline_keyboard"] for b in row] \
        == [t(lang, "nav.ack")] * 2
    assert len(all_rows(tg, Acknowledgement)) == acks
    # The list is numbered; the report's number typed with the word: that one, said.
    listed = "\n".join(said)
    assert "\n1. " in listed and "\n2. " in listed
    said = await sun.say(f"{t(lang, 'nav.ack')} e-2026-0002")
    assert "E-2026-0002" in said[0].splitlines()[0]
    assert said[0].splitlines()[1] == t(lang, "ack.done", at="09:00")
    assert len(all_rows(tg, Acknowledgement)) == acks + 1
    sun_id = person(tg, "sun_hongmei").id
    assert [a.subject_id for a in all_rows(tg, Alert) if a.recipient_id == sun_id
            and a.id in {k.alert_id for k in all_rows(tg, Acknowledgement)}] == [1, 2]
    # A number beyond the list: said so, the list again, nothing acknowledged.
    said = await sun.say(f"{t(lang, 'nav.ack')} 5")
    listed = "\n\n".join(said)
    assert listed.startswith(t(lang, "ack.not_waiting", named="5") + "\n\n"
                             + t(lang, "query.my_alerts.title", count=1))
    assert len(all_rows(tg, Acknowledgement)) == acks + 1
    # Its number in the list: the last one waiting.
    said = await sun.say(f"{t(lang, 'nav.ack')} 1")
    assert "E-2026-0003" in said[0].splitlines()[0]
    assert len(all_rows(tg, Acknowledgement)) == acks + 2


@LANGS
async def test_a_number_typed_with_the_acknowledge_word_is_never_another_persons_alert(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """Two emergencies wait for the director; she types "收到 2" meaning the second of
    her list. Alert 2 (孙红梅's, of the first emergency) is not what she acknowledges:
    her own second one is, and the reply says which."""
    chats = await leaders(client, fake, DIRECTOR, SUN)
    await report(client, fake, 7614, lang, code)
    worker = TgChat(client, fake, 7615, code)
    await run(worker, [(t(lang, "menu.emergency"), t(lang, "emergency.what.ask")),
                       (SAID[lang]["what"], t(lang, "emergency.place.ask")),
                       ("仓库", t(lang, "emergency.people.ask")),
                       (f"[{t(lang, 'nav.send_now')}]", "E-2026-0002")])
    await asyncio.to_thread(tg.dispatcher.drain)
    director = chats[DIRECTOR]
    director.new_texts()
    said = await director.say(t(lang, "nav.ack"))
    listed = "\n".join(said)
    assert "\n1. " in listed and "E-2026-0002" in listed.split("\n1. ")[1].splitlines()[0]
    said = await director.say(f"{t(lang, 'nav.ack')} 2")
    assert "E-2026-0001" in said[0].splitlines()[0]
    acked = {k.alert_id for k in all_rows(tg, Acknowledgement)}
    assert [(a.recipient_id, a.subject_id) for a in all_rows(tg, Alert) if a.id in acked] \
        == [(person(tg, "chen_lihua").id, 1)]


@LANGS
async def test_the_directors_alert_keeps_who_had_it_first_when_she_records_the_end(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """孙红梅 presses 收到 at 09:00; the director never does, and at 10:05 records from the
    menu that the handling is over. Her alert then says both: 孙红梅 had it at 09:00, and
    she recorded the end at 10:05; not that she "acknowledged" it an hour after the event,
    with 孙红梅's line gone. Her old 收到, pressed, says the same."""
    set_person(tg, "chen_lihua", lang=lang)
    chats = await leaders(client, fake, DIRECTOR, SUN)
    await report(client, fake, 7607)
    await asyncio.to_thread(tg.dispatcher.drain)
    [alert] = [c for c in fake.sent_messages(DIRECTOR) if c.text.startswith(alert_head(lang))]
    await chats[SUN].press("收到")
    await asyncio.to_thread(tg.dispatcher.drain)

    tg.clock.advance(timedelta(minutes=65))  # type: ignore[attr-defined]
    director = chats[DIRECTOR]
    director.language = code
    await director.say(t(lang, "menu.incident_action"))
    await press_starting(director, "E-2026-0001")
    await director.press(t(lang, "opt.incident_action.handled"))
    await director.say("财务科当场公布核算结果，职工返岗")
    await director.press(t(lang, "nav.confirm"))
    await asyncio.to_thread(tg.dispatcher.drain)

    shown = fake.get_message(DIRECTOR, alert.result["message_id"])
    assert shown is not None and "reply_markup" not in shown
    assert shown["text"] == "\n".join([
        alert.text.rsplit("\n", 1)[0],
        t(lang, "notice.alert_acked", name="孙红梅", acked_at="2026-11-23 09:00"),
        t(lang, "notice.alert_handled", name="陈丽华", acked_at="2026-11-23 10:05")])

    with transaction(tg.db) as s:
        own = s.exec(select(Alert).where(
            Alert.recipient_id == person(tg, "chen_lihua").id)).one()
    [said, *_] = tg.workroom.process(Inbound("console", "p:chen_lihua", "console-ack-7",
                                             action=f"ack:{own.id}"))
    assert said.text.startswith(t(lang, "ack.already_handled", name="陈丽华", at="10:05",
                                  number="E-2026-0001"))


@LANGS
@pytest.mark.parametrize("lost", ["one", "all"])
async def test_a_leader_the_alert_never_reached_is_not_said_to_have_left_it_unanswered(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str, code: str,
        lost: str) -> None:
    """孙红梅, on duty, never opened the bot: Telegram refuses her alert. The worker was
    told whom the workroom is alerting, not that they "were notified". Five minutes on,
    the chain's next step tells 刘芳 that the director did not acknowledge and that the
    alert could not reach 孙红梅. When the director cannot be reached either (she blocked
    the bot), nobody had it: 刘芳 is told so, and the worker is told to phone."""
    set_person(tg, "liu_fang", lang=lang)
    await leaders(client, fake, DIRECTOR)
    fake.fail_next("sendMessage", status=403, times=1000, chat_id=SUN,
                   description="Forbidden: bot can't initiate conversation with a user")
    if lost == "all":
        fake.block(DIRECTOR)
    worker = await report(client, fake, 7608, lang, code)
    said = "\n".join(c.text for c in fake.sent_messages(7608))
    assert t(lang, "emergency.done", number="E-2026-0001", alerted="\0").split("\0")[0] \
        in said
    await asyncio.to_thread(tg.dispatcher.drain)
    t0 = tg.clock.now()
    await asyncio.to_thread(tick, tg, tg.clock, t0 + timedelta(minutes=5),
                            timedelta(minutes=1))

    head = alert_head(lang)
    [to_liu] = [x for x in pushes(tg, "liu_fang") if is_alert(x, head)]
    unreached = t(lang, "notice.escalated_unreached", unreached="孙红梅" if lost == "one"
                  else t(lang, "list.sep").join(["陈丽华", "孙红梅"]))
    line = t(lang, "notice.escalated", names="陈丽华", minutes=5) \
        + t(lang, "notice.escalated_also", unreached=unreached) if lost == "one" \
        else t(lang, "notice.escalated_none", minutes=5, unreached=unreached)
    assert to_liu.startswith(line + "\n")
    told = worker.new_texts()
    if lost == "one":
        assert told == [t(lang, "notice.incident_waiting", number="E-2026-0001")]
    else:
        assert told == [t(lang, "notice.incident_unreached", number="E-2026-0001")]
