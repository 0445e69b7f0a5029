"""预约领导接访 / Book a leader visit, and 我的预约 / My bookings (cancel one)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from bot.wechat_render import render
from conversations.clock import FrozenClock
from conversations.engine import STALE, Reply
from handlers import bookings
from store import outbox
from store.calendar_models import DutyPublished
from store.models import Booking, DutyEntry, Notification, Person, Timer
from tests.transcript import LANGS, SKIP, Chat, all_rows, draft, open_menu, person, t

pytestmark = pytest.mark.usefixtures("published_roster")  # booking needs 公示

TODAY = date(2026, 11, 23)
SHANGHAI = ZoneInfo("Asia/Shanghai")
TOPIC = "想谈谈十月加班费的问题"
PLACE = "群众工作室（行政楼一楼）"  # every reception of the demo roster
# The words a phone shows whole on a button: Telegram cuts an inline button's words at
# some 25 to 35 Chinese characters with "…". Every character counts as one here (a digit
# or a Latin letter is narrower than a Chinese one on screen).
PHONE_BUTTON = 24










def upcoming(services: Services) -> list[DutyEntry]:
    with Session(services.db) as s:
        return list(s.exec(select(DutyEntry).where(col(DutyEntry.day) >= TODAY)
                           .order_by(col(DutyEntry.day), col(DutyEntry.start))).all())


def slot_label(services: Services, entry: DutyEntry, lang: str) -> str:
    """How a duty entry must read: date, weekday, time, leader, post, portfolio, place, form."""
    with Session(services.db) as s:
        leader = s.get(Person, entry.leader_id)
    assert leader is not None
    return t(lang, "duty.slot", date=entry.day.strftime("%m-%d"),
             weekday=t(lang, f"weekday.{entry.day.weekday()}"),
             start=entry.start.strftime("%H:%M"), end=entry.end.strftime("%H:%M"),
             leader=leader.name, post=entry.post, portfolio=entry.portfolio, place=entry.place,
             form=t(lang, f"form.{entry.form}"))


def slot_button(services: Services, entry: DutyEntry, lang: str) -> str:
    """A duty entry on its button: date, weekday, start and leader, short enough for a
    phone ("11-25 周三 08:30 吴建军"); the rest is said under the question."""
    with Session(services.db) as s:
        leader = s.get(Person, entry.leader_id)
    assert leader is not None
    return t(lang, "duty.slot_button", date=entry.day.strftime("%m-%d"),
             weekday=t(lang, f"weekday.{entry.day.weekday()}"),
             start=entry.start.strftime("%H:%M"), leader=leader.name)




def start(chat: Chat, lang: str) -> None:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.booking"))
    assert t(lang, "booking.intro") in chat.text
    assert t(lang, "booking.slot.ask") in chat.text


def book(services: Services, chat: Chat, lang: str, entry: DutyEntry,
         topic: str = TOPIC) -> None:
    start(chat, lang)
    chat.press(slot_button(services, entry, lang))
    assert t(lang, "booking.topic.ask") in chat.text
    chat.say(topic)
    assert t(lang, "review.title") in chat.text
    chat.press(t(lang, "nav.confirm"))


def done_text(services: Services, lang: str, number: str, entry: DutyEntry) -> str:
    with Session(services.db) as s:
        leader = s.get(Person, entry.leader_id)
    assert leader is not None
    return t(lang, "booking.done", number=number, date=entry.day.isoformat(),
             weekday=t(lang, f"weekday.{entry.day.weekday()}"),
             start=entry.start.strftime("%H:%M"), end=entry.end.strftime("%H:%M"),
             place=entry.place, leader=leader.name)


# --- the duty list ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_duty_list_shows_the_published_entries_from_today_on(services: Services, chat: Chat,
                                                             lang: str) -> None:
    """Each reception's button says its day, start and leader, short enough for a phone to
    show whole; what they all share (hours, place, form) and each leader's post and
    portfolio are said once under the question. Each button held all of it before, 60
    characters and more, and a phone cut it after the time."""
    wu = person(services, "wu_jianjun")
    with Session(services.db) as s:  # last Friday's reception is history, not bookable
        s.add(DutyEntry(unit_id=wu.unit_id or 0, day=TODAY - timedelta(days=3),
                        start=time(14, 0), end=time(17, 0), place="过去的接访室",
                        leader_id=wu.id or 0, post=wu.post, portfolio=wu.portfolio))
        s.commit()
    entries = upcoming(services)
    assert len(entries) == 10 and entries[0].day == TODAY

    start(chat, lang)

    asked = chat.replies[-1]
    slots = [b.label for b in asked.buttons if b.value.startswith("opt:")]
    assert slots == [slot_button(services, e, lang) for e in entries]
    assert slots[0] == {"zh": "11-23 周一 08:30 孙红梅", "en": "11-23 Mon 08:30 孙红梅"}[lang]
    assert max(len(label) for label in slots) <= PHONE_BUTTON, slots
    assert "过去的接访室" not in asked.text + "".join(slots)
    assert asked.text == "\n".join([
        t(lang, "flow.progress", n=1, total=2) + " " + t(lang, "booking.slot.ask"),
        every(lang, "duty.note.all"), t(lang, "duty.note.leaders"),
        *(leader_line(services, key, lang)
          for key in ("sun_hongmei", "wu_jianjun", "zhao_guoqiang"))])
    if lang == "zh":
        assert asked.text.split("\n")[1:3] == [
            "每场接访：08:30-11:30，在群众工作室（行政楼一楼），定点接访。", "接访领导："]
        assert "• 孙红梅：党委书记，分管党建、干部作风、信访维稳" in asked.text
    assert asked.text.count(PLACE) == 1  # once, not on each of the ten


@pytest.mark.parametrize("lang", LANGS)
def test_wechats_list_of_receptions_reads_as_the_buttons_do(
        services: Services, chat: Chat, lang: str) -> None:
    """WeChat numbers the same short words; the place and the leaders' posts are said
    once above the list, not on each of its ten lines."""
    start(chat, lang)
    shown = render(chat.replies[-1], lang)
    entries = upcoming(services)
    for i, entry in enumerate(entries, start=1):
        assert f"\n{i}. {slot_button(services, entry, lang)}\n" in shown
    assert shown.count(PLACE) == 1
    assert shown.count(person(services, "sun_hongmei").portfolio) == 1
    assert every(lang, "duty.note.all") in shown


@pytest.mark.parametrize("lang", LANGS)
def test_a_reception_elsewhere_is_noted_under_the_question(
        services: Services, chat: Chat, lang: str) -> None:
    """A reception in another room at other hours: the words under the question give the
    usual hours and place, then that one's, named as its button is."""
    from tests.calendar_helpers import publish_roster

    wednesday = next(e for e in upcoming(services) if e.day == date(2026, 11, 25))
    other = next(e for e in upcoming(services) if e.leader_id != wednesday.leader_id)
    with Session(services.db) as s:
        s.add(DutyEntry(unit_id=wednesday.unit_id, day=wednesday.day, start=time(14, 0),
                        end=time(17, 0), place="工会会议室", leader_id=other.leader_id,
                        post=other.post, portfolio=other.portfolio))
        s.commit()
    publish_roster(services)
    afternoon = next(e for e in upcoming(services) if e.place == "工会会议室")
    start(chat, lang)
    asked = chat.replies[-1]
    sep = t(lang, "duty.note.sep")
    assert asked.text.split("\n")[1:3] == [
        every(lang, "duty.note.most"),
        t(lang, "duty.note.other", slot=slot_button(services, afternoon, lang),
          parts=sep.join(["14:00-17:00", t(lang, "duty.note.place", place="工会会议室")]))]
    assert slot_button(services, afternoon, lang) in chat.labels()
    chat.press(slot_button(services, afternoon, lang))
    chat.say(TOPIC)
    assert slot_label(services, afternoon, lang) in chat.replies[-1].text  # the review
    chat.press(t(lang, "nav.confirm"))
    # the confirmation names its place, hours and leader
    assert done_text(services, lang, "V-2026-0001", afternoon) in chat.text


def every(lang: str, key: str) -> str:
    """The demo receptions' shared hours, place and form, as said under the question."""
    sep = t(lang, "duty.note.sep")
    return t(lang, key, parts=sep.join(["08:30-11:30", t(lang, "duty.note.place", place=PLACE),
                                        t(lang, "form.fixed")]))


def leader_line(services: Services, key: str, lang: str) -> str:
    """A leader's post and portfolio, as said under the question."""
    p = person(services, key)
    return t(lang, "duty.note.leader", leader=p.name, about=t(lang, "duty.note.sep").join(
        [p.post, t(lang, "duty.note.portfolio", portfolio=p.portfolio)]))


@pytest.mark.parametrize("lang", LANGS)
def test_without_published_duty_there_is_nothing_to_book(services: Services, chat: Chat,
                                                         lang: str) -> None:
    """The roster is there but not published yet (公示): nothing is offered, and the
    employee is told so instead of an empty list."""
    with Session(services.db) as s:
        for row in s.exec(select(DutyPublished)).all():
            s.delete(row)
        s.commit()
        assert s.exec(select(DutyEntry)).first() is not None
    open_menu(chat, lang)
    chat.press(t(lang, "menu.booking"))

    assert t(lang, "booking.empty") in chat.text
    assert t(lang, "menu.prompt") in chat.text
    assert draft(services, chat)["flow"] is None


# --- booking ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_booking_is_registered_and_the_duty_leader_is_notified(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    leader = Chat(services, person="sun_hongmei")
    leader.say("菜单")  # she last used the console: her push lands in its inbox
    entry = upcoming(services)[0]
    clock.set(datetime.combine(TODAY, time(7, 50), SHANGHAI))  # before it opens

    book(services, chat, lang, entry)

    assert done_text(services, lang, "V-2026-0001", entry) in chat.text
    [row] = all_rows(services, Booking)
    assert re.fullmatch(r"V-\d{4}-\d{4}", row.number)
    assert (row.number, row.duty_entry_id, row.topic, row.status, row.channel) == (
        "V-2026-0001", entry.id, TOPIC, "booked", "console")
    assert row.person_id == person(services, "li_ming").id
    [push] = all_rows(services, Notification)
    assert (push.recipient_id, push.message_key) == (entry.leader_id, "notice.booking_new")
    assert (push.params["number"], push.params["visitor"]) == ("V-2026-0001", "李明")

    services.dispatcher.drain()
    assert all_rows(services, Notification)[0].status == "sent"
    [notice] = leader.inbox()
    assert notice.text == t("zh", "notice.booking_new", number="V-2026-0001",
                            date="2026-11-23", weekday="周一", start="08:30", end="11:30",
                            place=entry.place, form=t("zh", "form.fixed"), visitor="李明",
                            topic=TOPIC)


@pytest.mark.parametrize("lang", LANGS)
def test_a_reception_under_way_is_booked_to_go_now_and_its_leader_hears_it_first(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    """At 10:00 the 08:30-11:30 reception is open: the worker is told to go now, not "be
    on time", and the leader's push says the visitor is coming and goes ahead of routine
    pushes. No reminder is set: the time to remind is past."""
    leader = Chat(services, person="sun_hongmei")
    leader.say("菜单")
    entry = upcoming(services)[0]
    clock.set(datetime.combine(TODAY, time(10, 0), SHANGHAI))
    book(services, chat, lang, entry)
    with Session(services.db) as s:
        sun = s.get(Person, entry.leader_id)
    assert sun is not None
    assert t(lang, "booking.done_now", number="V-2026-0001", end="11:30", place=entry.place,
             leader=sun.name, date="2026-11-23", start="08:30") in chat.text
    assert t(lang, "booking.done", number="V-2026-0001", date="2026-11-23", start="08:30",
             weekday=t(lang, "weekday.0"), end="11:30", place=entry.place,
             leader=sun.name) not in chat.text
    [push] = all_rows(services, Notification)
    assert (push.message_key, push.priority) == ("notice.booking_now", outbox.ALERT)
    services.dispatcher.drain()
    [notice] = leader.inbox()
    assert notice.text == t("zh", "notice.booking_now", number="V-2026-0001",
                            date="2026-11-23", weekday="周一", start="08:30", end="11:30",
                            place=entry.place, form=t("zh", "form.fixed"), visitor="李明",
                            topic=TOPIC)
    assert all_rows(services, Timer, Timer.kind == bookings.KIND) == []


@pytest.mark.parametrize("lang", LANGS)
def test_review_shows_the_slot_and_the_topic(services: Services, chat: Chat,
                                             lang: str) -> None:
    entry = upcoming(services)[2]
    start(chat, lang)
    chat.press(slot_button(services, entry, lang))
    chat.say(TOPIC)
    review = chat.replies[-1].text
    assert f"• {t(lang, 'booking.slot.label')}" in review
    assert slot_label(services, entry, lang) in review
    assert f"• {t(lang, 'booking.topic.label')}" in review and TOPIC in review


@pytest.mark.parametrize("lang", LANGS)
def test_the_same_slot_twice_is_refused_with_a_clear_message(services: Services, chat: Chat,
                                                             lang: str) -> None:
    first, second = upcoming(services)[:2]
    book(services, chat, lang, first)

    start(chat, lang)  # the reception booked already says so in the list
    mine = t(lang, "booking.yours_button", slot=slot_button(services, first, lang))
    assert mine == {"zh": "11-23 周一 08:30 孙红梅（已约）", "en": "11-23 Mon 08:30 孙红梅 ✓"}[lang]
    assert mine in chat.labels() and len(mine) <= PHONE_BUTTON
    assert t(lang, "booking.yours_note") in chat.replies[-1].text  # what the mark means
    assert slot_button(services, second, lang) in chat.labels()
    chat.press(mine)  # refused at once: no topic is asked for nothing

    assert chat.replies[0].text == t(lang, "booking.already", number="V-2026-0001")
    assert t(lang, "booking.slot.ask") in chat.replies[-1].text  # choose again
    assert t(lang, "booking.topic.ask") not in chat.text
    assert len(all_rows(services, Booking)) == 1
    assert len(all_rows(services, Notification)) == 1

    chat.press(slot_button(services, second, lang))
    chat.say("再谈一次加班费")
    assert t(lang, "review.title") in chat.text and "再谈一次加班费" in chat.text
    chat.press(t(lang, "nav.confirm"))
    assert done_text(services, lang, "V-2026-0002", second) in chat.text
    assert [b.duty_entry_id for b in all_rows(services, Booking)] == [first.id, second.id]


# --- my bookings -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_my_bookings_without_any_says_so(services: Services, chat: Chat, lang: str) -> None:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.my_bookings"))
    assert t(lang, "cancel_booking.empty") in chat.text
    assert draft(services, chat)["flow"] is None


@pytest.mark.parametrize("lang", LANGS)
def test_my_bookings_lists_them_and_cancels_one_and_the_leader_is_told(
        services: Services, chat: Chat, lang: str) -> None:
    first, second = upcoming(services)[:2]
    book(services, chat, lang, first)
    book(services, chat, lang, second)

    chat.press(t(lang, "menu.my_bookings"))
    assert t(lang, "cancel_booking.intro") in chat.text
    # each by its reception, as it was booked: short enough for a phone to show whole,
    # the place and the leaders' posts once above them
    listed = [b.label for b in chat.replies[-1].buttons if b.value.startswith("opt:")]
    assert listed == [slot_button(services, first, lang), slot_button(services, second, lang)]
    assert max(len(label) for label in listed) <= PHONE_BUTTON
    assert chat.replies[-1].text.split("\n")[1:] == [
        every(lang, "duty.note.all"), t(lang, "duty.note.leaders"),
        leader_line(services, "sun_hongmei", lang), leader_line(services, "wu_jianjun", lang)]

    chat.press(listed[1])
    # the review says which in full: its number and its reception
    assert t(lang, "review.title") in chat.text
    assert f"V-2026-0002 · {slot_label(services, second, lang)}" in chat.text
    chat.press(t(lang, "cancel_booking.nav.confirm"))

    assert t(lang, "cancel_booking.done", number="V-2026-0002") in chat.text
    kept, cancelled = all_rows(services, Booking)
    assert (kept.status, kept.cancelled_at) == ("booked", None)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    [told] = all_rows(services, Notification,
                      Notification.message_key == "notice.booking_cancelled")
    assert (told.recipient_id, told.params["number"]) == (second.leader_id, "V-2026-0002")
    services.dispatcher.drain()
    assert {n.status for n in all_rows(services, Notification)} == {"sent"}

    chat.press(t(lang, "menu.my_bookings"))  # only the one still booked is listed
    listed = [b.label for b in chat.replies[-1].buttons if b.value.startswith("opt:")]
    assert listed == [slot_button(services, first, lang)]


@pytest.mark.parametrize("lang", LANGS)
def test_an_earlier_lists_slot_pressed_in_my_bookings_cancels_nothing(
        services: Services, chat: Chat, lang: str) -> None:
    """A day's button from the booking list higher up in the chat, pressed while "My
    bookings" asks which to cancel: the day's id is also a booking's, yet it is never
    taken as the booking to cancel."""
    first, second = upcoming(services)[:2]
    start(chat, lang)
    old_slot = chat.button(slot_button(services, first, lang))
    chat.press(t(lang, "nav.cancel"))
    book(services, chat, lang, first)
    book(services, chat, lang, second)
    chat.press(t(lang, "menu.my_bookings"))
    assert t(lang, "cancel_booking.booking.ask") in chat.text
    chat.replies = [Reply("", [old_slot])]
    chat.press(old_slot.label)
    assert chat.replies[0].text == t(lang, STALE)
    assert t(lang, "cancel_booking.booking.ask") in chat.replies[-1].text
    assert {b.status for b in all_rows(services, Booking)} == {"booked"}


@pytest.mark.parametrize("lang", LANGS)
def test_leaving_my_bookings_cancels_nothing(services: Services, chat: Chat,
                                             lang: str) -> None:
    book(services, chat, lang, upcoming(services)[0])
    chat.press(t(lang, "menu.my_bookings"))
    chat.press(t(lang, "nav.back"))
    assert t(lang, "flow.back_to_menu") in chat.text
    chat.press(t(lang, "menu.my_bookings"))
    chat.say("1")
    chat.say("取消" if lang == "zh" else "cancel")  # typed at the review: "cancel it"?
    # Not "cancelled, nothing submitted", which reads as the booking called off.
    assert chat.replies[0].text == t(lang, "cancel_booking.cancelled")
    assert [b.status for b in all_rows(services, Booking)] == ["booked"]


# --- wrong answers, back, cancel -------------------------------------------------------

WRONG = [
    ("slot", "99", "invalid.choice", {"count": 10}),
    ("slot", "随便哪个", "invalid.choice", {"count": 10}),
    ("slot", SKIP, "invalid.not_optional", {}),
    ("topic", "谈", "invalid.too_short", {"min": 2, "got": 1}),
    ("topic", "谈" * 501, "invalid.too_long", {"max": 500, "got": 501}),
    ("topic", "  ", "invalid.empty", {}),
    ("topic", SKIP, "invalid.not_optional", {}),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("step", "bad", "key", "params"), WRONG,
                         ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_wrong_answer_is_refused_with_its_reason_and_changes_nothing(
        services: Services, chat: Chat, lang: str, step: str, bad: str, key: str,
        params: dict[str, Any]) -> None:
    start(chat, lang)
    if step == "topic":
        chat.say("1")
    kept = draft(services, chat)
    assert kept["step"] == step

    chat.say(t(lang, "nav.skip") if bad == SKIP else bad)

    assert chat.replies[0].text == t(lang, key, **params)
    assert t(lang, f"booking.{step}.ask") in chat.replies[-1].text
    assert draft(services, chat) == kept
    assert all_rows(services, Booking) == []


@pytest.mark.parametrize("lang", LANGS)
def test_back_reasks_the_slot_and_then_the_topic(services: Services, chat: Chat,
                                                 lang: str) -> None:
    first, _, third = upcoming(services)[:3]
    start(chat, lang)
    chat.press(slot_button(services, first, lang))
    chat.press(t(lang, "nav.back"))
    assert t(lang, "flow.progress", n=1, total=2) + " " + t(lang, "booking.slot.ask") \
        in chat.text
    chat.press(slot_button(services, third, lang))
    chat.say("先写一个事由")
    chat.press(t(lang, "nav.back"))  # from the review
    assert t(lang, "booking.topic.ask") in chat.text
    chat.say(TOPIC)
    assert slot_label(services, third, lang) in chat.text and "先写一个事由" not in chat.text
    chat.press(t(lang, "nav.confirm"))
    [row] = all_rows(services, Booking)
    assert (row.duty_entry_id, row.topic) == (third.id, TOPIC)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("answered", [0, 1, 2], ids=["slot", "topic", "review"])
def test_cancel_at_any_step_books_nothing(services: Services, chat: Chat, lang: str,
                                          answered: int) -> None:
    start(chat, lang)
    for answer in ["1", TOPIC][:answered]:
        chat.say(answer)
    chat.press(t(lang, "nav.cancel"))
    assert t(lang, "flow.cancelled") in chat.text
    assert all_rows(services, Booking) == []
    assert all_rows(services, Notification) == []


# --- typed numbers are positions in the list -------------------------------------------


def test_typed_number_picks_the_slot_at_that_position(services: Services, clock: FrozenClock,
                                                      chat: Chat) -> None:
    clock.advance(timedelta(days=2))  # Wednesday: the list now starts with entry id 3
    with Session(services.db) as s:
        listed = list(s.exec(select(DutyEntry).where(col(DutyEntry.day) >= TODAY
                                                     + timedelta(days=2))
                             .order_by(col(DutyEntry.day))).all())
    start(chat, "zh")
    chat.say("3")
    chat.say(TOPIC)
    chat.say("确认提交")
    [row] = all_rows(services, Booking)
    assert row.duty_entry_id == listed[2].id


def test_typed_number_cancels_the_booking_at_that_position(services: Services,
                                                           chat: Chat) -> None:
    _, second, third = upcoming(services)[:3]
    book(services, chat, "zh", third)  # booking id 1, listed second
    book(services, chat, "zh", second)  # booking id 2, listed first
    chat.press(t("zh", "menu.my_bookings"))
    chat.say("2")
    chat.say("确认提交")
    statuses = {b.number: b.status for b in all_rows(services, Booking)}
    assert statuses == {"V-2026-0001": "cancelled", "V-2026-0002": "booked"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_reception_already_over_today_is_not_offered_nor_booked(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    """This morning's reception (08:30-11:30) is on the list at 11:20; confirmed at 11:30,
    when it has ended, it is refused and the list shown again without it; nothing is
    booked. Before, a worker could book a reception that was over for the day."""
    from zoneinfo import ZoneInfo

    entries = upcoming(services)
    morning = entries[0]
    assert (morning.day, morning.end) == (TODAY, time(11, 30))
    clock.set(datetime(2026, 11, 23, 11, 20, tzinfo=ZoneInfo("Asia/Shanghai")))
    start(chat, lang)
    assert slot_button(services, morning, lang) in chat.labels()  # still on at 11:20
    chat.press(slot_button(services, morning, lang))
    chat.say(TOPIC)
    clock.set(datetime(2026, 11, 23, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    chat.say("?")  # the review again, as it ends: the reception named, not its id
    assert slot_label(services, morning, lang) in chat.text
    chat.press(t(lang, "nav.confirm"))  # confirmed as it ended
    assert t(lang, "booking.slot_gone") in chat.text
    assert slot_button(services, morning, lang) not in chat.labels()
    assert slot_button(services, entries[1], lang) in chat.labels()
    assert all_rows(services, Booking) == []


@pytest.mark.parametrize("lang", LANGS)
def test_a_typed_number_means_the_option_as_it_was_shown(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    """At 11:20 the list starts with this morning's reception; the worker replies "1" at
    11:35, when it has ended and dropped out: not the reception now first (another day,
    another leader), but "the list changed", and the new list. "2" then, as shown before,
    is still the one that was second."""
    entries = upcoming(services)
    clock.set(datetime.combine(TODAY, time(11, 20), SHANGHAI))
    start(chat, lang)
    assert chat.labels()[0] == slot_button(services, entries[0], lang)
    clock.set(datetime.combine(TODAY, time(11, 35), SHANGHAI))
    chat.say("1")
    assert chat.replies[0].text == t(lang, "invalid.choice_changed", n=1)
    assert t(lang, "booking.topic.ask") not in chat.text
    assert slot_button(services, entries[0], lang) not in chat.labels()
    chat.say("1")  # the list as shown now
    assert t(lang, "booking.topic.ask") in chat.text
    assert slot_label(services, entries[1], lang) in draft_review(services, chat, lang)


# --- a day typed: "周一", "下周一", "明天" ---------------------------------------------------

MONDAY = {"zh": "周一", "en": "monday"}


@pytest.mark.parametrize("lang", LANGS)
def test_monday_typed_on_a_monday_asks_today_or_next_monday(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    """At 09:00 on Monday 11-23 this morning's reception can still be booked: "周一" is
    today's or next Monday's, so the worker is asked which, with those two alone. Before,
    a typed day chose nothing ("please choose 1-10")."""
    entries = upcoming(services)
    today, next_monday = entries[0], next(e for e in entries if e.day == date(2026, 11, 30))
    start(chat, lang)
    kept = draft(services, chat)
    chat.say(MONDAY[lang])
    assert chat.replies[0].text == t(lang, "choice.today_or_next",
                                     weekday=t(lang, "weekday.long.0"), date="11-30")
    assert chat.replies[0].text == {"zh": "今天（周一）还是下周一（11-30）？",
                                    "en": "Today (Monday) or next Monday (11-30)?"}[lang]
    assert t(lang, "booking.slot.ask") in chat.text
    assert [b.label for b in chat.replies[-1].buttons if b.kind == "choice"] == [
        slot_button(services, today, lang), slot_button(services, next_monday, lang)]
    assert draft(services, chat)["answers"] == kept["answers"]  # nothing chosen yet
    chat.say("2")  # the second as shown (WeChat's numbered list): next Monday's
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, next_monday, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_monday_typed_after_mondays_reception_is_next_monday(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    """At 11:40 this morning's reception is over: "周一" can only be next Monday's."""
    clock.set(datetime.combine(TODAY, time(11, 40), SHANGHAI))
    start(chat, lang)
    chat.say(MONDAY[lang])
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang).startswith("11-30 ")


@pytest.mark.parametrize(("typed", "day"), [
    ("下周一", "11-30"), ("这周一", "11-23"), ("本周一", "11-23"), ("next monday", "11-30"),
    ("this monday", "11-23"), ("周三", "11-25"), ("明天", "11-24"), ("11-30", "11-30")])
def test_a_typed_day_chooses_that_days_reception(services: Services, chat: Chat,
                                                 typed: str, day: str) -> None:
    """"下周一" keeps meaning next week's, "这周一" / "本周一" this week's (today)."""
    start(chat, "zh")
    chat.say(typed)
    assert t("zh", "booking.topic.ask") in chat.text
    assert draft_review(services, chat, "zh").startswith(f"{day} ")


@pytest.mark.parametrize("lang", LANGS)
def test_a_day_without_a_reception_is_said_and_chooses_nothing(
        services: Services, chat: Chat, lang: str) -> None:
    start(chat, lang)
    kept = draft(services, chat)
    chat.say({"zh": "周六", "en": "saturday"}[lang])
    assert chat.replies[0].text == t(lang, "choice.day_none", date="11-28",
                                     weekday=t(lang, "weekday.5"))
    assert len([b for b in chat.replies[-1].buttons if b.kind == "choice"]) == 10
    assert draft(services, chat) == kept


@pytest.mark.parametrize("lang", LANGS)
def test_a_day_with_two_receptions_asks_which_of_them(
        services: Services, chat: Chat, lang: str) -> None:
    from tests.calendar_helpers import publish_roster

    wednesday = next(e for e in upcoming(services) if e.day == date(2026, 11, 25))
    other = next(e for e in upcoming(services) if e.leader_id != wednesday.leader_id)
    with Session(services.db) as s:  # another leader receives that afternoon
        s.add(DutyEntry(unit_id=wednesday.unit_id, day=wednesday.day, start=time(14, 0),
                        end=time(17, 0), place="工会会议室", leader_id=other.leader_id,
                        post=other.post, portfolio=other.portfolio))
        s.commit()
    publish_roster(services)
    both = [e for e in upcoming(services) if e.day == date(2026, 11, 25)]
    start(chat, lang)
    chat.say({"zh": "周三", "en": "Wednesday"}[lang])
    assert chat.replies[0].text == t(lang, "choice.day_which", count=2, date="11-25",
                                     weekday=t(lang, "weekday.2"))
    assert [b.label for b in chat.replies[-1].buttons if b.kind == "choice"] == [
        slot_button(services, e, lang) for e in both]
    chat.press(slot_button(services, both[1], lang))
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, both[1], lang)


def today_or_next(services: Services, chat: Chat, lang: str) -> list[str]:
    """"周一" typed at 09:00 on Monday 11-23: asked today or next Monday, with those two
    receptions alone (their words in full, as the review says them, returned)."""
    entries = upcoming(services)
    two = [e for e in entries if e.day.weekday() == 0][:2]
    start(chat, lang)
    chat.say(MONDAY[lang])
    assert choices(chat) == [slot_button(services, e, lang) for e in two]
    return [slot_label(services, e, lang) for e in two]


def shown(two: list[str], services: Services, lang: str) -> list[str]:
    """The buttons of the receptions `two` names in full (today_or_next)."""
    return [slot_button(services, e, lang) for e in upcoming(services)
            if slot_label(services, e, lang) in two]


def choices(chat: Chat) -> list[str]:
    """The options of the question last asked, as shown."""
    return [b.label for b in chat.replies[-1].buttons if b.kind == "choice"]


@pytest.mark.parametrize(("lang", "typed"), [
    ("zh", "随便"), ("zh", "上周"), ("en", "the other one"), ("en", "last week")])
def test_a_wrong_answer_to_today_or_next_asks_those_two_again(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """An answer not understood asks again with the same two receptions, its numbers those
    of the two: "2" is next Monday's. Before, the ten were shown again ("1 到 2" above
    them), and "2" booked Tuesday's with another leader."""
    two = today_or_next(services, chat, lang)
    kept = draft(services, chat)
    chat.say(typed)
    assert chat.replies[0].text == t(lang, "invalid.choice", count=2)
    assert t(lang, "booking.slot.ask") in chat.text
    assert choices(chat) == shown(two, services, lang)
    assert draft(services, chat)["answers"] == kept["answers"]
    chat.say("2")
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == two[1]


@pytest.mark.parametrize("lang", LANGS)
def test_a_number_beyond_the_two_shown_is_refused(
        services: Services, chat: Chat, lang: str) -> None:
    """"3" to the question of two options chose the third of the whole list (Wednesday's
    reception): it is refused, "1 到 2", and the two asked again."""
    two = today_or_next(services, chat, lang)
    kept = draft(services, chat)
    chat.say("3")
    assert chat.replies[0].text == t(lang, "invalid.choice", count=2)
    assert choices(chat) == shown(two, services, lang)
    assert draft(services, chat)["answers"] == kept["answers"]
    chat.say("1")
    assert draft_review(services, chat, lang) == two[0]


@pytest.mark.parametrize("lang", LANGS)
def test_back_from_today_or_next_shows_every_reception(
        services: Services, chat: Chat, lang: str) -> None:
    """"返回" to the two options goes back to all the receptions, the booking kept; it
    dropped the booking ("已回到主菜单") before. A number then means the whole list's."""
    entries = upcoming(services)
    today_or_next(services, chat, lang)
    chat.press(t(lang, "nav.back"))
    assert t(lang, "flow.back_to_menu") not in chat.text
    [asked] = chat.replies
    assert asked.text.split("\n")[0] == t(lang, "flow.progress", n=1, total=2) + " " + t(
        lang, "booking.slot.ask")
    assert choices(chat) == [slot_button(services, e, lang) for e in entries]
    chat.say("2")
    assert draft_review(services, chat, lang) == slot_label(services, entries[1], lang)


@pytest.mark.parametrize(("lang", "typed", "day"), [
    ("zh", "3号", "12-03"), ("zh", "30号", "11-30"), ("zh", "30日", "11-30"),
    ("zh", "三十号", "11-30"), ("en", "3rd", "12-03"), ("en", "the 30th", "11-30")])
def test_a_day_of_the_month_chooses_its_reception_not_that_option(
        services: Services, chat: Chat, clock: FrozenClock, lang: str, typed: str,
        day: str) -> None:
    """"3号" is the 3rd (of December: November's is past), not option 3 (11-25): to the
    whole list and to the two options "周一" asked alike. A bare "3" stays option 3."""
    start(chat, lang)
    chat.say(typed)
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang).startswith(f"{day} ")
    chat.press(t(lang, "nav.back"))
    chat.press(t(lang, "nav.back"))
    clock.advance(timedelta(minutes=1))
    today_or_next(services, chat, lang)
    chat.say(typed)
    assert draft_review(services, chat, lang).startswith(f"{day} ")


@pytest.mark.parametrize(("lang", "typed", "day"), [
    ("zh", "明天上午", "11-24"), ("zh", "今天上午", "11-23"), ("zh", "今天的", "11-23"),
    ("zh", "周三吧", "11-25"), ("zh", "周三？", "11-25"), ("zh", "周三?", "11-25"),
    ("en", "tomorrow morning", "11-24"), ("en", "next mon", "11-30"), ("en", "Wed?", "11-25"),
    ("en", "thurs", "11-26")])
def test_a_day_typed_as_people_say_it_chooses_that_days_reception(
        services: Services, chat: Chat, lang: str, typed: str, day: str) -> None:
    start(chat, lang)
    chat.say(typed)
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang).startswith(f"{day} ")


@pytest.mark.parametrize(("typed", "day"), [
    ("25 Nov", "11-25"), ("Nov 25", "11-25"), ("Dec 1", "12-01"), ("1 December", "12-01"),
    ("December 1st", "12-01"), ("Nov 25th morning", "11-25")])
def test_a_day_typed_with_an_english_month_chooses_that_days_reception(
        services: Services, chat: Chat, typed: str, day: str) -> None:
    """They got "Please tap one of the options", as a day typed in Chinese did not."""
    start(chat, "en")
    chat.say(typed)
    assert t("en", "booking.topic.ask") in chat.text
    assert draft_review(services, chat, "en").startswith(f"{day} ")


@pytest.mark.parametrize(("lang", "typed", "chosen"), [
    ("zh", "明天", f"11-24 周二 08:30-11:30 吴建军 · {PLACE}"),
    ("zh", "周四孙红梅", f"11-26 周四 08:30-11:30 孙红梅 · {PLACE}"),
    ("en", "tomorrow", f"11-24 Tue 08:30-11:30 吴建军 · {PLACE}"),
    ("en", "Dec 1", f"12-01 Tue 08:30-11:30 孙红梅 · {PLACE}")])
def test_a_reception_chosen_by_typed_words_is_said_before_the_next_question(
        services: Services, chat: Chat, lang: str, typed: str, chosen: str) -> None:
    """"明天" chose 11-24's reception with 吴建军, and nothing said so until the review.
    A button pressed, or its number typed, is not said again: the list showed it. What is
    said names its hours, leader and place: the button's words leave out the place."""
    asked = t(lang, "flow.progress", n=2, total=2) + " " + t(lang, "booking.topic.ask")
    start(chat, lang)
    chat.say(typed)
    assert [r.text for r in chat.replies] == [t(lang, "choice.typed_chosen", slot=chosen), asked]
    chat.press(t(lang, "nav.back"))
    chat.say("2")
    assert [r.text for r in chat.replies] == [asked]
    chat.press(t(lang, "nav.back"))
    chat.press(slot_button(services, upcoming(services)[1], lang))
    assert [r.text for r in chat.replies] == [asked]


@pytest.mark.parametrize(("lang", "typed"), [("zh", "今天上午"), ("en", "today?")])
def test_today_answers_today_or_next(services: Services, chat: Chat, lang: str,
                                     typed: str) -> None:
    two = today_or_next(services, chat, lang)
    chat.say(typed)
    assert draft_review(services, chat, lang) == two[0]


@pytest.mark.parametrize("lang", LANGS)
def test_mon_abbreviated_on_a_monday_asks_today_or_next(
        services: Services, chat: Chat, lang: str) -> None:
    start(chat, lang)
    chat.say("Mon")
    assert chat.replies[0].text == t(lang, "choice.today_or_next",
                                     weekday=t(lang, "weekday.long.0"), date="11-30")
    assert len(choices(chat)) == 2


@pytest.mark.parametrize(("lang", "typed"), [("zh", "下下周一"), ("zh", "下下个星期一"),
                                             ("en", "monday after next")])
def test_the_monday_after_next_is_read_as_that_day(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """The demo roster is published to 12-04: 12-07 has none, and says so (before: "please
    choose 1 to 10", the day not understood)."""
    start(chat, lang)
    chat.say(typed)
    assert chat.replies[0].text == t(lang, "choice.day_none", date="12-07",
                                     weekday=t(lang, "weekday.0"))


@pytest.mark.parametrize(("lang", "typed"), [("zh", "11-20"), ("zh", "上周五"),
                                             ("en", "11-20"), ("en", "last friday")])
def test_a_day_gone_by_is_said_to_have_passed(services: Services, chat: Chat, lang: str,
                                              typed: str) -> None:
    start(chat, lang)
    kept = draft(services, chat)
    chat.say(typed)
    assert chat.replies[0].text == t(lang, "choice.day_past", date="11-20",
                                     weekday=t(lang, "weekday.4"))
    assert t(lang, "choice.day_none", date="11-20", weekday=t(lang, "weekday.4")) \
        not in chat.text
    assert len(choices(chat)) == 10
    assert draft(services, chat) == kept


@pytest.mark.parametrize("lang", LANGS)
def test_today_typed_after_todays_reception_says_it_is_over(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    """At 11:40 the morning's reception (08:30-11:30) is over: "今天" says so and names the
    next, first in the list (before: "11-23 周一没有可以选择的接访")."""
    entries = upcoming(services)
    clock.set(datetime.combine(TODAY, time(11, 40), SHANGHAI))
    start(chat, lang)
    kept = draft(services, chat)
    chat.say({"zh": "今天", "en": "today"}[lang])
    assert chat.replies[0].text == t(lang, "choice.today_over", date="11-24",
                                     weekday=t(lang, "weekday.1"))
    assert choices(chat)[0] == slot_button(services, entries[1], lang)
    assert draft(services, chat) == kept


def draft_review(services: Services, chat: Chat, lang: str) -> str:
    """The slot chosen so far, in words."""
    chosen = draft(services, chat)["answers"]["slot"]
    entry = next(e for e in upcoming(services) if str(e.id) == str(chosen))
    return slot_label(services, entry, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_typed_number_keeps_its_option_when_the_list_shifts(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    entries = upcoming(services)
    clock.set(datetime.combine(TODAY, time(11, 20), SHANGHAI))
    start(chat, lang)
    clock.set(datetime.combine(TODAY, time(11, 35), SHANGHAI))
    chat.say("2")  # shown second; now first
    assert t(lang, "booking.topic.ask") in chat.text
    assert str(draft(services, chat)["answers"]["slot"]) == str(entries[1].id)


@pytest.mark.parametrize("lang", LANGS)
def test_a_booking_whose_reception_is_over_is_not_offered_to_cancel(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    """This morning's reception (08:30-11:30), booked at 09:00: at 11:20 "My bookings"
    still offers it; confirmed at 11:40 the cancel is refused (the visit is past, the
    leader is not told of it), and then it is no longer listed."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    entries = upcoming(services)
    morning = entries[0]
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=zone))
    book(services, chat, lang, morning)
    book(services, chat, lang, entries[1])
    clock.set(datetime(2026, 11, 23, 11, 20, tzinfo=zone))
    chat.press(t(lang, "menu.my_bookings"))
    mine = slot_button(services, morning, lang)
    chat.press(mine)
    clock.set(datetime(2026, 11, 23, 11, 40, tzinfo=zone))
    chat.press(t(lang, "cancel_booking.nav.confirm"))
    assert t(lang, "cancel_booking.over", number="V-2026-0001") in chat.text
    assert mine not in chat.labels()
    assert slot_button(services, entries[1], lang) in chat.labels()
    assert {b.status for b in all_rows(services, Booking)} == {"booked"}
    assert all_rows(services, Notification,
                    Notification.message_key == "notice.booking_cancelled") == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_review_of_a_cancellation_says_what_each_button_does(
        services: Services, chat: Chat, lang: str) -> None:
    """The check before calling a booking off once offered "Submit" and "Cancel", and a
    worker who wants it cancelled pressed "Cancel", which keeps it. Its buttons say what
    they do, on WeChat too, where they are words to reply."""
    book(services, chat, lang, upcoming(services)[0])
    chat.press(t(lang, "menu.my_bookings"))
    chat.say("1")
    review = chat.replies[-1]
    assert review.text.endswith(t(lang, "cancel_booking.review.confirm"))
    assert [b.label for b in review.buttons] == [
        t(lang, "cancel_booking.nav.confirm"), t(lang, "nav.back"),
        t(lang, "cancel_booking.nav.cancel"), t(lang, "nav.help")]
    assert t(lang, "nav.confirm") not in chat.labels() and t(lang, "nav.cancel") \
        not in chat.labels()
    # On WeChat the review's sentence says both words to reply, once each; the line after
    # it names the others.
    on_wechat = render(review, lang)
    assert on_wechat.endswith(t(lang, "cancel_booking.review.confirm_typed") + "\n" + t(
        lang, "wechat.nav", words=" / ".join((t(lang, "nav.back"), t(lang, "nav.help")))))
    for word in (t(lang, "cancel_booking.nav.confirm"), t(lang, "cancel_booking.nav.cancel")):
        assert on_wechat.count(word) == 1, word
    chat.say("whatever")
    assert chat.replies[0].text == t(lang, "cancel_booking.review.choose")
    # A menu item asked for meanwhile: the way out is the button as it reads here.
    chat.say(t(lang, "menu.suggestion"))
    assert chat.replies[0].text == t(lang, "flow.menu_in_flow",
                                     flow=t(lang, "cancel_booking.title"),
                                     cancel=t(lang, "cancel_booking.nav.cancel"))
    chat.press(t(lang, "cancel_booking.nav.cancel"))
    assert chat.replies[0].text == t(lang, "cancel_booking.cancelled")
    assert [b.status for b in all_rows(services, Booking)] == ["booked"]


@pytest.mark.parametrize(("lang", "typed", "status"), [
    ("en", "Cancel this booking", "cancelled"), ("en", "cancel this booking.", "cancelled"),
    ("zh", "取消这次预约", "cancelled"), ("en", "submit", "cancelled"),
    ("en", "keep my bookings", "booked"), ("zh", "保留预约", "booked"),
    ("zh", "取消", "booked")])
def test_a_cancellations_buttons_typed_do_what_they_say(
        services: Services, chat: Chat, lang: str, typed: str, status: str) -> None:
    """The buttons' words typed (WeChat asks for them) do as the buttons do; the general
    words still work as before ("submit"; "取消" leaves the form, keeping the booking)."""
    book(services, chat, lang, upcoming(services)[0])
    chat.press(t(lang, "menu.my_bookings"))
    chat.say("1")
    chat.say(typed)
    assert [b.status for b in all_rows(services, Booking)] == [status]
    said = (t(lang, "cancel_booking.done", number="V-2026-0001") if status == "cancelled"
            else t(lang, "cancel_booking.cancelled"))
    assert chat.replies[0].text == said


@pytest.mark.parametrize("lang", LANGS)
def test_an_unverified_workers_booking_names_them_as_alerts_do(
        services: Services, lang: str) -> None:
    """The leader's notice of a booking by someone not verified said "Visitor: (not
    given)", where alerts say "an unverified employee": it says the same now."""
    from handlers.notices import render

    visitor = Chat(services, channel="web", address="anon-visitor-booking")
    entry = upcoming(services)[0]
    book(services, visitor, lang, entry)
    [told] = all_rows(services, Notification, Notification.message_key.in_(  # type: ignore[attr-defined]
        ("notice.booking_new", "notice.booking_now")))
    text = render(told.message_key, told.params, lang, ZoneInfo("Asia/Shanghai")).text
    visitor_line = {"zh": "来访人：未认证的职工", "en": "Visitor: an unverified employee"}[lang]
    assert visitor_line in text, text
    assert t(lang, "review.skipped") not in text


@pytest.mark.parametrize("lang", LANGS)
def test_words_typed_to_the_reception_question_are_not_kept_as_the_topic(
        services: Services, chat: Chat, lang: str) -> None:
    """Words where a reception is asked try to say a day, even those not understood: they
    are not kept as the visit's topic (as a suggestion typed where its topic is asked
    is), and the reception is asked again."""
    start(chat, lang)
    chat.say({"zh": "下下周三上午九点半可以吗", "en": "could it be the one after next week"}[lang])
    assert t(lang, "flow.kept_ahead", label=t(lang, "booking.topic.label")) not in chat.text
    assert "topic" not in draft(services, chat)["answers"]
    assert draft(services, chat)["step"] == "slot"
