"""More time on a case (延期): never beyond 90 days from its filing (000 制度(四) 四.3), said
when the days are typed and again when the director decides."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers.alerts import names_text
from store.models import Extension
from tests.case_helpers import (
    at9,
    case_action,
    choices,
    file_complaint,
    offered,
    pushes,
    the_case,
    tick,
)
from tests.test_case_rules import director_decides
from tests.transcript import LANGS, Chat, open_menu, person, t

# Filed on Monday 2026-11-23: an ordinary case is due Friday 01-22 (60 days), the longest
# deadline is 90 days, Sunday 02-21: Monday 02-22.
FILED = date(2026, 11, 23)
DUE = date(2027, 1, 22)
LATEST = date(2027, 2, 22)


def limit(lang: str, most: int) -> str:
    return t(lang, "case.refused.extension_limit", number="C-2026-0001",
             filed_on=FILED.isoformat(), latest=LATEST.isoformat(), most=most)


@pytest.mark.parametrize("lang", LANGS)
def test_more_days_than_the_90_day_limit_leaves_are_refused_when_typed(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang)
    assert the_case(services).due_on == DUE
    zhao = Chat(services, person="zhao_guoqiang")
    said = case_action(zhao, lang, "C-2026-0001", "extend", "60", confirm=False)
    most = (LATEST - DUE).days
    assert limit(lang, most) in said
    assert t(lang, "case_action.days.ask") in said  # asked again; nothing was asked for
    zhao.say(str(most))
    zhao.say("需等年度审计")
    zhao.press(t(lang, "nav.confirm"))
    director = director_decides(services, lang, "approve")
    assert t(lang, "decide_extension.approved", number="C-2026-0001", due_on=LATEST.isoformat(),
             names=names_text([person(services, "zhao_guoqiang")], lang)) in director.text
    assert the_case(services).due_on == LATEST


@pytest.mark.parametrize("lang", LANGS)
def test_a_leader_case_at_its_90_days_cannot_be_extended(
        services: Services, clock: FrozenClock, lang: str) -> None:
    file_complaint(Chat(services, person="li_ming"), lang, affected="25")  # a leader case
    assert the_case(services).due_on == LATEST
    zhao = Chat(services, person="zhao_guoqiang")
    offered(zhao, lang, "C-2026-0001")
    zhao.press(t(lang, "opt.case_action.extend"))
    assert t(lang, "case.refused.extension_none", number="C-2026-0001",
             filed_on=FILED.isoformat(), latest=LATEST.isoformat(), most=0) in zhao.text
    assert t(lang, "opt.case_action.note") in choices(zhao)  # the action is asked again


@pytest.mark.parametrize("lang", LANGS)
def test_the_director_cannot_approve_beyond_the_90_day_limit(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """A request written before the limit was checked (60 days on a 60-day case) is
    refused at the decision with the furthest date, and nothing changes."""
    file_complaint(Chat(services, person="li_ming"), lang)
    with Session(services.db) as s:
        s.add(Extension(case_id=the_case(services).id, requested_by=person(
            services, "zhao_guoqiang").id, days=60, reason="需等年度审计",
            created_at=at9(FILED)))
        s.commit()
    director = director_decides(services, lang, "approve")
    assert t(lang, "decide_extension.too_long", number="C-2026-0001", days=60,
             filed_on=FILED.isoformat(), latest=LATEST.isoformat(),
             most=(LATEST - DUE).days) in director.text
    assert the_case(services).due_on == DUE
    with Session(services.db) as s:
        assert [e.status for e in s.exec(select(Extension))] == ["pending"]


@pytest.mark.parametrize("lang", LANGS)
def test_more_time_on_an_overdue_case_counts_from_today(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """Seven days late, five more days give a due date five days from now, not one gone
    by; the director is told the case is overdue already; no alarm follows the next day."""
    file_complaint(Chat(services, person="li_ming"), lang)
    today = date(2027, 1, 29)  # a Friday, 7 days after DUE
    tick(services, clock, at9(today))
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "extend", "5", "需等审计")
    services.dispatcher.drain()
    # She has not opened her chat in `lang` yet: her pushes speak Chinese.
    assert t("zh", "notice.extension_asked_late", handler="赵国强", number="C-2026-0001",
             days=5, reason="需等审计", due_on=DUE.isoformat(), late=7) \
        in pushes(services, "chen_lihua")
    director = director_decides(services, lang, "approve")
    new_due = date(2027, 2, 3)
    assert t(lang, "decide_extension.approved", number="C-2026-0001", due_on=new_due.isoformat(),
             names=names_text([person(services, "zhao_guoqiang")], lang)) in director.text
    services.dispatcher.drain()
    before = len(pushes(services, "zhao_guoqiang"))
    tick(services, clock, at9(date(2027, 2, 2)))
    assert pushes(services, "zhao_guoqiang")[before:] == [t(
        lang, "notice.case_remind_day", number="C-2026-0001",
        category=t(lang, "opt.category.wages"), due_on=new_due.isoformat(), days_left=1)]


@pytest.mark.parametrize("lang", LANGS)
def test_a_decision_is_told_to_who_handles_the_case_now_and_to_who_asked(
        services: Services, clock: FrozenClock, lang: str) -> None:
    """赵国强 asks for 20 days and passes the case to 刘芳: the approval is hers to know
    (she handles it now), and his (he asked); the director is told both were told."""
    file_complaint(Chat(services, person="li_ming"), lang)
    zhao = Chat(services, person="zhao_guoqiang")
    case_action(zhao, lang, "C-2026-0001", "extend", "20", "需财务科核对考勤")
    case_action(zhao, lang, "C-2026-0001", "reassign",
                "[刘芳（群众工作室专职干事）]" if lang == "zh" else "[刘芳 (群众工作室专职干事)]",
                "请刘芳跟进")
    liu = Chat(services, person="liu_fang")
    open_menu(liu, lang)  # her pushes in `lang`
    director = director_decides(services, lang, "approve")
    new_due = date(2027, 2, 11)  # 01-22 + 20
    told = [person(services, "liu_fang"), person(services, "zhao_guoqiang")]
    assert t(lang, "decide_extension.approved", number="C-2026-0001",
             due_on=new_due.isoformat(), names=names_text(told, lang)) in director.text
    services.dispatcher.drain()
    assert t(lang, "notice.extension_approved_other", name="赵国强", days=20,
             number="C-2026-0001", by="陈丽华", due_on=new_due.isoformat()) \
        in pushes(services, "liu_fang")
    assert t(lang, "notice.extension_approved", days=20, number="C-2026-0001", by="陈丽华",
             due_on=new_due.isoformat()) in pushes(services, "zhao_guoqiang")


def test_one_more_day_reads_as_one_day_in_english(
        services: Services, clock: FrozenClock) -> None:
    """"asks 1 more days", "Asked for 1 more days": one day asked, asked for, approved
    and kept in the case's story reads as one day."""
    file_complaint(Chat(services, person="li_ming"), "en")
    open_menu(Chat(services, person="chen_lihua"), "en")
    zhao = Chat(services, person="zhao_guoqiang")
    open_menu(zhao, "en")
    said = case_action(zhao, "en", "C-2026-0001", "extend", "1", "需财务科核对考勤")
    assert "Asked for 1 more day on C-2026-0001; told to decide: 陈丽华" in said
    services.dispatcher.drain()
    assert "[EXTENSION] 赵国强 asks for 1 more day on case C-2026-0001 (due 2027-01-22): " \
        "需财务科核对考勤" in pushes(services, "chen_lihua")
    director_decides(services, "en", "approve")
    services.dispatcher.drain()
    assert "Your request for 1 more day on C-2026-0001 was approved by 陈丽华: now due " \
        "2027-01-25." in pushes(services, "zhao_guoqiang")
