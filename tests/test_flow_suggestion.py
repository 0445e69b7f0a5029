"""提建议 / Make a suggestion: transcripts in Chinese and English."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from conversations.engine import STALE, Reply, refusal
from conversations.flows import SUGGESTION_TOPICS
from handlers.context import receipt_hash
from store.models import Person, Suggestion
from tests.transcript import LANGS, SKIP, Chat, draft, open_menu, t

TEXT = "食堂的饭菜太咸了，希望少放盐"






def start(chat: Chat, lang: str) -> None:
    open_menu(chat, lang)
    chat.press(t(lang, "menu.suggestion"))
    assert t(lang, "suggestion.intro") in chat.text
    assert t(lang, "flow.progress", n=1, total=3) + " " + t(lang, "suggestion.topic.ask") \
        in chat.text


def fill(chat: Chat, lang: str, *, topic: str = "living", text: str = TEXT,
         identity: str = "named") -> None:
    chat.press(t(lang, f"opt.topic.{topic}"))
    assert t(lang, "suggestion.text.ask") in chat.text
    chat.say(text)
    assert t(lang, "suggestion.identity.ask") in chat.text
    chat.press(t(lang, f"opt.identity.{identity}"))
    assert t(lang, "review.title") in chat.text




def suggestions(services: Services) -> list[Suggestion]:
    with Session(services.db) as s:
        return list(s.exec(select(Suggestion).order_by(Suggestion.id)).all())  # type: ignore[arg-type]


def person_id(services: Services, key: str) -> int | None:
    with Session(services.db) as s:
        return s.exec(select(Person.id).where(Person.key == key)).one()


def has_review_line(text: str, label: str, value: str) -> bool:
    return any(line.startswith(f"• {label}") and line.endswith(value)
               for line in text.splitlines())


# --- happy paths -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_named_suggestion_is_registered_with_the_person(services: Services, chat: Chat,
                                                        lang: str) -> None:
    start(chat, lang)
    fill(chat, lang, topic="living", identity="named")
    chat.press(t(lang, "nav.confirm"))

    assert t(lang, "suggestion.done", number="S-2026-0001") in chat.text
    assert t(lang, "menu.prompt") in chat.text  # back at the menu
    [row] = suggestions(services)
    assert re.fullmatch(r"S-\d{4}-\d{4}", row.number)
    assert (row.number, row.topic, row.text) == ("S-2026-0001", "living", TEXT)
    assert row.anonymous is False
    assert row.person_id == person_id(services, "li_ming")
    assert row.channel == "console"
    assert row.unit_id is not None
    assert draft(services, chat)["flow"] is None


@pytest.mark.parametrize("lang", LANGS)
def test_anonymous_suggestion_stores_no_person(services: Services, chat: Chat,
                                               lang: str) -> None:
    start(chat, lang)
    fill(chat, lang, topic="safety", identity="anonymous")
    chat.press(t(lang, "nav.confirm"))

    # No push can reach an anonymous suggester: the receipt code reads the answer.
    code = re.search(r"[2-9A-Z]{5}-[2-9A-Z]{5}", chat.text)
    assert code, chat.text
    assert t(lang, "suggestion.done_anonymous", number="S-2026-0001", code=code[0]) \
        in chat.text
    assert t(lang, "suggestion.done", number="S-2026-0001") not in chat.text
    [row] = suggestions(services)
    assert (row.topic, row.anonymous, row.person_id) == ("safety", True, None)
    assert (row.status, row.answer) == ("registered", None)
    assert row.receipt_hash == receipt_hash(code[0])


@pytest.mark.parametrize("lang", LANGS)
def test_submit_pressed_twice_is_told_the_form_went_in_one_short_answer(
        services: Services, chat: Chat, clock: FrozenClock, lang: str) -> None:
    """A double tap on 提交 on a shaky connection: the second tap files nothing and is
    told the form already went, alone (the answer and the menu are right above it), not
    that its button is an old question's with the whole menu again. Pressed the next day,
    it is an old question's button, and the menu comes with the answer."""
    start(chat, lang)
    fill(chat, lang)
    confirm = chat.button(t(lang, "nav.confirm"))
    chat.press(t(lang, "nav.confirm"))
    assert t(lang, "suggestion.done", number="S-2026-0001") in chat.text
    chat.replies = [Reply("", [confirm])]  # the review message, still on screen
    again = chat.press(confirm.label)
    assert [r.text for r in again] == [
        t(lang, "button.after_sent", flow=t(lang, "suggestion.title"))]
    assert len(suggestions(services)) == 1
    clock.advance(timedelta(days=1))
    chat.replies = [Reply("", [confirm])]
    later = chat.press(confirm.label)
    assert later[0].text == t(lang, "button.stale")
    assert t(lang, "menu.prompt") in later[-1].text
    assert len(suggestions(services)) == 1


def test_suggestion_numbers_count_up(services: Services, chat: Chat) -> None:
    for topic in ("wages", "training"):
        start(chat, "zh")
        fill(chat, "zh", topic=topic)
        chat.say("确认提交")
    assert [(r.number, r.topic) for r in suggestions(services)] == [
        ("S-2026-0001", "wages"), ("S-2026-0002", "training")]
    assert t("zh", "suggestion.done", number="S-2026-0002") in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_typed_answers_work_like_buttons(services: Services, chat: Chat, lang: str) -> None:
    start(chat, lang)
    chat.say("5")  # the fifth topic, by number
    chat.say(TEXT)
    chat.say(t(lang, "opt.identity.anonymous"))  # an option's words
    chat.say(t(lang, "nav.confirm"))
    [row] = suggestions(services)
    assert (row.topic, row.anonymous) == ("training", True)


@pytest.mark.parametrize("lang", LANGS)
def test_review_shows_every_answer(chat: Chat, lang: str) -> None:
    start(chat, lang)
    fill(chat, lang, topic="hours", identity="anonymous")
    review = chat.replies[-1].text
    assert has_review_line(review, t(lang, "suggestion.topic.label"), t(lang, "opt.topic.hours"))
    assert has_review_line(review, t(lang, "suggestion.text.label"), TEXT)
    assert has_review_line(review, t(lang, "suggestion.identity.label"),
                           t(lang, "opt.identity.anonymous"))
    assert t(lang, "review.confirm") in review
    assert chat.labels() == [t(lang, f"nav.{n}") for n in ("confirm", "back", "cancel", "help")]


# --- wrong answers ---------------------------------------------------------------------

WRONG = [
    # (step, answers before it, bad input, catalog key of the reason, its parameters)
    ("topic", [], "99", "invalid.choice", {"count": 7}),
    ("topic", [], "国家大事", "invalid.choice", {"count": 7}),
    ("topic", [], SKIP, "invalid.not_optional", {}),
    ("text", ["1"], "太咸了", "invalid.too_short", {"min": 5, "got": 3}),
    ("text", ["1"], "   ", "invalid.empty", {}),
    ("text", ["1"], "咸" * 2001, "invalid.too_long", {"max": 2000, "got": 2001}),
    ("text", ["1"], SKIP, "invalid.not_optional", {}),
    ("identity", ["1", TEXT], "也许吧", "invalid.choice", {"count": 2}),
    ("identity", ["1", TEXT], SKIP, "invalid.not_optional", {}),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("step", "before", "bad", "key", "params"), WRONG,
                         ids=[f"{w[0]}-{w[3]}-{i}" for i, w in enumerate(WRONG)])
def test_wrong_answer_is_refused_with_its_reason_and_changes_nothing(
        services: Services, chat: Chat, lang: str, step: str, before: list[str], bad: str,
        key: str, params: dict[str, Any]) -> None:
    start(chat, lang)
    for answer in before:
        chat.say(answer)
    kept = draft(services, chat)
    assert kept["step"] == step

    chat.say(t(lang, "nav.skip") if bad == SKIP else bad)

    assert chat.replies[0].text == t(lang, key, **params)
    assert t(lang, f"suggestion.{step}.ask") in chat.replies[-1].text  # asked again
    assert draft(services, chat) == kept
    assert suggestions(services) == []


@pytest.mark.parametrize("lang", LANGS)
def test_anything_but_confirm_at_the_review_is_refused(services: Services, chat: Chat,
                                                       lang: str) -> None:
    start(chat, lang)
    fill(chat, lang)
    kept = draft(services, chat)
    chat.say("好的吧")
    assert chat.replies[0].text == t(lang, "review.choose")
    assert t(lang, "review.title") in chat.replies[-1].text
    assert draft(services, chat) == kept
    assert suggestions(services) == []


# --- back and cancel -------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_back_reasks_earlier_answers_and_collects_later_ones_again(
        services: Services, chat: Chat, lang: str) -> None:
    start(chat, lang)
    fill(chat, lang, topic="living", identity="named")

    chat.press(t(lang, "nav.back"))  # from the review to the last question
    assert t(lang, "flow.progress", n=3, total=3) in chat.text
    assert t(lang, "suggestion.identity.ask") in chat.text
    chat.press(t(lang, "nav.back"))
    assert t(lang, "flow.progress", n=2, total=3) in chat.text
    assert t(lang, "suggestion.text.ask") in chat.text
    chat.press(t(lang, "nav.back"))
    assert t(lang, "suggestion.topic.ask") in chat.text
    assert draft(services, chat)["answers"] == {}

    chat.press(t(lang, "opt.topic.wages"))
    chat.say("加班费应当按时足额发放")
    assert t(lang, "suggestion.identity.ask") in chat.text  # the later answer is asked again
    chat.press(t(lang, "opt.identity.anonymous"))
    review = chat.replies[-1].text
    assert TEXT not in review
    assert has_review_line(review, t(lang, "suggestion.topic.label"), t(lang, "opt.topic.wages"))
    chat.press(t(lang, "nav.confirm"))

    [row] = suggestions(services)
    assert (row.topic, row.text, row.anonymous) == ("wages", "加班费应当按时足额发放", True)


@pytest.mark.parametrize("lang", LANGS)
def test_back_at_the_first_question_returns_to_the_menu(services: Services, chat: Chat,
                                                        lang: str) -> None:
    start(chat, lang)
    chat.press(t(lang, "nav.back"))
    assert t(lang, "flow.back_to_menu") in chat.text
    assert t(lang, "menu.suggestion") in chat.labels()
    assert draft(services, chat)["flow"] is None


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("answered", [0, 1, 2, 3], ids=["topic", "text", "identity", "review"])
def test_cancel_at_any_step_stores_nothing(services: Services, chat: Chat, lang: str,
                                           answered: int) -> None:
    start(chat, lang)
    for answer in ["1", TEXT, "1"][:answered]:
        chat.say(answer)
    chat.press(t(lang, "nav.cancel"))

    assert t(lang, "flow.cancelled") in chat.text
    assert t(lang, "menu.prompt") in chat.text
    assert suggestions(services) == []
    assert draft(services, chat)["flow"] is None
    assert draft(services, chat)["answers"] == {}


@pytest.mark.parametrize(("lang", "typed", "topic"), [
    ("en", "canteen", "living"), ("en", "Wages", "wages"), ("en", "wage.", "wages"),
    ("en", "working hours", "hours"), ("en", "food", "living"),
    ("zh", "食堂", "living"), ("zh", "工资", "wages"), ("zh", "工时", "hours"),
    ("zh", "宿舍", "living")])
def test_a_word_of_a_topic_typed_chooses_it(services: Services, chat: Chat, lang: str,
                                           typed: str, topic: str) -> None:
    """'canteen' typed for "Canteen and living" (食堂 for 食堂生活) is that topic, as the
    README promises typed words work as the buttons do."""
    start(chat, lang)
    chat.say(typed)
    assert t(lang, "suggestion.text.ask") in chat.text, chat.text
    chat.say(TEXT)
    chat.press(t(lang, "opt.identity.named"))
    assert has_review_line(chat.text, t(lang, "suggestion.topic.label"),
                           t(lang, f"opt.topic.{topic}"))


@pytest.mark.parametrize(("lang", "typed"), [
    ("en", "the"), ("en", "3 wages"), ("en", "wages and overtime"), ("zh", "食"),
    ("zh", "工资问题"), ("zh", "食堂饭菜太咸")])
def test_a_text_that_is_no_topics_words_is_still_refused(services: Services, chat: Chat,
                                                         lang: str, typed: str) -> None:
    start(chat, lang)
    chat.say(typed)
    assert t(lang, "invalid.choice", count=len(SUGGESTION_TOPICS)) in chat.text
    assert draft(services, chat)["step"] == "topic"


@pytest.mark.parametrize("lang", LANGS)
def test_only_the_answers_that_turn_a_button_down_are_taken_for_a_refusal(lang: str) -> None:
    """A channel leaves a pressed button unmarked only when the answer refuses it: the
    second tap on a form just sent is one; an answer that merely begins with a quote, as
    that sentence does, is not."""
    after = t(lang, "button.after_sent", flow=t(lang, "suggestion.title"))
    assert refusal([Reply(after)]) == STALE
    assert refusal([Reply(t(lang, "button.busy"))]) == "button.busy"
    for text in ("“提出建议”已经收到，谢谢。", 'The "Make a suggestion" list is below.'):
        assert refusal([Reply(text)]) is None


MORE = {"zh": "分量也比去年少了", "en": "The portions are smaller than last year too."}
SAID = {"zh": TEXT, "en": "Could dinner have one more vegetable counter, please?"}


@pytest.mark.parametrize("lang", LANGS)
def test_the_suggestion_typed_where_its_topic_is_asked_is_kept_not_dropped(
        services: Services, chat: Chat, lang: str) -> None:
    """A worker who types the suggestion itself to "what is it about?" is not told only
    to tap an option: the words are kept as the suggestion, the topic is asked again,
    and the suggestion is not asked for a second time."""
    start(chat, lang)
    chat.say(SAID[lang])
    label = t(lang, "suggestion.text.label")
    assert chat.replies[0].text == t(lang, "flow.kept_ahead", label=label)
    assert t(lang, "invalid.choice", count=len(SUGGESTION_TOPICS)) not in chat.text
    assert t(lang, "flow.progress", n=1, total=3) + " " + t(lang, "suggestion.topic.ask") \
        in chat.replies[-1].text
    assert draft(services, chat)["step"] == "topic"
    chat.say(MORE[lang])  # a second message, as people send them: added to the first
    assert chat.replies[0].text == t(lang, "flow.kept_ahead_more", label=label)

    chat.press(t(lang, "opt.topic.living"))
    assert t(lang, "suggestion.text.ask") not in chat.text
    assert t(lang, "suggestion.identity.ask") in chat.text
    chat.press(t(lang, "opt.identity.named"))
    assert t(lang, "review.title") in chat.text and MORE[lang] in chat.text
    chat.press(t(lang, "nav.confirm"))

    [row] = suggestions(services)
    assert (row.topic, row.text) == ("living", f"{SAID[lang]}\n{MORE[lang]}")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("where", ["menu", "topic"])
def test_back_goes_over_the_questions_in_order_when_words_were_kept_ahead(
        services: Services, chat: Chat, lang: str, where: str) -> None:
    """Words kept for the suggestion before its topic is chosen (typed at the menu, or to
    the topic question): Back from the last question goes to the suggestion, then to the
    topic, and the form is not sent without one."""
    if where == "menu":
        open_menu(chat, lang)
        chat.say(SAID[lang])
        chat.press(t(lang, "menu.suggestion"))
        assert t(lang, "flow.told_kept", label=t(lang, "suggestion.text.label")) in chat.text
    else:
        start(chat, lang)
        chat.say(SAID[lang])
    chat.press(t(lang, "opt.topic.safety"))
    assert t(lang, "suggestion.identity.ask") in chat.text
    chat.press(t(lang, "nav.back"))
    assert t(lang, "suggestion.text.ask") in chat.text
    chat.press(t(lang, "nav.back"))
    assert t(lang, "suggestion.topic.ask") in chat.text
    assert draft(services, chat)["answers"] == {}
    chat.press(t(lang, "opt.topic.wages"))
    assert t(lang, "suggestion.text.ask") in chat.text  # its words, asked for anew
    chat.say("加班费应当按时足额发放")
    chat.press(t(lang, "opt.identity.named"))
    assert has_review_line(chat.text, t(lang, "suggestion.topic.label"),
                           t(lang, "opt.topic.wages"))
    chat.press(t(lang, "nav.confirm"))
    [row] = suggestions(services)
    assert (row.topic, row.text) == ("wages", "加班费应当按时足额发放")
