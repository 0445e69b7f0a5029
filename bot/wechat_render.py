"""WeChat-native rendering: WeChat has no buttons under a message, so choices become a
numbered text menu ("回复 1、2、3…") and actions the words to reply; texts are kept under
WeChat's length limit; typed keywords come back as the actions they stand for.

The numbers are the engine's own: it takes a typed number as the position in the list as
shown, and also the option's words, in either language.
"""

from __future__ import annotations

import re
import string
from functools import cache, partial
from typing import Any

from conversations import catalog
from conversations.engine import Button, Reply

# A text message (passive reply, customer-service or WeCom message) holds 2048 bytes.
TEXT_LIMIT = 2048


@cache
def _keywords() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The typed keywords of the catalogs, in every language: to acknowledge an alert
    (also the words of its "acknowledge" button) and to link an invitation code."""

    def words(*keys: str) -> str:
        found = {w.strip() for lang in catalog.LANGS for key in keys
                 for w in catalog.t(lang, key).split(",") if w.strip()}
        return "|".join(re.escape(w) for w in sorted(found, key=len, reverse=True))

    ack = re.compile(rf"^\s*(?:{words('keywords.ack', 'nav.ack')})\s*[#＃]?\s*"
                     r"(\d{1,12})\s*$", re.IGNORECASE)
    bind = re.compile(rf"^\s*(?:{words('wechat.keywords.bind')})\s*[:：]?\s*"
                      r"([A-Za-z0-9_-]{8,64})\s*$", re.IGNORECASE)
    return ack, bind


def parse_text(text: str) -> tuple[str | None, str | None, str | None]:
    """(text, action, link code) of what was typed: "绑定 <code>" links the account with a
    code from `workroom invite --channel wechat` (the words in wechat.keywords.*, in either
    language). "收到 E-2026-0001" stays words: the engine takes it for the person's own
    alert of that report, as on every channel (never a press of someone else's)."""
    _, bind_words = _keywords()
    bind = bind_words.match(text)
    if bind:
        return "/start", None, bind.group(1)
    return text, None, None


def _numbers(n: int, lang: str) -> str:
    sep = catalog.t(lang, "wechat.numbers.sep")
    if n <= 3:
        return sep.join(str(i) for i in range(1, n + 1))
    return f"{sep.join(('1', '2', '3'))}…{n}"


_RECORD = re.compile(r"\b[A-Z]-\d{4}-\d{3,6}\b")


def _typed(button: Button, lang: str, text: str = "") -> str:
    """What to reply to press this button: an alert's 收到 with the report's number its
    text names ("收到 E-2026-0001"), so that the word says which."""
    if button.value.startswith("ack:"):
        number = _RECORD.search(text)
        return f"{button.label} {number[0]}" if number else button.label
    return button.label


TYPED = "_typed"  # the suffix of a catalog key's words for a chat without buttons


@cache
def _typed_rules(lang: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each catalog sentence that says to tap a button ("点“跳过”", 'tap "Skip"'), as a
    pattern of its words as rendered, with its `_typed` wording ("回复“跳过”"); longest
    first, so that a sentence holding another is rewritten whole."""
    found = catalog.load(lang)
    rules = []
    for key, typed in found.items():
        template = found.get(key.removesuffix(TYPED)) if key.endswith(TYPED) else None
        if template is not None:
            rules.append((_pattern(template), typed))
    return tuple(sorted(rules, key=lambda r: -len(r[0].pattern)))


def _pattern(template: str) -> re.Pattern[str]:
    """A catalog template as a regular expression of its rendered text, each parameter
    a named group (one line at most; a list of lines, `…lines`, as many as it holds)."""
    out, seen = [], set()
    pieces = list(string.Formatter().parse(template))
    for i, (literal, name, _, _) in enumerate(pieces):
        out.append(re.escape(literal))
        if name is None:
            continue
        if name in seen:
            out.append(f"(?P={name})")
            continue
        seen.add(name)
        if name.endswith("lines"):  # handlers.notices.lines: a line each ("visitor_lines")
            out.append(f"(?P<{name}>[^\n]*(?:\n[^\n]*)*?)")
            continue
        # Nothing after the last one to stop at: to the end of its line.
        out.append(f"(?P<{name}>[^\n]*)" if i == len(pieces) - 1 else f"(?P<{name}>[^\n]*?)")
    return re.compile("".join(out))


def _fill(typed: str, found: re.Match[str]) -> str:
    """A `_typed` wording with the parameters as the sentence it replaces showed them."""
    return "".join(literal + (found[name] if name else "")
                   for literal, name, _, _ in string.Formatter().parse(typed))


def typed_words(text: str, lang: str) -> str:
    """The text with each "tap this button" sentence in its words for typing (its
    `_typed` variant in the catalog): WeChat shows no buttons, only words to reply."""
    return _typed_text(text, lang)[0]


def _typed_text(text: str, lang: str) -> tuple[str, frozenset[str]]:
    """typed_words, and the words its `_typed` sentences tell the reader to reply."""
    told: frozenset[str] = frozenset()
    for pattern, typed in _typed_rules(lang if lang in catalog.LANGS else catalog.DEFAULT_LANG):
        if pattern.search(text):
            text = pattern.sub(partial(_fill, typed), text)
            told |= _told(typed)
    return text, told


# The words a `_typed` sentence says to reply, quoted as the catalogs quote them: “评价答复”,
# 「收到」, "Rate a reply".
_QUOTED = re.compile(r"“([^”\n]+)”|「([^」\n]+)」|\"([^\"\n]+)\"")


@cache
def _told(typed: str) -> frozenset[str]:
    """The words a `_typed` wording quotes (as word_key compares them): in its own words
    only, never in a parameter's (what a worker wrote is not an instruction)."""
    own = "\n".join(literal for literal, _, _, _ in string.Formatter().parse(typed))
    return frozenset(word_key(next(g for g in m.groups() if g)) for m in _QUOTED.finditer(own))


def _said(button: Button, lang: str, text: str, told: frozenset[str]) -> bool:
    """Whether a `_typed` sentence already tells the reader to reply this button's words:
    one of the words that press it (pressed_words), or the very words the words line
    would show (an alert's "收到 C-2026-0001", which its prompt leaves to that line)."""
    return word_key(_typed(button, lang, text)) in told \
        or not told.isdisjoint(pressed_words([button]))


def render(reply: Reply, lang: str, *, push: bool = False) -> str:
    """A reply as one text: the options numbered, the actions and words to reply. A
    push's options (`push`) are words, never numbers: a number answers the person's
    conversation, not the push (see pressed_words). The catalog's "tap a button"
    sentences say what to reply instead (typed_words); a word such a sentence of a push
    says ("请回复“评价答复”") is not said again on its words line, which names the others."""
    text, told = _typed_text(reply.text, lang)
    lines = [text]
    choices = [b for b in reply.buttons if b.kind == "choice"]
    words = [b for b in reply.buttons if b.kind == "action"]
    nav = [b for b in reply.buttons if b.kind == "nav"]
    # A question (its back/cancel words show it, even with one option to choose): numbered
    # as the engine numbers them, so "1" answers it; else a push's one suggestion.
    if choices and not push and (len(choices) >= 2 or nav):
        lines.append("")
        lines += [f"{i}. {b.label}" for i, b in enumerate(choices, start=1)]
        lines.append(catalog.t(lang, "wechat.numbers", numbers=_numbers(len(choices), lang)))
    else:  # a push's one suggestion ("评价答复"): its words, not a number
        words = choices + words
    # A word a sentence already says to reply is not said again below it: a push's,
    # and a question's (the review's "无误请回复“确认提交”；需要修改请回复“返回”" ends
    # with 也可回复：取消 / 帮助, not 回复「确认提交」 and 返回 again).
    words = [b for b in words if not _said(b, lang, reply.text, told)]
    nav = [b for b in nav if not _said(b, lang, reply.text, told)]
    if words:
        said = catalog.t(lang, "wechat.words.sep").join(
            catalog.t(lang, "wechat.words.quote", word=_typed(b, lang, reply.text))
            for b in words)
        lines.append(catalog.t(lang, "wechat.words", words=said))
    if nav:
        sep = " / "
        lines.append(catalog.t(lang, "wechat.nav", words=sep.join(b.label for b in nav)))
    return "\n".join(lines)


def word_key(text: str) -> str:
    """A typed word as compared with a button's words: no quotes, spaces or case."""
    return "".join(ch for ch in text.casefold() if not ch.isspace()
                   and ch not in "「」『』“”\"'‘’")


def pressed_words(buttons: list[Button]) -> dict[str, str]:
    """The words that press each of a push's buttons (an acknowledgement has its own
    keyword): its label, and the label's words before a bracket ("零报告" for
    "零报告（本月无矛盾纠纷）")."""
    words: dict[str, str] = {}
    for b in buttons:
        if b.value.startswith("ack:") or b.kind == "nav":
            continue
        label = word_key(b.label)
        short = label.split("（", 1)[0].split("(", 1)[0]
        # "查看附件 E-2026-0001" too: the words that say which record's files (see
        # merge_words).
        named = label + word_key(b.value[6:]) if b.value.startswith("files:") else ""
        for word in (label, short, named):
            if len(word) >= 2 and not word.isdigit():
                words.setdefault(word, b.value)
    return words


FILES_ASKED = 5  # the records "查看附件" asks between, the newest kept
# The hotline calls "已回电" may mean, the newest kept: those still waiting are asked
# between (a call's reminder names it again).
CALLS_ASKED = 8


def merge_words(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    """A new push's words (see pressed_words) added to those of the pushes before it,
    newest last. Typed, the words cannot say which push they answer, so a word two
    pushes name for different records never means the latest one's: for one flow
    ("办理此问题" of two cases) it starts the flow with the record to be chosen; for
    files ("查看附件" of two alerts) it asks whose ("files:E-2026-0001,E-2026-0002",
    each then pressed by its words with the number); for a hotline call ("已回电" of two
    missed calls) it asks which of those still waiting ("called:5,6", see
    conversations/engine.py _called). Any other word shared: the newest push's."""
    merged = {w: v for w, v in old.items() if w not in new}
    for word, value in new.items():
        was = old.get(word)
        if was is not None and was != value:
            if value.startswith("flow:") and was.startswith("flow:") \
                    and was.partition("?")[0] == value.partition("?")[0]:
                value = value.partition("?")[0]
            else:
                for kind, kept in (("files:", FILES_ASKED), ("called:", CALLS_ASKED)):
                    if value.startswith(kind) and was.startswith(kind):
                        mine = value[len(kind):].split(",")
                        refs = [r for r in was[len(kind):].split(",") if r not in mine] + mine
                        value = kind + ",".join(refs[-kept:])
        merged[word] = value
    return merged


def chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split under `limit` bytes of UTF-8, at line ends where possible."""
    out: list[str] = []
    while len(text.encode()) > limit:
        cut = _fit(text, limit)
        line = text.rfind("\n", 0, cut)
        cut = line if line > 0 else cut
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    out.append(text)
    return out


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` bytes."""
    size = 0
    for i, ch in enumerate(text):
        size += len(ch.encode())
        if size > limit:
            return i
    return len(text)


# The official account's custom menu (三个一级菜单): the four flows and the letter to a
# leader, my cases, language.
# Each click sends the entry's key, taken like a pressed button. The menu is one for
# every follower, in the workroom's language: its language entries each name their
# language in its own words ("中文", "English") and choose it, never "the other one".
MENU: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("wechat.menu.services", (("menu.suggestion", "flow:suggestion"),
                              ("menu.complaint", "flow:complaint"),
                              ("menu.booking", "flow:booking"),
                              ("menu.letter", "flow:letter"))),
    ("wechat.menu.emergency", (("wechat.menu.emergency", "flow:emergency"),)),
    ("wechat.menu.mine", (("menu.my_cases", "query:my_cases"),
                          ("wechat.menu.home", "cmd:menu"),
                          ("wechat.menu.lang_zh", "cmd:lang@zh"),
                          ("wechat.menu.lang_en", "cmd:lang@en"))),
)
# A menu pushed before had one entry, "cmd:lang" (the other language): still taken.
MENU_KEYS = frozenset(key for _, entries in MENU for _, key in entries) | {"cmd:lang"}


def custom_menu(lang: str) -> dict[str, Any]:
    """The menu as the menu/create API takes it."""
    buttons: list[dict[str, Any]] = []
    for title, entries in MENU:
        if len(entries) == 1:
            label, key = entries[0]
            buttons.append({"type": "click", "name": catalog.t(lang, label), "key": key})
        else:
            buttons.append({"name": catalog.t(lang, title), "sub_button": [
                {"type": "click", "name": catalog.t(lang, label), "key": key}
                for label, key in entries]})
    return {"button": buttons}
