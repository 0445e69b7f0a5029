"""“办理问题 / Work on a case” offers, for the case chosen, only what the person may do to
it now (the lifecycle table's word), in Chinese and English; a case with nothing to do is
said so and the case asked again; what is not offered changes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, func, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers.directory import SqlDirectory
from store.models import Case, CaseEvent, Person
from tests.case_helpers import (
    actions,
    case_action,
    choices,
    file_complaint,
    offered,
    press_value,
    the_case,
)
from tests.transcript import LANGS, Chat, draft, open_menu, person, t

WORKING = ("note", "reply", "extend", "reassign")
SUPERVISING = ("note", "reassign", "reclassify", "urge")  # the staff on a case not theirs


def events(services: Services) -> int:
    with Session(services.db) as s:
        return s.exec(select(func.count()).select_from(CaseEvent)).one()


def label(services: Services, lang: str, number: str = "C-2026-0001") -> str:
    """The case as the list of cases shows it: what it is about, and who handles it."""
    case = the_case(services, number)
    with Session(services.db) as s:
        handler = s.get(Person, case.handler_id)
    assert handler is not None
    return t(lang, "case.option_handling", number=number,
             category=t(lang, f"opt.category.{case.category}"), summary=case.description,
             handler=t(lang, "case.handled_by", name=handler.name),
             status=t(lang, f"status.{case.status}"), due_on=case.due_on.isoformat())


@pytest.mark.parametrize("lang", LANGS)
def test_staff_not_handling_a_working_case_may_note_reassign_and_urge_it(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """The workroom's staff supervise every case (督办): a note, another handler, or
    pressing the handler; replying or more time are the handler's."""
    file_complaint(Chat(services, person="li_ming"), lang)  # zhao_guoqiang handles wages
    staff = Chat(services, person="liu_fang")
    assert offered(staff, lang, "C-2026-0001") == actions(lang, *SUPERVISING)
    staff.say("2")  # a number is a position in the list as shown
    assert t(lang, "case_action.assignee.ask") in staff.text
    # The director, above the handler, may also urge it (催办).
    director = Chat(services, person="chen_lihua")
    assert offered(director, lang, "C-2026-0001") == actions(lang, "reassign", "reclassify", "urge")


@pytest.mark.parametrize("lang", LANGS)
def test_the_handler_of_an_assigned_case_may_note_reply_extend_and_reassign(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang)
    zhao = Chat(services, person="zhao_guoqiang")
    assert offered(zhao, lang, "C-2026-0001") == actions(lang, *WORKING)
    zhao.say("2")
    assert t(lang, "case_action.reply.ask") in zhao.text
    zhao.say("十月加班费将于本月底补发")
    colon = "：" if lang == "zh" else ": "
    assert f"{t(lang, 'case_action.action.label')}{colon}" \
           f"{t(lang, 'opt.case_action.reply')}" in zhao.text  # the review names it
    zhao.press(t(lang, "nav.confirm"))
    assert the_case(services).status == "replied"


@pytest.mark.parametrize("lang", LANGS)
def test_a_replied_case_offers_its_handler_close_and_return_visit(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang)
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "reply", "十月加班费将于本月底补发")
    assert offered(zhao, lang, "C-2026-0001") == actions(lang, "close", "return_visit")
    director = Chat(services, person="chen_lihua")
    assert offered(director, lang, "C-2026-0001") == actions(lang, "close")


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_case_offers_five_fix_to_its_handler_only(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang, affected="25")
    assert the_case(services).leader_case
    zhao = Chat(services, person="zhao_guoqiang")
    assert offered(zhao, lang, "C-2026-0001") == actions(lang, *WORKING, "five_fix")
    staff = Chat(services, person="liu_fang")
    assert offered(staff, lang, "C-2026-0001") == actions(lang, *SUPERVISING)


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_with_nothing_to_do_is_said_so_and_the_case_asked_again(
        services: Services, clock: FrozenClock, lang: str) -> None:
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    file_complaint(li, lang, category="hours")
    case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "reply",
                "十月加班费将于本月底补发")
    staff = Chat(services, person="liu_fang")
    before = events(services)
    # No keyboard of nothing: the cases again.
    assert offered(staff, lang, "C-2026-0001") == [label(services, lang),
                                                    label(services, lang, "C-2026-0002")]
    assert staff.replies[0].text == t(lang, "case_action.action.empty",
                                      given=label(services, lang))
    assert t(lang, "case_action.case.ask") in staff.replies[-1].text
    assert draft(services, staff)["step"] == "case" and draft(services, staff)["answers"] == {}
    assert events(services) == before
    staff.press_starting("C-2026-0002")  # another case: its own actions
    assert choices(staff) == actions(lang, *SUPERVISING)
    staff.press(t(lang, "nav.back"))  # back: the cases again, then another pick
    assert t(lang, "case_action.case.ask") in staff.text
    staff.press_starting("C-2026-0001")
    assert t(lang, "case_action.action.empty", given=label(services, lang)) in staff.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_actions_offered_follow_the_language(services: Services, clock: FrozenClock,
                                                 lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang)
    zhao = Chat(services, person="zhao_guoqiang")
    offered(zhao, lang, "C-2026-0001")
    other = "en" if lang == "zh" else "zh"
    zhao.say("lang")  # switched during the question: asked again in the other words
    assert choices(zhao) == actions(other, *WORKING)
    zhao.say("lang")
    zhao.say(t(other, "opt.case_action.note"))  # the other language's words do too
    assert t(lang, "case_action.note.ask") in zhao.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_push_button_that_gives_the_case_and_the_action(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang)
    case_id = the_case(services).id
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    press_value(zhao, f"flow:case_action?case={case_id}&action=reply")
    assert t(lang, "case_action.reply.ask") in zhao.text
    zhao.press(t(lang, "nav.cancel"))
    # An action the case does not allow now: the allowed ones are asked instead.
    press_value(zhao, f"flow:case_action?case={case_id}&action=close")
    assert t(lang, "case_action.action.ask") in zhao.text
    assert choices(zhao) == actions(lang, *WORKING)
    zhao.press(t(lang, "nav.cancel"))
    # A case on which the person may do nothing: said so, and the case is asked.
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    case_action(zhao, lang, "C-2026-0001", "reply", "十月加班费将于本月底补发")
    press_value(staff, f"flow:case_action?case={case_id}&action=close")
    assert t(lang, "case_action.action.empty", given=label(services, lang)) in staff.text
    assert t(lang, "case_action.case.ask") in staff.replies[-1].text
    assert draft(services, staff)["answers"] == {}


def taken_away(services: Services, lang: str) -> Chat:
    """赵国强, at the review of a note on his wage case, while 刘芳 gives it to 孙红梅."""
    file_complaint(Chat(services, person="li_ming"), lang)
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "note", "已与财务科沟通", confirm=False)
    case_action(Chat(services, person="liu_fang"), lang, "C-2026-0001", "reassign",
                "[孙红梅（党委书记）]" if lang == "zh" else "[孙红梅 (党委书记)]", "分管领导出差")
    return zhao


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_taken_away_between_question_and_confirm_is_refused_and_unchanged(
        services: Services, clock: FrozenClock, lang: str) -> None:
    zhao = taken_away(services, lang)
    before = events(services)
    zhao.press(t(lang, "nav.confirm"))
    assert zhao.replies[0].text.startswith(t(lang, "case.refused.who", number="C-2026-0001",
                                              action=t(lang, "case.action.note"),
                                              who=t(lang, "case.who.handler") + " / "
                                              + t(lang, "case.who.staff")))
    # Nothing left to do on it, and no other case: said so, and the menu.
    # ... named as the list showed it, though it has left zhao's list.
    assert t(lang, "case_action.action.empty", given=label(services, lang)) in zhao.text
    assert t(lang, "case_action.empty") in zhao.text
    assert t(lang, "menu.case_action") in zhao.labels()
    assert draft(services, zhao)["flow"] is None
    assert events(services) == before
    assert the_case(services).handler_id == person(services, "sun_hongmei").id


def test_the_directory_keeps_each_cases_actions_apart(services: Services,
                                                       clock: FrozenClock) -> None:
    li = Chat(services, person="li_ming")
    file_complaint(li, "zh")
    file_complaint(li, "zh", category="hours")
    case_action(Chat(services, person="zhao_guoqiang"), "zh", "C-2026-0001", "reply",
                "十月加班费将于本月底补发")
    zhao = person(services, "zhao_guoqiang")
    with Session(services.db) as s:
        first, second = (s.exec(select(Case.id).where(Case.number == n)).one()
                         for n in ("C-2026-0001", "C-2026-0002"))
        d = SqlDirectory(s, zhao, zhao.unit_id, date(2026, 11, 23))
        assert [v for v, _ in d.options("case_actions", "zh", str(first))] == \
            ["close", "return_visit"]
        assert [v for v, _ in d.options("case_actions", "zh", str(second))] == list(WORKING)
        assert d.options("case_actions", "en", str(first)) == [
            ("close", t("en", "opt.case_action.close")),
            ("return_visit", t("en", "opt.case_action.return_visit"))]
        assert d.options("case_actions", "zh", "999") == []


@pytest.mark.parametrize("lang", LANGS)
def test_a_review_redrawn_after_the_case_changed_names_the_action_in_words(
        services: Services, clock: FrozenClock, lang: str) -> None:
    zhao = taken_away(services, lang)
    before = events(services)
    zhao.say("?")  # not an answer: the review is shown again, with the case as it is now
    colon = "：" if lang == "zh" else ": "
    assert (f"{t(lang, 'case_action.action.label')}{colon}"
            f"{t(lang, 'opt.case_action.note')}") in zhao.text
    assert f"{colon}note" not in zhao.text
    # The case, no longer in zhao's list, still shown as the list showed it (not its id).
    assert (f"{t(lang, 'case_action.case.label')}{colon}"
            f"{label(services, lang)}") in zhao.text
    assert events(services) == before


def test_the_button_of_a_case_past_the_first_fifteen_still_opens_it(
        services: Services) -> None:
    """Sixteen open cases: the list shows the first fifteen by due date, yet the 办理此问题
    button of the sixteenth's push opens it, not the list without it."""
    from tests.calendar_helpers import last_push, tap

    li = Chat(services, person="li_ming")
    for _ in range(16):
        file_complaint(li, "zh", category="other")
    services.dispatcher.drain()
    chen = Chat(services, person="chen_lihua")
    open_menu(chen, "zh")
    push = last_push(services, "chen_lihua")
    assert "C-2026-0016" in push.text
    tap(chen, push, t("zh", "nav.work_on_case"))
    assert t("zh", "case_action.action.ask") in chen.replies[-1].text
    with Session(services.db) as s:
        sixteenth = s.exec(select(Case).where(Case.number == "C-2026-0016")).one()
    assert str(draft(services, chen)["answers"]["case"]) == str(sixteenth.id)
