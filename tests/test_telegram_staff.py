"""The workroom's staff (刘芳) and director on Telegram: the notices they get about new
records and deadlines, and the staff's own flows. Through the webhook against the fake
Bot API, on SQLite and on PostgreSQL, in Chinese and in English."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

import tests.test_telegram as webhook
import tests.test_telegram_media as media_tests
from bot.bootstrap import Services
from conversations.catalog import t
from handlers.identity import issue_code
from store.db import transaction
from store.models import Acknowledgement, Person
from tests.case_helpers import tick
from tests.fakes.telegram_api import FakeBotApi
from tests.test_telegram import TgChat, run
from tests.test_telegram_flows import complaint_steps
from tests.test_telegram_leaders import leaders, press_starting, set_person
from tests.transcript import all_rows

fake = webhook.fake
tg = media_tests.tg  # on SQLite and on PostgreSQL
client = webhook.client
LANGS = pytest.mark.parametrize(("lang", "code"), [("zh", "zh-hans"), ("en", "en")],
                                ids=["zh", "en"])
STAFF = 7900  # 刘芳's Telegram chat (the demo org file gives her none)
DIRECTOR, ZHAO, SUN = 900000001, 900000002, 900000003  # from store/demo/org.yaml


async def staff_chat(client: httpx.AsyncClient, fake: FakeBotApi, svc: Services,
                     lang: str, code: str) -> TgChat:
    """刘芳, set to `lang`, opens the bot with her invite link."""
    set_person(svc, "liu_fang", lang=lang)
    with transaction(svc.db) as s:
        staff = s.exec(select(Person).where(Person.key == "liu_fang")).one()
        invite = issue_code(s, person=staff, channel="telegram", now=svc.clock.now(),
                            ttl=timedelta(hours=1))
    chat = TgChat(client, fake, STAFF, code)
    [welcome] = await chat.say(f"/start {invite}")
    assert "刘芳" in welcome
    return chat


async def pass_to_sun(staff: TgChat, lang: str) -> None:
    """The staff pass C-2026-0001 on to 孙红梅 (转办), the leader being away."""
    await staff.say(t(lang, "menu.case_action"))
    await press_starting(staff, "C-2026-0001")
    await staff.press(t(lang, "opt.case_action.reassign"))
    await press_starting(staff, "孙红梅")
    await staff.say("分管领导出差")
    await staff.press(t(lang, "nav.confirm"))


@LANGS
async def test_the_staff_read_each_new_suggestion(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """A worker's suggestion reaches the staff who keep the opinion archive, with its
    number, topic (in the staff member's language) and words; before, it was stored and
    read by nobody until the monthly figures counted it."""
    staff = await staff_chat(client, fake, tg, lang, code)
    worker = TgChat(client, fake, 7901)
    words = "食堂晚餐能不能多一个素菜窗口"
    await run(worker, [("提建议", "哪方面"), ("[食堂生活]", "请写下"), (words, "是否实名"),
                       ("[匿名]", "请核对"), ("[确认提交]", "S-2026-0001")])
    await asyncio.to_thread(tg.dispatcher.drain)
    assert staff.new_texts() == [t(lang, "notice.suggestion_staff", number="S-2026-0001",
                                   topic=t(lang, "opt.topic.living"), text=words)]


@LANGS
async def test_an_overdue_cases_timeline_reads_in_words_not_codes(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The staff reassign a wage case to 孙红梅; it runs past its deadline and the
    director, its handler's supervisor, is told what was done so far. The timeline named
    the category by its code ("category:wages") and how late the case was by a bare
    number ("overdue, sent to the supervisor: 1")."""
    set_person(tg, "chen_lihua", lang=lang)
    chats = await leaders(client, fake, DIRECTOR, SUN)
    staff = await staff_chat(client, fake, tg, lang, code)
    await run(TgChat(client, fake, 7902), [
        *complaint_steps("zh", "wages", "铸造车间", "named"), ("[确认提交]", "C-2026-0001")])
    await pass_to_sun(staff, lang)
    chats[DIRECTOR].new_texts()

    # Due 2027-01-22: the supervisor is told the next morning, the director 3 days later.
    await asyncio.to_thread(tick, tg, tg.clock, datetime(2027, 1, 27, 2, tzinfo=UTC))
    colon = "：" if lang == "zh" else ": "

    def told(late: int, *events: str, key: str = "notice.case_escalated") -> str:
        lines = [f"• {at} {t(lang, f'event.{kind}')}" + (f"{colon}{note}" if note else "")
                 for at, kind, note in (e.split("|") for e in events)]
        return t(lang, key, number="C-2026-0001",
                 category=t(lang, "opt.category.wages"), handler="孙红梅",
                 due_on="2027-01-22", late=late, status=t(lang, "status.assigned"),
                 events="\n".join(lines))

    so_far = ("2026-11-23 09:00|registered|",
              f"2026-11-23 09:00|assigned|{t(lang, 'opt.category.wages')}",
              "2026-11-23 09:00|reassign|赵国强 → 孙红梅: 分管领导出差",
              "2026-11-24 09:00|unconfirmed|孙红梅")
    # 孙红梅 never confirmed it: the director was told from a working day after it was passed.
    def unconfirmed(days: int, key: str = "notice.case_unconfirmed") -> str:
        return t(lang, key, number="C-2026-0001", category=t(lang, "opt.category.wages"),
                 handler="孙红梅", assigned_at="2026-11-23 09:00", days=days,
                 due_on="2027-01-22", times=3)
    # Told each working morning, three times, the last saying so; then as the supervisor
    # when it fell overdue, she is reminded as the director.
    assert chats[DIRECTOR].new_texts() == [
        unconfirmed(1), unconfirmed(2), unconfirmed(3, "notice.case_unconfirmed_last"),
        told(1, *so_far),
        told(4, *so_far, f"2027-01-23 09:00|escalated_overdue|{t(lang, 'event.late', days=1)}",
             key="notice.case_still_overdue")]


@LANGS
def test_a_timelines_extensions_and_ratings_read_in_words(lang: str, code: str) -> None:
    """A reopened case's "so far", as its new handler reads it: the days asked and the
    decision, and the complainant's rating, in words ("+30: …", "-30: …" and
    "unsatisfied" before)."""
    from zoneinfo import ZoneInfo

    from handlers.notices import render

    at = "2026-11-23T01:00:00+00:00"
    events = [[at, "extend", "+30: 需要财务核算"], [at, "extended", "-30: 需要财务核算"],
              [at, "extended", "+10: 补充材料"], [at, "rate", "basic"],
              [at, "reopen", "unsatisfied"]]
    shown = render("notice.case_reopened", {
        "number": "C-2026-0001", "category": "wages", "due_on": "2027-01-22", "reply": "已补发",
        "events": events}, lang, ZoneInfo("Asia/Shanghai")).text
    colon = "：" if lang == "zh" else ": "
    notes = [t(lang, "event.more_days", days=30, reason="需要财务核算"),
             t(lang, "event.refused", days=30, reason="需要财务核算"),
             t(lang, "event.approved", days=10, reason="补充材料"),
             t(lang, "opt.rating.basic"), t(lang, "opt.rating.unsatisfied")]
    assert shown.endswith("\n".join(
        f"• 2026-11-23 09:00 {t(lang, f'event.{kind}')}{colon}{note}"
        for (_, kind, _), note in zip(events, notes, strict=True)))


@LANGS
async def test_the_director_handling_an_overdue_case_is_not_told_it_went_to_a_supervisor(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """"Other" complaints are the director's own (store/demo/org.yaml). When one runs
    past its deadline she has no supervisor, and nobody else is told the next morning:
    her notice said "it has been reported to your supervisor"."""
    set_person(tg, "chen_lihua", lang=lang)
    chats = await leaders(client, fake, DIRECTOR)
    await run(TgChat(client, fake, 7903), [
        *complaint_steps("zh", "other", "铸造车间", "named"), ("[确认提交]", "C-2026-0001")])
    await asyncio.to_thread(tg.dispatcher.drain)
    chats[DIRECTOR].new_texts()
    await asyncio.to_thread(tick, tg, tg.clock, datetime(2027, 1, 23, 2, tzinfo=UTC))
    assert chats[DIRECTOR].new_texts()[-1] == t(
        lang, "notice.case_overdue_own", number="C-2026-0001",
        category=t(lang, "opt.category.other"), due_on="2027-01-22", late=1)


@LANGS
async def test_a_complaint_filed_for_a_caller_reads_in_the_directors_language(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The staff member, set to the other language, files a caller's complaint of 25
    people (a leader case). The director's alert said what the caller wants in the
    staff member's language ("诉求：(By phone; …)"), not in the director's."""
    other, other_code = ("en", "en") if lang == "zh" else ("zh", "zh-hans")
    set_person(tg, "chen_lihua", lang=lang)
    chats = await leaders(client, fake, DIRECTOR)
    staff = await staff_chat(client, fake, tg, other, other_code)
    await staff.say(t(other, "menu.file_for_caller"))
    await staff.press(t(other, "opt.caller_kind.complaint"))
    for said in ("13900000002", "食堂饭菜变质，多人腹泻"):
        await staff.say(said)
    await staff.press("总装车间")
    await staff.say("25")
    await staff.press(t(other, "opt.category.living"))
    done = await staff.press(t(other, "nav.confirm"))
    assert done[0].startswith(t(other, "file_for_caller.done_case_untold", number="C-2026-0001",
                                due_on="2027-02-22"))
    await asyncio.to_thread(tg.dispatcher.drain)
    [alert] = [x for x in chats[DIRECTOR].new_texts() if x.endswith(t(lang, "nav.ack_prompt"))]
    assert "C-2026-0001" in alert
    assert t(lang, "hotline.outcome_unknown") in alert
    assert t(other, "hotline.outcome_unknown") not in alert


@LANGS
async def test_a_report_due_reminder_opens_the_report_in_one_tap(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The director is reminded that an emergency's first report is due within the
    hour. The reminder only said to look for "Follow an emergency" among her menu's 28
    buttons, then pick the emergency and the report; its button now opens the report at
    its first question."""
    set_person(tg, "chen_lihua", lang=lang)
    chats = await leaders(client, fake, DIRECTOR)
    director = chats[DIRECTOR]
    await run(TgChat(client, fake, 7904), [
        (t("zh", "menu.emergency"), t("zh", "emergency.what.ask")),
        ("二十多人聚集在厂门口要求发工资", t("zh", "emergency.place.ask")),
        ("厂门口", t("zh", "emergency.people.ask")),
        (f"[{t('zh', 'nav.send_now')}]", "E-2026-0001")])
    await asyncio.to_thread(tick, tg, tg.clock, tg.clock.now() + timedelta(minutes=50),
                            timedelta(minutes=5))
    head = t(lang, "notice.report_due", number="E-2026-0001",
             report=t(lang, "report.kind.first"), due_at="2026-11-23 10:00")
    assert head in director.new_texts()
    asked = await director.press(t(lang, "opt.incident_action.first"))
    assert asked[-1].endswith(t(lang, "incident_action.involved.ask"))
    for said in ("二十多名铸造工人", "停工半小时", "车间主任到场", "请财务说明"):
        await director.say(said)
    [done] = await director.press(t(lang, "nav.confirm"))
    assert done.startswith(t(lang, "incident_action.done.in_time", number="E-2026-0001",
                             report=t(lang, "report.kind.first"), due="11-23 10:00"))


@LANGS
async def test_a_leaders_jiaoban_passed_on_loses_its_shou_dao(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """赵国强 was paged with a wage case and has not pressed 收到 when 刘芳 passes it to
    孙红梅 an hour later. Before, his alert kept its 收到, and pressing it recorded that he
    had taken a case no longer his. Now the alert itself is edited (no new message rings):
    its 收到 and 办理 are gone and it says to whom it went and when; the button pressed
    from the screen as it was is told so, and records nothing."""
    set_person(tg, "zhao_guoqiang", lang=lang)
    zhao = TgChat(client, fake, ZHAO, code)
    await zhao.say("/start")
    staff = await staff_chat(client, fake, tg, lang, code)
    await run(TgChat(client, fake, 7903), [
        *complaint_steps("zh", "wages", "铸造车间", "named"), ("[确认提交]", "C-2026-0001")])
    await asyncio.to_thread(tg.dispatcher.drain)
    [shown] = [c for c in fake.sent_messages(ZHAO) if "C-2026-0001" in c.text]
    assert [b["text"] for row in shown.params["reply_markup"]["inline_keyboard"]
            for b in row] == [t(lang, "nav.ack"), t(lang, "nav.work_on_case")]
    zhao.new_texts()
    tg.clock.advance(timedelta(hours=1))
    await pass_to_sun(staff, lang)
    await asyncio.to_thread(tg.dispatcher.drain)

    edited = fake.get_message(ZHAO, shown.result["message_id"])
    assert edited is not None
    assert edited["text"] == shown.text.removesuffix("\n" + t(lang, "nav.ack_prompt")) \
        + "\n" + t(lang, "notice.alert_passed", name="孙红梅", at="2026-11-23 10:00")
    assert "reply_markup" not in edited
    # What rang: that it is off his hands, as before, once.
    assert zhao.new_texts() == [t(lang, "notice.case_handed_on", number="C-2026-0001",
                                  category=t(lang, "opt.category.wages"), by="刘芳",
                                  name="孙红梅", reason="分管领导出差")]
    [said, *_] = await zhao.press(t(lang, "nav.ack"))  # from the screen as it was
    assert said.startswith(t(lang, "ack.passed_on", number="C-2026-0001", name="孙红梅",
                             at="10:00") + "\n")
    assert all_rows(tg, Acknowledgement) == []
