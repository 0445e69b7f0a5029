"""The dialog engine: state + inbound message -> new state + replies + an effect.

Pure: no I/O, no platform SDK. Channels, storage and handlers live elsewhere.
"""

from __future__ import annotations

import functools
import re
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from conversations import catalog
from conversations.answers import (
    DAY_OF_MONTH,
    Choice,
    DateAnswer,
    Invalid,
    Number,
    Phone,
    Text,
    When,
    YesNo,
    days_meant,
    later_meant,
    masked,
    normalize,
    order_meant,
    ordinal,
    week_meant,
    when_alone,
    when_meant,
)
from conversations.flow import (
    APART,
    PENDING,
    Acknowledge,
    AddFiles,
    Ask,
    CalledBack,
    Directory,
    Effect,
    Flow,
    MenuItem,
    OpenFiles,
    Query,
    Result,
    Submission,
)
from conversations.flows import FLOWS, MENU, menu_for, reachable

REVIEW = "_review"
QUERIES = ("my_cases", "my_alerts", "open_cases", "my_handling")
STATE_VERSION = 1
# Messages a channel could not take as an answer: an edit of a message already sent, a
# sticker or a location. Each is told so, and the question (or the menu) comes again.
EDITED = "cmd:edited"
UNREADABLE = "cmd:unreadable"
# A shared location (a pin, a place picked on the map): its words (see `located`) answer
# a question asking where; any other question, or the menu, is told where it can be used.
LOCATION = "cmd:location"
# The button of the place a report's words named, under the question asking where
# (said:place): pressed, those words answer it, as if typed (Engine._place_said).
PLACE_SAID = "said:"
# A voice note's words as the platform recognised them (WeChat's Recognition), under this
# key of the file's item; they are also the message's text: the answer, as if typed.
HEARD = "heard"
# Group chats: a group is many people, it cannot be one person. An invitation opened in a
# group, and anything else said to the bot there, is answered with where to go instead
# (a private chat), and nothing more: no menu, no form. A channel answers these without a
# person or a conversation (handlers/group_chats.py); the engine says the same if asked.
PRIVATE_ONLY = "cmd:link_private"
GROUP_CHAT = "cmd:group_chat"
GROUP_NOTICES = {PRIVATE_ONLY: "link.private_only", GROUP_CHAT: "group.private"}
_NOTICES = {EDITED: "inbound.edited", UNREADABLE: "inbound.unreadable"}
# What a button press is told when it is no answer to the question now asked.
STALE = "button.stale"  # pressed twice, or an earlier question's
# A button of the form just sent, pressed again (a double tap on "提交"): said so alone,
# as the form's answer and the menu are right above it.
PRESSED_AFTER = "button.after_sent"
# The welcome says what the account does for its reader: a leader, the staff, the director,
# a liaison and the upper union's contact each read their own; an employee, and an
# account nobody knows, the workroom's public welcome. (A liaison's "_untold" words leave
# out the phone when there is no hotline: Context.words.)
WELCOME = {"leader": "menu.welcome_leader", "staff": "menu.welcome_staff",
           "director": "menu.welcome_director", "liaison": "menu.welcome_liaison",
           "upper_union": "menu.welcome_upper_union"}
# A leader with no reception days of their own (Context.duty_days): the leader's welcome
# without "see and swap your reception-duty days"; and without "emergencies come to you"
# when they are not in the alert chain either (Context.in_chain), as the staff's.
NO_DUTY_DAYS = "menu.welcome_leader_no_duty"
NOT_IN_CHAIN = {"leader": "menu.welcome_leader_no_duty_no_chain",
                "staff": "menu.welcome_staff_no_chain"}
# The same words sent again this soon after (by the sender's clock, where the platform
# gives it) are a double tap on "send", not the answer to the question asked since.
SENT_TWICE = timedelta(seconds=2)
# A typed text longer than half of what a message holds on its platform (Context.split_at)
# may be the first part of a longer one its sender's app cut into messages sent back to
# back: Telegram's Android app cuts at the limit itself (4096), its Desktop app at the best
# break past half of it. The next text sent this soon after continues it (State.pasting).
PASTE_WAIT = timedelta(seconds=3)
# A form's button pressed this soon after the form was sent is a second tap on it
# (PRESSED_AFTER); later, one of an old question (STALE, with the menu).
SENT_JUST_NOW = timedelta(minutes=10)
# Files sent this soon after a report was sent join it (a photo of the scene taken after
# "send now").
FILES_AFTER = timedelta(minutes=15)
# Silence after which an emergency report that "send now" could send is sent (the sweep).
URGENT_WAIT = timedelta(minutes=5)
# An urgent report that says only what is happening, not where: sent by a longer silence
# (the place may still come), never kept for ever.
URGENT_WAIT_BARE = timedelta(minutes=10)
# The source of the hotline calls a staff member may mark called back (handlers/directory).
CALLS_WAITING = "calls_to_call_back"
BUSY = "button.busy"  # a push's button that starts something else, pressed during a form

# Words a person may type instead of pressing a button, in either language; each also
# with a slash before it, as Telegram's commands are typed ("/skip", "/submit").
COMMANDS: dict[str, tuple[str, ...]] = {
    "back": ("返回", "上一步", "back"),
    "cancel": ("取消", "放弃", "cancel", "quit"),
    "help": ("帮助", "?", "？", "help"),
    "menu": ("菜单", "主菜单", "menu", "start"),
    "skip": ("跳过", "无", "没有", "skip", "none"),
    "send": ("立即发送", "马上发送", "send now", "send"),
    "confirm": ("提交", "确认", "确认提交", "submit", "confirm"),
    "lang": ("english", "中文", "语言", "language", "lang"),
}


# Of the words that skip a question, those that also answer one in words: nothing (无).
NONE_WORDS = frozenset({"无", "没有", "none"})


@dataclass
class Button:
    label: str
    value: str
    # choice: an answer; action: submit, send now, acknowledge; nav: back, cancel, help, skip
    kind: str = "choice"


@dataclass
class Reply:
    text: str
    buttons: list[Button] = field(default_factory=list)
    # The main menu, for a channel that keeps it on screen beside the conversation
    # (Telegram's keyboard under the input field): shown with this reply, which has no
    # buttons of its own, where the words on it changed (the language was switched during
    # a form). Other channels show only the text; the menu is not this reply's choices.
    menu: list[Button] = field(default_factory=list)
    # A push that need not wake anyone (see handlers.notices.quiet): delivered without a
    # sound by a channel that can (Telegram); never an emergency, never a reply.
    quiet: bool = False

    def to_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict's deep copy was a tenth of a step's time.
        data: dict[str, Any] = {"text": self.text, "buttons": [
            {"label": b.label, "value": b.value, "kind": b.kind} for b in self.buttons]}
        if self.menu:
            data["menu"] = [{"label": b.label, "value": b.value, "kind": b.kind}
                            for b in self.menu]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(data["text"], [Button(**b) for b in data.get("buttons", [])],
                   [Button(**b) for b in data.get("menu", [])])


@functools.cache
def _option_words(label: str) -> frozenset[str]:
    """Other words a person types for a declared option, in every language: the
    catalog's `<label>.also`, comma-separated ("anonymous" for "Anonymously")."""
    key = f"{label}.also"
    if not catalog.has(key):
        return frozenset()
    return frozenset(w.strip().lower() for lang in catalog.LANGS
                     for w in catalog.t(lang, key).split(",") if w.strip())


# Words too common to tell one option from another ("the", "and"); words shorter than
# three letters are not compared either.
_STOP_WORDS = frozenset((
    "the", "and", "for", "with", "from", "into", "onto", "its", "his", "her", "their",
    "your", "our", "this", "that", "these", "those", "are", "was", "were", "has", "have",
    "had", "but", "about", "any", "all", "some", "please", "want", "would", "like"))
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_RECORD_NUMBER = re.compile(r"[a-z]-\d{4}-\d{3,6}")  # c-2026-0001, as typed (lower case)
# A time of day typed ("已回电 09:00", "9:20"), and an option that begins with one (a call
# listed by when it came, maybe after its date).
_TIME = re.compile(r"(?<![\d:：])(\d{1,2})[:：](\d{2})(?![\d:：])")
_STARTS_AT = re.compile(r"^(?:\d{4}-\d{2}-\d{2}\s+)?(\d{2}:\d{2})(?!\d)")


class _Narrowed(Invalid):
    """A typed answer that fits several options (a day with two receptions, "周一" said on
    a Monday): said why, and the question asked again with those options alone."""

    def __init__(self, only: list[str], key: str, **params: object) -> None:
        super().__init__(key, **params)
        self.only = only
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
# What is said with a leader's name besides a day: "我想找孙红梅", "约孙红梅的", "周三孙红梅那场".
_WITH_LEADER = re.compile(r"我想|我要|想|要|预约|约|找|见|和|跟|with|see|meet|的|那场|那个|接访|"
                          r"书记|主席|经理|总经理|副总经理|厂长|领导|'s", re.IGNORECASE)


def _typed_words(low: str) -> str:
    """A typed answer as compared with an option's words: lower case, a curly apostrophe
    straight, trailing punctuation and spaces gone."""
    return low.replace("\u2019", "'").rstrip("。.!！?？,，;；~ ").strip()


def _content_words(text: str) -> list[str]:
    return [w for w in _EN_WORD.findall(text.lower())
            if len(w) >= 3 and w not in _STOP_WORDS]


def _same_word(a: str, b: str) -> bool:
    """The same word, or one the plural of the other (wage, wages)."""
    return a == b or a + "s" == b or b + "s" == a or a + "es" == b or b + "es" == a


@functools.cache
def _in_label(typed: str, label: str) -> bool:
    """Whether a typed text is part of an option's label: Chinese, as two characters or
    more of it (食堂 in 食堂生活); else every word of it (not a stop word, three letters
    or more) is a whole word of the label ("canteen" in "Canteen and living")."""
    if _CJK.search(typed):
        bare = "".join(typed.split())
        return len(bare) >= 2 and bare in "".join(label.lower().split())
    if not re.fullmatch(r"[a-z' /-]+", typed):
        return False
    words, have = _content_words(typed), _content_words(label)
    return bool(words) and all(any(_same_word(w, h) for h in have) for w in words)


# Words at the menu say what the matter is with four Chinese characters ("食堂太贵") or
# three words, past greetings and thanks ("你好，在吗" says nothing yet).
TOLD_CHARACTERS, TOLD_WORDS = 4, 3
# Past the chosen item's own words, a request for it leaves this little ("我想一下").
REQUEST_CHARACTERS = 5
# Words typed to a choice are kept for the question asked later in words (Engine._keep_ahead)
# when they tell the matter: eight Chinese characters, or four words.
KEPT_CHARACTERS, KEPT_WORDS = 8, 4
BRIEF = 30


@functools.cache
def _greetings() -> frozenset[str]:
    return frozenset(w.strip().lower() for lang in catalog.LANGS
                     for w in catalog.t(lang, "keywords.greeting").split(",") if w.strip())


@functools.cache
def _greeting_words() -> tuple[str, ...]:
    words = {w.strip().lower() for lang in catalog.LANGS for key in ("keywords.greeting",
                                                                     "keywords.courtesy")
             for w in catalog.t(lang, key).split(",") if w.strip()}
    return tuple(sorted(words, key=len, reverse=True))


def _said_word(word: str, typed: str) -> bool:
    """Whether `word` is in the typed words: Chinese anywhere, English as a whole word."""
    if _CJK.search(word):
        return word in typed
    return re.search(rf"\b{re.escape(word)}\b", typed) is not None


@functools.cache
def _pointing_words() -> tuple[str, ...]:
    words = {w.strip().lower() for lang in catalog.LANGS
             for w in catalog.t(lang, "keywords.pointing").split(",") if w.strip()}
    return tuple(sorted(words, key=len, reverse=True))


def _points_only(caption: str) -> bool:
    """Whether the words under a file only point at it ("看", "如图", "现场照片", "see
    photo"): they answer no question; the file itself is what they say."""
    rest = normalize(caption).lower()
    for word in _pointing_words():
        if _CJK.search(word):
            rest = rest.replace(word, " ")
        else:
            rest = re.sub(rf"\b{re.escape(word)}\b", " ", rest)
    return not any(ch.isalnum() for ch in rest)


@functools.cache
def _option_pointers(key: str, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(word, option value) for the words every language's `<key>.<value>` lists."""
    return tuple(sorted({(w.strip().lower(), value) for lang in catalog.LANGS
                         for value in values if catalog.has(f"{key}.{value}")
                         for w in catalog.t(lang, f"{key}.{value}").split(",") if w.strip()},
                        key=lambda pair: (-len(pair[0]), pair)))


def _pointed_option(key: str, values: tuple[str, ...], said: str) -> str | None:
    """The one option the words said point to (Choice.guess); None for none or several.
    A word inside a longer word found ("加班" in "加班费") points nowhere of its own."""
    low = normalize(said).lower()
    found = [(w, value) for w, value in _option_pointers(key, values) if _said_word(w, low)]
    pointed = {value for w, value in found
               if not any(w != longer and w in longer for longer, _ in found)}
    return pointed.pop() if len(pointed) == 1 else None


def _without_greetings(typed: str) -> str:
    rest = typed
    for word in _greeting_words():
        if _CJK.search(word):
            rest = rest.replace(word, " ")
        else:
            rest = re.sub(rf"\b{re.escape(word)}\b", " ", rest)
    return rest


def _says_something(typed: str) -> bool:
    """Whether words at the menu tell a matter rather than greet or thank."""
    rest = _without_greetings(typed)
    if len(_CJK.findall(rest)) >= TOLD_CHARACTERS:
        return True
    return len(_content_words(rest)) >= TOLD_WORDS


@functools.cache
def _progress_words() -> tuple[str, ...]:
    """"我上次反映的问题怎么样了": a question the list of one's cases answers."""
    return tuple(w.strip().lower() for lang in catalog.LANGS
                 for w in catalog.t(lang, "keywords.progress").split(",") if w.strip())


@functools.cache
def _request_words() -> tuple[str, ...]:
    """"我想", "我要", "i want to": what comes before a menu item's words when it is asked
    for ("我想投诉"), longest first."""
    words = {w.strip().lower() for lang in catalog.LANGS
             for w in catalog.t(lang, "keywords.request").split(",") if w.strip()}
    return tuple(sorted(words, key=len, reverse=True))


@functools.cache
def _filler_words() -> tuple[str, ...]:
    words = {w.strip().lower() for lang in catalog.LANGS
             for w in catalog.t(lang, "keywords.filler").split(",") if w.strip()}
    return tuple(sorted(words, key=len, reverse=True))


def _asked_for(typed: str) -> str:
    """The typed words without a request before them, nor the fillers in them: "我想投诉
    一下" and "我要提个意见" are 投诉 and 提意见; "" when no request is said."""
    for word in _request_words():
        if typed.startswith(word) and len(typed) > len(word):
            rest = typed[len(word):].strip()
            for filler in _filler_words():
                rest = rest.replace(filler, "")
            return rest
    return ""


def _utf16(text: str) -> int:
    """A text's length as the platforms count it (UTF-16 code units: an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def _brief(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= BRIEF else flat[:BRIEF] + "…"


@functools.cache
def _urgent_words() -> frozenset[str]:
    return frozenset(w.strip().lower() for lang in catalog.LANGS
                     for w in catalog.t(lang, "keywords.urgent").split(",") if w.strip())


def _sounds_urgent(typed: str) -> bool:
    """Whether words at the menu may tell of an emergency ("着火了", "有人打架"): the
    answer then points first to the emergency report."""
    return any(_said_word(w, typed) for w in _urgent_words())


@functools.cache
def _any_menu_words() -> frozenset[str]:
    """Every menu item's words, of every role: another role's item typed ("在办的问题")
    is not told a matter; it is not understood."""
    return frozenset(w for m in MENU for w in _menu_words(m.label) | _option_words(m.label))


def _into_trail(st: State, flow: Flow, name: str) -> None:
    """Put an answered step on the way "Back" retraces, in the form's order: a later
    question answered ahead of an earlier one (words kept for it, _take_told, _keep_ahead)
    stays after it, so that Back from it asks the earlier one again, never skips it."""
    order = {a.name: n for n, a in enumerate(flow.steps)}
    at = len(st.trail)
    while at and order.get(st.trail[at - 1], -1) > order.get(name, len(order)):
        at -= 1
    st.trail.insert(at, name)


def _told_step(flow: Flow) -> str | None:
    """The question of a form that open words at the menu answer: its first long text
    (what the suggestion is, what the problem is, what is happening)."""
    if flow.roles:
        return None
    for ask in flow.steps:
        if isinstance(ask.kind, Text) and not ask.kind.place and ask.kind.max_len >= 500 \
                and ask.when is None:
            return ask.name
    return None


@functools.cache
def _courtesy_words() -> frozenset[str]:
    """"谢谢", "好的", "ok": said after a report, they add nothing to it."""
    return frozenset(w.strip().lower() for lang in catalog.LANGS
                     for w in catalog.t(lang, "keywords.courtesy").split(",") if w.strip())


@functools.cache
def _menu_words(label: str) -> frozenset[str]:
    """A menu item's label in every language, as typed words are compared with it."""
    return frozenset(catalog.t(lang, label).lower() for lang in catalog.LANGS)


@functools.cache
def _said(lang: str, key: str) -> re.Pattern[str]:
    """What message `key` reads at the start of a text, whatever its parameters."""
    parts = re.split(r"\{[^{}]*\}", catalog.load(lang)[key])
    return re.compile(".+?".join(re.escape(part) for part in parts))


def refusal(replies: list[Reply]) -> str | None:
    """STALE or BUSY when a step's replies turn down the button that was pressed (in
    either language), so a channel does not show that button as chosen; else None."""
    first = replies[0].text if replies else ""
    return next((STALE if key == PRESSED_AFTER else key
                 for key in (STALE, BUSY, PRESSED_AFTER) for lang in catalog.LANGS
                 if _said(lang, key).match(first)), None)


def merged(replies: list[Reply], limit: int) -> list[Reply]:
    """Replies run together where a platform shows one message per call: a reply without
    buttons joins the next one (a blank line between) while the text stays within `limit`
    characters; the keyboard, if any, is the last reply's. A reply carrying the menu
    stays its own message: a message shows one keyboard, the menu or the next one's."""
    out: list[Reply] = []
    for reply in replies:
        last = out[-1] if out else None
        if last is not None and not last.buttons and not last.menu \
                and len(last.text) + 2 + len(reply.text) <= limit:
            out[-1] = Reply(f"{last.text}\n\n{reply.text}", list(reply.buttons),
                            list(reply.menu))
        else:
            out.append(reply)
    return out


OPTION_LIMIT = 64  # bytes of a button's value every channel takes (Telegram's limit)


def _option_value(value: str, step: str) -> str:
    """An option's button value, naming its question ("opt:12@booking"); unnamed where
    that would not fit a button."""
    marked = f"opt:{value}@{step}"
    return marked if len(marked.encode()) <= OPTION_LIMIT else f"opt:{value}"


def _form_mark(st: State) -> str:
    """What a form's "Cancel" button names: that form, not another (its draft's first
    characters: short, for Telegram's 64-byte button data)."""
    return (st.draft_id or "")[:8]


@dataclass
class State:
    lang: str = catalog.DEFAULT_LANG
    flow: str | None = None
    step: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    trail: list[str] = field(default_factory=list)
    prefilled: list[str] = field(default_factory=list)
    draft_id: str | None = None
    started_at: str | None = None
    updated_at: str | None = None
    paused: bool = False  # the inactivity notice has been sent; the next message resumes
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # A form put aside for an emergency report (its draft's fields), taken up again when
    # the report is sent or dropped.
    aside: dict[str, Any] | None = None
    # The report last sent that takes files ({flow, draft_id, at}): a photo sent right
    # after it joins it (FILES_AFTER).
    last_filed: dict[str, str] | None = None
    # The options of the question last asked, in the order shown, when they come from
    # data that may change before the answer (a reception ending drops out of the list):
    # a typed "1" means the first option as shown, not as the list is now.
    shown: list[str] | None = None
    # A checksum of the words of the last message, when they were typed, and where in
    # the conversation they came (SENT_TWICE).
    said: str | None = None
    # Words said at the menu that chose nothing ({text, at}): the form chosen next takes
    # them as what it asks first in words (_told_step).
    told: dict[str, str] | None = None
    # The question whose preface (the report chosen, as it reads) was last shown above it,
    # with a checksum of those words ("action:1a2b3c4d"): asked again (a wrong answer,
    # help, back to it, the timeout notice) the question comes alone, as the words are
    # already on screen; other words (another report chosen, the report changed, another
    # language) are shown.
    prefaced: str | None = None
    # The options a typed answer narrowed the question asked to ({step: values}: "周一"
    # on a Monday, today's reception or next Monday's): asked again among them alone
    # until it is answered; "返回" shows them all.
    narrowed: dict[str, list[str]] | None = None
    # A typed text that may be the first part of a longer one its sender's app cut into
    # several messages (PASTE_WAIT): {text: the parts so far, at: when the last was sent,
    # joint: what goes between it and the next, before: the state it was stepped from}.
    # The next text within PASTE_WAIT is stepped from `before` with the parts before it,
    # as the one text it is; anything else (a command, a menu item's words: see
    # _stands_alone) leaves the step of the parts so far as it was.
    pasting: dict[str, Any] | None = None
    # The form last sent ({flow, at}): a button of it pressed again soon after is told
    # so (PRESSED_AFTER), not that it belongs to an earlier question.
    last_sent: dict[str, str] | None = None
    v: int = STATE_VERSION

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> State:
        if not data:
            return cls()
        if data.keys() <= cls.__dataclass_fields__.keys():  # as this version wrote it
            return cls(**data)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)  # containers copied, so the dict outlives this state
        data["answers"], data["trail"] = dict(self.answers), list(self.trail)
        data["prefilled"] = list(self.prefilled)
        data["attachments"] = [dict(a) for a in self.attachments]
        if self.narrowed is not None:
            data["narrowed"] = {k: list(v) for k, v in self.narrowed.items()}
        return data

    def clear_draft(self) -> None:
        self.flow = self.step = self.draft_id = self.started_at = None
        self.answers, self.trail, self.prefilled = {}, [], []
        self.attachments = []
        self.paused = False
        self.prefaced = None
        self.narrowed = None

    _DRAFT = ("flow", "step", "answers", "trail", "prefilled", "draft_id", "started_at",
              "attachments", "prefaced")

    def put_aside(self) -> None:
        """Keep the draft under way aside (one at most) and start afresh."""
        data = self.to_dict()
        self.aside = {k: data[k] for k in self._DRAFT}
        self.clear_draft()

    def take_up(self) -> bool:
        """Take the draft put aside up again; False when there is none."""
        if not self.aside:
            return False
        for k in self._DRAFT:
            setattr(self, k, self.aside.get(k, getattr(State(), k)))
        self.aside, self.paused = None, False
        return True


@dataclass
class Context:
    now: datetime
    role: str = "employee"
    workshop_name: str | None = None
    directory: Directory | None = None
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    timeout: timedelta = timedelta(minutes=30)
    on_timeout: str = "keep"  # keep | drop
    # The workroom can text a caller (a hotline with an SMS provider): what staff are
    # told a filing for a caller does uses the "…_untold" words when it cannot.
    texts: bool = True
    # When the sender sent the message, where the platform says (Inbound.sent_at).
    sent_at: datetime | None = None
    # A leader with reception days of their own (store/roster.has_duty_days): one without
    # (a union leader receiving any day) is offered no swap of days, in the menu or the
    # welcome.
    duty_days: bool = True
    # In the unit's emergency alert chain (handlers/incidents.chain): the staff, and a
    # leader with no reception days, who are not are never alerted of an emergency, and
    # their welcome does not say they are.
    in_chain: bool = True
    # What one message holds on the sender's platform, where its apps cut a longer text
    # into several (Inbound.split_at, PASTE_WAIT); 0: they do not.
    split_at: int = 0

    def words(self, lang: str, key: str) -> str:
        """`key`'s words, or its "_untold" variant when nobody can be texted."""
        return catalog.t(lang, self.told(key))

    def told(self, key: str) -> str:
        """`key`, or its "_untold" variant when nobody can be texted (no hotline)."""
        untold = f"{key}_untold"
        return untold if not self.texts and catalog.has(untold) else key


@dataclass
class Outcome:
    state: State
    replies: list[Reply]
    effect: Effect | None = None
    # The text may be the first part of a longer one (State.pasting): its replies wait
    # PASTE_WAIT for the next part, whose replies then take their place.
    held: bool = False
    # The text was the next part of one held (State.pasting): the replies waiting for it
    # are replaced by these.
    continued: bool = False


def _own(st: State, key: str) -> str:
    """A flow's own words for a button or a line of its review where the general ones
    would be misread (`cancel_booking.nav.confirm`: "Cancel this booking", not "Submit";
    its "Cancel" keeps the booking, so it says "Keep my bookings"); else the general key."""
    own = f"{st.flow}.{key}"
    return own if st.flow and catalog.has(own) else key


def _own_command(st: State, text: str) -> str | None:
    """The command a flow's own button words stand for when typed (in either language):
    "Cancel this booking" confirms, "Keep my bookings" leaves the form."""
    if not st.flow:
        return None
    low = _typed_words(normalize(text).lower())
    for command in ("confirm", "cancel"):
        key = f"{st.flow}.nav.{command}"
        if catalog.has(key) and any(low == catalog.t(lang, key).lower()
                                    for lang in catalog.LANGS):
            return command
    return None


def command_of(text: str) -> str | None:
    """The command a typed text stands for ("跳过", "/skip" -> "skip"); None for an answer."""
    return _match_command(text)


@functools.cache
def _ack_words() -> re.Pattern[str]:
    """The acknowledge button's words typed, in either language, with or without the
    alert's number: "收到", "收到 12", "ack #12", as people type them: "好的，收到",
    "收到了", "收到👍"; what follows them is `rest`."""
    found = {w.strip() for lang in catalog.LANGS for key in ("keywords.ack", "nav.ack")
             for w in catalog.t(lang, key).split(",") if w.strip()}
    words = "|".join(re.escape(w) for w in sorted(found, key=len, reverse=True))
    return re.compile(rf"^(?:(?:好的|好|嗯嗯|嗯|ok|okay)[,，、\s]*)?(?:{words})(?:了|啦|咯)?"
                      rf"\s*[#＃:：]?\s*([A-Z]-?\d{{4}}-?\d{{1,6}}|\d{{1,12}})?(?P<rest>.*)$",
                      re.IGNORECASE)


# Who is alerted: their "收到，马上到现场" is an acknowledgement with words after it. A
# worker's "收到工资条后…" in a form is not (no separator), nor their "收到，…" (words).
_ALERTED_ROLES = frozenset({"director", "leader", "staff"})
_ACK_TAIL = 40


def _welcome(ctx: Context) -> str:
    """The welcome's key for the reader's role (WELCOME); a leader without reception days
    of their own reads no "see and swap your days" (NO_DUTY_DAYS), one never alerted of an
    emergency not that they are (NOT_IN_CHAIN); a liaison serving no workshop (the
    organisation file allows none) the workers' welcome."""
    key = WELCOME.get(ctx.role, "menu.welcome")
    if ctx.role == "leader" and not ctx.duty_days:
        key = NO_DUTY_DAYS if ctx.in_chain else NOT_IN_CHAIN["leader"]
    elif ctx.role == "staff" and not ctx.in_chain:
        key = NOT_IN_CHAIN["staff"]
    elif ctx.role == "liaison" and not ctx.workshop_name:
        key = "menu.welcome"
    return ctx.told(key)


def _menu_of(ctx: Context) -> list[MenuItem]:
    """The reader's main menu: their role's, without the swap of reception days for a
    leader who has none (the same test as the welcome's)."""
    return menu_for(ctx.role, duty_days=ctx.duty_days)


def _typed_ack(text: str | None, role: str = "employee",
               in_form: bool = False) -> tuple[bool, str | None]:
    """Whether the text is the acknowledge button's words, and what it names after
    them: a number, or a record's number ("E-2026-0002"). Words after them ("收到，马上
    到现场") only at the menu: in a form they begin an answer ("收到，已与车间主任沟通…")."""
    m = _ack_words().match(normalize(text or ""))
    if m is None:
        return False, None
    rest = m["rest"]
    if re.fullmatch(r"[\W_]*", rest) is None and (
            in_form or role not in _ALERTED_ROLES or rest[:1] not in ",，。;；!！ "
            or len(rest) > _ACK_TAIL):
        return False, None
    return True, m[1].upper() if m[1] else None


def _match_command(text: str) -> str | None:
    low = normalize(text).lower()
    word = low[1:] if low.startswith("/") else low  # "/skip", as Telegram's are typed
    for name, words in COMMANDS.items():
        if word in words:
            return name
    return None


def _stands_alone(text: str, st: State) -> bool:
    """Whether a typed text is a message of its own, never the next part of a long text
    held (State.pasting): a command ("/cancel", "取消", "/menu") or a menu item's label
    (the menu keyboard's tap sends it as text) is what the worker sent after the text,
    to be done as such, not words cut from its end."""
    low = normalize(text).lower()
    return _match_command(text) is not None or _own_command(st, text) is not None \
        or any(low in _menu_words(m.label) for m in MENU)


class Engine:
    """Step conversations declared in conversations.flows."""

    def __init__(self, flows: dict[str, Flow] | None = None) -> None:
        self.flows = flows or FLOWS

    # --- entry points ----------------------------------------------------------------

    def step(
        self, raw: dict[str, Any] | None, *, text: str | None, action: str | None, ctx: Context,
        attachments: tuple[dict[str, Any], ...] = (), default_flow: str | None = None,
    ) -> Outcome:
        """Advance one conversation by one inbound message.

        `default_flow`: at the menu, a text that picks nothing starts this flow and is
        taken as the answer to its first question (a text to the hotline is a report).

        The parts of a text its sender's app cut into several messages (Context.split_at)
        are stepped as the one text they are (State.pasting): never the first refused as
        too long and the rest taken as the next answer.
        """
        typed = action is None and not attachments and bool(text)
        pasting = (raw or {}).get("pasting")
        piece, continued = text or "", False
        if pasting and typed and self._continues(pasting, ctx) \
                and not _stands_alone(piece, State.from_dict(raw)):
            # The conversation as it was before the first part, and the parts as one text.
            raw = dict(pasting["before"])
            text, continued = pasting["text"] + pasting["joint"] + piece, True
        elif pasting:
            raw = {**(raw or {}), "pasting": None}
        before = None
        if typed and ctx.split_at and _utf16(piece) > ctx.split_at // 2:
            before = {**State.from_dict(raw).to_dict(), "pasting": None}
        out = self._step(raw, text=text, action=action, ctx=ctx, attachments=attachments,
                         default_flow=default_flow)
        out.continued = continued
        if before is not None and out.effect is None:
            # Maybe the first part of more: what it made waits for the next part. Cut at
            # the limit itself, the next part goes on mid-word; cut at a break, the break
            # (gone with the spaces around it) is kept as a line's end.
            out.state.pasting = {
                "text": text, "at": (ctx.sent_at or ctx.now).isoformat(),
                "joint": "" if _utf16(piece) >= ctx.split_at else "\n", "before": before}
            out.held = True
        return out

    @staticmethod
    def _continues(pasting: dict[str, Any], ctx: Context) -> bool:
        """Whether a text sent now is the next part of the one held (PASTE_WAIT)."""
        gap = (ctx.sent_at or ctx.now) - datetime.fromisoformat(pasting["at"])
        return timedelta(0) <= gap <= PASTE_WAIT

    def _step(
        self, raw: dict[str, Any] | None, *, text: str | None, action: str | None, ctx: Context,
        attachments: tuple[dict[str, Any], ...] = (), default_flow: str | None = None,
    ) -> Outcome:
        st = State.from_dict(raw)
        if action in GROUP_NOTICES:  # where to go instead; the conversation stays as it is
            return Outcome(st, [Reply(catalog.t(st.lang, GROUP_NOTICES[action]))])
        if attachments:
            return self._attach(st, attachments, text, ctx, default_flow)
        replies: list[Reply] = []
        early = (action if action is not None else text) or ""
        if st.flow and self.timed_out(st, ctx) and not st.paused \
                and not self._sends_itself(st) \
                and _match_command(early) != "cancel" \
                and early.partition("@")[0] != "cmd:cancel":
            replies += self._expire(st, ctx)
            st.updated_at = ctx.now.isoformat()
            if st.flow:  # kept: show where we were, do not take this message as an answer
                replies.append(self._ask(st, ctx))
            else:
                replies.append(self._menu(st, ctx))
            return Outcome(st, replies)
        st.paused = False
        fresh = st.updated_at is None
        st.updated_at = ctx.now.isoformat()
        said_before, st.said = st.said, None
        token = (action if action is not None else text) or ""
        if token.startswith("ack:") and token[4:].isdigit():
            follow = [self._ask(st, ctx) if st.flow else self._menu(st, ctx)]
            return Outcome(st, follow, Acknowledge(int(token[4:])))
        typed, named = _typed_ack(text, ctx.role, st.flow is not None) if action is None \
            else (False, None)
        if typed:
            # "收到" typed rather than pressed, at the menu or in a form (no question
            # takes "收到" for its answer): the alert named, else the one waiting.
            follow = [self._ask(st, ctx) if st.flow else self._menu(st, ctx)]
            return Outcome(st, follow, Acknowledge(PENDING, named))
        if token.startswith("files:") and token[6:]:  # an alert's "see the files"
            follow = [self._ask(st, ctx) if st.flow else self._menu(st, ctx)]
            return Outcome(st, follow, OpenFiles(token[6:]))
        if token.startswith("called:") and token[7:]:  # a hotline call called back
            meant = self._called(token[7:], st, ctx)
            if meant is not None:
                follow = [self._ask(st, ctx) if st.flow else self._menu(st, ctx)]
                return Outcome(st, follow, CalledBack(meant))
            token = action = "flow:called_back"  # two or more waiting: which one, asked
        if token.startswith("query:") and token[6:] in QUERIES:  # e.g. Telegram's /status
            st.told = None  # words said before were asking this
            return Outcome(st, [], Query(token[6:]))
        if action is not None and action.startswith(PLACE_SAID):
            named = self._place_said(st, ctx) if action[len(PLACE_SAID):] == st.step \
                else None
            if named is None:  # the question it was shown under is answered: pressed twice
                return Outcome(st, [Reply(catalog.t(st.lang, STALE)),
                                    self._ask(st, ctx) if st.flow else self._menu(st, ctx)])
            token, action, text = named, None, None  # the place, as if typed
        if action == LOCATION:
            if text and self._asks_place(st):
                token, action = text, None  # the place, as if typed
            else:
                notice = Reply(catalog.t(st.lang, "inbound.location_not_here"))
                return Outcome(st, [notice,
                                    self._ask(st, ctx) if st.flow else self._menu(st, ctx)])
        if action in _NOTICES:
            notice = Reply(catalog.t(st.lang, _NOTICES[action]))
            return Outcome(st, [notice, self._ask(st, ctx) if st.flow else self._menu(st, ctx)])
        if action is not None and token.startswith("opt:") and "@" in token:
            # An option names the question it was shown under (opt:12@booking): one of an
            # earlier question, higher up in the chat, is never an answer to this one,
            # even where its value is among this question's (ids of other things).
            token, _, shown = token.rpartition("@")
            if st.flow and shown != st.step:
                return Outcome(st, [Reply(catalog.t(st.lang, STALE)), self._ask(st, ctx)])
        command = token[4:] if token.startswith("cmd:") else (
            _match_command(token) or _own_command(st, token))
        # "Back" and "Skip" buttons name the question they were shown under (cmd:skip@people).
        command, _, shown_at = command.partition("@") if command else (command, "", "")
        if command == "lang":
            # "English" and "中文" typed name the language (sent twice, they do not
            # switch back), as does a menu entry that names it (cmd:lang@en, WeChat's
            # custom menu, the same for everyone); the button and "语言"/"language"
            # switch to the other one.
            to = {"english": "en", "中文": "zh"}.get(normalize(token).lower()) \
                or (shown_at if shown_at in catalog.LANGS else None)
            return self._switch_lang(st, ctx, to)
        pressed = action is not None
        if not pressed and text and command is None:
            # The words, where they were said and when they were sent: a copy is one only
            # when the first moved the conversation on (answered, started, switched);
            # after a refusal the same words again are tried again. "跳过", "返回" typed
            # twice are meant.
            mark = format(zlib.crc32(normalize(text).encode()), "08x")
            sent = int((ctx.sent_at or ctx.now).timestamp())
            st.said = f"{mark}@{st.lang}:{st.flow}:{st.step}@{sent}"
            was, _, then = (said_before or "").rpartition("@")
            if was.partition("@")[0] == mark and was != st.said.rpartition("@")[0] \
                    and then.isdigit() and 0 <= sent - int(then) <= SENT_TWICE.seconds:
                # Not an answer to what was asked since, nor a second form started.
                if st.flow:
                    return Outcome(st, [Reply(catalog.t(st.lang, "flow.sent_twice")),
                                        self._ask(st, ctx)])
                return Outcome(st, [Reply(catalog.t(st.lang, "menu.sent_twice")),
                                    self._menu(st, ctx)])
        if not st.flow:
            return self._at_menu(st, token, command, ctx, fresh, default_flow, pressed)
        if pressed and shown_at and shown_at != (
                _form_mark(st) if command == "cancel" else st.step):
            # "Back" or "Skip" of a question already answered: a double tap on a shaky bus
            # would otherwise go back (or skip) twice. "Cancel" of an earlier form, higher
            # up in the chat: it must not throw away the one under way.
            return Outcome(st, [Reply(catalog.t(st.lang, STALE)), self._ask(st, ctx)])
        return self._in_flow(st, token, command, ctx, pressed)

    @staticmethod
    def _called(ids: str, st: State, ctx: Context) -> int | None:
        """The call "已回电" means: the button's own; typed under pushes of several calls
        ("called:5,6", see bot/wechat_render.merge_words), the one of them still waiting
        to be called back, the last if none is (its answer says who did it); None when
        two or more are waiting: it cannot guess."""
        calls = [int(i) for i in ids.split(",") if i.isdigit()]
        if len(calls) == 1 or not calls:
            return calls[0] if calls else 0
        if ctx.directory is None:
            return None
        waiting = {value for value, _ in ctx.directory.options(CALLS_WAITING, st.lang)}
        open_ = [c for c in calls if str(c) in waiting]
        if len(open_) >= 2:
            return None
        return open_[0] if open_ else calls[-1]

    def _attach(self, st: State, items: tuple[dict[str, Any], ...], caption: str | None,
                ctx: Context, default_flow: str | None = None) -> Outcome:
        flow = self.flows.get(st.flow or "")
        last = st.last_filed
        # A form that takes files, taken up again when the report went, and not answered
        # since: the photo right after the report is still the report's.
        untouched = flow is not None and st.updated_at is not None and last is not None \
            and datetime.fromisoformat(st.updated_at) <= datetime.fromisoformat(last["at"])
        if last and (flow is None or not flow.takes_attachments or untouched) and \
                ctx.now - datetime.fromisoformat(last["at"]) <= FILES_AFTER:
            # Just after a report (also once a form set aside for it is taken up again):
            # the files are that report's, and the words with them say what they show.
            words = (caption or "").strip() or None
            return Outcome(st, [], AddFiles(last["flow"], last["draft_id"], items, words))
        starts = self.flows.get(default_flow or "")
        if flow is None and starts is not None and starts.takes_attachments \
                and not (caption and caption.strip()):
            # Files alone, where a message that picks nothing starts a report (a photo
            # texted to the hotline): they start it and are kept with it.
            started = self._start(State.from_dict(st.to_dict()), starts, "", ctx)
            if started.state.flow == starts.name and started.effect is None:
                out = self._attach(started.state, items, None, ctx)
                return Outcome(out.state, [*started.replies[:1], *out.replies], out.effect)
        if flow is None or not flow.takes_attachments:
            note = Reply(catalog.t(st.lang, "attachment.not_here"))
            if caption and caption.strip() and all(i.get(HEARD) for i in items):
                # Only spoken words: they are the answer; the audio is not missed.
                return self._step(st.to_dict(), text=caption, action=None, ctx=ctx,
                                  default_flow=default_flow)
            if caption and caption.strip():
                # The file is not kept, but the words written with it are the answer: the
                # worker is not made to type again what they already wrote.
                if st.flow and _points_only(caption):  # "see photo": no answer, no file
                    return Outcome(st, [note, self._ask(st, ctx)])
                if st.flow:  # said so, as where the file is kept
                    return self._captioned(st, caption, ctx, note.text,
                                           default_flow=default_flow)
                out = self._step(st.to_dict(), text=caption, action=None, ctx=ctx,
                                 default_flow=default_flow)
                if starts is not None and flow is None and out.state.flow == starts.name \
                        and out.effect is None and starts.takes_attachments:
                    # The words started the report (a photo texted to the hotline with
                    # what it shows): the files are kept with it after all.
                    out.state.attachments = [*out.state.attachments, *items]
                    kept = Reply(catalog.t(st.lang, "attachment.kept",
                                           count=len(out.state.attachments)))
                    return Outcome(out.state, [*out.replies[:1], kept, *out.replies[1:]])
                return Outcome(out.state, [note, *out.replies], out.effect)
            follow = self._ask(st, ctx) if st.flow else self._menu(st, ctx)
            return Outcome(st, [note, follow])
        st.attachments = [*st.attachments, *items]
        st.updated_at = ctx.now.isoformat()
        count = catalog.t(st.lang, "attachment.kept", count=len(st.attachments))
        if caption and caption.strip() and not _points_only(caption):
            # The words under a photo describe it: they answer the question asked, said
            # so (below).
            spoken = all(i.get(HEARD) for i in items)  # said back by handlers.inbound.heard
            return self._captioned(st, caption, ctx, count, spoken=spoken)
        return Outcome(st, [Reply(count), self._ask(st, ctx)])

    def _captioned(self, st: State, caption: str, ctx: Context, above: str | None = None, *,
                   spoken: bool = False, default_flow: str | None = None) -> Outcome:
        """The words sent with a file, taken as if typed. Where they answer the question
        asked, the worker is told so, quoting them and naming the question, and how to
        change it ("返回"): else the words they type next, meant for that question, go
        to the next one (what happened taken as where). Where the question cannot take
        them, said why. `above`: what is said of the file itself, first."""
        flow = self.flows.get(st.flow or "")
        asked = st.step if flow is not None and st.step not in (None, REVIEW) else None
        n = flow.progress(st.answers, st.prefilled, asked)[0] \
            if flow is not None and asked is not None else 0
        out = self._step(st.to_dict(), text=caption, action=None, ctx=ctx,
                         default_flow=default_flow)
        lines = [above] if above else []
        replies = list(out.replies)
        same = flow is not None and asked is not None and out.state.flow == st.flow \
            and out.state.draft_id == st.draft_id and _match_command(caption) is None \
            and _own_command(st, caption) is None
        if same and asked is not None and flow is not None and not spoken:
            label = catalog.t(st.lang, f"{flow.name}.{asked}.label")
            said = _brief(caption)
            if out.state.answers.get(asked) is not None and asked not in st.answers:
                key = "attachment.caption_kept" if out.effect is None and out.state.flow \
                    else "attachment.caption_sent"
                lines.append(catalog.t(st.lang, key, said=said, n=n, label=label))
            elif out.effect is None and out.state.step == asked and replies:
                # Refused: why, with the words it was about; the question follows.
                lines.append(catalog.t(st.lang, "attachment.caption_not_kept", said=said,
                                       n=n, label=label, why=replies.pop(0).text))
        if not lines:
            return out
        return Outcome(out.state, [Reply("\n".join(lines)), *replies], out.effect)

    def expire(self, raw: dict[str, Any] | None, ctx: Context) -> Outcome:
        """Apply the inactivity timeout (called by the timer sweep); no-op if not due. An
        emergency report that could be sent is sent: leaders must not miss a report
        because the phone went back into a pocket after "where"."""
        st = State.from_dict(raw)
        if not st.flow or st.paused or not self.timed_out(st, ctx):
            return Outcome(st, [])
        if self._sends_itself(st):
            minutes = int(self._wait(st, ctx).total_seconds() // 60)
            flow = self.flows[st.flow]
            first = flow.steps[0].name
            if not st.answers.get(first):  # only files came: they are what it says
                st.answers[first] = catalog.t(st.lang, f"{flow.name}.{first}_files_only")
            said = Reply(catalog.t(st.lang, "timeout.sent", minutes=minutes,
                                   flow=catalog.t(st.lang, f"{st.flow}.title")))
            return Outcome(st, [said], replace(self._submission(st),
                                               received_at=st.updated_at))
        replies = self._expire(st, ctx)
        if st.flow:
            st.paused = True
            replies.append(self._ask(st, ctx))
        return Outcome(st, replies)

    def finish(self, raw: dict[str, Any], result: Result, ctx: Context) -> Outcome:
        """Close the flow after its handler ran, or go back to the refused step."""
        st = State.from_dict(raw)
        text = catalog.t(st.lang, result.message, **result.params)
        if result.back_to and st.flow:
            flow = self.flows[st.flow]
            self._forget(st, flow, result.back_to)  # a button gave it: now it is asked
            if result.back_to in st.trail:
                st.trail = st.trail[: st.trail.index(result.back_to)]
            else:  # a push's button gave it, never asked: "Back" goes to what came before
                order = [a.name for a in flow.steps]
                at = order.index(result.back_to) if result.back_to in order else 0
                st.trail = [n for n in st.trail if n in order and order.index(n) < at]
            st.step = result.back_to
            # Asked again with what the person may choose now: the case may have moved
            # since the question, and leave nothing to choose.
            empty = self._nothing_to_choose(st, flow, ctx)
            if empty is not None:
                return Outcome(empty.state, [Reply(text), *empty.replies])
            return Outcome(st, [Reply(text), self._ask(st, ctx)])
        sent = self.flows.get(st.flow or "")
        if sent is not None and sent.takes_attachments and st.draft_id:
            st.last_filed = {"flow": sent.name, "draft_id": st.draft_id,
                             "at": ctx.now.isoformat()}
        if sent is not None:
            st.last_sent = {"flow": sent.name, "at": ctx.now.isoformat()}
        st.clear_draft()
        said = Reply(text)
        apart = result.params.get(APART)
        if apart is not None:
            # Added to an emergency of its workshop: if it is another one, one tap files it
            # apart. That button is what there is to do next: no menu below it. (Said to
            # the staff filing for a caller in the flow's own words: the caller's report.)
            own = f"{sent.name}.linked_apart" if sent is not None else ""
            offer = catalog.t(st.lang, own if catalog.has(own) else "emergency.linked_apart")
            said = Reply(f"{text}\n{offer}", [Button(
                catalog.t(st.lang, "emergency_apart.button"),
                f"flow:emergency_apart?report={apart}")])
        if st.take_up():  # a form put aside for an emergency report: back to it
            return Outcome(st, [said, self._resumed(st, ctx)])
        return Outcome(st, [said] if apart is not None else [said, self._menu(st, ctx)])

    def _resumed(self, st: State, ctx: Context) -> Reply:
        """The question of a form taken up again, saying which form it is."""
        asked = self._ask(st, ctx)
        note = catalog.t(st.lang, "flow.taken_up", flow=catalog.t(st.lang, f"{st.flow}.title"))
        return Reply(note + "\n\n" + asked.text, asked.buttons)

    def answer_query(self, raw: dict[str, Any], found: list[Reply], ctx: Context) -> list[Reply]:
        """Follow a query's answer with where the user stands (the menu, or the step)."""
        st = State.from_dict(raw)
        return [*found, self._ask(st, ctx) if st.flow else self._menu(st, ctx)]

    def timed_out(self, st: State, ctx: Context) -> bool:
        if not st.updated_at:
            return False
        return ctx.now - datetime.fromisoformat(st.updated_at) >= self._wait(st, ctx)

    def _sends_itself(self, st: State) -> bool:
        """An urgent report that says at least what is happening, in words or in photos
        and voice notes: silence sends it (a report kept unsent is a report missed)."""
        flow = self.flows.get(st.flow or "")
        return flow is not None and flow.urgent and bool(
            flow.steps and (st.answers.get(flow.steps[0].name) or st.attachments))

    def _wait(self, st: State, ctx: Context) -> timedelta:
        if not self._sends_itself(st):
            return ctx.timeout
        flow = self.flows[st.flow or ""]
        whole = st.step == REVIEW or self._can_send_now(st, flow)
        return min(ctx.timeout, URGENT_WAIT if whole else URGENT_WAIT_BARE)

    def urgent(self, raw: dict[str, Any]) -> bool:
        """Whether the draft is an urgent report's (one the silence sends)."""
        flow = self.flows.get(raw.get("flow") or "")
        return flow is not None and flow.urgent

    def due_at(self, raw: dict[str, Any], ctx: Context) -> datetime | None:
        """When this conversation's draft times out, or None when there is no draft."""
        st = State.from_dict(raw)
        if not st.flow or st.paused or not st.updated_at:
            return None
        return datetime.fromisoformat(st.updated_at) + self._wait(st, ctx)

    # --- menu --------------------------------------------------------------------------

    def _menu(self, st: State, ctx: Context, key: str = "menu.prompt", **params: Any) -> Reply:
        items = _menu_of(ctx)
        return Reply(
            catalog.t(st.lang, key, **params),
            [Button(catalog.t(st.lang, m.label), m.value) for m in items],
        )

    def _welcomed(self, st: State, ctx: Context) -> Reply:
        """The welcome above the menu; a liaison's names the workshop or section served."""
        return self._menu(st, ctx, _welcome(ctx), workshop=ctx.workshop_name or "")

    def _at_menu(self, st: State, token: str, command: str | None, ctx: Context,
                 fresh: bool = False, default_flow: str | None = None,
                 pressed: bool = False) -> Outcome:
        items = _menu_of(ctx)
        chosen = None
        # A button of a push may start a flow with answers given: flow:<name>?step=value
        token, _, query = token.partition("?") if token.startswith("flow:") else (token, "", "")
        given = dict(parse_qsl(query)) if query else {}
        low = normalize(token).lower()
        n = None if pressed else ordinal(low)  # "2", "2.", "第二个"
        typed = "".join(_typed_words(low).split()) if _CJK.search(low) else _typed_words(low)
        asked = "" if pressed else _asked_for(typed)  # "我想投诉": 投诉
        for i, item in enumerate(items, start=1):
            if token == item.value or n == i or low in _menu_words(item.label) \
                    or (not pressed and any(w and (w in _menu_words(item.label)
                                                   or w in _option_words(item.label))
                                            for w in (typed, asked))):
                chosen = item
                break
        if chosen is None and token.startswith("flow:"):
            chosen = next((m for m in reachable(ctx.role) if m.value == token), None)
        if chosen is None and asked and command is None:
            # "我要投诉车间主任克扣工资": a form asked for, and the matter with it: that
            # form, which takes the words as the words said before a form is chosen.
            chosen = self._asked_with(asked, items)
            if chosen is not None:
                told = st.told if st.told and ctx.now - datetime.fromisoformat(
                    st.told["at"]) <= ctx.timeout else None
                said = token.strip()
                st.told = {"text": f"{told['text']}\n{said}" if told else said,
                           "at": ctx.now.isoformat()}
        reported = self._just_reported(st, ctx)
        if chosen is None and reported and command is None and not pressed \
                and token.strip() and not token.startswith(("cmd:", "opt:", "flow:", "query:")) \
                and normalize(token).lower().rstrip("。.!！~ ") not in _courtesy_words():
            # Words right after an emergency report (a late head count, "now it is on
            # fire", "it was a false alarm"): they are that report's, told to the leaders,
            # not a second emergency, nor "not understood".
            return Outcome(st, [], AddFiles(reported["flow"], reported["draft_id"], (),
                                            token.strip()))
        if chosen is None and reported and (command == "cancel" or (
                pressed and token.partition("@")[0] == "cmd:send")):
            # The report went (the silence sent it): it cannot be called back, but words
            # about it still reach the leaders.
            key = "emergency.cannot_cancel" if command == "cancel" else "emergency.already_sent"
            return Outcome(st, [Reply(catalog.t(st.lang, key)), self._menu(st, ctx)])
        if chosen is None and default_flow and command is None and token.strip() \
                and not token.startswith(("cmd:", "opt:", "flow:", "query:")):
            started = self._start(st, self.flows[default_flow], "", ctx)
            if not started.state.flow:
                return started
            answered = self._in_flow(started.state, token, None, ctx)
            intro = started.replies[:1]
            return Outcome(answered.state, intro + answered.replies, answered.effect)
        if chosen is None and pressed and token.startswith(("opt:", "cmd:")) \
                and command not in ("help", "cancel", "menu"):
            # A form's button (an option, submit, send now) pressed after the form was
            # sent or dropped: a double tap, or yesterday's question.
            last = st.last_sent
            if last and last.get("flow") in self.flows and timedelta(0) <= ctx.now - \
                    datetime.fromisoformat(last["at"]) <= SENT_JUST_NOW:
                # The form went a moment ago, its answer and the menu right above: a
                # second tap is told that, alone, not that its question is an old one.
                return Outcome(st, [Reply(catalog.t(st.lang, PRESSED_AFTER, flow=catalog.t(
                    st.lang, f"{last['flow']}.title")))])
            return Outcome(st, [Reply(catalog.t(st.lang, STALE)), self._menu(st, ctx)])
        if chosen is None and command in ("help", "cancel"):
            key = "help.menu" if command == "help" else "flow.nothing_to_cancel"
            if command == "cancel":
                if st.told and ctx.now - datetime.fromisoformat(st.told["at"]) <= ctx.timeout:
                    key = "menu.told_cancelled"  # the words waiting for a form: dropped
                st.told = None
            return Outcome(st, [Reply(catalog.t(st.lang, key)), self._menu(st, ctx)])
        if chosen is None and command is None and not pressed and not fresh \
                and not token.startswith(("cmd:", "opt:", "flow:", "query:")):
            heard = self._told(st, token, typed, ctx)
            if heard is not None:
                return heard
        if chosen is None:
            welcome = fresh or command == "menu" or not token.strip()
            if welcome or not _sounds_urgent(typed):
                return Outcome(st, [self._welcomed(st, ctx) if welcome
                                    else self._menu(st, ctx, "menu.unknown")])
            return Outcome(st, [self._menu(st, ctx, "menu.unknown_urgent")])
        told, st.told = st.told, None  # whatever was chosen takes, or drops, the words
        kind, _, name = chosen.value.partition(":")
        if kind == "query":
            return Outcome(st, [], Query(name))
        if chosen.value == "cmd:lang":  # its number typed
            st.told = told  # a language switched: the words still wait
            return self._switch_lang(st, ctx)
        flow_name, _, variant = name.partition("@")
        flow = self.flows[flow_name]
        started = self._start(st, flow, variant, ctx, given)
        if told and ctx.now - datetime.fromisoformat(told["at"]) <= ctx.timeout:
            return self._take_told(started, flow, chosen, told["text"], ctx)
        return started

    def _asked_with(self, asked: str, items: list[MenuItem]) -> MenuItem | None:
        """The form whose words begin what a request asks for (after "我要": "投诉车间
        主任克扣工资", "complain about my foreman docking pay"), the longest words that
        do; only a form that takes words said at the menu (_told_step)."""
        best: tuple[int, MenuItem] | None = None
        for item in items:
            kind, _, name = item.value.partition(":")
            flow = self.flows.get(name.partition("@")[0]) if kind == "flow" else None
            if flow is None or _told_step(flow) is None:
                continue
            for word in _menu_words(item.label) | _option_words(item.label):
                begins = asked.startswith(word) if _CJK.search(word) else \
                    re.match(rf"{re.escape(word)}\b", asked) is not None
                if word and begins and (best is None or len(word) > best[0]):
                    best = (len(word), item)
        return best[1] if best else None

    def _told(self, st: State, token: str, typed: str, ctx: Context) -> Outcome | None:
        """Words at the menu that choose nothing: greetings and thanks answered as such;
        a question about one's case pointed to where it is answered; a matter kept for
        the form chosen next (several messages joined), never "not understood"."""
        if typed in _any_menu_words():
            return None  # another role's item: not understood
        if any(w in typed for w in _progress_words()):  # "请问进度": a question, not hello
            return Outcome(st, [self._menu(st, ctx, "menu.told_progress")])
        if not _says_something(typed):
            if any(_said_word(w, typed) for w in _greetings()):
                return Outcome(st, [self._welcomed(st, ctx)])
            if any(_said_word(w, typed) for w in _courtesy_words()):
                return Outcome(st, [self._menu(st, ctx, "ack.courtesy")])
            return None
        said = token.strip()
        told = st.told
        if told and ctx.now - datetime.fromisoformat(told["at"]) <= ctx.timeout:
            st.told = {"text": f"{told['text']}\n{said}", "at": ctx.now.isoformat()}
            key = "menu.told_more"
        else:
            st.told = {"text": said, "at": ctx.now.isoformat()}
            key = "menu.told"
        if _sounds_urgent(typed):
            key = "menu.told_urgent"
        return Outcome(st, [self._menu(st, ctx, key, said=_brief(said))])

    def _take_told(self, started: Outcome, flow: Flow, chosen: MenuItem, text: str,
                   ctx: Context) -> Outcome:
        """The form just started takes the words said at the menu as what it asks in
        words, answered as if typed: "Back" reaches it. Words that only asked for this
        form ("我想预约见领导") are not its answer; words it cannot take are said why."""
        st = started.state
        step = _told_step(flow)
        if step is None or not st.flow or step in st.answers:
            return started
        low = normalize(text).lower()
        rest = "".join(low.split()) if _CJK.search(low) else low
        for word in sorted(_menu_words(chosen.label) | _option_words(chosen.label),
                           key=len, reverse=True):
            rest = rest.replace(word, " ")
        if len(_CJK.findall(rest)) < REQUEST_CHARACTERS and len(_content_words(rest)) < TOLD_WORDS:
            return started
        label = catalog.t(st.lang, f"{flow.name}.{step}.label")
        ask = flow.step(step)
        try:
            value = self._parse(st, ask.kind, text, ctx)
        except Invalid as bad:
            why = catalog.t(st.lang, bad.key, **bad.params)
            note = Reply(catalog.t(st.lang, "flow.told_not_kept", label=label, why=why))
            return Outcome(st, [*started.replies[:-1], note, started.replies[-1]],
                           started.effect)
        note = Reply(catalog.t(st.lang, "flow.told_kept", label=label))
        if st.step == step:  # its first question: answered, and the next one asked
            out = self._in_flow(st, text, None, ctx)
            return Outcome(out.state, [*started.replies[:-1], note, *out.replies], out.effect)
        st.answers[step] = value
        _into_trail(st, flow, step)
        return Outcome(st, [*started.replies[:-1], note, started.replies[-1]], started.effect)

    @staticmethod
    def _just_reported(st: State, ctx: Context) -> dict[str, str] | None:
        """The emergency report this person sent within FILES_AFTER, if any."""
        last = st.last_filed
        if last and last.get("flow") == "emergency" and \
                ctx.now - datetime.fromisoformat(last["at"]) <= FILES_AFTER:
            return last
        return None

    def _switch_lang(self, st: State, ctx: Context, to: str | None = None) -> Outcome:
        st.lang = to or ("en" if st.lang == "zh" else "zh")
        switched = catalog.t(st.lang, "lang.switched")
        if st.flow:  # the question again, and the menu kept on screen in the new words
            return Outcome(st, [Reply(switched, menu=self._menu(st, ctx).buttons),
                                self._ask(st, ctx)])
        return Outcome(st, [Reply(switched), self._menu(st, ctx)])

    def _start(self, st: State, flow: Flow, variant: str, ctx: Context,
               given: dict[str, str] | None = None) -> Outcome:
        st.clear_draft()
        st.flow = flow.name
        st.draft_id = uuid.uuid4().hex
        st.started_at = ctx.now.isoformat()
        if variant == "workshop" and ctx.workshop_name:
            st.answers["place"] = ctx.workshop_name
            st.prefilled = ["place"]
        notes = self._prefill(st, flow, given or {}, ctx)
        # A choice that will be asked whatever the answers, and has nothing to offer: the
        # flow cannot be completed, so it is not started. A choice asked only after some
        # answer, or whose options depend on one, is looked at when that answer is given.
        for ask in flow.steps:
            kind = ask.kind
            if not isinstance(kind, Choice) or ask.name in st.prefilled \
                    or not ask.applies(st.answers):
                continue
            certain = ask.when is None or ask.when[0] in st.answers
            if not certain or (kind.given is not None and kind.given not in st.answers) \
                    or self._options(st, kind, ctx):
                continue
            text = self._no_choices(st, flow, ask, ctx)
            if kind.given is not None and kind.given in st.prefilled:
                # The button chose what leaves nothing to choose (a case on which the
                # person may do nothing now): said so, and that answer is asked instead.
                self._forget(st, flow, kind.given)
                notes.append(Reply(text))
                continue
            st.clear_draft()
            # What the button's answer met (answered by someone since) comes first.
            return Outcome(st, [*notes, Reply(text), self._menu(st, ctx)])
        st.step = None
        intro = Reply(self._intro(st, flow, ctx))
        self._advance(st, flow)
        if given and st.prefilled and st.step in (None, REVIEW):
            # The button said everything (one tap: "nothing to report"): submit it now.
            return Outcome(st, [], self._submission(st))
        replies = [intro, *notes]
        if st.step is None:  # nothing to ask (cannot happen with declared flows)
            st.clear_draft()
            replies.append(self._menu(st, ctx))
        else:
            replies.append(self._ask(st, ctx))
        return Outcome(st, replies)

    def _intro(self, st: State, flow: Flow, ctx: Context) -> str:
        """The flow's opening words. Opened by a push's button that chose what it is about
        (the case of an alert, the suggestion of its notice), its `intro_given` words,
        which name that choice instead of asking for it."""
        key = f"{flow.name}.intro_given"
        chosen = next((a for a in flow.steps if a.name in st.prefilled
                       and isinstance(a.kind, Choice) and a.kind.source), None)
        if chosen is not None and catalog.has(key):
            assert isinstance(chosen.kind, Choice)
            label = self._label(st, chosen.kind, st.answers.get(chosen.name), ctx)
            if label is not None:
                return catalog.t(st.lang, key, chosen=label)
        return ctx.words(st.lang, f"{flow.name}.intro")

    def _prefill(self, st: State, flow: Flow, given: dict[str, str], ctx: Context
                 ) -> list[Reply]:
        """Take the answers a button carried, each checked as if typed; a wrong one is
        asked instead, and one the data refuses (an old push's "handled" for an incident
        handled since) is asked with the refusal's words, returned."""
        notes: list[Reply] = []
        for ask in flow.steps:
            if ask.name not in given or not ask.applies(st.answers):
                continue
            value = given[ask.name]
            try:
                parsed = self._parse(st, ask.kind, f"opt:{value}" if isinstance(
                    ask.kind, Choice) else value, ctx)
            except Invalid:
                if not self._beyond_shown(st, ask, value, ctx):
                    # Not offered now: the data may say why (answered by someone since).
                    gone = self._refusal(st, ask, value, ctx)
                    if gone is not None:
                        notes.append(gone)
                    continue
                parsed = value  # one the source has, past the options it shows
            problem = self._refusal(st, ask, parsed, ctx)
            if problem is not None:
                notes.append(problem)
                continue
            st.answers[ask.name] = parsed
            st.prefilled.append(ask.name)
        return notes

    @staticmethod
    def _beyond_shown(st: State, ask: Ask, value: str, ctx: Context) -> bool:
        """Whether a button's value is one the choice's source has but does not show (its
        list is cut at a length a screen takes): the 16th open case, from its push."""
        kind = ask.kind
        option = getattr(ctx.directory, "option", None)  # optional: Directory.option
        return isinstance(kind, Choice) and kind.source is not None and kind.given is None \
            and option is not None and option(kind.source, st.lang, value) is not None

    @staticmethod
    def _refusal(st: State, ask: Ask, value: Any, ctx: Context) -> Reply | None:
        """Why the data refuses the answer to a step with a check, else None."""
        check = getattr(ctx.directory, "check", None) if ask.check else None
        if check is None:
            return None
        problem = check(ask.check, st.lang, str(value), dict(st.answers))
        if problem is None:
            return None
        key, params = problem
        return Reply(catalog.t(st.lang, key, **params))

    # --- inside a flow -------------------------------------------------------------------

    def _asks_place(self, st: State) -> bool:
        """Whether the question now asked is where something is (a shared location
        answers it)."""
        flow = self.flows.get(st.flow or "")
        if flow is None or st.step is None or st.step == REVIEW:
            return False
        try:
            kind = flow.step(st.step).kind
        except KeyError:
            return False
        return isinstance(kind, Text) and kind.place

    def _place_said(self, st: State, ctx: Context) -> str | None:
        """The place the form's other answers name by a workshop ("铸造车间门口有二十多人
        聚集": "铸造车间门口"), where the question asked is where: a worker on the shop
        floor taps it rather than typing it again. None when they name none."""
        find = getattr(ctx.directory, "place_in", None)  # optional: Directory.place_in
        if find is None or not self._asks_place(st):
            return None
        flow = self.flows[st.flow or ""]
        said = [value for ask in flow.steps if ask.name != st.step and isinstance(ask.kind, Text)
                and isinstance(value := st.answers.get(ask.name), str)]
        named = find("\n".join(said)) if said else None
        return named if isinstance(named, str) and named else None

    def _in_flow(self, st: State, token: str, command: str | None, ctx: Context,
                 pressed: bool = False) -> Outcome:
        flow = self.flows[st.flow or ""]
        name = flow.name
        if command == "cancel":
            st.clear_draft()
            # A flow's own words where "cancelled" could be misread (我的预约: the
            # booking is NOT cancelled).
            own = f"{name}.cancelled"
            said = Reply(catalog.t(st.lang, own if catalog.has(own) else "flow.cancelled"))
            if st.take_up():  # the form put aside for this report
                return Outcome(st, [said, self._resumed(st, ctx)])
            return Outcome(st, [said, self._menu(st, ctx)])
        urgent = None if flow.urgent or command is not None else self._urgent_item(token, ctx)
        if urgent is not None:
            # An emergency never waits for a form left half-filled (a complaint begun
            # yesterday): that draft is put aside, said so, and taken up again after.
            aside = Reply(catalog.t(st.lang, "flow.set_aside",
                                    flow=catalog.t(st.lang, f"{name}.title")))
            st.put_aside()
            started = self._at_menu(st, urgent.value, None, ctx)
            if not started.state.flow:  # it could not start: the form is back
                started.state.take_up()
                return Outcome(st, [*started.replies[:-1], self._ask(st, ctx)])
            return Outcome(started.state, [aside, *started.replies], started.effect)
        if command == "menu" or (command is None and not pressed
                                 and self._menu_word(st, flow, token, ctx)):
            # A menu item's words (the menu keyboard stays on a phone's screen during a
            # form) are not an answer: say what is under way and ask again.
            return Outcome(st, [Reply(catalog.t(
                st.lang, "flow.menu_in_flow", flow=catalog.t(st.lang, f"{name}.title"),
                cancel=catalog.t(st.lang, _own(st, "nav.cancel")))), self._ask(st, ctx)])
        if pressed and command is None and token.startswith("flow:") \
                and not self._offered(st, flow, token, ctx) and not st.attachments \
                and all(name in st.prefilled for name in st.answers):
            # A push's button, while the form under way holds nothing the person gave (one
            # an older push's button opened and they left): it loses nothing, so the new
            # button's form takes its place.
            st.clear_draft()
            return self._at_menu(st, token, None, ctx, pressed=True)
        if pressed and command is None and not self._offered(st, flow, token, ctx):
            # A button that is not the question's: pressed twice, an earlier question's,
            # or a push's that starts something else. Never an answer to this question.
            key = BUSY if token.startswith("flow:") else STALE
            return Outcome(st, [Reply(catalog.t(st.lang, key)), self._ask(st, ctx)])
        if command == "help":
            key = f"{name}.{st.step}.help" if st.step != REVIEW else _own(st, "review.help")
            helped = ctx.words(st.lang, key)
            kind = flow.step(st.step).kind if st.step not in (None, REVIEW) else None
            if isinstance(kind, Choice) and kind.dated:  # a reception: its day typed chooses
                helped += "\n" + catalog.t(st.lang, "choice.dated_help")
            named = self._place_said(st, ctx) if isinstance(kind, Text) else None
            if named is not None:  # the place button under the question: say it is there
                helped += "\n" + catalog.t(st.lang, "flow.place_said_help", place=named)
            return Outcome(st, [Reply(helped + "\n\n" + catalog.t(st.lang, "help.commands")),
                                self._ask(st, ctx)])
        if command == "back":
            if st.narrowed is not None and st.step in st.narrowed:
                st.narrowed = None  # back from the options a typed day fits: all of them
                return Outcome(st, [self._ask(st, ctx)])
            if not st.trail:
                st.clear_draft()
                return Outcome(st, [Reply(catalog.t(st.lang, "flow.back_to_menu")),
                                    self._menu(st, ctx)])
            previous = st.trail.pop()
            st.answers.pop(previous, None)
            if not self._still_asked(flow, previous, st):
                # An answer it hung on was taken back meanwhile: further back.
                return self._in_flow(st, token, command, ctx, pressed)
            st.step = previous
            return Outcome(st, [self._ask(st, ctx)])
        if command == "send" and self._can_send_now(st, flow):
            return Outcome(st, [], self._submission(st))
        if command == "send" and flow.send_now_after is not None and st.step != REVIEW:
            return Outcome(st, [Reply(catalog.t(st.lang, "flow.send_not_yet",
                                                n=flow.send_now_after)), self._ask(st, ctx)])
        if command == "confirm" and st.step != REVIEW:
            return Outcome(st, [Reply(catalog.t(st.lang, "flow.confirm_not_yet")),
                                self._ask(st, ctx)])
        if st.step == REVIEW:
            if command == "confirm" or token == "cmd:confirm":
                return Outcome(st, [], self._submission(st))
            return Outcome(st, [Reply(catalog.t(st.lang, _own(st, "review.choose"))),
                                self._ask(st, ctx)])
        ask = flow.step(st.step or "")
        carried = False
        chosen: Reply | None = None  # the reception typed words chose, as they are told
        # "无", "没有", "none" typed to a question that takes them (Ask.none_ok: 意见建议,
        # 已采取措施) are its answer, not a request to skip it.
        said_none = command == "skip" and not pressed and not ask.optional and ask.none_ok \
            and normalize(token).lower() in NONE_WORDS
        if said_none:
            st.answers[ask.name] = token.strip()
        elif command == "skip" and ask.optional:
            st.answers[ask.name] = None
        elif command == "skip":
            return Outcome(st, [Reply(catalog.t(st.lang, "invalid.not_optional")),
                                self._ask(st, ctx)])
        else:
            try:
                value = self._parse(st, ask.kind, token, ctx)
            except Invalid as bad:
                value = self._typed_option(ask.kind, token, pressed)
                if value is None:
                    kept = None if pressed or bad.key != "invalid.choice" \
                        else self._keep_ahead(st, flow, ask, token, ctx)
                    if kept is not None:
                        return Outcome(st, [kept, self._ask(st, ctx)])
                    why = catalog.t(st.lang, bad.key, **bad.params)
                    if isinstance(bad, _Narrowed):  # asked again among those it fits
                        st.narrowed = {ask.name: bad.only}
                    return Outcome(st, [Reply(why), self._ask(st, ctx)])
                carried = True
            problem = self._refusal(st, ask, value, ctx)
            if problem is not None:  # refused now, not after the questions that follow
                return Outcome(st, [problem, self._ask(st, ctx)])
            st.answers[ask.name] = value
            chosen = self._typed_chosen(st, ask, token, value, pressed, ctx)
        st.narrowed = None  # answered: asked again (back to it), it shows all its options
        _into_trail(st, flow, ask.name)
        self._drop_inapplicable(st, flow)
        self._advance(st, flow)
        if st.step is None:
            return Outcome(st, [], self._submission(st))
        if carried and st.step != REVIEW and st.step is not None:
            # The typed text chose the option that asks for it: it answers that question,
            # never asked, so not counted among those asked ("1/2", then "2/2").
            step = st.step
            st.prefilled.append(step)
            out = self._in_flow(st, token, None, ctx, pressed)
            if step not in out.state.answers and step in out.state.prefilled:
                out.state.prefilled.remove(step)  # refused: it is asked now
            return out
        refused = self._nothing_to_choose(st, flow, ctx)
        if refused is not None:
            return refused
        if chosen is not None and st.step != REVIEW:  # the review shows it
            return Outcome(st, [chosen, self._ask(st, ctx)])
        return Outcome(st, [self._ask(st, ctx)])

    def _typed_chosen(self, st: State, ask: Ask, token: str, value: Any, pressed: bool,
                      ctx: Context) -> Reply | None:
        """What a reception chosen by typed words ("明天", "孙红梅") is, in a few words:
        nothing else says which it was before the review. None for a button or a number
        pressed or typed from the list (the list showed it)."""
        kind = ask.kind
        if pressed or not isinstance(kind, Choice) or not kind.dated or kind.source is None \
                or ordinal(normalize(token).lower()) is not None:
            return None
        brief = getattr(ctx.directory, "slot_brief", None)  # optional: Directory.slot_brief
        said = brief(kind.source, st.lang, str(value)) if brief is not None else None
        said = said or self._label(st, kind, value, ctx)
        return Reply(catalog.t(st.lang, "choice.typed_chosen", slot=said)) if said else None

    def _keep_ahead(self, st: State, flow: Flow, ask: Ask, token: str,
                    ctx: Context) -> Reply | None:
        """Words typed to a choice asked before the question they answer (what the
        suggestion or the problem is, typed where its kind is asked): kept as that later
        answer, not dropped, when they are one it takes; said so. Words typed again there
        are added to them. None when they are not such words."""
        if isinstance(ask.kind, Choice) and ask.kind.dated:
            return None  # a reception's question: words there try to say a day
        later = _told_step(flow)
        names = [a.name for a in flow.steps]  # both are the form's own steps
        if later is None or names.index(later) <= names.index(ask.name):
            return None
        text = token.strip()
        if len(_CJK.findall(text)) < KEPT_CHARACTERS \
                and len(_content_words(text)) < KEPT_WORDS:
            return None  # "工资问题", "3 wages": meant for the choice, not kept
        had = st.answers.get(later)
        if had is not None and later not in st.trail:
            return None  # answered otherwise (a push's form): not added to
        joined = f"{had}\n{text}" if had else text
        try:
            value = self._parse(st, flow.step(later).kind, joined, ctx)
        except Invalid:
            return None
        st.answers[later] = value
        if later not in st.trail:
            _into_trail(st, flow, later)
        return Reply(catalog.t(st.lang, "flow.kept_ahead_more" if had else "flow.kept_ahead",
                               label=catalog.t(st.lang, f"{flow.name}.{later}.label")))

    @staticmethod
    def _typed_option(kind: Any, token: str, pressed: bool) -> str | None:
        """The option a typed text that is no option stands for (Choice.typed), else None."""
        if pressed or not isinstance(kind, Choice) or kind.typed is None:
            return None
        option, pattern = kind.typed
        return option if pattern.match(normalize(token)) else None

    def _urgent_item(self, token: str, ctx: Context) -> MenuItem | None:
        """The menu item of an urgent flow (an emergency report) that `token` starts:
        its button, or its words typed."""
        low = normalize(token).lower()
        for item in _menu_of(ctx):
            kind, _, name = item.value.partition(":")
            flow = self.flows.get(name.partition("@")[0]) if kind == "flow" else None
            if flow is not None and flow.urgent and flow.roles == () and (
                    token == item.value or low in _menu_words(item.label)):
                return item
        return None

    def _offered(self, st: State, flow: Flow, token: str, ctx: Context) -> bool:
        """Whether `token` is the value of one of the buttons of the question now asked."""
        if st.step in (None, REVIEW) or not token.startswith("opt:"):
            return False
        kind = flow.step(st.step or "").kind
        return isinstance(kind, Choice) and any(
            token == f"opt:{value}" for value, _ in self._options(st, kind, ctx))

    def _menu_word(self, st: State, flow: Flow, token: str, ctx: Context) -> bool:
        """Whether a typed text is the label of a main menu item and no answer to the
        question asked (a choice's own option by that name is its answer)."""
        if st.step is None:
            return False
        low = normalize(token).lower()
        if not any(low in _menu_words(m.label) for m in _menu_of(ctx)):
            return False
        if st.step == REVIEW:
            return True
        kind = flow.step(st.step).kind
        if not isinstance(kind, Choice):
            return True
        try:
            self._parse(st, kind, token, ctx)
        except Invalid:
            return True
        return False

    def _nothing_to_choose(self, st: State, flow: Flow, ctx: Context) -> Outcome | None:
        """The step now due is a choice with nothing to offer: say so, and go back to the
        answer that led to it (another answer may not need it), or end the flow."""
        if st.step in (None, REVIEW):
            return None
        ask = flow.step(st.step or "")
        if not isinstance(ask.kind, Choice) or self._options(st, ask.kind, ctx):
            return None
        text = Reply(self._no_choices(st, flow, ask, ctx))
        # Back to the answer that left nothing: the one the options depend on (the case
        # chosen), else the one that made this step asked.
        gate = ask.kind.given or (ask.when[0] if ask.when else None)
        if gate is None or (gate not in st.trail and gate not in st.prefilled):
            st.clear_draft()
            return Outcome(st, [text, self._menu(st, ctx)])
        self._forget(st, flow, gate)  # a button's answer too: it is asked now
        if gate in st.trail:
            st.trail = st.trail[: st.trail.index(gate)]
        st.step = gate
        further = self._nothing_to_choose(st, flow, ctx)  # that one may offer nothing now
        if further is not None:
            return Outcome(further.state, [text, *further.replies])
        return Outcome(st, [text, self._ask(st, ctx)])

    def _no_choices(self, st: State, flow: Flow, ask: Ask, ctx: Context) -> str:
        """Why a choice offers nothing: its own words (which may name the answer its
        options depend on, as {given}), the flow's, or the general ones."""
        own = f"{flow.name}.{ask.name}.empty"
        if catalog.has(own):
            given = ask.kind.given if isinstance(ask.kind, Choice) else None
            shown = ""
            if given is not None:  # the answer as it was shown, or the question's name
                kind = flow.step(given).kind
                shown = (self._label(st, kind, st.answers.get(given), ctx)
                         if isinstance(kind, Choice) else None) \
                    or catalog.t(st.lang, f"{flow.name}.{given}.label")
            return catalog.t(st.lang, own, given=shown)
        if ask.when is None:
            return catalog.t(st.lang, f"{flow.name}.empty")
        return catalog.t(st.lang, "flow.no_choices",
                         step=catalog.t(st.lang, f"{flow.name}.{ask.name}.label"))

    def _advance(self, st: State, flow: Flow) -> None:
        names = [a.name for a in flow.steps]
        start = 0 if st.step is None else names.index(st.step) + 1 if st.step in names else 0
        for ask in flow.steps[start:]:
            if ask.name not in st.prefilled and ask.name not in st.answers \
                    and ask.applies(st.answers):
                st.step = ask.name
                return
        st.step = REVIEW if flow.review else None

    @classmethod
    def _forget(cls, st: State, flow: Flow, name: str) -> None:
        """Forget an answer (asked again, also if a button gave it) and the answers of the
        choices whose options depended on it (the action chosen for another case)."""
        st.answers.pop(name, None)
        if name in st.prefilled:
            st.prefilled.remove(name)
        for ask in flow.steps:
            if isinstance(ask.kind, Choice) and ask.kind.given == name \
                    and (ask.name in st.answers or ask.name in st.prefilled):
                cls._forget(st, flow, ask.name)

    @staticmethod
    def _still_asked(flow: Flow, name: str, st: State) -> bool:
        """Whether the step would be asked with the answers as they are now."""
        try:
            ask = flow.step(name)
        except KeyError:
            return False
        return (ask.when is None or ask.when[0] in st.answers) and ask.applies(st.answers)

    @staticmethod
    def _drop_inapplicable(st: State, flow: Flow) -> None:
        """Forget answers to steps an earlier, changed answer no longer asks."""
        for ask in flow.steps:
            if ask.name in st.answers and not ask.applies(st.answers):
                st.answers.pop(ask.name)
                if ask.name in st.trail:
                    st.trail.remove(ask.name)

    def _can_send_now(self, st: State, flow: Flow) -> bool:
        if flow.send_now_after is None or st.step == REVIEW:
            return False
        required = [a.name for a in flow.steps[: flow.send_now_after]]
        return all(st.answers.get(n) is not None for n in required)

    def _submission(self, st: State) -> Submission:
        return Submission(st.flow or "", dict(st.answers), st.draft_id or "", st.lang,
                          tuple(st.prefilled), tuple(st.attachments))

    def _parse(self, st: State, kind: Any, token: str, ctx: Context) -> Any:
        if isinstance(kind, Choice):
            options = self._options(st, kind, ctx)
            low = normalize(token).lower()
            n = None if token.startswith("opt:") else ordinal(low)  # "2", "2.", "第二个"
            if kind.dated and DAY_OF_MONTH.match(low):  # "3号": the 3rd, not option 3
                n = None
            if st.shown is not None and n is not None \
                    and st.shown != [value for value, _ in options]:
                # The list changed since it was shown, or shows some of the options (those
                # a typed day fits): the number means what it showed, and no other.
                if not 1 <= n <= len(st.shown):
                    raise Invalid("invalid.choice", count=len(st.shown))
                meant = st.shown[n - 1]
                if any(value == meant for value, _ in options):
                    return meant
                raise Invalid("invalid.choice_changed", n=n)
            # A typed number is a position in the list as shown; only a pressed button
            # carries the option's own value (a duty slot's id is also a number).
            typed = _typed_words(low)  # "满意。" is 满意
            for i, (value, label) in enumerate(options, start=1):
                # the label folded as the typed text is: （24小时） typed is (24小时)
                folded = normalize(label).lower()
                if token == f"opt:{value}" or n == i or folded in (low, typed):
                    return value
            # the option's words in the other language are accepted too
            for lang in catalog.LANGS:
                if lang != st.lang:
                    for value, label in self._options(st, kind, ctx, lang):
                        if normalize(label).lower() in (low, typed):
                            return value
            # and the words on its button, where they are its own in short (a reception's,
            # as WeChat's list shows it too)
            for lang in (st.lang, *(x for x in catalog.LANGS if x != st.lang)):
                on = self._buttons(st, kind, self._options(st, kind, ctx, lang), ctx, lang)
                for value, short in on.items():
                    if normalize(short).lower() in (low, typed):
                        return value
            # A record's number, as its button begins ("C-2026-0001 工资福利 · 已答复"),
            # as the push about it names it.
            if _RECORD_NUMBER.fullmatch(typed):
                numbered = [value for value, label in options
                            if re.match(rf"{re.escape(typed)}(?![\w-])", label.lower())]
                if len(numbered) == 1:
                    return numbered[0]
            # A time, as an option showing when something came begins ("已回电 09:00":
            # the call of 09:00).
            at = _TIME.findall(typed)
            if len(at) == 1:
                when = f"{int(at[0][0]):02d}:{at[0][1]}"
                timed = [value for value, label in options
                         if (m := _STARTS_AT.match(label)) and m[1] == when]
                if len(timed) == 1:
                    return timed[0]
            if kind.dated:  # a reception by its day: "周五", "下周一", "明天", "11-30"
                by_day = self._by_day(st, kind, token, options, ctx)
                if by_day is not None:
                    return by_day
            for option in kind.options:
                if typed in _option_words(option.label):
                    return option.value
            # A word of one option's label ("canteen", 食堂) chooses it: one of those shown
            # first (an option not shown now is told why when it alone has the word).
            order = st.shown if st.shown is not None else [value for value, _ in options]
            found = self._by_words(st, kind, typed, ctx)
            found = [v for v in found if v in order] or found
            if len(found) == 1:
                return found[0]
            if not found:  # the question's own words ("workshop") pick nothing alone
                found = self._by_words(st, kind, typed, ctx, beyond_question=False)
                found = ([v for v in found if v in order] or found) if len(found) > 1 else []
            if len(found) > 1:
                words = dict(options)
                raise Invalid("invalid.choice_which", typed=token.strip(),
                              options=catalog.t(st.lang, "list.sep").join(
                                  f"{i}. {words[v]}" for i, v in enumerate(order, 1)
                                  if v in found and v in words))
            raise Invalid("invalid.choice", count=len(order))
        if not token.strip():
            raise Invalid("invalid.empty")
        if isinstance(kind, DateAnswer):
            return kind.parse(token, ctx.now.astimezone(ctx.zone).date())
        if isinstance(kind, Text | Number | YesNo):
            return kind.parse(token)
        raise TypeError(f"unknown answer kind {kind!r}")

    def _by_day(self, st: State, kind: Choice, token: str, options: list[tuple[str, str]],
                ctx: Context) -> str | None:
        """The reception a typed day chooses (Choice.dated): that day's only one, or the one
        in the part of the day said with it ("周三下午", "明晚"), or under way at the time of
        day said with it ("周四下午两点", "Thu 2pm"); None when the text names no day.
        Several are asked among, as are today's and next week's when today's own weekday is
        said alone ("周一" on a Monday) while today's can still be booked: a Monday's
        reception over, "周一" is next Monday's. A day gone by, today's receptions over, or
        none in the part of the day said, is said so. A part of the day or a time said
        without a day ("下午", "2pm") is today's: none then is said so, and all offered.
        Asked among a few already, a week ("下周的"), the later one ("下一个"), a part of the
        day ("下午") or a time ("两点") alone chooses; asked among one day's two, the earlier
        or the later ("早一点的", "later one").
        A day is searched past the options shown (Directory.slots_on, optional). A leader's
        name, alone or with a day ("孙红梅", "周三孙红梅"), chooses among that leader's
        (Directory.slots_of, optional)."""
        day_of = getattr(ctx.directory, "option_day", None)  # optional: Directory.option_day
        if day_of is None:
            return None
        today = ctx.now.astimezone(ctx.zone).date()
        named = getattr(ctx.directory, "slots_of", None)  # optional: Directory.slots_of
        leader = named(kind.source, token) if named is not None else None
        said_day = _WITH_LEADER.sub("", token.replace(leader[0], " ")) if leader else token
        days = days_meant(said_day, today)
        pool = None  # the options an answer to the question narrowed chooses among
        only = (st.narrowed or {}).get(st.step or "")
        when = when_meant(token)
        hours = getattr(ctx.directory, "option_hours", None)  # optional: Directory.option_hours
        if not days and only and leader is None:
            ordered = self._by_order(kind, token, only, day_of, hours)
            if ordered is not None:
                return ordered
            days, pool = self._days_among(kind, token, only, today, day_of), only
        unsaid = not days and not only and leader is None and hours is not None \
            and when_alone(token) is not None  # "下午", "2pm": today's, if today has one then
        if unsaid:
            days = [today]
        if days and days[-1] < today:  # "11-20", "上周五": no reception can be booked on it
            raise Invalid("choice.day_past", **self._day_words(st, days[-1]))
        if leader is not None:
            return self._by_leader(st, kind, token, leader, days, ctx)
        if not days:
            return None
        said = days[-1]
        words = self._day_words(st, said)
        listed = getattr(ctx.directory, "slots_on", None)  # optional: Directory.slots_on
        on: dict[date, list[str]] = {}
        for day in days:
            values = listed(kind.source, day) if listed is not None else [
                v for v, _ in options if day_of(kind.source, v) == day]
            values = [v for v in values if pool is None or v in pool]
            if only and pool is None:  # a day said among those a leader's name narrowed to
                values = [v for v in values if v in only] or values
            if values:
                on[day] = values
        if unsaid and when is not None and hours is not None and not any(
                self._fits(when, hours(kind.source, v)) for v in on.get(today, [])):
            kind_of, said_when = self._when_words(st, when)
            raise Invalid(f"choice.{kind_of}_none_today", **said_when, **words)
        if not on:
            over = getattr(ctx.directory, "day_over", None)  # optional: Directory.day_over
            ahead = sorted(d for d in (day_of(kind.source, v) for v, _ in options)
                           if d is not None and d > today)
            if said == today and ahead and over is not None and over(kind.source, today):
                raise Invalid("choice.today_over", **self._day_words(st, ahead[0]))
            raise Invalid("choice.day_none", **words)
        if when is not None and hours is not None:
            fit = {day: [v for v in values if self._fits(when, hours(kind.source, v))]
                   for day, values in on.items()}
            if not any(fit.values()):
                raise self._when_none(st, when, on, hours(kind.source, on[max(on)][0]))
            on = {day: values for day, values in fit.items() if values}
        found = [v for day in days for v in on.get(day, [])]
        if len(found) == 1:
            return found[0]
        if len(on) > 1:  # today or the same day next week, its weekday in full
            raise _Narrowed(found, "choice.today_or_next", date=words["date"],
                            weekday=catalog.t(st.lang, f"weekday.long.{said.weekday()}"))
        words = self._day_words(st, next(iter(on)))
        if when is not None and hours is not None:
            kind_of, said_when = self._when_words(st, when)
            raise _Narrowed(found, f"choice.{kind_of}_which", count=len(found), **said_when,
                            **words)
        raise _Narrowed(found, "choice.day_which", count=len(found), **words)

    def _by_leader(self, st: State, kind: Choice, token: str, leader: tuple[str, list[str]],
                   days: list[date], ctx: Context) -> str:
        """The reception a leader's name typed chooses: theirs, on the day said with it if
        one is, in the part of the day said; several are asked among, none said so."""
        name, values = leader
        if not values:
            raise Invalid("choice.leader_none", leader=name)
        day_of = getattr(ctx.directory, "option_day", None)
        if days and day_of is not None:
            on = [v for v in values if day_of(kind.source, v) in days]
            if not on:  # not that day: theirs are asked among
                raise _Narrowed(values, "choice.leader_not_on", leader=name,
                                **self._day_words(st, days[-1]))
            values = on
        when = when_meant(token)
        hours = getattr(ctx.directory, "option_hours", None)
        if when is not None and hours is not None:
            fit = [v for v in values if self._fits(when, hours(kind.source, v))]
            if not fit and days:  # "孙红梅周四下午", hers that day in the morning
                raise self._when_none(st, when, {days[-1]: values},
                                      hours(kind.source, values[0]))
            values = fit or values
        if len(values) == 1:
            return values[0]
        raise _Narrowed(values, "choice.leader_which", leader=name, count=len(values))

    @staticmethod
    def _day_words(st: State, day: date) -> dict[str, str]:
        return {"date": day.strftime("%m-%d"),
                "weekday": catalog.t(st.lang, f"weekday.{day.weekday()}")}

    @staticmethod
    def _by_order(kind: Choice, token: str, only: list[str], day_of: Any,
                  hours: Any) -> str | None:
        """The earlier or the later ("早一点的", "the later one") of the two receptions of one
        day a question narrowed to; None for any other text or question."""
        way = order_meant(token)
        if way is None or len(only) != 2 or hours is None \
                or len({day_of(kind.source, v) for v in only}) != 1:
            return None
        said = [hours(kind.source, v) for v in only]
        if None in said or said[0][0] == said[1][0]:  # begin together: neither is earlier
            return None
        ordered = sorted(only, key=lambda v: hours(kind.source, v)[0])
        return ordered[0] if way == "earlier" else ordered[-1]

    @staticmethod
    def _days_among(kind: Choice, token: str, only: list[str], today: date,
                    day_of: Any) -> list[date]:
        """The days of the options a question narrowed to that an answer naming no day
        means: those of the week it says ("下周的", "this week"), the later of two days
        ("下一个", "next one"), or their one day when it says a part of it ("下午") or a
        time of day ("两点")."""
        mine = sorted({d for d in (day_of(kind.source, v) for v in only) if d is not None})
        week = week_meant(token)
        if week is not None:
            monday = today - timedelta(days=today.weekday()) + timedelta(weeks=week)
            return [d for d in mine if monday <= d < monday + timedelta(days=7)]
        if later_meant(token) and len(mine) > 1:
            return mine[-1:]
        if when_meant(token) is not None and len(mine) == 1:
            return mine
        return []

    @staticmethod
    def _fits(when: When, hours: tuple[time, time] | None) -> bool:
        return hours is None or when.fits(*hours)

    @staticmethod
    def _when_words(st: State, when: When) -> tuple[str, dict[str, str]]:
        """How a part of the day or a time said is told: the catalog's choice.half_* with
        {half} ("下午", "in the afternoon"), or choice.time_* with {time} ("14:00")."""
        if when.at is not None:
            return "time", {"time": when.at.strftime("%H:%M")}
        return "half", {"half": catalog.t(st.lang, f"half.{when.half}")}

    def _when_none(self, st: State, when: When, on: dict[date, list[str]],
                   hours: tuple[time, time] | None) -> _Narrowed:
        """None of the receptions of the day said is in the part of the day said with it
        ("今天下午", today's is in the morning), or under way at the time said ("周四
        14:00"): said so, and that day's offered, nothing chosen; "周一下午" said on a
        Monday, today's and next Monday's. `hours`: those of the last day's first
        reception."""
        found = [v for values in on.values() for v in values]
        kind_of, said = self._when_words(st, when)
        day = max(on)
        words = self._day_words(st, day)
        if len(on) > 1:
            return _Narrowed(found, f"choice.{kind_of}_none_today_or_next", **said,
                             date=words["date"],
                             weekday=catalog.t(st.lang, f"weekday.long.{day.weekday()}"))
        if len(found) == 1 and hours is not None:
            return _Narrowed(found, f"choice.{kind_of}_none", **said,
                             start=hours[0].strftime("%H:%M"), end=hours[1].strftime("%H:%M"),
                             **words)
        return _Narrowed(found, f"choice.{kind_of}_none_which", **said, count=len(found),
                         **words)

    def _by_words(self, st: State, kind: Choice, typed: str, ctx: Context, *,
                  beyond_question: bool = True) -> list[str]:
        """The options, in the order shown, whose label (in either language) holds the
        typed text as its words (see _in_label). Options from data only where they are
        names (Choice.named); a text with a digit never (a slot's id, a date); nor words
        the question itself says ("my workshop" asked which workshop: it tells none)."""
        if not typed or any(ch.isdigit() for ch in typed):
            return []
        if beyond_question:
            typed = self._beyond_question(st, typed)
        if not typed:
            return []
        declared = {o.value for o in kind.options}
        found: list[str] = []
        for lang in (st.lang, *(x for x in catalog.LANGS if x != st.lang)):
            for value, label in self._options(st, kind, ctx, lang):
                if (kind.named or value in declared) and value not in found \
                        and _in_label(typed, label):
                    found.append(value)
        order = [value for value, _ in self._options(st, kind, ctx)]
        return sorted(found, key=lambda v: order.index(v) if v in order else len(order))

    def _beyond_question(self, st: State, typed: str) -> str:
        """The typed text without what the question asked says itself (in either
        language): "", when it only repeats the question."""
        if not st.flow or not st.step or st.step == REVIEW:
            return typed
        key = f"{st.flow}.{st.step}.ask"
        asked = " ".join(catalog.t(lang, key) for lang in catalog.LANGS).lower() \
            if catalog.has(key) else ""
        if _CJK.search(typed):
            return "" if "".join(typed.split()) in "".join(asked.split()) else typed
        said = set(_content_words(asked))
        kept = [w for w in _content_words(typed) if not any(_same_word(w, a) for a in said)]
        return " ".join(kept)

    def _options(self, st: State, kind: Choice, ctx: Context,
                 lang: str | None = None) -> list[tuple[str, str]]:
        """The options as shown, in order: those from data first, then the declared ones.
        A source that depends on an earlier answer offers nothing until it is given."""
        lang = lang or st.lang
        dynamic: list[tuple[str, str]] = []
        if kind.source and ctx.directory is not None:
            if kind.given is None:
                dynamic = ctx.directory.options(kind.source, lang)
            elif st.answers.get(kind.given) is not None:
                dynamic = ctx.directory.options(kind.source, lang,
                                                str(st.answers[kind.given]))
        static = [(o.value, catalog.t(lang, o.label)) for o in kind.options]
        return dynamic + self._narrowed_beyond(st, kind, dynamic, ctx, lang) + static

    def _narrowed_beyond(self, st: State, kind: Choice, dynamic: list[tuple[str, str]],
                         ctx: Context, lang: str) -> list[tuple[str, str]]:
        """The options a typed day narrowed the question asked to that its source has past
        those it shows (Directory.option): a later day's receptions, asked which."""
        only = (st.narrowed or {}).get(st.step or "")
        option = getattr(ctx.directory, "option", None)  # optional: Directory.option
        flow = self.flows.get(st.flow or "")
        if not only or option is None or not kind.dated or kind.source is None \
                or flow is None or not any(a.name == st.step and a.kind is kind
                                           for a in flow.steps):
            return []
        shown = {value for value, _ in dynamic}
        return [(value, label) for value in only if value not in shown
                and (label := option(kind.source, lang, value)) is not None]

    # --- rendering -----------------------------------------------------------------------

    def _ask(self, st: State, ctx: Context) -> Reply:
        flow = self.flows[st.flow or ""]
        nav = [Button(catalog.t(st.lang, "nav.back"), f"cmd:back@{st.step}", "nav"),
               Button(catalog.t(st.lang, _own(st, "nav.cancel")), f"cmd:cancel@{_form_mark(st)}",
                      "nav"),
               Button(catalog.t(st.lang, "nav.help"), "cmd:help", "nav")]
        st.shown = None
        if st.step == REVIEW:
            return Reply(self._review_text(st, flow, ctx),
                         [Button(catalog.t(st.lang, _own(st, "nav.confirm")), "cmd:confirm",
                                 "action"), *nav])
        ask = flow.step(st.step or "")
        buttons: list[Button] = []
        options: list[tuple[str, str]] = []
        note: str | None = None
        if isinstance(ask.kind, Choice):
            options = self._options(st, ask.kind, ctx)
            open_ = self._open_options(st, ask, options, ctx)
            only = (st.narrowed or {}).get(ask.name)
            if only:  # the options a typed answer fits (_Narrowed), those still open
                open_ = [(value, label) for value, label in open_ if value in only] or open_
            note = self._options_note(st, ask.kind, [value for value, _ in open_], ctx)
            guessed = None if only else self._guessed(st, flow, ask)
            likely = [(value, label) for value, label in open_ if value == guessed]
            if likely:  # the kind their words point to, first: one tap when it is right
                open_ = likely + [(v, label) for v, label in open_ if v != guessed]
                guess = catalog.t(st.lang, "choice.guessed", label=likely[0][1])
                note = f"{guess}\n{note}" if note else guess
            short = self._buttons(st, ask.kind, open_, ctx)
            buttons = [Button(short.get(value, label), _option_value(value, ask.name))
                       for value, label in open_]
            if ask.kind.source or open_ != options:
                st.shown = [value for value, _ in open_]
        extra: list[Button] = []
        named = self._place_said(st, ctx) if isinstance(ask.kind, Text) else None
        if named is not None:
            extra.append(Button(named, f"{PLACE_SAID}{ask.name}", "action"))
        if ask.optional:
            extra.append(Button(catalog.t(st.lang, "nav.skip"), f"cmd:skip@{st.step}", "nav"))
        if self._can_send_now(st, flow):
            extra.append(Button(catalog.t(st.lang, "nav.send_now"), "cmd:send", "action"))
        n, total = flow.progress(st.answers, st.prefilled, ask.name,
                                 self._branches_offered(st, flow, ctx, ask.name, options))
        header = catalog.t(st.lang, "flow.progress", n=n, total=total)
        text = header + " " + catalog.t(st.lang, f"{flow.name}.{ask.name}.ask")
        if note:
            text = f"{text}\n{note}"
        order, above = [a.name for a in flow.steps], (st.prefaced or "").partition(":")[0]
        if above in order and order.index(ask.name) < order.index(above):
            st.prefaced = None  # back before it (a report to choose again): shown again
        preface = self._preface(st, ask, ctx)
        mark = f"{ask.name}:{zlib.crc32(preface.encode()):08x}" if preface else None
        if preface and mark != st.prefaced:
            # Once, where the question is first asked of what it shows: one message (a
            # channel splits a long one, the buttons on its end).
            text = f"{preface}\n\n{text}"
            st.prefaced = mark
        return Reply(text, buttons + extra + nav)

    def _guessed(self, st: State, flow: Flow, ask: Ask) -> str | None:
        """The option of a choice with `guess` that the form's words so far point to
        ("十月的加班费还没发", kept for 经过 where the kind of problem is asked: wages)."""
        kind = ask.kind
        if not isinstance(kind, Choice) or kind.guess is None:
            return None
        said = [value for other in flow.steps if other.name != ask.name
                and isinstance(other.kind, Text)
                and isinstance(value := st.answers.get(other.name), str)]
        if not said:
            return None
        return _pointed_option(kind.guess, tuple(o.value for o in kind.options),
                               "\n".join(said))

    @staticmethod
    def _buttons(st: State, kind: Choice, options: list[tuple[str, str]], ctx: Context,
                 lang: str | None = None) -> dict[str, str]:
        """The words on the buttons of options from data whose words are too long for one
        (a reception: its day, start and leader; Directory.option_button), by value; the
        others' buttons carry their words, as do those whose short words another's share
        (two bookings of one reception): no two buttons read alike. What the short words
        leave out is said once above them (_options_note)."""
        short = getattr(ctx.directory, "option_button", None) if kind.source else None
        if short is None:  # optional: Directory.option_button
            return {}
        declared = {o.value for o in kind.options}
        found = {value: short(kind.source, lang or st.lang, value) for value, _ in options
                 if value not in declared}
        alike = Counter(found.values())
        return {value: words for value, words in found.items() if words and alike[words] == 1}

    @staticmethod
    def _options_note(st: State, kind: Choice, shown: list[str], ctx: Context) -> str | None:
        """What the buttons of options from data leave out, said once under the question
        (Directory.options_note): of receptions, their hours, place and form, and each
        leader's post and portfolio. `shown`: the values of the options shown."""
        note = getattr(ctx.directory, "options_note", None) if kind.source else None
        if note is None:  # optional: Directory.options_note
            return None
        declared = {o.value for o in kind.options}
        values = [value for value in shown if value not in declared]
        return cast(str | None, note(kind.source, st.lang, values)) if values else None

    def _branches_offered(self, st: State, flow: Flow, ctx: Context, current: str,
                          options: list[tuple[str, str]]) -> dict[str, set[str]]:
        """The values the questions still to come that others hang on offer now, of those
        whose options come from the data and can be known (what may be done to the case
        chosen): the step counter counts only the branches they open. `options`: those of
        the question asked, `current`."""
        hung = {a.when[0] for a in flow.steps if a.when is not None}
        offered: dict[str, set[str]] = {}
        for a in flow.steps:
            kind = a.kind
            if a.name not in hung or a.name in st.answers or not isinstance(kind, Choice) \
                    or not kind.source or (kind.given is not None
                                           and st.answers.get(kind.given) is None):
                continue
            # The question asked: its options just looked up, not asked of the data again.
            found = options if a.name == current else self._options(st, kind, ctx)
            offered[a.name] = {value for value, _ in found}
        return offered

    @staticmethod
    def _preface(st: State, ask: Ask, ctx: Context) -> str | None:
        """What the data says above the question of a step with a preface (the report
        whose approval is asked), in the person's language; None: nothing to show."""
        hook = getattr(ctx.directory, "preface", None) if ask.preface else None
        if hook is None:  # optional: Directory.preface
            return None
        return cast(str | None, hook(ask.preface, st.lang, dict(st.answers)))

    def _open_options(self, st: State, ask: Ask, options: list[tuple[str, str]],
                      ctx: Context) -> list[tuple[str, str]]:
        """The options to show: of a step with a check, not the declared ones it refuses
        now (an emergency's first report, sent already); all of them if it refuses every
        one. One not shown, typed or pressed on an old message, is told why (the check)."""
        if ask.check is None or not isinstance(ask.kind, Choice) or not ask.kind.options:
            return options
        declared = {o.value for o in ask.kind.options}
        open_ = [(v, label) for v, label in options
                 if v not in declared or self._refusal(st, ask, v, ctx) is None]
        return open_ or options

    def _review_text(self, st: State, flow: Flow, ctx: Context) -> str:
        lines = [catalog.t(st.lang, "review.title")]
        for ask in flow.steps:
            if ask.name not in st.answers:
                continue
            colon = "：" if st.lang == "zh" else ": "
            lines.append(f"• {catalog.t(st.lang, f'{flow.name}.{ask.name}.label')}{colon}"
                         f"{self.display(st, ask.kind, st.answers[ask.name], ctx)}")
        lines.append(catalog.t(st.lang, _own(st, "review.confirm")))
        return "\n".join(lines)

    def display(self, st: State, kind: Any, value: Any, ctx: Context) -> str:
        if value is None:
            return catalog.t(st.lang, "review.skipped")
        if isinstance(kind, Choice):
            label = self._label(st, kind, value, ctx)
            if label is not None:
                return label
        if isinstance(kind, Phone):  # a caller's number lives in the contact vault only
            return masked(str(value))
        return str(value)

    def _label(self, st: State, kind: Choice, value: Any, ctx: Context) -> str | None:
        """The words of the option `value`: as offered now, else as the directory names a
        value its source no longer offers (the case chosen changed meanwhile)."""
        shown = next((label for v, label in self._options(st, kind, ctx) if v == value), None)
        if shown is None and kind.source and value is not None:
            named = getattr(ctx.directory, "label", None)  # optional: Directory.label
            if named is not None:
                return cast(str | None, named(kind.source, st.lang, str(value)))
        return shown

    def _expire(self, st: State, ctx: Context) -> list[Reply]:
        title = catalog.t(st.lang, f"{st.flow}.title")
        minutes = int(ctx.timeout.total_seconds() // 60)
        if ctx.on_timeout == "drop":
            st.clear_draft()
            return [Reply(catalog.t(st.lang, "timeout.dropped", flow=title, minutes=minutes))]
        return [Reply(catalog.t(st.lang, "timeout.kept", flow=title, minutes=minutes))]
