"""On WeChat and WeCom, which show no buttons, a push says each word to reply once.

The renderer puts each catalog sentence that says to tap a button in its `_typed` words
("请回复“评价答复”评价…") and ends a push with the words of its buttons ("回复「评价答复」。").
The closing notice said 评价答复 twice, an alert 收到 twice, and so did most pushes whose
sentence names its buttons. Here every `_typed` sentence is either a push's, sent by a real
flow below and shown as WeChat shows it (bot/wechat_render.render, push=True), in Chinese
and in English, or a conversation's own answer (ASKED); a new one must be placed in one.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import col

from bot import wechat_render
from bot.bootstrap import Services
from bot.wechat_render import TYPED, word_key
from conversations import catalog
from conversations.clock import FrozenClock
from conversations.engine import Button
from handlers import notices
from store.models import Alert, Notification
from tests.calendar_helpers import at, publish_roster, run_until
from tests.case_helpers import case_action, file_complaint, tick
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.wechat_api import FakeWeChatApi
from tests.transcript import Chat, all_rows, open_menu, person, t
from tests.wechat_chat import api, client, wx

__all__ = ["api", "client", "wx"]  # fixtures from tests/wechat_chat

LANGS = catalog.LANGS

# The `_typed` sentences a push carries, by the test below whose flow sends them.
PUSHED = {
    "cases": {"nav.ack_prompt", "notice.case_closed_rate", "notice.letter_closed_rate"},
    "emergency": {"notice.incident_open"},
    "calendar": {"notice.invite_remind", "notice.invite_lapsed", "notice.screening_ask",
                 "notice.screening_chase", "notice.visit_ledger_due",
                 "notice.visit_ledger_again", "notice.visit_ledger_staff",
                 "notice.booking_missed"},
    "moved": {"notice.duty_visit_moved", "notice.visit_ledger_due_late"},
    "held": {"nav.ack_prompt_also"},
    "hotline": {"hotline.missed.call_back"},
}
# Written by an earlier version only, and kept to render its rows still waiting (a push
# held for WeChat's 48-hour window); tests/test_wechat_typed.py renders them.
WRITTEN_BEFORE = {"notice.linked_apart"}
# Said in the person's own conversation, never in a push: a question's words to reply are
# its own (its options numbered, its actions and 返回 / 取消 after it).
ASKED = {
    "menu.prompt", "menu.welcome", "menu.welcome_leader", "menu.welcome_staff",
    "menu.welcome_director", "menu.welcome_liaison", "menu.welcome_liaison_untold",
    "menu.welcome_leader_no_duty", "menu.welcome_leader_no_duty_no_chain",
    "menu.welcome_staff_no_chain", "menu.welcome_upper_union",
    "attachment.caption_kept", "emergency.linked_apart", "file_for_caller.linked_apart",
    "menu.unknown",
    "menu.unknown_urgent", "menu.told_progress", "menu.told_urgent", "flow.told_kept",
    "flow.kept_ahead", "flow.kept_ahead_more", "flow.place_said_help", "flow.menu_in_flow",
    "button.stale", "button.busy", "inbound.set_aside", "help.menu", "review.confirm",
    "review.choose", "review.help", "invalid.choice", "invalid.choice_which",
    "complaint.cosigners.ask", "cancel_booking.booking.help",
    "cancel_booking.review.confirm", "cancel_booking.review.choose",
    "cancel_booking.review.help", "emergency.people.ask", "emergency.measures.ask",
    "emergency.suggestion.ask", "ack.not_waiting", "roster.union.ask", "files.fetching",
}

_QUOTED = re.compile(r"“([^”\n]+)”|「([^」\n]+)」|\"([^\"\n]+)\"")
_RECORD = re.compile(r"\s*\b[A-Z]-\d{4}-\d{3,6}\s*$")


def typed_keys(lang: str) -> set[str]:
    return {k.removesuffix(TYPED) for k in catalog.load(lang) if k.endswith(TYPED)}


@pytest.mark.parametrize("lang", LANGS)
def test_every_typed_sentence_is_a_push_tested_here_or_a_conversations_own(lang: str) -> None:
    pushed = set().union(*PUSHED.values())
    assert pushed.isdisjoint(ASKED) and WRITTEN_BEFORE.isdisjoint(pushed | ASKED)
    assert sorted(typed_keys(lang) - pushed - ASKED - WRITTEN_BEFORE) == []  # a new one
    assert sorted((pushed | ASKED | WRITTEN_BEFORE) - typed_keys(lang)) == []


# --- what a push says to reply ------------------------------------------------------------


def _quoted(text: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]


def _words_line(lang: str) -> re.Pattern[str]:
    """The renderer's words line ("回复「评价答复」、「收到 C-2026-0001」。"), its words a group."""
    quote = [re.escape(p) for p in t(lang, "wechat.words.quote", word="\x00").split("\x00")]
    one = f"{quote[0]}[^\n]+?{quote[1]}"
    sep = re.escape(t(lang, "wechat.words.sep"))
    head, tail = (re.escape(p) for p in t(lang, "wechat.words", words="\x00").split("\x00"))
    return re.compile(f"^{head}({one}(?:{sep}{one})*){tail}$", re.MULTILINE)


def _forms(word: str) -> set[str]:
    """A word as it presses its button: whole, before a bracket ("零报告"), without the
    record it names ("收到" of "收到 C-2026-0001")."""
    key = word_key(_RECORD.sub("", word))
    return {key, key.split("（", 1)[0].split("(", 1)[0]}


def _typed_spans(text: str, lang: str) -> list[tuple[int, int]]:
    """Where the text holds a `_typed` sentence."""
    found = catalog.load(lang)
    return [m.span() for k in typed_keys(lang)
            for m in wechat_render._pattern(found[k + TYPED]).finditer(text)]


def typed_in(text: str, lang: str) -> set[str]:
    """The `_typed` sentences a text holds."""
    found = catalog.load(lang)
    return {k for k in typed_keys(lang)
            if wechat_render._pattern(found[k + TYPED]).search(text)}


def twice(text: str, lang: str, buttons: list[Button] | None = None) -> list[str]:
    """What a push shown on WeChat says wrong about its reply words: a word its `_typed`
    sentences tell to reply that the words line says again; with its buttons, a button
    whose words are said other than once, or named there by part of its words."""
    line = _words_line(lang)
    listed = [w for m in line.finditer(text) for w in _quoted(m[1])]
    spans = _typed_spans(text, lang)
    told = [word_key(next(g for g in q.groups() if g)) for q in _QUOTED.finditer(text)
            if any(a <= q.start() and q.end() <= b for a, b in spans)]
    wrong = [f"{w!r} told and listed" for w in listed if _forms(w) & set(told)]
    for b in buttons or []:
        if b.kind == "nav":
            continue
        mine = _forms(b.label)
        times = sum(w in mine for w in told) + sum(bool(_forms(w) & mine) for w in listed)
        if times != 1:
            wrong.append(f"{b.label!r} said {times} times")
        wrong += [f"{w!r} half of {b.label!r}" for w in told
                  if w not in mine and word_key(b.label).startswith(w)]
    return wrong


def shown_on_wechat(services: Services) -> Iterator[tuple[str, str, str, list[Button]]]:
    """Every push the flow wrote, as WeChat shows it, in each language: (lang, key,
    text, buttons). Its buttons are the words a worker types there."""
    rows = all_rows(services, Notification,
                    col(Notification.message_key) != "notice.raw")  # replies: not pushes
    for n in rows:
        for lang in LANGS:
            opts = services.workroom.options
            reply = notices.render(n.message_key, n.params, lang, opts.zone, n.alert_id,
                                   opts.secret)
            yield lang, n.message_key, wechat_render.render(reply, lang, push=True), \
                reply.buttons


def said_once(services: Services, scenario: str) -> None:
    """Each push of the flow says each word to reply once; the flow sent every push of
    its scenario (PUSHED)."""
    seen: dict[str, set[str]] = {lang: set() for lang in LANGS}
    wrong = []
    for lang, key, text, buttons in shown_on_wechat(services):
        seen[lang] |= typed_in(text, lang)
        wrong += [f"{lang} {key}: {w}\n{text}" for w in twice(text, lang, buttons)]
    assert wrong == []
    for lang in LANGS:
        assert sorted(PUSHED[scenario] - seen[lang]) == [], lang


# --- the flows that send them ---------------------------------------------------------------


def test_a_case_and_a_letter_closed_offer_the_rating_and_an_alert_its_ack_once(
        services: Services) -> None:
    """李明's complaint alerts 赵国强 (收到, 办理此问题), who answers and closes it (评价答复);
    张伟's letter to 陈丽华 is answered and closed by her (评价答复, of a letter)."""
    li, zhang = Chat(services, person="li_ming"), Chat(services, person="zhang_wei")
    file_complaint(li, "zh")
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, "zh", "C-2026-0001", "reply", "十月加班费将随本月工资补发")
    case_action(zhao, "zh", "C-2026-0001", "close", "十月加班费已补发")
    open_menu(zhang, "zh")
    zhang.press(t("zh", "menu.letter"))
    zhang.press_starting("陈丽华")
    zhang.say("食堂饭菜一个月涨了三次价，希望领导过问一下")
    zhang.press(t("zh", "opt.identity.named"))
    zhang.press(t("zh", "nav.confirm"))
    chen = Chat(services, person="chen_lihua")
    case_action(chen, "zh", "C-2026-0002", "reply", "下月起食堂价格由职代会审议")
    case_action(chen, "zh", "C-2026-0002", "close", "职代会已审议，价格回调")
    services.dispatcher.drain()
    said_once(services, "cases")
    closed = [n for n in all_rows(services, Notification)
              if n.message_key in ("notice.case_closed_rate", "notice.letter_closed_rate")]
    assert len(closed) == 2


def test_an_emergency_still_open_and_a_report_linked_to_it_say_their_words_once(
        services: Services, clock: FrozenClock) -> None:
    """李明 reports a stoppage, 张伟 a fire in the same workshop (这是另一件事); the director
    acknowledges, and an hour on it is still open (处置完毕)."""
    from tests.test_emergency_apart import FIRE, STOPPAGE, file
    from tests.test_flow_emergency import ack

    file(Chat(services, person="li_ming"), "zh", STOPPAGE)
    file(Chat(services, person="zhang_wei"), "zh", FIRE)
    [alert] = all_rows(services, Alert, Alert.recipient_id == person(services, "chen_lihua").id)
    clock.advance(timedelta(minutes=2))
    assert "09:02" in ack(services, "chen_lihua", alert.id or 0)
    tick(services, clock, clock.now() + timedelta(minutes=62), step=timedelta(minutes=1))
    said_once(services, "emergency")


def test_an_invitation_a_screening_and_a_visit_ledger_say_their_words_once(
        services: Services, clock: FrozenClock) -> None:
    """李明 is invited to 赵国强's Wednesday reception and never answers (按时参加, 另约时间;
    重新约请 to the staff); 张伟 books the same reception and does not come: the ledger is
    reminded to 赵国强, again, then to the staff (填写接访台帐, 登记来访人未到), and 张伟
    told he was missed (预约领导接访, 反映问题); the liaisons are asked for the month's
    screening and chased (零报告, 登记一条矛盾纠纷)."""
    from tests.test_calendar_invitations import invite_li
    from tests.test_reception_ledger import book

    publish_roster(services)
    invite_li(services, "zh")
    book(Chat(services, person="zhang_wei"), "zh", "夜班补贴标准")
    run_until(services, clock, at(11, 27, 10))
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, "zh")
    zhao.press(t("zh", "menu.cal_visit_missed"))
    zhao.press_starting("V-2026-0002")
    zhao.press(t("zh", "nav.confirm"))
    services.dispatcher.drain()
    said_once(services, "calendar")


def test_a_visit_given_to_another_leader_and_a_ledger_reminded_late_say_their_words_once(
        services: Services, clock: FrozenClock) -> None:
    """赵国强 is away the days 李明 booked: 李明 may keep it or choose another (保留预约,
    另选接访时间); the scheduler was down when the reception ended, and 孙红梅 is reminded
    of its ledger the next morning."""
    from tests.test_calendar_roster import book

    book(services, "li_ming", "zh", "11-25")
    staff = Chat(services, person="liu_fang")
    open_menu(staff, "zh")
    staff.press(t("zh", "menu.cal_roster"))
    staff.press(t("zh", "opt.roster_action.away"))
    staff.press_starting("赵国强")
    staff.say("2026-11-25")
    staff.say("2026-11-26")
    staff.press(t("zh", "opt.away_kind.trip"))
    staff.press(t("zh", "nav.confirm"))
    clock.set(at(11, 26, 9))
    services.sweeper.run_once()
    services.dispatcher.drain()
    said_once(services, "moved")


async def test_an_alert_held_for_the_window_asks_for_the_ack_once_on_wechat(
        client: httpx.AsyncClient, wx: Services, api: FakeWeChatApi) -> None:
    """孙红梅's emergency alert waits for his next message on the official account; the
    director has it meanwhile: his alert says so, and that he may confirm too, once."""
    from tests.test_wechat_window import _alert_held_for_sun

    sun, _ = await _alert_held_for_sun(client, wx, api)
    director = Chat(wx, person="chen_lihua")
    director.say("待确认的提醒")
    director.press(t("zh", "nav.ack"))
    wx.clock.advance(timedelta(hours=23))  # type: ignore[attr-defined]
    api.clear_failures()
    await sun.say("你好")
    await asyncio.to_thread(wx.dispatcher.drain)
    [alert] = [x for x in sun.new_texts() if "E-2026-0001" in x]
    assert t("zh", "nav.ack_prompt_also_typed") in alert
    assert alert.endswith(t("zh", "wechat.words", words="「收到 E-2026-0001」"))
    assert twice(alert, "zh") == []
    said_once(wx, "held")


@pytest.fixture
def hotline(sqlite_url: str, clock: FrozenClock) -> Iterator[Services]:
    from tests.test_hotline import hotline_services

    with FakeTwilio() as fake:
        svc = hotline_services(sqlite_url, clock, fake)
        yield svc
        svc.close()


async def test_a_missed_hotline_call_says_called_back_once(hotline: Services) -> None:
    from tests.test_hotline import PUBLIC, Caller, hang_up
    from web.app import create_app

    transport = httpx.ASGITransport(app=create_app(hotline, run_scheduler=False))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as c:
        caller = Caller(c)
        await caller.step("/hotline/voice", CallStatus="ringing")
        await hang_up(caller)
    said_once(hotline, "hotline")
