"""Every flow on Telegram, in Chinese and in English, through the webhook and by long
polling: what the user sees in the chat (the texts of the sendMessage calls the real
python-telegram-bot stack makes to the fake Bot API) and the rows each flow leaves.

An English-speaking user is one whose Telegram ``language_code`` is "en": a new user's
language follows it. One test switches instead, with the menu's "English" button and
``/lang``. Leaders "open the bot" from the Telegram ids the demo org file lists for them,
which makes Telegram their last-used channel, so their alerts arrive in those chats.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

import tests.test_telegram as webhook
from bot.bootstrap import Services
from conversations.catalog import t
from conversations.clock import FrozenClock
from conversations.engine import BRIEF
from conversations.flows import menu_for
from handlers.context import receipt_hash
from store import outbox
from store.models import (
    Alert,
    Booking,
    Case,
    Contact,
    Conversation,
    Incident,
    IncidentLink,
    Notification,
    Person,
    Suggestion,
    Workshop,
)
from tests.calendar_helpers import publish_roster
from tests.fakes.telegram_api import BOT_USERNAME, FakeBotApi, text_update
from tests.test_flow_booking import PHONE_BUTTON, slot_button, slot_label, upcoming
from tests.test_flow_emergency import alerted_names, duty_leader_today
from tests.test_telegram import TgChat, run, telegram_services
from tests.test_telegram_polling import _press
from tests.transcript import all_rows, person

# The webhook fixtures of tests/test_telegram.py, reused as they are.
fake = webhook.fake
tg = webhook.tg
client = webhook.client

LANGS = pytest.mark.parametrize(("lang", "code"), [("zh", "zh-hans"), ("en", "en")],
                                ids=["zh", "en"])
CODE = re.compile(r"[2-9A-Z]{5}-[2-9A-Z]{5}")
ORDINARY_DUE = "2027-01-22"  # the demo clock's day + 60
DIRECTOR, ZHAO, SUN, WU = 900000001, 900000002, 900000003, 900000004  # from store/demo/org.yaml
SAID = {
    "zh": {"description": "十月份的加班费到现在还没有发下来", "short": "工资没发",
           "outcome": "补发十月加班费", "topic": "想谈谈十月加班费的问题",
           "what": "二十多人聚集在厂门口要求发工资", "place": "厂门口", "people": "约二十五人",
           "measures": "车间主任已到场劝导", "suggestion": "请财务部门到场说明",
           "not_a_date": "下个月", "not_a_number": "很多人"},
    "en": {"description": "October's overtime pay has still not been paid",
           "short": "not paid", "outcome": "Pay October's overtime",
           "topic": "October overtime pay", "what": "About twenty people at the gate ask for wages",
           "place": "Main gate", "people": "about 25", "measures": "The shift manager is there",
           "suggestion": "Ask finance to come and explain", "not_a_date": "next month",
           "not_a_number": "lots of people"},
}


def ask(lang: str, flow: str, step: str, n: int, total: int) -> str:
    """A question as the engine asks it: its progress header, then the question."""
    return t(lang, "flow.progress", n=n, total=total) + " " + t(lang, f"{flow}.{step}.ask")


def captioned(lang: str, count: int, flow: str, step: str, n: int, said: str) -> str:
    """Files kept whose caption answered question n: said so, quoting it (short), and
    how to change it."""
    quoted = said if len(said) <= BRIEF else said[:BRIEF] + "…"
    return t(lang, "attachment.kept", count=count) + "\n" + t(
        lang, "attachment.caption_kept", said=quoted, n=n, label=t(lang, f"{flow}.{step}.label"))


def one(*replies: str) -> str:
    """Replies of one step as Telegram shows them: one message, a blank line between."""
    return "\n\n".join(replies)


def help_text(lang: str, flow: str, step: str) -> str:
    return t(lang, f"{flow}.{step}.help") + "\n\n" + t(lang, "help.commands")


def chat_person(svc: Services, chat_id: int) -> Person:
    with Session(svc.db) as s:
        contact = s.exec(select(Contact).where(Contact.channel == "telegram",
                                               Contact.address == str(chat_id))).one()
        found = s.get(Person, contact.person_id)
    assert found is not None
    return found


def saved_state(svc: Services, chat_id: int) -> dict[str, Any]:
    with Session(svc.db) as s:
        row = s.get(Conversation, f"telegram:{chat_id}")
        return dict(row.state) if row else {}


def last_markup(fake: FakeBotApi, chat_id: int) -> dict[str, Any]:
    markup = fake.sent_messages(chat_id)[-1].params.get("reply_markup")
    assert markup, "the last message has no keyboard"
    return dict(markup)


def menu_labels(fake: FakeBotApi, chat_id: int) -> list[str]:
    """The main menu: a reply keyboard whose labels come back as typed text."""
    markup = last_markup(fake, chat_id)
    assert "keyboard" in markup, markup
    return [b["text"] for row in markup["keyboard"] for b in row]


def menu_labels_before(fake: FakeBotApi, chat_id: int) -> list[str]:
    """The reply keyboard on screen: the labels of the last one the bot sent."""
    for call in reversed(fake.sent_messages(chat_id)):
        markup = call.params.get("reply_markup") or {}
        if "keyboard" in markup:
            return [b["text"] for row in markup["keyboard"] for b in row]
    return []


def inline_buttons(fake: FakeBotApi, chat_id: int) -> list[tuple[str, str]]:
    markup = last_markup(fake, chat_id)
    assert "inline_keyboard" in markup, markup
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


def employee_menu(lang: str) -> list[str]:
    return [t(lang, m.label) for m in menu_for("employee")]


def leader_alerts(fake: FakeBotApi, chat_id: int, prefix: str) -> list[Any]:
    return [c for c in fake.sent_messages(chat_id) if c.text.startswith(prefix)]


async def open_bot(client: httpx.AsyncClient, fake: FakeBotApi, chat_id: int) -> TgChat:
    """A leader opens the bot from the Telegram id the org file lists for them, and is
    welcomed as a leader (the director as the director)."""
    chat = TgChat(client, fake, chat_id)
    welcome = "menu.welcome_director" if chat_id == DIRECTOR else "menu.welcome_leader"
    assert await chat.say("/start") == [t("zh", welcome)]
    return chat


# --- complaint --------------------------------------------------------------------------


def complaint_steps(lang: str, category: str, workshop: str, identity: str
                    ) -> list[tuple[str, str]]:
    said = SAID[lang]
    return [
        (t(lang, "menu.complaint"), ask(lang, "complaint", "category", 1, 8)),
        (f"[{t(lang, f'opt.category.{category}')}]",
         ask(lang, "complaint", "description", 2, 8)),
        (said["description"], ask(lang, "complaint", "since", 3, 8)),
        ("2026-10-15", ask(lang, "complaint", "affected", 4, 8)),
        ("3", ask(lang, "complaint", "cosigners", 5, 8)),
        (f"[{t(lang, 'nav.skip')}]", ask(lang, "complaint", "workshop", 6, 8)),
        (f"[{workshop}]", ask(lang, "complaint", "outcome", 7, 8)),
        (said["outcome"], ask(lang, "complaint", "identity", 8, 8)),
        (f"[{t(lang, f'opt.identity.{identity}')}]", t(lang, "review.title")),
    ]


@LANGS
async def test_a_named_complaint_goes_to_the_responsible_leader(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    leader = await open_bot(client, fake, ZHAO)
    chat = TgChat(client, fake, 7401, code)
    assert await chat.say("/start") == [t(lang, "menu.welcome")]
    assert menu_labels(fake, 7401) == employee_menu(lang)  # in the user's language

    await run(chat, complaint_steps(lang, "wages", "铸造车间", "named"))
    review = fake.sent_messages(7401)[-1].text
    assert SAID[lang]["description"] in review and SAID[lang]["outcome"] in review
    texts = await chat.press(t(lang, "nav.confirm"))

    assert texts == [one(t(lang, "complaint.done", number="C-2026-0001", due_on=ORDINARY_DUE,
                           days=60), t(lang, "menu.prompt"))]
    assert menu_labels(fake, 7401) == employee_menu(lang)
    me = chat_person(tg, 7401)
    assert (me.lang, me.verified) == (lang, False)
    [case] = all_rows(tg, Case)
    [casting] = all_rows(tg, Workshop, Workshop.key == "casting")
    assert (case.number, case.category, case.description, case.since) == (
        "C-2026-0001", "wages", SAID[lang]["description"], "2026-10-15")
    assert (case.affected, case.cosigners, case.workshop_id, case.outcome_wanted) == (
        3, 0, casting.id, SAID[lang]["outcome"])
    assert (case.anonymous, case.complainant_id, case.receipt_hash) == (False, me.id, None)
    assert (case.handler_id, case.status, case.leader_case) == (
        person(tg, "zhao_guoqiang").id, "assigned", False)
    assert case.channel == "telegram"
    [alert] = all_rows(tg, Alert)
    assert (alert.subject, alert.subject_id, alert.recipient_id) == (
        "case", case.id, case.handler_id)
    # the leader reads it in his own Telegram chat, in Chinese, with its 收到 button
    [notice] = leader.new_texts()
    assert notice.startswith("【交办】C-2026-0001 工资福利")
    assert SAID[lang]["description"] in notice and "反映人：未认证的职工" in notice
    assert inline_buttons(fake, ZHAO) == [("收到", f"ack:{alert.id}"),
                                          ("办理此问题", f"flow:case_action?case={case.id}")]

    status = await chat.say("/status")
    assert status == [one("\n".join([t(lang, "query.my_cases.title"),
                                     t(lang, "case.line", number="C-2026-0001",
                                       category=t(lang, "opt.category.wages"),
                                       status=t(lang, "status.assigned"), due_on=ORDINARY_DUE)]),
                          t(lang, "menu.prompt"))]


@LANGS
async def test_an_anonymous_complaint_shows_its_receipt_code_once_and_the_code_opens_it(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    leader = await open_bot(client, fake, WU)
    chat = TgChat(client, fake, 7402, code)
    await run(chat, complaint_steps(lang, "safety", "总装车间", "anonymous"))
    texts = await chat.press(t(lang, "nav.confirm"))

    found = CODE.search(texts[0])
    assert found, texts
    receipt = found[0]
    assert texts == [one(t(lang, "complaint.done_anonymous", number="C-2026-0001",
                           due_on=ORDINARY_DUE, days=60, code=receipt), t(lang, "menu.prompt"))]
    [case] = all_rows(tg, Case)
    assert (case.category, case.anonymous, case.complainant_id, case.channel) == (
        "safety", True, None, "telegram")
    assert case.handler_id == person(tg, "wu_jianjun").id
    assert case.receipt_hash == receipt_hash(receipt)
    # the reply went out through the outbox, which kept a placeholder, never the code
    stored = json.dumps([n.params for n in all_rows(tg, Notification)], ensure_ascii=False)
    assert receipt not in stored and receipt.replace("-", "") not in stored
    [notice] = leader.new_texts()
    assert notice.startswith("【交办】C-2026-0001 安全生产") and "反映人：匿名" in notice

    assert await chat.say(t(lang, "menu.receipt")) == [
        one(t(lang, "receipt.intro"), ask(lang, "receipt", "code", 1, 1))]
    assert await chat.say(receipt.lower()) == [one(
        t(lang, "receipt.found", number="C-2026-0001", category=t(lang, "opt.category.safety"),
          status=t(lang, "status.assigned"), handler="吴建军", due_on=ORDINARY_DUE,
          updated="2026-11-23"),
        t(lang, "menu.prompt"))]
    assert await chat.say("/status") == [one(t(lang, "query.my_cases.none"),
                                             t(lang, "menu.prompt"))]
    everything = [c.text for c in fake.sent_messages(7402)]
    assert sum(receipt in text for text in everything) == 1, everything


# --- visit booking and cancelling it ---------------------------------------------------


@LANGS
async def test_a_visit_is_booked_on_the_first_duty_slot_and_cancelled_in_my_bookings(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    publish_roster(tg)  # the receptions the employees were told of (公示)
    leader = await open_bot(client, fake, SUN)  # on reception duty today
    chat = TgChat(client, fake, 7403, code)
    entry = upcoming(tg)[0]
    label = slot_label(tg, entry, lang)
    button = slot_button(tg, entry, lang)
    [asked] = await chat.say(t(lang, "menu.booking"))
    assert asked.startswith(one(t(lang, "booking.intro"), ask(lang, "booking", "slot", 1, 2)))
    slots = [b for b in inline_buttons(fake, 7403) if b[1].startswith("opt:")]
    assert len(slots) == len(upcoming(tg)) == 10
    assert slots[0] == (button, f"opt:{entry.id}@slot")  # the first listed slot: today's
    # A phone shows each button whole: day, start and leader; what they all share, and
    # each leader's post and portfolio, are said once above them.
    assert slots[0][0] == {"zh": "11-23 周一 08:30 孙红梅", "en": "11-23 Mon 08:30 孙红梅"}[lang]
    assert max(len(text) for text, _ in slots) <= PHONE_BUTTON
    sun = person(tg, "sun_hongmei")
    for part in (entry.place, t(lang, "form.fixed"), "08:30-11:30", sun.post, sun.portfolio):
        assert asked.count(part) == 1, part

    await run(chat, [(f"[{button}]", ask(lang, "booking", "topic", 2, 2))])
    # the question's message, its buttons gone, says which was pressed
    [edit] = fake.calls_to("editMessageText")
    assert edit.params["text"] == f"{asked}\n→ {button}"
    await run(chat, [(SAID[lang]["topic"], t(lang, "review.title"))])
    review = fake.sent_messages(7403)[-1].text
    assert label in review and SAID[lang]["topic"] in review  # the review says it in full
    texts = await chat.press(t(lang, "nav.confirm"))

    # At 09:00 today's 08:30-11:30 reception is under way: "go now", not "be on time".
    assert texts == [one(t(lang, "booking.done_now", number="V-2026-0001", date="2026-11-23",
                           start="08:30", end="11:30", place=entry.place, leader="孙红梅"),
                         t(lang, "menu.prompt"))]
    [row] = all_rows(tg, Booking)
    assert (row.number, row.duty_entry_id, row.topic, row.status, row.channel) == (
        "V-2026-0001", entry.id, SAID[lang]["topic"], "booked", "telegram")
    assert row.person_id == chat_person(tg, 7403).id
    [told] = all_rows(tg, Notification, Notification.message_key == "notice.booking_now")
    assert (told.recipient_id, told.params["number"], told.status) == (
        entry.leader_id, "V-2026-0001", "sent")
    [notice] = leader.new_texts()
    assert notice.startswith("【正在接访】新的预约 V-2026-0001")
    assert SAID[lang]["topic"] in notice

    # "My bookings" offers it as it was booked, and its review says it in full
    await run(chat, [(t(lang, "menu.my_bookings"), t(lang, "cancel_booking.intro")),
                     (f"[{button}]", f"V-2026-0001 · {label}")])
    texts = await chat.press(t(lang, "cancel_booking.nav.confirm"))

    assert texts == [one(t(lang, "cancel_booking.done", number="V-2026-0001"),
                         t(lang, "menu.prompt"))]
    [row] = all_rows(tg, Booking)
    assert row.status == "cancelled" and row.cancelled_at is not None
    [told] = all_rows(tg, Notification,
                      Notification.message_key == "notice.booking_cancelled")
    assert (told.recipient_id, told.status) == (entry.leader_id, "sent")
    assert leader.new_texts() == [t("zh", "notice.booking_cancelled", number="V-2026-0001",
                                    date="2026-11-23", weekday="周一", start="08:30")]
    assert await chat.say(t(lang, "menu.my_bookings")) == [
        one(t(lang, "cancel_booking.empty"), t(lang, "menu.prompt"))]


@LANGS
async def test_a_reception_chosen_by_a_typed_day_is_said_in_the_same_message(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """"明天" booked 11-24's reception with 吴建军; the chat said so only at the review."""
    publish_roster(tg)
    chat = TgChat(client, fake, 7404, code)
    await chat.say(t(lang, "menu.booking"))
    assert await chat.say({"zh": "明天", "en": "tomorrow"}[lang]) == [one(
        t(lang, "choice.typed_chosen",
          slot=f"11-24 {t(lang, 'weekday.1')} 08:30-11:30 吴建军 · 群众工作室（行政楼一楼）"),
        ask(lang, "booking", "topic", 2, 2))]


# --- emergency ---------------------------------------------------------------------------


def check_incident(svc: Services, fake: FakeBotApi, chat_id: int, **expected: Any) -> Incident:
    """The incident row, its alerts to the director and today's duty leader, and the
    alerts as they arrived in the leaders' own Telegram chats."""
    [incident] = all_rows(svc, Incident)
    fields = {k: getattr(incident, k) for k in expected}
    assert fields == expected
    assert (incident.number, incident.status, incident.channel) == (
        "E-2026-0001", "open", "telegram")
    assert incident.reporter_id == chat_person(svc, chat_id).id
    alerts = all_rows(svc, Alert, Alert.subject == "incident", Alert.subject_id == incident.id)
    director, duty = person(svc, "chen_lihua"), duty_leader_today(svc)
    assert duty.key == "sun_hongmei"
    assert [a.recipient_id for a in alerts] == [director.id, duty.id]
    for alert, chat in zip(alerts, (DIRECTOR, SUN), strict=True):
        [push] = all_rows(svc, Notification, Notification.alert_id == alert.id)
        assert (push.message_key, push.priority, push.status) == (
            "notice.incident", outbox.EMERGENCY, "sent")
        [shown] = leader_alerts(fake, chat, "【紧急】E-2026-0001")
        assert f"情况：{incident.what}" in shown.text and f"地点：{incident.place}" in shown.text
        buttons = [b for row in shown.params["reply_markup"]["inline_keyboard"] for b in row]
        assert [(b["text"], b["callback_data"]) for b in buttons] == [("收到", f"ack:{alert.id}")]
    return incident


@LANGS
async def test_an_emergency_is_sent_now_after_two_answers(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    for leader in (DIRECTOR, SUN):
        await open_bot(client, fake, leader)
    chat = TgChat(client, fake, 7404, code)
    said = SAID[lang]
    send_now = (t(lang, "nav.send_now"), "cmd:send")
    assert await chat.say(t(lang, "menu.emergency")) == [
        one(t(lang, "emergency.intro"), ask(lang, "emergency", "what", 1, 5))]
    assert await chat.say(said["what"]) == [ask(lang, "emergency", "place", 2, 5)]
    assert send_now not in inline_buttons(fake, 7404)
    assert await chat.say(said["place"]) == [ask(lang, "emergency", "people", 3, 5)]
    assert send_now in inline_buttons(fake, 7404)

    texts = await chat.press(t(lang, "nav.send_now"))

    assert texts == [one(t(lang, "emergency.done", number="E-2026-0001",
                           alerted=alerted_names(tg, lang)), t(lang, "menu.prompt"))]
    assert "陈丽华" in texts[0] and "孙红梅" in texts[0]  # who was alerted, by name
    check_incident(tg, fake, 7404, what=said["what"], place=said["place"], people=None,
                   measures=None, suggestion=None)
    assert saved_state(tg, 7404)["flow"] is None
    assert fake.calls_to("sendLocation") == []  # a place in words has no pin


@LANGS
async def test_the_place_the_words_named_is_one_tap_on_telegram(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """What happened named the casting workshop's gate: asked where, the worker taps it
    on an inline button (its words shown under the question once pressed, as an option's
    are) and the report is that workshop's."""
    chat = TgChat(client, fake, 7406, code)
    what, place = {"zh": ("铸造车间门口有二十多人聚集", "铸造车间门口"),
                   "en": ("About twenty people outside the casting shop", "铸造车间")}[lang]
    await chat.say(t(lang, "menu.emergency"))
    assert await chat.say(what) == [ask(lang, "emergency", "place", 2, 5)]
    assert inline_buttons(fake, 7406)[0] == (place, "said:place")
    assert await chat.press(place) == [ask(lang, "emergency", "people", 3, 5)]
    [marked] = fake.calls_to("editMessageText")
    assert marked.params["text"] == f"{ask(lang, 'emergency', 'place', 2, 5)}\n→ {place}"
    await chat.press(t(lang, "nav.send_now"))
    [incident] = all_rows(tg, Incident)
    [casting] = all_rows(tg, Workshop, Workshop.key == "casting")
    assert (incident.what, incident.place, incident.workshop_id) == (what, place, casting.id)


@LANGS
async def test_a_report_added_to_its_workshop_s_emergency_offers_to_file_it_apart_inline(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """A second report from the casting workshop is added to the emergency already there:
    one message says so, with 这是另一件事 as an inline button under it (never in place
    of the menu's keyboard); one tap files it as an emergency of its own."""
    for chat_id, what in ((7407, "铸造车间二十多人停工"), (7408, "铸造车间配电柜冒烟起火")):
        chat = TgChat(client, fake, chat_id, code)
        await chat.say(t(lang, "menu.emergency"))
        await chat.say(what)
        await chat.say("铸造车间")
        said = await chat.press(t(lang, "nav.send_now"))
    [link] = all_rows(tg, IncidentLink)
    assert len(said) == 1 and said[0].endswith(t(lang, "emergency.linked_apart"))
    assert inline_buttons(fake, 7408) == [
        (t(lang, "emergency_apart.button"), f"flow:emergency_apart?report={link.id}")]
    await chat.press(t(lang, "emergency_apart.button"))
    [_, second] = all_rows(tg, Incident)
    assert (second.number, second.what) == ("E-2026-0002", "铸造车间配电柜冒烟起火")
    assert all_rows(tg, IncidentLink) == []


VENUE = {"venue": {"location": {"latitude": 31.230416, "longitude": 121.473701},
                   "title": "二号门", "address": "和平路 8 号"},
         "location": {"latitude": 31.230416, "longitude": 121.473701}}


@LANGS
async def test_where_an_emergency_is_may_be_a_place_picked_on_the_map(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """Asked where, the worker picks the gate on Telegram's map instead of typing: the
    place's name, address and coordinates answer the question, and the leaders' alerts
    say them. A location shared at the menu changes nothing and says where it is used."""
    for leader in (DIRECTOR, SUN):
        await open_bot(client, fake, leader)
    chat = TgChat(client, fake, 7414, code)
    said = SAID[lang]

    def picked() -> dict[str, Any]:
        update = text_update(7414, "", language_code=code)
        del update["message"]["text"]
        update["message"].update(VENUE)
        return update

    await chat.say("/menu")
    assert (await chat.post(picked())).status_code == 200
    assert chat.new_texts() == [one(t(lang, "inbound.location_not_here"), t(lang, "menu.prompt"))]
    assert saved_state(tg, 7414)["flow"] is None
    await chat.say(t(lang, "menu.emergency"))
    await chat.say(said["what"])
    assert (await chat.post(picked())).status_code == 200
    assert chat.new_texts() == [ask(lang, "emergency", "people", 3, 5)]
    await chat.press(t(lang, "nav.send_now"))
    place = "📍 二号门, 和平路 8 号 (31.23042, 121.47370)"
    check_incident(tg, fake, 7414, what=said["what"], place=place, people=None,
                   measures=None, suggestion=None)
    # Each leader's alert is followed by its pin, to tap for the way there.
    pins = [(c.chat_id, c.params["latitude"], c.params["longitude"])
            for c in fake.calls_to("sendLocation")]
    assert pins == [(DIRECTOR, 31.23042, 121.4737), (SUN, 31.23042, 121.4737)]


@LANGS
async def test_a_full_emergency_report_is_five_questions_without_a_review(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    for leader in (DIRECTOR, SUN):
        await open_bot(client, fake, leader)
    chat = TgChat(client, fake, 7405, code)
    said = SAID[lang]
    steps = ["what", "place", "people", "measures", "suggestion"]
    assert await chat.say(t(lang, "menu.emergency")) == [
        one(t(lang, "emergency.intro"), ask(lang, "emergency", "what", 1, 5))]
    for n, step in enumerate(steps[:-1], start=1):
        assert await chat.say(said[step]) == [ask(lang, "emergency", steps[n], n + 1, 5)]
    texts = await chat.say(said["suggestion"])

    assert texts == [one(t(lang, "emergency.done", number="E-2026-0001",
                           alerted=alerted_names(tg, lang)), t(lang, "menu.prompt"))]
    check_incident(tg, fake, 7405, what=said["what"], place=said["place"], people=25,
                   measures=said["measures"], suggestion=said["suggestion"])
    assert not any(t(lang, "review.title") in c.text for c in fake.sent_messages(7405))


# --- wrong answers, help, back, cancel ---------------------------------------------------


@LANGS
async def test_wrong_answers_help_back_and_cancel(client: httpx.AsyncClient, fake: FakeBotApi,
                                                  tg: Services, lang: str, code: str) -> None:
    chat = TgChat(client, fake, 7406, code)
    said = SAID[lang]
    category = ask(lang, "complaint", "category", 1, 8)
    description = ask(lang, "complaint", "description", 2, 8)
    since = ask(lang, "complaint", "since", 3, 8)
    affected = ask(lang, "complaint", "affected", 4, 8)
    assert await chat.say(t(lang, "menu.complaint")) == [one(t(lang, "complaint.intro"), category)]
    assert await chat.say("99") == [one(t(lang, "invalid.choice", count=7), category)]
    assert await chat.press(t(lang, "opt.category.wages")) == [description]
    assert await chat.say(said["short"]) == [
        one(t(lang, "invalid.too_short", min=10, got=len(said["short"])), description)]
    assert await chat.say(said["description"]) == [since]
    assert await chat.press(t(lang, "nav.help")) == [one(help_text(lang, "complaint", "since"),
                                                         since)]
    assert await chat.say(said["not_a_date"]) == [one(t(lang, "invalid.date"), since)]
    assert await chat.press(t(lang, "nav.back")) == [description]
    assert saved_state(tg, 7406)["answers"] == {"category": "wages"}
    assert await chat.say(said["description"]) == [since]
    assert await chat.say("2026-10-15") == [affected]
    assert await chat.say(said["not_a_number"]) == [one(t(lang, "invalid.number"), affected)]
    assert saved_state(tg, 7406)["step"] == "affected"

    assert await chat.press(t(lang, "nav.cancel")) == [one(t(lang, "flow.cancelled"),
                                                           t(lang, "menu.prompt"))]
    assert menu_labels(fake, 7406) == employee_menu(lang)
    assert saved_state(tg, 7406)["flow"] is None
    assert all_rows(tg, Case) == [] and all_rows(tg, Alert) == []

    # typed commands and words work as the buttons do
    what = ask(lang, "emergency", "what", 1, 5)
    assert await chat.say(t(lang, "menu.emergency")) == [one(t(lang, "emergency.intro"), what)]
    assert await chat.say(t(lang, "nav.send_now")) == [one(t(lang, "flow.send_not_yet", n=2), what)]
    assert await chat.say("/help") == [one(help_text(lang, "emergency", "what"), what)]
    assert await chat.say(said["what"]) == [ask(lang, "emergency", "place", 2, 5)]
    assert await chat.say("/cancel") == [one(t(lang, "flow.cancelled"), t(lang, "menu.prompt"))]
    assert await chat.say(t(lang, "menu.emergency")) == [one(t(lang, "emergency.intro"), what)]
    assert await chat.press(t(lang, "nav.back")) == [one(t(lang, "flow.back_to_menu"),
                                                         t(lang, "menu.prompt"))]
    assert all_rows(tg, Incident) == []
    assert all_rows(tg, Notification, col(Notification.alert_id).is_not(None)) == []


@LANGS
async def test_typed_slash_commands_work_as_the_buttons_do(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """A worker who knows /cancel and /help from Telegram's command menu types /skip,
    /send or /submit too, some apps adding the bot's name (/skip@workroom_bot): each does
    what its button does, and no "/skip" is kept as an answer. An answer that only begins
    with a slash is kept as typed."""
    said = SAID[lang]
    chat = TgChat(client, fake, 7409, code)
    assert await chat.say(t(lang, "menu.emergency")) == [
        one(t(lang, "emergency.intro"), ask(lang, "emergency", "what", 1, 5))]
    await run(chat, [(said["what"], ask(lang, "emergency", "place", 2, 5)),
                     (said["place"], ask(lang, "emergency", "people", 3, 5)),
                     (f"/skip@{BOT_USERNAME}", ask(lang, "emergency", "measures", 4, 5)),
                     ("/skip", ask(lang, "emergency", "suggestion", 5, 5))])
    [done] = await chat.say("/send")
    assert done.startswith(t(lang, "emergency.done", number="E-2026-0001",
                             alerted=alerted_names(tg, lang)))
    [incident] = all_rows(tg, Incident)
    assert (incident.what, incident.place, incident.people, incident.measures,
            incident.suggestion) == (said["what"], said["place"], None, None, None)

    outcome = f"/{said['outcome']}"
    await run(chat, [(t(lang, "menu.complaint"), ask(lang, "complaint", "category", 1, 8)),
                     (f"[{t(lang, 'opt.category.wages')}]",
                      ask(lang, "complaint", "description", 2, 8)),
                     (said["description"], ask(lang, "complaint", "since", 3, 8)),
                     ("/back", ask(lang, "complaint", "description", 2, 8)),
                     (said["description"], ask(lang, "complaint", "since", 3, 8)),
                     ("2026-10-15", ask(lang, "complaint", "affected", 4, 8)),
                     ("3", ask(lang, "complaint", "cosigners", 5, 8)),
                     ("/Skip", ask(lang, "complaint", "workshop", 6, 8)),
                     ("[铸造车间]", ask(lang, "complaint", "outcome", 7, 8)),
                     (outcome, ask(lang, "complaint", "identity", 8, 8)),
                     (f"[{t(lang, 'opt.identity.named')}]", t(lang, "review.title"))])
    assert await chat.say("/submit") == [
        one(t(lang, "complaint.done", number="C-2026-0001", due_on=ORDINARY_DUE, days=60),
            t(lang, "menu.prompt"))]
    [case] = all_rows(tg, Case)
    assert (case.description, case.affected, case.cosigners, case.outcome_wanted) == (
        said["description"], 3, 0, outcome)
    kept = json.dumps([saved_state(tg, 7409), incident.model_dump(mode="json"),
                       case.model_dump(mode="json")], ensure_ascii=False)
    assert "/skip" not in kept.lower() and "/submit" not in kept and "/send" not in kept


async def test_switching_language_with_the_menu_button_and_lang(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    for leader in (DIRECTOR, SUN):
        await open_bot(client, fake, leader)
    chat = TgChat(client, fake, 7407)  # a Chinese Telegram
    assert await chat.say("/start") == [t("zh", "menu.welcome")]
    assert "English" in menu_labels(fake, 7407)

    assert await chat.say("English") == [one(t("en", "lang.switched"), t("en", "menu.prompt"))]
    assert menu_labels(fake, 7407) == employee_menu("en")
    assert chat_person(tg, 7407).lang == "en"
    await run(chat, [("Report an emergency", ask("en", "emergency", "what", 1, 5)),
                     (SAID["en"]["what"], ask("en", "emergency", "place", 2, 5)),
                     (SAID["en"]["place"], ask("en", "emergency", "people", 3, 5))])
    texts = await chat.press("Send now")
    assert texts == [one(t("en", "emergency.done", number="E-2026-0001",
                           alerted=alerted_names(tg, "en")), t("en", "menu.prompt"))]
    check_incident(tg, fake, 7407, what=SAID["en"]["what"], place=SAID["en"]["place"])

    # /lang in the middle of a form: the same question again, in the other language
    await run(chat, [("Raise a problem", ask("en", "complaint", "category", 1, 8))])
    assert await chat.say("/lang") == [t("zh", "lang.switched"),
                                       ask("zh", "complaint", "category", 1, 8)]
    assert [b[0] for b in inline_buttons(fake, 7407)][:2] == ["工资福利", "安全生产"]
    assert chat_person(tg, 7407).lang == "zh"
    assert await chat.say("/cancel") == [one(t("zh", "flow.cancelled"), t("zh", "menu.prompt"))]
    assert menu_labels(fake, 7407) == employee_menu("zh")


@LANGS
async def test_switching_language_during_a_form_switches_the_menu_keyboard_too(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The main menu stays under the input field during a form. Switched to the other
    language mid-form (/lang, or the menu's own language button), the worker sees that
    keyboard in the new words at once, not when the form ends; the question comes again
    in the new language with its own buttons under it."""
    other = "en" if lang == "zh" else "zh"
    chat = TgChat(client, fake, 7410, code)
    assert await chat.say("/start") == [t(lang, "menu.welcome")]
    assert await chat.say(t(lang, "menu.complaint")) == [
        one(t(lang, "complaint.intro"), ask(lang, "complaint", "category", 1, 8))]
    assert menu_labels_before(fake, 7410) == employee_menu(lang)

    for said, now in (("/lang", other), (t(other, "menu.lang"), lang)):
        sent = len(fake.sent_messages(7410))
        assert await chat.say(said) == [t(now, "lang.switched"),
                                        ask(now, "complaint", "category", 1, 8)], said
        switched, question = fake.sent_messages(7410)[sent:]
        assert "keyboard" in switched.params["reply_markup"]
        assert menu_labels_before(fake, 7410) == employee_menu(now)
        assert [b[0] for b in inline_buttons(fake, 7410)][:2] == [
            t(now, "opt.category.wages"), t(now, "opt.category.safety")]
        assert "keyboard" not in question.params["reply_markup"]
    # the form goes on where it was, in the language now chosen
    assert await chat.press(t(lang, "opt.category.wages")) == [
        ask(lang, "complaint", "description", 2, 8)]
    assert saved_state(tg, 7410)["answers"] == {"category": "wages"}


# --- the same flows by long polling ------------------------------------------------------


class PolledChat:
    """One Telegram user whose updates the bot fetches by long polling."""

    def __init__(self, fake: FakeBotApi, chat_id: int, language: str = "zh-hans") -> None:
        self.fake, self.chat_id, self.language = fake, chat_id, language
        self.seen = 0

    async def send(self, said: str, replies: int) -> list[str]:
        """Say a text, or press "[callback data]"; wait for that many new messages."""
        if said.startswith("[") and said.endswith("]"):
            _press(self.fake, self.chat_id, said[1:-1])
        else:
            self.fake.push_update(text_update(self.chat_id, said,
                                              language_code=self.language))
        sent = await self.fake.wait_for_messages(self.chat_id, self.seen + replies, timeout=15)
        texts = [c.text for c in sent[self.seen:]]
        self.seen = len(sent)
        return texts

    async def wait(self, total: int) -> list[str]:
        """Wait until the chat has `total` messages (pushes nobody asked for); the new ones."""
        sent = await self.fake.wait_for_messages(self.chat_id, total, timeout=15)
        texts = [c.text for c in sent[self.seen:]]
        self.seen = len(sent)
        return texts


@LANGS
async def test_a_named_complaint_by_long_polling(sqlite_url: str, clock: FrozenClock,
                                                 fake: FakeBotApi, lang: str,
                                                 code: str) -> None:
    svc = telegram_services(sqlite_url, clock, fake, "polling")
    svc.telegram.start_polling()
    try:
        leader = PolledChat(fake, ZHAO)
        assert await leader.send("/start", 1) == [t("zh", "menu.welcome_leader")]
        chat = PolledChat(fake, 8401, code)
        said = SAID[lang]
        steps = [
            (t(lang, "menu.complaint"), [one(t(lang, "complaint.intro"),
                                             ask(lang, "complaint", "category", 1, 8))]),
            ("[opt:wages]", [ask(lang, "complaint", "description", 2, 8)]),
            (said["description"], [ask(lang, "complaint", "since", 3, 8)]),
            ("2026-10-15", [ask(lang, "complaint", "affected", 4, 8)]),
            ("3", [ask(lang, "complaint", "cosigners", 5, 8)]),
            ("[cmd:skip]", [ask(lang, "complaint", "workshop", 6, 8)]),
            ("[opt:casting]", [ask(lang, "complaint", "outcome", 7, 8)]),
            (said["outcome"], [ask(lang, "complaint", "identity", 8, 8)]),
        ]
        for step, expected in steps:
            assert await chat.send(step, len(expected)) == expected, step
        [review] = await chat.send("[opt:named]", 1)
        assert review.startswith(t(lang, "review.title"))
        assert await chat.send("[cmd:confirm]", 1) == [one(
            t(lang, "complaint.done", number="C-2026-0001", due_on=ORDINARY_DUE, days=60),
            t(lang, "menu.prompt"))]
        [notice] = await leader.wait(2)
        assert notice.startswith("【交办】C-2026-0001 工资福利")
        [status] = await chat.send("/status", 1)
        assert t(lang, "case.line", number="C-2026-0001",
                 category=t(lang, "opt.category.wages"), status=t(lang, "status.assigned"),
                 due_on=ORDINARY_DUE) in status

        [case] = all_rows(svc, Case)
        assert (case.category, case.affected, case.channel) == ("wages", 3, "telegram")
        assert case.workshop_id == all_rows(svc, Workshop, Workshop.key == "casting")[0].id
        assert case.handler_id == person(svc, "zhao_guoqiang").id
        assert case.complainant_id == chat_person(svc, 8401).id
        assert chat_person(svc, 8401).lang == lang
    finally:
        svc.close()
    assert fake.pending_updates() == []  # every update confirmed once handled


@LANGS
async def test_an_emergency_by_long_polling(sqlite_url: str, clock: FrozenClock,
                                            fake: FakeBotApi, lang: str, code: str) -> None:
    svc = telegram_services(sqlite_url, clock, fake, "polling")
    svc.telegram.start_polling()
    try:
        leaders = [PolledChat(fake, DIRECTOR), PolledChat(fake, SUN)]
        for leader, welcome in zip(leaders, ("menu.welcome_director", "menu.welcome_leader"),
                                   strict=True):
            assert await leader.send("/start", 1) == [t("zh", welcome)]
        chat = PolledChat(fake, 8402, code)
        said = SAID[lang]
        assert await chat.send(t(lang, "menu.emergency"), 1) == [
            one(t(lang, "emergency.intro"), ask(lang, "emergency", "what", 1, 5))]
        assert await chat.send(said["what"], 1) == [ask(lang, "emergency", "place", 2, 5)]
        assert await chat.send(said["place"], 1) == [ask(lang, "emergency", "people", 3, 5)]
        assert await chat.send("[cmd:send]", 1) == [one(
            t(lang, "emergency.done", number="E-2026-0001", alerted=alerted_names(svc, lang)),
            t(lang, "menu.prompt"))]
        for leader in leaders:
            [alert] = await leader.wait(2)
            assert alert.startswith("【紧急】E-2026-0001")
        await svc.telegram.settled()  # the sends recorded
        check_incident(svc, fake, 8402, what=said["what"], place=said["place"], people=None)
    finally:
        svc.close()
    assert fake.pending_updates() == []


# --- the leader answers on Telegram, the worker rates from the push ---------------------


# What the case is about, as the leader's list of cases shows it: the first words of what
# the worker wrote, in the worker's language.
SUMMARY = {"zh": SAID["zh"]["description"], "en": "October's overtime…"}


def handling_option(lang: str, status: str) -> str:
    """The worker's case as 赵国强 (who reads Chinese) chooses it in 办理问题."""
    return t("zh", "case.option_handling", number="C-2026-0001",
             category=t("zh", "opt.category.wages"), summary=SUMMARY[lang],
             handler=t("zh", "case.handled_by", name="赵国强"),
             status=t("zh", f"status.{status}"), due_on=ORDINARY_DUE)


@LANGS
async def test_a_leader_replies_on_telegram_and_the_worker_rates_from_the_push(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    leader = await open_bot(client, fake, ZHAO)
    chat = TgChat(client, fake, 7408, code)
    await run(chat, complaint_steps(lang, "wages", "铸造车间", "named"))
    await chat.press(t(lang, "nav.confirm"))
    leader.new_texts()

    answer = "财务科已核实，十月加班费于下周一补发。"
    await run(leader, [(t("zh", "menu.case_action"), t("zh", "case_action.case.ask")),
                       ("[" + handling_option(lang, "assigned") + "]",
                        t("zh", "case_action.action.ask")),
                       ("[" + t("zh", "opt.case_action.reply") + "]",
                        t("zh", "case_action.reply.ask")),
                       (answer, t("zh", "review.title"))])
    [done] = await leader.press(t("zh", "nav.confirm"))
    assert done.startswith(t("zh", "case_action.done.reply", number="C-2026-0001",
                             told=t("zh", "case_action.told.named")))

    # The worker's push carries its own button, inline under it; the menu stays below.
    [told] = chat.new_texts()
    assert told == t(lang, "notice.case_replied", number="C-2026-0001", reply=answer)
    assert inline_buttons(fake, 7408) == [(t(lang, "menu.rate"), "flow:rate")]
    assert await chat.press(t(lang, "menu.rate")) == [
        # By receipt code there is the code to type too: it counts until a case is chosen,
        # so that the total shown never grows.
        one(t(lang, "rate.intro"), ask(lang, "rate", "case", 1, 3))]
    # An unverified worker (an unknown Telegram account) rates their own named case.
    assert await chat.press(t(lang, "case.option", number="C-2026-0001",
                              category=t(lang, "opt.category.wages"),
                              status=t(lang, "status.replied"), due_on=ORDINARY_DUE)) == [
        ask(lang, "rate", "rating", 2, 2)]
    [rated] = await chat.press(t(lang, "opt.rating.satisfied"))
    assert rated == one(t(lang, "rate.done", number="C-2026-0001"), t(lang, "menu.prompt"))
    [case] = all_rows(tg, Case)
    assert (case.status, case.rating) == ("follow_up", "satisfied")


@LANGS
async def test_a_case_closed_before_its_rating_is_rated_from_the_closing_push(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The leader answers and closes at once: the worker's closing push says with what,
    and carries the button to rate it; 不满意 reopens it with the director, and the
    leader is told it has gone up."""
    leader = await open_bot(client, fake, ZHAO)
    chat = TgChat(client, fake, 7409, code)
    await run(chat, complaint_steps(lang, "wages", "铸造车间", "named"))
    await chat.press(t(lang, "nav.confirm"))
    leader.new_texts()
    answer, outcome = "财务科已核实，十月加班费于下周一补发。", "十月加班费已补发"
    for action, said, status in (("reply", answer, "assigned"), ("close", outcome, "replied")):
        await run(leader, [
            (t("zh", "menu.case_action"), t("zh", "case_action.case.ask")),
            ("[" + handling_option(lang, status) + "]",
             t("zh", "case_action.action.ask")),
            ("[" + t("zh", f"opt.case_action.{action}") + "]", ""),
            (said, t("zh", "review.title"))])
        await leader.press(t("zh", "nav.confirm"))
    leader.new_texts()
    [case] = all_rows(tg, Case)
    assert case.status == "closed"
    texts = chat.new_texts()
    assert texts[-1] == t(lang, "notice.case_closed_rate", number="C-2026-0001",
                          outcome=outcome, days=15, until="2026-12-08")
    assert inline_buttons(fake, 7409) == [(t(lang, "menu.rate"), f"flow:rate?case={case.id}")]
    # Its case chosen by the button: the rating is asked at once.
    [asked] = await chat.press(t(lang, "menu.rate"))
    assert asked == one(t(lang, "rate.intro"), ask(lang, "rate", "rating", 1, 1))
    [reopened] = await chat.press(t(lang, "opt.rating.unsatisfied"))
    [case] = all_rows(tg, Case)
    assert (case.status, case.rating, case.handler_id) == \
        ("reopened", "unsatisfied", person(tg, "chen_lihua").id)
    assert reopened == one(t(lang, "rate.reopened", number="C-2026-0001",
                             due_on=case.due_on.isoformat()), t(lang, "menu.prompt"))
    tg.dispatcher.drain()
    assert t("zh", "notice.case_reopened_old_closed", number="C-2026-0001",
             due_on=case.due_on.isoformat()) in leader.new_texts()


@LANGS
async def test_a_suggestion_and_a_booking_by_long_polling(
        sqlite_url: str, clock: FrozenClock, fake: FakeBotApi, lang: str, code: str) -> None:
    svc = telegram_services(sqlite_url, clock, fake, "polling")
    publish_roster(svc)  # the receptions the employees were told of (公示)
    svc.telegram.start_polling()
    try:
        leader = PolledChat(fake, SUN)  # on reception duty today
        assert await leader.send("/start", 1) == [t("zh", "menu.welcome_leader")]
        chat = PolledChat(fake, 8403, code)
        said = SAID[lang]
        assert await chat.send(t(lang, "menu.suggestion"), 1) == [
            one(t(lang, "suggestion.intro"), ask(lang, "suggestion", "topic", 1, 3))]
        assert await chat.send("[opt:living]", 1) == [ask(lang, "suggestion", "text", 2, 3)]
        assert await chat.send(said["topic"], 1) == [ask(lang, "suggestion", "identity", 3, 3)]
        [review] = await chat.send("[opt:named]", 1)
        assert review.startswith(t(lang, "review.title")) and said["topic"] in review
        [done] = await chat.send("[cmd:confirm]", 1)
        assert "S-2026-0001" in done

        entry = upcoming(svc)[0]
        [asked] = await chat.send(t(lang, "menu.booking"), 1)
        assert asked.startswith(one(t(lang, "booking.intro"),
                                    ask(lang, "booking", "slot", 1, 2) + "\n"))
        assert await chat.send(f"[opt:{entry.id}]", 1) == [ask(lang, "booking", "topic", 2, 2)]
        [review] = await chat.send(said["topic"], 1)
        assert review.startswith(t(lang, "review.title"))
        assert await chat.send("[cmd:confirm]", 1) == [one(
            t(lang, "booking.done_now", number="V-2026-0001", date="2026-11-23", start="08:30",
              end="11:30", place=entry.place, leader="孙红梅"), t(lang, "menu.prompt"))]
        [notice] = await leader.wait(2)
        assert notice.startswith("【正在接访】新的预约 V-2026-0001")
    finally:
        svc.close()
    [suggestion] = all_rows(svc, Suggestion)
    assert (suggestion.topic, suggestion.channel) == ("living", "telegram")
    [booking] = all_rows(svc, Booking)
    assert (booking.duty_entry_id, booking.topic, booking.channel) == (
        entry.id, said["topic"], "telegram")
    assert chat_person(svc, 8403).lang == lang
    assert fake.pending_updates() == []
