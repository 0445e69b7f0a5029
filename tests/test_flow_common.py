"""What every flow shares: the menu, languages, roles, help/menu/back/cancel, the timeout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from conversations.engine import (
    BRIEF,
    GROUP_CHAT,
    GROUP_NOTICES,
    PRIVATE_ONLY,
    REVIEW,
    STALE,
    Context,
    Engine,
    Reply,
    State,
    merged,
)
from store.models import Case, Suggestion, Timer
from tests.conftest import make_services
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN
from tests.transcript import LANGS, Chat, draft, open_menu, person, t

pytestmark = pytest.mark.usefixtures("published_roster")  # booking needs 公示

TEXT = "食堂的饭菜太咸了，希望少放盐"
DESCRIPTION = "十月份的加班费到现在还没有发下来"
WHAT = "二十多人聚集在厂门口要求发工资"

EMPLOYEE_MENU = ["suggestion", "complaint", "booking", "emergency", "my_cases", "my_bookings",
                 "receipt", "rate", "letter", "lang"]
LIAISON_MENU = ["suggestion", "complaint", "booking", "emergency", "emergency_workshop",
                "my_cases", "my_bookings", "receipt", "rate", "letter", "lang"]
# The calendar's items (roster, returns, reports, field work) come last for a liaison.
LIAISON_MENU = [*LIAISON_MENU, "cal_screening"]
# A leader's, the director's and the staff's own work comes first
# (conversations/flows.OWN_WORK), what every employee may do after it, the language last.
_EVERYONE = [x for x in EMPLOYEE_MENU if x != "letter"]  # the workers' letter to a leader
STAFF_MENU = ["my_alerts", "case_action", "my_handling", "open_cases", "answer_suggestion",
              "cal_report_action", "cal_info_report",
              "cal_roster_view", "cal_duty_swap", "cal_roster", "cal_warnings",
              "cal_warning_action", "cal_screening", "cal_invite", "cal_field_visit",
              "cal_work_log", "file_for_caller", *_EVERYONE]
LEADER_MENU = ["my_alerts", "case_action", "my_handling", "open_cases", "decide_extension",
               "cal_visit_record", "cal_visit_missed", "reschedule_booking", "cal_roster_view",
               "cal_duty_swap",
               "cal_work_log", *_EVERYONE]
DIRECTOR_MENU = ["my_alerts", "incident_action", "case_action", "my_handling", "open_cases",
                 "decide_extension", "answer_suggestion", "cal_report_action",
                 "cal_info_report", "cal_visit_record", "cal_visit_missed",
                 "reschedule_booking", "cal_roster_view", "cal_duty_swap", "cal_roster",
                 "cal_warnings", "cal_warning_action", "cal_screening", "cal_invite",
                 "cal_field_visit", "cal_work_log", "file_for_caller", *_EVERYONE]






def start(chat: Chat, lang: str, flow: str, answers: tuple[str, ...] = ()) -> None:
    open_menu(chat, lang)
    chat.press(t(lang, f"menu.{flow}"))
    assert t(lang, f"{flow}.intro") in chat.text
    for answer in answers:
        chat.say(answer)




def menu_labels(lang: str, items: list[str]) -> list[str]:
    return [t(lang, f"menu.{item}") for item in items]




def chat_text_is(chat: Chat, text: str) -> bool:
    """The bot's first reply to the last message is exactly `text`."""
    return chat.replies[0].text == text


# --- the menu --------------------------------------------------------------------------


def test_first_message_gets_the_welcome_and_the_menu(chat: Chat) -> None:
    chat.say("你好")
    assert chat.replies[0].text == t("zh", "menu.welcome")
    assert chat.labels() == menu_labels("zh", EMPLOYEE_MENU)


def test_a_person_registered_in_english_is_welcomed_in_english(services: Services) -> None:
    daniel = Chat(services, person="daniel_hughes")
    daniel.say("hello")
    assert chat_text_is(daniel, t("en", "menu.welcome"))
    assert daniel.labels() == menu_labels("en", EMPLOYEE_MENU)


@pytest.mark.parametrize("lang", LANGS)
def test_unknown_text_at_the_menu_says_so_and_shows_the_menu(chat: Chat, lang: str) -> None:
    open_menu(chat, lang)
    for said in ("啊？", "42"):
        chat.say(said)
        assert chat_text_is(chat, t(lang, "menu.unknown"))
        assert chat.labels() == menu_labels(lang, EMPLOYEE_MENU)


@pytest.mark.parametrize("lang", LANGS)
def test_greetings_and_thanks_at_the_menu_are_answered_as_such(chat: Chat, lang: str) -> None:
    open_menu(chat, lang)
    for said, key in (("你好，在吗", "menu.welcome"), ("hello there", "menu.welcome"),
                      ("好的谢谢你们辛苦了", "ack.courtesy"),
                      ("thank you very much for your help", "ack.courtesy")):
        chat.say(said)
        assert chat_text_is(chat, t(lang, key)), said
        assert chat.labels() == menu_labels(lang, EMPLOYEE_MENU)


@pytest.mark.parametrize("lang", LANGS)
def test_a_matter_told_at_the_menu_goes_into_the_form_chosen_next(
        services: Services, chat: Chat, lang: str) -> None:
    """A worker writes their problem straight away, as people do: it is not "not
    understood". They choose what kind of matter it is, and it is the form's words."""
    open_menu(chat, lang)
    said = "食堂的饭菜一个月涨了三次价，大家都吃不起了"
    chat.say(said)
    assert chat_text_is(chat, t(lang, "menu.told", said=said))
    assert chat.labels() == menu_labels(lang, EMPLOYEE_MENU)
    chat.press(t(lang, "menu.complaint"))
    assert t(lang, "flow.told_kept", label=t(lang, "complaint.description.label")) in chat.text
    assert t(lang, "complaint.category.ask") in chat.text
    chat.say("1")
    assert t(lang, "complaint.since.ask") in chat.text  # not asked to write it again
    assert draft(services, chat)["answers"]["description"] == said


def test_a_matter_told_in_several_messages_goes_into_the_form_whole(
        services: Services, chat: Chat) -> None:
    """Told in pieces, a greeting between: every piece is kept, none lost; "返回" then
    reaches what was kept, to write it again."""
    open_menu(chat, "zh")
    chat.say("我们车间的空调坏了两个月了")
    chat.say("在吗")
    more = "夏天四十度大家都中暑了，找了主任也没人管"
    chat.say(more)
    assert chat.replies[0].text == t("zh", "menu.told_more", said=more)
    chat.press(t("zh", "menu.complaint"))
    chat.say("1")
    assert draft(services, chat)["answers"]["description"] == \
        "我们车间的空调坏了两个月了\n夏天四十度大家都中暑了，找了主任也没人管"
    chat.say("返回")  # the question after it: back to it, in the form's order
    assert t("zh", "complaint.description.ask") in chat.text
    assert draft(services, chat)["answers"] == {"category": "wages"}
    chat.say("返回")
    assert t("zh", "complaint.category.ask") in chat.text


def test_words_the_form_cannot_take_are_said_why_not_dropped_in_silence(
        services: Services, chat: Chat) -> None:
    open_menu(chat, "zh")
    chat.say("食堂太贵了")
    chat.press(t("zh", "menu.complaint"))
    why = t("zh", "invalid.too_short", min=10, got=5)
    assert t("zh", "flow.told_not_kept", label=t("zh", "complaint.description.label"),
             why=why) in chat.text
    chat.say("1")
    assert t("zh", "complaint.description.ask") in chat.text


@pytest.mark.parametrize(("said", "item", "asked"), [
    ("我想预约见领导", "booking", "booking.slot.ask"),
    ("我想反映一下问题", "complaint", "complaint.category.ask")])
def test_words_that_only_asked_for_the_form_are_not_its_answer(
        services: Services, chat: Chat, said: str, item: str, asked: str) -> None:
    open_menu(chat, "zh")
    chat.say(said)
    if t("zh", f"{item}.intro") not in chat.text:  # kept, then the form chosen
        chat.press(t("zh", f"menu.{item}"))
    # else: asked for in so many words (我想反映一下问题), the form opened at once
    assert t("zh", "flow.told_kept", label="")[:6] not in chat.text
    assert draft(services, chat)["answers"] == {}


@pytest.mark.parametrize("said", ["我上次反映的问题怎么样了", "查一下我的进度到哪了", "请问进度"])
def test_a_question_about_ones_case_at_the_menu_points_to_the_list(
        chat: Chat, said: str) -> None:
    open_menu(chat, "zh")
    chat.say(said)
    assert chat.replies[0].text == t("zh", "menu.told_progress")


def test_words_told_then_a_query_chosen_are_not_kept_for_a_later_form(
        services: Services, chat: Chat) -> None:
    open_menu(chat, "zh")
    chat.say("想问问我上次反映的食堂问题怎么样了")
    chat.press(t("zh", "menu.my_cases"))
    chat.press(t("zh", "menu.suggestion"))
    assert t("zh", "flow.told_kept", label=t("zh", "suggestion.text.label")) not in chat.text
    chat.say("1")
    assert t("zh", "suggestion.text.ask") in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_words_told_then_cancel_are_dropped_and_said_so(
        services: Services, chat: Chat, lang: str) -> None:
    """"取消" after words kept for the form chosen next: they are dropped, and the answer
    says so, not that there was nothing to cancel; the form chosen next is without them."""
    open_menu(chat, lang)
    chat.say("食堂的饭菜一个月涨了三次价，大家都吃不起了")
    chat.say("取消")
    assert [r.text for r in chat.replies] == [t(lang, "menu.told_cancelled"),
                                             t(lang, "menu.prompt")]
    chat.say("取消")  # nothing is kept now
    assert chat.replies[0].text == t(lang, "flow.nothing_to_cancel")
    chat.press(t(lang, "menu.complaint"))
    assert t(lang, "flow.told_kept", label="")[:6] not in chat.text
    assert draft(services, chat)["answers"] == {}


@pytest.mark.parametrize("said", ["着火了", "有人打架了，快来"])
def test_words_at_the_menu_that_may_tell_of_an_emergency_point_to_the_report_first(
        chat: Chat, said: str) -> None:
    open_menu(chat, "zh")
    chat.say(said)
    key = "menu.unknown_urgent" if len(said) < 4 else "menu.told_urgent"
    assert chat.replies[0].text == t("zh", key, said=said)
    chat.press(t("zh", "menu.emergency"))
    if key == "menu.told_urgent":  # what is happening, already said
        assert t("zh", "emergency.place.ask") in chat.text


@pytest.mark.parametrize(("lang", "said", "key"), [
    ("en", "people are fighting in the workshop", "menu.told_urgent"),
    ("en", "two men fought at the gate just now", "menu.told_urgent"),
    ("en", "the motor in workshop two is burning", "menu.told_urgent"),
    ("en", "the acid pipe is leaking badly", "menu.told_urgent"),
    ("en", "a worker bleeds from his hand", "menu.told_urgent"),
    ("en", "Fighting at the canteen!!", "menu.unknown_urgent"),  # too short to keep
    ("en", "I was fired without notice last month", "menu.told"),
    ("en", "the canteen is crowded every day at noon", "menu.told"),
    ("en", "no smoking signs are ignored in the dorm", "menu.told"),
    ("en", "firefighting training is never held here", "menu.told"),
    ("zh", "车间里有人打架，快来", "menu.told_urgent"),
    ("zh", "三号车间有人受伤流血了", "menu.told_urgent"),
    ("zh", "工资被克扣了三个月", "menu.told")])
def test_english_words_that_tell_of_an_emergency_are_heard_in_any_form(
        chat: Chat, lang: str, said: str, key: str) -> None:
    """"people are fighting in the workshop" is urgent as "fight" is: the answer points
    to the emergency report first. A word that only looks like one ("fired", "crowded",
    "firefighting") does not; Chinese is heard as before."""
    open_menu(chat, lang)
    chat.say(said)
    shown = said if len(said) <= BRIEF else said[:BRIEF] + "…"  # quoted short
    assert chat.replies[0].text == t(lang, key, said=shown)


@pytest.mark.parametrize(("typed", "item"), [
    ("投诉", "complaint"), ("反应问题", "complaint"), ("反映问题！", "complaint"),
    ("反映 问题", "complaint"), ("提意见", "suggestion"), ("建议", "suggestion"),
    ("紧急", "emergency"), ("查进度", "my_cases"), ("回执码", "receipt"), ("评价", "rate"),
    ("二", "complaint"), ("2.", "complaint"), ("第2个", "complaint"), ("第二项", "complaint"),
    ("complaint", "complaint"), ("Emergency!", "emergency")])
def test_menu_items_open_by_the_words_people_type(chat: Chat, typed: str, item: str) -> None:
    open_menu(chat, "zh")
    chat.say(typed)
    assert chat.replies[0].text != t("zh", "menu.unknown")
    if item in ("my_cases",):
        assert t("zh", "menu.unknown") not in chat.text
    else:
        assert t("zh", f"{item}.intro") in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_menu_items_open_by_number_by_words_and_by_the_other_languages_words(
        chat: Chat, lang: str) -> None:
    open_menu(chat, lang)
    chat.say("1")
    assert t(lang, "suggestion.intro") in chat.text
    chat.say("取消")
    chat.say(t(lang, "menu.complaint"))
    assert t(lang, "complaint.intro") in chat.text
    chat.say("cancel")
    other = "en" if lang == "zh" else "zh"
    chat.say(t(other, "menu.emergency"))
    assert t(lang, "emergency.intro") in chat.text  # answered in the chat's own language


# --- languages -------------------------------------------------------------------------


def test_language_switches_with_the_menu_button_both_ways(services: Services,
                                                          chat: Chat) -> None:
    chat.say("菜单")
    chat.press("English")
    assert chat.replies[0].text == t("en", "lang.switched")
    assert chat.labels() == menu_labels("en", EMPLOYEE_MENU)
    assert person(services, "li_ming").lang == "en"
    assert draft(services, chat)["lang"] == "en"

    chat.press("中文")
    assert chat.replies[0].text == t("zh", "lang.switched")
    assert chat.labels() == menu_labels("zh", EMPLOYEE_MENU)
    assert person(services, "li_ming").lang == "zh"


@pytest.mark.parametrize("word", ["english", "English", "语言", "/lang"])
def test_language_switches_with_a_typed_word(chat: Chat, word: str) -> None:
    chat.say("菜单")
    chat.say(word)
    assert chat.replies[0].text == t("en", "lang.switched")


@pytest.mark.parametrize(("word", "lang"), [("English", "en"), ("中文", "zh")])
def test_a_languages_name_typed_twice_stays_in_that_language(
        services: Services, chat: Chat, word: str, lang: str) -> None:
    """Sent again, unsure the first went through, "English" does not switch back to
    Chinese; "中文" typed by a Chinese reader does not switch to English."""
    chat.say("菜单")
    for _ in range(2):
        chat.say(word)
        assert chat.replies[0].text == t(lang, "lang.switched")
    assert person(services, "li_ming").lang == lang


def test_language_switches_with_its_number_in_the_menu(services: Services, clock: FrozenClock,
                                                       chat: Chat) -> None:
    """WeChat's menu says "reply 1, 2, 3…": the language's number switches it too
    (it once failed the step, and the chat heard nothing for minutes)."""
    chat.say("菜单")
    chat.say(str(EMPLOYEE_MENU.index("lang") + 1))
    assert chat.replies[0].text == t("en", "lang.switched")
    assert chat.labels() == menu_labels("en", EMPLOYEE_MENU)
    assert person(services, "li_ming").lang == "en"
    clock.advance(timedelta(seconds=30))  # the same number once more, meant
    chat.say(str(EMPLOYEE_MENU.index("lang") + 1))
    assert chat.replies[0].text == t("zh", "lang.switched")


@pytest.mark.parametrize(("lang", "other"), [("zh", "en"), ("en", "zh")])
def test_switching_language_in_a_form_keeps_the_draft(services: Services, chat: Chat,
                                                      lang: str, other: str) -> None:
    start(chat, lang, "suggestion", ("2",))
    kept = draft(services, chat)

    chat.say(t(lang, "menu.lang"))

    assert chat.replies[0].text == t(other, "lang.switched")
    assert chat.replies[-1].text == t(other, "flow.progress", n=2, total=3) + " " \
        + t(other, "suggestion.text.ask")
    after = draft(services, chat)
    assert after["lang"] == other
    assert {k: v for k, v in after.items() if k != "lang"} == \
        {k: v for k, v in kept.items() if k != "lang"}
    chat.say(TEXT)
    assert t(other, "suggestion.identity.ask") in chat.text


@pytest.mark.parametrize(("lang", "other"), [("zh", "en"), ("en", "zh")])
def test_switching_language_in_a_form_brings_the_menu_in_the_new_words(
        chat: Chat, lang: str, other: str) -> None:
    """For a channel that keeps the menu on screen during a form (Telegram's keyboard):
    the menu in the new language comes with the switch, apart from the question's own
    buttons; a channel that shows only a reply's buttons shows none more than before."""
    start(chat, lang, "suggestion", ("2",))
    chat.say(t(lang, "menu.lang"))
    switched, question = chat.replies
    assert (switched.text, switched.buttons) == (t(other, "lang.switched"), [])
    assert [b.label for b in switched.menu] == menu_labels(other, EMPLOYEE_MENU)
    assert question.menu == [] and question.buttons  # back, cancel, help
    assert merged(chat.replies, 4096) == chat.replies  # one keyboard a message


@pytest.mark.parametrize("action", [GROUP_CHAT, PRIVATE_ONLY])
@pytest.mark.parametrize("lang", LANGS)
def test_a_group_chats_notice_shows_no_menu_and_leaves_the_conversation(
        lang: str, action: str) -> None:
    """What is said to the bot in a group chat gets where to go instead, and nothing
    more: no menu for the whole group, no form started or stepped."""
    engine = Engine()
    ctx = Context(now=datetime(2026, 11, 23, 9, tzinfo=UTC))
    in_form = engine.step(State(lang=lang).to_dict(), text=t(lang, "menu.suggestion"),
                          action=None, ctx=ctx).state.to_dict()
    assert in_form["flow"] == "suggestion"
    for raw in (State(lang=lang).to_dict(), in_form):
        out = engine.step(raw, text=None, action=action, ctx=ctx)
        assert out.replies == [Reply(t(lang, GROUP_NOTICES[action]))]
        assert (out.state.to_dict(), out.effect) == (raw, None)


# --- role menus ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("who", "items"),
    [("li_ming", EMPLOYEE_MENU), ("zhang_wei", EMPLOYEE_MENU),
     ("wang_qiang", LIAISON_MENU), ("zhou_min", LIAISON_MENU),
     ("zhao_guoqiang", LEADER_MENU), ("chen_lihua", DIRECTOR_MENU),
     ("liu_fang", STAFF_MENU)],
)
def test_each_role_sees_its_menu(services: Services, lang: str, who: str,
                                 items: list[str]) -> None:
    someone = Chat(services, person=who)
    open_menu(someone, lang)
    assert someone.labels() == menu_labels(lang, items)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("who", "key", "items"),
    [("li_ming", "menu.welcome", EMPLOYEE_MENU),
     ("wang_qiang", "menu.welcome_liaison_untold", LIAISON_MENU),
     ("zhao_guoqiang", "menu.welcome_leader", LEADER_MENU),
     ("chen_lihua", "menu.welcome_director", DIRECTOR_MENU),
     ("liu_fang", "menu.welcome_staff", STAFF_MENU)],
)
def test_each_role_is_welcomed_with_what_the_account_does_for_them(
        services: Services, clock: FrozenClock, lang: str, who: str, key: str,
        items: list[str]) -> None:
    """Before, a leader, the director, the staff and a liaison were all welcomed as
    workers ("您可以提建议、反映问题、预约领导接访"), above a menu of their own work. Now
    each reads what the account does for them; an employee reads the workers' welcome."""
    someone = Chat(services, person=who)
    open_menu(someone, lang)
    for said in ("/start", "你好", "/menu", "hello"):
        clock.advance(timedelta(minutes=1))
        someone.say(said)
        assert chat_text_is(someone, t(lang, key, workshop="铸造车间")), said
        assert someone.labels() == menu_labels(lang, items)
    if key != "menu.welcome":
        assert someone.replies[0].text != t(lang, "menu.welcome")
        assert "预约领导接访；" not in someone.replies[0].text  # not the workers' invitation


def test_a_liaison_is_told_to_report_by_phone_only_with_a_hotline(
        sqlite_url: str, clock: FrozenClock) -> None:
    """A liaison's report by phone is of their workshop: the welcome says so when the
    workroom has a hotline, and says nothing of a phone when it has none."""
    with_hotline = make_services(sqlite_url, clock, twilio_account_sid=ACCOUNT_SID,
                                 twilio_auth_token=AUTH_TOKEN, hotline_number="+861012351000")
    try:
        wang = Chat(with_hotline, person="wang_qiang")
        wang.say("/start")
        assert chat_text_is(wang, t("zh", "menu.welcome_liaison", workshop="铸造车间"))
        assert "拨打工作室热线" in wang.text and "本车间突发情况" in wang.text
        assert wang.labels() == menu_labels("zh", LIAISON_MENU)
    finally:
        with_hotline.close()
    assert "热线" not in t("zh", "menu.welcome_liaison_untold", workshop="铸造车间")
    assert "hotline" not in t("en", "menu.welcome_liaison_untold", workshop="铸造车间")


@pytest.mark.parametrize(("who", "label"), [("li_ming", "本车间突发情况"),
                                            ("li_ming", "在办的问题"),
                                            ("wang_qiang", "待确认的提醒")])
def test_items_of_other_roles_cannot_be_typed(services: Services, who: str,
                                              label: str) -> None:
    someone = Chat(services, person=who)
    someone.say("菜单")
    someone.say(label)
    assert chat_text_is(someone, t("zh", "menu.unknown"))
    assert draft(services, someone)["flow"] is None


def test_open_cases_shows_a_leader_their_own_and_the_director_the_units(
        services: Services, clock: FrozenClock) -> None:
    zhao, wu = person(services, "zhao_guoqiang"), person(services, "wu_jianjun")
    with Session(services.db) as s:
        for n, (handler, status, due) in enumerate(
                [(zhao, "assigned", date(2027, 1, 22)), (wu, "in_progress", date(2027, 1, 2)),
                 (zhao, "closed", date(2027, 1, 1))], start=1):
            s.add(Case(number=f"C-2026-000{n}", draft_key=f"d{n}", unit_id=zhao.unit_id,
                       category="wages" if handler is zhao else "safety",
                       description=DESCRIPTION, since="2026-10", affected=3,
                       outcome_wanted="补发", handler_id=handler.id, status=status,
                       due_on=due, channel="console", created_at=clock.now()))
        s.commit()

    def open_cases(who: str) -> str:
        someone = Chat(services, person=who)
        someone.say("菜单")
        someone.press("在办的问题")
        return someone.text

    line1 = t("zh", "case.line_handling", number="C-2026-0001", category="工资福利",
              summary=DESCRIPTION, handler="赵国强办理", status="已交办", due_on="2027-01-22")
    line2 = t("zh", "case.line_handling", number="C-2026-0002", category="安全生产",
              summary=DESCRIPTION, handler="吴建军办理", status="办理中", due_on="2027-01-02")
    assert line1 in open_cases("zhao_guoqiang")
    assert line2 not in open_cases("zhao_guoqiang")
    assert line2 in open_cases("wu_jianjun") and line1 not in open_cases("wu_jianjun")
    director = open_cases("chen_lihua")
    assert director.index(line2) < director.index(line1)  # by due date
    assert "C-2026-0003" not in director  # closed
    assert t("zh", "query.open_cases.none") in open_cases("sun_hongmei")


# --- help, menu, back and cancel inside a flow ------------------------------------------

AT_STEPS = [
    ("suggestion", (), "topic"),
    ("suggestion", ("1",), "text"),
    ("complaint", ("1", DESCRIPTION), "since"),
    ("booking", ("1",), "topic"),
    ("emergency", (WHAT, "厂门口"), "people"),
    ("receipt", (), "code"),
    ("suggestion", ("1", TEXT, "1"), REVIEW),
]
AT_IDS = [f"{f}-{s}" for f, _, s in AT_STEPS]


def asked(lang: str, flow: str, step: str) -> str:
    return t(lang, "review.title") if step == REVIEW else t(lang, f"{flow}.{step}.ask")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("flow", "answers", "step"), AT_STEPS, ids=AT_IDS)
def test_help_explains_the_step_and_asks_it_again(services: Services, chat: Chat, lang: str,
                                                  flow: str, answers: tuple[str, ...],
                                                  step: str) -> None:
    start(chat, lang, flow, answers)
    kept = draft(services, chat)
    assert kept["step"] == step

    chat.press(t(lang, "nav.help"))

    key = "review.help" if step == REVIEW else f"{flow}.{step}.help"
    assert chat.replies[0].text == t(lang, key) + "\n\n" + t(lang, "help.commands")
    assert asked(lang, flow, step) in chat.replies[-1].text
    assert draft(services, chat) == kept


@pytest.mark.parametrize("word", ["帮助", "help", "?", "？", "/help"])
def test_help_can_be_typed(chat: Chat, word: str) -> None:
    start(chat, "zh", "suggestion")
    chat.say(word)
    assert t("zh", "suggestion.topic.help") in chat.text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("flow", "answers", "step"), AT_STEPS, ids=AT_IDS)
def test_asking_for_the_menu_in_a_flow_says_how_to_leave_and_keeps_the_draft(
        services: Services, chat: Chat, lang: str, flow: str, answers: tuple[str, ...],
        step: str) -> None:
    start(chat, lang, flow, answers)
    kept = draft(services, chat)

    chat.say("菜单" if lang == "zh" else "menu")

    assert chat.replies[0].text == t(lang, "flow.menu_in_flow", flow=t(lang, f"{flow}.title"),
                                     cancel=t(lang, "nav.cancel"))
    assert asked(lang, flow, step) in chat.replies[-1].text
    assert draft(services, chat) == kept


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("flow", ["suggestion", "complaint", "booking", "emergency", "receipt"])
def test_back_at_the_first_question_returns_to_the_menu(services: Services, chat: Chat,
                                                        lang: str, flow: str) -> None:
    start(chat, lang, flow)
    chat.say("返回" if lang == "zh" else "back")
    assert chat.replies[0].text == t(lang, "flow.back_to_menu")
    assert chat.labels() == menu_labels(lang, EMPLOYEE_MENU)
    assert draft(services, chat)["flow"] is None


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("flow", "answers", "step"), AT_STEPS, ids=AT_IDS)
def test_cancel_drops_the_draft_at_any_step(services: Services, chat: Chat, lang: str,
                                            flow: str, answers: tuple[str, ...],
                                            step: str) -> None:
    start(chat, lang, flow, answers)
    chat.press(t(lang, "nav.cancel"))
    assert chat.replies[0].text == t(lang, "flow.cancelled")
    assert chat.labels() == menu_labels(lang, EMPLOYEE_MENU)
    assert draft(services, chat)["flow"] is None


def test_an_earlier_forms_cancel_does_not_drop_the_form_under_way(
        services: Services, chat: Chat) -> None:
    """"Cancel" under the first question of a form sent long ago, pressed higher up in
    the chat while another form is half filled: refused, and the form kept."""
    start(chat, "zh", "suggestion", ("1",))
    old_cancel = chat.button(t("zh", "nav.cancel"))
    chat.press(t("zh", "nav.cancel"))
    start(chat, "zh", "complaint", ("1", DESCRIPTION))
    kept = draft(services, chat)
    chat.replies = [Reply("", [old_cancel])]
    chat.press(t("zh", "nav.cancel"))
    assert chat.replies[0].text == t("zh", STALE)
    after = draft(services, chat)
    assert (after["flow"], after["step"], after["answers"]) == (
        "complaint", kept["step"], kept["answers"])
    assert chat.replies[-1].text.endswith(t("zh", "complaint.since.ask"))
    chat.press(t("zh", "nav.cancel"))  # its own Cancel still cancels it
    assert chat.replies[0].text == t("zh", "flow.cancelled")
    assert draft(services, chat)["flow"] is None


@pytest.mark.parametrize("word", ["取消", "放弃", "cancel", "/cancel", "quit"])
def test_cancel_can_be_typed(services: Services, chat: Chat, word: str) -> None:
    start(chat, "zh", "suggestion", ("1",))
    chat.say(word)
    assert chat.replies[0].text == t("zh", "flow.cancelled")


# --- the same message twice -----------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_an_answer_the_phone_sent_twice_does_not_answer_the_next_question(
        services: Services, clock: FrozenClock, chat: Chat, lang: str) -> None:
    """"30" typed for how many are affected, sent twice by a shaky line: the copy is not
    the number of co-signers (30 would make it a leader case). Typed again later, the
    same words are an answer."""
    start(chat, lang, "complaint", ("1", "食堂的饭菜连续一个月涨价，大家都有意见", "上个月"))
    chat.say("30")
    assert asked(lang, "complaint", "cosigners") in chat.text
    clock.advance(timedelta(seconds=1))
    chat.say("30")
    assert chat.replies[0].text == t(lang, "flow.sent_twice")
    assert asked(lang, "complaint", "cosigners") in chat.replies[-1].text
    kept = draft(services, chat)
    assert (kept["step"], kept["answers"]["affected"]) == ("cosigners", 30)
    assert "cosigners" not in kept["answers"]
    clock.advance(timedelta(seconds=10))
    chat.say("30")  # meant: thirty signed it too
    assert draft(services, chat)["answers"]["cosigners"] == 30


def test_the_same_words_sent_minutes_apart_and_delivered_together_are_two_answers(
        services: Services, chat: Chat) -> None:
    """The line was down: "跳过"-like answers typed at 09:01 and 09:04 arrive together.
    By the sender's clock they are two answers; a double tap is one second apart."""
    from handlers.inbound import Inbound

    start(chat, "zh", "complaint", ("1", "食堂的饭菜连续一个月涨价，大家都有意见", "上个月"))
    sent = int(services.clock.now().timestamp())

    def say(text: str, at: int, mid: str) -> None:
        chat.replies = services.workroom.process(Inbound(chat.channel, chat.address, mid,
                                                         text=text, sent_at=at))

    say("3", sent - 240, "m1")
    say("3", sent - 60, "m2")  # minutes later: meant
    assert draft(services, chat)["answers"]["cosigners"] == 3
    say("铸造车间", sent, "m3")
    say("铸造车间", sent + 1, "m4")  # a second later: the same message twice
    assert chat.replies[0].text == t("zh", "flow.sent_twice")


@pytest.mark.parametrize("word", ["返回", "跳过"])
def test_a_command_typed_twice_is_done_twice(services: Services, chat: Chat,
                                            word: str) -> None:
    start(chat, "zh", "complaint", ("1", "食堂的饭菜连续一个月涨价，大家都有意见", "上个月", "3"))
    chat.say(word)
    chat.say(word)
    assert chat.replies[0].text != t("zh", "flow.sent_twice")


def test_a_menu_number_sent_twice_does_not_switch_the_language_back(
        services: Services, clock: FrozenClock, chat: Chat) -> None:
    open_menu(chat, "zh")
    number = str(EMPLOYEE_MENU.index("lang") + 1)
    chat.say(number)
    assert chat.replies[0].text == t("en", "lang.switched")
    chat.say(number)
    assert chat.replies[0].text == t("en", "menu.sent_twice")
    assert person(services, "li_ming").lang == "en"


# --- the inactivity timeout ------------------------------------------------------------


@pytest.fixture
def drop_services(sqlite_url: str, clock: FrozenClock) -> Iterator[Services]:
    """The demo workroom configured to drop an idle draft instead of keeping it."""
    svc = make_services(sqlite_url, clock, draft_on_timeout="drop")
    yield svc
    svc.db.dispose()


def idle_draft(chat: Chat, lang: str) -> None:
    """A suggestion with its topic chosen, waiting for the text."""
    start(chat, lang, "suggestion")
    chat.press(t(lang, "opt.topic.living"))
    assert t(lang, "suggestion.text.ask") in chat.text


def suggestions(services: Services) -> list[Suggestion]:
    with Session(services.db) as s:
        return list(s.exec(select(Suggestion)).all())


@pytest.mark.parametrize("lang", LANGS)
def test_writing_after_the_timeout_keeps_the_draft_and_asks_again(
        services: Services, clock: FrozenClock, chat: Chat, lang: str) -> None:
    idle_draft(chat, lang)
    clock.advance(timedelta(minutes=30))

    chat.say(TEXT)  # before any sweep ran

    assert chat.replies[0].text == t(lang, "timeout.kept", flow=t(lang, "suggestion.title"),
                                     minutes=30)
    assert chat.replies[-1].text == t(lang, "flow.progress", n=2, total=3) + " " \
        + t(lang, "suggestion.text.ask")
    assert draft(services, chat)["answers"] == {"topic": "living"}  # not taken as the answer
    chat.say(TEXT)
    assert t(lang, "suggestion.identity.ask") in chat.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_sweep_sends_the_kept_notice_and_the_next_message_answers(
        services: Services, clock: FrozenClock, chat: Chat, lang: str) -> None:
    idle_draft(chat, lang)
    clock.advance(timedelta(minutes=29))
    assert services.sweeper.run_once() == 0  # not yet due
    clock.advance(timedelta(minutes=1))

    assert services.sweeper.run_once() == 1
    services.dispatcher.drain()

    notice, question = chat.inbox()
    assert notice.text == t(lang, "timeout.kept", flow=t(lang, "suggestion.title"), minutes=30)
    assert question.text == t(lang, "flow.progress", n=2, total=3) + " " \
        + t(lang, "suggestion.text.ask")
    assert [b["label"] for b in question.buttons] == [t(lang, f"nav.{n}")
                                                      for n in ("back", "cancel", "help")]
    assert draft(services, chat)["paused"] is True
    assert services.sweeper.run_once() == 0  # told once

    clock.advance(timedelta(hours=3))
    chat.say(TEXT)  # the notice was sent: this message is the answer
    assert t(lang, "suggestion.identity.ask") in chat.text
    assert draft(services, chat)["answers"] == {"topic": "living", "text": TEXT}


@pytest.mark.parametrize("lang", LANGS)
def test_writing_after_the_timeout_with_drop_configured_drops_the_draft(
        drop_services: Services, clock: FrozenClock, lang: str) -> None:
    chat = Chat(drop_services, person="li_ming")
    idle_draft(chat, lang)
    clock.advance(timedelta(minutes=30))

    chat.say(TEXT)

    assert chat.replies[0].text == t(lang, "timeout.dropped",
                                     flow=t(lang, "suggestion.title"), minutes=30)
    assert chat.labels() == menu_labels(lang, EMPLOYEE_MENU)
    assert draft(drop_services, chat)["flow"] is None
    assert suggestions(drop_services) == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_sweep_sends_the_dropped_notice(drop_services: Services, clock: FrozenClock,
                                            lang: str) -> None:
    chat = Chat(drop_services, person="li_ming")
    idle_draft(chat, lang)
    clock.advance(timedelta(minutes=30))

    assert drop_services.sweeper.run_once() == 1
    drop_services.dispatcher.drain()

    assert [m.text for m in chat.inbox()] == [
        t(lang, "timeout.dropped", flow=t(lang, "suggestion.title"), minutes=30)]
    assert draft(drop_services, chat)["flow"] is None
    with Session(drop_services.db) as s:
        assert all(timer.done_at is not None for timer in s.exec(select(Timer)).all())
    chat.say("1")  # a fresh start from the menu, not an answer to the dropped draft
    assert t(lang, "suggestion.intro") in chat.text


def test_finishing_or_cancelling_a_form_stops_its_timer(services: Services,
                                                        clock: FrozenClock,
                                                        chat: Chat) -> None:
    idle_draft(chat, "zh")
    chat.say("取消")
    clock.advance(timedelta(hours=1))
    assert services.sweeper.run_once() == 0
    services.dispatcher.drain()
    assert chat.inbox() == []


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("how", ["typed", "pressed"])
def test_an_emergency_puts_a_half_filled_form_aside_and_takes_it_up_after(
        services: Services, chat: Chat, lang: str, how: str) -> None:
    """Half-way through a complaint (or a day after leaving it), something happens: the
    emergency's menu item starts the report at once, not "finish or cancel the form
    first"; the complaint is set aside, unsubmitted, and taken up again where it was
    once the report is sent."""
    from store.models import Incident

    start(chat, lang, "complaint", ("1", DESCRIPTION))
    kept = draft(services, chat)
    assert kept["step"] == "since"
    if how == "typed":
        chat.say(t(lang, "menu.emergency"))
    else:  # the menu's button, still on screen (Telegram's keyboard, WeChat's menu)
        from tests.case_helpers import press_value

        press_value(chat, "flow:emergency")
    assert chat.replies[0].text == t(lang, "flow.set_aside", flow=t(lang, "complaint.title"))
    assert t(lang, "emergency.what.ask") in chat.replies[-1].text
    chat.say(WHAT)
    chat.say("厂门口")
    chat.press(t(lang, "nav.send_now"))
    [incident] = _rows(services, Incident)
    assert incident.what == WHAT
    assert chat.replies[-1].text.startswith(t(lang, "flow.taken_up",
                                              flow=t(lang, "complaint.title")))
    assert t(lang, "complaint.since.ask") in chat.replies[-1].text
    back = draft(services, chat)
    assert (back["flow"], back["step"], back["answers"], back["draft_id"]) == (
        "complaint", "since", kept["answers"], kept["draft_id"])
    assert _rows(services, Case) == []  # nothing of the complaint was submitted


@pytest.mark.parametrize("lang", LANGS)
def test_a_photo_right_after_the_report_is_the_reports_not_the_form_taken_up(
        services: Services, clock: FrozenClock, chat: Chat, lang: str) -> None:
    """The report went and the complaint set aside for it is asked again; a minute later
    the worker sends the photo of the scene. It is the emergency's, told to its leaders,
    not the complaint's. Once the complaint is answered again, photos are its own."""
    from handlers.inbound import Inbound
    from store.models import Attachment, Incident

    start(chat, lang, "complaint", ("1", DESCRIPTION))
    chat.say(t(lang, "menu.emergency"))
    chat.say(WHAT)
    chat.say("厂门口")
    chat.press(t(lang, "nav.send_now"))
    [incident] = _rows(services, Incident)
    clock.advance(timedelta(minutes=1))
    services.workroom.process(Inbound(chat.channel, chat.address, "scene-1", attachments=(
        {"kind": "photo", "file_ref": "SCENE-1", "mime_type": "image/jpeg", "size": 900},)))
    kept = [(a.subject, a.subject_id, a.file_ref) for a in _rows(services, Attachment)]
    assert kept == [("incident", incident.id, "SCENE-1")]
    assert draft(services, chat)["step"] == "since"  # the complaint still waits there
    chat.say("上个月")
    services.workroom.process(Inbound(chat.channel, chat.address, "bill-1", attachments=(
        {"kind": "photo", "file_ref": "BILL-1", "mime_type": "image/jpeg", "size": 900},)))
    assert len(_rows(services, Attachment)) == 1  # the complaint's, kept with its draft
    from store.models import Conversation

    with Session(services.db) as s:
        row = s.get(Conversation, f"{chat.channel}:{chat.address}")
        assert row is not None
        assert [a["file_ref"] for a in row.state["attachments"]] == ["BILL-1"]


@pytest.mark.parametrize("lang", LANGS)
def test_an_emergency_dropped_takes_the_form_set_aside_up_again(
        services: Services, chat: Chat, lang: str) -> None:
    start(chat, lang, "suggestion", ("1",))
    kept = draft(services, chat)
    chat.say(t(lang, "menu.emergency"))
    chat.say("取消" if lang == "zh" else "cancel")
    assert chat.replies[0].text == t(lang, "flow.cancelled")
    assert t(lang, "suggestion.text.ask") in chat.replies[-1].text
    assert draft(services, chat)["answers"] == kept["answers"]


def _rows(services: Services, model: type) -> list:  # type: ignore[type-arg]
    with Session(services.db) as s:
        return list(s.exec(select(model)).all())


@pytest.mark.parametrize("lang", LANGS)
def test_an_emergency_left_after_where_is_sent_by_the_silence(
        services: Services, clock: FrozenClock, chat: Chat, lang: str) -> None:
    """What and where answered, then the phone goes back into a pocket: after five quiet
    minutes the report is filed and the leaders alerted, as "send now" would have; the
    reporter is told. The report is dated when its last answer came, and its 1-hour
    first report is due an hour after that, not after the sweep."""
    from store.models import Alert, Incident, IncidentReport

    director = Chat(services, person="chen_lihua")
    director.say("菜单")  # her chat is where her alerts go
    start(chat, lang, "emergency", (WHAT,))
    clock.advance(timedelta(minutes=2))
    chat.say("厂门口")
    answered = clock.now()
    clock.advance(timedelta(minutes=4, seconds=59))
    assert services.sweeper.run_once() == 0
    assert _rows(services, Incident) == []
    clock.advance(timedelta(seconds=1))
    assert services.sweeper.run_once() == 1
    [incident] = _rows(services, Incident)
    assert (incident.what, incident.place, incident.people) == (WHAT, "厂门口", None)
    assert incident.created_at == answered
    first = next(r for r in _rows(services, IncidentReport) if r.kind == "first")
    assert first.due_at == answered + timedelta(hours=1)
    assert _rows(services, Alert)  # the leaders are alerted
    services.dispatcher.drain()
    # One message: sent by the silence, then its number and who is alerted, the menu.
    [said] = [m.text for m in chat.inbox()]
    done = t(lang, "emergency.done", number="E-2026-0001", alerted="\x00").split("\x00")[0]
    assert said.startswith(t(lang, "timeout.sent", flow=t(lang, "emergency.title"),
                             minutes=5) + "\n" + done)
    assert said.endswith("\n\n" + t(lang, "menu.prompt"))
    assert draft(services, chat)["flow"] is None
    assert services.sweeper.run_once() == 0  # sent once
    chat.say("30")  # a late answer is not a second report
    assert len(_rows(services, Incident)) == 1
    [alert] = [m.text for m in director.inbox() if "E-2026-0001" in m.text]
    assert answered.astimezone(services.settings.zone).strftime("%Y-%m-%d %H:%M") in alert


@pytest.mark.parametrize("lang", LANGS)
def test_an_emergency_that_says_only_what_is_sent_by_a_longer_silence(
        services: Services, clock: FrozenClock, chat: Chat, lang: str) -> None:
    """"铸造车间有人被压伤了，快来" and nothing more, not even where: a report kept for
    ever is a report missed. After ten quiet minutes it is filed as it is, its place not
    given, the workshop it names found in what it says."""
    from store.models import Alert, Incident, Workshop

    what = "铸造车间有人被压伤了，很多人围着，快来"
    director = Chat(services, person="chen_lihua")
    director.say("菜单")
    start(chat, lang, "emergency", (what,))
    clock.advance(timedelta(minutes=9, seconds=59))
    assert services.sweeper.run_once() == 0
    assert _rows(services, Incident) == []
    clock.advance(timedelta(seconds=1))
    assert services.sweeper.run_once() == 1
    [incident] = _rows(services, Incident)
    assert (incident.what, incident.place) == (what, "")
    [shop] = [w for w in _rows(services, Workshop) if w.id == incident.workshop_id]
    assert shop.name == "铸造车间"
    assert _rows(services, Alert)
    services.dispatcher.drain()
    [said] = [m.text for m in chat.inbox()]
    assert said.startswith(t(lang, "timeout.sent", flow=t(lang, "emergency.title"),
                             minutes=10) + "\n")
    [alert] = [m.text for m in director.inbox() if "E-2026-0001" in m.text]
    assert "\n地点：" + t("zh", "review.skipped") + "\n" in alert


@pytest.mark.parametrize("lang", LANGS)
def test_an_emergency_told_only_in_photos_is_sent_by_the_silence(
        services: Services, clock: FrozenClock, chat: Chat, lang: str) -> None:
    """A worker presses 紧急情况报告 and sends a photo of the fire, no words, then
    nothing: the photo is the report. Ten quiet minutes send it, never kept unsent."""
    from handlers.inbound import Inbound
    from store.models import Incident

    director = Chat(services, person="chen_lihua")
    director.say("菜单")
    start(chat, lang, "emergency")
    services.workroom.process(Inbound(chat.channel, chat.address, "fire-1", attachments=(
        {"kind": "photo", "file_ref": "FIRE-1", "mime_type": "image/jpeg", "size": 1000},)))
    clock.advance(timedelta(minutes=9, seconds=59))
    services.sweeper.run_once()
    assert _rows(services, Incident) == []
    clock.advance(timedelta(seconds=1))
    services.sweeper.run_once()
    [incident] = _rows(services, Incident)
    assert incident.what == t(lang, "emergency.what_files_only")
    services.dispatcher.drain()
    assert any(m.text.startswith(t(lang, "timeout.sent", flow=t(lang, "emergency.title"),
                                   minutes=10)) for m in chat.inbox())
    [alert] = [m.text for m in director.inbox() if "E-2026-0001" in m.text]
    assert "照片 1 张" in alert


@pytest.mark.parametrize("lang", LANGS)
def test_words_after_a_report_the_silence_sent_are_added_to_it(
        services: Services, clock: FrozenClock, chat: Chat, lang: str) -> None:
    """"快来人" and nothing more: the silence sends it. What the worker types next, where
    it is, how many, is that report's, told to the leaders, never a second emergency;
    "取消" says it cannot be called back, "谢谢" adds nothing."""
    from store.models import Incident, IncidentLink

    director = Chat(services, person="chen_lihua")
    director.say("菜单")
    start(chat, lang, "emergency", ("快来人，出事了",))
    clock.advance(timedelta(minutes=10))
    assert services.sweeper.run_once() == 1
    clock.advance(timedelta(minutes=1))
    chat.say("铸造车间")
    assert chat.replies[0].text == t(lang, "emergency.said_added", number="E-2026-0001")
    chat.say("三十多人")
    chat.say("谢谢" if lang == "zh" else "thanks")
    chat.say("取消" if lang == "zh" else "cancel")
    assert chat.replies[0].text == t(lang, "emergency.cannot_cancel")
    [incident] = _rows(services, Incident)
    assert (incident.people, incident.place) == (30, "铸造车间")
    assert incident.workshop_id is not None
    assert [x.what for x in _rows(services, IncidentLink)] == ["铸造车间", "三十多人"]
    services.dispatcher.drain()
    said = [m.text for m in director.inbox()
            if m.text.startswith(t("zh", "notice.incident_said", number="E-2026-0001",
                                   reported_at="", caption="")[:12])]
    assert len(said) == 2 and said[0].endswith("：铸造车间")
    # The workshop's liaison reports it too: it is the same emergency (the words said
    # where), its second report; the worker's words are not reports of their own.
    liaison = Chat(services, person="wang_qiang")
    open_menu(liaison, "zh")
    liaison.press(t("zh", "menu.emergency_workshop"))
    liaison.say("工人在车间里聚集，情绪激动")
    liaison.press(t("zh", "nav.send_now"))
    services.dispatcher.drain()
    [more] = [m.text for m in director.inbox() if m.text.startswith("【紧急·补充】E-2026-0001 又")]
    assert "（共 2 份，" in more
    assert len(_rows(services, Incident)) == 1


@pytest.mark.parametrize("typed", ["收到，工资条上少了三百元加班费", "收到工资条后发现少了钱"])
def test_a_workers_words_beginning_with_the_acknowledge_word_are_an_answer(
        services: Services, chat: Chat, typed: str) -> None:
    """Only the alerted take "收到，…" for an acknowledgement: a worker's words are
    the answer to the question asked."""
    start(chat, "zh", "suggestion", ("1",))
    chat.say(typed)
    assert draft(services, chat)["answers"]["text"] == typed


@pytest.mark.parametrize(("lang", "said", "flow", "step", "next_step"), [
    ("zh", "我要投诉车间主任克扣工资", "complaint", "description", "category"),
    ("zh", "我想反映一下食堂饭菜太贵的问题", "complaint", "description", "category"),
    ("zh", "我想提个建议，食堂晚上多开一个窗口", "suggestion", "text", "topic"),
    ("zh", "我要报警，厂门口三十多人聚集", "emergency", "what", "place"),
    ("en", "I want to complain about my foreman docking pay", "complaint", "description",
     "category"),
    ("en", "I would like to make a suggestion: longer canteen hours", "suggestion", "text",
     "topic")])
def test_a_form_asked_for_with_the_matter_opens_it_with_the_words_kept(
        services: Services, lang: str, said: str, flow: str, step: str,
        next_step: str) -> None:
    """"我要投诉车间主任克扣工资": the complaint opens, as "我要投诉" alone opens it, and
    what the worker said is its "what happened", said so; not "which kind of matter is
    this", nor the words lost."""
    chat = Chat(services, person="li_ming")
    open_menu(chat, lang)
    chat.say(said)
    assert t(lang, f"{flow}.intro") in chat.text
    assert t(lang, "flow.told_kept", label=t(lang, f"{flow}.{step}.label")) in chat.text
    assert t(lang, f"{flow}.{next_step}.ask") in chat.text
    assert draft(services, chat)["answers"][step] == said


def test_a_form_asked_for_with_the_matter_keeps_what_was_said_before(
        services: Services, chat: Chat) -> None:
    """Told in two messages, the second asking for the form: both are its words."""
    open_menu(chat, "zh")
    chat.say("我们车间的空调坏了两个月了")
    chat.say("我要投诉，找了主任也没人管")
    assert t("zh", "complaint.intro") in chat.text
    assert draft(services, chat)["answers"]["description"] == \
        "我们车间的空调坏了两个月了\n我要投诉，找了主任也没人管"


def test_a_workers_thanks_word_gets_a_word_back_not_a_list_of_alerts(chat: Chat) -> None:
    chat.say("菜单")
    chat.say("收到")
    assert chat.replies[0].text == t("zh", "ack.courtesy")


@pytest.mark.parametrize(("lang", "said", "flow"), [
    ("zh", "我想投诉", "complaint"), ("zh", "我要提建议", "suggestion"),
    ("zh", "我想预约领导", "booking"), ("en", "I would like to make a suggestion", "suggestion")])
def test_an_item_asked_for_at_the_menu_opens_its_form(services: Services, lang: str, said: str,
                                                     flow: str) -> None:
    """"我想投诉" was kept as a matter and the worker asked which kind it was."""
    chat = Chat(services, person="li_ming")
    open_menu(chat, lang)
    chat.say(said)
    assert t(lang, f"{flow}.intro") in chat.text
