"""预约领导接访: a day typed with a part of it ("周三下午"), a week or "the next one" said to
"today or next Monday?", and a day past the receptions the list shows."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.models import DutyEntry, Person
from tests.calendar_helpers import publish_roster
from tests.test_flow_booking import (
    SHANGHAI,
    choices,
    draft_review,
    slot_button,
    slot_label,
    start,
    today_or_next,
    upcoming,
)
from tests.transcript import LANGS, Chat, draft, t

pytestmark = pytest.mark.usefixtures("published_roster")  # booking needs 公示

WEDNESDAY = date(2026, 11, 25)


def afternoons(services: Services, *days: date) -> None:
    """Another leader receives on each of `days` in the afternoon too (14:00-17:00), the
    roster published again."""
    entries = upcoming(services)
    leaders = {e.leader_id: e for e in entries}
    with Session(services.db) as s:
        for day in days:
            mornings = [e for e in entries if e.day == day]
            other = next(e for lid, e in leaders.items()
                         if all(m.leader_id != lid for m in mornings))
            s.add(DutyEntry(unit_id=other.unit_id, day=day, start=time(14, 0),
                            end=time(17, 0), place="工会会议室", leader_id=other.leader_id,
                            post=other.post, portfolio=other.portfolio))
        s.commit()
    publish_roster(services)


def on(services: Services, day: date) -> list[DutyEntry]:
    return [e for e in upcoming(services) if e.day == day]


def another(services: Services, day: date, begins: time, ends: time) -> DutyEntry:
    """A reception of a leader not on duty that day, from `begins` to `ends`, the roster
    published again."""
    entries = upcoming(services)
    that_day = {e.leader_id for e in entries if e.day == day}
    other = next(e for e in entries if e.leader_id not in that_day)
    with Session(services.db) as s:
        entry = DutyEntry(unit_id=other.unit_id, day=day, start=begins, end=ends,
                          place="工会会议室", leader_id=other.leader_id, post=other.post,
                          portfolio=other.portfolio)
        s.add(entry)
        s.commit()
        s.refresh(entry)
    publish_roster(services)
    return entry


def told_chosen(services: Services, entry: DutyEntry, lang: str) -> str:
    """What a reception chosen by typed words is said to be before the next question."""
    with Session(services.db) as s:
        leader = s.get(Person, entry.leader_id)
    assert leader is not None
    return t(lang, "choice.typed_chosen", slot=t(
        lang, "duty.slot_brief", date=entry.day.strftime("%m-%d"),
        weekday=t(lang, f"weekday.{entry.day.weekday()}"), start=entry.start.strftime("%H:%M"),
        end=entry.end.strftime("%H:%M"), leader=leader.name, place=entry.place))


def chosen_by(services: Services, chat: Chat, lang: str, typed: str, entry: DutyEntry) -> None:
    """`typed` chooses `entry`: said so, the topic asked next, the review's reception."""
    chat.say(typed)
    assert chat.replies[0].text == told_chosen(services, entry, lang)
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, entry, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_help_to_a_choice_of_receptions_says_a_day_may_be_typed(
        services: Services, chat: Chat, lang: str) -> None:
    """Nothing said that a day could be typed: only the list's buttons and numbers. Nor,
    with it, a time of day."""
    start(chat, lang)
    chat.press(t(lang, "nav.help"))
    assert chat.replies[0].text.startswith(
        t(lang, "booking.slot.help") + "\n" + t(lang, "choice.dated_help") + "\n\n")
    assert {"zh": "“周四下午两点”", "en": '"Thu 2pm"'}[lang] in chat.replies[0].text
    chat.say({"zh": "明天上午", "en": "tomorrow morning"}[lang])
    chat.press(t(lang, "nav.help"))
    assert t(lang, "booking.topic.help") in chat.text
    assert t(lang, "choice.dated_help") not in chat.text


# --- "today or next Monday?" answered with a week or "the next one" ----------------------


@pytest.mark.parametrize(("lang", "typed", "which"), [
    ("zh", "下周", 1), ("zh", "下周的", 1), ("zh", "下一个", 1), ("zh", "下个星期", 1),
    ("zh", "下周的那个", 1), ("zh", "这周", 0), ("zh", "本周的", 0),
    ("en", "next week", 1), ("en", "next week's", 1), ("en", "next one", 1),
    ("en", "the next one", 1), ("en", "this week", 0)])
def test_a_week_or_the_next_one_answers_today_or_next(
        services: Services, chat: Chat, lang: str, typed: str, which: int) -> None:
    """Asked "今天（周一）还是下周一（11-30）？", "下周" / "下一个" / "next week" is next
    Monday's and "这周" / "this week" today's. They asked the two again before."""
    two = today_or_next(services, chat, lang)
    chat.say(typed)
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == two[which]


# --- a part of the day said with it: "周三下午", "tomorrow afternoon" ------------------------


@pytest.mark.parametrize(("lang", "typed", "which"), [
    ("zh", "周三下午", 1), ("zh", "周三上午", 0), ("zh", "11-25下午", 1), ("zh", "周三下午吧", 1),
    ("en", "wednesday afternoon", 1), ("en", "Wed morning", 0)])
def test_a_part_of_the_day_chooses_that_days_reception_in_it(
        services: Services, chat: Chat, lang: str, typed: str, which: int) -> None:
    """Wednesday has a reception in the morning and another in the afternoon: "周三下午"
    is the afternoon's. Before, both were asked among, the afternoon said for nothing."""
    afternoons(services, WEDNESDAY)
    both = on(services, WEDNESDAY)
    start(chat, lang)
    chat.say(typed)
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, both[which], lang)


@pytest.mark.parametrize(("lang", "typed"), [("zh", "下午"), ("zh", "下午那场"),
                                             ("en", "the afternoon one"), ("en", "afternoon")])
def test_a_part_of_the_day_alone_answers_which_of_the_days_receptions(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    afternoons(services, WEDNESDAY)
    both = on(services, WEDNESDAY)
    start(chat, lang)
    chat.say({"zh": "周三", "en": "Wednesday"}[lang])
    assert chat.replies[0].text == t(lang, "choice.day_which", count=2, date="11-25",
                                     weekday=t(lang, "weekday.2"))
    chat.say(typed)
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, both[1], lang)


@pytest.mark.parametrize(("lang", "typed"), [("zh", "周三晚上"), ("en", "wednesday evening")])
def test_a_part_of_the_day_without_a_reception_says_so_and_shows_that_days(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """Nothing in the evening on Wednesday: said so, Wednesday's two shown, none chosen."""
    afternoons(services, WEDNESDAY)
    both = on(services, WEDNESDAY)
    start(chat, lang)
    kept = draft(services, chat)
    chat.say(typed)
    assert chat.replies[0].text == t(lang, "choice.half_none_which", date="11-25",
                                     weekday=t(lang, "weekday.2"), count=2,
                                     half=t(lang, "half.evening"))
    assert choices(chat) == [slot_button(services, e, lang) for e in both]
    assert draft(services, chat)["answers"] == kept["answers"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_buttons_words_typed_choose_that_reception(services: Services, chat: Chat,
                                                     lang: str) -> None:
    """WeChat's list shows the buttons' words: replied as they read ("11-25 周三 14:00
    …"), they choose that reception, the afternoon one of a day with two; its day alone
    would ask which."""
    afternoons(services, WEDNESDAY)
    afternoon = on(services, WEDNESDAY)[1]
    assert afternoon.start == time(14, 0)
    start(chat, lang)
    chat.say(slot_button(services, afternoon, lang))
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, afternoon, lang)


@pytest.mark.parametrize(("lang", "typed", "day"), [
    ("zh", "今天下午", date(2026, 11, 23)), ("zh", "明天下午", date(2026, 11, 24)),
    ("en", "tomorrow afternoon", date(2026, 11, 24)), ("en", "this afternoon", date(2026, 11, 23))])
def test_a_part_of_the_day_its_one_reception_is_not_in_is_said_before_booking(
        services: Services, chat: Chat, lang: str, typed: str, day: date) -> None:
    """The day's one reception is in the morning (08:30-11:30): "今天下午" booked it as
    if nothing had been said of the afternoon. It is said now, and that one offered.
    "this afternoon" was no day at all."""
    [morning] = on(services, day)
    start(chat, lang)
    kept = draft(services, chat)
    chat.say(typed)
    assert chat.replies[0].text == t(lang, "choice.half_none", date=day.strftime("%m-%d"),
                                     weekday=t(lang, f"weekday.{day.weekday()}"),
                                     half=t(lang, "half.afternoon"),
                                     start="08:30", end="11:30")
    assert chat.replies[0].text.startswith({"zh": f"{day:%m-%d} ", "en": "There is no"}[lang])
    assert choices(chat) == [slot_button(services, morning, lang)]
    assert draft(services, chat)["answers"] == kept["answers"]
    chat.say("1")
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, morning, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_mondays_afternoon_on_a_monday_without_one_asks_today_or_next(
        services: Services, chat: Chat, lang: str) -> None:
    """Today's and next Monday's receptions are both in the morning: "周一下午" says there
    is none in the afternoon, and asks which of the two; "下周的" is next Monday's."""
    mondays = [e for e in upcoming(services) if e.day.weekday() == 0][:2]
    start(chat, lang)
    chat.say({"zh": "周一下午", "en": "monday afternoon"}[lang])
    assert chat.replies[0].text == t(lang, "choice.half_none_today_or_next", date="11-30",
                                     weekday=t(lang, "weekday.long.0"),
                                     half=t(lang, "half.afternoon"))
    assert choices(chat) == [slot_button(services, e, lang) for e in mondays]
    chat.say({"zh": "下周的", "en": "next week's"}[lang])
    assert draft_review(services, chat, lang) == slot_label(services, mondays[1], lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_part_of_the_day_with_two_receptions_in_it_asks_which(
        services: Services, chat: Chat, lang: str) -> None:
    """Two receptions in Wednesday's afternoon, one in its morning: "周三下午" asks which
    of the afternoon's two, saying how many there are in the afternoon."""
    afternoons(services, WEDNESDAY)
    afternoon = on(services, WEDNESDAY)[1]
    leaders = {e.leader_id for e in on(services, WEDNESDAY)}
    third = next(e for e in upcoming(services) if e.leader_id not in leaders)
    with Session(services.db) as s:
        s.add(DutyEntry(unit_id=afternoon.unit_id, day=WEDNESDAY, start=time(15, 0),
                        end=time(17, 30), place="三车间", leader_id=third.leader_id,
                        post=third.post, portfolio=third.portfolio))
        s.commit()
    publish_roster(services)
    two = on(services, WEDNESDAY)[1:]
    start(chat, lang)
    chat.say({"zh": "周三下午", "en": "wednesday afternoon"}[lang])
    assert chat.replies[0].text == t(lang, "choice.half_which", count=2, date="11-25",
                                     weekday=t(lang, "weekday.2"),
                                     half=t(lang, "half.afternoon"))
    assert choices(chat) == [slot_button(services, e, lang) for e in two]


# --- the time of day as people say it: "中午", "明晚", "thursday pm", "周四下午两点" ---------


TUESDAY, THURSDAY = date(2026, 11, 24), date(2026, 11, 26)


@pytest.mark.parametrize(("lang", "typed"), [
    ("zh", "周三中午"), ("zh", "周三中午12点"), ("zh", "周三中午吧"), ("zh", "周三中午那场"),
    ("en", "wednesday noon"), ("en", "Wed midday"), ("en", "Wednesday's midday one")])
def test_noon_chooses_the_reception_over_midday(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """Wednesday's morning reception (08:30-11:30) and another over the lunch break
    (11:30-13:00): "周三中午" is the latter. It was not understood."""
    noon = another(services, WEDNESDAY, time(11, 30), time(13, 0))
    start(chat, lang)
    chosen_by(services, chat, lang, typed, noon)


@pytest.mark.parametrize(("lang", "typed", "which"), [
    ("zh", "明晚", 1), ("zh", "明早", 0), ("zh", "明晚的", 1), ("zh", "周二晚", 1),
    ("zh", "周二傍晚", 1), ("zh", "周二早晨", 0), ("zh", "明天晚上7点", 1),
    ("en", "tomorrow night", 1), ("en", "tomorrow am", 0), ("en", "tuesday pm", 1)])
def test_a_day_and_its_part_in_one_word_choose_that_reception(
        services: Services, chat: Chat, lang: str, typed: str, which: int) -> None:
    """Tuesday has its morning reception and one in the evening (18:30-20:30): "明晚" is
    the evening's, "明早" the morning's. Neither was taken for a day."""
    another(services, TUESDAY, time(18, 30), time(20, 30))
    both = on(services, TUESDAY)
    start(chat, lang)
    chosen_by(services, chat, lang, typed, both[which])


@pytest.mark.parametrize(("lang", "typed"), [("zh", "今晚"), ("en", "tonight")])
def test_tonight_without_a_reception_says_todays_hours(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """Today's one reception is in the morning: said so, it offered, nothing chosen."""
    [morning] = on(services, date(2026, 11, 23))
    start(chat, lang)
    kept = draft(services, chat)
    chat.say(typed)
    assert chat.replies[0].text == t(lang, "choice.half_none", date="11-23",
                                     weekday=t(lang, "weekday.0"),
                                     half=t(lang, "half.evening"), start="08:30", end="11:30")
    assert choices(chat) == [slot_button(services, morning, lang)]
    assert draft(services, chat)["answers"] == kept["answers"]


@pytest.mark.parametrize(("lang", "typed", "which"), [
    ("zh", "周四下午两点", 1), ("zh", "周四14:00", 1), ("zh", "周四 2点", 1),
    ("zh", "周四下午3点半", 1), ("zh", "周四上午9点", 0), ("zh", "周四 9:30", 0),
    ("zh", "周四十点", 0), ("zh", "11-26 14:00", 1), ("zh", "11月26日下午两点", 1),
    ("en", "Thu 2pm", 1), ("en", "thursday 2:30 pm", 1), ("en", "Thu 9am", 0),
    ("en", "26 Nov 2pm", 1), ("en", "thursday pm", 1)])
def test_a_time_with_the_day_chooses_the_reception_then(
        services: Services, chat: Chat, lang: str, typed: str, which: int) -> None:
    """Thursday's morning (08:30-11:30) and afternoon (14:00-17:00) receptions: a time
    said with the day chooses the one under way then. It was not understood."""
    another(services, THURSDAY, time(14, 0), time(17, 0))
    both = on(services, THURSDAY)
    start(chat, lang)
    chosen_by(services, chat, lang, typed, both[which])


@pytest.mark.parametrize(("lang", "typed"), [("zh", "明天上午9点"), ("zh", "周二 10:30"),
                                             ("en", "tomorrow 9:30am")])
def test_a_time_in_the_days_one_reception_chooses_it(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    [morning] = on(services, TUESDAY)
    start(chat, lang)
    chosen_by(services, chat, lang, typed, morning)


@pytest.mark.parametrize(("lang", "typed"), [("zh", "明天下午3点"), ("zh", "周二15:00"),
                                             ("en", "tomorrow 3pm")])
def test_a_time_no_reception_covers_says_that_days_hours(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """Tuesday's one reception is 08:30-11:30: "明天下午3点" is said to have none, its
    hours said and it offered; nothing is chosen."""
    [morning] = on(services, TUESDAY)
    start(chat, lang)
    kept = draft(services, chat)
    chat.say(typed)
    assert chat.replies[0].text == t(lang, "choice.time_none", date="11-24",
                                     weekday=t(lang, "weekday.1"), time="15:00",
                                     start="08:30", end="11:30")
    assert chat.replies[0].text.startswith(
        {"zh": "11-24 周二 15:00 没有接访", "en": "There is no reception on Tue 11-24 at 15:00"}[
            lang])
    assert choices(chat) == [slot_button(services, morning, lang)]
    assert draft(services, chat)["answers"] == kept["answers"]
    chat.say("1")
    assert draft_review(services, chat, lang) == slot_label(services, morning, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_time_between_a_days_receptions_asks_which(
        services: Services, chat: Chat, lang: str) -> None:
    """Noon on Thursday falls between its two: both offered, that said."""
    another(services, THURSDAY, time(14, 0), time(17, 0))
    both = on(services, THURSDAY)
    start(chat, lang)
    kept = draft(services, chat)
    chat.say({"zh": "周四12点", "en": "Thu 12:00"}[lang])
    assert chat.replies[0].text == t(lang, "choice.time_none_which", date="11-26",
                                     weekday=t(lang, "weekday.3"), time="12:00", count=2)
    assert choices(chat) == [slot_button(services, e, lang) for e in both]
    assert draft(services, chat)["answers"] == kept["answers"]


@pytest.mark.parametrize(("lang", "typed"), [("zh", "两点"), ("zh", "2点的"),
                                             ("en", "2 pm"), ("en", "14:00")])
def test_a_time_alone_answers_which_of_the_days_receptions(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """Asked which of Thursday's two, a time alone chooses; "2" alone stays option 2."""
    another(services, THURSDAY, time(14, 0), time(17, 0))
    both = on(services, THURSDAY)
    start(chat, lang)
    chat.say({"zh": "周四", "en": "Thursday"}[lang])
    assert chat.replies[0].text == t(lang, "choice.day_which", count=2, date="11-26",
                                     weekday=t(lang, "weekday.3"))
    chat.say(typed)
    assert draft_review(services, chat, lang) == slot_label(services, both[1], lang)
    chat.press(t(lang, "nav.back"))
    chat.say({"zh": "周四", "en": "Thursday"}[lang])
    chat.say("1")
    assert draft_review(services, chat, lang) == slot_label(services, both[0], lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_time_on_a_monday_without_a_reception_then_asks_today_or_next(
        services: Services, chat: Chat, lang: str) -> None:
    mondays = [e for e in upcoming(services) if e.day.weekday() == 0][:2]
    start(chat, lang)
    chat.say({"zh": "周一下午两点", "en": "monday 2pm"}[lang])
    assert chat.replies[0].text == t(lang, "choice.time_none_today_or_next", date="11-30",
                                     weekday=t(lang, "weekday.long.0"), time="14:00")
    assert choices(chat) == [slot_button(services, e, lang) for e in mondays]


def test_a_leaders_name_with_a_time_not_theirs_says_their_hours(
        services: Services, chat: Chat) -> None:
    """孙红梅's Thursday reception is in the morning: "孙红梅周四下午两点" is said not to
    be then, hers offered; "孙红梅周四10点" books it."""
    thursday = next(e for e in on(services, THURSDAY))
    start(chat, "zh")
    chat.say("孙红梅周四下午两点")
    assert chat.replies[0].text == t("zh", "choice.time_none", time="14:00", start="08:30",
                                     end="11:30", date="11-26", weekday=t("zh", "weekday.3"))
    assert choices(chat) == [slot_button(services, thursday, "zh")]
    chosen_by(services, chat, "zh", "孙红梅周四10点", thursday)


# --- "周三那场", "下午" alone, "晚一点的": the last ways of picking one typed ---------------


@pytest.mark.parametrize(("lang", "typed"), [
    ("zh", "周三那场"), ("zh", "周三那一场"), ("zh", "周三的那个吧"), ("en", "Wednesday's one"),
    ("en", "Wednesday\u2019s one"), ("en", "the Wednesday one")])
def test_the_one_of_a_day_chooses_its_reception(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """"周三那场" was "please choose an option": 那场 after a day kept it from being read."""
    [wednesday] = on(services, WEDNESDAY)
    start(chat, lang)
    chosen_by(services, chat, lang, typed, wednesday)


@pytest.mark.parametrize(("lang", "typed", "which"), [
    ("zh", "周四下午的那个", 1), ("zh", "周四上午那场", 0), ("zh", "周四两点那场", 1),
    ("en", "the Thursday afternoon one", 1), ("en", "Thursday's morning one", 0)])
def test_the_one_of_a_day_and_its_part_chooses_the_reception_then(
        services: Services, chat: Chat, lang: str, typed: str, which: int) -> None:
    another(services, THURSDAY, time(14, 0), time(17, 0))
    both = on(services, THURSDAY)
    start(chat, lang)
    chosen_by(services, chat, lang, typed, both[which])


@pytest.mark.parametrize(("lang", "typed", "which"), [
    ("zh", "晚一点的", 1), ("zh", "早一点的", 0), ("zh", "晚点那场", 1), ("zh", "下一个", 1),
    ("en", "later one", 1), ("en", "earlier one", 0), ("en", "the later one", 1),
    ("en", "the earlier one", 0)])
def test_the_earlier_or_the_later_answers_which_of_a_days_two(
        services: Services, chat: Chat, lang: str, typed: str, which: int) -> None:
    """Asked which of Thursday's two, "晚一点的" is the afternoon's, "早一点的" the
    morning's; they were "please choose an option". Said at the first question, where
    nothing is earlier than anything, they still are."""
    another(services, THURSDAY, time(14, 0), time(17, 0))
    both = on(services, THURSDAY)
    start(chat, lang)
    chat.say(typed)
    assert chat.replies[0].text == t(lang, "invalid.choice", count=11)
    chat.say({"zh": "周四那场", "en": "the Thursday one"}[lang])
    assert chat.replies[0].text == t(lang, "choice.day_which", count=2, date="11-26",
                                     weekday=t(lang, "weekday.3"))
    chosen_by(services, chat, lang, typed, both[which])


@pytest.mark.parametrize(("lang", "typed"), [
    ("zh", "上午"), ("zh", "上午那场"), ("zh", "10点"), ("zh", "10点半的那个"),
    ("en", "this morning"), ("en", "10am"), ("en", "in the morning")])
def test_a_part_of_the_day_or_a_time_alone_chooses_todays_reception_then(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """At 09:00, today's reception (08:30-11:30) is still offered: "上午" and "10点" with
    no day are today's. They were "please choose an option"."""
    [today] = on(services, date(2026, 11, 23))
    start(chat, lang)
    chosen_by(services, chat, lang, typed, today)


@pytest.mark.parametrize(("lang", "typed"), [("zh", "下午3点"), ("zh", "3点的那个"),
                                             ("en", "3pm"), ("en", "at 3 pm")])
def test_a_time_alone_is_todays_not_another_days(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """Today and Thursday have an afternoon reception: "下午3点" is today's."""
    another(services, THURSDAY, time(14, 0), time(17, 0))
    today = another(services, date(2026, 11, 23), time(14, 0), time(17, 0))
    start(chat, lang)
    chosen_by(services, chat, lang, typed, today)


@pytest.mark.parametrize(("lang", "typed", "said"), [
    ("zh", "下午3点", ("time", "15:00")), ("zh", "下午那场", ("half", "afternoon")),
    ("zh", "晚上", ("half", "evening")), ("en", "2pm", ("time", "14:00")),
    ("en", "afternoon", ("half", "afternoon")), ("en", "the afternoon one", ("half", "afternoon"))])
def test_a_part_of_the_day_or_a_time_alone_today_has_none_then_is_said_so(
        services: Services, chat: Chat, lang: str, typed: str, said: tuple[str, str]) -> None:
    """Today's one reception is in the morning, Thursday has one in the afternoon: "下午3点"
    is said to be none today, every reception still offered, nothing chosen (not
    Thursday's). It was "please choose an option". Words that hold a time are no choice:
    they choose nothing, and are not taken for what to talk about."""
    another(services, THURSDAY, time(14, 0), time(17, 0))
    start(chat, lang)
    offered = choices(chat)
    kept = draft(services, chat)
    chat.say(typed)
    kind, value = said
    words = {"time": value} if kind == "time" else {"half": t(lang, f"half.{value}")}
    assert chat.replies[0].text == t(lang, f"choice.{kind}_none_today", date="11-23",
                                     weekday=t(lang, "weekday.0"), **words)
    assert choices(chat) == offered
    assert draft(services, chat)["answers"] == kept["answers"]
    chat.say("想谈谈下午3点以后加班没有加班费的问题")
    assert draft(services, chat)["answers"] == kept["answers"]
    assert t(lang, "flow.kept_ahead", label=t(lang, "booking.topic.label")) not in chat.text


@pytest.mark.parametrize(("lang", "typed"), [("zh", "上午"), ("en", "10am")])
def test_a_part_of_the_day_alone_after_todays_reception_is_said_so(
        services: Services, chat: Chat, clock: FrozenClock, lang: str, typed: str) -> None:
    """At 14:00 today's reception is over: "上午" is said to be none today, not
    tomorrow's morning booked."""
    clock.set(datetime.combine(date(2026, 11, 23), time(14, 0), SHANGHAI))
    start(chat, lang)
    offered = choices(chat)
    kept = draft(services, chat)
    chat.say(typed)
    words = {"time": "10:00"} if typed == "10am" else {"half": t(lang, "half.morning")}
    assert chat.replies[0].text == t(
        lang, "choice.time_none_today" if typed == "10am" else "choice.half_none_today",
        date="11-23", weekday=t(lang, "weekday.0"), **words)
    assert choices(chat) == offered
    assert draft(services, chat)["answers"] == kept["answers"]


# --- a day past the receptions the list shows (the first 15) -----------------------------


def crowded(services: Services) -> list[DutyEntry]:
    """Every day of the roster has an afternoon reception too: 20 receptions, the list
    shows 15 (to 12-02's morning); 12-02's afternoon, 12-03's and 12-04's are past it."""
    afternoons(services, *sorted({e.day for e in upcoming(services)}))
    entries = upcoming(services)
    assert len(entries) == 20
    return entries


@pytest.mark.parametrize(("lang", "typed"), [("zh", "12-04下午"), ("zh", "下周五下午"),
                                             ("en", "next friday afternoon")])
def test_a_later_day_past_the_list_books_its_reception(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """Before, a day past the list was said to have no reception."""
    entries = crowded(services)
    start(chat, lang)
    assert slot_button(services, entries[-1], lang) not in choices(chat)
    chat.say(typed)
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, entries[-1], lang)
    chat.say("想谈谈食堂的问题")
    chat.press(t(lang, "nav.confirm"))
    assert "V-2026-0001" in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_later_day_past_the_list_asks_which_of_its_receptions(
        services: Services, chat: Chat, lang: str) -> None:
    """"12-04" has two receptions, neither in the list: both are asked among, a button
    and a number choosing one."""
    entries = crowded(services)
    start(chat, lang)
    chat.say("12-04")
    assert chat.replies[0].text == t(lang, "choice.day_which", count=2, date="12-04",
                                     weekday=t(lang, "weekday.4"))
    assert choices(chat) == [slot_button(services, e, lang) for e in entries[-2:]]
    chat.press(slot_button(services, entries[-1], lang))
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, entries[-1], lang)
    chat.press(t(lang, "nav.back"))
    chat.say("12-04")
    chat.say("1")
    assert draft_review(services, chat, lang) == slot_label(services, entries[-2], lang)


@pytest.mark.parametrize("lang", LANGS)
def test_the_last_day_of_the_list_asks_also_for_its_reception_past_it(
        services: Services, chat: Chat, lang: str) -> None:
    """12-02's morning is the list's last, its afternoon the 16th: "下周三" booked the
    morning's as if the day had one. Both are asked among now."""
    entries = crowded(services)
    start(chat, lang)
    chat.say({"zh": "下周三", "en": "next wednesday"}[lang])
    assert chat.replies[0].text == t(lang, "choice.day_which", count=2, date="12-02",
                                     weekday=t(lang, "weekday.2"))
    assert choices(chat) == [slot_button(services, e, lang) for e in entries[14:16]]


# --- a leader's name typed: "孙红梅", "周四孙红梅" -------------------------------------------


def leaders(services: Services, name: str) -> list[DutyEntry]:
    with Session(services.db) as s:
        found = s.exec(select(Person.id).where(Person.name == name)).one()
    return [e for e in upcoming(services) if e.leader_id == found]


@pytest.mark.parametrize(("lang", "typed"), [("zh", "孙红梅"), ("zh", "我想找孙红梅"),
                                             ("en", "孙红梅")])
def test_a_leaders_name_asks_among_that_leaders_receptions(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    """孙红梅 receives on four days: her four are asked among, and a number or a day
    among them chooses. Before, "Please choose one of the options"."""
    hers = leaders(services, "孙红梅")
    assert len(hers) == 4
    start(chat, lang)
    chat.say(typed)
    assert chat.replies[0].text == t(lang, "choice.leader_which", leader="孙红梅", count=4)
    assert choices(chat) == [slot_button(services, e, lang) for e in hers]
    chat.say("3")
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, hers[2], lang)
    chat.press(t(lang, "nav.back"))
    chat.say(typed)
    chat.say({"zh": "下周五", "en": "next friday"}[lang])  # hers, 12-04
    assert draft_review(services, chat, lang) == slot_label(services, hers[3], lang)


@pytest.mark.parametrize(("lang", "typed"), [
    ("zh", "周四孙红梅"), ("zh", "孙红梅周四的"), ("zh", "11-26 孙红梅"), ("zh", "周四找孙红梅"),
    ("en", "Thursday 孙红梅"), ("en", "孙红梅 on Nov 26")])
def test_a_leaders_name_with_a_day_chooses_that_reception(
        services: Services, chat: Chat, lang: str, typed: str) -> None:
    thursday = leaders(services, "孙红梅")[1]
    assert thursday.day == date(2026, 11, 26)
    start(chat, lang)
    chat.say(typed)
    assert t(lang, "booking.topic.ask") in chat.text
    assert draft_review(services, chat, lang) == slot_label(services, thursday, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_leaders_name_with_a_day_not_theirs_asks_among_theirs(
        services: Services, chat: Chat, lang: str) -> None:
    """Wednesday is 赵国强's: "周三孙红梅" is said not to be hers, and hers are shown."""
    hers = leaders(services, "孙红梅")
    start(chat, lang)
    chat.say({"zh": "周三孙红梅", "en": "孙红梅 wednesday"}[lang])
    assert chat.replies[0].text == t(lang, "choice.leader_not_on", leader="孙红梅",
                                     date="11-25", weekday=t(lang, "weekday.2"))
    assert choices(chat) == [slot_button(services, e, lang) for e in hers]


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_without_a_reception_is_said_so(
        services: Services, chat: Chat, lang: str) -> None:
    """陈丽华 is on no day of the roster: said so, every reception still offered."""
    start(chat, lang)
    kept = draft(services, chat)
    chat.say("陈丽华")
    assert chat.replies[0].text == t(lang, "choice.leader_none", leader="陈丽华")
    assert len(choices(chat)) == 10
    assert draft(services, chat) == kept


def test_a_leaders_name_finds_receptions_past_the_list(
        services: Services, chat: Chat) -> None:
    """With afternoons every day, the list shows the first 15: 孙红梅's morning of 12-04
    is past it, and asked among hers all the same; "12-04" said then is hers, not the
    afternoon's of another leader; "孙红梅 12-04 下午" is said to be in the morning."""
    entries = crowded(services)
    hers = leaders(services, "孙红梅")
    assert hers[-1] not in entries[:15] and hers[-1].day == date(2026, 12, 4)
    start(chat, "zh")
    chat.say("孙红梅")
    assert chat.replies[0].text == t("zh", "choice.leader_which", leader="孙红梅",
                                     count=len(hers))
    assert choices(chat) == [slot_button(services, e, "zh") for e in hers]
    chat.say("12-04")
    assert draft_review(services, chat, "zh") == slot_label(services, hers[-1], "zh")
    chat.press(t("zh", "nav.back"))
    chat.say("孙红梅 12-04 下午")
    assert chat.replies[0].text == t("zh", "choice.half_none", half=t("zh", "half.afternoon"),
                                     start="08:30", end="11:30", date="12-04",
                                     weekday=t("zh", "weekday.4"))
    assert choices(chat) == [slot_button(services, hers[-1], "zh")]
