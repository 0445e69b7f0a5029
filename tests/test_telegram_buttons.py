"""Buttons on Telegram as a worker on a phone meets them: a push's own buttons under the
push, a button pressed twice or pressed a day later, the menu keyboard that stays on the
screen during a form, the commands of Telegram's command menu, and messages the bot
cannot read. Every case gets a clear answer in the user's language and stores nothing
wrong. Through the webhook, over real HTTP against the fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

import tests.test_telegram as webhook
from bot.bootstrap import Services
from conversations.catalog import t
from conversations.clock import FrozenClock
from conversations.engine import REVIEW
from handlers.identity import issue_code
from store.calendar_models import ScreeningReturn
from store.db import transaction
from store.models import (
    Case,
    Contact,
    Conversation,
    InboundMessage,
    Notification,
    Person,
    Suggestion,
    Workshop,
)
from tests.calendar_helpers import at, run_until
from tests.fakes.telegram_api import (
    BOT_USER,
    BOT_USERNAME,
    Call,
    FakeBotApi,
    callback_update,
    text_update,
)
from tests.test_telegram import TgChat, run
from tests.test_telegram_flows import (
    SAID,
    ask,
    captioned,
    complaint_steps,
    employee_menu,
    menu_labels,
    one,
    saved_state,
)
from tests.transcript import all_rows
from web.app import create_app

fake = webhook.fake
tg = webhook.tg
client = webhook.client

LANGS = pytest.mark.parametrize(("lang", "code"), [("zh", "zh-hans"), ("en", "en")],
                                ids=["zh", "en"])


async def invited(client: httpx.AsyncClient, fake: FakeBotApi, svc: Services, key: str,
                  chat_id: int, language: str) -> TgChat:
    """A person of the organisation opens the bot from their `workroom invite` link."""
    with transaction(svc.db) as s:
        found = s.exec(select(Person).where(Person.key == key)).one()
        code = issue_code(s, person=found, channel="telegram", now=svc.clock.now(),
                          ttl=timedelta(hours=1))
    chat = TgChat(client, fake, chat_id, language)
    [linked] = await chat.say(f"/start {code}")
    assert found.name in linked
    return chat


def markup(fake: FakeBotApi, chat_id: int) -> dict[str, Any]:
    return dict(fake.sent_messages(chat_id)[-1].params.get("reply_markup") or {})


# --- a push's own buttons -----------------------------------------------------------------


@LANGS
async def test_a_liaison_answers_the_monthly_screening_with_one_tap(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    zhou = await invited(client, fake, tg, "zhou_min", 7501, code)
    await asyncio.to_thread(run_until, tg, tg.clock, at(11, 25, 9, 30))
    [*_, ask] = zhou.new_texts()
    assert ask == t(lang, "notice.screening_ask", month="2026-11", workshop="机加工车间",
                    due="2026-11-30")
    # The answers are buttons under the question itself; the worker's menu keyboard stays.
    shown = markup(fake, 7501)
    assert [b["text"] for row in shown["inline_keyboard"] for b in row] == [
        t(lang, "opt.screening_answer.zero"), t(lang, "opt.screening_answer.dispute")]

    texts = await zhou.press(t(lang, "opt.screening_answer.zero"))

    assert texts == [t(lang, "screening.done_zero", workshop="机加工车间", month="2026-11")
                     + "\n\n" + t(lang, "menu.prompt")]
    [machining] = all_rows(tg, Workshop, Workshop.key == "machining")
    [done] = all_rows(tg, ScreeningReturn, ScreeningReturn.workshop_id == machining.id)
    assert done.status == "zero"


# --- a button pressed twice, or a day later -------------------------------------------------


async def press_on(chat: TgChat, shown: Call, data: str) -> list[str]:
    """Press a button of a message the chat was sent, as that message looked then."""
    update = callback_update(chat.chat_id, data, message_id=shown.result["message_id"],
                             message_text=shown.text, reply_markup=shown.params["reply_markup"],
                             language_code=chat.language)
    assert (await chat.post(update)).status_code == 200
    return chat.new_texts()


def edits_of(fake: FakeBotApi, shown: Call) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("editMessageText")
            if (c.params["chat_id"], c.params["message_id"])
            == (shown.chat_id, shown.result["message_id"])]


@LANGS
async def test_a_button_pressed_twice_or_a_day_later_is_not_taken_as_an_answer(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    chat = TgChat(client, fake, 7502, code)
    await chat.say(t(lang, "menu.suggestion"))
    [topic] = fake.sent_messages(7502)
    assert await press_on(chat, topic, "opt:living@topic") == [
        ask(lang, "suggestion", "text", 2, 3)]
    # The same button again, a moment later (a double tap on a shaky bus): not the text.
    assert await press_on(chat, topic, "opt:living@topic") == [
        one(t(lang, "button.stale"), ask(lang, "suggestion", "text", 2, 3))]
    assert saved_state(tg, 7502)["step"] == "text"
    assert saved_state(tg, 7502)["answers"] == {"topic": "living"}
    assert edits_of(fake, topic) == [topic.text + "\n→ " + t(lang, "opt.topic.living")]

    said = SAID[lang]["description"]
    await chat.say(said)
    identity = fake.sent_messages(7502)[-1]
    await chat.say(t(lang, "opt.identity.named"))  # typed: the buttons stay on that message
    assert saved_state(tg, 7502)["step"] == REVIEW
    assert await press_on(chat, identity, "opt:anonymous@identity") == [
        one(t(lang, "button.stale"), fake.sent_messages(7502)[-2].text)]
    review = fake.sent_messages(7502)[-1]
    [done] = await chat.press(t(lang, "nav.confirm"))
    assert done.startswith(t(lang, "suggestion.done", number="S-2026-0001"))
    # 确认提交 tapped twice: the second tap is told the form went, in one short message
    # (the answer and the menu are right above it), not that the button is an old one.
    assert await press_on(chat, review, "cmd:confirm") == [
        t(lang, "button.after_sent", flow=t(lang, "suggestion.title"))]
    assert edits_of(fake, review) == [review.text + "\n→ " + t(lang, "nav.confirm")]
    [row] = all_rows(tg, Suggestion)
    assert (row.topic, row.text, row.anonymous) == ("living", said, False)

    # The next day the form is long done: the old question's button is refused, and the
    # old question is not marked as if it had been chosen.
    tg.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    assert await press_on(chat, identity, "opt:anonymous@identity") == [
        one(t(lang, "button.stale"), t(lang, "menu.prompt"))]
    assert edits_of(fake, identity) == []  # not marked as chosen; its buttons are gone
    assert "reply_markup" not in (fake.get_message(7502, identity.result["message_id"]) or {})
    assert len(all_rows(tg, Suggestion)) == 1


def nav_data(shown: Call, label: str) -> str:
    return next(b["callback_data"] for row in shown.params["reply_markup"]["inline_keyboard"]
                for b in row if b["text"] == label)


@LANGS
async def test_back_or_skip_tapped_twice_goes_one_step(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """"Skip" tapped twice on "how many people?" of an emergency skipped the measures
    taken as well, unasked; "Back" tapped twice threw away two answers. The second tap
    is a tap on a question already answered: told so, and the step stays."""
    chat = TgChat(client, fake, 7510, code)
    said = SAID[lang]
    await chat.say(t(lang, "menu.emergency"))
    await chat.say(said["what"])
    assert await chat.say(said["place"]) == [ask(lang, "emergency", "people", 3, 5)]
    people = fake.sent_messages(7510)[-1]
    skip = nav_data(people, t(lang, "nav.skip"))
    measures = ask(lang, "emergency", "measures", 4, 5)
    assert await press_on(chat, people, skip) == [measures]
    assert await press_on(chat, people, skip) == [one(t(lang, "button.stale"), measures)]
    assert saved_state(tg, 7510)["step"] == "measures"
    assert saved_state(tg, 7510)["answers"] == {"what": said["what"], "place": said["place"],
                                                 "people": None}
    # "Skip" of the question now asked still skips it
    assert await chat.press(t(lang, "nav.skip")) == [ask(lang, "emergency", "suggestion", 5, 5)]

    suggestion = fake.sent_messages(7510)[-1]
    back = nav_data(suggestion, t(lang, "nav.back"))
    assert await press_on(chat, suggestion, back) == [measures]
    assert await press_on(chat, suggestion, back) == [one(t(lang, "button.stale"), measures)]
    assert saved_state(tg, 7510)["step"] == "measures"
    assert saved_state(tg, 7510)["answers"] == {"what": said["what"], "place": said["place"],
                                                 "people": None}


@LANGS
async def test_a_push_button_pressed_in_the_middle_of_a_form_waits_for_the_form(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    zhou = await invited(client, fake, tg, "zhou_min", 7503, code)
    await asyncio.to_thread(run_until, tg, tg.clock, at(11, 25, 9, 30))
    screening = fake.sent_messages(7503)[-1]
    await zhou.say(t(lang, "menu.suggestion"))
    await zhou.press(t(lang, "opt.topic.safety"))
    assert await press_on(zhou, screening, "opt:x") == [
        one(t(lang, "button.stale"), ask(lang, "suggestion", "text", 2, 3))]
    zero = next(b["callback_data"] for row in screening.params["reply_markup"]["inline_keyboard"]
                for b in row if b["text"] == t(lang, "opt.screening_answer.zero"))
    assert await press_on(zhou, screening, zero) == [
        one(t(lang, "button.busy"), ask(lang, "suggestion", "text", 2, 3))]
    assert saved_state(tg, 7503)["answers"] == {"topic": "safety"}
    assert edits_of(fake, screening) == []  # still there to press once the form is done
    assert await zhou.say("/cancel") == [one(t(lang, "flow.cancelled"), t(lang, "menu.prompt"))]
    texts = await press_on(zhou, screening, zero)
    assert texts == [one(t(lang, "screening.done_zero", workshop="机加工车间", month="2026-11"),
                         t(lang, "menu.prompt"))]


# --- the menu keyboard stays on the screen during a form -------------------------------------


@LANGS
async def test_a_menu_key_tapped_during_a_form_is_not_an_answer(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    chat = TgChat(client, fake, 7504, code)
    await chat.say("/start")
    menu = [b["text"] for row in markup(fake, 7504)["keyboard"] for b in row]
    assert t(lang, "menu.complaint") in menu  # a reply keyboard: it stays below the chat
    await chat.say(t(lang, "menu.emergency"))
    what = ask(lang, "emergency", "what", 1, 5)
    still = t(lang, "flow.menu_in_flow", flow=t(lang, "emergency.title"),
             cancel=t(lang, "nav.cancel"))
    for key in ("menu.complaint", "menu.suggestion", "menu.my_cases"):
        assert await chat.say(t(lang, key)) == [one(still, what)]
    assert saved_state(tg, 7504)["answers"] == {}
    assert await chat.say(SAID[lang]["what"]) == [ask(lang, "emergency", "place", 2, 5)]
    assert saved_state(tg, 7504)["answers"] == {"what": SAID[lang]["what"]}


@LANGS
async def test_an_emergency_key_tapped_during_a_complaint_reports_first_and_comes_back(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    chat = TgChat(client, fake, 7509, code)
    category = ask(lang, "complaint", "category", 1, 8)
    assert await chat.say(t(lang, "menu.complaint")) == [one(t(lang, "complaint.intro"),
                                                             category)]
    aside = t(lang, "flow.set_aside", flow=t(lang, "complaint.title"))
    assert await chat.say(t(lang, "menu.emergency")) == [
        one(aside, t(lang, "emergency.intro"), ask(lang, "emergency", "what", 1, 5))]
    await chat.say(SAID[lang]["what"])
    await chat.say("厂门口")
    said = await chat.press(t(lang, "nav.send_now"))
    assert "E-2026-0001" in said[0]
    assert said[-1].endswith(one(t(lang, "flow.taken_up", flow=t(lang, "complaint.title")),
                                 category))
    assert saved_state(tg, 7509)["flow"] == "complaint"


@LANGS
async def test_a_menu_key_tapped_at_a_choice_or_the_review_says_which_form_is_open(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """Half-way through a complaint the worker taps "Make a suggestion" on the menu
    keyboard: told which form is open and how to leave it, not "please choose one of the
    options", at a choice and at the review alike. A keyboard left in the other language
    (from before /lang) is read the same. (An emergency's key puts the form aside: see
    test_an_emergency_key_tapped_during_a_complaint_reports_first_and_comes_back.)"""
    chat = TgChat(client, fake, 7508, code)
    other = "en" if lang == "zh" else "zh"
    still = t(lang, "flow.menu_in_flow", flow=t(lang, "complaint.title"),
             cancel=t(lang, "nav.cancel"))
    category = ask(lang, "complaint", "category", 1, 8)
    assert await chat.say(t(lang, "menu.complaint")) == [one(t(lang, "complaint.intro"),
                                                             category)]
    for said in (t(lang, "menu.suggestion"), t(other, "menu.suggestion")):
        assert await chat.say(said) == [one(still, category)]
    await run(chat, complaint_steps(lang, "wages", "铸造车间", "named")[1:])
    review = fake.sent_messages(7508)[-1].text
    assert await chat.say(t(lang, "menu.suggestion")) == [one(still, review)]
    assert saved_state(tg, 7508)["step"] == REVIEW
    # an option is still taken by its name
    assert await chat.say("/cancel") == [one(t(lang, "flow.cancelled"), t(lang, "menu.prompt"))]
    await chat.say(t(lang, "menu.complaint"))
    assert await chat.say(t(lang, "opt.category.safety")) == [
        ask(lang, "complaint", "description", 2, 8)]


# --- the commands of Telegram's command menu ----------------------------------------------------


@LANGS
async def test_help_and_cancel_at_the_main_menu_are_answered(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    chat = TgChat(client, fake, 7505, code)
    await chat.say("/start")
    assert await chat.say("/help") == [one(t(lang, "help.menu"), t(lang, "menu.prompt"))]
    assert menu_labels(fake, 7505) == employee_menu(lang)
    assert await chat.say("/cancel") == [one(t(lang, "flow.nothing_to_cancel"),
                                              t(lang, "menu.prompt"))]
    assert await chat.say("/menu") == [t(lang, "menu.welcome")]


# --- what the bot cannot read -----------------------------------------------------------------


def unreadable(chat: TgChat, **content: Any) -> dict[str, Any]:
    """A message of the chat's user carrying `content` (a sticker, a location) and no text."""
    update = text_update(chat.chat_id, "", language_code=chat.language)
    del update["message"]["text"]
    update["message"].update(content)
    return update


def edited(chat: TgChat, text: str) -> dict[str, Any]:
    """The user edited a message they had sent: Telegram's edited_message update."""
    update = text_update(chat.chat_id, text, language_code=chat.language)
    message = update.pop("message")
    update["edited_message"] = {**message, "edit_date": message["date"] + 30}
    return update


STICKER = {"sticker": {"file_id": "STICKER-1", "file_unique_id": "s1", "type": "regular",
                       "width": 512, "height": 512, "is_animated": False, "is_video": False}}
LOCATION = {"location": {"latitude": 31.23, "longitude": 121.47}}


@LANGS
async def test_a_sticker_a_location_or_an_edit_is_answered_and_changes_nothing(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    chat = TgChat(client, fake, 7506, code)
    await chat.say(t(lang, "menu.complaint"))
    await chat.press(t(lang, "opt.category.wages"))
    description = ask(lang, "complaint", "description", 2, 8)
    for content, told in ((STICKER, "inbound.unreadable"), (LOCATION, "inbound.location_not_here")):
        assert (await chat.post(unreadable(chat, **content))).status_code == 200
        assert chat.new_texts() == [one(t(lang, told), description)]
    said = SAID[lang]["description"]
    assert await chat.say(said) == [ask(lang, "complaint", "since", 3, 8)]
    # The worker corrects the answer by editing it: not read, and told how to correct it.
    assert (await chat.post(edited(chat, said + "!"))).status_code == 200
    assert chat.new_texts() == [one(t(lang, "inbound.edited"),
                                    ask(lang, "complaint", "since", 3, 8))]
    assert saved_state(tg, 7506)["answers"] == {"category": "wages", "description": said}
    assert await chat.say("/cancel") == [one(t(lang, "flow.cancelled"), t(lang, "menu.prompt"))]
    assert (await chat.post(unreadable(chat, **STICKER))).status_code == 200
    assert chat.new_texts() == [one(t(lang, "inbound.unreadable"), t(lang, "menu.prompt"))]


@LANGS
async def test_a_live_location_is_answered_once_not_at_every_move(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """Asked "where?" during an emergency, the worker shares a live location: Telegram
    sends it moving as an edit every few seconds, for up to hours. Where it was shared
    answers the question, once; its moves are not answered as edits the worker made."""
    chat = TgChat(client, fake, 7509, code)
    await chat.say(t(lang, "menu.emergency"))
    place = ask(lang, "emergency", "place", 2, 5)
    assert await chat.say(SAID[lang]["what"]) == [place]
    live = {"location": {**LOCATION["location"], "live_period": 3600}}
    shared = unreadable(chat, **live)
    assert (await chat.post(shared)).status_code == 200
    people = ask(lang, "emergency", "people", 3, 5)
    assert chat.new_texts() == [people]
    for step in range(1, 4):
        moved = dict(shared, update_id=shared["update_id"] + 1000 + step)
        message = moved.pop("message")
        moved["edited_message"] = {**message, "edit_date": message["date"] + 10 * step,
                                   "location": {"latitude": 31.23 + step / 1000,
                                                "longitude": 121.47, "live_period": 3600}}
        assert (await chat.post(moved)).status_code == 200
    assert chat.new_texts() == []
    assert saved_state(tg, 7509)["answers"] == {"what": SAID[lang]["what"],
                                                "place": "📍 (31.23000, 121.47000)"}


async def test_a_groups_service_messages_get_no_answer(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services) -> None:
    """Someone joins or leaves the duty group: nothing to answer, nothing to store."""
    group = TgChat(client, fake, -100555)
    joined = unreadable(group, new_chat_members=[{"id": 4242, "is_bot": False,
                                                  "first_name": "新同事"}])
    assert (await group.post(joined)).status_code == 200
    assert group.new_texts() == []
    assert all_rows(tg, InboundMessage) == []


GROUP = -1001234567001  # a supergroup the bot was added to
MEMBERS = (4101, 4102)  # two of its members, each also able to chat with the bot in private


def in_group(text: str, member: int, code: str, **content: Any) -> dict[str, Any]:
    """A member's message in the group, as Telegram sends it to the bot."""
    update = text_update(GROUP, text, user_id=member, language_code=code)
    update["message"].update(content)
    return update


@LANGS
async def test_in_a_group_the_bot_says_to_chat_in_private_and_starts_nothing(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """The bot was added to a workshop's group. Whatever a member says to it there (a
    command, a mention, a reply to it, a button pressed) is answered with the same short
    notice in the member's language, with the link that opens a private chat with the bot,
    and nothing else: no menu keyboard for the whole group, no form, so no one's complaint
    mixes with another's or is shown to the group; no person is made for the group. Talk
    among members is not answered; a re-delivered update is answered once."""
    group = TgChat(client, fake, GROUP, code)
    notice = t(lang, "group.private_link", link=f"https://t.me/{BOT_USERNAME}")
    first, second = MEMBERS
    said = [in_group("/start", first, code),
            in_group(f"/menu@{BOT_USERNAME}", second, code),
            in_group(f"@{BOT_USERNAME} {t(lang, 'menu.complaint')}", first, code),
            in_group(t(lang, "menu.complaint"), second, code,
                     reply_to_message={"message_id": 1, "from": dict(BOT_USER),
                                       "chat": {"id": GROUP, "type": "supergroup"},
                                       "date": 1, "text": notice}),
            in_group("/skip", first, code)]
    for update in said:
        assert (await group.post(update)).status_code == 200
        assert group.new_texts() == [notice]
        assert "reply_markup" not in fake.sent_messages(GROUP)[-1].params
    assert (await group.post(said[2])).status_code == 200  # Telegram delivers it again
    assert group.new_texts() == []
    # Members talking among themselves (a bot made an admin is sent every message).
    for chatter in (in_group(SAID[lang]["description"], first, code),
                    in_group("@someone 明天几点上班？", second, code)):
        assert (await group.post(chatter)).status_code == 200
    assert group.new_texts() == []
    # A form's button left in the group (from before this was so): the notice, and the
    # button goes, so that no one presses it again.
    old = fake.sent_messages(GROUP)[-1]
    markup = {"inline_keyboard": [[{"text": t(lang, "opt.category.wages"),
                                    "callback_data": "opt:wages"}]]}
    press = callback_update(GROUP, "opt:wages", message_id=old.result["message_id"],
                            message_text=old.text, reply_markup=markup, user_id=second,
                            language_code=code)
    assert (await group.post(press)).status_code == 200
    assert group.new_texts() == [notice]
    assert len(fake.calls_to("answerCallbackQuery")) == 1
    [cleared] = fake.calls_to("editMessageReplyMarkup")
    assert cleared.params["message_id"] == old.result["message_id"]
    assert fake.calls_to("editMessageText") == []

    with Session(tg.db) as s:
        assert s.exec(select(Contact).where(Contact.address == str(GROUP))).all() == []
        assert s.get(Conversation, f"telegram:{GROUP}") is None
    assert len(all_rows(tg, InboundMessage)) == len(said) + 1  # the press
    assert all_rows(tg, Case) == []
    # In private, the same member is served as always.
    member = TgChat(client, fake, first, code)
    assert await member.say("/start") == [t(lang, "menu.welcome")]
    assert await member.say(t(lang, "menu.complaint")) == [
        one(t(lang, "complaint.intro"), ask(lang, "complaint", "category", 1, 8))]


@LANGS
async def test_in_a_group_without_the_bots_name_the_notice_says_how_to_find_it(
        db_url: str, clock: FrozenClock, fake: FakeBotApi, lang: str, code: str) -> None:
    """Telegram did not answer getMe at the start, so the bot's name is not known: the
    notice tells the member how to open a private chat instead of giving the link (the
    name is not asked again for every message). On SQLite and PostgreSQL."""
    fake.fail_next("getMe", status=502)
    svc = webhook.telegram_services(db_url, clock, fake, "webhook")
    try:
        transport = httpx.ASGITransport(app=create_app(svc, run_scheduler=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://wr.test") as c:
            c.telegram = svc.telegram  # type: ignore[attr-defined]
            group = TgChat(c, fake, GROUP, code)
            update = in_group("/start", MEMBERS[0], code)
            for _ in range(2):  # and Telegram delivers it again
                assert (await group.post(update)).status_code == 200
            assert group.new_texts() == [t(lang, "group.private")]
            assert [n.status for n in all_rows(svc, Notification)] == ["sent"]
            assert all_rows(svc, Contact, Contact.address == str(GROUP)) == []
    finally:
        svc.close()
    assert len(fake.calls_to("getMe")) == 1


PDF = {"document": {"file_id": "DOC-payslip", "file_unique_id": "d1", "file_name": "payslip.pdf",
                    "mime_type": "application/pdf", "file_size": 48_000}}
# A GIF as Telegram sends it: the animation, and the same file again as a document.
_GIF = {"file_id": "GIF-wave", "file_unique_id": "g1", "file_name": "wave.mp4",
        "mime_type": "video/mp4", "file_size": 120_000}
GIF = {"animation": _GIF, "document": _GIF}


@LANGS
async def test_a_file_with_its_answer_as_caption_is_kept_a_gif_is_refused(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """A worker sends the payslip as a PDF and writes the answer as its caption: both are
    taken, the file kept and the caption as the answer. A GIF is not evidence: with a
    caption too, the worker is told it cannot be read, and the caption is not taken as the
    answer as if the file had gone with it."""
    chat = TgChat(client, fake, 7507, code)
    await chat.say(t(lang, "menu.complaint"))
    await chat.press(t(lang, "opt.category.wages"))
    assert (await chat.post(unreadable(chat, caption=SAID[lang]["description"],
                                       **PDF))).status_code == 200
    assert chat.new_texts() == [one(captioned(lang, 1, "complaint", "description", 2,
                                              SAID[lang]["description"]),
                                    ask(lang, "complaint", "since", 3, 8))]
    state = saved_state(tg, 7507)
    assert state["answers"] == {"category": "wages", "description": SAID[lang]["description"]}
    assert [a["file_ref"] for a in state["attachments"]] == ["DOC-payslip"]
    assert await chat.say("/cancel") == [one(t(lang, "flow.cancelled"), t(lang, "menu.prompt"))]

    await chat.say(t(lang, "menu.emergency"))
    assert (await chat.post(unreadable(chat, caption=SAID[lang]["what"],
                                       **GIF))).status_code == 200
    assert chat.new_texts() == [one(t(lang, "inbound.unreadable"),
                                    ask(lang, "emergency", "what", 1, 5))]
    assert saved_state(tg, 7507)["answers"] == {}
    assert saved_state(tg, 7507).get("attachments", []) == []


@LANGS
async def test_a_choice_under_a_message_too_long_to_mark_loses_its_buttons(
        client: httpx.AsyncClient, fake: FakeBotApi, tg: Services, lang: str,
        code: str) -> None:
    """A question under a long text (a report to approve, near Telegram's 4,096): the
    pressed option cannot be added below it, so its buttons are taken away instead, the
    text left whole, and nothing is sent that Telegram would refuse."""
    chat = TgChat(client, fake, 7503, code)
    await chat.say(t(lang, "menu.suggestion"))
    [topic] = fake.sent_messages(7503)
    filler = "报告内容\n" * ((4096 - len(topic.text)) // 5)  # the report above the question
    long_text = "报" * ((4096 - len(topic.text)) % 5) + filler + topic.text
    assert len(long_text) == 4096
    update = callback_update(chat.chat_id, "opt:living@topic",
                             message_id=topic.result["message_id"], message_text=long_text,
                             reply_markup=topic.params["reply_markup"],
                             language_code=chat.language)
    assert (await chat.post(update)).status_code == 200
    assert chat.new_texts() == [ask(lang, "suggestion", "text", 2, 3)]
    assert [c for c in fake.calls_to("editMessageText")
            if c.params["message_id"] == topic.result["message_id"]] == []
    assert "reply_markup" not in (fake.get_message(7503, topic.result["message_id"]) or {})
