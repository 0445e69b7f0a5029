"""Cases told apart: the staff's 新登记问题, the lists of open cases and the 办理问题 picker
say what each case is about (the first words of its description, on one line) and to whom
it went; the staff's notice carries 办理此问题; a form opened from a push's button names
the case (or suggestion) it was opened for instead of asking to choose it, and its step
counter starts from what may be done to that case.

Before, the staff read "新登记问题 C-2026-0001（其他），已按类别交办，办结期限 …" with no
button, the lists read "C-2026-0001 其他 · 已交办 · 2027-01-22 到期", and 办理此问题 opened
"先选问题，再选要做的事…" then "（1/5） 要做什么？" then "（2/2）"."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from store.models import Case, Person, Responsibility
from tests.case_helpers import choices, press_value
from tests.test_flow_complaint import complain
from tests.test_suggestion_answer import CANTEEN, suggest
from tests.transcript import LANGS, Chat, open_menu, t

CANTEEN_ZH = "食堂的饭菜里经常吃出头发和沙子，多次向后勤反映都没有改进"
CANTEEN_EN = "The canteen\nfood often has hair and sand in it and nothing changes"
# The first words, cut with "…" (English at a word's end), on one line.
SUMMARY = {"zh": "食堂的饭菜里经常吃出头发和沙子，多次向…", "en": "The canteen food…"}
DUE = "2027-01-22"  # the demo clock's day + 60


def _readers(services: Services, lang: str, *keys: str) -> None:
    """The people read their pushes in `lang` (they last used the console in it)."""
    for key in keys:
        open_menu(Chat(services, person=key), lang)


def _file_other(services: Services, lang: str, identity: str = "anonymous",
                description: str | None = None) -> Case:
    """李明 raises an "其他" case about the canteen: it goes to 陈丽华 (the director), who
    answers for the category."""
    said = description or (CANTEEN_ZH if lang == "zh" else CANTEEN_EN)
    complain(Chat(services, person="li_ming"), lang, category="other", description=said,
             identity=identity)
    services.dispatcher.drain()
    with Session(services.db) as s:
        return s.exec(select(Case)).one()


def _inbox(services: Services, key: str) -> list[tuple[str, list[tuple[str, str]]]]:
    services.dispatcher.drain()
    return [(m.text, [(b["label"], b["value"]) for b in m.buttons])
            for m in Chat(services, person=key).inbox()]


def _option(lang: str, status: str = "assigned", handler: str = "陈丽华") -> str:
    """The case as those who handle cases choose it."""
    return t(lang, "case.option_handling", number="C-2026-0001",
             category=t(lang, "opt.category.other"), summary=SUMMARY[lang],
             handler=t(lang, "case.handled_by", name=handler),
             status=t(lang, f"status.{status}"), due_on=DUE)


def _asked(lang: str, step: str, n: int, total: int) -> str:
    return t(lang, "flow.progress", n=n, total=total) + " " + t(lang, f"case_action.{step}.ask")


# --- 1. the staff's notice and the lists --------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_staff_read_what_a_new_case_is_about_and_to_whom_it_went(
        services: Services, lang: str) -> None:
    """An anonymous complaint: the staff read its first words and that it went to 陈丽华,
    with 办理此问题; nothing of who complained."""
    _readers(services, lang, "liu_fang")
    case = _file_other(services, lang)
    [(text, buttons)] = _inbox(services, "liu_fang")
    assert text == t(lang, "notice.case_staff", number="C-2026-0001",
                     category=t(lang, "opt.category.other"), summary=SUMMARY[lang],
                     name="陈丽华", due_on=DUE)
    if lang == "zh":
        assert text == ("新登记问题 C-2026-0001（其他）：食堂的饭菜里经常吃出头发和沙子，多次向…\n"
                        "已按类别交陈丽华办理，办结期限 2027-01-22。")
    assert buttons == [(t(lang, "nav.work_on_case"), f"flow:case_action?case={case.id}")]
    assert "李明" not in text and "900000101" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_a_named_complainant_is_not_named_to_the_staff_either(
        services: Services, lang: str) -> None:
    _readers(services, lang, "liu_fang")
    _file_other(services, lang, identity="named")
    [(text, _)] = _inbox(services, "liu_fang")
    assert SUMMARY[lang] in text and "陈丽华" in text
    assert "李明" not in text and "900000101" not in text


def test_a_description_that_reads_like_a_catalog_key_is_shown_as_written(
        services: Services) -> None:
    """Someone's own words are never taken for the workroom's: "@status.closed" stays so,
    not "已办结"."""
    _readers(services, "zh", "liu_fang")
    _file_other(services, "zh", description="@status.closed")
    [(text, _)] = _inbox(services, "liu_fang")
    assert text.startswith("新登记问题 C-2026-0001（其他）：@status.closed\n"), text


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_of_a_category_nobody_answers_for_says_it_waits_to_be_assigned(
        services: Services, lang: str) -> None:
    """Before, it said 已按类别交办 of a case given to nobody."""
    with Session(services.db) as s:
        for row in s.exec(select(Responsibility).where(Responsibility.category == "other")):
            s.delete(row)
        s.commit()
    _readers(services, lang, "liu_fang")
    case = _file_other(services, lang)
    assert case.handler_id is None
    [(text, buttons)] = _inbox(services, "liu_fang")
    assert text == t(lang, "notice.case_staff_unassigned", number="C-2026-0001",
                     category=t(lang, "opt.category.other"), summary=SUMMARY[lang], due_on=DUE)
    assert buttons == [(t(lang, "nav.work_on_case"), f"flow:case_action?case={case.id}")]
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.open_cases"))
    assert t(lang, "case.line_handling", number="C-2026-0001",
             category=t(lang, "opt.category.other"), summary=SUMMARY[lang],
             handler=t(lang, "case.handled_by_nobody"), status=t(lang, "status.registered"),
             due_on=DUE) in staff.text


@pytest.mark.parametrize("lang", LANGS)
def test_open_cases_and_the_picker_say_what_each_case_is_about_and_who_has_it(
        services: Services, lang: str) -> None:
    _file_other(services, lang)
    complain(Chat(services, person="li_ming"), lang, category="wages",
             description="十月份的加班费到现在还没有发下来", identity="anonymous")
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.open_cases"))
    lines = staff.replies[0].text.splitlines()
    assert lines[1:3] == [
        t(lang, "case.line_handling", number="C-2026-0001",
          category=t(lang, "opt.category.other"), summary=SUMMARY[lang],
          handler=t(lang, "case.handled_by", name="陈丽华"),
          status=t(lang, "status.assigned"), due_on=DUE),
        t(lang, "case.line_handling", number="C-2026-0002",
          category=t(lang, "opt.category.wages"), summary="十月份的加班费到现在还没有发下来",
          handler=t(lang, "case.handled_by", name="赵国强"),
          status=t(lang, "status.assigned"), due_on=DUE)]
    if lang == "zh":
        assert lines[1] == ("• C-2026-0001 其他 · 食堂的饭菜里经常吃出头发和沙子，多次向… · "
                            "陈丽华办理 · 已交办 · 办结期限 2027-01-22")
    assert "李明" not in staff.text

    staff.press(t(lang, "menu.case_action"))
    assert choices(staff) == [
        _option(lang),
        t(lang, "case.option_handling", number="C-2026-0002",
          category=t(lang, "opt.category.wages"), summary="十月份的加班费到现在还没有发下来",
          handler=t(lang, "case.handled_by", name="赵国强"),
          status=t(lang, "status.assigned"), due_on=DUE)]
    if lang == "en":
        assert choices(staff)[0] == ("C-2026-0001 Other · The canteen food… · with 陈丽华 · "
                                     "assigned · due 2027-01-22")


# --- 2. a form opened from a push names what it was opened for ---------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_work_on_this_case_from_the_staff_notice_names_the_case_and_counts_from_it(
        services: Services, lang: str) -> None:
    """The staff may note, pass on, reclassify or urge it: three questions at most
    (转办: to whom, why), not five."""
    _readers(services, lang, "liu_fang")
    case = _file_other(services, lang)
    [(_, [(_, value)])] = _inbox(services, "liu_fang")
    staff = Chat(services, person="liu_fang")
    replies = press_value(staff, value)
    assert [r.text for r in replies] == [
        t(lang, "case_action.intro_given", chosen=_option(lang)), _asked(lang, "action", 1, 3)]
    if lang == "zh":
        assert replies[0].text == ("办理问题 C-2026-0001 其他 · 食堂的饭菜里经常吃出头发和沙子，"
                                   "多次向… · 陈丽华办理 · 已交办 · 2027-01-22 到期\n"
                                   "每一步都记入该问题的办理记录。")
    staff.press(t(lang, "opt.case_action.reassign"))
    assert staff.replies[-1].text == _asked(lang, "assignee", 2, 3)
    staff.press_starting("孙红梅")
    assert staff.replies[-1].text == _asked(lang, "reason", 3, 3)
    assert f"case={case.id}" in value


@pytest.mark.parametrize("lang", LANGS)
def test_work_on_this_case_from_the_directors_alert_names_it_and_never_counts_up(
        services: Services, lang: str) -> None:
    """陈丽华 answers for 其他: her 交办's button names the case; she may note, reply, ask
    for more time, pass it on or reclassify it (no 五定: not a leader case)."""
    _readers(services, lang, "chen_lihua")
    case = _file_other(services, lang)
    [(alert, buttons)] = _inbox(services, "chen_lihua")
    assert alert.startswith(t(lang, "notice.case_new", number="C-2026-0001",
                              category=t(lang, "opt.category.other"), affected="",
                              workshop="", description="", outcome="", complainant="",
                              due_on="").splitlines()[0] + "\n")
    assert (t(lang, "nav.work_on_case"), f"flow:case_action?case={case.id}") in buttons
    director = Chat(services, person="chen_lihua")
    replies = press_value(director, f"flow:case_action?case={case.id}")
    assert [r.text for r in replies] == [
        t(lang, "case_action.intro_given", chosen=_option(lang)), _asked(lang, "action", 1, 3)]
    assert t(lang, "case_action.intro") not in director.text  # not asked to choose it
    director.press(t(lang, "opt.case_action.note"))
    assert director.replies[-1].text == _asked(lang, "note", 2, 2)


@pytest.mark.parametrize("lang", LANGS)
def test_choosing_the_case_in_the_list_counts_what_may_be_done_to_it(
        services: Services, lang: str) -> None:
    """Before: "（1/6）", "（2/6）", then "（3/4）". Now the case chosen says what may follow:
    "（1/6）" (any case), "（2/4）", "（3/4）", "（4/4）"."""
    _file_other(services, lang)
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    staff.press(t(lang, "menu.case_action"))
    assert staff.replies[-1].text == _asked(lang, "case", 1, 6)
    staff.press(_option(lang))
    assert staff.replies[-1].text == _asked(lang, "action", 2, 4)
    staff.press(t(lang, "opt.case_action.reassign"))
    assert staff.replies[-1].text == _asked(lang, "assignee", 3, 4)
    staff.press_starting("孙红梅")
    assert staff.replies[-1].text == _asked(lang, "reason", 4, 4)


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_case_opened_from_its_alert_counts_the_five_fixes(
        services: Services, lang: str) -> None:
    """Its alert's button names the case; the director, its handler, may fill in its 五定
    (four questions after the action): "（1/5）", and the total stays 5."""
    complain(Chat(services, person="li_ming"), lang, category="other",
             description=CANTEEN_ZH if lang == "zh" else CANTEEN_EN, cosigners="25")
    with Session(services.db) as s:
        case = s.exec(select(Case)).one()
        director = s.exec(select(Person).where(Person.key == "chen_lihua")).one()
    assert case.leader_case and case.handler_id == director.id
    chen = Chat(services, person="chen_lihua")
    open_menu(chen, lang)
    replies = press_value(chen, f"flow:case_action?case={case.id}")
    named = t(lang, "case.option_handling", number="C-2026-0001",
              category=t(lang, "opt.category.other"), summary=SUMMARY[lang],
              handler=t(lang, "case.handled_by", name="陈丽华"),
              status=t(lang, "status.assigned"), due_on=case.due_on.isoformat())
    assert [r.text for r in replies] == [t(lang, "case_action.intro_given", chosen=named),
                                         _asked(lang, "action", 1, 5)]
    chen.press(t(lang, "opt.case_action.five_fix"))
    assert chen.replies[-1].text == _asked(lang, "dept_head", 2, 5)


@pytest.mark.parametrize("lang", LANGS)
def test_answer_this_suggestion_names_the_suggestion_and_asks_what_becomes_of_it(
        services: Services, lang: str) -> None:
    """Before: "选一条待答复的职工建议…" of a suggestion chosen already."""
    _readers(services, lang, "liu_fang")
    suggest(Chat(services, person="tang_yun"), lang)
    services.dispatcher.drain()
    staff = Chat(services, person="liu_fang")
    [push] = staff.inbox()
    [value] = [b["value"] for b in push.buttons
               if b["label"] == t(lang, "nav.answer_suggestion")]
    replies = press_value(staff, value)
    shown = t(lang, "answer_suggestion.option", number="S-2026-0001",
              topic=t(lang, "opt.topic.living"), quote="建议食堂晚班增加热菜供应，夜班职工吃不…")
    assert [r.text for r in replies] == [
        t(lang, "answer_suggestion.intro_given", chosen=shown),
        t(lang, "flow.progress", n=1, total=2) + " " + t(lang, "answer_suggestion.kind.ask")]
    if lang == "zh":
        assert replies[0].text.startswith(
            "答复建议 S-2026-0001 · 食堂生活 · 建议食堂晚班增加热菜供应，夜班职工吃不…\n")
    assert "唐云" not in replies[0].text and CANTEEN not in replies[0].text
