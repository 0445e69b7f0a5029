"""The director's own overdue case: nobody is above her, so nothing "goes up". She is
reminded as its handler, when it runs late and again at the director's step; the timeline
says it is overdue with her, not "reported to the supervisor"."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers.notices import note_words
from store.models import CaseEvent
from tests.case_helpers import at9, case_action, file_complaint, pushes, the_case, tick
from tests.test_case_life import rate
from tests.transcript import LANGS, Chat, open_menu, person, t

FILED = date(2026, 11, 23)


def _timeline(services: Services, lang: str) -> list[str]:
    """The case's timeline entries as its readers see them: what, and the note."""
    with Session(services.db) as s:
        return [t(lang, f"event.{e.kind}") + (f" {note_words(e.kind, e.note, lang)}"
                                              if e.kind == "overdue_own" else "")
                for e in s.exec(select(CaseEvent).order_by(col(CaseEvent.id)))]


def _escalated_to(services: Services, lang: str, key: str) -> list[str]:
    """The 【超期问题】 pushes (an escalation about someone's case) the person got."""
    head = t(lang, "notice.case_escalated", number="C-2026-0001", category="", handler="",
             due_on="", late=0, status="", events="").partition("C-2026-0001")[:2]
    return [p for p in pushes(services, key) if p.startswith("".join(head))]


def _overdue_own(lang: str, category: str, due: date, late: int) -> str:
    return t(lang, "notice.case_overdue_own", number="C-2026-0001",
             category=t(lang, f"opt.category.{category}"), due_on=due.isoformat(), late=late)


@pytest.mark.parametrize("lang", LANGS)
def test_the_directors_own_overdue_case_is_her_reminder_not_an_escalation(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """"Other" complaints are the director's (store/demo/org.yaml). Overdue, the
    timeline said "超期，报上级" and, three days on, she got "【超期问题】…经办人陈丽华…"
    about her own case as if she were someone's supervisor."""
    services = db_services
    clock.set(at9(FILED))
    director = Chat(services, person="chen_lihua")
    open_menu(director, lang)
    staff = Chat(services, person="liu_fang")
    open_menu(staff, lang)
    file_complaint(Chat(services, person="li_ming"), lang, category="other")
    case = the_case(services)
    assert case.handler_id == person(services, "chen_lihua").id

    tick(services, clock, at9(case.due_on + timedelta(days=5)))
    mine = pushes(services, "chen_lihua")
    for late in (1, 4):  # overdue, and again when it would have gone to the director
        assert mine.count(_overdue_own(lang, "other", case.due_on, late)) == 1
    assert _escalated_to(services, lang, "chen_lihua") == []
    # The staff supervise every case: told once that it is overdue.
    assert len(_escalated_to(services, lang, "liu_fang")) == 1
    late = t(lang, "event.late", days=1)
    # Not confirmed a working day after it was given to her: the staff were told (not
    # "the staff and the director": she is the director).
    assert _timeline(services, lang) == [
        t(lang, "event.registered"), t(lang, "event.assigned"),
        t(lang, "event.unconfirmed_staff"),
        f"{t(lang, 'event.overdue_own')} {late}"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_the_director_took_over_when_reopened_is_her_reminder_when_overdue(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """A leader's reply the complainant is not satisfied with goes to the director, with
    30 days. When those run out she is reminded as its handler, and nothing "went up"."""
    services = db_services
    clock.set(at9(FILED))
    director = Chat(services, person="chen_lihua")
    open_menu(director, lang)
    worker = Chat(services, person="li_ming")
    file_complaint(worker, lang)  # wages: the leader responsible, 赵国强, handles it
    case_action(Chat(services, person="zhao_guoqiang"), lang, "C-2026-0001", "reply",
                "已核实并补发十月加班费")
    services.dispatcher.drain()
    rate(worker, lang, "unsatisfied")
    case = the_case(services)
    assert (case.status, case.handler_id) == ("reopened", person(services, "chen_lihua").id)

    tick(services, clock, at9(case.due_on + timedelta(days=5)))
    mine = pushes(services, "chen_lihua")
    for late in (1, 4):
        assert mine.count(_overdue_own(lang, "wages", case.due_on, late)) == 1
    assert _escalated_to(services, lang, "chen_lihua") == []
    timeline = _timeline(services, lang)
    assert timeline[-1] == f"{t(lang, 'event.overdue_own')} {t(lang, 'event.late', days=1)}"
    assert t(lang, "event.escalated_overdue") not in timeline
    assert t(lang, "event.escalated_director") not in timeline


@pytest.mark.parametrize("lang", LANGS)
def test_the_director_told_as_a_leaders_supervisor_is_reminded_not_told_again(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """赵国强, a leader, handles a wage case: overdue, it goes to the one above him, the
    director. Three days on she got 「【超期问题】…」 a second time, as director, and the
    timeline said it went up again, to her. Now the second push is a reminder, worded as
    one, and the timeline says once that it went up."""
    services = db_services
    clock.set(at9(FILED))
    director = Chat(services, person="chen_lihua")
    open_menu(director, lang)
    file_complaint(Chat(services, person="li_ming"), lang)
    case = the_case(services)
    assert case.handler_id == person(services, "zhao_guoqiang").id

    tick(services, clock, at9(case.due_on + timedelta(days=5)), step=timedelta(days=1))
    wages = t(lang, "opt.category.wages")
    common = {"number": "C-2026-0001", "category": wages, "handler": "赵国强",
              "due_on": case.due_on.isoformat(), "status": t(lang, "status.assigned")}
    escalated = _escalated_to(services, lang, "chen_lihua")
    assert len(escalated) == 1
    assert escalated[0].startswith(t(lang, "notice.case_escalated", **common, late=1,
                                     events="").splitlines()[0])
    head = t(lang, "notice.case_still_overdue", **common, late=4, events="").splitlines()[0]
    reminded = [p for p in pushes(services, "chen_lihua") if p.startswith(head)]
    assert len(reminded) == 1
    late = t(lang, "event.late", days=1)
    assert f"{t(lang, 'event.escalated_overdue')}{'：' if lang == 'zh' else ': '}{late}" \
        in reminded[0]  # what was done so far: it came to her when it fell overdue
    timeline = _timeline(services, lang)
    assert timeline.count(t(lang, "event.escalated_overdue")) == 1
    assert t(lang, "event.escalated_director") not in timeline
