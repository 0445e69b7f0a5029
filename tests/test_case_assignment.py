"""Who holds a case, so that no complaint is silently lost: a complaint arriving while its
leader is away goes to the director, saying why. In Chinese and in English, on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.bootstrap import Services
from conversations.clock import FrozenClock
from handlers import roster
from store import org
from store.db import transaction
from store.models import CaseEvent
from tests.case_helpers import (
    at9,
    file_complaint,
    pushes,
    the_case,
)
from tests.transcript import LANGS, Chat, open_menu, person, t

NUMBER = "C-2026-0001"
FILED_DUE = date(2027, 1, 22)  # filed Monday 2026-11-23: 60 days on


def _people(services: Services, lang: str, *keys: str) -> dict[str, Chat]:
    chats = {k: Chat(services, person=k) for k in keys}
    for chat in chats.values():
        open_menu(chat, lang)  # each reads the bot, and their pushes, in `lang`
    return chats


def _org(tmp_path: Path, text: str) -> org.OrgSpec:
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    return org.parse_org(path)


def _without_zhao(tmp_path: Path) -> org.OrgSpec:
    """The demo file with 赵国强 gone: wages, contract and hours go to 孙红梅."""
    src = org.demo_org_path().read_text(encoding="utf-8")
    src = re.sub(r"  - key: zhao_guoqiang\n(    .*\n)+", "", src)
    src = (src.replace("sun_hongmei, zhao_guoqiang,", "sun_hongmei,")
           .replace(": zhao_guoqiang", ": sun_hongmei")
           .replace("leaders: [zhao_guoqiang, ", "leaders: ["))
    return _org(tmp_path, src)


def _about(services: Services, key: str, number: str = NUMBER) -> list[str]:
    return [p for p in pushes(services, key) if number in p]


def _timeline(services: Services) -> list[tuple[str, str]]:
    with Session(services.db) as s:
        return [(e.kind, e.note) for e in s.exec(select(CaseEvent).order_by(col(CaseEvent.id)))]


# --- a leader away --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_complaint_while_its_leader_is_away_in_the_file_goes_to_the_director(
        db_services: Services, clock: FrozenClock, tmp_path: Path, lang: str) -> None:
    """The file marks 吴建军 away on a trip to 12-31; a safety complaint comes in. Before,
    it went to him anyway and only the half-way reminder followed. Now the director has
    it, and the complainant, the director and the staff read why."""
    services = db_services
    text = org.demo_org_path().read_text(encoding="utf-8") + (
        "\naway:\n  - {leader: wu_jianjun, from: 2026-11-23, to: 2026-12-31, kind: trip}\n")
    with transaction(services.db) as s:
        roster.load_file(s, _org(tmp_path, text), now=clock.now(), zone=services.settings.zone)
    c = _people(services, lang, "li_ming", "liu_fang", "chen_lihua")
    services.dispatcher.drain()
    done = file_complaint(c["li_ming"], lang, category="safety")
    case = the_case(services)
    away = t(lang, "case.away.trip")
    assert t(lang, "complaint.done_away", number=NUMBER, away=away, until="2026-12-31",
             due_on=case.due_on.isoformat(), days=60) in done
    assert case.handler_id == person(services, "chen_lihua").id
    services.dispatcher.drain()
    safety = t(lang, "opt.category.safety")
    [told] = _about(services, "chen_lihua")
    assert told.startswith(t(lang, "notice.case_new_away", number=NUMBER, category=safety,
                             leader="吴建军", away=away, until="2026-12-31", affected=3,
                             workshop="铸造车间", description="十月份的加班费到现在还没有发下来",
                             outcome="补发加班费", complainant="李明",
                             due_on=case.due_on.isoformat()))
    assert t(lang, "notice.case_staff_away", number=NUMBER, category=safety, leader="吴建军",
             away=away, until="2026-12-31", name="陈丽华",
             due_on=case.due_on.isoformat()) in pushes(services, "liu_fang")
    assert _about(services, "wu_jianjun") == []
    assert ("leader_away", "trip|2026-12-31|吴建军|陈丽华") in _timeline(services)

    # Back from the trip, the next safety complaint is his again.
    clock.set(at9(date(2027, 1, 4)))
    ma = _people(services, lang, "ma_chao")["ma_chao"]
    later = file_complaint(ma, lang, category="safety")
    back = the_case(services, "C-2027-0001")
    assert t(lang, "complaint.done", number=back.number, due_on=back.due_on.isoformat(),
             days=60) in later
    assert back.handler_id == person(services, "wu_jianjun").id


@pytest.mark.parametrize("lang", LANGS)
def test_a_complaint_while_its_leader_is_on_leave_recorded_in_chat_goes_to_the_director(
        db_services: Services, clock: FrozenClock, lang: str) -> None:
    """The staff record 吴建军's leave for the roster in chat: the case assignment heeds it."""
    services = db_services
    c = _people(services, lang, "li_ming", "liu_fang", "chen_lihua")
    staff = c["liu_fang"]
    staff.press(t(lang, "menu.cal_roster"))
    staff.press(t(lang, "opt.roster_action.away"))
    staff.press_starting("吴建军")
    staff.say("2026-11-23")
    staff.say("2026-11-27")
    staff.press(t(lang, "opt.away_kind.leave"))
    staff.press(t(lang, "nav.confirm"))
    done = file_complaint(c["li_ming"], lang, category="safety")
    case = the_case(services)
    assert t(lang, "complaint.done_away", number=NUMBER, away=t(lang, "case.away.leave"),
             until="2026-11-27", due_on=case.due_on.isoformat(), days=60) in done
    assert case.handler_id == person(services, "chen_lihua").id
    services.dispatcher.drain()
    assert _about(services, "wu_jianjun") == []
    assert [p.splitlines()[1] for p in _about(services, "chen_lihua")] == [t(
        lang, "notice.case_new_away", number="", category="", leader="吴建军",
        away=t(lang, "case.away.leave"), until="2026-11-27", affected="", workshop="",
        description="", outcome="", complainant="", due_on="").splitlines()[1]]
