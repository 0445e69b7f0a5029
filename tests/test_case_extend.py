"""More time on a case (延期): never beyond 90 days from its filing (000 制度(四) 四.3), said
when the days are typed and again when the director decides."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from store.models import Extension
from tests.case_helpers import at9, case_action, choices, file_complaint, offered, the_case
from tests.test_case_rules import director_decides
from tests.transcript import LANGS, Chat, person, t

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
    assert t(lang, "decide_extension.approved", number="C-2026-0001",
             due_on=LATEST.isoformat()) in director.text
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
