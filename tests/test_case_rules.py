"""Who may move a case and when: the transition table, leader cases (五定, 回访), anonymous
ratings, extensions refused — each refusal a clear answer that changes nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, delete, func, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers import deadlines, lifecycle
from handlers.alerts import names_text
from handlers.casework import RATE_DAYS_AFTER_CLOSING, words
from handlers.context import HandlerContext
from store.models import Case, CaseEvent, Person, Responsibility, Timer
from tests.case_helpers import (
    actions,
    at9,
    case_action,
    choices,
    file_complaint,
    offered,
    press_value,
    pushes,
    the_case,
)
from tests.transcript import LANGS, Chat, open_menu, person, t

CODE = re.compile(r"[2-9A-Z]{5}-[2-9A-Z]{5}")
STATUSES = ("registered", "assigned", "in_progress", "replied", "follow_up", "closed",
            "reopened")


def events(services: Services) -> int:
    with Session(services.db) as s:
        return s.exec(select(func.count()).select_from(CaseEvent)).one()


@pytest.mark.parametrize("action", list(lifecycle.TRANSITIONS))
def test_the_table_allows_only_its_sources_and_its_people(services: Services,
                                                         clock: FrozenClock,
                                                         action: str) -> None:
    move = lifecycle.TRANSITIONS[action]
    with Session(services.db) as s:
        def who(key: str) -> Person:
            return s.exec(select(Person).where(Person.key == key)).one()
        handler, stranger = who("zhao_guoqiang"), who("li_ming")
        case = Case(number="C-2026-0099", draft_key="d99", unit_id=handler.unit_id,
                    category="wages", description="x" * 10, since="2026-10", affected=1,
                    outcome_wanted="补发", handler_id=handler.id, complainant_id=stranger.id,
                    due_on=date(2027, 1, 22), channel="console", created_at=clock.now())
        s.add(case)
        s.flush()
        # A leader handles it: the director is the one above (lifecycle.supervisor_of).
        allowed = {"handler": handler, "director": who("chen_lihua"), "staff": who("liu_fang"),
                   "complainant": stranger, "lead_leader": handler,
                   "supervisor": who("chen_lihua")}
        actor = allowed[move.who[0]]
        if move.who[0] == "lead_leader":
            case.lead_leader_id = handler.id
        for status in STATUSES:
            case.status = status
            if status in move.sources:
                assert lifecycle.check(s, case, action, actor) is move
            else:
                with pytest.raises(lifecycle.Refused) as info:
                    lifecycle.check(s, case, action, actor)
                assert info.value.key == "case.refused.state"
        case.status = move.sources[0]
        nobody = who("xu_tao")  # an employee with no part in the case
        with pytest.raises(lifecycle.Refused) as info:
            lifecycle.check(s, case, action, nobody)
        assert info.value.key == "case.refused.who"
        said = t("en", info.value.key, **words("en", info.value.params))
        assert "C-2026-0099" in said and "@" not in said
        ctx = HandlerContext(s, clock.now(), actor, "console", services.settings.zone, "x")
        if move.target is not None:
            lifecycle.move(ctx, case, action, "why", complainant=move.who[0] == "complainant")
            assert case.status == move.target
        s.rollback()


@pytest.mark.parametrize("lang", LANGS)
def test_closing_before_the_reply_is_refused_and_changes_nothing(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang)
    zhao = Chat(services, person="zhao_guoqiang")
    before = events(services)
    # Not offered before the reply; an old "close" button, or its words typed, is asked
    # again.
    assert t(lang, "opt.case_action.close") not in offered(zhao, lang, "C-2026-0001")
    press_value(zhao, "opt:close")
    assert zhao.replies[0].text == t(lang, "button.stale")
    assert t(lang, "case_action.action.ask") in zhao.text  # asked again which action
    zhao.say(t(lang, "opt.case_action.close"))
    assert zhao.replies[0].text == t(lang, "invalid.choice", count=4)
    assert choices(zhao) == actions(lang, "note", "reply", "extend", "reassign")
    assert (the_case(services).status, events(services)) == ("assigned", before)
    zhao.press(t(lang, "nav.cancel"))
    # Offered once replied; the case reopened between question and confirm: the
    # handler's own check refuses it.
    case_action(zhao, lang, "C-2026-0001", "reply", "已协调财务科补发")
    before = events(services)
    case_action(zhao, lang, "C-2026-0001", "close", "已办结", confirm=False)
    with Session(services.db) as s:
        case = s.exec(select(Case).where(Case.number == "C-2026-0001")).one()
        case.status = "reopened"
        s.add(case)
        s.commit()
    zhao.press(t(lang, "nav.confirm"))
    assert t(lang, "case.refused.state", number="C-2026-0001",
             status=t(lang, "status.reopened"), action=t(lang, "case.action.close")) in zhao.text
    assert t(lang, "case_action.action.ask") in zhao.text  # what may be done now
    assert choices(zhao) == actions(lang, "note", "reply", "extend", "reassign")
    assert (the_case(services).status, events(services)) == ("reopened", before)
    # Someone with no part in the case cannot even pick it.
    xu = Chat(services, person="xu_tao")
    open_menu(xu, lang)
    xu.say(t(lang, "menu.case_action"))
    assert xu.replies[0].text == t(lang, "menu.unknown")


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_case_needs_its_five_fixes_and_a_return_visit(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang, affected="25")
    case = the_case(services)
    assert (case.leader_case, case.deadline_days) == (True, 90)
    zhao = Chat(services, person="zhao_guoqiang")
    # 五定: a report date after the due date is refused and asked again.
    late = (case.due_on + timedelta(days=1)).isoformat()
    said = case_action(zhao, lang, "C-2026-0001", "five_fix", "财务科 王科长", "财务科 李会计",
                       late, "答复后一周内上门回访")
    assert t(lang, "case.refused.report_on", due_on=case.due_on.isoformat()) in said
    assert t(lang, "case_action.report_on.ask") in zhao.text
    zhao.say("2027年1月")  # a month is not a day to report on (it once failed the step)
    assert zhao.replies[0].text == t(lang, "invalid.date_day")
    assert t(lang, "case_action.report_on.ask") in zhao.replies[-1].text
    zhao.say("2027-01-15")
    zhao.press(t(lang, "nav.confirm"))
    assert t(lang, "case_action.done.five_fix", number="C-2026-0001") in zhao.text
    case = the_case(services)
    assert (case.lead_leader_id, case.dept_head, case.responsible, case.report_on,
            case.return_visit_plan) == (person(services, "zhao_guoqiang").id, "财务科 王科长",
                                        "财务科 李会计", date(2027, 1, 15), "答复后一周内上门回访")
    # A leader case stays with a leader.
    said = case_action(zhao, lang, "C-2026-0001", "reassign",
                       "[刘芳（群众工作室专职干事）]" if lang == "zh"
                       else "[刘芳 (群众工作室专职干事)]", "请跟进")
    assert t(lang, "case.refused.leader_case", number="C-2026-0001", name="刘芳") in said
    zhao.press(t(lang, "nav.cancel"))
    # Replied; closing needs the return visit first.
    case_action(zhao, lang, "C-2026-0001", "reply", "已协调财务科补发")
    said = case_action(zhao, lang, "C-2026-0001", "close", "已补发")
    assert t(lang, "case.refused.visit", number="C-2026-0001") in said
    assert the_case(services).status == "replied"
    zhao.press(t(lang, "nav.cancel"))
    said = case_action(zhao, lang, "C-2026-0001", "return_visit", "12月1日到车间回访，李明表示认可")
    assert t(lang, "case_action.done.return_visit", number="C-2026-0001") in said
    assert the_case(services).status == "follow_up"
    # Visited before rating: the complainant can still rate it.
    li = Chat(services, person="li_ming")
    open_menu(li, lang)
    li.press(t(lang, "menu.rate"))
    li.press(next(b.label for r in li.replies for b in r.buttons
                  if b.label.startswith("C-2026-0001")))
    li.press(t(lang, "opt.rating.satisfied"))
    assert t(lang, "rate.done", number="C-2026-0001") in li.text
    assert the_case(services).rating == "satisfied"
    said = case_action(zhao, lang, "C-2026-0001", "close", "已补发")
    assert t(lang, "case_action.done.close", number="C-2026-0001") in said


@pytest.mark.parametrize("lang", LANGS)
def test_an_anonymous_complainant_reads_and_rates_the_reply_by_receipt_code(
        services: Services, clock: FrozenClock, lang: str) -> None:
    visitor = Chat(services, channel="web", address="anon-visitor-1")
    code = CODE.search(file_complaint(visitor, lang, identity="anonymous"))
    assert code is not None
    said = case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "reply",
                       "加班费将于月底补发")
    assert t(lang, "case_action.told.anonymous") in said
    open_menu(visitor, lang)
    visitor.press(t(lang, "menu.receipt"))
    visitor.say(code[0])
    assert t(lang, "receipt.found_replied", number="C-2026-0001",
             category=t(lang, "opt.category.wages"), status=t(lang, "status.replied"),
             reply="加班费将于月底补发") in visitor.text
    open_menu(visitor, lang)
    visitor.press(t(lang, "menu.rate"))
    visitor.press(t(lang, "opt.rate_case.code"))
    visitor.say("ZZZZZ-ZZZZZ")  # refused at once, before the rating is asked
    assert t(lang, "receipt.not_found") in visitor.text
    assert t(lang, "rate.code.ask") in visitor.replies[-1].text
    assert t(lang, "rate.rating.ask") not in visitor.text
    visitor.say(code[0].lower())
    visitor.press(t(lang, "opt.rating.basic"))
    assert t(lang, "rate.done", number="C-2026-0001") in visitor.text
    case = the_case(services)
    assert (case.status, case.rating) == ("follow_up", "basic")
    with Session(services.db) as s:  # the timeline does not name the anonymous rater
        rated = s.exec(select(CaseEvent).where(CaseEvent.kind == "rate")).one()
    assert rated.actor_id is None


@pytest.mark.parametrize("lang", LANGS)
def test_a_receipt_code_whose_case_cannot_be_rated_is_refused_before_the_rating(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Not answered yet, rated already, closed once rated: each is said, in the
    complainant's words, as soon as the code is typed; no rating is asked for and nothing
    changes."""
    visitor = Chat(services, channel="web", address="anon-visitor-2")
    code = CODE.search(file_complaint(visitor, lang, identity="anonymous"))
    assert code is not None

    def rate_by_code() -> str:
        if t(lang, "rate.code.ask") in visitor.replies[-1].text:  # still asked: give up
            visitor.press(t(lang, "nav.cancel"))
        open_menu(visitor, lang)
        visitor.press(t(lang, "menu.rate"))
        visitor.press(t(lang, "opt.rate_case.code"))
        visitor.say(code[0])
        return visitor.text

    said = rate_by_code()  # not answered yet
    assert t(lang, "rate.not_yet", number="C-2026-0001") in said
    assert "reopen" not in said and "重新办理" not in said
    assert t(lang, "rate.code.ask") in visitor.replies[-1].text
    assert (the_case(services).status, the_case(services).rating) == ("assigned", None)
    before = events(services)
    case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "reply",
                "加班费将于月底补发")
    said = rate_by_code()  # answered: now the rating is asked
    assert t(lang, "rate.rating.ask") in visitor.replies[-1].text
    visitor.press(t(lang, "opt.rating.satisfied"))
    assert t(lang, "rate.done", number="C-2026-0001") in visitor.text
    rated = events(services)
    assert rated == before + 2  # the reply and the rating
    said = rate_by_code()  # rated already
    assert t(lang, "case.refused.rated", number="C-2026-0001") in said
    assert t(lang, "rate.code.ask") in visitor.replies[-1].text
    case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "close",
                "十月加班费已补发")
    closed = events(services)
    said = rate_by_code()  # closed, and rated already: closed to rating
    assert t(lang, "rate.closed", number="C-2026-0001", days=RATE_DAYS_AFTER_CLOSING) in said
    assert events(services) == closed == rated + 1
    assert (the_case(services).status, the_case(services).rating) == ("closed", "satisfied")


@pytest.mark.parametrize("lang", LANGS)
def test_a_lead_leader_does_not_approve_his_own_extension(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """赵国强 handles a leader case and, by filling in 五定, leads it; his own request
    for more time goes to the director alone, is not offered to him to decide, and the
    director decides it. A leader case runs its 90 days from the start: there is room for
    more time only in its reopened deadline (30 days), here given back to him."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang, affected="25")
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "five_fix", "财务科 王科长", "财务科 李会计",
                "2027-01-15", "答复后一周内上门回访")
    case_action(zhao, lang, "C-2026-0001", "reply", "已安排补发加班费")
    open_menu(li, lang)
    li.press(t(lang, "menu.rate"))
    li.press_starting("C-2026-0001")
    li.press(t(lang, "opt.rating.unsatisfied"))  # reopened with the director
    case_action(Chat(services, person="chen_lihua"), lang, "C-2026-0001", "reassign",
                "[赵国强（总经理）]" if lang == "zh" else "[赵国强 (总经理)]",
                "请赵主席继续办理")
    due = the_case(services).due_on
    said = case_action(zhao, lang, "C-2026-0001", "extend", "60", "年底核算太忙")
    assert "陈丽华" in said
    services.dispatcher.drain()
    asked = t(lang, "notice.extension_asked", number="C-2026-0001", days=60,
              reason="年底核算太忙", due_on=due.isoformat(), handler="赵国强")
    assert asked not in pushes(services, "zhao_guoqiang")
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.decide_extension"))
    assert t(lang, "decide_extension.empty") in zhao.text
    director_decides(services, lang, "approve")
    assert the_case(services).due_on > due


def director_decides(services: Services, lang: str, decision: str) -> Chat:
    """The director decides the first extension waiting, through 审批延期."""
    director = Chat(services, person="chen_lihua")
    open_menu(director, lang)
    director.press(t(lang, "menu.decide_extension"))
    director.press(director.replies[-1].buttons[0].label)
    director.press(t(lang, f"opt.decision.{decision}"))
    director.press(t(lang, "nav.confirm"))
    return director


@pytest.mark.parametrize("lang", LANGS)
def test_a_refused_extension_keeps_the_due_date_and_tells_the_handler(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang)
    due = the_case(services).due_on
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    case_action(zhao, lang, "C-2026-0001", "extend", "0", confirm=False)
    assert t(lang, "invalid.number_range", min=1, max=90) in zhao.text
    zhao.say("20")
    zhao.say("等待上级批复")
    zhao.press(t(lang, "nav.confirm"))
    # A second request while one waits is refused.
    said = case_action(zhao, lang, "C-2026-0001", "extend", "5", "再等等")
    assert t(lang, "case.refused.extension_pending", number="C-2026-0001") in said
    zhao.press(t(lang, "nav.cancel"))
    # Only the director (or the lead leader) sees it, while the case is being worked on.
    sun = Chat(services, person="sun_hongmei")
    open_menu(sun, lang)
    sun.press(t(lang, "menu.decide_extension"))
    assert t(lang, "decide_extension.empty") in sun.text
    director = director_decides(services, lang, "refuse")
    assert t(lang, "decide_extension.refused", number="C-2026-0001", due_on=due.isoformat(),
             names=names_text([person(services, "zhao_guoqiang")], lang)) in director.text
    assert the_case(services).due_on == due
    services.dispatcher.drain()
    assert t(lang, "notice.extension_refused", days=20, number="C-2026-0001", by="陈丽华",
             due_on=due.isoformat()) in pushes(services, "zhao_guoqiang")


@pytest.mark.parametrize("lang", LANGS)
def test_my_handling_lists_by_due_date_with_days_left_or_late(
        services: Services, clock: FrozenClock, lang: str) -> None:
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    clock.advance(timedelta(days=10))
    file_complaint(li, lang, category="hours")
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, lang)
    zhao.press(t(lang, "menu.my_handling"))
    first, second = the_case(services), the_case(services, "C-2026-0002")
    today = clock.now().astimezone(services.settings.zone).date()
    lines = [t(lang, "query.my_handling.line", number=c.number,
               category=t(lang, f"opt.category.{c.category}"),
               status=t(lang, f"status.{c.status}"), due_on=c.due_on.isoformat(),
               left=t(lang, "query.my_handling.left", days=(c.due_on - today).days))
             for c in (first, second)]
    assert zhao.text.index(lines[0]) < zhao.text.index(lines[1])
    clock.set(at9(second.due_on + timedelta(days=2)))
    zhao.press(t(lang, "menu.my_handling"))
    assert t(lang, "query.my_handling.late", days=2) in zhao.text
    with Session(services.db) as s:
        assert s.exec(select(func.count()).select_from(Case)
                      .where(col(Case.handler_id) == person(services, "zhao_guoqiang").id)
                      ).one() == 2


@pytest.mark.parametrize("lang", LANGS)
def test_staff_assign_a_case_no_leader_answers_for(services: Services, clock: FrozenClock,
                                                   lang: str) -> None:
    with Session(services.db) as s:  # nobody answers for "other" in this workroom any more
        s.exec(delete(Responsibility).where(col(Responsibility.category) == "other"))
        s.commit()
    file_complaint(Chat(services, person="li_ming"), lang, category="other")
    case = the_case(services)
    assert (case.status, case.handler_id) == ("registered", None)
    staff = Chat(services, person="liu_fang")
    said = case_action(staff, lang, "C-2026-0001", "reassign", "[孙红梅（党委书记）]"
                       if lang == "zh" else "[孙红梅 (党委书记)]", "涉及干部作风")
    assert t(lang, "case_action.done.reassign", number="C-2026-0001", name="孙红梅") in said
    case = the_case(services)
    assert (case.status, case.handler_id) == ("assigned", person(services, "sun_hongmei").id)
    with Session(services.db) as s:
        kinds = s.exec(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)
                       .order_by(col(CaseEvent.id))).all()
        armed = s.exec(select(Timer).where(Timer.kind == deadlines.KIND,
                                           col(Timer.done_at).is_(None))).all()
    assert list(kinds) == ["registered", "assign"]
    assert {t_.ref.split(":")[1] for t_ in armed} == set(deadlines.STAGES)


def test_cases_from_before_the_deadline_timers_get_theirs_once(services: Services,
                                                              clock: FrozenClock) -> None:
    zhao = person(services, "zhao_guoqiang")
    with Session(services.db) as s:
        for n, status in enumerate(("assigned", "in_progress", "closed"), start=1):
            s.add(Case(number=f"C-2026-000{n}", draft_key=f"old{n}", unit_id=zhao.unit_id,
                       category="wages", description="x" * 10, since="2026-10", affected=1,
                       outcome_wanted="补发", handler_id=zhao.id, status=status,
                       due_on=date(2027, 1, 22), channel="console", created_at=clock.now()))
        s.commit()
        assert deadlines.ensure_all(s, now=clock.now(), zone=services.settings.zone) == 2
        s.commit()
        assert deadlines.ensure_all(s, now=clock.now(), zone=services.settings.zone) == 0
        refs = sorted(s.exec(select(Timer.ref).where(Timer.kind == deadlines.KIND)).all())
    assert refs == sorted(f"{i}:{st}" for i in (1, 2) for st in deadlines.STAGES)


def test_a_request_for_more_time_is_no_longer_offered_once_the_case_is_replied(
        services: Services, clock: FrozenClock) -> None:
    file_complaint(Chat(services, person="li_ming"), "zh")
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, "zh", "C-2026-0001", "extend", "20", "等待上级批复")
    case_action(zhao, "zh", "C-2026-0001", "reply", "已协调财务科补发")
    director = Chat(services, person="chen_lihua")
    open_menu(director, "zh")
    director.press(t("zh", "menu.decide_extension"))
    assert t("zh", "decide_extension.empty") in director.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_receipt_code_typed_at_which_case_opens_that_case_for_rating(
        services: Services, lang: str) -> None:
    """Asked which case, the anonymous complainant types the code they kept, not the
    button that asks for it: the code is taken as its answer, checked at once."""
    visitor = Chat(services, channel="web", address="anon-visitor-3")
    code = CODE.search(file_complaint(visitor, lang, identity="anonymous"))
    assert code is not None
    case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "reply",
                "加班费将于月底补发")
    open_menu(visitor, lang)
    visitor.press(t(lang, "menu.rate"))
    visitor.say("ZZZZZ ZZZZZ")  # a code, but not one: said so where the code is asked
    assert t(lang, "receipt.not_found") in visitor.text
    assert t(lang, "rate.code.ask") in visitor.replies[-1].text
    visitor.press(t(lang, "nav.back"))
    visitor.say(f"{'回执码' if lang == 'zh' else 'receipt code'}: {code[0].lower()}")
    assert t(lang, "rate.rating.ask") in visitor.replies[-1].text, visitor.text
    visitor.press(t(lang, "opt.rating.satisfied"))
    assert t(lang, "rate.done", number="C-2026-0001") in visitor.text
    assert the_case(services).rating == "satisfied"
    open_menu(visitor, lang)
    visitor.press(t(lang, "menu.rate"))
    visitor.say("随便写写" if lang == "zh" else "whatever")  # no code: the choice's refusal
    assert t(lang, "invalid.choice", count=1) in visitor.text


@pytest.mark.parametrize(("lang", "typed", "action"), [
    ("en", "reply", "reply"), ("en", "Reply.", "reply"), ("en", "progress note", "note"),
    ("zh", "答复", "reply"), ("zh", "进展", "note")])
def test_a_word_of_an_action_typed_chooses_it(services: Services, lang: str, typed: str,
                                              action: str) -> None:
    """'reply' typed for "Send the reply to the complainant" (答复 for 答复反映人): the
    leader is asked what that action needs, not told to tap a button."""
    file_complaint(Chat(services, person="li_ming"), "zh")
    zhao = Chat(services, person="zhao_guoqiang")
    assert t(lang, f"opt.case_action.{action}") in offered(zhao, lang, "C-2026-0001")
    zhao.say(typed)
    assert t(lang, f"case_action.{action}.ask") in zhao.text, zhao.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_number_typed_or_a_rating_with_a_full_stop_is_understood(
        services: Services, lang: str) -> None:
    """The push names C-2026-0001: typed at "which case" it is that case; "满意。" is 满意,
    not a word found in 不满意 and 基本满意 too."""
    li = Chat(services, person="li_ming")
    file_complaint(li, lang)
    case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "reply",
                "加班费将于月底补发")
    open_menu(li, lang)
    li.press(t(lang, "menu.rate"))
    li.say("c-2026-0001")
    assert t(lang, "rate.rating.ask") in li.replies[-1].text, li.text
    li.say(t(lang, "opt.rating.satisfied") + ("。" if lang == "zh" else "."))
    assert t(lang, "rate.done", number="C-2026-0001") in li.text, li.text
    assert the_case(services).rating == "satisfied"
