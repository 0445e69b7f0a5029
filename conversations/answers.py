"""Typed answers: parse what a person typed, or say why it is not an answer."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, time, timedelta


class Invalid(Exception):
    """The text is not a valid answer; `key` names the catalog message that says why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def normalize(text: str) -> str:
    """Fold full-width characters and surrounding space, as phone keyboards vary."""
    return unicodedata.normalize("NFKC", text).strip()


@dataclass(frozen=True)
class Text:
    min_len: int = 1
    max_len: int = 500
    place: bool = False  # asks where: a location shared on the map answers it too

    def parse(self, text: str) -> str:
        value = text.strip()  # keep the person's own punctuation (，。) as typed
        if len(value) < self.min_len:
            raise Invalid("invalid.too_short", min=self.min_len, got=len(value))
        if len(value) > self.max_len:
            raise Invalid("invalid.too_long", max=self.max_len, got=len(value))
        if value and not any(unicodedata.category(ch)[0] in "LN" for ch in value):
            # 👍👍 or "。。。" says nothing a handler could act on: words are asked for.
            raise Invalid("invalid.no_words")
        return value


@dataclass(frozen=True)
class Option:
    value: str
    label: str  # catalog key


@dataclass(frozen=True)
class Choice:
    """Choose one option; `source` names options supplied at run time by the directory.

    `given`: the step whose answer the source's options depend on (the actions offered on
    the case chosen); the directory is asked with that answer, and offers nothing before it.

    `typed`: (option, pattern): a typed text that is no option but matches the pattern
    chooses that option and answers the question it leads to (a receipt code typed where
    "enter a receipt code" is offered).

    `named`: the run-time options are names (a workshop, a person, an action), so a word
    typed from one label chooses it, as the declared options' words do. Options showing
    records (cases, receptions, bookings) are not: their labels hold free text, dates and
    numbers that a typed word could meet by chance.

    `dated`: the run-time options are receptions on a day (the directory's optional
    `option_day`), so a day typed ("周五", "下周一", "明天", "11-30") chooses that day's, in
    the part of the day or at the time of day said with it ("周四下午两点", `option_hours`),
    and a leader's name typed (`slots_of`) that leader's.

    `guess`: a catalog key whose `<guess>.<value>` lists, in each language, words that
    point to that option ("加班费": wages): where the form's words so far point to one
    option only, it is shown first and said to be the likely one. Still a choice: nothing
    is chosen for the person.
    """

    options: tuple[Option, ...] = ()
    source: str | None = None
    given: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    typed: tuple[str, re.Pattern[str]] | None = None
    named: bool = False
    dated: bool = False
    guess: str | None = None


# A receipt code as typed: ten letters and digits, maybe split by a dash or a space,
# maybe after its name ("回执码：").
RECEIPT_CODE = re.compile(r"^\W*(?:回执码|receipt\s*code)?\W*[2-9A-Z]{5}[\s\-—]*[2-9A-Z]{5}\W*$",
                          re.IGNORECASE)


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


# A position in a list as people type it: "2." "2、" "第2个" "第二项" "二" "#2" "no. 2".
_ORDINAL = re.compile(r"^(?:第|no\.?|#)?\s*(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*"
                      r"(?:个|项|条|号|\.|、|。|\))?$", re.IGNORECASE)


def ordinal(text: str) -> int | None:
    """The position a typed text names, else None ("2" itself is one too)."""
    m = _ORDINAL.match(normalize(text))
    if m is None:
        return None
    word = m[1]
    return int(word) if word.isdigit() else chinese_number(word)


def chinese_number(text: str) -> int | None:
    """Read a small Chinese numeral such as 二十五 or 三百; None if it is not one."""
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    if all(ch in _CN_DIGITS for ch in text):  # read digit by digit: 二五 is 25
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            if unit == 10000:
                total = (total + section + (digit or 0) or 1) * unit
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * unit
                digit = None
    return total + section + (digit or 0)


_UNIT_WORDS = re.compile(r"\s*(名工人|个工人|名职工|个职工|名员工|工人|职工|员工|号人|"
                         r"个人|人|名|个|位|people|persons?|workers?|employees?)$", re.I)
_ABOUT = re.compile(r"^(约|大约|大概|估计|差不多|将近|接近|近|about|around|approximately|"
                    r"approx\.?|roughly|nearly|almost|~|≈)\s*", re.I)
# "More than": the number said is what is known (二十多 is twenty and some).
_AT_LEAST = re.compile(r"^(超过|不少于|至少|over|more than|at least)\s*", re.I)
_OR_SO = re.compile(r"\s*(多|余|来|左右|上下|以上|开外|\+|or so|or more|plus|odd|-?ish)$", re.I)
_RANGE = re.compile(r"^(.+?)\s*(?:-|~|–|—|到|至|或|to|or)\s*(.+)$", re.I)
# 七八个, 二三十: two neighbouring digits say "seven or eight", "twenty or thirty".
_NEIGHBOURS = re.compile(r"^([一二两三四五六七八九])([一二两三四五六七八九])([十百千]?)$")
_EN_ONES = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen"))}
_EN_TENS = {w: 10 * i for i, w in enumerate((
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")) if w}


def english_number(text: str) -> int | None:
    """Read a small English number in words ("twenty", "twenty-five", "a hundred",
    "a dozen"); None if it is not one."""
    words = text.lower().replace("-", " ").replace(" and ", " ").split()
    if words in (["a", "dozen"], ["dozen"]):
        return 12
    total, current = 0, None
    for word in words:
        if word in _EN_ONES:
            current = (current or 0) + _EN_ONES[word]
        elif word in _EN_TENS:
            current = (current or 0) + _EN_TENS[word]
        elif word in ("a", "one") and current is None:
            current = 1
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "thousand":
            total, current = (total + (current or 1)) * 1000, None
        else:
            return None
    return None if current is None and total == 0 else total + (current or 0)


def _count(text: str) -> int | None:
    """A count as digits, a Chinese numeral or English words; None if none of them."""
    if re.fullmatch(r"\d{1,7}", text):
        return int(text)
    return chinese_number(text) if chinese_number(text) is not None else english_number(text)


def _estimate(text: str) -> int | None:
    """A rough head count as people say it: 二十多, 十几个, 几十, 七八个, 二三十, 20-30,
    20+, over 20, twenty or so. Of a range, its higher end: those who answer must be
    ready for as many; of "twenty and more", twenty, what is known."""
    text = _AT_LEAST.sub("", _UNIT_WORDS.sub("", _OR_SO.sub("", text))).strip()
    if text.endswith("几") and chinese_number(text[:-1]) is not None:  # 十几, 二十几
        return chinese_number(text[:-1])
    if text.startswith("几") and text[1:] in ("十", "百", "千"):  # 几十: some tens,
        return 2 * _CN_UNITS[text[1:]]  # at least two of them (几 is never one)
    if text in ("上百", "上千", "成百", "成千"):  # 上百人: a hundred and more
        return _CN_UNITS[text[1]]
    pair = _NEIGHBOURS.match(text)
    if pair:
        unit = _CN_UNITS[pair[3]] if pair[3] else 1
        return max(_CN_DIGITS[pair[1]], _CN_DIGITS[pair[2]]) * unit
    direct = _count(text)
    if direct is not None:  # twenty-five is not a range
        return direct
    span = _RANGE.match(text)
    if span:
        low, high = _count(_UNIT_WORDS.sub("", span[1]).strip()), _count(span[2].strip())
        if low is not None and high is not None and low <= high:
            return high
    return None


@dataclass(frozen=True)
class Number:
    """A whole number in a range. `estimate`: a head count, which may be rough
    (二十多人, 20-30, twenty or so); a count that must be exact (signatures, days)
    takes only a number."""

    min_value: int = 0
    max_value: int = 100000
    estimate: bool = False

    def parse(self, text: str) -> int:
        value = normalize(text)
        stripped = _UNIT_WORDS.sub("", value)
        stripped = _ABOUT.sub("", stripped).strip()
        number = _estimate(stripped) if self.estimate else _count(stripped)
        if number is None:
            raise Invalid("invalid.number")
        if not self.min_value <= number <= self.max_value:
            raise Invalid("invalid.number_range", min=self.min_value, max=self.max_value)
        return number


_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?$"), "ymd"),
    (re.compile(r"^(\d{4})[-/.年](\d{1,2})月?份?$"), "ym"),
    (re.compile(r"^(\d{1,2})[-/.月](\d{1,2})[日号]?$"), "md"),
    (re.compile(r"^(\d{1,2})月份?$"), "m"),  # "9月": the latest September
    # A day of the month alone ("3号", "30日", "三十号", "the 30th"): of this month or the
    # next (a day to come), of this month or the last (what happened).
    (re.compile(r"^(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]$|^(?:the)?(\d{1,2})(?:st|nd|rd|th)$"),
     "d"),
)
# A month by its English name, with a day and maybe a year ("25 Nov", "Nov 25", "Dec. 1st",
# "1 December", "the 1st of December", "December 1st, 2026"), or alone ("November", "Nov
# 2026"), as typed once spaces are gone: read as the digits the patterns above take.
_MONTHS = {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
           "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
           "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "october": 10,
           "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDINAL_END = r"(?:st|nd|rd|th)?"
_DAY_MONTH = re.compile(rf"^(?:on)?(?:the)?(\d{{1,2}}){_ORDINAL_END}(?:of)?({_MONTH})\.?,?"
                        r"(\d{4})?$")
_MONTH_DAY = re.compile(rf"^(?:on)?({_MONTH})\.?,?(?:the)?(\d{{1,2}}){_ORDINAL_END},?"
                        r"(\d{4})?$")
_MONTH_ALONE = re.compile(rf"^(?:in)?({_MONTH})\.?,?(\d{{4}})?$")


def _month_named(bare: str) -> str:
    """A date typed with an English month name, as digits ("25nov" -> "11-25", "nov25,2026"
    -> "2026-11-25", "november" -> "11月", "nov2026" -> "2026-11"); else as it was."""
    m = _DAY_MONTH.match(bare)
    if m is not None:
        day, month, year = m[1], _MONTHS[m[2]], m[3]
    else:
        m = _MONTH_DAY.match(bare)
        if m is None:
            alone = _MONTH_ALONE.match(bare)
            if alone is None:
                return bare
            month = _MONTHS[alone[1]]
            return f"{alone[2]}-{month:02d}" if alone[2] else f"{month}月"
        day, month, year = m[2], _MONTHS[m[1]], m[3]
    return f"{year}-{month}-{day}" if year else f"{month}-{day}"


# A day of the month alone as typed to a choice of receptions: a day, never a position in
# the list ("3号" is the 3rd, as a bare "3" is option 3).
DAY_OF_MONTH = _DATE_PATTERNS[-1][0]
_RELATIVE = {"今天": 0, "today": 0, "昨天": 1, "yesterday": 1, "前天": 2, "大前天": 3}
_AHEAD = {"今天": 0, "today": 0, "明天": 1, "tomorrow": 1, "后天": 2, "大后天": 3}
# Since when, said as people say it: a month back (read as that month, as 9月份 is), or
# last week (its Monday).
_PAST_SPANS = {"上个月": "1", "上月": "1", "lastmonth": "1", "本月": "0", "这个月": "0",
               "thismonth": "0", "上上个月": "2", "上周": "week", "上星期": "week",
               "上个星期": "week", "上礼拜": "week", "上个礼拜": "week", "lastweek": "week"}
# A weekday, as said (上周一, 这周三, 星期五, last monday): last week's, this week's, or the
# latest one; and "3天前", "两周前", "2 months ago".
_WEEKDAY_NAMES = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
                  "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6, "末": 5,
                  "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
                  "saturday": 5, "sunday": 6, "mon": 0, "tue": 1, "tues": 1, "wed": 2,
                  "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5, "sun": 6}
# 下下周一 and "monday after next": the week after next's.
_WEEKDAY_SAID = re.compile(r"^(上上|上|本|这|下下|下)?个?(?:周|星期|礼拜)([一二三四五六日天1-7末])$"
                           r"|^(?:the)?(last|this|next)?(monday|tuesday|wednesday|thursday"
                           r"|friday|saturday|sunday|weekend|mon|tues?|wed|thu|thurs?|fri|sat"
                           r"|sun)(afternext)?$")
_AGO = re.compile(r"^(\d{1,3}|[一二两三四五六七八九十半]{1,3})(?:个)?(天|日|周|星期|礼拜|月|年)"
                  r"(?:以)?(前|后|之后|以后)$"
                  r"|^(\d{1,3}|a|one|two|three|four|five|six)(day|week|month)s?(ago)$"
                  r"|^in(\d{1,3}|a|one|two|three|four|five|six)(day|week|month)s?()$")
# Words around a day that do not change it: "从上周一开始", "上周一早上", "周四晚", "since
# last monday", "thursday pm". So are a particle or a question mark after it ("周三吧",
# "周三？", "今天的"); "mon" keeps its "on". A time of day said with it is taken out before
# (_without_clock).
_AROUND_DAY = re.compile(r"^(?:从|自从|自|since|from)|(?:开始|以来|起|早上|早晨|清早|上午|中午|下午"
                         r"|晚上|晚间|傍晚|早|晚|那天|的时候|的|吧|呢|啊|呀|吗|morning|noon"
                         r"|midday|lunchtime|afternoon|evening|night|a\.?m\.?|p\.?m\.?"
                         r"|(?<!m)on)$")
_AFTER_DAY = re.compile(r"[。.?!~…]+$")
# The one of that day, said after it: "周三那场", "周四下午的那个", "Wednesday's one", "the
# Thursday one" ("the" before a weekday is _WEEKDAY_SAID's).
_ONE_OF_DAY = re.compile(r"(?:那一场|那场|那一个|那个|这一场|这场|这个|'s|one)$")
# A day and a part of it in one word ("今晚", "明早", "tonight", "this afternoon"): the day.
_DAY_AND_HALF = {"今早": "今天", "今晚": "今天", "明早": "明天", "明晚": "明天", "昨晚": "昨天",
                 "tonight": "today", "lastnight": "yesterday", "thismorning": "today",
                 "thisafternoon": "today", "thisevening": "today"}


def _bare(value: str) -> str:
    """A day as typed, normalized, without the words around it (see _AROUND_DAY,
    _ONE_OF_DAY)."""
    value = _AFTER_DAY.sub("", value.replace("\u2019", "'"))
    for _ in range(6):  # "今晚的", "周四下午吧", "周三中午的那场吧"
        bare = _ONE_OF_DAY.sub("", _AROUND_DAY.sub("", _DAY_AND_HALF.get(value, value)))
        if bare == value:
            break
        value = bare
    return _DAY_AND_HALF.get(value, value)
_EN_SMALL = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def _weekday_said(value: str, today: date, ahead: bool = False) -> date | None:
    m = _WEEKDAY_SAID.match(value)
    if m is None:
        return None
    which, name = (m[1], m[2]) if m[2] else ("下下" if m[5] else m[3], m[4])
    monday = today - timedelta(days=today.weekday())
    wd = 5 if name == "weekend" else _WEEKDAY_NAMES[name]  # 上周末: its Saturday
    if which in ("上", "上上"):
        return monday - timedelta(days=7 * len(which)) + timedelta(days=wd)
    if which in ("本", "这", "this"):
        return monday + timedelta(days=wd)
    if which in ("下", "next"):
        return monday + timedelta(days=7 + wd)
    if which == "下下":
        return monday + timedelta(days=14 + wd)
    if ahead and which is None:  # a day to come: the next one ("周五" for a visit); today's
        # own weekday said alone is next week's: today has its word (今天), and "这周一"
        # says this one (see days_meant for a question that can ask which).
        return today + timedelta(days=(wd - today.weekday() - 1) % 7 + 1)
    back = (today.weekday() - wd) % 7  # the latest one; "last monday": before today
    return today - timedelta(days=back or (7 if which == "last" else 0))


def days_meant(text: str, today: date) -> list[date]:
    """The days a text typed for a day to come may mean: none, one, or, for today's own
    weekday said alone ("周一" on a Monday, "monday"), today and the same day next week,
    the later one last (DateAnswer takes it; a choice of receptions asks which)."""
    value = _without_clock(normalize(text).lower()).replace(" ", "")
    try:
        said = date.fromisoformat(DateAnswer(past_only=False).parse(value, today))
    except (Invalid, ValueError):  # a month alone ("2026-12") is no day
        return []
    m = _WEEKDAY_SAID.match(_bare(value))
    alone = m is not None and m[1] is None and m[3] is None and m[5] is None
    return [today, said] if alone and said == today + timedelta(days=7) else [said]


# The part of a day said with it ("明天上午", "周三下午", "tomorrow afternoon", "周四晚",
# "thursday pm"), or alone to a question among one day's receptions ("下午那场"): the
# reception meant is in it. 早 and 晚 alone only right after a day ("明早", "周四晚"):
# "晚一点的" is a later one, "早点" early.
_HALF_WORDS = {"上午": "morning", "早上": "morning", "早晨": "morning", "清早": "morning",
               "早": "morning", "morning": "morning", "am": "morning",
               "中午": "noon", "noon": "noon", "midday": "noon", "lunchtime": "noon",
               "下午": "afternoon", "afternoon": "afternoon", "pm": "pm",
               "晚上": "evening", "晚间": "evening", "傍晚": "evening", "晚": "evening",
               "evening": "evening", "night": "evening", "tonight": "evening"}
_HALF_SAID = re.compile(r"上午|早上|早晨|清早|中午|下午|晚上|晚间|傍晚"
                        r"|(?<=[今明昨天一二三四五六日末号\d])[早晚](?![上晨间点些一了])"
                        r"|(?<![a-z])(?:morning|noon|midday|lunchtime|afternoon|evening|tonight"
                        r"|night|a\.?m\.?|p\.?m\.?)(?![a-z])")
NOON, NOON_OVER, EVENING = time(12, 0), time(13, 0), time(18, 0)


def half_meant(text: str) -> str | None:
    """The part of the day a text says ("morning", "noon", "afternoon", "pm", "evening"),
    else None (also when it says two)."""
    value = normalize(text).lower()
    said = {_HALF_WORDS[w.replace(".", "")]
            for w in _HALF_SAID.findall(re.sub(r"(?<![a-z])\s+|\s+(?![a-z])", "", value))}
    return said.pop() if len(said) == 1 else None


def in_half(half: str, start: time, end: time) -> bool:
    """Whether a reception from `start` to `end` is in that part of the day: the morning
    (am) if it begins before noon, at noon if it goes on between 12:00 and 13:00, the
    afternoon if it goes on after noon (and begins before the evening), pm if it goes on
    after noon, the evening if it goes on after 18:00. A whole day's is in each."""
    if half == "morning":
        return start < NOON
    if half == "noon":
        return start < NOON_OVER and end > NOON
    if half == "afternoon":
        return end > NOON and start < EVENING
    if half == "pm":
        return end > NOON
    return end > EVENING


# A time of day as typed: "14:00", "9:30", "2pm", "9 am", "2 o'clock", "两点", "十点半",
# "9点30分", "三点一刻", "14时"; hours as a reception's ("8:30-11:30"), their start. Never a
# number alone ("2" is option 2), nor a date ("11-25", "12/1", "11月25日", "25 Nov").
_CN_HOUR = r"二十[一二三四]?|十[一二]?|[零一二两三四五六七八九]"
_CN_MINUTE = r"[二三四五]?十[一二三四五六七八九]?|零[一二三四五六七八九]|[一二三四五六七八九](?=分)"
_AM_PM = r"a\.?m\.?|p\.?m\.?"
_CLOCK = re.compile(
    rf"(?<![\d:：.\-/])(\d{{1,2}})\s*[:：]\s*(\d{{2}})(?:\s*[-~～–—至到]\s*\d{{1,2}}[:：]\d{{2}})?"
    rf"(?![\d:：])(?:\s*({_AM_PM})(?![a-z]))?"
    rf"|(?<![\d.\-/:：])(\d{{1,2}})\s*(?:({_AM_PM})|o'?clock)(?![a-z])"
    rf"|(?:(?<![\d.\-/:：])(\d{{1,2}})\s*[点时]|(?<![周期拜早晚快慢多少好差])({_CN_HOUR})点)"
    rf"钟?(半|一刻|三刻|\d{{1,2}}(?!\d)|{_CN_MINUTE})?分?")
_MONTH_BEFORE = re.compile(rf"(?:{_MONTH})\.?\s*$")


def _clocks(text: str) -> list[tuple[re.Match[str], time | None]]:
    """The times of day a normalized, lower-case text says, each with its match (None
    for one that is no time: "25:00"). "Dec 1 pm" says the 1st, not one o'clock."""
    found = []
    for m in _CLOCK.finditer(text):
        before = text[:m.start()]
        if _MONTH_BEFORE.search(before) and not re.search(r"\d", before):
            continue
        found.append((m, _clock_time(m, half_meant(text))))
    return found


def _clock_time(m: re.Match[str], half: str | None) -> time | None:
    """A time matched by _CLOCK, in 24 hours: "下午两点" and "2pm" are 14:00, "两点" alone
    is too (a reception at 2 at night is none), "上午9点" and "9点" 09:00."""
    said = m[1] or m[4] or m[6] or m[7]
    hour = int(said) if said.isdigit() else chinese_number(said)
    spoken = m[2] or m[8] or ""  # "9:30", "9点30", "九点半"
    minutes = {"": 0, "半": 30, "一刻": 15, "三刻": 45}.get(spoken)
    if minutes is None:
        minutes = int(spoken) if spoken.isdigit() else chinese_number(spoken)
    suffix = (m[3] or m[5] or "").replace(".", "")
    if hour is None or minutes is None or hour > 23 or minutes > 59 \
            or (suffix and not 1 <= hour <= 12):
        return None
    if suffix == "am" and hour == 12:
        hour = 0
    elif hour < 12 and (suffix == "pm" or (not suffix and (
            half in ("afternoon", "pm", "evening") or (half == "noon" and hour <= 2)
            or (half is None and 1 <= hour <= 6)))):
        hour += 12
    return time(hour, minutes)


def _without_clock(text: str) -> str:
    """A normalized text without the times of day it says ("周四 14:00" -> "周四 ")."""
    for m, _ in reversed(_clocks(text)):
        text = text[:m.start()] + " " + text[m.end():]
    return text


def time_meant(text: str) -> time | None:
    """The time of day a text says ("周四下午两点", "Thu 2pm", "14:00"), else None (also
    when it says two, or one no clock shows)."""
    found = _clocks(normalize(text).lower())
    return found[0][1] if len(found) == 1 else None


@dataclass(frozen=True)
class When:
    """When in a day a text says a reception is: a part of it (`half`, see in_half) or a
    time of day (`at`), which the reception is under way at."""

    half: str | None = None
    at: time | None = None

    def fits(self, start: time, end: time) -> bool:
        if self.at is not None:
            return start <= self.at < end
        return self.half is None or in_half(self.half, start, end)


def when_meant(text: str) -> When | None:
    """The time of day a text says, else the part of the day it says, else None."""
    at = time_meant(text)
    if at is not None:
        return When(at=at)
    half = half_meant(text)
    return When(half=half) if half is not None else None


# Words before a time said alone: "at 2pm", "in the afternoon", "the 2pm one", "大约三点".
_BEFORE_TIME = re.compile(r"^(?:at|around|about|inthe|the|大约|大概|约)")


def when_alone(text: str) -> When | None:
    """when_meant of a text that says a time of day or a part of the day and nothing else
    ("下午", "下午3点那场", "2pm", "at noon"): none for words that merely hold one ("想谈谈
    下午加班的事")."""
    value = _without_clock(normalize(text).lower()).replace(" ", "")
    return when_meant(text) if not _bare(_BEFORE_TIME.sub("", value)) else None


# Which week, said to a question between today's reception and next week's ("下周的",
# "this week"); and the later of the two ("下一个", "next one").
_WEEKS = {"这周": 0, "本周": 0, "这星期": 0, "这个星期": 0, "本星期": 0, "这礼拜": 0,
          "这个礼拜": 0, "thisweek": 0, "thisweeks": 0, "thisweek's": 0,
          "下周": 1, "下星期": 1, "下个星期": 1, "下礼拜": 1, "下个礼拜": 1,
          "nextweek": 1, "nextweeks": 1, "nextweek's": 1}
_LATER = {"下一个", "下一场", "下个", "后一个", "后一场", "后面那个", "后面的", "后面那场",
          "nextone", "thenextone", "thelaterone", "laterone", "thelater", "thelatter"}
_ONE_WORDS = re.compile(r"(?:那个|那场|那一场|这个|这场|的|one|please)$")


def week_meant(text: str) -> int | None:
    """The week a text names alone: 0 this week ("这周", "this week"), 1 the next ("下周的",
    "next week"); None for any other text."""
    value = _AFTER_DAY.sub("", normalize(text).lower().replace(" ", "").replace("\u2019", "'"))
    for _ in range(2):  # "下周的那个", "next week's one"
        if value in _WEEKS:
            return _WEEKS[value]
        value = _AROUND_DAY.sub("", _ONE_WORDS.sub("", value))
    return _WEEKS.get(value)


def later_meant(text: str) -> bool:
    """Whether a text says the later of two ("下一个", "后面那个", "the next one")."""
    value = _AFTER_DAY.sub("", normalize(text).lower().replace(" ", ""))
    return _AROUND_DAY.sub("", value) in _LATER or value in _LATER


# The earlier or the later of one day's receptions, said to a question among them ("晚一点的",
# "早点那场", "the later one"), as _ORDER_WORDS bare them.
_EARLIER_LATER = {"早一点": "earlier", "早点": "earlier", "早一些": "earlier", "早些": "earlier",
                  "更早": "earlier", "前一个": "earlier", "前一场": "earlier", "前面": "earlier",
                  "earlier": "earlier", "former": "earlier",
                  "晚一点": "later", "晚点": "later", "晚一些": "later", "晚些": "later",
                  "更晚": "later", "later": "later", "latter": "later"}
_ORDER_WORDS = re.compile(r"^(?:我要|我选|要|选|the)|(?:那一场|那场|那一个|那个|的|吧|呢|啊|呀"
                          r"|one|please)$")


def order_meant(text: str) -> str | None:
    """The earlier ("earlier") or later ("later") of two a text says: "早一点的", "晚点那场",
    "the earlier one", "later", or one later_meant takes ("下一个", "后面那个"); else None."""
    value = _AFTER_DAY.sub("", normalize(text).lower().replace(" ", ""))
    if later_meant(value):
        return "later"
    for _ in range(4):  # "我要晚一点的那场吧"
        value = _ORDER_WORDS.sub("", value)
    return _EARLIER_LATER.get(value)


def _ago(value: str, today: date) -> str | None:
    m = _AGO.match(value)
    if m is None:
        return None
    said, unit, way = next((m[i], m[i + 1], m[i + 2]) for i in (1, 4, 7) if m[i])
    ahead = way not in ("前", "ago")
    count: int | None
    if said == "半":
        count, unit = {"月": (15, "天"), "年": (6, "月")}.get(unit, (0, unit))
    else:
        count = int(said) if said.isdigit() else _EN_SMALL.get(said) or chinese_number(said)
    if not count:
        return None
    if unit == "年":
        count, unit = count * 12, "月"
    if unit in ("月", "month"):
        if ahead:
            return None  # "两个月后": not a day
        first = today.replace(day=1)
        for _ in range(count):
            first = (first - timedelta(days=1)).replace(day=1)
        return first.isoformat()[:7]
    days = count * (7 if unit in ("周", "星期", "礼拜", "week") else 1)
    return (today + timedelta(days=days) if ahead else today - timedelta(days=days)).isoformat()


# A month and day without a year, asked for a day to come: one this far behind today is
# next year's ("1月4日" typed on 12-28), nearer ones are this year's (a leave begun).
_NEXT_YEAR_AFTER = timedelta(days=180)


@dataclass(frozen=True)
class DateAnswer:
    """A calendar date. `past_only` (what happened, since when): dates after today are
    refused, and a month alone is taken ("2026-10"). Otherwise (a deadline, a day off,
    a visit) the day itself is needed, and "明天" / "tomorrow" are understood."""

    past_only: bool = True

    def parse(self, text: str, today: date) -> str:
        value = _without_clock(normalize(text).lower()).replace(" ", "")
        bare = _bare(value)  # "明天上午", "周三吧", "今天的", "明晚8点": the day
        relative = _RELATIVE if self.past_only else _AHEAD
        if bare in relative:
            step = timedelta(days=relative[bare])
            return (today - step if self.past_only else today + step).isoformat()
        if self.past_only and bare in _PAST_SPANS:  # "上个月": that month
            back = _PAST_SPANS[bare]
            if back == "week":
                return (today - timedelta(days=today.weekday() + 7)).isoformat()
            first = today.replace(day=1)
            for _ in range(int(back)):
                first = (first - timedelta(days=1)).replace(day=1)
            return first.isoformat()[:7]
        said = _weekday_said(bare, today, ahead=not self.past_only)
        if said is not None:
            if self.past_only and said > today:  # "这周五" said on a Wednesday
                raise Invalid("invalid.date_future")
            return said.isoformat()
        ago = _ago(bare, today)
        if ago is not None:
            if self.past_only and ago > today.isoformat():
                raise Invalid("invalid.date_future")
            return ago
        if not self.past_only and bare in ("月底", "本月底", "这个月底", "endofthemonth",
                                           "endofmonth"):
            nxt = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
            return (nxt - timedelta(days=1)).isoformat()
        unread = "invalid.date" if self.past_only else "invalid.date_ahead"
        bare = _month_named(bare)  # "25 Nov", "December 1st": as "11-25", "12-1"
        for pattern, kind in _DATE_PATTERNS:
            m = pattern.match(bare)
            if not m:
                continue
            if kind in ("ym", "m") and not self.past_only:
                raise Invalid("invalid.date_day")
            try:
                if kind == "ymd":
                    day = date(int(m[1]), int(m[2]), int(m[3]))
                    result = day.isoformat()
                elif kind == "ym":
                    day = date(int(m[1]), int(m[2]), 1)
                    result = day.isoformat()[:7]
                elif kind == "d":
                    day = _day_of_month(m[1] or m[2], today, ahead=not self.past_only)
                    result = day.isoformat()
                elif kind == "m":
                    day = date(today.year, int(m[1]), 1)
                    if day > today:
                        day = day.replace(year=today.year - 1)
                    result = day.isoformat()[:7]
                else:
                    day = date(today.year, int(m[1]), int(m[2]))
                    if day > today and self.past_only:
                        day = day.replace(year=today.year - 1)
                    elif not self.past_only and day < today - _NEXT_YEAR_AFTER:
                        day = day.replace(year=today.year + 1)
                    result = day.isoformat()
            except ValueError as exc:
                raise Invalid(unread) from exc
            if self.past_only and day > today:
                raise Invalid("invalid.date_future")
            return result
        raise Invalid(unread)


def _day_of_month(said: str, today: date, ahead: bool) -> date:
    """The day of the month said alone: the next one to come (today's included), or the
    latest one gone by; a month without it (31号 said in November) is passed over."""
    number = int(said) if said.isdigit() else chinese_number(said)
    if number is None or not 1 <= number <= 31:
        raise ValueError(said)
    first = today.replace(day=1)
    for _ in range(3):  # the 31st is at most two months away
        try:
            day = first.replace(day=number)
        except ValueError:
            day = None
        if day is not None and (day >= today if ahead else day <= today):
            return day
        if ahead:
            first = (first + timedelta(days=31)).replace(day=1)
        else:
            first = (first - timedelta(days=1)).replace(day=1)
    raise ValueError(said)


_YES = {"是", "是的", "对", "好", "确认", "yes", "y", "ok", "1"}
_NO = {"否", "不", "不是", "no", "n", "2"}


@dataclass(frozen=True)
class YesNo:
    def parse(self, text: str) -> bool:
        value = normalize(text).lower()
        if value in _YES:
            return True
        if value in _NO:
            return False
        raise Invalid("invalid.yes_no")


@dataclass(frozen=True)
class Phone(Text):
    """A phone number as typed ("138 0000 0000", "+86-10-1234 5678"): kept as + and digits."""

    min_len: int = 5
    max_len: int = 20

    def parse(self, text: str) -> str:
        value = re.sub(r"[\s\-()（）]", "", normalize(text))
        if not re.fullmatch(r"\+?\d{5,15}", value):
            raise Invalid("invalid.phone")
        return value


def masked(number: str) -> str:
    """A phone number as it may be shown or kept outside the contact vault: the middle
    digits hidden ("13800005678" -> "138****5678", "+8613800005678" -> "+86138****5678")."""
    n = len(number)
    tail = 4 if n >= 11 else 2
    stars = max(min(4, n - tail - 1), 0)
    head = n - tail - stars
    return number[:head] + "*" * stars + number[n - tail:]


Kind = Text | Choice | Number | DateAnswer | YesNo
