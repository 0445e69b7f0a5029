"""Unit tests of the typed answer parsers: what a person may type, and why it is refused."""

from __future__ import annotations

from datetime import date, time

import pytest

from conversations.answers import (
    DateAnswer,
    Invalid,
    Number,
    Text,
    When,
    YesNo,
    chinese_number,
    days_meant,
    normalize,
    order_meant,
    ordinal,
    time_meant,
    when_alone,
    when_meant,
)

TODAY = date(2026, 11, 23)  # the Monday of the transcript tests


def refusal(parse, text: str) -> Invalid:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as info:
        parse(text)
    return info.value


# --- normalize -------------------------------------------------------------------------


def test_normalize_folds_full_width_characters_and_trims() -> None:
    assert normalize("  ２５ ") == "25"
    assert normalize("ＡＢ３ＣＤ") == "AB3CD"


# --- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("25", 25),
        ("２５", 25),  # full-width digits from a Chinese keyboard
        ("二十五", 25),
        ("三百", 300),
        ("十", 10),
        ("十五", 15),
        ("两千", 2000),
        ("一百零五", 105),
        ("约30人", 30),
        ("大约 40 人", 40),
        ("大概二十人", 20),
        ("25人", 25),
        ("30名", 30),
        ("about 30 people", 30),
        ("around 12 workers", 12),
        ("~7", 7),
        (" 8 ", 8),
    ],
)
def test_number_reads_digits_chinese_numerals_and_rough_counts(typed: str, value: int) -> None:
    assert Number(0, 100000).parse(typed) == value


@pytest.mark.parametrize("typed", ["很多", "abc", "2.5", "-3", "25-30", "二十多", "一些人"])
def test_number_refuses_what_is_not_a_number(typed: str) -> None:
    bad = refusal(Number(0, 100000).parse, typed)
    assert bad.key == "invalid.number"


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("二十多人", 20), ("20多", 20), ("二十多个人", 20), ("十几个", 10), ("二十几人", 20),
        ("几十人", 20), ("几十号人", 20), ("几百人", 200), ("上百人", 100), ("成千人", 1000),
        ("二十多名工人", 20), ("三十来个工人", 30), ("五十多名职工", 50),
        ("七八个", 8), ("两三个人", 3), ("二三十人", 30), ("20-30", 30),
        ("20~30人", 30), ("20到30", 30), ("20+", 20), ("30人左右", 30), ("超过50人", 50),
        ("近百人", 100), ("about twenty", 20), ("twenty-five", 25), ("twenty or so", 20),
        ("over 20", 20), ("20 to 30 people", 30), ("a dozen", 12), ("a hundred", 100),
        ("大约 40 人", 40),
    ],
)
def test_a_head_count_may_be_rough(typed: str, value: int) -> None:
    """A head count as people say it (the emergency's "about how many people?"): the
    higher end of a range, the round number of "twenty and some"."""
    assert Number(1, 100000, estimate=True).parse(typed) == value


@pytest.mark.parametrize("typed", ["很多", "一些人", "30-20", "二十多", "20-30", "好几个"])
def test_a_rough_count_is_refused_where_it_must_be_exact(typed: str) -> None:
    """Signatures and days are counted exactly; a head count needs some number."""
    exact = Number(0, 100000)
    estimate = Number(0, 100000, estimate=True)
    assert refusal(exact.parse, typed).key == "invalid.number"
    if typed in ("很多", "一些人", "30-20", "好几个"):
        assert refusal(estimate.parse, typed).key == "invalid.number"


@pytest.mark.parametrize("typed", ["0", "101", "一百零一", "约200人"])
def test_number_out_of_range_names_the_range(typed: str) -> None:
    bad = refusal(Number(1, 100).parse, typed)
    assert bad.key == "invalid.number_range"
    assert bad.params == {"min": 1, "max": 100}


def test_number_range_bounds_are_inclusive() -> None:
    assert Number(1, 100).parse("1") == 1
    assert Number(1, 100).parse("一百") == 100


@pytest.mark.parametrize(
    ("text", "value"),
    [("二十五", 25), ("三百", 300), ("十万", 100000), ("两万三千", 23000), ("零", 0),
     ("一千零一", 1001), ("九十九", 99)],
)
def test_chinese_number_values(text: str, value: int) -> None:
    assert chinese_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "二十x", "25"])
def test_chinese_number_is_none_for_anything_else(text: str) -> None:
    assert chinese_number(text) is None


@pytest.mark.parametrize(("text", "acceptable"), [("二五", (25, None)), ("一二三", (123, None)),
                                                  ("万", (10000,))])
def test_chinese_number_does_not_silently_drop_digits(text: str, acceptable: tuple) -> None:
    assert chinese_number(text) in acceptable


# --- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("2026年10月5日", "2026-10-05"),
        ("2026年10月5", "2026-10-05"),
        ("2026-10-05", "2026-10-05"),
        ("2026/10/5", "2026-10-05"),
        ("2026.10.5", "2026-10-05"),
        ("２０２６－１０－０５", "2026-10-05"),
        ("2026 年 10 月 5 日", "2026-10-05"),
        ("10月5日", "2026-10-05"),
        ("10-5", "2026-10-05"),
        ("2026-10", "2026-10"),
        ("2026年10月", "2026-10"),
        ("2026-11", "2026-11"),  # the current month has begun
        ("今天", "2026-11-23"),
        ("昨天", "2026-11-22"),
        ("前天", "2026-11-21"),
        ("today", "2026-11-23"),
        ("Yesterday", "2026-11-22"),
        ("2026-11-23", "2026-11-23"),
        ("12月1日", "2025-12-01"),  # a month-day still to come this year means last year's
        ("10月15号", "2026-10-15"),
        ("9月", "2026-09"),
        ("9月份", "2026-09"),
        ("12月", "2025-12"),  # the latest December
        ("2026年9月份", "2026-09"),
    ],
)
def test_date_reads_days_months_and_relative_words(typed: str, value: str) -> None:
    assert DateAnswer().parse(typed, TODAY) == value


@pytest.mark.parametrize("typed", ["2026-11-24", "2026-12-01", "2026年12月", "2027年1月",
                                   "2027-01-01"])
def test_date_in_the_future_is_refused(typed: str) -> None:
    assert refusal(lambda x: DateAnswer().parse(x, TODAY), typed).key == "invalid.date_future"


def test_future_dates_are_accepted_when_not_past_only() -> None:
    assert DateAnswer(past_only=False).parse("2026-12-01", TODAY) == "2026-12-01"


@pytest.mark.parametrize(("typed", "value"), [
    ("明天", "2026-11-24"), ("tomorrow", "2026-11-24"), ("后天", "2026-11-25"),
    ("今天", "2026-11-23"), ("12月5号", "2026-12-05"),
    ("11月20日", "2026-11-20"),  # a few days back: this year's (a leave begun)
    ("1月4日", "2027-01-04"),  # half a year back: next year's
])
def test_a_day_to_come_reads_tomorrow_and_wraps_into_next_year(typed: str, value: str) -> None:
    assert DateAnswer(past_only=False).parse(typed, TODAY) == value


@pytest.mark.parametrize("typed", ["2026年12月", "2026-12", "12月", "12月份"])
def test_a_day_to_come_needs_the_day_not_only_the_month(typed: str) -> None:
    """A deadline or a day off of "2026年12月" was taken and crashed the form at the end."""
    bad = refusal(lambda x: DateAnswer(past_only=False).parse(x, TODAY), typed)
    assert bad.key == "invalid.date_day"


def test_a_day_to_come_that_cannot_be_read_says_tomorrow_is_understood() -> None:
    assert refusal(lambda x: DateAnswer(past_only=False).parse(x, TODAY), "下周").key \
        == "invalid.date_ahead"


@pytest.mark.parametrize("typed", ["下个月", "abc", "2026-13-01", "2026-02-30", "13月1日",
                                   "2026-10-05-01", "明天"])
def test_date_that_cannot_be_read_is_refused(typed: str) -> None:
    assert refusal(lambda x: DateAnswer().parse(x, TODAY), typed).key == "invalid.date"


# --- text ------------------------------------------------------------------------------


def test_text_within_limits_is_kept_as_typed_without_surrounding_space() -> None:
    assert Text(5, 10).parse("  食堂饭菜太咸。 ") == "食堂饭菜太咸。"
    assert Text(5, 10).parse("12345") == "12345"
    assert Text(5, 10).parse("1234567890") == "1234567890"


def test_text_too_short_says_minimum_and_length() -> None:
    bad = refusal(Text(5, 10).parse, "太短了")
    assert (bad.key, bad.params) == ("invalid.too_short", {"min": 5, "got": 3})


def test_text_of_spaces_counts_as_nothing() -> None:
    bad = refusal(Text(2, 10).parse, "    ")
    assert (bad.key, bad.params) == ("invalid.too_short", {"min": 2, "got": 0})


@pytest.mark.parametrize("typed", ["👍👍", "🔥🔥🔥", "。。。", "?!", "—— ——", "😀 😀"])
def test_text_of_emoji_or_symbols_only_asks_for_words(typed: str) -> None:
    assert refusal(Text(2, 10).parse, typed).key == "invalid.no_words"


@pytest.mark.parametrize("typed", ["着火了🔥", "🔥 fire", "3号门", "8:30-11:30", "OK"])
def test_text_with_a_word_or_a_number_among_emoji_is_kept(typed: str) -> None:
    assert Text(2, 20).parse(typed) == typed


def test_text_too_long_says_maximum_and_length() -> None:
    bad = refusal(Text(5, 2000).parse, "字" * 2001)
    assert (bad.key, bad.params) == ("invalid.too_long", {"max": 2000, "got": 2001})
    assert Text(5, 2000).parse("字" * 2000) == "字" * 2000


# --- yes / no --------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["是", "是的", "对", "好", "确认", "yes", "Y", "OK", "1", "１"])
def test_yes(typed: str) -> None:
    assert YesNo().parse(typed) is True


@pytest.mark.parametrize("typed", ["否", "不", "不是", "no", "N", "2"])
def test_no(typed: str) -> None:
    assert YesNo().parse(typed) is False


@pytest.mark.parametrize("typed", ["也许", "maybe", "", "3"])
def test_neither_yes_nor_no_is_refused(typed: str) -> None:
    assert refusal(YesNo().parse, typed).key == "invalid.yes_no"


@pytest.mark.parametrize(("typed", "read"), [
    ("上个月", "2025-12"), ("last month", "2025-12"), ("上上个月", "2025-11"),
    ("本月", "2026-01"), ("上周", "2026-01-05"), ("上个星期", "2026-01-05")])
def test_since_when_said_as_people_say_it(typed: str, read: str) -> None:
    """A worker asked since when answers 上个月: that month, as 9月份 is read."""
    assert DateAnswer(past_only=True).parse(typed, date(2026, 1, 14)) == read


@pytest.mark.parametrize(("typed", "read"), [
    ("上周一", "2026-11-16"), ("上星期五", "2026-11-20"), ("上上周三", "2026-11-11"),
    ("上周日", "2026-11-22"), ("这周一", "2026-11-23"), ("星期一", "2026-11-23"),
    ("周三", "2026-11-25"), ("last monday", "2026-11-23"), ("Last Friday", "2026-11-20"),
    ("3天前", "2026-11-22"), ("两周前", "2026-11-11"), ("半个月前", "2026-11-10"),
    ("2个月前", "2026-09"), ("2 months ago", "2026-09"), ("a week ago", "2026-11-18")])
def test_since_when_said_as_a_weekday_or_as_time_ago(typed: str, read: str) -> None:
    """"上周一" (asked on Wednesday 11-25): Monday of last week; "3天前": three days
    back; months ago: that month."""
    assert DateAnswer(past_only=True).parse(typed, date(2026, 11, 25)) == read


@pytest.mark.parametrize(("typed", "read"), [
    ("上周末", "2026-11-21"), ("大前天", "2026-11-22"), ("半年前", "2026-05"),
    ("上周1", "2026-11-16"), ("周1", "2026-11-23"), ("3天前开始", "2026-11-22"),
    ("从上周一开始", "2026-11-16"), ("上周一早上", "2026-11-16"),
    ("since last monday", "2026-11-23"), ("last weekend", "2026-11-21")])
def test_since_when_with_the_words_around_it(typed: str, read: str) -> None:
    assert DateAnswer(past_only=True).parse(typed, date(2026, 11, 25)) == read


@pytest.mark.parametrize(("typed", "read"), [
    ("下周一", "2026-11-30"), ("这周五", "2026-11-27"), ("周五", "2026-11-27"),
    ("下周三", "2026-12-02"), ("3天后", "2026-11-28"), ("两周后", "2026-12-09"),
    ("next monday", "2026-11-30"), ("in 3 days", "2026-11-28"), ("月底", "2026-11-30"),
    ("大后天", "2026-11-28")])
def test_a_day_to_come_said_as_people_say_it(typed: str, read: str) -> None:
    """Asked for a day to come (a report date, a day off), on Wednesday 11-25."""
    assert DateAnswer(past_only=False).parse(typed, date(2026, 11, 25)) == read


@pytest.mark.parametrize(("typed", "read"), [
    ("周一", "2026-11-30"), ("星期一", "2026-11-30"), ("monday", "2026-11-30"),
    ("下周一", "2026-11-30"), ("next monday", "2026-11-30"), ("这周一", "2026-11-23"),
    ("本周一", "2026-11-23"), ("this monday", "2026-11-23"), ("今天", "2026-11-23"),
    ("周二", "2026-11-24")])
def test_todays_weekday_alone_is_next_weeks_for_a_day_to_come(typed: str, read: str) -> None:
    """Asked on Monday 11-23 for a day to come (a deadline, a day off): "周一" alone is
    next Monday (today is 今天, this one 这周一); it was read as today."""
    assert DateAnswer(past_only=False).parse(typed, date(2026, 11, 23)) == read


@pytest.mark.parametrize(("typed", "read"), [
    ("25 Nov", "2026-11-25"), ("Nov 25", "2026-11-25"), ("Dec 1", "2026-12-01"),
    ("1 December", "2026-12-01"), ("December 1st", "2026-12-01"), ("Dec. 1st", "2026-12-01"),
    ("the 1st of December", "2026-12-01"), ("25th November", "2026-11-25"),
    ("on Nov 25", "2026-11-25"), ("December 1st, 2026", "2026-12-01"),
    ("25 Nov 2026", "2026-11-25"), ("Sept 30", "2026-09-30"), ("Jan 4", "2027-01-04")])
def test_a_day_to_come_with_an_english_month_name(typed: str, read: str) -> None:
    """"25 Nov", "December 1st": read as 11-25 and 12-01 are; they were not understood."""
    assert DateAnswer(past_only=False).parse(typed, date(2026, 11, 23)) == read
    assert days_meant(typed, date(2026, 11, 23)) == [date.fromisoformat(read)]


@pytest.mark.parametrize(("typed", "read"), [
    ("Oct 15", "2026-10-15"), ("15 October", "2026-10-15"), ("October 15, 2026", "2026-10-15"),
    ("Dec 1", "2025-12-01"), ("October", "2026-10"), ("since October", "2026-10"),
    ("Oct 2026", "2026-10"), ("in October", "2026-10")])
def test_since_when_with_an_english_month_name(typed: str, read: str) -> None:
    assert DateAnswer(past_only=True).parse(typed, date(2026, 11, 23)) == read


def test_an_english_month_alone_for_a_day_to_come_asks_for_the_day() -> None:
    bad = refusal(lambda x: DateAnswer(past_only=False).parse(x, date(2026, 11, 23)),
                  "November")
    assert bad.key == "invalid.date_day"


def test_todays_weekday_alone_may_mean_today_or_next_week() -> None:
    monday = date(2026, 11, 23)
    assert days_meant("周一", monday) == days_meant("Monday", monday) == [
        monday, date(2026, 11, 30)]
    assert days_meant("下周一", monday) == [date(2026, 11, 30)]
    assert days_meant("这周一", monday) == [monday]
    assert days_meant("周二", monday) == [date(2026, 11, 24)]
    assert days_meant("随便", monday) == days_meant("2026-12", monday) == []
    # What happened: "周一" said on a Monday is still today.
    assert DateAnswer(past_only=True).parse("周一", monday) == "2026-11-23"


@pytest.mark.parametrize(("typed", "read"), [
    ("3号", "2026-12-03"), ("30号", "2026-11-30"), ("30日", "2026-11-30"),
    ("23号", "2026-11-23"), ("31号", "2026-12-31"), ("三十号", "2026-11-30"),
    ("3rd", "2026-12-03"), ("the 30th", "2026-11-30"), ("下下周一", "2026-12-07"),
    ("下下个星期三", "2026-12-09"), ("monday after next", "2026-12-07"),
    ("明天上午", "2026-11-24"), ("今天下午", "2026-11-23"), ("tomorrow morning", "2026-11-24"),
    ("今天的", "2026-11-23"), ("周三吧", "2026-11-25"), ("周三？", "2026-11-25"),
    ("wed?", "2026-11-25"), ("Mon", "2026-11-30"), ("next mon", "2026-11-30"),
    ("tues", "2026-11-24"), ("Thurs.", "2026-11-26")])
def test_a_day_to_come_as_people_type_it(typed: str, read: str) -> None:
    """Asked on Monday 11-23 for a day to come: a day of the month alone is the next one
    (the 3rd: December's), 下下周一 the week after next's, a time of day or a particle
    after the day changes nothing. Each was "not understood" before."""
    assert DateAnswer(past_only=False).parse(typed, date(2026, 11, 23)) == read


@pytest.mark.parametrize(("typed", "read"), [
    ("3号", "2026-11-03"), ("24号", "2026-10-24"), ("31号", "2026-10-31"),
    ("昨天下午", "2026-11-22"), ("上周一吧", "2026-11-16"), ("上个月吧", "2026-10")])
def test_a_day_gone_by_as_people_type_it(typed: str, read: str) -> None:
    """What happened: the 3rd is this month's, the 24th last month's."""
    assert DateAnswer().parse(typed, date(2026, 11, 23)) == read


def test_todays_weekday_abbreviated_may_mean_today_or_next_week() -> None:
    monday = date(2026, 11, 23)
    assert days_meant("Mon", monday) == days_meant("mon.", monday) == [
        monday, date(2026, 11, 30)]
    assert days_meant("next mon", monday) == days_meant("下周一吧", monday) == [
        date(2026, 11, 30)]
    assert days_meant("下下周一", monday) == days_meant("monday after next", monday) == [
        date(2026, 12, 7)]
    assert ordinal("3号") == 3  # a position still, where no day is asked


def test_a_weekday_of_this_week_still_to_come_is_refused() -> None:
    assert refusal(lambda x: DateAnswer().parse(x, date(2026, 11, 25)),
                   "这周五").key == "invalid.date_future"


# --- the time of day said with a day: "中午", "明晚", "thursday pm", "周四下午两点" ----------


@pytest.mark.parametrize(("typed", "read"), [
    ("今晚", "2026-11-23"), ("今早", "2026-11-23"), ("明早", "2026-11-24"), ("明晚", "2026-11-24"),
    ("明晚的", "2026-11-24"), ("tonight", "2026-11-23"), ("tomorrow night", "2026-11-24"),
    ("周四中午", "2026-11-26"), ("thursday noon", "2026-11-26"), ("周四傍晚", "2026-11-26"),
    ("周四晚", "2026-11-26"), ("周四早晨", "2026-11-26"), ("thursday pm", "2026-11-26"),
    ("tomorrow am", "2026-11-24"), ("周四下午两点", "2026-11-26"), ("周四14:00", "2026-11-26"),
    ("明天上午9点", "2026-11-24"), ("周三 9:30", "2026-11-25"), ("Thu 2pm", "2026-11-26"),
    ("11-25 14:00", "2026-11-25"), ("25 Nov 2pm", "2026-11-25"), ("Dec 1 pm", "2026-12-01"),
    ("3号下午2点", "2026-12-03")])
def test_a_day_with_the_time_of_day_as_people_type_it(typed: str, read: str) -> None:
    """A day and a part of it in one word (今晚, 明早, tonight), or with a time of day, is
    that day. Each was "not understood" before."""
    assert DateAnswer(past_only=False).parse(typed, TODAY) == read
    assert days_meant(typed, TODAY) == [date.fromisoformat(read)]


def test_last_night_is_yesterday() -> None:
    assert DateAnswer().parse("昨晚", TODAY) == DateAnswer().parse("last night", TODAY) \
        == "2026-11-22"


@pytest.mark.parametrize(("typed", "at"), [
    ("周四下午两点", time(14)), ("两点", time(14)), ("2点", time(14)), ("周四2点", time(14)),
    ("下午3点", time(15)), ("下午3点半", time(15, 30)), ("十二点半", time(12, 30)),
    ("中午1点", time(13)), ("上午9点", time(9)), ("9点", time(9)), ("9点30分", time(9, 30)),
    ("三点一刻", time(15, 15)), ("两点五分", time(14, 5)), ("周二十点", time(10)),
    ("星期五九点", time(9)), ("晚上7点", time(19)), ("明晚7点半", time(19, 30)),
    ("14:00", time(14)), ("14：00", time(14)), ("周三 9:30", time(9, 30)), ("14时", time(14)),
    ("2pm", time(14)), ("2 pm", time(14)), ("Thu 2pm", time(14)), ("9am", time(9)),
    ("2:30 p.m.", time(14, 30)), ("12pm", time(12)), ("2 o'clock", time(14)),
    ("周三 8:30-11:30", time(8, 30))])
def test_a_time_of_day_as_people_type_it(typed: str, at: time) -> None:
    """An hour said alone from 1 to 6 is the afternoon's: no reception is at night."""
    assert time_meant(typed) == at
    assert when_meant(typed) == When(at=at)


@pytest.mark.parametrize("typed", [
    "2", "2.", "第二个", "二", "11-25", "12/1", "11月25日", "25 Nov", "Dec 1 pm", "3号", "9.30",
    "晚一点的", "早点", "快一点", "25:00", "下午", "9点或者10点"])
def test_a_number_or_a_date_is_no_time(typed: str) -> None:
    """A number alone is a position in a list ("2" is option 2); a date is no time;
    "晚一点的" asks for a later one."""
    assert time_meant(typed) is None


@pytest.mark.parametrize(("typed", "half"), [
    ("中午", "noon"), ("noon", "noon"), ("midday", "noon"), ("周四中午", "noon"),
    ("傍晚", "evening"), ("今晚", "evening"), ("明晚", "evening"), ("周四晚", "evening"),
    ("tonight", "evening"), ("tomorrow night", "evening"), ("早晨", "morning"),
    ("明早", "morning"), ("tomorrow am", "morning"), ("thursday pm", "pm"),
    ("Dec 1 pm", "pm"), ("afternoon", "afternoon")])
def test_a_part_of_the_day_as_people_type_it(typed: str, half: str) -> None:
    assert when_meant(typed) == When(half=half)


@pytest.mark.parametrize(("typed", "read"), [
    ("周三那场", "2026-11-25"), ("周三那一场", "2026-11-25"), ("周三那个", "2026-11-25"),
    ("周三的那场吧", "2026-11-25"), ("周三中午那场", "2026-11-25"),
    ("周四下午的那个", "2026-11-26"), ("周四两点那场", "2026-11-26"), ("11-25那场", "2026-11-25"),
    ("Wednesday's one", "2026-11-25"), ("Wednesday\u2019s one", "2026-11-25"),
    ("the Thursday one", "2026-11-26"), ("Thursday's morning one", "2026-11-26"),
    ("this afternoon", "2026-11-23"), ("this morning", "2026-11-23")])
def test_the_one_of_a_day_is_that_day(typed: str, read: str) -> None:
    """那场 / 那个 / "one" after a day kept it from being read; "this afternoon" was none."""
    assert days_meant(typed, TODAY) == [date.fromisoformat(read)]


@pytest.mark.parametrize(("typed", "when"), [
    ("下午", When(half="afternoon")), ("下午那场", When(half="afternoon")),
    ("上午的那个吧", When(half="morning")), ("下午3点", When(at=time(15))),
    ("3点的那个", When(at=time(15))), ("2pm", When(at=time(14))),
    ("at 2pm", When(at=time(14))), ("the afternoon one", When(half="afternoon")),
    ("in the morning", When(half="morning")), ("想谈谈下午加班的事", None),
    ("下午三点可以吗", None), ("this afternoon", None), ("周四下午", None), ("2", None),
    ("11-25", None), ("晚一点的", None)])
def test_a_time_or_a_part_of_the_day_said_alone(typed: str, when: When | None) -> None:
    """What says a time of day and nothing else: words that merely hold one, or a day
    with it, are not that."""
    assert when_alone(typed) == when


@pytest.mark.parametrize(("typed", "way"), [
    ("晚一点的", "later"), ("晚点那场", "later"), ("我要晚一点的那个吧", "later"),
    ("下一个", "later"), ("早一点的", "earlier"), ("早点的", "earlier"), ("前面那个", "earlier"),
    ("later one", "later"), ("the later one", "later"), ("the latter", "later"),
    ("earlier one", "earlier"), ("The earlier one.", "earlier"), ("the former", "earlier"),
    ("下午", None), ("晚上", None), ("早上", None), ("the other one", None), ("2", None)])
def test_the_earlier_or_the_later_as_people_type_it(typed: str, way: str | None) -> None:
    assert order_meant(typed) == way


@pytest.mark.parametrize(("when", "hours", "fits"), [
    (When(half="noon"), (time(11, 30), time(13)), True),
    (When(half="noon"), (time(12, 30), time(13, 30)), True),
    (When(half="noon"), (time(8, 30), time(11, 30)), False),
    (When(half="noon"), (time(9), time(12)), False),
    (When(half="noon"), (time(14), time(17)), False),
    (When(half="pm"), (time(18, 30), time(20)), True),
    (When(half="pm"), (time(8, 30), time(11, 30)), False),
    (When(at=time(14)), (time(14), time(17)), True),
    (When(at=time(11, 30)), (time(8, 30), time(11, 30)), False),
    (When(at=time(12)), (time(8, 30), time(11, 30)), False)])
def test_a_reception_is_in_the_part_of_the_day_or_under_way_at_the_time(
        when: When, hours: tuple[time, time], fits: bool) -> None:
    """Noon: under way between 12:00 and 13:00; a time: from its start, before its end."""
    assert when.fits(*hours) is fits
